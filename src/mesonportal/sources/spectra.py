"""Double-differential meson production cross sections for p + Be at the BNB.

All functions take the meson momentum ``p_mev`` in **MeV/c** and the lab polar angle ``theta``
(rad, w.r.t. the proton direction), broadcast over arrays, and return
d²σ/dp dΩ in **mb / (GeV/c · sr)** (the unit of the published fits; ``p`` is converted to GeV/c
internally). Outside the kinematic range of a fit (or for θ > π/2) they return 0, never NaN.

References
----------
* Sanford–Wang (SW) fits for π+, π−, K0 on Be at p_B = 8.89 GeV/c: MiniBooNE flux paper,
  arXiv:0806.1449 (PRD 79, 072002), Tables III/IV; coefficients as in physics.md §1.
* K+ Feynman-scaling fit: C. Mariani et al., arXiv:1110.0417 (PRD 84, 114021).
* K−: K+ Feynman-scaling shape × a constant K−/K+ ratio (see :data:`KMINUS_TO_KPLUS`).
* π0 = ½(π+ + π−) SW; η = π0 × :data:`ETA_TO_PI0`.
"""

from __future__ import annotations

import numpy as np

from mesonportal.constants import M_K, M_P

P_BEAM_GEV = 8.89  # BNB proton momentum, arXiv:0806.1449

# Sanford-Wang coefficients c1..c9 (arXiv:0806.1449, physics.md §1).
SW_PARAMS: dict[str, tuple[float, ...]] = {
    "pi+": (220.7, 1.080, 1.0, 1.978, 1.32, 5.572, 0.0868, 9.686, 1.0),
    "pi-": (213.7, 0.9379, 5.454, 1.210, 1.284, 4.781, 0.07338, 8.329, 1.0),
    "K0": (15.130, 1.975, 4.084, 0.928, 0.731, 4.362, 0.048, 13.300, 1.278),
}
# Feynman-scaling K+ coefficients c1..c7 (arXiv:1110.0417, Table III; physics.md §1).
FS_KPLUS_PARAMS: tuple[float, ...] = (11.70, 0.88, 4.77, 1.51, 2.21, 2.17, 1.51)

#: K−/K+ production ratio. No p-Be K− parametrisation at 8.89 GeV/c is published in
#: arXiv:0806.1449; we take the K+ Feynman-scaling shape times a constant ratio 0.1, an
#: order-of-magnitude estimate (near-threshold pp -> ppK+K− is ~20x below K+ production,
#: COSY-ANKE at 3.67 GeV/c; AGS data give K−/K+ ~ 0.2 well above threshold). Flagged as
#: uncertain; K− contributes negligibly to ν-mode observables.
KMINUS_TO_KPLUS = 0.1

#: η/π0 production ratio. We use 1/30, the value customarily used for the 8.9 GeV BNB in
#: MiniBooNE-DM studies (arXiv:1807.06137 and deNiverville et al., arXiv:1609.01770).
ETA_TO_PI0 = 1.0 / 30.0


def _gev(p_mev):
    return np.asarray(p_mev, dtype=float) * 1e-3


def sanford_wang(p_mev, theta, params: tuple[float, ...], p_beam_gev: float = P_BEAM_GEV) -> np.ndarray:
    """Sanford–Wang d²σ/dpdΩ [mb/(GeV/c sr)] (arXiv:0806.1449 eq. 7).

    c1 p^c2 (1 − p/(p_B − c9)) exp[−c3 p^c4/p_B^c5 − c6 θ (p − c7 p_B cos^c8 θ)], p in GeV/c.
    Zero for p ≥ p_B − c9, p ≤ 0 or θ > π/2.
    """
    c1, c2, c3, c4, c5, c6, c7, c8, c9 = params
    p = _gev(p_mev)
    th = np.asarray(theta, dtype=float)
    p, th = np.broadcast_arrays(p, th)
    ok = (p > 0) & (p < p_beam_gev - c9) & (th >= 0) & (th <= 0.5 * np.pi)
    ps = np.where(ok, p, 1.0)
    ts = np.where(ok, th, 0.0)
    cos_t = np.clip(np.cos(ts), 0.0, 1.0)
    expo = -c3 * ps**c4 / p_beam_gev**c5 - c6 * ts * (ps - c7 * p_beam_gev * cos_t**c8)
    val = c1 * ps**c2 * (1.0 - ps / (p_beam_gev - c9)) * np.exp(np.minimum(expo, 700.0))
    return np.where(ok, np.clip(val, 0.0, None), 0.0)


def feynman_x(p_mev, theta, m_mev: float, p_beam_gev: float = P_BEAM_GEV) -> np.ndarray:
    """x_F = 2 p_L*/√s in the proton–nucleon CM frame (nucleon at rest, mass m_p)."""
    p = _gev(p_mev)
    m = m_mev * 1e-3
    mp = M_P * 1e-3
    e_beam = np.sqrt(p_beam_gev**2 + mp**2)
    sqrt_s = np.sqrt(2.0 * mp * mp + 2.0 * mp * e_beam)
    beta = p_beam_gev / (e_beam + mp)
    gamma = 1.0 / np.sqrt(1.0 - beta * beta)
    e = np.sqrt(p * p + m * m)
    pl_cm = gamma * (p * np.cos(theta) - beta * e)
    return 2.0 * pl_cm / sqrt_s


def kplus_feynman(p_mev, theta, p_beam_gev: float = P_BEAM_GEV, params: tuple[float, ...] = FS_KPLUS_PARAMS) -> np.ndarray:
    """K+ d²σ/dpdΩ [mb/(GeV/c sr)], Feynman scaling (arXiv:1110.0417 eq. 6):
    (p²/E) c1 (1 − |x_F|) exp[−c2 p_T − c3 |x_F|^c4 − c5 p_T² − c7 |p_T x_F|^c6]."""
    c1, c2, c3, c4, c5, c6, c7 = params
    p = _gev(p_mev)
    th = np.asarray(theta, dtype=float)
    p, th = np.broadcast_arrays(p, th)
    m = M_K * 1e-3
    xf = np.abs(feynman_x(p * 1e3, th, M_K, p_beam_gev))
    pt = p * np.sin(th)
    e = np.sqrt(p * p + m * m)
    ok = (p > 0) & (xf < 1.0) & (th >= 0) & (th <= 0.5 * np.pi)
    val = (p * p / e) * c1 * (1.0 - xf) * np.exp(-c2 * pt - c3 * xf**c4 - c5 * pt**2 - c7 * np.abs(pt * xf) ** c6)
    return np.where(ok, np.clip(val, 0.0, None), 0.0)


SPECIES = {211: "pi+", -211: "pi-", 321: "K+", -321: "K-", 130: "K0L", 111: "pi0", 221: "eta"}


def d2sigma_dp_domega(pdgid: int, p_mev, theta, p_beam_gev: float = P_BEAM_GEV) -> np.ndarray:
    """d²σ/dpdΩ [mb/(GeV/c sr)] on Be for a species code in :data:`SPECIES`.

    K0_L = ½ K0 (SW); π0 = ½(π+ + π−) (SW); η = π0 × :data:`ETA_TO_PI0` at the same (p, θ);
    K− = K+ × :data:`KMINUS_TO_KPLUS`.
    """
    from mesonportal.exceptions import ParameterError

    pdgid = int(pdgid)
    if pdgid == 211:
        return sanford_wang(p_mev, theta, SW_PARAMS["pi+"], p_beam_gev)
    if pdgid == -211:
        return sanford_wang(p_mev, theta, SW_PARAMS["pi-"], p_beam_gev)
    if pdgid == 130:
        return 0.5 * sanford_wang(p_mev, theta, SW_PARAMS["K0"], p_beam_gev)
    if pdgid == 321:
        return kplus_feynman(p_mev, theta, p_beam_gev)
    if pdgid == -321:
        return KMINUS_TO_KPLUS * kplus_feynman(p_mev, theta, p_beam_gev)
    if pdgid in (111, 221):
        pi0 = 0.5 * (sanford_wang(p_mev, theta, SW_PARAMS["pi+"], p_beam_gev)
                     + sanford_wang(p_mev, theta, SW_PARAMS["pi-"], p_beam_gev))
        return pi0 if pdgid == 111 else ETA_TO_PI0 * pi0
    raise ParameterError(f"pdgid {pdgid} has no production parametrisation; allowed: {sorted(SPECIES)}")


def max_momentum_mev(pdgid: int, p_beam_gev: float = P_BEAM_GEV) -> float:
    """Upper end (MeV/c) of the momentum range where the parametrisation is non-zero."""
    pdgid = int(pdgid)
    if abs(pdgid) == 211 or pdgid in (111, 221):
        return (p_beam_gev - SW_PARAMS["pi+"][8]) * 1e3
    if pdgid == 130:
        return (p_beam_gev - SW_PARAMS["K0"][8]) * 1e3
    return p_beam_gev * 1e3


def total_cross_section_mb(pdgid: int, p_beam_gev: float = P_BEAM_GEV, n_p: int = 800, n_theta: int = 800) -> float:
    """σ_meson = ∫ dp dΩ d²σ/dpdΩ over p > 0, 0 ≤ θ ≤ π/2, in mb (tensor Gauss-Legendre rule)."""
    pmax = max_momentum_mev(pdgid, p_beam_gev)
    # split θ to resolve the forward peak
    xs, ws = np.polynomial.legendre.leggauss(n_p)
    p = 0.5 * pmax * (xs + 1.0)
    wp = 0.5 * pmax * ws * 1e-3  # GeV/c
    total = 0.0
    for a, b in ((0.0, 0.1), (0.1, 0.4), (0.4, 0.5 * np.pi)):
        xt, wt = np.polynomial.legendre.leggauss(n_theta // 4)
        th = a + 0.5 * (b - a) * (xt + 1.0)
        w_t = 0.5 * (b - a) * wt * 2.0 * np.pi * np.sin(th)
        f = d2sigma_dp_domega(pdgid, p[:, None], th[None, :], p_beam_gev)
        total += float(np.einsum("i,ij,j->", wp, f, w_t))
    return total
