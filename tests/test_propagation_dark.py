"""Survival, decay-inside and flux bookkeeping of dark particles (mesonportal.detection.signal)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from types import SimpleNamespace

from mesonportal.constants import M_MU, M_PI, M_PI0
from mesonportal.detection.signal import (
    Arrivals,
    _stratified_mediators,
    _survival,
    _truncated_exponential,
    russian_roulette,
)
from mesonportal.kinematics import beta_of, boost, isotropic_directions
from mesonportal.production.channels import ProductionChannel
from mesonportal.production.meson_decays import two_body_sampler
from mesonportal.propagation.forced import force_towards_sphere_restframe
from mesonportal.propagation.geometry import ray_sphere_intersection, sphere_volume
from mesonportal.sample import DARK_PDG, ParticleSample


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


# ---------------------------------------------------------------- stratified mediator sampling
_DET = SimpleNamespace(center_cm=np.array([0.0, 0.0, 1000.0]), radius_cm=30.0)  # α = 0.030 rad
_M_V, _M_CHI = 17.0, 8.0


def _toy_mesons(rng, n, pdg):
    """Mesons near the origin flying roughly along z (angles ≲ 0.08 rad), E = 0.3–3 GeV, random
    weights: the V directions populate all three strata (inner cone, ring, backward)."""
    m = M_PI0 if pdg == 111 else M_PI
    e = rng.uniform(300.0, 3000.0, n)
    th = np.abs(rng.normal(0.0, 0.04, n))
    ph = rng.uniform(0, 2 * np.pi, n)
    d = np.column_stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])
    p = np.sqrt(e * e - m * m)
    p4 = np.column_stack([e, d * p[:, None]])
    vtx = rng.normal(0.0, 5.0, (n, 3))
    return ParticleSample(p4, vtx, pdg, rng.uniform(0.5, 1.5, n))


def _observables(v: ParticleSample, rng, n_chi: int = 1):
    """Per-V observables: [V inside the detector cone, V inside α + 0.015 (crosses the stratum
    boundary), E_V (all directions), χ of V → χχ̄ hitting the detector (rest-frame forcing)]."""
    rel = _DET.center_cm[None, :] - v.vertex
    dist = np.linalg.norm(rel, axis=1)
    p = np.linalg.norm(v.p4[:, 1:], axis=1)
    ang = np.arccos(np.clip(np.sum(v.p4[:, 1:] * rel, axis=1) / (p * dist), -1, 1))
    alpha = np.arcsin(_DET.radius_cm / dist)
    e0 = _M_V / 2
    p0 = math.sqrt(e0 * e0 - _M_CHI**2)
    rest = np.tile([e0, 0.0, 0.0, p0], (len(v), 1))
    fe = force_towards_sphere_restframe(rng, v.p4, v.vertex, rest, _M_CHI, _DET.center_cm, _DET.radius_cm)
    return np.column_stack([ang < alpha, ang < alpha + 0.015, v.p4[:, 0], fe.weight])


@pytest.mark.parametrize("pdg,mix", [(111, None), (111, 0.0), (111, 1.0), (211, None)])
def test_stratified_mediators_vs_brute_force(pdg, mix):
    # Brute force: 400 isotropic rest-frame decays per meson (boosted), the V observables
    # averaged (weighted by w_meson × BR).  Stratified sampling (nested detector cone / ring /
    # backward strata; importance-allocated draws for the two-body π⁰ channel with mixture λ;
    # per-row bands for a non-π⁰/η parent) repeated 30 times: the mean must agree within 4σ
    # (σ from the spread of the repetitions and the brute-force error) for every observable.
    rng = np.random.default_rng(11)
    n = 3000
    mes = _toy_mesons(rng, n, pdg)
    other = 0.0 if pdg == 111 else M_MU
    ch = ProductionChannel(pdg, "toy -> V", 0.5, DARK_PDG["V1"], _M_V,
                           two_body_sampler(M_PI0 if pdg == 111 else M_PI, _M_V, other))
    k = 400
    idx = np.repeat(np.arange(n), k)
    lab = boost(ch.sample_rest_frame(rng, idx.size), beta_of(mes.p4[idx]))
    bf_v = ParticleSample(lab, mes.vertex[idx], DARK_PDG["V1"], mes.weight[idx] * ch.branching_ratio / k)
    obs = _observables(bf_v, rng) * bf_v.weight[:, None]
    per_meson = np.stack([np.bincount(idx, weights=obs[:, j], minlength=n) for j in range(obs.shape[1])], axis=1)
    bf = per_meson.sum(axis=0)
    # conditional on the mesons, the brute-force error comes from the k decays per meson
    bf_err = np.sqrt(np.sum(np.stack([np.bincount(idx, weights=obs[:, j] ** 2, minlength=n) for j in range(4)], 1)
                            - per_meson**2 / k, axis=0))
    reps = []
    for _ in range(30):
        v = _stratified_mediators(rng, ch, mes, _DET, 1, 1.0, importance_mix=mix)
        reps.append(np.sum(_observables(v, rng) * v.weight[:, None], axis=0))
    reps = np.array(reps)
    mean, sem = reps.mean(axis=0), reps.std(axis=0, ddof=1) / math.sqrt(len(reps))
    assert np.all(bf[[0, 1, 3]] > 0)
    for j in range(4):
        assert abs(mean[j] - bf[j]) < 4 * math.hypot(sem[j], bf_err[j]), (j, mean[j], bf[j], sem[j], bf_err[j])
