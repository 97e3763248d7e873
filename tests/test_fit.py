"""Fit of the MiniBooNE excess (mesonportal.analysis.fit) with synthetic SignalSamples.

References: MiniBooNE 2021 data release (arXiv:2006.16883) for the likelihood; the Asimov
construction (data := background + signal(x_true), ν_μ data := prediction) gives χ²(x_true) = 0
exactly, so the fit must return x_true; Wilks/Chernoff for the Δχ² = 1, 4 intervals.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mesonportal.analysis.binning import EQE_EDGES_MEV
from mesonportal.analysis.fit import (
    DUMP_UPPER_LIMIT_EVENTS,
    asimov_likelihood,
    dump_consistency,
    fit_excess,
    model_at_coupling_product,
)
from mesonportal.analysis.likelihood import MiniBooNECovarianceChi2, get_likelihood
from mesonportal.analysis.miniboone_data import load_miniboone
from mesonportal.analysis.prediction import SignalSample
from mesonportal.exceptions import DataError, NoSensitivityError, ParameterError
from mesonportal.experiments import load_experiment

EXP = load_experiment("miniboone")
CEN = 0.5 * (EQE_EDGES_MEV[1:] + EQE_EDGES_MEV[:-1])
# excess-like shape: falling with E_QE (events/POT per bin at x_ref, arbitrary normalisation)
SHAPE = np.array([5.0, 4.0, 3.0, 2.0, 1.5, 1.0, 0.6, 0.4, 0.2, 0.1, 0.05]) * 1e-20
X_REF = 1e-13


def make_sample(mode: str, weights=SHAPE, x_ref=X_REF, weight_fn=None, e_qe=CEN, pot=None) -> SignalSample:
    """One event per E_QE bin at the bin centre (or at ``e_qe``), weights in events/POT."""
    n = len(e_qe)
    cols = {"e_qe": np.asarray(e_qe, float), "e_vis": 0.8 * np.asarray(e_qe, float),
            "cos_theta": np.full(n, 0.95), "weight": np.asarray(weights, float)}
    return SignalSample("miniboone", mode, EXP.pot(mode) if pot is None else pot,
                        {"model": "scalar", "params": {"m_x": 1.0}}, x_ref, "MeV^-1", cols, weight_fn=weight_fn)


def samples(**kw):
    return {"nu": make_sample("nu", **kw), "nubar": make_sample("nubar", **kw)}


def asimov(smp, x_true):
    s = {m: smp[m].enu_qe_counts(x_true) for m in smp}
    return {"combined": asimov_likelihood("combined", np.concatenate([s["nu"], s["nubar"]])),
            "nu": asimov_likelihood("nu", s["nu"]), "nubar": asimov_likelihood("nubar", s["nubar"])}


@pytest.mark.parametrize("x_true", [3e-13, 1.5e-12])
def test_asimov_recovers_injected_coupling(x_true):
    # Asimov data: χ²(x_true) = 0 exactly; tolerance 1e-3 relative on x (brief), χ²_min < 1e-6
    smp = samples()
    r = fit_excess(smp, likelihoods=asimov(smp, x_true))
    for name in ("combined", "nu", "nubar"):
        f = r.fits_by_mode[name]
        assert f.best_fit == pytest.approx(x_true, rel=1e-3), name
        assert f.chi2_min < 1e-6
        # intervals bracket the truth and are nested
        lo1, hi1 = f.interval_1sigma
        lo2, hi2 = f.interval_2sigma
        assert lo2 < lo1 < x_true < hi1 < hi2
        assert f.interval_kind_1sigma == "two-sided"


def test_interval_edges_are_delta_chi2_levels_on_real_data():
    # Root finding: χ²(edge) − χ²_min = 1 (4) to 1e-6 (Wilks, one parameter)
    smp = samples()
    r = fit_excess(smp)
    lk = get_likelihood("combined")
    f = r.best
    vec = lambda x: np.concatenate([smp["nu"].enu_qe_counts(x), smp["nubar"].enu_qe_counts(x)])  # noqa: E731
    assert lk.chi2(vec(f.best_fit)) == pytest.approx(f.chi2_min, abs=1e-9)
    for iv, lev in ((f.interval_1sigma, 1.0), (f.interval_2sigma, 4.0)):
        for edge in iv:
            assert lk.chi2(vec(edge)) - f.chi2_min == pytest.approx(lev, abs=1e-6)
    # the minimum is a minimum: neighbours 1% away are higher
    assert lk.chi2(vec(1.01 * f.best_fit)) > f.chi2_min
    assert lk.chi2(vec(0.99 * f.best_fit)) > f.chi2_min
    # the real data prefer a signal (MiniBooNE excess 4.8σ; synthetic shape gives > 3σ)
    assert f.significance_sigma == pytest.approx(math.sqrt(f.chi2_background - f.chi2_min))
    assert f.significance_sigma > 3.0
    assert f.ndof == 37 and r.fits_by_mode["nu"].ndof == 18


def test_background_only_chi2_matches_likelihood():
    # χ²_background = χ²(s = 0); published-release values in docs/likelihood.md: 24.11, 14.95, 44.31
    r = fit_excess(samples())
    for name, ref in (("nu", 24.11), ("nubar", 14.95), ("combined", 44.31)):
        f = r.fits_by_mode[name]
        assert f.chi2_background == pytest.approx(get_likelihood(name).chi2(np.zeros(f.signal_counts.size)), rel=1e-12)
        assert f.chi2_background == pytest.approx(ref, abs=0.01)


def test_upper_limit_when_data_show_no_excess():
    # Asimov data with zero signal: best fit 0, intervals are upper limits [0, x_up]
    smp = samples()
    lk = {k: asimov_likelihood(k) for k in ("combined", "nu", "nubar")}
    r = fit_excess(smp, likelihoods=lk)
    f = r.best
    assert f.best_fit == pytest.approx(0.0, abs=1e-3 * X_REF)
    assert f.interval_kind_2sigma == "upper-limit"
    assert f.interval_2sigma[0] == 0.0 and f.interval_2sigma[1] > f.interval_1sigma[1] > 0
    assert r.events["nu"] == pytest.approx(0.0, abs=1e-3)


def test_zero_prediction_no_sensitivity():
    with pytest.raises(NoSensitivityError, match="zero"):
        fit_excess(samples(weights=np.zeros(11)))
    # events only below the first E_QE edge (200 MeV): zero in every fitted bin
    with pytest.raises(NoSensitivityError):
        fit_excess(samples(e_qe=np.full(11, 150.0)))


def test_pot_bookkeeping_and_events():
    smp = samples()
    # the fit refuses a sample whose exposure is not the MiniBooNE exposure of its mode
    bad = dict(smp, nubar=make_sample("nubar", pot=EXP.pot("nu")))
    with pytest.raises(ParameterError, match="pot"):
        fit_excess(bad)
    assert EXP.pot("nu") == load_miniboone("nu").pot == 18.75e20
    assert EXP.pot("nubar") == load_miniboone("nubar").pot == 11.27e20
    assert EXP.pot("dump") == 1.86e20
    dump = make_sample("dump", weights=SHAPE * 1e-3)
    r = fit_excess(smp, dump=dump)
    x = r.coupling_product
    win = CEN < 1250.0  # 9 of 11 bins
    for m in ("nu", "nubar"):
        # events = Σ w · POT(mode) · (x/x_ref)² in 200 < E_QE < 1250 MeV
        assert r.events[m] == pytest.approx(SHAPE[win].sum() * EXP.pot(m) * (x / X_REF) ** 2, rel=1e-12)
    assert r.events["dump"] == pytest.approx(SHAPE.sum() * 1e-3 * 1.86e20 * (x / X_REF) ** 2, rel=1e-12)
    d = r.dump
    assert d["pot"] == 1.86e20
    # per-POT ratio of dump to ν mode = 1e-3 × (all bins / window bins)
    assert d["ratio_to_scaled_nu_prediction"] == pytest.approx(1e-3 * SHAPE.sum() / SHAPE[win].sum(), rel=1e-10)
    assert d["consistent"] == (d["events"] <= DUMP_UPPER_LIMIT_EVENTS)
    # observed ν excess (560.6, arXiv:2006.16883) scaled to dump POT: 560.6 × 1.86/18.75 = 55.6
    assert d["observed_nu_excess_scaled_to_dump_pot"] == pytest.approx(560.6 * 1.86 / 18.75, rel=2e-3)


def test_dump_verdict():
    nu = make_sample("nu")
    # same per-POT yield in dump as in ν mode: ≈ 1.86/18.75 of the ν-mode events → inconsistent
    same = make_sample("dump")
    x = 2e-13
    v = dump_consistency(same, x, nu)
    assert v["events"] > DUMP_UPPER_LIMIT_EVENTS and not v["consistent"]
    small = make_sample("dump", weights=SHAPE * 1e-4)
    assert dump_consistency(small, x, nu)["consistent"]
    assert DUMP_UPPER_LIMIT_EVENTS == pytest.approx(2.3026, abs=1e-4)  # −ln(0.1), Poisson 90% CL, n = 0
    with pytest.raises(ParameterError):
        dump_consistency(nu, x)


def _idm_like(mode: str, x_max: float | None = None) -> SignalSample:
    """Non-quadratic weights w(x) = w_ref (x/x_ref) · P(x)/P(x_ref), P = 1 − exp(−x/x_d)
    (rate ∝ x times a decay probability that saturates), as for idm reweighting."""
    x_d = 5e-13

    def p(x):
        return -math.expm1(-x / x_d)

    def wfn(x):
        if x_max is not None and x > x_max:
            raise ParameterError(f"coupling_product = {x} needs g' > 4π")
        return SHAPE * (x / X_REF) * p(x) / p(X_REF)

    return make_sample(mode, weight_fn=wfn)


def test_non_quadratic_weight_fn_asimov():
    smp = {m: _idm_like(m) for m in ("nu", "nubar")}
    x_true = 4e-13
    # the scaling really is not quadratic (check the test premise)
    c1, c2 = smp["nu"].enu_qe_counts(x_true), smp["nu"].enu_qe_counts(2 * x_true)
    assert not np.allclose(c2, 4 * c1, rtol=0.05)
    r = fit_excess(smp, likelihoods=asimov(smp, x_true))
    assert r.coupling_product == pytest.approx(x_true, rel=1e-3)
    assert r.best.chi2_min < 1e-6
    assert r.best.interval_1sigma[0] < x_true < r.best.interval_1sigma[1]


def test_weight_fn_with_allowed_range():
    # the model rejects x above x_max (g' > 4π): grid truncated there, reported as x_max_allowed
    x_max = 5e-13
    smp = {m: _idm_like(m, x_max=x_max) for m in ("nu", "nubar")}
    r = fit_excess(smp)
    assert r.best.x_max_allowed is not None and r.best.x_max_allowed <= x_max
    assert np.all(r.best.scan_x <= x_max)
    # Asimov truth beyond the allowed range: best fit pinned at the edge, flagged
    smp2 = {m: _idm_like(m) for m in ("nu", "nubar")}
    lk = asimov(smp2, 5e-12)
    r2 = fit_excess(smp, likelihoods=lk)
    assert r2.best.at_scan_edge
    assert any("upper end" in n for n in r2.notes)


def test_non_positive_definite_covariance_clear_error():
    # a user-edited fractional covariance with a negative eigenvalue → DataError, not NaN
    d = load_miniboone("nu")
    F = np.array(d.fractional_covariance, copy=True)
    F[np.arange(30), np.arange(30)] = -1.0
    bad = MiniBooNECovarianceChi2.from_arrays(F, d.nue_data, d.nue_background, d.numu_data,
                                              d.numu_prediction, label="edited")
    with pytest.raises(DataError, match="positive definite"):
        fit_excess({"nu": make_sample("nu")}, modes=("nu",), likelihoods={"nu": bad})


def test_json_layout_and_no_nan():
    r = fit_excess(samples(), dump=make_sample("dump", weights=SHAPE * 1e-3))
    j = json.loads(json.dumps(r.to_json(), allow_nan=False))
    assert {"model", "params", "best_fit", "events", "pienu_allowed", "fits_by_mode"} <= set(j)
    assert set(j["best_fit"]) >= {"coupling_product", "units", "interval_1sigma", "interval_2sigma",
                                  "chi2", "chi2_background", "ndof"}
    assert set(j["events"]) == {"nu", "nubar", "dump"}
    assert set(j["fits_by_mode"]) == {"combined", "nu", "nubar"}
    assert j["best_fit"]["units"] == "MeV^-1"


def test_single_mode_and_bad_modes():
    r = fit_excess(samples(), modes=("nubar",))
    assert r.best.analysis == "nubar" and set(r.fits_by_mode) == {"nubar"}
    assert r.events["nu"] is not None  # events are still reported for the other mode's sample
    with pytest.raises(ParameterError):
        fit_excess(samples(), modes=("dump",))
    with pytest.raises(ParameterError):
        fit_excess({"nu": make_sample("nu")}, modes=("nu", "nubar"))


def test_model_rescaling_convention_and_pienu():
    from mesonportal.models.registry import load_benchmark
    from mesonportal.production.limits import pion_branching_ratios

    m = load_benchmark("scalar")
    m2 = model_at_coupling_product(m, 4e-13)
    assert m2.coupling_product == pytest.approx(4e-13, rel=1e-12)
    assert m2.g_mu == m.g_mu and m2.g_n == m.g_n and m2.lifetime == pytest.approx(m.lifetime, rel=1e-12)
    # PIENU depends on g_mu only → unchanged by the convention
    assert pion_branching_ratios(m2)["R_mu"] == pytest.approx(pion_branching_ratios(m)["R_mu"], rel=1e-12)
    # beyond |λ| = 1 MeV⁻¹ the remainder goes into g_n (product still exact)
    m3 = model_at_coupling_product(m, 5e-8)
    assert m3.lam == 1.0 and m3.coupling_product == pytest.approx(5e-8, rel=1e-12) and m3.g_mu == m.g_mu
    idm = load_benchmark("idm-double")
    assert model_at_coupling_product(idm, 1e-7).coupling_product() == pytest.approx(1e-7, rel=1e-12)
    r = fit_excess(samples(), model=m)
    assert r.pienu is not None and isinstance(r.pienu_allowed, bool)
    assert "lam scaled" in r.pienu["convention"]


def test_dump_far_below_pot_scaled_nu_mode_for_charged_meson_scenario():
    # physics.md §1 / arXiv:1807.06137: in dump mode charged mesons are absorbed in the steel
    # (λ_I = 16.8 cm ≪ decay lengths), so a π±/K± → μνX scenario must predict far fewer events
    # per POT than in target (ν) mode.  Criterion: per-POT ratio < 0.05 (a ≥ 20× suppression);
    # decays at rest in the dump give soft, isotropic X, so the true ratio should be much smaller.
    from mesonportal.analysis import predict
    from mesonportal.models.registry import load_benchmark

    model = load_benchmark("scalar")
    nu = predict.predict_signal(EXP, "nu", model, samples=20_000, seed=3)
    dump = predict.predict_signal(EXP, "dump", model, samples=20_000, seed=3)
    assert nu.pot == EXP.pot("nu") and dump.pot == EXP.pot("dump")
    per_pot_nu = nu.totals()["events_total"] / nu.pot
    per_pot_dump = dump.totals()["events_total"] / dump.pot
    assert per_pot_nu > 0
    assert per_pot_dump < 0.05 * per_pot_nu


@pytest.mark.parametrize("benchmark,x_true", [("scalar", 3.0e-9), ("idm-double", 1.5e-8)])
def test_asimov_from_the_package_prediction_recovers_coupling(benchmark, x_true):
    """Issue #5: an Asimov data set made from the package's own prediction (predict_signal,
    small sample) at a known coupling product is fitted back to that product (1% relative:
    the fit is exact up to the spline interpolation between scan points; for idm the weights are
    recomputed per event by weight_fn, not scaled)."""
    from mesonportal.analysis.predict import predict_signal
    from mesonportal.models.registry import load_benchmark

    model = load_benchmark(benchmark)
    smp = {m: predict_signal(EXP, m, model, samples=20_000, seed=11) for m in ("nu", "nubar")}
    r = fit_excess(smp, likelihoods=asimov(smp, x_true))
    f = r.fits_by_mode["combined"]
    assert f.best_fit == pytest.approx(x_true, rel=1e-2)
    assert f.chi2_min < 1e-3
    lo1, hi1 = f.interval_1sigma
    assert lo1 < x_true < hi1
