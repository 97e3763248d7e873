"""Tests of meson → dark production (mesonportal.production.meson_decays).

References: special relativity (Lorentz invariance of p², four-momentum conservation under a
common boost, ⟨E_lab⟩ = γ ⟨E*⟩ for isotropic rest-frame emission); weights = meson weight × BR.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mesonportal import constants as C
from mesonportal.exceptions import KinematicsError, ParameterError
from mesonportal.kinematics import beta_of, boost, four_vector
from mesonportal.models import make_model
from mesonportal.models.base import DarkModel
from mesonportal.production.channels import ProductionChannel
from mesonportal.production.meson_decays import produce, two_body_sampler
from mesonportal.sample import DARK_PDG, ParticleSample


def meson_sample(rng, n, pdg, mass, weight=1e-3):
    p = rng.uniform(50.0, 5000.0, n)
    d = rng.normal(size=(n, 3)) * [0.1, 0.1, 1.0]
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    p4 = four_vector(mass, d * p[:, None])
    vtx = rng.uniform(-50, 5000, size=(n, 3))
    return ParticleSample(p4, vtx, pdg, np.full(n, weight), 0)


def test_produce_kinematics_and_weights():
    rng = np.random.default_rng(5)
    model = make_model("scalar", m_x=10.0, m_zprime=49.0, g_mu=1e-3)
    pions = meson_sample(rng, 3000, 211, C.M_PI, 2e-3)
    kminus = meson_sample(rng, 2000, -321, C.M_K, 5e-4)
    mesons = ParticleSample.concatenate([pions, kminus])
    out = produce(model, mesons, rng, n_per_meson=3)
    assert len(out) == 3 * (3000 + 2000)
    # invariant mass of every dark particle = m_X (Lorentz invariance of p²), 1e-9 relative in p²
    m2 = out.p4[:, 0] ** 2 - np.sum(out.p4[:, 1:] ** 2, axis=1)
    assert np.max(np.abs(m2 - 100.0)) < 1e-9 * np.max(out.p4[:, 0] ** 2)
    assert np.all(out.pdgid == DARK_PDG["phi"])
    assert set(np.unique(out.parent)) == {211, -321}
    # weights: meson weight × BR / n_per_meson, total = Σ meson weight × BR (exact)
    br_pi = model.production_branching_ratio("pi", "mu")
    br_k = model.production_branching_ratio("K", "mu")
    assert out.total_weight == pytest.approx(3000 * 2e-3 * br_pi + 2000 * 5e-4 * br_k, rel=1e-12)
    assert np.allclose(out.weight[out.parent == 211], 2e-3 * br_pi / 3, rtol=1e-12)
    # vertices are the meson decay vertices
    vset = {tuple(v) for v in mesons.vertex}
    assert all(tuple(v) in vset for v in out.vertex[:50])
    # energy below the parent's lab energy and forward boost: E_X <= E_meson
    e_parent = {tuple(v): e for v, e in zip(mesons.vertex, mesons.p4[:, 0])}
    assert all(out.p4[i, 0] <= e_parent[tuple(out.vertex[i])] + 1e-9 for i in range(200))


def test_boosted_three_body_conserves_lab_four_momentum():
    # Boosting all three rest-frame daughters with the meson velocity gives Σ p_lab = p_meson
    # (1e-9 relative) — checks boost() direction/sign convention together with the sampler.
    rng = np.random.default_rng(9)
    model = make_model("pseudoscalar", m_x=5.0, m_zprime=85.0)
    table = model.three_body_table("K", "mu")
    mesons = meson_sample(rng, 5000, 321, C.M_K)
    p1, p2, p3 = table.sample(rng, len(mesons))
    beta = beta_of(mesons.p4)
    tot = boost(p1, beta) + boost(p2, beta) + boost(p3, beta)
    assert np.max(np.abs(tot - mesons.p4) / mesons.p4[:, :1]) < 1e-9


def test_lab_energy_mean_matches_gamma_times_rest_mean():
    # Isotropic rest-frame emission: ⟨E_lab⟩ = γ ⟨E*⟩ exactly; mono-energetic pions of p = 1 GeV,
    # tolerance 5 standard errors of the mean.
    rng = np.random.default_rng(2)
    model = make_model("scalar", m_x=1.0, m_zprime=49.0)
    n = 100_000
    p4 = four_vector(C.M_PI, np.tile([0.0, 0.0, 1000.0], (n, 1)))
    pions = ParticleSample(p4, np.zeros((n, 3)), 211, np.ones(n), 0)
    out = produce(model, pions, rng)
    t = model.three_body_table("pi", "mu")
    lo, hi = t.e3_range
    x, w = np.polynomial.legendre.leggauss(200)
    e = 0.5 * (hi - lo) * (x + 1) + lo
    mean_rest = np.sum(w * e * t.dgamma_dex(e)) / np.sum(w * t.dgamma_dex(e))
    gamma = p4[0, 0] / C.M_PI
    sem = out.p4[:, 0].std() / math.sqrt(n)
    assert abs(out.p4[:, 0].mean() - gamma * mean_rest) < 5 * sem


def test_closed_and_inapplicable_channels_give_nothing():
    rng = np.random.default_rng(0)
    model = make_model("scalar", m_x=C.M_PI - C.M_MU + 0.1, m_zprime=49.0)
    pions = meson_sample(rng, 100, -211, C.M_PI)
    assert len(produce(model, pions, rng)) == 0
    protons = meson_sample(rng, 100, 2212, C.M_P)
    assert len(produce(make_model("scalar", m_x=1.0, m_zprime=49.0), protons, rng)) == 0
    assert len(produce(model, ParticleSample.empty(), rng)) == 0
    with pytest.raises(ParameterError, match="n_per_meson"):
        produce(model, pions, rng, n_per_meson=0)


class _Recorder(DarkModel):
    name = "recorder"

    def __init__(self):
        self.calls = 0

    def production_channels(self):
        return [
            ProductionChannel(111, "pi0 -> gamma V", 0.25, DARK_PDG["V1"], 17.0, two_body_sampler(C.M_PI0, 17.0, 0.0),
                              charge_conjugate=False)
        ]

    def params(self):
        return {}

    def describe(self):
        return {}

    def prompt_decays(self, sample, rng):
        self.calls += 1
        return sample.with_weight(sample.weight * 2.0)


def test_two_body_channel_and_prompt_decays_hook():
    rng = np.random.default_rng(4)
    model = _Recorder()
    pi0 = meson_sample(rng, 4000, 111, C.M_PI0, 1.0)
    out = produce(model, pi0, rng, n_per_meson=2)
    assert model.calls == 1
    assert out.total_weight == pytest.approx(4000 * 0.25 * 2.0, rel=1e-12)
    assert np.allclose(out.mass, 17.0, rtol=1e-8)


def test_two_body_sampler():
    # E* = (M² + m_d² − m_o²)/(2M), |p*| from Källén; isotropic (⟨cos θ⟩ = 0 within 5σ).
    s = two_body_sampler(C.M_PI0, 17.0, 0.0)
    p = s(np.random.default_rng(1), 50_000)
    e_ref = (C.M_PI0**2 + 17.0**2) / (2 * C.M_PI0)
    assert np.allclose(p[:, 0], e_ref, rtol=1e-14)
    assert np.allclose(np.linalg.norm(p[:, 1:], axis=1), (C.M_PI0**2 - 17.0**2) / (2 * C.M_PI0), rtol=1e-12)
    assert abs(np.mean(p[:, 3] / np.linalg.norm(p[:, 1:], axis=1))) < 5 / math.sqrt(3 * 50_000)
    closed = two_body_sampler(C.M_PI0, 140.0, 0.0)
    with pytest.raises(KinematicsError):
        closed(np.random.default_rng(0), 3)
    with pytest.raises(ParameterError):
        two_body_sampler(-1.0, 1.0, 0.0)


def test_pienu_bound_checked_per_channel_mass():
    """A model with two dark states: the bound (proxy, arXiv:2006.00389 value 1.6e-7 for e) must
    be applied at each channel's own mass, so a violating light state is flagged even when a heavy
    state outside PIENU's m_X range is listed last."""
    from mesonportal.production.channels import ProductionChannel
    from mesonportal.production.limits import pion_branching_ratios

    class Fake:
        def production_channels(self):
            return [
                ProductionChannel(211, "pi+ -> e+ nu V1", 1e-6, 56, 17.0, None),   # R_e = 1e-6 > 1.6e-7
                ProductionChannel(211, "pi+ -> e+ nu V2", 1e-9, 57, 200.0, None),  # outside 0-120 MeV
            ]

    res = pion_branching_ratios(Fake())
    assert res["allowed"] is False
    assert res["pienu_e"]["allowed"] is False

    class Light(Fake):
        def production_channels(self):
            return [ProductionChannel(211, "pi+ -> e+ nu V1", 1e-8, 56, 17.0, None)]

    assert pion_branching_ratios(Light())["allowed"] is True
