"""`mesonportal fit` and `mesonportal reproduce` with a monkeypatched predict_signal.

The prediction stage is replaced by synthetic SignalSamples (events at fixed E_QE bin centres,
weights ∝ a falling excess-like shape, scaled to the model's own coupling product), so these
tests check the command wiring, JSON layout, exit codes and files — not the physics.
"""

from __future__ import annotations

import json
import math
import sys
import types

import numpy as np
import pytest

from mesonportal.analysis.binning import EQE_EDGES_MEV
from mesonportal.analysis.prediction import SignalSample
from mesonportal.cli.main import main

CEN = 0.5 * (EQE_EDGES_MEV[1:] + EQE_EDGES_MEV[:-1])
SHAPE = np.array([5.0, 4.0, 3.0, 2.0, 1.5, 1.0, 0.6, 0.4, 0.2, 0.1, 0.05])


def _x_ref(model) -> float:
    cp = model.coupling_product
    return float(cp() if callable(cp) else cp)


def fake_predict(zero_for: tuple[str, ...] = ()):
    calls = []

    def predict_signal(experiment, mode, model, *, samples=None, seed=12345, progress=False, dirt=True):
        from mesonportal.experiments import load_experiment

        experiment = load_experiment(experiment) if isinstance(experiment, str) else experiment
        calls.append((mode, samples, seed))
        x_ref = _x_ref(model)
        # ν modes: ~50 events at the reference; dump: 1e-3 of the per-POT yield
        scale = 0.0 if model.name in zero_for else (1e-3 if mode == "dump" else 1.0)
        w = SHAPE * scale * 50.0 / SHAPE.sum() / experiment.pot("nu")
        wfn = None
        if model.name == "idm":
            def wfn(x, w=w, x_ref=x_ref):  # linear × saturating probability (non-quadratic)
                return w * (x / x_ref) * (-math.expm1(-x / (3 * x_ref))) / (-math.expm1(-1 / 3))
        cols = {"e_qe": CEN.copy(), "e_vis": 0.8 * CEN, "cos_theta": np.full(11, 0.95), "weight": w}
        if experiment.detector.technology == "lartpc":  # one event per topology code 0..3 and 'none'
            cols = {k: v[:5].copy() for k, v in cols.items()}
            cols["topology"] = np.arange(5)
            if wfn is not None:
                wfn = (lambda x, f=wfn: f(x)[:5])
        units = "" if model.name == "idm" else "MeV^-1"
        return SignalSample(experiment.name, mode, experiment.pot(mode), model.describe(), x_ref, units, cols,
                            weight_fn=wfn)

    return predict_signal, calls


@pytest.fixture
def patched(monkeypatch):
    def install(zero_for=()):
        fn, calls = fake_predict(zero_for)
        mod = types.ModuleType("mesonportal.analysis.predict")
        mod.predict_signal = fn
        monkeypatch.setitem(sys.modules, "mesonportal.analysis.predict", mod)
        return calls

    return install


def run(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_fit_json(capsys, patched):
    calls = patched()
    rc, out, err = run(capsys, "fit", "--benchmark", "scalar", "--json", "--samples", "1000", "--seed", "7")
    assert rc == 0, err
    j = json.loads(out)
    assert j["model"] == "scalar" and j["benchmark"] == "scalar"
    assert j["params"]["m_zprime"] == 49.0
    assert j["best_fit"]["units"] == "MeV^-1" and j["best_fit"]["coupling_product"] > 0
    assert j["best_fit"]["ndof"] == 37
    assert set(j["events"]) == {"nu", "nubar", "dump"} and j["events"]["dump"] >= 0
    assert isinstance(j["pienu_allowed"], bool)
    assert set(j["fits_by_mode"]) == {"combined", "nu", "nubar"}
    # predictions requested for ν, ν̄ and dump with the user's samples/seed
    assert sorted(c[0] for c in calls) == ["dump", "nu", "nubar"]
    assert all(c[1:] == (1000, 7) for c in calls)


def test_fit_single_mode_and_table(capsys, patched, tmp_path):
    patched()
    rc, out, err = run(capsys, "fit", "--model", "scalar", "--param", "m_x=1", "--param", "m_zprime=49",
                       "--modes", "nu", "--plot", str(tmp_path / "plots"))
    assert rc == 0, err
    assert "MiniBooNE fit" in out and "dump mode" in out
    names = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert names == sorted(["eqe_nu.png", "evis_nu.png", "costheta_nu.png", "eqe_nubar.png", "evis_nubar.png",
                            "costheta_nubar.png", "delta_chi2.png"])


def test_fit_idm_non_quadratic(capsys, patched):
    patched()
    rc, out, err = run(capsys, "fit", "--benchmark", "idm-double", "--json")
    assert rc == 0, err
    j = json.loads(out)
    assert j["model"] == "idm" and j["best_fit"]["coupling_product"] > 0
    assert "with_coupling_product" in j["pienu"]["convention"] or "g'" in j["pienu"]["convention"]


def test_fit_zero_prediction_exit_1(capsys, patched):
    patched(zero_for=("scalar",))
    rc, out, err = run(capsys, "fit", "--benchmark", "scalar", "--json")
    assert rc == 1
    assert "no sensitivity" in err and "zero" in err
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize("args,needle", [
    (["fit", "--benchmark", "scalar", "--modes", "nu,dump"], "--modes"),
    (["fit", "--benchmark", "nosuch"], "nosuch"),
    (["fit"], "model is required"),
    (["fit", "--benchmark", "scalar", "--stat", "bogus"], "--stat"),
    (["reproduce", "--benchmarks", "scalar,nosuch"], "--benchmarks"),
])
def test_bad_input_exit_2(capsys, patched, args, needle):
    patched()
    rc, out, err = run(capsys, *args)
    assert rc == 2
    assert needle in err and "Traceback" not in err


def test_reproduce_writes_results(capsys, patched, tmp_path):
    patched(zero_for=("pseudoscalar",))
    out_dir = tmp_path / "results"
    # the lens (compare/) needs the real prediction chain (criteria, efficiencies): tested in test_compare.py
    rc, out, err = run(capsys, "reproduce", "--out", str(out_dir), "--benchmarks", "scalar,pseudoscalar,idm-double",
                       "--samples", "100", "--no-lens", "--workers", "1")  # predict_signal is patched in this process
    assert rc == 0, err
    summary = json.loads((out_dir / "summary.json").read_text())
    rows = {r["benchmark"]: r for r in summary["fits"]}
    assert rows["scalar"]["status"] == "ok" and rows["idm-double"]["status"] == "ok"
    assert rows["pseudoscalar"]["status"] == "no sensitivity"
    report = (out_dir / "report.md").read_text()
    assert "| scalar (combined) |" in report and "no sensitivity" in report and "arXiv:1807.06137" in report
    # MicroBooNE constraint and the other BNB detectors at each best fit (issue #11)
    assert "## Other BNB experiments" in report and "MicroBooNE 1g0p" in report and "microboone verdict" in report
    assert set(rows["scalar"]["other_experiments"]) == {"microboone", "sbnd", "icarus"}
    assert set(rows["scalar"]["constraints"]["microboone"]["verdict"]) >= {"excluded_90", "excluded_95"}
    fit = json.loads((out_dir / "scalar" / "fit.json").read_text())
    assert fit["best_fit"]["coupling_product"] == pytest.approx(rows["scalar"]["best_fit"])
    assert (out_dir / "scalar" / "delta_chi2.png").is_file() and (out_dir / "idm-double" / "eqe_nu.png").is_file()
    assert "MiniBooNE excess fits" in out


def test_fit_with_microboone_json(capsys, patched):
    """--with microboone: the constraint's likelihood (datasets, arXiv:2110.00409 +
    arXiv:2502.10900) at the best fit and along the scan; verdict = Δχ² vs 2.706 / 3.841."""
    from mesonportal.datasets import constraint

    patched()
    rc, out, err = run(capsys, "fit", "--benchmark", "idm-double", "--with", "microboone", "--json")
    assert rc == 0, err
    j = json.loads(out)
    c = j["constraints"]["microboone"]
    assert {"chi2", "ndof", "events", "verdict"} <= set(c)
    assert c["ndof"] == 3
    assert c["chi2"] == pytest.approx(constraint("microboone").chi2(c["rates_per_pot"]), rel=1e-12)
    v = c["verdict"]
    assert v["excluded_95"] <= v["excluded_90"]
    assert v["excluded_90"] == (c["mu_hat"] < 1 and c["delta_chi2"] > 2.706)
    assert v["excluded_95"] == (c["mu_hat"] < 1 and c["delta_chi2"] > 3.841)
    comb = c["combined_with_excess_fit"]  # minimum of the sum on the fit's scan grid
    assert comb["chi2"] == pytest.approx(comb["chi2_excess_fit"] + comb["chi2_constraint"], rel=1e-12)
    assert comb["chi2"] <= j["best_fit"]["chi2"] + c["chi2"] + 1e-9
    assert j["prediction_conventions"] == {} or "dirt" in j["prediction_conventions"]
    rc, out, err = run(capsys, "fit", "--benchmark", "idm-double", "--with", "microboone")
    assert rc == 0 and "microboone at the MiniBooNE best fit" in out and "95% CL" in out


def test_reproduce_highenergy_flag_reaches_the_lens(capsys, patched, tmp_path, monkeypatch):
    """`reproduce --highenergy` asks the lens entries for the CHARM-II/T2K/MINERvA/DUNE columns
    (issue #16); without the flag they are not computed (cost: Pythia 8 tables)."""
    import mesonportal.analysis.compare as compare

    patched()
    seen = []

    def entry(name, **kw):
        seen.append((name, kw.get("highenergy")))
        return {"row": {"hypothesis": name, "kind": "benchmark", "status": "stub"}, "hist": None, "systematics": None}

    monkeypatch.setattr(compare, "benchmark_entry", entry)
    monkeypatch.setattr(compare, "run_compare", lambda *a, **kw: seen.append(("run_compare", kw.get("highenergy"))))
    for flag, expected in ((["--highenergy"], True), ([], False)):
        seen.clear()
        rc, _out, err = run(capsys, "reproduce", "--out", str(tmp_path / f"r{expected}"), "--benchmarks", "scalar",
                            "--samples", "100", "--no-plots", "--no-stopped", "--no-other-experiments",
                            "--workers", "1", *flag)
        assert rc == 0, err
        assert ("scalar", expected) in seen and ("run_compare", expected) in seen
