"""Muon g−2 at one loop from φ′ and A′ of U(1)_T3R (docs/t3r.md §2).

    Δa_μ = m_μ² / (16π² V²) · [C_φ′(m_φ′/m_μ) − C_A′(m_A′/m_μ)]

with the convention of :mod:`.model` (y_μ = m_μ/(√2V), g_V = g_A = g_T3R, m_A′ = 2√2 g V).
For V = 10 GeV and m_μ = 105 MeV the prefactor is the talk's 6.98e-7.

Loop functions (full one-loop, Leveille, Nucl. Phys. B137 (1978) 63; Jegerlehner & Nyffeler,
Phys. Rept. 477 (2009) 1, arXiv:0902.3360, eqs. for neutral scalar and vector exchange):

* scalar, coupling y φ μ̄μ:  Δa = (y²/8π²) ∫₀¹ dx (1−x)²(1+x) / [(1−x)² + x r²],  r = m_φ/m_μ,
  so C_φ′(r) = ∫₀¹ (1−x)²(1+x) / [(1−x)² + x r²] dx
  (limits: 3/2 for r → 0; (ln r² − 7/6)/r² for r → ∞);
* vector boson with μ̄γ^μ(g_V + g_A γ⁵)μ, mass M, λ = m_μ/M:
  Δa = (m_μ²/(8π²M²)) ∫₀¹ dx [g_V² 2x²(1−x) + g_A² (2x(1−x)(x−4) − 4λ²x³)] / [(1−x)(1−λ²x) + λ²x];
  with g_V = g_A = m_A′/(2√2 V) this is −(m_μ²/16π²V²) C_A′ with
  C_A′(M/m_μ) = ∫₀¹ [x(1−x)(2−x) + λ² x³] / [(1−x)(1−λ²x) + λ²x] dx
  (limits: 2/3 for M → ∞; 1/2 for M → 0 — the longitudinal A′ does not decouple because g ∝ M/V).
"""

from __future__ import annotations

import math

import numpy as np

from mesonportal import constants as C

__all__ = ["c_scalar", "c_aprime", "vector_loop", "scalar_loop", "delta_a_mu", "prefactor",
           "MEASURED_ANOMALY", "preferred_phiprime_mass"]

#: Measured anomaly Δa_μ = a_μ(exp) − a_μ(SM) and its 1σ error, by reference.
MEASURED_ANOMALY: dict[str, dict] = {
    "2021": {"value": 251e-11, "error": 59e-11,
             "source": "FNAL Run-1 + BNL world average 116592061(41)e-11 (PRL 126 141801, arXiv:2104.03281) "
                       "minus the 2020 Theory Initiative SM 116591810(43)e-11 (arXiv:2006.04822); the talk's value"},
    "2025": {"value": 38.5e-11, "error": 63.7e-11,
             "source": "final FNAL world average 116592071.5(14.5)e-11 (arXiv:2506.03069) minus the 2025 "
                       "Theory Initiative SM 116592033(62)e-11 (arXiv:2505.21476, lattice HVP)"},
}


def _nodes() -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss–Legendre nodes on [0, 1], log-refined towards both ends (the integrands
    have peaks of width 1/r² at x → 0 or λ² at x → 1 for very heavy or light bosons)."""
    inner = [10.0**-k for k in range(14, 0, -1)]
    edges = np.array([0.0, *inner, 0.5, *[1.0 - e for e in reversed(inner)], 1.0])
    t, w = np.polynomial.legendre.leggauss(16)
    a, b = edges[:-1, None], edges[1:, None]
    return (0.5 * (b - a) * (t + 1) + a).ravel(), (0.5 * (b - a) * w).ravel()


_X, _W = _nodes()


def _integrate(f) -> np.ndarray:
    """∫₀¹ f(x) dx by composite Gauss–Legendre (:func:`_nodes`), vectorised over the leading shape of f's output."""
    return np.tensordot(f(_X), _W, axes=([-1], [0]))


def c_scalar(r) -> np.ndarray:
    """C_φ′(r), r = m_φ′/m_μ (dimensionless, module docstring)."""
    r2 = np.asarray(r, float)[..., None] ** 2
    return _integrate(lambda x: (1 - x) ** 2 * (1 + x) / ((1 - x) ** 2 + x * r2))


def vector_loop(m_v_over_mmu, g_v: float, g_a: float) -> np.ndarray:
    """Δa_μ from a neutral vector of mass M (argument M/m_μ) with couplings μ̄γ^μ(g_V + g_A γ⁵)μ
    (Leveille's full one-loop integral, module docstring)."""
    lam2 = 1.0 / np.asarray(m_v_over_mmu, float)[..., None] ** 2

    def f(x):
        den = (1 - x) * (1 - lam2 * x) + lam2 * x
        pv = 2 * x * x * (1 - x)
        pa = 2 * x * (1 - x) * (x - 4) - 4 * lam2 * x**3
        return (g_v**2 * pv + g_a**2 * pa) / den

    return lam2[..., 0] / (8 * math.pi**2) * _integrate(f)


def scalar_loop(m_s_over_mmu, y: float) -> np.ndarray:
    """Δa_μ from a neutral scalar of mass m_s (argument m_s/m_μ) with Yukawa y φ μ̄μ."""
    return y**2 / (8 * math.pi**2) * c_scalar(m_s_over_mmu)


def c_aprime(m_over_mmu) -> np.ndarray:
    """C_A′(M/m_μ) (module docstring): the A′ loop for g_V = g_A = M/(2√2 V) in units of
    −m_μ²/(16π²V²)."""
    lam2 = 1.0 / np.asarray(m_over_mmu, float)[..., None] ** 2
    return _integrate(lambda x: (x * (1 - x) * (2 - x) + lam2 * x**3) / ((1 - x) * (1 - lam2 * x) + lam2 * x))


def prefactor(v_gev: float, m_mu: float = C.M_MU) -> float:
    """m_μ² / (16 π² V²) (dimensionless), m_μ in MeV, V in GeV."""
    return m_mu**2 / (16 * math.pi**2 * (v_gev * 1e3) ** 2)


def delta_a_mu(v_gev, m_aprime, m_phiprime, m_mu: float = C.M_MU) -> dict:
    """Δa_μ [dimensionless] of a T3R point: {"total", "phi_prime", "aprime", "prefactor",
    "c_phi_prime", "c_aprime"}; masses MeV, V GeV (arrays broadcast)."""
    pre = prefactor(np.asarray(v_gev, float), m_mu)
    cphi = c_scalar(np.asarray(m_phiprime, float) / m_mu)
    ca = c_aprime(np.asarray(m_aprime, float) / m_mu)
    return {"total": pre * (cphi - ca), "phi_prime": pre * cphi, "aprime": -pre * ca, "prefactor": pre,
            "c_phi_prime": cphi, "c_aprime": ca, "m_mu_mev": m_mu}


def preferred_phiprime_mass(m_aprime: float, v_gev: float, target: float, m_mu: float = C.M_MU) -> float:
    """m_φ′ [MeV] giving Δa_μ = ``target`` at fixed m_A′ [MeV], V [GeV] (C_φ′ is monotonic in
    m_φ′); NaN if the target is outside the reachable range."""
    from scipy.optimize import brentq

    need = target / prefactor(v_gev, m_mu) + float(c_aprime(m_aprime / m_mu))
    lo, hi = 1e-3, 1e5
    f = lambda m: float(c_scalar(m / m_mu)) - need  # noqa: E731
    if f(lo) * f(hi) > 0:
        return math.nan
    return math.exp(brentq(lambda lm: f(math.exp(lm)), math.log(lo), math.log(hi), xtol=1e-12))
