"""Nuclear and nucleon form factors for the detection cross sections.

* Helm form factor of a nucleus (R. H. Helm, Phys. Rev. 104 (1956) 1466; parametrisation of
  J. D. Lewin & P. F. Smith, Astropart. Phys. 6 (1996) 87, as written in physics.md §2.1):

      F(q) = 3 j₁(q r₁)/(q r₁) · exp(−q² s²/2),   s = 0.9 fm,
      r₁² = (1.23 A^⅓ − 0.6)² + (7/3) π² (0.52)² − 5 s²   [fm²],

  with q = |q| in MeV converted to fm⁻¹ by ħc = 197.3269804 MeV fm.  F(0) = 1.
* Proton dipole form factor G_D(Q²) = 1/(1 + Q²/Λ²)², Λ² = 0.71 GeV², Q² = −t ≥ 0.
* Dirac/Pauli form factors from the Sachs ones with G_E = G_D, G_M = (1 + κ) G_D:
  F₁ = (G_E + τ G_M)/(1 + τ), F₂ = (G_M − G_E)/(1 + τ), τ = Q²/(4 M_p²); F₁(0) = 1, F₂(0) = κ.
  κ = μ_p − 1 = 1.7928 for the electromagnetic current (μ_p: CODATA 2018); κ = 0 is a pure Dirac
  proton (the physics.md choice).

All functions are vectorised over NumPy arrays; q and √Q² in MeV, t and Q² in MeV².
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mesonportal.constants import HBARC_MEV_FM, M_P
from mesonportal.exceptions import ParameterError

Array = NDArray[np.float64]

__all__ = [
    "HELM_S_FM",
    "DIPOLE_LAMBDA2_MEV2",
    "MU_P",
    "KAPPA_P",
    "helm_r1_fm",
    "helm",
    "helm_of_t",
    "helm_first_zero_mev",
    "dipole",
    "nucleon_f1_f2",
]

HELM_S_FM = 0.9  # skin thickness s [fm], Lewin & Smith (1996)
DIPOLE_LAMBDA2_MEV2 = 0.71e6  # dipole mass² Λ² = 0.71 GeV² in MeV²
MU_P = 2.792847344  # proton magnetic moment in nuclear magnetons (CODATA 2018)
KAPPA_P = MU_P - 1.0  # proton anomalous magnetic moment
_J1_FIRST_ZERO = 4.493409457909064  # first positive root of j₁(x) (tan x = x)


def helm_r1_fm(mass_number: float) -> float:
    """Helm box radius r₁ [fm] for mass number A (Lewin & Smith 1996, physics.md §2.1)."""
    a = float(mass_number)
    if not np.isfinite(a) or a < 1.0:
        raise ParameterError(f"mass number A = {mass_number!r} must be >= 1")
    r1sq = (1.23 * a ** (1.0 / 3.0) - 0.6) ** 2 + (7.0 / 3.0) * np.pi**2 * 0.52**2 - 5.0 * HELM_S_FM**2
    return float(np.sqrt(r1sq))


def _three_j1_over_x(x: Array) -> Array:
    """3 j₁(x)/x = 3 (sin x − x cos x)/x³; for x < 0.1 (where the closed form cancels) its Taylor
    series 1 − x²/10 + x⁴/280 − x⁶/15120 + x⁸/1330560 (truncation < 1e-17)."""
    x = np.abs(np.asarray(x, float))
    small = x < 0.1
    xs = np.where(small, 1.0, x)
    exact = 3.0 * (np.sin(xs) - xs * np.cos(xs)) / xs**3
    x2 = x * x
    series = 1.0 - x2 / 10.0 + x2**2 / 280.0 - x2**3 / 15120.0 + x2**4 / 1330560.0
    return np.where(small, series, exact)


def helm(q_mev: ArrayLike, mass_number: float) -> Array:
    """Helm form factor F(q) (dimensionless, F(0) = 1) at momentum transfer |q| [MeV]."""
    q_fm = np.abs(np.asarray(q_mev, float)) / HBARC_MEV_FM
    r1 = helm_r1_fm(mass_number)
    return _three_j1_over_x(q_fm * r1) * np.exp(-0.5 * (q_fm * HELM_S_FM) ** 2)


def helm_of_t(t: ArrayLike, mass_number: float) -> Array:
    """Helm form factor at Mandelstam t [MeV²] (uses |q| = √|t|, exact for elastic recoil of a
    nucleus at rest up to the recoil-energy term T²; t ≤ 0 physical)."""
    return helm(np.sqrt(np.abs(np.asarray(t, float))), mass_number)


def helm_first_zero_mev(mass_number: float) -> float:
    """|q| [MeV] of the first zero of the Helm form factor: q r₁ = 4.4934 (first root of j₁)."""
    return _J1_FIRST_ZERO / helm_r1_fm(mass_number) * HBARC_MEV_FM


def dipole(t: ArrayLike) -> Array:
    """Dipole form factor G_D = 1/(1 + Q²/0.71 GeV²)² with Q² = −t [MeV²] (t ≤ 0 physical;
    |t| is used so that the function is safe for rounding-level positive t)."""
    q2 = np.abs(np.asarray(t, float))
    return 1.0 / (1.0 + q2 / DIPOLE_LAMBDA2_MEV2) ** 2


def nucleon_f1_f2(t: ArrayLike, kappa: float = 0.0, mass: float = M_P) -> tuple[Array, Array]:
    """Dirac and Pauli form factors (F₁, F₂) with F₁(0) = 1, F₂(0) = κ from dipole Sachs form
    factors G_E = G_D, G_M = (1 + κ) G_D (the standard dipole parametrisation; κ = μ_p − 1 for the
    electromagnetic proton current, κ = 0 for a pure Dirac proton).  t in MeV², mass in MeV."""
    q2 = np.abs(np.asarray(t, float))
    tau = q2 / (4.0 * mass * mass)
    gd = dipole(q2)
    ge = gd
    gm = (1.0 + kappa) * gd
    f1 = (ge + tau * gm) / (1.0 + tau)
    f2 = (gm - ge) / (1.0 + tau)
    return f1, f2
