"""High-energy beams (issue #16): Pythia 8 vs BMPT meson production, the highenergy source,
bad input, selections and verdict arithmetic.  References and tolerances are stated per test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mesonportal.datasets import highenergy as he_ds
from mesonportal.datasets.highenergy import Z90, Measurement, Selection, get_measurement
from mesonportal.exceptions import ConfigError
from mesonportal.experiments import available_experiments, load_experiment
from mesonportal.experiments.config import parse_experiment
from mesonportal.sources import production_he as he
from mesonportal.sources.highenergy import HE_FATES, simulate_highenergy

pythia = pytest.importorskip("pythia8mc")


@pytest.fixture(scope="module")
def table_120(tmp_path_factory):
    """Tiny Pythia sample: 600 NN collisions at 120 GeV/c on carbon (~3 s)."""
    d = tmp_path_factory.mktemp("pythia")
    return he.pythia_table(120000.0, 6, 12.011, 600, 3, directory=d)


# Tolerances (yield per species, mean momentum): two independent models — Pythia 8 NN collisions
# scaled by A^alpha vs the BMPT fit to p-Be data (hep-ph/0101163) — measured with 20k events to
# agree at 120 GeV on C within pi+/- 11%, pi0 1%, K+ 15%, K- 53%, K0L 41% (yields) and 9/6/21/9/11/7%
# (mean p).  The tolerances add the 600-event MC error (~4% pions, ~12% kaons, 3 sigma) to those.
TOL = {211: (0.25, 0.2), -211: (0.25, 0.2), 111: (0.2, 0.2), 321: (0.4, 0.35), -321: (0.9, 0.35), 130: (0.75, 0.35)}


@pytest.mark.parametrize("pdg", sorted(TOL))
def test_pythia_vs_bmpt_per_species(table_120, pdg):
    tab = table_120
    win = (tab["pdg"] == pdg) & (tab["p"] >= 50.0) & (tab["theta"] <= 0.5 * math.pi)  # BMPT phase space
    s_py = tab["sigma_mb"][win].sum()
    p_py = np.average(tab["p"][win], weights=tab["sigma_mb"][win])
    p, th, w = he.bmpt_table_sample(pdg, 200_000, 120000.0, 12.011, np.random.default_rng(5))
    s_b, p_b = w.sum(), np.average(p, weights=w)
    ty, tp = TOL[pdg]
    assert abs(s_py / s_b - 1) < ty, (s_py, s_b)
    assert abs(p_py / p_b - 1) < tp, (p_py, p_b)


def test_pythia_eta_present_and_table_cached(table_120, tmp_path):
    # eta/pi0 in NN collisions at sqrt(s) ~ 15 GeV: measured ~0.1 (PDG review "Neutrino beam"/
    # eta/pi0 ~ 0.1 in pp at SPS energies); Pythia must give 0.05-0.2
    r = table_120["sigma_mb"][table_120["pdg"] == 221].sum() / table_120["sigma_mb"][table_120["pdg"] == 111].sum()
    assert 0.05 < r < 0.2
    # sigma_gen(pp inelastic) at sqrt(s) = 15 GeV: PDG ~ 32 mb; Pythia within 10%
    assert abs(float(table_120["sigma_pp_mb"]) / 32.0 - 1) < 0.1


def test_bmpt_charge_ratios_and_integral():
    # BMPT: pi+/pi- = 1.05 (1 + x_R)^2.65 > 1 and K0L = (K+ + 3K-)/4 by construction
    p = np.array([5e3, 2e4, 6e4]); th = np.full(3, 0.01)
    pp = he.bmpt_invariant(211, p, th, 120000.0); pm = he.bmpt_invariant(-211, p, th, 120000.0)
    assert np.all(pp / pm >= 1.05 - 1e-12)
    kp = he.bmpt_invariant(321, p, th, 120000.0); km = he.bmpt_invariant(-321, p, th, 120000.0)
    np.testing.assert_allclose(he.bmpt_invariant(130, p, th, 120000.0), 0.25 * (kp + 3 * km), rtol=1e-12)
    # importance sampler is unbiased: two seeds agree within 2% (MC error ~0.3%)
    a = he.bmpt_table_sample(211, 100_000, 450000.0, 9.012182, np.random.default_rng(1))[2].sum()
    b = he.bmpt_table_sample(211, 100_000, 450000.0, 9.012182, np.random.default_rng(2))[2].sum()
    assert abs(a / b - 1) < 0.02


def test_shipped_highenergy_experiments():
    names = set(available_experiments())
    assert {"charm-ii", "t2k-nd280", "minerva", "dune-nd"} <= names
    t2k = load_experiment("t2k-nd280")
    # 2.5 deg off axis at 280 m (arXiv:1211.0469)
    c = t2k.detector.center_cm
    assert math.degrees(math.atan2(c[0], c[2])) == pytest.approx(2.5, abs=0.01)
    assert np.linalg.norm(c) == pytest.approx(28000.0, rel=1e-3)


def test_weight_bookkeeping_bmpt_source():
    exp = load_experiment("minerva")
    src = exp.source.model_copy(update={"generator": "bmpt"})
    import dataclasses

    exp = dataclasses.replace(exp, source=src)
    s = simulate_highenergy(exp, "nu", 6000, np.random.default_rng(1), (211, -211, 321, 130, 111))
    tot_in = sum(v["produced"] for v in s.summary.values())
    tot_out = sum(v[f] for v in s.summary.values() for f in HE_FATES)
    assert tot_out == pytest.approx(tot_in, rel=1e-10)
    assert s.total_weight == pytest.approx(sum(v["prompt"] + v["decay_in_flight"] for v in s.summary.values()), rel=1e-10)
    # focusing: decays of pi+ (focused) outnumber pi- (defocused) in nu mode
    assert s.summary["pi+"]["decay_in_flight"] > 2 * s.summary["pi-"]["decay_in_flight"]
    assert s.summary["pi-"]["defocused"] > 0


def _raw(**over):
    import tomllib
    from importlib import resources

    raw = tomllib.loads((resources.files("mesonportal.experiments") / "minerva.toml").read_text())
    for k, v in over.items():
        sec, key = k.split(".")
        raw[sec][key] = v
    return raw


def test_bad_input_threshold_and_target():
    with pytest.raises(ConfigError, match="beam.momentum_mev"):
        parse_experiment(_raw(**{"beam.momentum_mev": 300.0}), "x.toml")
    with pytest.raises(ConfigError, match="target.mass_number"):
        parse_experiment(_raw(**{"target.mass_number": 3.0}), "x.toml")
    with pytest.raises(ConfigError, match="beam.particle"):
        parse_experiment(_raw(**{"beam.particle": "electron"}), "x.toml")
    # kaons below threshold at a beam that still makes pions: sqrt(s) = 2.08 GeV < m_p + m_Lambda + m_K
    exp = parse_experiment(_raw(**{"beam.momentum_mev": 1000.0}), "x.toml")
    with pytest.raises(ConfigError, match="beam.momentum_mev"):
        simulate_highenergy(exp, "nu", 100, np.random.default_rng(0), (321,))
    with pytest.raises(ConfigError, match="source.generator"):
        parse_experiment(_raw(**{"source.generator": "geant4"}), "x.toml")


def test_selection_and_allowed_events():
    sel = Selection(e_min_mev=800.0, e_max_mev=1e9, etheta2_max_mev=3.2, efficiency=0.5, photon_acceptance=0.2)
    from mesonportal.analysis.highenergy import selection_mask

    # photons along the target->vertex line at E = 1 GeV pass; at theta = 0.1 rad: E theta^2 = 10 > 3.2
    e = np.array([1000.0, 1000.0, 500.0])
    th = np.array([0.0, 0.1, 0.0])
    cols = {"p1_e": e, "p1_px": e * np.sin(th), "p1_py": 0 * e, "p1_pz": e * np.cos(th),
            "p2_e": np.zeros(3), "p2_px": np.zeros(3), "p2_py": np.zeros(3), "p2_pz": np.zeros(3),
            "int_x": np.zeros(3), "int_y": np.zeros(3), "int_z": np.full(3, 1e5)}
    ok, eff = selection_mask(cols, sel)
    assert ok.tolist() == [True, False, False]
    assert eff[0] == pytest.approx(0.1)
    m = Measurement("x", "minerva", "ref", sel, observed_minus_expected=-5.0, sigma=10.0, pot=1.0)
    assert m.allowed_90 == pytest.approx(Z90 * 10.0)  # negative delta does not tighten the limit
    assert m.verdict(12.80) == "allowed" and m.verdict(12.83) == "excluded"
    # MINERvA: sigma = 7.6% (+) sqrt(810) (arXiv:1906.00111 abstract numbers)
    assert get_measurement("minerva_nue_me").sigma == pytest.approx(math.hypot(0.076 * 810, math.sqrt(810)))
    assert get_measurement("t2k_nd280_nc1gamma").verdict(1e6) == "no counts"  # counts formed in verdict_table


def test_dune_nd_flux_vs_published_with_bmpt(tmp_path, monkeypatch):
    """DUNE ND ν_μ flux (1–10 GeV) vs the bundled published flux (DUNE TDR, third-party
    digitisation).  ``flux_normalisation`` = 1.24 was fixed with the Pythia source; with the
    independent BMPT source the model must still agree: integral within 15 %, mean energy within
    10 % (measured: 1.04 and 3.12 vs 3.14 GeV), every 1-GeV bin within 0.6–1.5."""
    import dataclasses

    from mesonportal.analysis.highenergy import flux_comparison

    monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path))
    e = load_experiment("dune-nd")
    e = dataclasses.replace(e, source=e.source.model_copy(update={"generator": "bmpt"}))
    r = flux_comparison(e, samples=60_000, seed=2)
    assert abs(r["ratio"] - 1) < 0.15
    assert abs(r["model_mean_gev"] / r["published_mean_gev"] - 1) < 0.10
    assert all(0.6 < x < 1.5 for x in r["bin_ratio"])


def test_cli_predict_highenergy_json_keys(capsys, tmp_path, monkeypatch):
    """`mesonportal predict --experiment <minerva-like TOML> --benchmark scalar --json` gives the
    usual keys (BMPT generator so that the test needs no Pythia run)."""
    import json
    from importlib import resources

    from mesonportal.cli.main import main

    monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path))
    text = (resources.files("mesonportal.experiments") / "minerva.toml").read_text()
    path = tmp_path / "minerva_bmpt.toml"
    path.write_text(text.replace('generator = "pythia8"', 'generator = "bmpt"'))
    rc = main(["predict", "--experiment", str(path), "--benchmark", "scalar", "--samples", "4000", "--json"])
    assert rc in (0, None)
    out = json.loads(capsys.readouterr().out)
    for k in ("events_total", "events_200_1250", "mc_stat_error", "hist"):
        assert k in out
    assert out["events_total"] > 0
    # bad input: a generator name that does not exist -> one-line error, exit code 2
    path.write_text(text.replace('generator = "pythia8"', 'generator = "fluka"'))
    rc = main(["predict", "--experiment", str(path), "--benchmark", "scalar", "--samples", "4000", "--json"])
    assert rc == 2
    assert "source.generator" in capsys.readouterr().err


# --- per-beam flux normalisation (issue #16 item 2) --------------------------------------------------------

# Reference: the bundled published nu_mu fluxes (MINERvA ME FHC, T2K ND280 2016 release, CHARM-II; sources in
# the data-file headers).  flux_normalisation and the focusing keys of each TOML were fitted with the Pythia 8
# source (seeds 1, 2; benchmarks/fit_he_focusing.py).  Check with the INDEPENDENT BMPT source and another seed
# (40k mesons): integral within the Pythia/BMPT difference at that beam energy (docs/highenergy.md: pions within
# ~15% at 120/450 GeV, BMPT 1.1-1.4 x Pythia at 30 GeV, outside its fitted range) plus 3 MC sigma; mean energy
# within the shape agreement reached (MINERvA, T2K: 10%; CHARM-II: 25%, the acceptance model's softer spectrum,
# measured 18.8-20 vs 23.2 GeV).  Measured (seed 3): MINERvA 1.03, T2K 1.15, CHARM-II 0.99 (+-14% MC).
FLUX_TOL = {"minerva": (0.25, 0.10), "t2k-nd280": (0.40, 0.10), "charm-ii": (0.50, 0.25)}


@pytest.mark.parametrize("name", sorted(FLUX_TOL))
def test_beam_flux_vs_published_with_bmpt(name, tmp_path, monkeypatch):
    import dataclasses

    from mesonportal.analysis.highenergy import flux_comparison

    monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path))
    e = load_experiment(name)
    e = dataclasses.replace(e, source=e.source.model_copy(update={"generator": "bmpt"}))
    r = flux_comparison(e, samples=40_000, seed=3)
    tol_int, tol_mean = FLUX_TOL[name]
    assert abs(r["ratio"] - 1) < tol_int, r["ratio"]
    assert abs(r["model_mean_gev"] / r["published_mean_gev"] - 1) < tol_mean, (r["model_mean_gev"], r["published_mean_gev"])


def test_published_flux_tables():
    """Integrals of the bundled tables against the numbers of their sources: T2K 2016 release, ND280 nu_mu
    summed over its 50-MeV bins = 1.915e13 /cm^2/1e21 POT (0-30 GeV; computed from the release file, 0.1%);
    MINERvA ME: peak at 5-7 GeV (the ME tune's ~6 GeV peak); CHARM-II: mean 24.9 GeV (the WANF wide-band beam,
    <E_numu> ~ 24 GeV in the shared notes; 5%)."""
    from mesonportal.analysis.highenergy import published_flux_bins

    t2k = published_flux_bins("t2k-nd280", np.arange(0.0, 10.0 + 1e-9, 0.05)).sum()
    assert t2k == pytest.approx(1.915e-8, rel=2e-3)
    ed = np.arange(1.0, 20.0 + 1e-9, 0.5)
    mv = published_flux_bins("minerva", ed)
    assert 5.0 <= ed[np.argmax(mv)] <= 7.0
    ed = np.arange(0.0, 200.0 + 1e-9, 2.0)
    c2 = published_flux_bins("charm-ii", ed)
    assert np.sum(c2 * 0.5 * (ed[1:] + ed[:-1])) / c2.sum() == pytest.approx(24.9, rel=0.05)


# --- dE/dx response: photons and e+e- pairs in the nu-e selections (issue #16 item 3) ----------------------

def test_landau_mip_plane_vs_pdg():
    """Most probable loss of a relativistic e in 1.7 cm polystyrene.  Reference: PDG atomic and nuclear
    properties, polystyrene <dE/dx>_min = 2.052 MeV cm^2/g (rho = 1.06) -> mean 3.70 MeV per plane; PDG
    'Passage of particles through matter' (Fig. 34.8): for cm-thick layers Delta_p / mean ~ 0.7-0.85."""
    dp, xi = he_ds.landau_mip_plane()
    mean = 2.052 * 1.06 * 1.7
    assert 0.70 < dp / mean < 0.85
    assert xi == pytest.approx(0.5 * 0.307075 * 0.53768 * 1.06 * 1.7, rel=1e-12)


def test_dedx_acceptance_two_mip():
    """Electrons pass a cut at 1.5 Delta_p mostly (>85%); two overlapping e+- (a converted photon or an
    unresolved pair) cannot have a 4-plane mean below 2 Delta_p (Landau losses are > Delta_p - few xi), so
    their acceptance is 0 at MINERvA's 4.5 MeV and rises only for cuts near 2 Delta_p = 5.9 MeV; same seed ->
    same number."""
    e1 = he_ds.dedx_acceptance(1, 4.5, samples=50_000)
    assert e1 > 0.85
    assert he_ds.dedx_acceptance(2, 4.5, samples=50_000) == 0.0
    loose = he_ds.dedx_acceptance(2, 6.5, samples=50_000)
    assert 0.2 < loose < 0.8
    assert he_ds.dedx_acceptance(2, 6.5, samples=50_000) == loose
    m = get_measurement("minerva_nue_me").selection
    assert m.photon_acceptance == 0.0 and 0.0 < m.photon_acceptance_range[1] < 0.2
    with pytest.raises(he_ds.ParameterError):
        he_ds.dedx_acceptance(0, 4.5)


def test_selection_acceptance_ranges_and_pairs():
    from mesonportal.analysis.highenergy import _verdict, selection_mask

    sel = Selection(e_min_mev=800.0, e_max_mev=1e9, etheta2_max_mev=3.2, efficiency=0.5, photon_acceptance=0.1,
                    pair_acceptance=0.3, photon_acceptance_range=(0.0, 0.2), pair_acceptance_range=(0.2, 0.4))
    e = np.array([1000.0, 600.0])  # a photon, and a pair of 600 + 400 MeV along the axis
    cols = {"p1_e": e, "p1_px": 0 * e, "p1_py": 0 * e, "p1_pz": e,
            "p2_e": np.array([0.0, 400.0]), "p2_px": np.zeros(2), "p2_py": np.zeros(2), "p2_pz": np.array([0.0, 400.0]),
            "int_x": np.zeros(2), "int_y": np.zeros(2), "int_z": np.full(2, 1e5)}
    for which, (g, p) in {"central": (0.1, 0.3), "low": (0.0, 0.2), "high": (0.2, 0.4)}.items():
        ok, eff = selection_mask(cols, sel, which)
        assert ok.tolist() == [True, True]  # the pair's summed energy (1 GeV) passes E > 0.8 GeV
        np.testing.assert_allclose(eff, [0.5 * g, 0.5 * p])
    # verdict over the range: excluded only if even the low end exceeds N_90
    assert _verdict(10.0, 5.0, 20.0, 4.0) == "excluded"
    assert _verdict(10.0, 5.0, 20.0, 30.0) == "allowed"
    assert _verdict(10.0, 5.0, 20.0, 8.0) == "excluded"  # central decides; verdict_range shows the spread
    assert _verdict(1.0, 0.0, 2.0, None) == "no counts"


def _bmpt(name):
    import dataclasses

    e = load_experiment(name)
    return dataclasses.replace(e, source=e.source.model_copy(update={"generator": "bmpt"}))


def test_verdict_table_rows_and_clustered_error(tmp_path, monkeypatch):
    """Rows at the scalar benchmark (BMPT sources so no Pythia run): keys, N_90 of each measurement, the
    acceptance range brackets the central value, and the MC error is the meson-clustered (stratified)
    estimator of the MiniBooNE predictions (SignalSample.totals) for an accept-all selection."""
    from mesonportal.analysis.highenergy import selected_events, t2k_allowed_interactions, verdict_table
    from mesonportal.analysis.predict import predict_signal
    from mesonportal.models.registry import load_benchmark

    monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path))
    model = load_benchmark("scalar")
    rows = verdict_table(model, 3.1e-9, samples=3000, seed=1, experiments=[_bmpt("minerva"), _bmpt("t2k-nd280")])
    assert [r["experiment"] for r in rows] == ["minerva", "t2k-nd280"]
    for r in rows:
        lo, hi = r["events_selected_range"]
        assert lo <= r["events_selected"] <= hi
        assert r["verdict"] in ("excluded", "allowed") and r["allowed_90_source"]
        assert r["flux_normalisation"] > 0
    assert rows[0]["allowed_90"] == pytest.approx(Z90 * math.hypot(0.076 * 810, math.sqrt(810)))
    # T2K: sigma_lim (0.114e-38 cm^2, arXiv:1902.03848) x FGD nucleons x published flux (1.915e-8 /cm^2/POT) x 5.738e20 POT
    m_t = load_experiment("t2k-nd280").detector.active_mass_t
    assert 2.0 < m_t < 2.3  # FGD1 + FGD2 ~ 2.2 t (the TOML's box)
    assert t2k_allowed_interactions() == pytest.approx(0.114e-38 * m_t * 1e6 * 6.02214076e23 * 1.915e-8 * 5.738e20, rel=3e-3)
    sig = predict_signal(_bmpt("minerva"), "nu", model, samples=3000, seed=1)
    sel = Selection(e_min_mev=0.0, e_max_mev=1e12, etheta2_max_mev=float("inf"), efficiency=1.0)
    ev = selected_events(sig, sel, None)
    w = sig.columns["weight_before_efficiency"] * sig.pot
    assert ev["events"] == pytest.approx(w.sum(), rel=1e-12)
    # an accept-all selection reproduces MiniBooNE's meson-clustered estimator on the same sample
    assert "meson_index" in sig.columns
    assert ev["mc_stat_error"] == pytest.approx(sig.totals()["mc_stat_error"], rel=1e-9)


def test_cli_highenergy(capsys, tmp_path, monkeypatch):
    """`mesonportal highenergy --json` keys (BMPT sources via a patched experiment loader), and bad input:
    unknown benchmark / experiment, --coupling-product with two benchmarks or <= 0 -> exit code 2."""
    import json

    import mesonportal.pipeline as pl
    from mesonportal.cli.main import main

    monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path))
    real = pl.load_experiment
    monkeypatch.setattr(pl, "load_experiment", lambda n: _bmpt(n) if n in ("minerva", "charm-ii") else real(n))
    rc = main(["highenergy", "-b", "scalar", "--coupling-product", "3.1e-9", "-e", "minerva,charm-ii",
               "--samples", "2000", "--seed", "2", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert {"rows", "best_fits", "conventions", "samples", "seed", "version"} <= set(out)
    assert out["best_fits"]["scalar"] == {"coupling_product": 3.1e-9, "source": "--coupling-product"}
    r = out["rows"][0]
    for k in ("benchmark", "experiment", "events_selected", "mc_stat_error", "events_selected_range", "allowed_90",
              "allowed_90_source", "verdict", "verdict_range", "assumptions", "pot", "coupling_product"):
        assert k in r
    for argv in (["highenergy", "-b", "nope"], ["highenergy", "-e", "miniboone", "-b", "scalar"],
                 ["highenergy", "-b", "scalar,pseudoscalar", "--coupling-product", "1e-9"],
                 ["highenergy", "-b", "scalar", "--coupling-product", "-1"],
                 ["highenergy", "-b", "scalar", "--fits", str(tmp_path / "missing.json")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("mesonportal: error:") and len(err.strip().splitlines()) == 1


def test_lens_highenergy_columns(tmp_path, monkeypatch):
    """The lens (`compare --highenergy`): per-experiment cells from verdict_table, rendered as extra columns;
    without them the table keeps its 10 columns.  BMPT source via a patched loader (no Pythia run)."""
    import mesonportal.pipeline as pl
    from mesonportal.analysis import compare as C
    from mesonportal.models.registry import load_benchmark

    monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path))
    real = pl.load_experiment
    monkeypatch.setattr(pl, "load_experiment", lambda n: _bmpt(n) if n == "minerva" else real(n))
    cols = C.highenergy_columns(load_benchmark("scalar"), 3.1e-9, samples=2000, seed=1, experiments=["minerva"])
    c = cols["minerva"]
    assert c["verdict"] in ("allowed", "excluded") and c["samples"] == 2000 and c["mc_stat_error"] >= 0
    bg = C.background_row()
    md_plain = C.lens_markdown([bg])
    row = dict(bg, hypothesis="scalar", highenergy=cols)
    md = C.lens_markdown([bg, row])
    head = next(ln for ln in md.splitlines() if ln.startswith("| hypothesis"))
    assert head.count("|") == next(ln for ln in md_plain.splitlines() if ln.startswith("| hypothesis")).count("|") + 1
    assert "minerva" in head and "→ " + c["verdict"] in md
