"""Proton beam on target and importance-sampled primary meson production.

Conventions: z along the beam, origin at the upstream target face (cm); momenta in MeV.
Normalisation (physics.md §1, arXiv:0806.1449): a proton interacts in the target of length L with
probability P_int = 1 − exp(−L n σ_inel); per interaction it yields σ_meson/σ_inel mesons of a
species, distributed as d²σ/dpdΩ. Hence mesons per POT = P_int σ_meson/σ_inel. The
quasi-elastic part of the p-Be cross section is not used for attenuation (a quasi-elastically
scattered proton keeps most of its momentum and can still interact downstream) and the
tertiary production it would cause is neglected (MiniBooNE: ~7% of ν_μ from π+ come from
re-interactions; absent here).

Dump mode (arXiv:1807.06137): protons hit the steel absorber; P_int = 1 and the Be fits are
scaled to Fe with A^α(x_F) (see :func:`a_scaling_alpha`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mesonportal.constants import M_P, N_AVOGADRO, mass
from mesonportal.exceptions import ParameterError
from mesonportal.sources import spectra


def interaction_probability(length_cm: float, number_density_cm3: float, sigma_mb: float) -> float:
    """P_int = 1 − exp(−L n σ) for a proton crossing a slab of length L (cm)."""
    return float(-np.expm1(-length_cm * number_density_cm3 * sigma_mb * 1e-27))


def sample_interaction_depth(rng: np.random.Generator, n: int, length_cm: float, lambda_cm: float) -> np.ndarray:
    """Interaction depths z ∈ [0, L] (cm) from the truncated exponential exp(−z/λ)."""
    u = rng.random(n)
    return -lambda_cm * np.log1p(-u * (-np.expm1(-length_cm / lambda_cm)))


def sample_beam(rng: np.random.Generator, n: int, beam) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian beam spot (x, y) [cm] and unit direction vectors (n, 3) with Gaussian divergence."""
    x = rng.normal(0.0, 1.0, n) * beam.spot_sigma_x_cm
    y = rng.normal(0.0, 1.0, n) * beam.spot_sigma_y_cm
    tx = rng.normal(0.0, 1.0, n) * beam.divergence_sigma_x_rad
    ty = rng.normal(0.0, 1.0, n) * beam.divergence_sigma_y_rad
    d = np.column_stack([tx, ty, np.ones(n)])
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.column_stack([x, y]), d


def a_scaling_alpha(xf) -> np.ndarray:
    """Nuclear-dependence exponent α(x_F) = 0.74 − 0.55 x_F + 0.26 x_F² for inclusive pion/kaon
    production, σ_A ∝ A^α (Barton et al., PRD 27 (1983) 2580, as used in accelerator-ν flux
    work). Used only to scale the Be fits to the Fe dump."""
    xf = np.asarray(xf, dtype=float)
    return 0.74 - 0.55 * xf + 0.26 * xf * xf


@dataclass
class ProposalGrid:
    """Piecewise-constant proposal pdf on a (p, θ) grid following (d²σ/dpdθ)^power."""

    p_edges: np.ndarray  # MeV
    t_edges: np.ndarray  # rad
    cdf: np.ndarray
    density: np.ndarray  # proposal pdf per MeV per rad, cell-wise (flattened, p-major)

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(p [MeV], θ [rad], q(p, θ) [1/(MeV rad)])."""
        k = np.searchsorted(self.cdf, rng.random(n) * self.cdf[-1], side="right")
        k = np.minimum(k, len(self.density) - 1)
        nt = len(self.t_edges) - 1
        ip, it = np.divmod(k, nt)
        p = self.p_edges[ip] + rng.random(n) * (self.p_edges[ip + 1] - self.p_edges[ip])
        t = self.t_edges[it] + rng.random(n) * (self.t_edges[it + 1] - self.t_edges[it])
        return p, t, self.density[k] / self.cdf[-1]


def build_proposal(pdgid: int, p_beam_gev: float, n_p: int = 160, n_t: int = 120, power: float = 0.7) -> ProposalGrid:
    """Proposal following (2π sinθ d²σ/dpdΩ)^power (power < 1 flattens it so that the forward,
    high-momentum tail is populated); θ grid is finer at small angles; 5% uniform admixture
    keeps q > 0 wherever the spectrum is non-zero."""
    pmax = spectra.max_momentum_mev(pdgid, p_beam_gev)
    p_edges = np.linspace(0.0, pmax, n_p + 1)
    t_edges = np.linspace(0.0, np.sqrt(0.5 * np.pi), n_t + 1) ** 2
    pc = 0.5 * (p_edges[1:] + p_edges[:-1])
    tc = 0.5 * (t_edges[1:] + t_edges[:-1])
    f = spectra.d2sigma_dp_domega(pdgid, pc[:, None], tc[None, :], p_beam_gev) * np.sin(tc)[None, :]
    g = np.clip(f, 0.0, None) ** power
    area = np.diff(p_edges)[:, None] * np.diff(t_edges)[None, :]
    mass_ = g * area
    mass_ = mass_ / mass_.sum()
    mass_ = 0.95 * mass_ + 0.05 * area / area.sum()
    dens = (mass_ / area).ravel()
    return ProposalGrid(p_edges, t_edges, np.cumsum(mass_.ravel()), dens)


_PROPOSALS: dict[tuple[int, float], ProposalGrid] = {}


def proposal(pdgid: int, p_beam_gev: float) -> ProposalGrid:
    key = (int(pdgid), round(float(p_beam_gev), 6))
    if key not in _PROPOSALS:
        _PROPOSALS[key] = build_proposal(int(pdgid), float(p_beam_gev))
    return _PROPOSALS[key]


def sample_production(
    rng: np.random.Generator, pdgid: int, n: int, p_beam_gev: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Importance-sample n mesons: (p [MeV], θ [rad], w) with w = (2π sinθ d²σ/dpdΩ)/q in mb,
    so that mean(w · 1[bin]) estimates σ in that bin (mb)."""
    if n < 0:
        raise ParameterError(f"number of samples n = {n} must be >= 0")
    prop = proposal(pdgid, p_beam_gev)
    p, t, q = prop.sample(rng, n)
    f = spectra.d2sigma_dp_domega(pdgid, p, t, p_beam_gev)  # mb/(GeV/c sr)
    w = 2.0 * np.pi * np.sin(t) * f * 1e-3 / q  # 1e-3: per GeV/c -> per MeV/c
    return p, t, w


def target_yield_factor(experiment) -> float:
    """P_int / σ_inel [1/mb]: multiply σ_meson (mb) by it to get mesons per POT (target mode)."""
    t = experiment.target
    p_int = interaction_probability(t.length_cm, t.number_density_cm3, t.sigma_inel_mb)
    return p_int / t.sigma_inel_mb


def target_interaction_probability(experiment) -> float:
    t = experiment.target
    return interaction_probability(t.length_cm, t.number_density_cm3, t.sigma_inel_mb)


def dump_lambda_cm(dump) -> float:
    """Proton inelastic interaction length in the dump material (cm)."""
    n = dump.density_g_cm3 * N_AVOGADRO / dump.mass_number
    return 1.0 / (n * dump.sigma_inel_mb * 1e-27)


def dump_weight_factor(pdgid: int, p_mev, theta, p_beam_gev: float, a_target: float, a_be: float) -> np.ndarray:
    """(A/A_Be)^α(x_F) factor scaling the Be fit to nucleus A (per meson)."""
    xf = spectra.feynman_x(p_mev, theta, mass(abs(int(pdgid))), p_beam_gev)
    return (a_target / a_be) ** a_scaling_alpha(xf)


def beam_momentum_gev(experiment) -> float:
    return experiment.beam.momentum_mev * 1e-3


__all__ = [
    "interaction_probability", "sample_interaction_depth", "sample_beam", "a_scaling_alpha",
    "build_proposal", "sample_production", "target_yield_factor", "target_interaction_probability",
    "dump_lambda_cm", "dump_weight_factor", "beam_momentum_gev", "M_P",
]
