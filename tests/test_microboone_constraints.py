"""MicroBooNE counting constraints: bundled numbers, likelihood and verdict.

References: the bundled counts are the abstracts of arXiv:2110.00409 (16 vs 20.5 ± 3.65,
153 vs 145.1 ± 13.8, 6.80e20 POT) and arXiv:2502.10900 (95 vs 69.7 ± 17.3, 6.87e20 POT).  The
likelihood is checked against closed forms: Poisson likelihood ratio 2[s − n ln(1 + s/n)] for a
known background (n = b), the Gaussian limit 1.645 √(n + σ²) for large counts, and the χ²₁
quantiles 2.706 / 3.841 (scipy).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from mesonportal.datasets import (
    DELTA_CHI2_90,
    DELTA_CHI2_95,
    Channel,
    CountingDataset,
    channel_chi2,
    constraint,
    get_dataset,
    microboone_ee_2025,
    microboone_ncdelta_2021,
)
from mesonportal.exceptions import ParameterError


def _single(n, b, sigma):
    return CountingDataset("toy", "toy", 1.0, "toy", (Channel("1g0p", "1g0p", n, b, sigma),))


def test_bundled_numbers_match_the_publications():
    d = microboone_ncdelta_2021.DATASET
    assert d.exposure_pot == 6.80e20 and microboone_ncdelta_2021.ndof == 2
    ch = {c.name: (c.observed, c.background, c.background_sigma) for c in d.channels}
    assert ch == {"1g1p": (16, 20.5, 3.65), "1g0p": (153, 145.1, 13.8)}
    e = microboone_ee_2025.DATASET
    assert e.exposure_pot == 6.87e20 and [(c.topology, c.observed, c.background, c.background_sigma) for c in e.channels] == [
        ("ee0p", 95, 69.7, 17.3)]
    assert "2110.00409" in d.reference and "2502.10900" in e.reference
    assert get_dataset("microboone_ee_2025") is e


def test_thresholds_are_chi2_quantiles():
    assert DELTA_CHI2_90 == pytest.approx(stats.chi2.ppf(0.90, 1), rel=1e-12)
    assert DELTA_CHI2_95 == pytest.approx(stats.chi2.ppf(0.95, 1), rel=1e-12)


def test_channel_chi2_closed_forms():
    # sigma = 0, n = b: chi2(s) = 2 [s - n ln(1 + s/n)] exactly
    for n in (5, 16, 153):
        for s in (0.0, 1.0, 7.5):
            assert channel_chi2(s, n, n, 0.0) == pytest.approx(2 * (s - n * math.log1p(s / n)), abs=1e-12)
    # profiled nuisance: compare with a brute-force numerical minimisation over b'
    for n, b, sg, s in ((16, 20.5, 3.65, 4.0), (153, 145.1, 13.8, 30.0), (0, 2.0, 1.0, 0.5), (95, 69.7, 17.3, 0.0)):
        f = lambda bp: 2 * ((s + bp) - n + (n * math.log(n / (s + bp)) if n > 0 else 0.0)) + (bp - b) ** 2 / sg**2
        ref = optimize.minimize_scalar(f, bounds=(1e-9, 10 * b + 50), method="bounded", options={"xatol": 1e-12}).fun
        assert channel_chi2(s, n, b, sg) == pytest.approx(ref, abs=1e-7)
    # Gaussian limit: large counts -> (n - b - s)^2 / (n + sigma^2) approximately
    n, b, sg, s = 1_000_000, 1_000_000.0, 500.0, 2000.0
    assert channel_chi2(s, n, b, sg) == pytest.approx(s**2 / (n + sg**2), rel=2e-3)


def test_zero_signal_gives_zero_delta_chi2():
    for mod in (microboone_ncdelta_2021, microboone_ee_2025):
        v = mod.verdict({})
        assert v["delta_chi2"] == 0.0 and v["delta_chi2_vs_background"] == 0.0
        assert not v["excluded_90"] and not v["excluded_95"]
        assert v["chi2"] == pytest.approx(v["chi2_background"])
        assert v["ndof"] == mod.ndof


def test_signal_at_upper_limit_gives_the_cl():
    for sig in ({"1g0p": 1.0}, {"1g1p": 1.0}, {"1g1p": 2.0, "1g0p": 3.0}):
        for cl, key, thr in ((0.90, "excluded_90", DELTA_CHI2_90), (0.95, "excluded_95", DELTA_CHI2_95)):
            mu = microboone_ncdelta_2021.upper_limit_scale(sig, cl)
            at = microboone_ncdelta_2021.verdict({k: mu * v for k, v in sig.items()})
            assert at["delta_chi2"] == pytest.approx(thr, abs=1e-6)
            # p-value of the likelihood-ratio test at the limit = 1 - CL
            assert stats.chi2.sf(at["delta_chi2"], 1) == pytest.approx(1 - cl, abs=1e-6)
            assert microboone_ncdelta_2021.verdict({k: 1.001 * mu * v for k, v in sig.items()})[key]
            assert not microboone_ncdelta_2021.verdict({k: 0.999 * mu * v for k, v in sig.items()})[key]


def test_upper_limit_analytic_known_background():
    # n = b, sigma = 0: 2 [s - n ln(1 + s/n)] = 2.706 (independent root finding)
    n = 50
    ds = _single(n, float(n), 0.0)
    s_ref = optimize.brentq(lambda s: 2 * (s - n * math.log1p(s / n)) - DELTA_CHI2_90, 1e-6, 100)
    assert ds.upper_limit_scale({"1g0p": 1.0}) == pytest.approx(s_ref, rel=1e-8)
    # large counts with systematic: Gaussian limit 1.645 sqrt(n + sigma^2)
    n, sg = 100_000, 300.0
    ds = _single(n, float(n), sg)
    assert ds.upper_limit_scale({"1g0p": 1.0}) == pytest.approx(math.sqrt(DELTA_CHI2_90 * (n + sg**2)), rel=5e-3)


def test_excess_is_not_excluded_when_data_want_more_signal():
    # 95 observed vs 69.7: a small ee0p signal improves the fit -> mu_hat > 1, not excluded
    v = microboone_ee_2025.verdict({"ee0p": 5.0})
    assert v["mu_hat"] > 1 and not v["excluded_90"] and v["delta_chi2_vs_background"] < 0
    big = microboone_ee_2025.verdict({"ee0p": 200.0})
    assert big["mu_hat"] < 1 and big["excluded_95"]


def test_signal_input_validation_and_other_topologies_ignored():
    d = microboone_ncdelta_2021
    assert d.chi2({"ee0p": 50.0, "1e0p": 3.0}) == pytest.approx(d.chi2({}))
    for bad, needle in (({"2g": 1.0}, "unknown signal key"), ({"1g0p": -1.0}, ">= 0"), ({"1g0p": float("nan")}, ">= 0")):
        with pytest.raises(ParameterError, match=needle):
            d.chi2(bad)
    with pytest.raises(ParameterError, match="unknown data set"):
        get_dataset("lsnd")
    with pytest.raises(ParameterError, match="unknown constraint"):
        constraint("sbnd")


def test_combined_constraint_scales_each_exposure_and_adds():
    c = constraint("microboone")
    rates = {"1g0p": 2e-20, "1g1p": 1e-21, "ee0p": 5e-20}
    v = c.verdict(rates)
    parts = v["by_dataset"]
    assert parts["microboone_ncdelta_2021"]["events"]["1g0p"]["signal"] == pytest.approx(2e-20 * 6.80e20)
    assert parts["microboone_ee_2025"]["events"]["ee0p"]["signal"] == pytest.approx(5e-20 * 6.87e20)
    assert v["chi2"] == pytest.approx(sum(p["chi2"] for p in parts.values()))
    assert v["ndof"] == 3 and c.chi2(rates) == pytest.approx(v["chi2"])
    assert constraint("microboone").verdict({})["delta_chi2"] == 0.0
    # delta chi2 of the combination is at least that of the scale profiled jointly: consistent with
    # parts when only one data set has signal
    only = c.verdict({"1g0p": 1e-19})
    assert only["delta_chi2"] == pytest.approx(parts_delta := microboone_ncdelta_2021.verdict({"1g0p": 68.0})["delta_chi2"], rel=1e-5)
    assert parts_delta > 0
    assert np.isfinite(only["mu_hat"])
