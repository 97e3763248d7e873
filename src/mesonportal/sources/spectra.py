"""Double-differential meson production cross sections for p + Be at the BNB.

All functions take the meson momentum ``p_mev`` in **MeV/c** and the lab polar angle ``theta``
(rad, w.r.t. the proton direction), broadcast over arrays, and return
d²σ/dp dΩ in **mb / (GeV/c · sr)** (the unit of the published fits; ``p`` is converted to GeV/c
internally). Outside the kinematic range of a fit (or for θ > π/2) they return 0, never NaN.

References
----------
* Sanford–Wang (SW) fits for π+, π−, K0_L on Be at p_B = 8.89 GeV/c: MiniBooNE flux paper,
  arXiv:0806.1449 (PRD 79, 072002); coefficients read from the bundled official-simulation input
  ``data/bnb_official/meson_production.txt`` (G4BNB input/production.in).
* K+ Feynman-scaling fit: C. Mariani et al., arXiv:1110.0417 (PRD 84, 114021).
* K−: MARS-15 table of the official simulation (:func:`kminus_mars`, :mod:`mesonportal.sources.mars`).
* π0 = ½(π+ + π−) SW; η = π0 × :data:`ETA_TO_PI0`.
"""

from __future__ import annotations

import numpy as np

from mesonportal.constants import M_K, M_P

P_BEAM_GEV = 8.89  # BNB proton momentum, arXiv:0806.1449

def _load_production_table() -> tuple[dict[str, tuple[float, ...]], tuple[float, ...]]:
    """SW and FS coefficients from ``data/bnb_official/meson_production.txt`` (G4BNB
    input/production.in, commit 7476727; fits of arXiv:0806.1449 and arXiv:1110.0417)."""
    from mesonportal.data import read_text
    from mesonportal.exceptions import DataError

    sw: dict[str, tuple[float, ...]] = {}
    fs: tuple[float, ...] | None = None
    for line in read_text("bnb_official/meson_production.txt").splitlines():
        tok = line.split("#", 1)[0].split()
        if not tok:
            continue
        form, name, vals = tok[0], tok[1], tuple(float(v) for v in tok[2:])
        if form == "SW" and len(vals) == 9:
            sw[{"K0L": "K0"}.get(name, name)] = vals
        elif form == "FS" and name == "K+" and len(vals) == 8:
            fs = vals
        else:
            raise DataError(f"data/bnb_official/meson_production.txt: malformed row {line.strip()!r}")
    if set(sw) != {"pi+", "pi-", "pi-_april07", "K0"} or fs is None:
        raise DataError("data/bnb_official/meson_production.txt must hold SW pi+, pi-, pi-_april07, K0L and FS K+ rows")
    return sw, fs


# Sanford-Wang coefficients c1..c9 (π+, π−, K0_L) and Feynman-scaling K+ coefficients c1..c8, exactly
# as in the official simulation's input (bundled table; arXiv:0806.1449 Tables, arXiv:1110.0417 Table III).
SW_PARAMS, FS_KPLUS_PARAMS = _load_production_table()

#: K− production: the MARS-15 p-Be table of the official simulation (G4BNB ``kaonMinusModel MARS``;
#: ``data/bnb_official/mars_pbe.txt``, :mod:`mesonportal.sources.mars`), rescaled as G4BNB does so that
#: the K− multiplicity per meson-producing interaction is the MARS one (0.0026). The former
#: stand-in "K+ shape × 0.1" was 2.7× larger. At a beam momentum other than 8.89 GeV/c (no MARS
#: table) the K+ shape is scaled by :func:`kminus_to_kplus` (the ratio of the two integrals at 8.89 GeV/c).


def _pbe_norm_mb(p_gev: float) -> float:
    from mesonportal.sources.beam import pbe_cross_sections_mb

    inel, qe = pbe_cross_sections_mb(p_gev)
    return float(inel - qe)


def kminus_mars(p_mev, theta) -> np.ndarray:
    """K− d²σ/dpdΩ [mb/(GeV/c sr)] at 8.89 GeV/c from the MARS table, normalised to the official
    σ_inel − σ_qe (177.7 mb) so that the multiplicity per interaction is the MARS one."""
    from mesonportal.sources.mars import mars_tables

    t = mars_tables()["K-"]
    return t.d2sigma_dp_domega(p_mev, theta) * _pbe_norm_mb(P_BEAM_GEV) / t.sigma_inel_mars_mb


def kminus_to_kplus() -> float:
    """σ(K−)/σ(K+) at 8.89 GeV/c: MARS K− multiplicity over the Feynman-scaling K+ one (≈ 0.037)."""
    from mesonportal.sources.mars import mars_tables

    k_minus = mars_tables()["K-"].multiplicity * _pbe_norm_mb(P_BEAM_GEV)
    return k_minus / total_cross_section_mb(321, P_BEAM_GEV)


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


def kaon_xf_g4bnb(p_mev, theta, p_beam_gev: float = P_BEAM_GEV) -> np.ndarray:
    """x_F = p_z*/p*_max of a K+ as in the official simulation's Feynman-scaling model: p_z* in the
    proton–nucleon CM frame (nucleon at rest, mass m_p), p*_max the largest CM kaon momentum allowed
    by p N → K+ Λ N."""
    from mesonportal.constants import mass

    p = _gev(p_mev)
    m = M_K * 1e-3
    mp = M_P * 1e-3
    ml = mass(3122) * 1e-3
    e_beam = np.sqrt(p_beam_gev**2 + mp**2)
    s = 2.0 * mp * (mp + e_beam)
    e_max = (s + m * m - (ml + mp) ** 2) / (2.0 * np.sqrt(s))
    p_max = np.sqrt(e_max * e_max - m * m)
    gamma = np.sqrt(s) / (2.0 * mp)
    beta = np.sqrt(1.0 - 1.0 / gamma**2)
    e = np.sqrt(p * p + m * m)
    pz_cm = gamma * (p * np.cos(theta) - beta * e)
    return pz_cm / p_max


def kplus_feynman(p_mev, theta, p_beam_gev: float = P_BEAM_GEV, params: tuple[float, ...] | None = None) -> np.ndarray:
    """K+ d²σ/dpdΩ [mb/(GeV/c sr)], Feynman scaling (arXiv:1110.0417, as implemented in G4BNB):
    (p²/E) c1 (1 − |x_F|)^c8 exp[−c3 |x_F|^c4 − c7 |p_T x_F|^c6 − c2 p_T − c5 p_T²] with
    x_F from :func:`kaon_xf_g4bnb`; zero for |x_F| > 1."""
    c1, c2, c3, c4, c5, c6, c7, c8 = FS_KPLUS_PARAMS if params is None else params
    p = _gev(p_mev)
    th = np.asarray(theta, dtype=float)
    p, th = np.broadcast_arrays(p, th)
    m = M_K * 1e-3
    xf = np.abs(kaon_xf_g4bnb(p * 1e3, th, p_beam_gev))
    pt = p * np.sin(th)
    e = np.sqrt(p * p + m * m)
    ok = (p > 0) & (xf <= 1.0) & (th >= 0) & (th <= 0.5 * np.pi)
    xs = np.where(ok, xf, 0.0)
    val = (p * p / e) * c1 * (1.0 - xs) ** c8 * np.exp(-c2 * pt - c3 * xs**c4 - c5 * pt**2 - c7 * np.abs(pt * xs) ** c6)
    return np.where(ok, np.clip(val, 0.0, None), 0.0)


SPECIES = {211: "pi+", -211: "pi-", 321: "K+", -321: "K-", 130: "K0L", 111: "pi0", 221: "eta"}


#: π− Sanford–Wang sets: "table_vi" (flux paper Table VI, the active row of G4BNB production.in) and
#: "april07_baseline" (the set the official ν-mode flux file was generated with; production.in comment).
PI_MINUS_SETS = {"table_vi": "pi-", "april07_baseline": "pi-_april07"}


def _pim(pi_minus: str) -> tuple[float, ...]:
    from mesonportal.exceptions import ParameterError

    if pi_minus not in PI_MINUS_SETS:
        raise ParameterError(f"pi_minus = {pi_minus!r}; allowed: {', '.join(PI_MINUS_SETS)}")
    return SW_PARAMS[PI_MINUS_SETS[pi_minus]]


def d2sigma_dp_domega(pdgid: int, p_mev, theta, p_beam_gev: float = P_BEAM_GEV,
                      pi_minus: str = "table_vi") -> np.ndarray:
    """d²σ/dpdΩ [mb/(GeV/c sr)] on Be for a species code in :data:`SPECIES`.

    K0_L: SW with the official K0_L coefficients (G4BNB uses them for K0_L directly); π0 = ½(π+ + π−) (SW); η = π0 × :data:`ETA_TO_PI0` at the same (p, θ);
    K− = the MARS table at 8.89 GeV/c (:func:`kminus_mars`), else K+ × :func:`kminus_to_kplus`.
    ``pi_minus`` names the π− SW set (:data:`PI_MINUS_SETS`; also enters π0 and η).
    """
    from mesonportal.exceptions import ParameterError

    pdgid = int(pdgid)
    if pdgid == 211:
        return sanford_wang(p_mev, theta, SW_PARAMS["pi+"], p_beam_gev)
    if pdgid == -211:
        return sanford_wang(p_mev, theta, _pim(pi_minus), p_beam_gev)
    if pdgid == 130:
        return sanford_wang(p_mev, theta, SW_PARAMS["K0"], p_beam_gev)
    if pdgid == 321:
        return kplus_feynman(p_mev, theta, p_beam_gev)
    if pdgid == -321:
        if abs(p_beam_gev - P_BEAM_GEV) < 1e-6:
            return kminus_mars(p_mev, theta)
        return _kminus_ratio() * kplus_feynman(p_mev, theta, p_beam_gev)
    if pdgid in (111, 221):
        pi0 = 0.5 * (sanford_wang(p_mev, theta, SW_PARAMS["pi+"], p_beam_gev)
                     + sanford_wang(p_mev, theta, _pim(pi_minus), p_beam_gev))
        return pi0 if pdgid == 111 else ETA_TO_PI0 * pi0
    raise ParameterError(f"pdgid {pdgid} has no production parametrisation; allowed: {sorted(SPECIES)}")


_KM_RATIO: list[float] = []


def _kminus_ratio() -> float:
    if not _KM_RATIO:
        _KM_RATIO.append(kminus_to_kplus())
    return _KM_RATIO[0]


def max_momentum_mev(pdgid: int, p_beam_gev: float = P_BEAM_GEV) -> float:
    """Upper end (MeV/c) of the momentum range where the parametrisation is non-zero."""
    pdgid = int(pdgid)
    if abs(pdgid) == 211 or pdgid in (111, 221):
        return (p_beam_gev - SW_PARAMS["pi+"][8]) * 1e3
    if pdgid == 130:
        return (p_beam_gev - SW_PARAMS["K0"][8]) * 1e3
    return p_beam_gev * 1e3


def total_cross_section_mb(pdgid: int, p_beam_gev: float = P_BEAM_GEV, n_p: int = 800, n_theta: int = 800,
                          pi_minus: str = "table_vi") -> float:
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
        f = d2sigma_dp_domega(pdgid, p[:, None], th[None, :], p_beam_gev, pi_minus=pi_minus)
        total += float(np.einsum("i,ij,j->", wp, f, w_t))
    return total
