"""Survival, decay-inside and flux bookkeeping of dark particles (mesonportal.detection.signal)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mesonportal.detection.signal import (
    Arrivals,
    _survival,
    _truncated_exponential,
    russian_roulette,
)
from mesonportal.propagation.geometry import ray_sphere_intersection, sphere_volume


def test_survival_matches_exponential_law():
    # exp(−L/(γβcτ)) with γβ = p/m (analytic), tol 1e-12; stable particle -> 1
    m, ctau = 2.0, 1.0e4
    p = np.array([10.0, 100.0, 1000.0])
    p4 = np.column_stack([np.hypot(p, m), np.zeros(3), np.zeros(3), p])
    entry = np.array([5.0e4, 5.0e4, 5.0e4])
    s = _survival(p4, m, ctau, entry)
    np.testing.assert_allclose(s, np.exp(-entry / (p / m * ctau)), rtol=1e-12)
    assert np.all(_survival(p4, m, math.inf, entry) == 1.0)


def test_truncated_exponential_moments():
    # Mean of exp(−s/λ) truncated to [0, ℓ]: λ − ℓ e^{−ℓ/λ}/(1 − e^{−ℓ/λ}) (analytic), 4σ;
    # λ ≫ ℓ -> uniform (mean ℓ/2)
    rng = np.random.default_rng(1)
    n = 200_000
    for lam, ell in ((50.0, 100.0), (1e9, 100.0), (1.0, 1000.0)):
        s = _truncated_exponential(rng, np.full(n, ell), np.full(n, lam))
        assert np.all((s >= 0) & (s <= ell))
        x = ell / lam
        mean = lam - ell * math.exp(-x) / (-math.expm1(-x))
        assert abs(s.mean() - mean) < 4 * s.std() / math.sqrt(n)


def test_decay_inside_probability_vs_brute_force():
    # P(decay inside) = e^{−L_in/L}(1 − e^{−ℓ/L}) (physics.md §3) vs sampling exponential decay
    # lengths along rays through a sphere (binomial 4σ)
    rng = np.random.default_rng(2)
    n = 400_000
    center, radius = np.array([0.0, 0.0, 1000.0]), 300.0
    d = np.tile([0.0, 0.0, 1.0], (n, 1))
    o = np.column_stack([rng.uniform(-250, 250, n), np.zeros(n), np.zeros(n)])
    inter = ray_sphere_intersection(o, d, center, radius)
    lam = 900.0
    x = rng.exponential(lam, n)
    brute = np.mean((x > inter.entry) & (x < inter.exit))
    analytic = np.mean(np.exp(-inter.entry / lam) * -np.expm1(-inter.chord / lam))
    assert abs(brute - analytic) < 4 * math.sqrt(brute * (1 - brute) / n)


def test_flux_track_length_estimator():
    # Σ w S ℓ / V per bin (same estimator as the neutrino flux), errors √Σ(wSℓ/V)²
    n = 3
    p4 = np.array([[100.0, 0, 0, 99.0], [300.0, 0, 0, 299.0], [120.0, 0, 0, 119.0]])
    arr = Arrivals(p4, np.zeros((n, 3)), np.tile([0, 0, 1.0], (n, 1)), np.array([1.0, 2.0, 3.0]),
                   np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n), np.array([10.0, 20.0, 30.0]),
                   np.array([1.0, 0.5, 1.0]), 1.0, "phi")
    v = sphere_volume(10.0)
    h, e = arr.flux(v, np.array([0.0, 200.0, 400.0]))
    assert h[0] == pytest.approx((1 * 10 + 3 * 30) / v, rel=1e-12)
    assert h[1] == pytest.approx(2 * 0.5 * 20 / v, rel=1e-12)
    assert e[0] == pytest.approx(math.hypot(10, 90) / v, rel=1e-12)


def test_russian_roulette_is_unbiased():
    # E[Σ w'] = Σ w for any subset (checked over repetitions, 4σ) and the kept set is ~target
    rng = np.random.default_rng(3)
    w = rng.pareto(1.5, 20000) + 1e-6
    sub = rng.random(20000) < 0.3
    sums = []
    for _ in range(200):
        keep, f, info = russian_roulette(rng, w, 2000)
        wk = np.zeros_like(w)
        wk[keep] = w[keep] * f
        sums.append(wk[sub].sum())
        assert info["rows_out"] < 4000
    sums = np.array(sums)
    assert abs(sums.mean() - w[sub].sum()) < 4 * sums.std() / math.sqrt(len(sums))
