"""Meson → dark-particle production: apply a model's channels to a weighted meson sample.

For every open channel of the model and every meson it applies to (``channel.applies_to``), the
dark particle is sampled in the meson rest frame (``channel.sample_rest_frame``), boosted to the
lab with the meson velocity, placed at the meson decay vertex and weighted by
meson weight × BR / n_per_meson; then ``model.prompt_decays`` runs (identity for long-lived X).
"""

from __future__ import annotations

import numpy as np

from mesonportal.exceptions import KinematicsError, ParameterError
from mesonportal.kinematics import beta_of, boost, isotropic_directions, two_body_momentum
from mesonportal.production.channels import ProductionChannel, RestFrameSampler
from mesonportal.sample import ParticleSample

__all__ = ["produce", "produce_channel", "two_body_sampler"]


def two_body_sampler(m_parent: float, m_dark: float, m_other: float) -> RestFrameSampler:
    """Rest-frame sampler of the dark particle in an isotropic two-body decay
    parent → dark + other (e.g. π⁰ → γ V: ``two_body_sampler(m_pi0, m_V, 0.0)``).

    Returns ``f(rng, n) -> (n, 4)`` four-momenta [MeV] with E = (M² + m_d² − m_o²)/(2M) and
    |p| = λ^½(M², m_d², m_o²)/(2M).  Construction of a closed channel is allowed (so that a
    channel can be listed); calling its sampler raises KinematicsError."""
    for name, v in (("m_parent", m_parent), ("m_dark", m_dark), ("m_other", m_other)):
        if not np.isfinite(v) or v < 0:
            raise ParameterError(f"two-body mass {name} = {v!r} must be finite and >= 0 MeV")
    if m_parent <= 0:
        raise ParameterError(f"two-body mass m_parent = {m_parent!r} must be > 0 MeV")
    is_open = m_parent > m_dark + m_other
    p = float(two_body_momentum(m_parent, m_dark, m_other)) if is_open else 0.0
    e = (m_parent**2 + m_dark**2 - m_other**2) / (2.0 * m_parent)

    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        if not is_open:
            raise KinematicsError(
                f"two-body decay closed: m_parent = {m_parent} MeV <= m_dark + m_other = {m_dark + m_other} MeV"
            )
        out = np.empty((int(n), 4))
        out[:, 0] = e
        out[:, 1:] = p * isotropic_directions(rng, int(n))
        return out

    sample.is_open = is_open  # type: ignore[attr-defined]
    return sample


def produce_channel(channel: ProductionChannel, mesons: ParticleSample, rng: np.random.Generator,
                    n_per_meson: int = 1) -> ParticleSample:
    """Dark particles of one channel from the mesons it applies to (empty if closed or BR 0).

    ``mesons.p4`` are the meson lab four-momenta at their decay point ``mesons.vertex`` [cm]."""
    if not channel.is_open or channel.branching_ratio <= 0.0 or channel.sample_rest_frame is None:
        return ParticleSample.empty()
    idx = np.flatnonzero(channel.applies_to(mesons.pdgid))
    if idx.size == 0:
        return ParticleSample.empty()
    idx = np.repeat(idx, n_per_meson)
    p_rest = np.asarray(channel.sample_rest_frame(rng, idx.size), float)
    if p_rest.shape != (idx.size, 4):
        raise KinematicsError(f"channel {channel.label!r}: sampler returned shape {p_rest.shape}, expected ({idx.size}, 4)")
    beta = beta_of(mesons.p4[idx])
    p_lab = boost(p_rest, beta)
    return ParticleSample(
        p_lab,
        mesons.vertex[idx],
        channel.dark_pdgid,
        mesons.weight[idx] * (channel.branching_ratio / n_per_meson),
        mesons.pdgid[idx],
    )


def produce(model, mesons: ParticleSample, rng: np.random.Generator, n_per_meson: int = 1) -> ParticleSample:
    """All dark particles the model's channels produce from ``mesons`` (vectorised).

    Each meson yields ``n_per_meson`` decays per applicable open channel, with weight
    meson weight × BR / n_per_meson (so the total weight is Σ weight × BR); ``parent`` is the
    meson PDG code, the vertex the meson decay vertex.  The result passes through
    ``model.prompt_decays(sample, rng)``."""
    if isinstance(n_per_meson, bool) or not isinstance(n_per_meson, (int, np.integer)) or n_per_meson < 1:
        raise ParameterError(f"n_per_meson = {n_per_meson!r} must be an integer >= 1")
    parts = [produce_channel(ch, mesons, rng, int(n_per_meson)) for ch in model.production_channels()]
    sample = ParticleSample.concatenate([p for p in parts if len(p)])
    return model.prompt_decays(sample, rng)
