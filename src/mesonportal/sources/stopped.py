"""Stopped-pion (decay-at-rest) sources: LANSCE Lujan / LAMPF, ISIS, SNS, J-PARC MLF.

At 0.8–3 GeV proton beams on thick, dense targets almost every π⁺ stops before decaying:
the source is a point-like, isotropic emitter of mesons **at rest**.  :func:`simulate_stopped`
returns the mesons at their decay points as a :class:`~mesonportal.sample.ParticleSample` with
weights in decays per proton on target (POT), the same contract as the horn source
(:func:`mesonportal.sources.transport.simulate_mesons`), so every downstream stage (SM neutrino
decays, dark-sector production, detection) is shared.

Components (units MeV, cm; yields per POT from the experiment's ``[source]`` table, each with
its source stated in the TOML):

* π⁺ decay at rest: p4 = (m_π, 0, 0, 0); their μ⁺ stop (range ≈ 1 mm for 4.1 MeV) and decay at
  rest — the downstream muon stage is told so through :data:`STOPPED_ABSORBER_Z_CM`.
* π⁺ decay in flight: ``pi_plus_dif_fraction`` × the stopped yield, isotropic, kinetic energy
  exponential with mean ``dif_mean_kinetic_mev`` (an assumption stated in the TOMLs: the DIF
  component only matters above the 52.8 MeV DAR end point).
* π⁻: captured on nuclei (no decay, weight in ``summary``), except ``pi_minus_decay_fraction``
  that decay in flight (same spectrum as the π⁺ DIF) — the source of the μ⁻ → ν̄_e contamination.
* π⁰ and η: decay promptly in flight at the source.  Momentum spectrum: the isotropic
  moving-source (Maxwell–Boltzmann) form d³N/dp³ ∝ exp(−E*/T) in a frame moving along the beam
  with velocity β (the standard "thermal source" description of pion production at
  intermediate energies, e.g. Cochran et al., Phys. Rev. D 6, 3085 (1972) data at 730 MeV),
  truncated at the NN → NNπ kinematic limit of the beam.  T and β are named, overridable
  ASSUMPTIONS in each TOML (no published fit of the facility's own π⁰ spectrum was available).

``summary`` (dict species → fate → weight per POT) makes the bookkeeping explicit: produced =
decay_at_rest + decay_in_flight + prompt + captured.
"""

from __future__ import annotations

import math

import numpy as np

from mesonportal.constants import M_N, M_P, mass
from mesonportal.exceptions import ParameterError
from mesonportal.kinematics import isotropic_directions
from mesonportal.sample import ParticleSample

__all__ = ["STOPPED_SPECIES", "STOPPED_ABSORBER_Z_CM", "simulate_stopped", "isotropic_directions",
           "moving_source_momenta", "max_meson_energy_cm"]

#: Species a stopped-pion source emits (kaons are not modelled: negligible below 3 GeV).
STOPPED_SPECIES: tuple[int, ...] = (211, -211, 111, 221)
#: z plane handed to the SM muon stage for stopped sources: every muon is "beyond the absorber"
#: and therefore decays at rest where it is born (μ⁺ from π⁺ DAR have 4.1 MeV, ~1 mm range).
STOPPED_ABSORBER_Z_CM = -1.0e15
#: rows of the decay-in-flight components relative to the stopped ones (they carry little weight)
DIF_ROW_FRACTION = 0.1


def max_meson_energy_cm(beam_kinetic_mev: float, m_meson: float) -> float:
    """Largest meson energy [MeV] in the nucleon–nucleon CM frame for p N → N N + meson at the
    given beam kinetic energy (free nucleon at rest): E* = (s + m² − 4 m_N²)/(2√s)."""
    m_n = 0.5 * (M_P + M_N)
    s = 2.0 * m_n * m_n + 2.0 * m_n * (beam_kinetic_mev + m_n)
    rs = math.sqrt(s)
    if rs < 2.0 * m_n + m_meson:
        return m_meson
    return (s + m_meson ** 2 - 4.0 * m_n ** 2) / (2.0 * rs)


def moving_source_momenta(rng: np.random.Generator, n: int, m: float, temperature_mev: float, beta: float,
                          e_max_mev: float) -> np.ndarray:
    """(n, 4) lab four-momenta [MeV] of mesons of mass ``m`` emitted isotropically by a thermal
    source: dN/dp* ∝ p*² exp(−E*/T) for E* ≤ ``e_max_mev`` in the source frame, boosted with
    velocity ``beta`` along +z (inverse-CDF sampling on a 4096-point grid in p*)."""
    if not (temperature_mev > 0 and 0.0 <= beta < 1.0):
        raise ParameterError(f"temperature_mev = {temperature_mev!r} must be > 0 and beta = {beta!r} in [0, 1)")
    p_max = math.sqrt(max(e_max_mev ** 2 - m * m, 0.0))
    if p_max <= 0.0:
        raise ParameterError(f"e_max_mev = {e_max_mev!r} is below the meson mass {m:.2f} MeV")
    grid = np.linspace(0.0, p_max, 4097)
    e = np.sqrt(grid ** 2 + m * m)
    pdf = grid ** 2 * np.exp(-(e - m) / temperature_mev)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    p = np.interp(rng.random(n), cdf, grid)
    d = isotropic_directions(rng, n)
    es = np.sqrt(p * p + m * m)
    pz = p * d[:, 2]
    g = 1.0 / math.sqrt(1.0 - beta * beta)
    e_lab = g * (es + beta * pz)
    pz_lab = g * (pz + beta * es)
    return np.column_stack([e_lab, p * d[:, 0], p * d[:, 1], pz_lab])


def _vertices(rng, n: int, src) -> np.ndarray:
    v = np.tile(np.asarray(src.position_cm, float), (n, 1))
    if src.vertex_sigma_cm > 0.0:
        v = v + rng.normal(0.0, src.vertex_sigma_cm, (n, 3))
    return v


def _dif_momenta(rng, n: int, m: float, mean_kinetic: float) -> np.ndarray:
    t = rng.exponential(mean_kinetic, n)
    e = t + m
    p = np.sqrt(e * e - m * m)
    return np.column_stack([e, p[:, None] * isotropic_directions(rng, n)])


def simulate_stopped(experiment, n_samples: int, rng: np.random.Generator, *, species=None) -> ParticleSample:
    """Mesons of a stopped-pion source at their decay points (weights: decays per POT).

    ``n_samples`` rows are split evenly over the requested ``species`` that have a non-zero
    yield (default :data:`STOPPED_SPECIES`); the π⁺ decay-in-flight and π⁻ decay components get
    :data:`DIF_ROW_FRACTION` of their species' rows.  Species a stopped source does not emit
    (kaons, K0_L) contribute nothing (recorded in ``summary`` with zero weight)."""
    src = experiment.source
    if src is None:
        raise ParameterError(f"experiment {experiment.name!r} has no stopped-pion [source]")
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ParameterError(f"n_samples = {n_samples!r} must be an integer >= 1")
    species = STOPPED_SPECIES if species is None else tuple(int(s) for s in species)
    t_beam = math.hypot(experiment.beam.momentum_mev, M_P) - M_P
    yields = {211: src.pi_plus_dar_per_pot * (1.0 + src.pi_plus_dif_fraction), -211: src.pi_minus_per_pot,
              111: src.pi0_per_pot, 221: src.eta_per_pot}
    active = [s for s in species if yields.get(s, 0.0) > 0.0]
    summary: dict[str, dict[str, float]] = {}
    parts: list[ParticleSample] = []
    n_each = max(int(n_samples) // max(len(active), 1), 1)
    for s in species:
        fates = {"produced": float(yields.get(s, 0.0)), "decay_at_rest": 0.0, "decay_in_flight": 0.0,
                 "prompt": 0.0, "captured": 0.0}
        summary[str(s)] = fates
        if s not in active:
            continue
        m = mass(s)
        if s == 211:
            w_dar = src.pi_plus_dar_per_pot
            p4 = np.zeros((n_each, 4))
            p4[:, 0] = m
            parts.append(ParticleSample(p4, _vertices(rng, n_each, src), s, w_dar / n_each))
            fates["decay_at_rest"] = w_dar
            w_dif = src.pi_plus_dar_per_pot * src.pi_plus_dif_fraction
            if w_dif > 0.0:
                k = max(int(n_each * DIF_ROW_FRACTION), 1)
                parts.append(ParticleSample(_dif_momenta(rng, k, m, src.dif_mean_kinetic_mev),
                                            _vertices(rng, k, src), s, w_dif / k))
                fates["decay_in_flight"] = w_dif
        elif s == -211:
            w_dec = src.pi_minus_per_pot * src.pi_minus_decay_fraction
            fates["captured"] = src.pi_minus_per_pot - w_dec
            if w_dec > 0.0:
                k = max(int(n_each * DIF_ROW_FRACTION), 1)
                parts.append(ParticleSample(_dif_momenta(rng, k, m, src.dif_mean_kinetic_mev),
                                            _vertices(rng, k, src), s, w_dec / k))
                fates["decay_in_flight"] = w_dec
        else:
            e_max = max_meson_energy_cm(t_beam, m)
            p4 = moving_source_momenta(rng, n_each, m, src.pi0_temperature_mev, src.pi0_source_beta, e_max)
            parts.append(ParticleSample(p4, _vertices(rng, n_each, src), s, yields[s] / n_each))
            fates["prompt"] = yields[s]
    out = ParticleSample.concatenate(parts)
    out.summary = summary  # type: ignore[attr-defined]
    return out
