"""Stopped-pion sources: decay-at-rest kinematics, SM neutrino fluxes per POT against published
numbers, configuration errors.  References and tolerances are stated per test."""

from __future__ import annotations

import math
import tomllib
from importlib import resources

import numpy as np
import pytest

from mesonportal.analysis.flux import neutrino_flux
from mesonportal.api import absorber_z
from mesonportal.cache import cached_mesons
from mesonportal.constants import M_MU, M_PI
from mesonportal.exceptions import ConfigError
from mesonportal.experiments import load_experiment
from mesonportal.experiments.config import meson_threshold_kinetic_mev, parse_experiment
from mesonportal.pipeline import stage_rng
from mesonportal.sources.stopped import (
    STOPPED_SPECIES,
    isotropic_directions,
    max_meson_energy_cm,
    moving_source_momenta,
    simulate_stopped,
)

STOPPED = ("ccm", "lsnd", "karmen", "coherent-csi", "coherent-lar", "jsns2")
NU_PARENTS = (211, -211, 321, -321, 130)
EDGES = np.arange(0.0, 301.0, 1.0)  # MeV


def _flux(exp, samples=20_000, seed=3):
    m = cached_mesons(exp, "beam", samples, seed, species=NU_PARENTS)
    d = exp.detector
    return neutrino_flux(m, d.center_cm, d.radius_cm, absorber_z(exp, "beam"), stage_rng(seed, "nu"), edges_mev=EDGES)


def _raw(name):
    return tomllib.loads((resources.files("mesonportal.experiments") / f"{name}.toml").read_text())


@pytest.mark.parametrize("name", STOPPED)
def test_stopped_configs_load(name):
    exp = load_experiment(name)
    assert exp.source_type == "stopped" and exp.modes == ("beam",)
    assert exp.detector.technology == "scintillator" and exp.detector.response is not None


def test_bnb_stays_horn_type():
    assert load_experiment("miniboone").source_type == "horn"


def test_dar_pions_at_rest_and_bookkeeping():
    """π⁺ DAR rows have p = 0; weights sum to the configured yields (nothing dropped)."""
    exp = load_experiment("coherent-csi")
    s = simulate_stopped(exp, 4000, np.random.default_rng(1))
    src = exp.source
    pip = s.pdgid == 211
    at_rest = pip & (s.momentum == 0.0)
    assert np.allclose(s.p4[at_rest, 0], M_PI)
    assert math.isclose(s.weight[at_rest].sum(), src.pi_plus_dar_per_pot, rel_tol=1e-12)
    assert math.isclose(s.weight[pip].sum(), src.pi_plus_dar_per_pot * (1 + src.pi_plus_dif_fraction), rel_tol=1e-12)
    summ = s.summary["-211"]
    assert math.isclose(summ["captured"] + summ["decay_in_flight"], src.pi_minus_per_pot, rel_tol=1e-12)
    assert math.isclose(s.weight[s.pdgid == 111].sum(), src.pi0_per_pot, rel_tol=1e-12)
    assert set(np.unique(s.pdgid)) <= set(STOPPED_SPECIES)


def test_same_seed_same_sample():
    exp = load_experiment("ccm")
    a = simulate_stopped(exp, 1000, np.random.default_rng(7))
    b = simulate_stopped(exp, 1000, np.random.default_rng(7))
    assert np.array_equal(a.p4, b.p4) and np.array_equal(a.vertex, b.vertex)


def test_isotropy_of_directions():
    """cos θ uniform (mean 0, variance 1/3) and φ uniform; 5σ MC tolerance."""
    n = 200_000
    d = isotropic_directions(np.random.default_rng(2), n)
    assert np.allclose(np.linalg.norm(d, axis=1), 1.0)
    for k in range(3):
        assert abs(d[:, k].mean()) < 5 * math.sqrt(1 / 3 / n)
        assert abs((d[:, k] ** 2).mean() - 1 / 3) < 5 * math.sqrt(4 / 45 / n)


def test_moving_source_at_rest_is_isotropic_and_bounded():
    """β = 0: isotropic momenta; every energy below the NN → NNπ⁰ kinematic limit."""
    e_max = max_meson_energy_cm(800.0, 134.9768)
    p4 = moving_source_momenta(np.random.default_rng(4), 100_000, 134.9768, 50.0, 0.0, e_max)
    assert np.all(p4[:, 0] <= e_max * (1 + 1e-12))
    assert np.allclose(p4[:, 0] ** 2 - (p4[:, 1:] ** 2).sum(1), 134.9768 ** 2, rtol=1e-9)
    c = p4[:, 3] / np.linalg.norm(p4[:, 1:], axis=1)
    assert abs(c.mean()) < 5 * math.sqrt(1 / 3 / len(c))


def test_meson_thresholds():
    """Free-nucleon thresholds: pp → ppπ⁰ at T ≈ 280 MeV and pp → ppη at T ≈ 1.255 GeV (the
    thresholds quoted by the near-threshold meson-production experiments, e.g. CELSIUS/COSY)."""
    assert meson_threshold_kinetic_mev(111) == pytest.approx(279.7, abs=1.0)
    assert meson_threshold_kinetic_mev(221) == pytest.approx(1255.0, abs=2.0)


def test_numu_line_at_29p8_mev():
    """π⁺ → μ⁺ν_μ at rest: E_ν = (m_π² − m_μ²)/(2 m_π) = 29.79 MeV (PDG masses).  All DAR ν_μ fall
    in the 29–30 MeV bin: its share of the ν_μ flux is 1/(1 + f_DIF) up to DIF ν_μ landing there."""
    e_line = (M_PI ** 2 - M_MU ** 2) / (2 * M_PI)
    assert e_line == pytest.approx(29.79, abs=0.01)
    exp = load_experiment("coherent-csi")
    f = _flux(exp)
    k = int(np.searchsorted(EDGES, e_line)) - 1
    share = f["numu"][k] / f["numu"].sum()
    assert share == pytest.approx(1 / (1 + exp.source.pi_plus_dif_fraction), abs=0.005)


@pytest.mark.parametrize("flavour,shape", [("numubar", lambda x: x * x * (3 - 2 * x)),
                                            ("nue", lambda x: x * x * (1 - x))])
def test_michel_spectra(flavour, shape):
    """μ⁺ decay at rest (unpolarised-average, massless e): dN/dx ∝ x²(3 − 2x) for ν̄_μ and
    ∝ x²(1 − x) for ν_e, x = 2E/m_μ, end point m_μ/2 = 52.83 MeV.  Compared in 2 MeV bins
    (KARMEN: DIF 0.1%), χ²/ndf < 2 with the MC errors, and no flux above the end point."""
    exp = load_experiment("karmen")
    f = _flux(exp, samples=40_000)
    h, err = f[flavour], f[f"{flavour}_err"]
    emax = M_MU / 2
    assert h[EDGES[:-1] > emax + 1].sum() < 2e-3 * h.sum()
    e2 = np.arange(0.0, 52.0, 2.0)
    idx = (e2 / 1.0).astype(int)
    obs = np.array([h[i:i + 2].sum() for i in idx])
    var = np.array([(err[i:i + 2] ** 2).sum() for i in idx])
    xs = np.linspace(0, 1, 20001)
    cdf = np.concatenate([[0], np.cumsum(shape(xs[1:]) * np.diff(xs))])
    cdf /= cdf[-1]
    x_lo, x_hi = e2 / emax, np.minimum((e2 + 2) / emax, 1.0)
    expct = (np.interp(x_hi, xs, cdf) - np.interp(x_lo, xs, cdf)) * h[EDGES[:-1] <= emax + 1].sum()
    ok = var > 0
    chi2 = np.sum((obs[ok] - expct[ok]) ** 2 / var[ok])
    assert chi2 / ok.sum() < 2.0


@pytest.mark.parametrize("name", STOPPED)
def test_neutrinos_per_flavour_per_pot(name):
    """(flux through the detector) / ⟨1/(4πr²)⟩ = ν per flavour per POT: every π⁺ (at rest or in
    flight, Y(1 + f_DIF)) gives one ν_μ, and its μ⁺ (all stop) one ν̄_μ and one ν_e; decaying π⁻
    add ν̄_μ.  The flux is averaged over the detector's bounding sphere (radius R at distance L,
    a = R/L); for an isotropic point source the volume average is, analytically,
    ⟨1/r²⟩ = 3/(2a³L²) [a − (1 − a²)/2 · ln((1 + a)/(1 − a))] (→ (1 + a²/5)/L² for small a).
    Tolerance 2% (MC error < 1%)."""
    exp = load_experiment(name)
    f = _flux(exp, samples=10_000)
    L, a = exp.detector.distance_cm, exp.detector.radius_cm / exp.detector.distance_cm
    inv_r2 = 3 / (2 * a ** 3 * L * L) * (a - (1 - a * a) / 2 * math.log((1 + a) / (1 - a)))
    area = 4 * math.pi / inv_r2
    src = exp.source
    y = src.pi_plus_dar_per_pot * (1 + src.pi_plus_dif_fraction)
    pim = src.pi_minus_per_pot * src.pi_minus_decay_fraction
    assert f["nue"].sum() * area == pytest.approx(y, rel=0.02)
    assert f["numubar"].sum() * area == pytest.approx(y + pim, rel=0.02)
    assert f["numu"].sum() * area == pytest.approx(y, rel=0.02)


def test_jsns2_nue_flux_against_measurement():
    """JSNS²'s measured ν_e flux at 24 m: (6.7 ± 1.6 stat ± 1.7 syst)e-9 /cm²/proton
    (arXiv:2412.18509).  The configured yield is an extrapolation of the 0.8–1.5 GeV systematics;
    it must agree within the measurement's 1σ (2.3e-9)."""
    f = _flux(load_experiment("jsns2"), samples=10_000)
    assert abs(f["nue"].sum() - 6.7e-9) < math.hypot(1.6e-9, 1.7e-9)


def test_karmen_flux_against_published_fluence():
    """KARMEN: 9122 C on the ISIS target gave 6e13 ν/cm² at the detector (KARMEN web page) →
    1.054e-9 /cm²/POT per flavour.  The yield was derived from that number with 4πL², L = 17.7 m:
    this checks the source + flux machinery end to end (2%)."""
    f = _flux(load_experiment("karmen"), samples=10_000)
    pot = 9122 / 1.602176634e-19
    assert f["nue"].sum() == pytest.approx(6e13 / pot, rel=0.02)


def test_coherent_yield_within_flux_paper_uncertainty():
    """COHERENT's SNS flux simulation quotes a 10% uncertainty (arXiv:2109.11049 abstract) on
    ≈ 0.0848 ν/flavour/POT (value as listed in the project's reference table; not re-read from
    the paper here).  Our 0.09 (the 0.14 E − 0.05 systematics at 1 GeV) lies within it."""
    f = _flux(load_experiment("coherent-lar"), samples=10_000)
    n = f["nue"].sum() * 4 * math.pi * load_experiment("coherent-lar").detector.distance_cm ** 2
    assert abs(n / 0.0848 - 1) < 0.10


def test_below_threshold_beam_is_an_error():
    raw = _raw("ccm")
    raw["beam"]["momentum_mev"] = 600.0  # 178 MeV kinetic < 280 MeV π threshold
    with pytest.raises(ConfigError, match="source.pi_plus_dar_per_pot.*threshold"):
        parse_experiment(raw, "ccm.toml")


def test_eta_needs_beam_above_threshold():
    raw = _raw("ccm")
    raw["source"]["eta_per_pot"] = 0.01
    with pytest.raises(ConfigError, match="source.eta_per_pot"):
        parse_experiment(raw, "ccm.toml")


@pytest.mark.parametrize("lo,hi,thr", [(50.0, 20.0, 1.0), (0.0, 5000.0, 1.0), (0.1, 100.0, 200.0)])
def test_detector_window_outside_range(lo, hi, thr):
    raw = _raw("ccm")
    raw["detector"]["response"].update(window_lo_mev=lo, window_hi_mev=hi, threshold_mev=thr)
    with pytest.raises(ConfigError, match="detector.response"):
        parse_experiment(raw, "ccm.toml")


def test_scintillator_needs_response_section():
    raw = _raw("ccm")
    del raw["detector"]["response"]
    with pytest.raises(ConfigError, match=r"\[detector.response\]"):
        parse_experiment(raw, "ccm.toml")


def test_unknown_source_key():
    raw = _raw("ccm")
    raw["source"]["pi_plus_yield"] = 0.1
    with pytest.raises(ConfigError, match="source.pi_plus_yield"):
        parse_experiment(raw, "ccm.toml")


def test_unknown_source_type():
    raw = _raw("ccm")
    raw["source"]["type"] = "reactor"
    with pytest.raises(ConfigError, match="source.type.*highenergy, stopped"):
        parse_experiment(raw, "ccm.toml")
