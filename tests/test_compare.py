"""The MiniBooNE lens (`mesonportal compare`): rows, shape tests, systematics, hook, CLI.

Real prediction chain at tiny sample sizes (wiring and bookkeeping); the physics checks use
numbers from the release (arXiv:2006.16883) and analytic identities."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mesonportal.analysis import compare as C
from mesonportal.analysis.likelihood import background_summary, shape_chi2
from mesonportal.analysis.miniboone_data import load_digitized
from mesonportal.cli.main import main
from mesonportal.exceptions import ParameterError


def test_observed_ratio_is_release_table():
    # 77.4 / 560.6 (ν_μ-constrained excesses, arXiv:2006.16883 Table I); tolerance 2 % (our
    # constrained backgrounds reproduce the publication within 3 %, tests/test_likelihood.py)
    assert C.OBSERVED_NUBAR_OVER_NU == pytest.approx(77.4 / 560.6, rel=0.02)
    assert C.OBSERVED_NUBAR_OVER_NU == pytest.approx(background_summary("nubar").excess / background_summary("nu").excess)


def test_background_row():
    r = C.background_row()
    assert set(C.LENS_KEYS) <= set(r)
    assert r["eqe_ndof"] == 38 and r["significance_sigma"] == 0.0
    figs = load_digitized()
    d, b = figs.costheta["data"], figs.costheta["background"]
    assert r["costheta_chi2"] == pytest.approx(np.sum((d - b) ** 2 / b), rel=1e-12)
    assert r["microboone_ok"] is None  # no constraint registered


def test_shape_chi2_of_the_excess_itself_is_zero():
    # identity: a prediction shaped exactly like the observed excess (d − b) gives μ = d, χ² = 0
    figs = load_digitized()
    ex = {k: np.clip(figs.__getattribute__(k)["data"] - figs.__getattribute__(k)["background"], 0, None)
          for k in ("evis", "costheta")}
    pos = {k: np.all(figs.__getattribute__(k)["data"] - figs.__getattribute__(k)["background"] >= 0) for k in ex}
    out = C.shape_chi2s(ex["evis"], ex["costheta"])
    for k in ("evis", "costheta"):
        assert out[f"{k}_chi2"] == pytest.approx(float(shape_chi2(ex[k], k)))
        if pos[k]:
            assert out[f"{k}_chi2"] == pytest.approx(0.0, abs=1e-9)
        assert out[f"{k}_ndof"] == ex[k].size - 1


def test_oscillation_shapes_are_consistent_with_the_ntuple():
    # Two independent reconstructions of the same 3+1 signal: the ntuple's own E_QE (MiniBooNE's
    # simulation) and ours (free-nucleon CCQE + package smearing).  The 200-1250 MeV counts agree
    # within 10 % (Fermi motion and the efficiency's E_QE dependence are not modelled by us).
    from mesonportal.analysis.oscillation import oscillation_signal

    h = C.oscillation_distributions(0.043, 0.807, seed=1, replicas=1)
    ref = oscillation_signal("nu", 0.043, 0.807)[:9].sum()
    assert h["evis"].sum() == pytest.approx(ref, rel=0.10)
    assert h["costheta"].sum() == pytest.approx(h["evis"].sum(), rel=0.02)
    # same seed → same histograms
    np.testing.assert_array_equal(h["costheta"], C.oscillation_distributions(0.043, 0.807, seed=1, replicas=1)["costheta"])


def test_constraint_hook(monkeypatch):
    monkeypatch.setattr(C, "_CONSTRAINTS", {})
    assert C.constraint_verdict("microboone", "scalar", {}) is None
    C.register_constraint("microboone", lambda hyp, ctx: hyp != "scalar")
    assert C.constraint_verdict("microboone", "scalar", {}) is False
    assert C.background_row()["microboone_ok"] is True
    with pytest.raises(ParameterError):
        C.register_constraint("x", 3)


@pytest.fixture(scope="module")
def scalar_fit():
    from mesonportal.cli.fit_cmd import run_fit
    from mesonportal.models.registry import load_benchmark

    m = load_benchmark("scalar")
    r, p, d = run_fit("miniboone", m, samples=3000, seed=7, benchmark="scalar")
    return m, r, p, d


def test_efficiency_variation_brackets_the_fit(scalar_fit):
    # ±1σ of the efficiency table moves the predicted yield per coupling² in opposite directions,
    # so the best-fit coupling moves down for +1σ and up for −1σ; at 0σ nothing changes
    m, r, p, d = scalar_fit
    same = C.efficiency_variation(p["nu"], 0.0)
    np.testing.assert_allclose(same.columns["weight"], p["nu"].columns["weight"], rtol=1e-12)
    s = C.systematic_variations("scalar", m, r, p, d, samples=3000, seed=7)
    x0 = s["reference"]["coupling_product"]
    assert s["efficiency"]["+1sigma"]["coupling_product"] < x0 < s["efficiency"]["-1sigma"]["coupling_product"]
    assert set(s["criterion"]) == {"circle-table", "angle"}
    assert "g1_profile" not in s


def test_run_compare_writes_lens(tmp_path, scalar_fit):
    m, r, p, d = scalar_fit
    rows = C.run_compare(tmp_path, ["scalar"], samples=3000, seed=7, systematics=False, plots=True,
                         fits={"scalar": (r, p, d)}, osc_points=9, flux_samples=5000)
    lens = json.loads((tmp_path / "lens.json").read_text())
    assert [row["hypothesis"] for row in lens] == ["background only", "3+1 oscillation", "scalar"]
    for row in lens:
        assert set(C.LENS_KEYS) <= set(row)
    sc = lens[2]
    assert sc["eqe_chi2"] == pytest.approx(r.best.chi2_min) and sc["eqe_ndof"] == 37
    assert sc["nubar_over_nu"] == pytest.approx(r.events["nubar"] / r.events["nu"])
    assert lens[1]["eqe_ndof"] == 36 and lens[1]["pienu_allowed"] is None
    md = (tmp_path / "compare.md").read_text()
    assert "| 3+1 oscillation |" in md and "arXiv:2006.16883" in md
    assert (tmp_path / "shapes_scalar.png").is_file() and (tmp_path / "oscillation_combined.png").is_file()
    assert len(rows) == 3


def test_cli_bad_benchmark(capsys):
    assert main(["compare", "--benchmarks", "nosuch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mesonportal: error:") and "\n" not in err


def test_detector_only_drops_dirt_rows():
    from mesonportal.analysis.prediction import SignalSample

    cols = {"e_vis": np.array([300.0, 400.0, 500.0]), "cos_theta": np.array([0.9, 0.8, 0.7]),
            "e_qe": np.array([350.0, 450.0, 550.0]), "weight": np.array([1.0, 2.0, 3.0]),
            "region": np.array([0, 1, 0])}
    s = SignalSample("miniboone", "nu", 1.0, {}, 1.0, "", cols, weight_fn=lambda x: cols["weight"] * x)
    d = C.detector_only(s)
    np.testing.assert_array_equal(d.columns["weight"], [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(d.weights(2.0), [2.0, 0.0, 6.0])
    s2 = SignalSample("miniboone", "nu", 1.0, {}, 1.0, "", {k: v for k, v in cols.items() if k != "region"})
    assert C.detector_only(s2) is s2


def test_microboone_verdict_from_the_fit(monkeypatch):
    # without a registered constraint, the fit's own `--with microboone` verdict fills the column
    import types

    monkeypatch.setattr(C, "_CONSTRAINTS", {})
    fit = types.SimpleNamespace(constraints={"microboone": {"verdict": {"excluded_90": True, "excluded_95": False}}})
    assert C.constraint_verdict("microboone", "x", {"fit": fit}) is False
    fit.constraints["microboone"]["verdict"]["excluded_90"] = False
    assert C.constraint_verdict("microboone", "x", {"fit": fit}) is True
    assert C.constraint_verdict("microboone", "x", {"fit": types.SimpleNamespace(constraints={})}) is None
