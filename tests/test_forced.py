"""Tests of mesonportal.propagation.forced (forced emission of massive daughters)."""

from __future__ import annotations

import numpy as np
import pytest

from mesonportal.constants import M_PI
from mesonportal.kinematics import beta_of, boost, four_vector, isotropic_directions
from mesonportal.propagation.forced import (
    force_towards_sphere,
    force_towards_sphere_restframe,
    lab_momenta_along,
    solid_angle_density,
)
from mesonportal.propagation.geometry import ray_sphere_intersection


def _parents(e, n, direction=(0.0, 0.1, np.sqrt(0.99))):
    p = np.sqrt(e * e - M_PI * M_PI)
    return np.tile([e, *(p * np.asarray(direction))], (n, 1))


def test_massless_limit_density():
    # Analytic limit (module docstring, invariance of d³p/E): m = 0 -> dN/dΩ = (E/E0)²/(4π), tol 1e-10
    rng = np.random.default_rng(1)
    n = 1000
    par = _parents(2000.0, n)
    d = isotropic_directions(rng, n)
    e0 = 29.8
    tot, dp, dm, nr = solid_angle_density(par, d, e0, e0, 0.0)
    p_plus, _, _, _ = lab_momenta_along(par, d, e0, e0, 0.0)
    assert np.all(nr == 1)
    np.testing.assert_allclose(tot, (p_plus / e0) ** 2 / (4 * np.pi), rtol=1e-10)
    # and E from the Doppler formula E = E0 / (γ (1 − β cos θ))
    b = beta_of(par)
    beta = np.linalg.norm(b, axis=1)
    gamma = 1 / np.sqrt(1 - beta**2)
    c = np.sum(d * b, axis=1) / beta
    np.testing.assert_allclose(p_plus, e0 / (gamma * (1 - beta * c)), rtol=1e-10)


def test_parent_at_rest_density():
    # Parent at rest: isotropic, dN/dΩ = 1/(4π), p = p0 exactly (tol 1e-12)
    rng = np.random.default_rng(2)
    n = 100
    par = np.tile([M_PI, 0.0, 0.0, 0.0], (n, 1))
    d = isotropic_directions(rng, n)
    tot, _, _, nr = solid_angle_density(par, d, np.hypot(20.0, 5.0), 20.0, 5.0)
    p, _, _, _ = lab_momenta_along(par, d, np.hypot(20.0, 5.0), 20.0, 5.0)
    np.testing.assert_allclose(tot, 1 / (4 * np.pi), rtol=1e-12)
    np.testing.assert_allclose(p, 20.0, rtol=1e-12)
    assert np.all(nr == 1)


def test_density_normalised_over_sphere():
    # ∫ dN/dΩ dΩ = 1 over all lab directions (MC over isotropic directions, 4σ), for a fast
    # parent and a heavy daughter (two roots inside the cone θ < θ_max, none outside)
    rng = np.random.default_rng(3)
    n = 400_000
    par = _parents(600.0, n, (0, 0, 1))
    d = isotropic_directions(rng, n)
    tot, _, _, nr = solid_angle_density(par, d, np.hypot(2.87, 8.0), 2.87, 8.0)
    # integrable 1/√D peak: use the median-robust check of the mean with generous MC error
    est = 4 * np.pi * tot.mean()
    assert set(np.unique(nr)) <= {0, 2}
    assert est == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize("e_par,center,radius,m,p0", [
    (1000.0, (0, 5, 100.0), 10.0, 20.0, 25.0),     # one root
    (3000.0, (0, 3, 100.0), 5.0, 20.0, 25.0),      # two roots (parent faster than daughter)
    (M_PI, (30, 0, 50.0), 10.0, 20.0, 25.0),       # at rest: Ω/4π
])
def test_forced_vs_brute_force(e_par, center, radius, m, p0):
    # Brute force: isotropic rest-frame decays, boosted, counting rays that hit the sphere
    # (binomial error) vs the mean forced weight (its MC error); agreement within 4σ combined.
    # Both forcing methods (lab cone, rest-frame band); also the mean lab energy of hits (4σ).
    rng = np.random.default_rng(4)
    n = 600_000
    par = _parents(e_par, n)
    rest = four_vector(m, isotropic_directions(rng, n) * p0)
    lab = boost(rest, beta_of(par))
    d = lab[:, 1:] / np.linalg.norm(lab[:, 1:], axis=1)[:, None]
    hit = ray_sphere_intersection(np.zeros((n, 3)), d, center, radius).hit
    f_bf = hit.mean()
    s_bf = np.sqrt(f_bf * (1 - f_bf) / n)
    nf = 100_000
    for fn in (force_towards_sphere, force_towards_sphere_restframe):
        fe = fn(rng, par[:nf], np.zeros((nf, 3)), rest[:nf], m, center, radius)
        s = fe.weight.std() / np.sqrt(nf)
        assert abs(fe.weight.mean() - f_bf) < 4 * np.hypot(s, s_bf) + 1e-12, fn.__name__
        w, e = fe.weight, fe.p4[:, 0]
        e_mean = np.sum(w * e) / w.sum()
        s_e = np.sqrt(np.sum(w**2 * (e - e_mean) ** 2)) / w.sum()  # error of a weighted mean
        s_bf_e = lab[hit, 0].std() / np.sqrt(hit.sum())
        assert abs(e_mean - lab[hit, 0].mean()) < 4 * np.hypot(s_e, s_bf_e) + 1e-9
        # the forced daughters do point into the sphere
        ok = fe.weight > 0
        assert np.all(ray_sphere_intersection(np.zeros((ok.sum(), 3)), fe.direction[ok], center, radius).hit)
    # repeat = k (one band per parent, k draws; the gather path of draw_from_band): same mean
    k = 4
    fe = force_towards_sphere_restframe(rng, par[: nf // k], np.zeros((nf // k, 3)), rest[: nf // k], m, center,
                                        radius, repeat=k)
    assert len(fe.weight) == (nf // k) * k
    s = fe.weight.reshape(-1, k).mean(axis=1).std() / np.sqrt(nf // k)
    assert abs(fe.weight.mean() - f_bf) < 4 * np.hypot(s, s_bf) + 1e-12
    ok = fe.weight > 0
    assert np.all(ray_sphere_intersection(np.zeros((ok.sum(), 3)), fe.direction[ok], center, radius).hit)


def test_restframe_weights_bounded():
    # The rest-frame band weight is a probability (≤ 1); the lab-cone weight of a heavy daughter of
    # a fast parent has the 1/√D peak (max ≫ mean) — the reason the chains use the band method.
    rng = np.random.default_rng(5)
    n = 50_000
    par = _parents(3000.0, n, (0, 0.011, np.sqrt(1 - 0.011**2)))  # θ_max ≈ 17 mrad inside the cone
    rest = four_vector(8.0, isotropic_directions(rng, n) * 2.87)
    center, radius = (0.0, 0.0, 54100.0), 610.6
    fr = force_towards_sphere_restframe(rng, par, np.zeros((n, 3)), rest, 8.0, center, radius)
    fl = force_towards_sphere(rng, par, np.zeros((n, 3)), rest, 8.0, center, radius)
    assert fr.weight.max() <= 1.0
    assert fl.weight.max() > 20 * fl.weight.mean()
    assert fr.weight.mean() == pytest.approx(fl.weight.mean(), rel=0.15)
