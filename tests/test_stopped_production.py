"""Dark-particle production and detection at a stopped-pion source: three-body end points and
isotropy of decays at rest, π⁰ → γV in flight, predictions through the scintillator response."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mesonportal.analysis.predict import predict_signal
from mesonportal.constants import M_MU, M_PI
from mesonportal.detection.signal import rest_energy_sampler, scalar_arrivals
from mesonportal.experiments import load_experiment
from mesonportal.models.registry import load_benchmark, make_model
from mesonportal.sample import ParticleSample


def _pi_mu_channel(model):
    for ch in model.production_channels():
        if ch.parent == 211 and "mu" in ch.label and ch.is_open:
            return ch
    raise AssertionError("no open pi+ -> mu+ nu X channel")


@pytest.mark.parametrize("m_x", [1.0, 5.0, 17.0, 30.0])
def test_three_body_at_rest_end_point(m_x):
    """π⁺ → μ⁺ν X at rest: E_X ≤ (m_π² + m_X² − m_μ²)/(2 m_π) (physics.md §6 / two-body limit with a
    massless ν and the μν system at its minimum mass m_μ).  The three-body table's kinematic range
    ends exactly there, and the tabulated and exact samplers both stay below it (the spectrum
    vanishes at the end point, so draws approach it only slowly)."""
    model = make_model("scalar", m_x=m_x, m_zprime=49.0)
    ch = _pi_mu_channel(model)
    e_max = (M_PI ** 2 + m_x ** 2 - M_MU ** 2) / (2 * M_PI)
    rng = np.random.default_rng(5)
    p = np.asarray(rest_energy_sampler(ch)(rng, 200_000))
    assert np.all(p[:, 0] <= e_max * (1 + 1e-9)) and np.all(p[:, 0] >= m_x * (1 - 1e-9))
    assert ch.sample_rest_frame.__self__.e3_range[1] == pytest.approx(e_max, rel=1e-9)
    assert p[:, 0].max() > m_x + 0.9 * (e_max - m_x)
    exact = np.asarray(ch.sample_rest_frame(rng, 20_000))
    exact = exact[:, 0] if exact.ndim == 2 and exact.shape[1] == 4 else np.asarray(exact).reshape(-1, 4)[:, 0]
    assert np.all(exact <= e_max * (1 + 1e-9))


def test_decay_at_rest_emission_is_isotropic():
    """X from π⁺ at rest: the rest-frame directions are isotropic (⟨cos θ⟩ = 0, ⟨cos²θ⟩ = 1/3, 5σ)."""
    ch = _pi_mu_channel(make_model("scalar", m_x=5.0, m_zprime=49.0))
    p = np.asarray(rest_energy_sampler(ch)(np.random.default_rng(6), 200_000))
    c = p[:, 3] / np.linalg.norm(p[:, 1:], axis=1)
    n = len(c)
    assert abs(c.mean()) < 5 * math.sqrt(1 / 3 / n)
    assert abs((c * c).mean() - 1 / 3) < 5 * math.sqrt(4 / 45 / n)


def test_arrivals_from_pions_at_rest_respect_end_point():
    """Forced emission towards CCM from π⁺ at rest keeps the rest-frame energy (no boost)."""
    exp = load_experiment("ccm")
    model = make_model("scalar", m_x=5.0, m_zprime=49.0)
    n = 20_000
    p4 = np.zeros((n, 4))
    p4[:, 0] = M_PI
    mesons = ParticleSample(p4, np.zeros((n, 3)), 211, 0.062 / n)
    arr = scalar_arrivals(model, mesons, exp.detector, np.random.default_rng(8))
    e_max = (M_PI ** 2 + 25.0 - M_MU ** 2) / (2 * M_PI)
    assert len(arr) > 0 and np.all(arr.p4[:, 0] <= e_max * (1 + 1e-9))
    # solid angle: the weight reaching the detector's bounding sphere ≈ BR × Y × Ω/4π
    L, R = exp.detector.distance_cm, exp.detector.radius_cm
    omega = 2 * math.pi * (1 - math.sqrt(1 - (R / L) ** 2))
    br = _pi_mu_channel(model).branching_ratio
    assert arr.weight.sum() == pytest.approx(0.062 * br * omega / (4 * math.pi), rel=0.02)


@pytest.fixture(scope="module")
def ccm_scalar():
    return predict_signal("ccm", "beam", load_benchmark("scalar"), samples=20_000, seed=11)


def test_ccm_prediction_layout_and_response(ccm_scalar):
    s = ccm_scalar
    assert s.mode == "beam" and s.pot == 2.25e22
    assert s.info["detector"]["response"]["technology"] == "scintillator"
    ev = s.columns["e_vis"][s.columns["weight"] > 0]
    assert np.all((ev >= 0.1) & (ev <= 100.0))
    tot = s.totals()["events_total"]
    assert tot > 0 and s.info["events_by_topology"]["em"] == pytest.approx(tot)
    assert sum(s.info["energy_spectrum"]["counts"]) == pytest.approx(tot, rel=1e-9)


def test_ccm_prediction_reproducible(ccm_scalar):
    again = predict_signal("ccm", "beam", load_benchmark("scalar"), samples=20_000, seed=11)
    assert np.array_equal(again.columns["weight"], ccm_scalar.columns["weight"])


def test_idm_pi0_to_gamma_v_at_stopped_source():
    """π⁰ → γV in flight at the Lujan source feeds the iDM chain: the χ weight produced equals
    Y(π⁰) × BR(π⁰ → γV) × BR(V → χχ̄)-weighted multiplicity (bookkeeping of the model's own
    channel), and a nonzero χ flux reaches CCM."""
    from mesonportal.detection.signal import idm_arrivals
    from mesonportal.sources.stopped import simulate_stopped

    exp = load_experiment("ccm")
    model = load_benchmark("idm-double")
    mesons = simulate_stopped(exp, 4000, np.random.default_rng(3), species=(111,))
    arr = idm_arrivals(model, mesons, exp.detector, np.random.default_rng(4))
    assert np.all(arr.parent == 111) and arr.weight.sum() > 0.0


def test_closed_channel_at_rest_gives_explicit_zero_with_warning():
    """m_X > m_π − m_μ = 33.9 MeV closes π⁺ → μ⁺νX (and kaons are not produced at 0.8 GeV): an
    explicit zero with a warning naming the reason, not an error or NaN."""
    with pytest.warns(UserWarning, match="identically zero"):
        s = predict_signal("ccm", "beam", make_model("scalar", m_x=40.0, m_zprime=49.0), samples=2000, seed=1)
    assert s.totals()["events_total"] == 0.0 and "zero_signal_reason" in s.info
