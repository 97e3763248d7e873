"""Scattering targets and the shared kinematics of 2 → 2 scattering on a target at rest.

:class:`NuclearTarget` describes one scattering centre: a spin-0 nucleus scattered coherently
(Helm form factor) or a free proton (spin ½, dipole form factors).  Masses are **nuclear**
masses in MeV:

* nuclei: ``particle`` gives, for the nucleus PDG code 100ZZZAAA0, the *atomic* mass
  (e.g. 12 u = 11177.929 MeV for C-12); the nuclear mass used here is that minus Z m_e.  The
  electron binding energy (≈ 1 keV for C, ≈ 0.2 ‰ of Z m_e) is neglected (relative 1e-7).
* proton: the PDG proton mass (hydrogen = free protons; atomic binding neglected).

The second half of the module is process-independent kinematics for a + T → b + T with T at
rest in the lab (used by :mod:`~mesonportal.detection.primakoff` and
:mod:`~mesonportal.detection.upscattering`): physical t limits, Gauss–Legendre integration of
dσ/dt in log|t|, inverse-CDF sampling of t and construction of the outgoing lab four-momentum.
For an elastic target recoil t = (p_T − p_T′)² = −2 M T_recoil ≤ 0, so log|t| is a good variable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mesonportal.constants import HBARC_MEV_FM, M_E, M_P
from mesonportal.constants import mass as pdg_mass
from mesonportal.detection.form_factors import HELM_S_FM, dipole, helm_of_t
from mesonportal.exceptions import KinematicsError, ParameterError
from mesonportal.kinematics import rotate_to_axis

Array = NDArray[np.float64]
DsigmaDt = Callable[[Array, Array], Array]

__all__ = [
    "NuclearTarget",
    "TARGETS",
    "get_target",
    "nucleus_target",
    "quark_vector_charge",
    "lab_s",
    "t_limits",
    "threshold_energy",
    "integrate_dsigma_dt",
    "sample_t",
    "scatter_lab",
    "tabulated",
]


@dataclass(frozen=True)
class NuclearTarget:
    """One kind of scattering centre.

    Attributes
    ----------
    name: label (``"C12"``, ``"p"``, ...).
    Z, A: proton and mass numbers (N = A − Z).
    mass_mev: nuclear mass [MeV].
    spin: 0.0 (coherent nucleus, Helm form factor) or 0.5 (free proton, dipole form factors).
    """

    name: str
    Z: int
    A: int
    mass_mev: float
    spin: float = 0.0

    def __post_init__(self) -> None:
        if self.spin not in (0.0, 0.5):
            raise ParameterError(f"target spin = {self.spin!r} must be 0 (nucleus) or 0.5 (proton)")
        if not (self.mass_mev > 0.0 and math.isfinite(self.mass_mev)):
            raise ParameterError(f"target mass_mev = {self.mass_mev!r} must be > 0")
        if not (1 <= self.A and 0 <= self.Z <= self.A):
            raise ParameterError(f"target (Z, A) = ({self.Z}, {self.A}) must satisfy 0 <= Z <= A, A >= 1")

    @property
    def N(self) -> int:
        return self.A - self.Z

    @property
    def is_fermion(self) -> bool:
        return self.spin == 0.5

    def form_factor(self, t: ArrayLike) -> Array:
        """Charge-normalised form factor at t [MeV²]: Helm for a nucleus, dipole G_D for the
        proton (the proton's Dirac/Pauli split is done by the cross-section modules)."""
        if self.is_fermion:
            return dipole(t)
        return helm_of_t(t, self.A)

    @property
    def abs_t_cut(self) -> float:
        """|t| [MeV²] above which the form factor is negligible (Helm: q = 10 ħc/s, where the
        Gaussian factor is e⁻⁵⁰); ``inf`` for the proton."""
        if self.is_fermion:
            return math.inf
        return (10.0 * HBARC_MEV_FM / HELM_S_FM) ** 2


def _nucleus(name: str, z: int, a: int) -> NuclearTarget:
    pdg = 1000000000 + 10000 * z + 10 * a
    return NuclearTarget(name, z, a, pdg_mass(pdg) - z * M_E, 0.0)


TARGETS: dict[str, NuclearTarget] = {
    "C12": _nucleus("C12", 6, 12),
    "p": NuclearTarget("p", 1, 1, M_P, 0.5),
    "Ar40": _nucleus("Ar40", 18, 40),
    "Fe56": _nucleus("Fe56", 26, 56),
    "Be9": _nucleus("Be9", 4, 9),
}
_ALIASES = {"c": "C12", "c12": "C12", "carbon": "C12", "h": "p", "hydrogen": "p", "proton": "p",
            "ar": "Ar40", "ar40": "Ar40", "argon": "Ar40", "fe": "Fe56", "fe56": "Fe56", "iron": "Fe56",
            "be": "Be9", "be9": "Be9"}


def nucleus_target(Z: int, A: int) -> NuclearTarget:
    """Coherent nuclear target (Z, A) (nuclear mass from ``particle``, see the module docstring),
    named like ``"Ar40"``; Z = A = 1 gives the proton.  Built once and kept in :data:`TARGETS`."""
    if int(Z) == 1 and int(A) == 1:
        return TARGETS["p"]
    for t in TARGETS.values():
        if t.Z == int(Z) and t.A == int(A) and not t.is_fermion:
            return t
    from mesonportal.constants import name as pdg_name  # particle's name, cached (no particle import)

    sym = pdg_name(1000000000 + 10000 * int(Z) + 10 * int(A)).rstrip("0123456789")
    tgt = _nucleus(f"{sym}{int(A)}", int(Z), int(A))
    TARGETS[tgt.name] = tgt
    return tgt


def get_target(name: str) -> NuclearTarget:
    """Target by name (``C12``/``carbon``, ``p``/``H``/``hydrogen``, ``Ar40``, ``Fe56``, ``Be9``)."""
    key = name if name in TARGETS else _ALIASES.get(str(name).lower())
    if key is None:
        raise ParameterError(f"unknown target {name!r}; allowed: {sorted(TARGETS)}")
    return TARGETS[key]


def quark_vector_charge(target: NuclearTarget, g_u: float, g_d: float = 0.0) -> float:
    """Coherent vector charge of a quark-coupled Z′: g_u (2Z + N) + g_d (Z + 2N) (physics.md §2.1;
    for the proton 2 g_u + g_d)."""
    return g_u * (2 * target.Z + target.N) + g_d * (target.Z + 2 * target.N)


# ----------------------------------------------------------------------------- kinematics
def lab_s(e_in: ArrayLike, m_in: float, target_mass: float) -> Array:
    """s = m² + M² + 2 M E [MeV²] for a projectile of lab energy E on a target at rest."""
    return m_in * m_in + target_mass * target_mass + 2.0 * target_mass * np.asarray(e_in, float)


def threshold_energy(m_in: float, m_out: float, target_mass: float) -> float:
    """Lowest projectile lab energy [MeV] for a + T → b + T: max(m_in, ((m_out + M)² − m_in² − M²)/(2M))."""
    e = ((m_out + target_mass) ** 2 - m_in * m_in - target_mass**2) / (2.0 * target_mass)
    return max(float(m_in), float(e))


def t_limits(e_in: ArrayLike, m_in: float, m_out: float, target_mass: float) -> tuple[Array, Array, Array]:
    """Physical t range of a(E, m_in) + T(M, at rest) → b(m_out) + T.

    Returns ``(t_lo, t_hi, open)``: t_lo ≤ t ≤ t_hi ≤ 0 [MeV²] (t_lo: backward, t_hi: forward
    scattering in the CM frame) and a boolean mask of energies above threshold (elsewhere both
    limits are 0).  Cancellation-free: t_lo = A − B with A = m_in² + m_out² − 2E₁*E₃*,
    B = 2p₁*p₃*; t_hi = t_lo t_hi / t_lo with the exact product t_lo t_hi = M² (m_in² − m_out²)²/s.
    """
    e = np.asarray(e_in, float)
    M = float(target_mass)
    s = lab_s(e, m_in, M)
    x = m_in * m_in + 2.0 * M * e  # s − M², computed without cancellation
    p_lab = np.sqrt(np.clip(e * e - m_in * m_in, 0.0, None))
    lam_in = 4.0 * M * M * p_lab * p_lab  # λ(s, m_in², M²) = 4 M² p_lab²
    lam_out = (x - m_out * (m_out + 2.0 * M)) * (x - m_out * (m_out - 2.0 * M))  # λ(s, m_out², M²)
    is_open = (lam_out > 0.0) & (lam_in > 0.0) & (e >= m_in)
    ss = np.where(is_open, s, 1.0)
    e1e3 = (x + m_in * m_in) * (x + m_out * m_out) / (4.0 * ss)  # E1* E3*
    two_p1p3 = np.sqrt(np.clip(lam_in, 0.0, None) * np.clip(lam_out, 0.0, None)) / (2.0 * ss)
    t_lo = m_in * m_in + m_out * m_out - 2.0 * e1e3 - two_p1p3
    prod = M * M * (m_in * m_in - m_out * m_out) ** 2 / ss
    t_hi = np.where(t_lo < 0.0, prod / np.where(t_lo < 0.0, t_lo, -1.0), 0.0)
    t_lo = np.where(is_open, np.minimum(t_lo, 0.0), 0.0)
    t_hi = np.where(is_open, np.minimum(t_hi, 0.0), 0.0)
    return t_lo, t_hi, is_open


def _log_t_bounds(t_lo: Array, t_hi: Array, abs_t_cut: float) -> tuple[Array, Array]:
    """Integration bounds in u = ln|t|: from ln|t_hi| to ln(min(|t_lo|, cut)); a forward limit
    t_hi = 0 (massless in and out) is replaced by 1e-14 |t_lo|."""
    a = np.abs(t_hi)
    b = np.minimum(np.abs(t_lo), abs_t_cut)
    a = np.where(a > 0.0, a, 1e-14 * b)
    a = np.minimum(a, b)
    safe_b = np.where(b > 0.0, b, 1.0)
    return np.log(np.where(a > 0.0, a, safe_b)), np.log(safe_b)


def _composite_gl(n_panels: int, n_per_panel: int) -> tuple[Array, Array]:
    """Nodes and weights of a composite Gauss–Legendre rule on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(n_per_panel)
    edges = np.linspace(0.0, 1.0, n_panels + 1)
    h = np.diff(edges)
    nodes = (edges[:-1, None] + 0.5 * h[:, None] * (x[None, :] + 1.0)).ravel()
    weights = (0.5 * h[:, None] * w[None, :]).ravel()
    return nodes, weights


def integrate_dsigma_dt(
    e: ArrayLike,
    dsigma_dt: DsigmaDt,
    t_lo: Array,
    t_hi: Array,
    abs_t_cut: float = math.inf,
    n_panels: int = 16,
    n_per_panel: int = 12,
    chunk: int = 4096,
) -> Array:
    """σ(E) = ∫ dσ/dt dt over [t_lo, t_hi] by composite Gauss–Legendre in u = ln|t|
    (dt = |t| du).  ``dsigma_dt(E[:, None], t[:, K])`` must broadcast; units follow it."""
    e = np.atleast_1d(np.asarray(e, float))
    out = np.zeros(e.shape)
    ua, ub = _log_t_bounds(np.atleast_1d(t_lo), np.atleast_1d(t_hi), abs_t_cut)
    x, w = _composite_gl(n_panels, n_per_panel)
    for i in range(0, len(e), chunk):
        sl = slice(i, i + chunk)
        width = (ub[sl] - ua[sl])[:, None]
        u = ua[sl][:, None] + width * x[None, :]
        t = -np.exp(u)
        val = dsigma_dt(e[sl][:, None], t) * (-t)
        out[sl] = np.sum(val * w[None, :], axis=1) * width[:, 0]
    return np.where(ub > ua, out, 0.0)


def tabulated(
    e: ArrayLike,
    sigma_direct: Callable[[Array], Array],
    e_threshold: float,
    n_table: int = 512,
    direct_below: int = 1024,
) -> Array:
    """Evaluate σ(E) directly for small arrays; for large ones tabulate on ``n_table`` energies
    log-spaced in E − E_th (between the smallest and largest requested values) and interpolate
    linearly in (ln(E − E_th), ln σ).  Zero below threshold."""
    e = np.asarray(e, float)
    flat = np.atleast_1d(e).ravel()
    out = np.zeros(flat.shape)
    above = flat > e_threshold
    if not np.any(above):
        return out.reshape(e.shape)
    ea = flat[above]
    if ea.size <= direct_below:
        out[above] = sigma_direct(ea)
        return out.reshape(e.shape)
    x = np.log(ea - e_threshold)
    grid = np.linspace(x.min(), x.max(), n_table)
    sig = sigma_direct(e_threshold + np.exp(grid))
    if np.all(sig > 0.0):
        out[above] = np.exp(np.interp(x, grid, np.log(sig)))
    else:
        out[above] = np.interp(x, grid, sig)
    return out.reshape(e.shape)


def sample_t(
    rng: np.random.Generator,
    e: Array,
    dsigma_dt: DsigmaDt,
    t_lo: Array,
    t_hi: Array,
    abs_t_cut: float = math.inf,
    n_grid: int = 400,
    chunk: int = 2048,
) -> Array:
    """Draw one t [MeV²] per event from dσ/dt on [t_lo, t_hi] (event-wise energies ``e``).

    Per event, the density in u = ln|t|, g(u) = |t| dσ/dt, is evaluated on ``n_grid`` equally
    spaced nodes and sampled exactly as the piecewise-linear interpolant (segment by its
    trapezoid weight, then the linear density inverted analytically).  The interpolation error
    of the shape is O(Δu²) (Δu = range/n_grid).  Events with zero cross section get t = t_hi."""
    e = np.asarray(e, float)
    n = len(e)
    out = np.array(t_hi, float, copy=True)
    ua, ub = _log_t_bounds(np.asarray(t_lo, float), np.asarray(t_hi, float), abs_t_cut)
    frac = np.linspace(0.0, 1.0, n_grid)
    for i in range(0, n, chunk):
        sl = slice(i, i + chunk)
        m = len(e[sl])
        du = (ub[sl] - ua[sl])[:, None]
        u = ua[sl][:, None] + du * frac[None, :]
        g = np.clip(dsigma_dt(e[sl][:, None], -np.exp(u)) * np.exp(u), 0.0, None)
        seg = 0.5 * (g[:, 1:] + g[:, :-1])
        cdf = np.cumsum(seg, axis=1)
        tot = cdf[:, -1]
        ok = (tot > 0.0) & (du[:, 0] > 0.0)
        r = rng.random(m) * np.where(ok, tot, 0.0)
        k = np.minimum(np.sum(cdf < r[:, None], axis=1), n_grid - 2)
        rows = np.arange(m)
        prev = np.where(k > 0, cdf[rows, np.maximum(k - 1, 0)], 0.0)
        w = np.where(seg[rows, k] > 0.0, (r - prev) / np.where(seg[rows, k] > 0, seg[rows, k], 1.0), 0.0)
        w = np.clip(w, 0.0, 1.0)
        g0, g1 = g[rows, k], g[rows, k + 1]
        root = np.sqrt(np.clip(g0 * g0 + w * (g1 * g1 - g0 * g0), 0.0, None))
        den = g0 + root
        x = np.where(den > 0.0, w * (g0 + g1) / np.where(den > 0.0, den, 1.0), w)
        uu = ua[sl] + du[:, 0] * (k + np.clip(x, 0.0, 1.0)) / (n_grid - 1)
        t = -np.exp(uu)
        out[sl] = np.where(ok, np.clip(t, np.asarray(t_lo)[sl], np.asarray(t_hi)[sl]), np.asarray(t_hi)[sl])
    return out


def scatter_lab(
    rng: np.random.Generator, p4_in: Array, t: Array, m_in: float, m_out: float, target_mass: float
) -> tuple[Array, Array]:
    """Lab four-momenta (N, 4) of the outgoing light particle b and of the recoiling target for
    a + T → b + T with T at rest, given the invariant t = (p_a − p_b)² = (p_T − p_T′)² [MeV²].

    E_b = E_a + t/(2M); the polar angle to the projectile direction follows from
    t = m_a² + m_b² − 2(E_a E_b − p_a p_b cos θ) (evaluated as 1 − cos θ without cancellation);
    the azimuth is uniform."""
    p4_in = np.asarray(p4_in, float).reshape(-1, 4)
    t = np.asarray(t, float)
    M = float(target_mass)
    if np.any(t > 0.0):
        raise KinematicsError("scatter_lab: t must be <= 0 for an elastic target recoil")
    e_a = p4_in[:, 0]
    pvec = p4_in[:, 1:]
    p_a = np.linalg.norm(pvec, axis=1)
    e_b = e_a + t / (2.0 * M)
    if np.any(e_b < m_out * (1.0 - 1e-12)):
        raise KinematicsError("scatter_lab: t outside the physical range (E_b < m_b)")
    p_b = np.sqrt(np.clip(e_b * e_b - m_out * m_out, 0.0, None))
    # 2 p_a p_b (1 − cos θ) = 2 p_a p_b − 2 E_a E_b + m_a² + m_b² − t, with
    # E_a E_b − p_a p_b = (m_a² E_b² + p_a² m_b²)/(E_a E_b + p_a p_b)·… written exactly below
    num_diff = (m_in * m_in * e_b * e_b + p_a * p_a * m_out * m_out) / (e_a * e_b + p_a * p_b)
    den = 2.0 * p_a * p_b
    one_minus_c = np.where(den > 0.0, (m_in * m_in + m_out * m_out - t - 2.0 * num_diff) / np.where(den > 0, den, 1.0), 1.0)
    one_minus_c = np.clip(one_minus_c, 0.0, 2.0)
    cos_t = 1.0 - one_minus_c
    sin_t = np.sqrt(one_minus_c * (2.0 - one_minus_c))
    phi = rng.uniform(0.0, 2.0 * np.pi, len(t))
    local = np.column_stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t]) * p_b[:, None]
    axis = np.where(p_a[:, None] > 0.0, pvec / np.where(p_a > 0.0, p_a, 1.0)[:, None], np.array([0.0, 0.0, 1.0]))
    p3 = rotate_to_axis(local, axis)
    out = np.column_stack([e_b, p3])
    recoil = np.column_stack([e_a + M - e_b, pvec - p3])
    return out, recoil
