"""Charged-current quasi-elastic ν_e n → e⁻ p / ν̄_e p → e⁺ n on free nucleons (Llewellyn Smith).

Used to give the 3+1 oscillation signal (whose bundled ntuple has only E_QE, E_ν, L, weight) the
electron's energy and angle, so that its E_vis and cos θ distributions can be compared with the
digitised MiniBooNE figures (:mod:`mesonportal.analysis.compare`).

C. H. Llewellyn Smith, Phys. Rept. 3 (1972) 261; notation of Formaggio & Zeller,
Rev. Mod. Phys. 84 (2012) 1307, arXiv:1305.7513, eq. (58):

    dσ/dQ² = M² G_F² cos²θ_c / (8π E_ν²) [A ± B (s − u)/M² + C (s − u)²/M⁴]   (+ ν, − ν̄),
    s − u = 4 M E_ν − Q² − m_ℓ²,   τ = Q²/(4M²),
    A = (Q²/M²)[(1 + τ) F_A² − (1 − τ) F₁² + τ (1 − τ) (ξF₂)² + 4τ F₁ ξF₂]   (m_ℓ → 0),
    B = (Q²/M²) |F_A| (F₁ + ξF₂),   C = ¼ [F_A² + F₁² + τ (ξF₂)²],

with dipole form factors: G_D = (1 + Q²/M_V²)⁻², M_V² = 0.71 GeV²; isovector Sachs G_E^V = G_D,
G_M^V = (μ_p − μ_n) G_D; F₁ = (G_E^V + τ G_M^V)/(1 + τ), ξF₂ = (G_M^V − G_E^V)/(1 + τ);
F_A = g_A (1 + Q²/M_A²)⁻², g_A = 1.2754 (PDG 2022), M_A = 1026 MeV (world average of
Bernard, Elouadrhiri, Meissner, J. Phys. G 28 (2002) R1).  Approximations (stated): free nucleon at
rest (no Fermi motion, binding or Pauli blocking), massless lepton in A (m_e²/Q² terms dropped),
nucleon mass M = (m_p + m_n)/2.  Units: MeV, cm².
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from mesonportal import constants as C
from mesonportal.exceptions import ParameterError

__all__ = ["G_A", "M_A_MEV", "dsigma_dq2", "q2_max", "total_cross_section", "sample_electron"]

G_A = 1.2754
M_A_MEV = 1026.0
M_V2_MEV2 = 0.71e6
MU_P_MINUS_MU_N = 2.792847 + 1.913043  # nuclear magnetons (PDG)
M_NUCLEON = 0.5 * (C.M_P + C.M_N)
_NORM = C.G_FERMI**2 * C.V_UD**2 * C.MEV2_TO_CM2


def q2_max(e_nu: ArrayLike) -> np.ndarray:
    """Largest Q² [MeV²] for a massless lepton on a free nucleon at rest: 4 M E²/(M + 2E)."""
    e = np.asarray(e_nu, float)
    return 4.0 * M_NUCLEON * e * e / (M_NUCLEON + 2.0 * e)


def dsigma_dq2(e_nu: ArrayLike, q2: ArrayLike, antineutrino: bool = False, m_a: float = M_A_MEV) -> np.ndarray:
    """dσ/dQ² [cm²/MeV²] of CCQE on a free nucleon (module docstring); 0 outside 0 ≤ Q² ≤ Q²_max."""
    e = np.asarray(e_nu, float)
    q = np.asarray(q2, float)
    if np.any(~np.isfinite(e)) or np.any(e <= 0):
        raise ParameterError("e_nu must be finite and > 0 MeV")
    if not m_a > 0:
        raise ParameterError(f"m_a must be > 0 MeV, got {m_a}")
    M = M_NUCLEON
    tau = q / (4.0 * M * M)
    gd = 1.0 / (1.0 + q / M_V2_MEV2) ** 2
    ge, gm = gd, MU_P_MINUS_MU_N * gd
    f1 = (ge + tau * gm) / (1.0 + tau)
    xf2 = (gm - ge) / (1.0 + tau)
    fa = G_A / (1.0 + q / (m_a * m_a)) ** 2
    A = (q / M**2) * ((1 + tau) * fa**2 - (1 - tau) * f1**2 + tau * (1 - tau) * xf2**2 + 4 * tau * f1 * xf2)
    B = (q / M**2) * fa * (f1 + xf2)
    Cc = 0.25 * (fa**2 + f1**2 + tau * xf2**2)
    su = 4.0 * M * e - q
    sign = -1.0 if antineutrino else 1.0
    val = M**2 * _NORM / (8.0 * math.pi * e * e) * (A + sign * B * su / M**2 + Cc * su**2 / M**4)
    inside = (q >= 0) & (q <= q2_max(e))
    return np.where(inside, np.maximum(val, 0.0), 0.0)


def total_cross_section(e_nu: float, antineutrino: bool = False, m_a: float = M_A_MEV, n: int = 2001) -> float:
    """σ(E_ν) [cm²] by Simpson-like trapezoid integration over Q² ∈ [0, Q²_max] (``n`` points)."""
    q = np.linspace(0.0, float(q2_max(e_nu)), n)
    return float(np.trapezoid(dsigma_dq2(e_nu, q, antineutrino, m_a), q))


def sample_electron(rng: np.random.Generator, e_nu: ArrayLike, antineutrino: bool = False,
                    m_a: float = M_A_MEV, n_grid: int = 257, draws: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Draw Q² from dσ/dQ² for each neutrino energy (MeV) and return the charged lepton's
    (energy [MeV], cos θ to the neutrino direction): E_ℓ = E − Q²/(2M), cos θ = 1 − Q²/(2 E E_ℓ)
    (free nucleon at rest, massless-lepton kinematics).  Inverse-CDF on an ``n_grid`` Q² grid per
    event with linear interpolation.  ``draws`` independent draws per energy: outputs of length
    draws × N ordered draw-major (draw 0 of every event first); one uniform per output from ``rng``."""
    e = np.asarray(e_nu, float).ravel()
    if int(draws) < 1 or int(n_grid) < 3:
        raise ParameterError(f"draws must be >= 1 and n_grid >= 3, got {draws}, {n_grid}")
    t = np.linspace(0.0, 1.0, n_grid)
    qm = q2_max(e)
    q = qm[:, None] * t[None, :]
    pdf = dsigma_dq2(e[:, None], q, antineutrino, m_a)
    cdf = np.concatenate([np.zeros((e.size, 1)), np.cumsum(0.5 * (pdf[:, 1:] + pdf[:, :-1]), axis=1)], axis=1)
    tot = cdf[:, -1:]
    cdf = cdf / np.where(tot > 0, tot, 1.0)
    rows = np.arange(e.size)
    q2 = np.empty((int(draws), e.size))
    for k in range(int(draws)):
        u = rng.uniform(size=e.size)
        j = np.clip((cdf < u[:, None]).sum(axis=1), 1, n_grid - 1)
        c0, c1 = cdf[rows, j - 1], cdf[rows, j]
        frac = np.where(c1 > c0, (u - c0) / np.where(c1 > c0, c1 - c0, 1.0), 0.0)
        q2[k] = qm * (t[j - 1] + frac * (t[j] - t[j - 1]))
    q2 = q2.ravel()
    ee = np.tile(e, int(draws))
    e_l = ee - q2 / (2.0 * M_NUCLEON)
    cos_t = np.clip(1.0 - q2 / (2.0 * ee * e_l), -1.0, 1.0)
    return e_l, cos_t
