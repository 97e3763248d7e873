"""Neutron knock-out by incoherent dark Primakoff scattering (LSND's 2.2 MeV γ tag)."""

from __future__ import annotations

import numpy as np
import pytest

from mesonportal.constants import M_N
from mesonportal.detection import primakoff as pk
from mesonportal.detection.knockout import S_N_MEV, knockout_fractions, neutron_target
from mesonportal.detection.signal import scalar_arrivals
from mesonportal.detection.targets import TARGETS
from mesonportal.experiments import load_experiment
from mesonportal.models.registry import load_benchmark
from mesonportal.sample import ParticleSample


def test_neutron_to_proton_cross_section_ratio_up_quark_zprime():
    """Z′ on the up-quark current: charges g_n·2 (p) and g_n·1 (n) → σ_n/σ_p = 1/4 up to the
    n–p mass difference (≤ 0.5%)."""
    m = load_benchmark("scalar")
    e = np.array([50.0, 200.0, 800.0])
    lam, mzp = float(m.lam_eff), float(m.m_zprime)
    sp = pk.total_cross_section(e, 1.0, mzp, lam, m.proton_charge(), TARGETS["p"])
    sn = pk.total_cross_section(e, 1.0, mzp, lam, m.nuclear_charge(0, 1), neutron_target())
    assert np.allclose(sn / sp, 0.25, rtol=5e-3)


def _arrivals_at(exp, energy, n=4000, seed=1):
    """X emitted from π⁺ at rest (energy from the model) or mono-energetic toy parents."""
    model = load_benchmark("scalar")
    p4 = np.zeros((n, 4))
    p4[:, 0] = 139.57039
    if energy is not None:  # boosted pions: X energies of several hundred MeV
        p = 1500.0
        p4[:, 0] = np.hypot(p, 139.57039)
        d = exp.detector.center_cm / np.linalg.norm(exp.detector.center_cm)
        p4[:, 1:] = p * d
    mesons = ParticleSample(p4, np.zeros((n, 3)), 211, 0.06 / n)
    return model, scalar_arrivals(model, mesons, exp.detector, np.random.default_rng(seed))


def test_no_knockout_from_decay_at_rest():
    """E_X ≤ 29.8 MeV: |t|/(2m_n) ≤ (2·29.8)²/(2·939.6) ≈ 1.9 MeV < S_n(¹²C) = 18.72 MeV."""
    exp = load_experiment("lsnd")
    model, arr = _arrivals_at(exp, None)
    assert (2 * arr.p4[:, 0].max()) ** 2 / (2 * M_N) < S_N_MEV[6]
    r = knockout_fractions(model, exp.detector, arr, np.random.default_rng(3))
    assert r["rates_per_pot"]["bound_neutron"] > 0 and r["rates_per_pot"]["bound_neutron_ejected"] == 0.0


def test_knockout_opens_at_high_energy_and_follows_the_separation_energy():
    """Boosted X (hundreds of MeV) can eject neutrons; the ejected fraction falls as S_n grows and
    is all of the neutron rate for S_n = 0 (the cut alone decides, at fixed sampled t)."""
    exp = load_experiment("lsnd")
    model, arr = _arrivals_at(exp, 1)
    fr = [knockout_fractions(model, exp.detector, arr, np.random.default_rng(5), {6: s})
          for s in (0.0, 18.722, 60.0)]
    rn = fr[0]["rates_per_pot"]["bound_neutron"]
    assert fr[0]["rates_per_pot"]["bound_neutron_ejected"] == pytest.approx(rn, rel=1e-12)
    ej = [f["rates_per_pot"]["bound_neutron_ejected"] for f in fr]
    assert ej[0] > ej[1] > 0.0 and ej[1] >= ej[2]
    assert 0.0 < fr[1]["neutron_fraction_of_incoherent"] < 1.0
