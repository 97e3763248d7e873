"""Generic three-body decay machinery: Dalitz-plot widths, E_X spectra and exact sampling.

Particles (used for the meson → ℓ ν X channels, but nothing here depends on that):
``1`` = charged lepton, ``2`` = neutrino, ``3`` = dark particle X; parent mass ``M``.
Dalitz variables (PDG "Kinematics" review, Sec. 49.4.3.1):

    m²₁₃ = (p₁ + p₃)²,   m²₂₃ = (p₂ + p₃)²,   m²₁₂ = M² + m₁² + m₂² + m₃² − m²₁₃ − m²₂₃,

    dΓ = |M|² / (256 π³ M³) dm²₁₃ dm²₂₃        (|M|² spin-summed, couplings included),

so Γ is in MeV when |M|² is dimensionless (MeV⁰) as for a 1 → 3 amplitude.  In the parent rest
frame E₃ = (M² + m₃² − m²₁₂)/(2M), hence at fixed E_X (fixed m²₁₂, dm²₁₂ = 2M dE_X)

    dΓ/dE_X = 1/(128 π³ M²) ∫ dm²₂₃ |M|²        (dimensionless).

Numerics
--------
The Dalitz region is mapped onto the unit square (s, v):

* outer variable m²₁₃(s): ``w = (1 − cos π s)/2`` (removes the √ vanishing of the region's width
  at both ends, so Gauss–Legendre converges fast), then either linear in w or — when
  ``(m²₁₃,max − m₁²)/(m²₁₃,min − m₁²) > 8`` — logarithmic in ``m²₁₃ − m₁²``, which resolves the
  lepton-propagator peak ``1/(m²₁₃ − m₁²)²`` of radiative emission off particle 1;
* inner variable m²₂₃ = lo(m²₁₃) + v [hi(m²₁₃) − lo(m²₁₃)] (linear).

Widths use tensor Gauss–Legendre quadrature in (s, v).  Sampling is *exact accept–reject*:
the unit square is cut into ``n_s × n_v`` cells; each cell gets a constant envelope equal to
``safety`` (1.1) × the maximum of the mapped density on a 3 × 3 lattice of points in the cell
(corners, edge midpoints, centre); a cell is chosen with probability ∝ its envelope, a point is
drawn uniformly in it and accepted with probability density/envelope.  The only approximation is
the envelope: a point where the density exceeds it would be under-sampled.  Such points are
counted (:attr:`ThreeBodyTable.envelope_violations`).  For the π/K → ℓνX amplitudes of
:mod:`mesonportal.models.scalar` (μ and e, S and P, 1 keV ≤ m_X ≤ 300 MeV) the largest ratio of
the true density to the 3 × 3-lattice maximum found in 1.6e7 proposals is 1.0004, far inside
the factor 1.1, and no violation occurs (tested).  Acceptance ≈ 0.7.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from mesonportal.exceptions import KinematicsError, ParameterError
from mesonportal.kinematics import isotropic_directions

Array = NDArray[np.float64]
MsqFunction = Callable[[Array, Array], Array]

__all__ = ["dalitz_width", "dalitz_limits_23", "ThreeBodyTable", "MsqFunction"]

_LOG_MAP_RATIO = 8.0


def _check_masses(m_parent: float, m1: float, m2: float, m3: float) -> tuple[float, float, float, float]:
    out = []
    for name, v in (("m_parent", m_parent), ("m1", m1), ("m2", m2), ("m3", m3)):
        v = float(v)
        if not math.isfinite(v) or v < 0.0:
            raise ParameterError(f"three-body mass {name} = {v!r} must be finite and >= 0 MeV")
        out.append(v)
    if out[0] <= 0.0:
        raise ParameterError(f"three-body parent mass m_parent = {out[0]!r} must be > 0 MeV")
    return out[0], out[1], out[2], out[3]


def _is_open(m_parent: float, m1: float, m2: float, m3: float) -> bool:
    return m_parent > m1 + m2 + m3 * (1.0 + 1e-12) and m_parent - (m1 + m2 + m3) > 1e-9 * m_parent


def dalitz_limits_23(m_parent: float, m1: float, m2: float, m3: float, m2_13: Array) -> tuple[Array, Array]:
    """Range [lo, hi] of m²₂₃ (MeV²) at given m²₁₃ (MeV², array): PDG eq. (49.23) with the roles
    of 1 ↔ 2 relabelled (E₂*, E₃* evaluated in the (13) rest frame)."""
    x = np.asarray(m2_13, float)
    m13 = np.sqrt(np.clip(x, 1e-300, None))
    e3 = (x - m1 * m1 + m3 * m3) / (2.0 * m13)
    e2 = (m_parent * m_parent - x - m2 * m2) / (2.0 * m13)
    p3 = np.sqrt(np.clip(e3 * e3 - m3 * m3, 0.0, None))
    p2 = np.sqrt(np.clip(e2 * e2 - m2 * m2, 0.0, None))
    s = (e2 + e3) ** 2
    return s - (p2 + p3) ** 2, s - (p2 - p3) ** 2


class _Mapping:
    """Unit-square parametrisation of the Dalitz region (see the module docstring)."""

    def __init__(self, m_parent: float, m1: float, m2: float, m3: float) -> None:
        self.M, self.m1, self.m2, self.m3 = m_parent, m1, m2, m3
        self.a = (m1 + m3) ** 2
        self.b = (m_parent - m2) ** 2
        lo_rel = self.a - m1 * m1
        self.log = lo_rel > 0.0 and (self.b - m1 * m1) / lo_rel > _LOG_MAP_RATIO
        if self.log:
            self.x0 = lo_rel
            self.lnr = math.log((self.b - m1 * m1) / lo_rel)

    def outer(self, s: Array) -> tuple[Array, Array]:
        """m²₁₃(s) and dm²₁₃/ds."""
        w = 0.5 * (1.0 - np.cos(np.pi * s))
        dw = 0.5 * np.pi * np.sin(np.pi * s)
        if self.log:
            rel = self.x0 * np.exp(w * self.lnr)
            x = self.m1 * self.m1 + rel
            dx = rel * self.lnr * dw
        else:
            x = self.a + (self.b - self.a) * w
            dx = (self.b - self.a) * dw
        return np.clip(x, self.a, self.b), dx

    def point(self, s: Array, v: Array) -> tuple[Array, Array, Array]:
        """(m²₁₃, m²₂₃, Jacobian d(m²₁₃, m²₂₃)/d(s, v)) at unit-square points."""
        x, dx = self.outer(s)
        lo, hi = dalitz_limits_23(self.M, self.m1, self.m2, self.m3, x)
        y = lo + v * (hi - lo)
        return x, y, dx * (hi - lo)


@functools.lru_cache(maxsize=32)
def _gauss_legendre_01(n: int) -> tuple[Array, Array]:
    """Gauss–Legendre nodes and weights on [0, 1] (memoised: ``leggauss`` solves an eigenvalue
    problem, ≈ 7 % of the iDM chain's time when recomputed for every width; read-only arrays)."""
    x, w = gauss_legendre(int(n))
    t, wt = 0.5 * (x + 1.0), 0.5 * w
    t.flags.writeable = False
    wt.flags.writeable = False
    return t, wt


def gauss_legendre(n: int) -> tuple[Array, Array]:
    """``numpy.polynomial.legendre.leggauss(n)`` (nodes, weights on [−1, 1]), kept in the on-disk
    cache (``tables/gauss-legendre-N-numpy-VERSION.npy``, keyed by the NumPy version): computing
    96 nodes takes ≈ 25 ms — per table, i.e. a visible part of a fresh ``mesonportal predict`` —
    reading them back ≈ 0.1 ms, bitwise the same numbers."""
    from mesonportal import cache

    n = int(n)
    path = (cache.cache_dir() / "tables" / f"gauss-legendre-{n}-numpy-{np.__version__}.npy"
            if cache.cache_enabled() else None)
    if path is not None and path.is_file():
        try:
            xw = np.load(path, allow_pickle=False)
            if xw.shape == (2, n) and xw.dtype == np.float64:
                return xw[0].copy(), xw[1].copy()
        except Exception:  # corrupt entry: recompute  # noqa: BLE001
            pass
        path.unlink(missing_ok=True)
    x, w = np.polynomial.legendre.leggauss(n)
    if path is not None:
        cache.save_npy(path, np.stack([x, w]))
    return x, w


def _eval_msq(msq: MsqFunction, x: Array, y: Array) -> Array:
    val = np.asarray(msq(x, y), float)
    val = np.broadcast_to(val, np.shape(x))
    if not np.all(np.isfinite(val)):
        raise ParameterError("three-body |M|^2 returned a non-finite value inside the Dalitz region")
    return np.clip(val, 0.0, None)


def dalitz_width(m_parent: float, m1: float, m2: float, m3: float, msq: MsqFunction, n: int = 96) -> float:
    """Three-body width Γ [MeV] = 1/(256 π³ M³) ∫∫ |M|² dm²₁₃ dm²₂₃ (PDG kinematics review).

    ``msq(m2_13, m2_23)`` returns the spin-summed |M|² (couplings included) on NumPy arrays
    (MeV²).  Tensor Gauss–Legendre with ``n`` nodes per mapped variable (module docstring);
    returns 0.0 for a kinematically closed decay.  Negative |M|² (rounding) is clipped to 0.
    """
    m_parent, m1, m2, m3 = _check_masses(m_parent, m1, m2, m3)
    if not _is_open(m_parent, m1, m2, m3):
        return 0.0
    mp = _Mapping(m_parent, m1, m2, m3)
    t, w = _gauss_legendre_01(n)
    s, v = np.meshgrid(t, t, indexing="ij")
    x, y, jac = mp.point(s.ravel(), v.ravel())
    integrand = _eval_msq(msq, x, y) * jac
    total = float(np.sum(integrand * np.outer(w, w).ravel()))
    return total / (256.0 * math.pi**3 * m_parent**3)


class ThreeBodyTable:
    """Tabulated three-body decay M → 1 2 3 for one mass point: width, dΓ/dE₃ and a fast exact
    sampler of rest-frame four-momenta.

    Parameters
    ----------
    m_parent, m1, m2, m3:
        Masses in MeV (1 = charged lepton, 2 = neutrino, 3 = dark X for meson decays).
    msq:
        ``msq(m2_13, m2_23) -> |M|²`` spin-summed, couplings included (NumPy arrays, MeV²).
    n_grid:
        Number of sampling cells along the outer variable (the inner one gets ``n_grid // 2``).
    n_quad:
        Gauss–Legendre nodes per dimension for the width.
    safety:
        Envelope factor over the 3 × 3-lattice cell maximum (≥ 1).

    Attributes
    ----------
    is_open: bool
        False if M ≤ m₁ + m₂ + m₃ (then ``width`` is 0 and sampling raises KinematicsError).
    width: float
        Γ in MeV.
    envelope_violations, n_proposed: int
        Accept–reject bookkeeping: proposals whose density exceeded the cell envelope (these are
        the only deviation from the exact distribution) and total proposals so far.
    """

    def __init__(
        self,
        m_parent: float,
        m1: float,
        m2: float,
        m3: float,
        msq: MsqFunction,
        n_grid: int = 128,
        n_quad: int = 96,
        safety: float = 1.1,
    ) -> None:
        m_parent, m1, m2, m3 = _check_masses(m_parent, m1, m2, m3)
        if int(n_grid) < 4:
            raise ParameterError(f"n_grid = {n_grid!r} must be >= 4")
        if not (safety >= 1.0):
            raise ParameterError(f"safety = {safety!r} must be >= 1")
        self.m_parent, self.m1, self.m2, self.m3 = m_parent, m1, m2, m3
        self.msq = msq
        self.is_open = _is_open(m_parent, m1, m2, m3)
        self.envelope_violations = 0
        self.n_proposed = 0
        self._sum_m2 = m_parent**2 + m1**2 + m2**2 + m3**2
        self.width = 0.0
        self._cdf: Array | None = None
        if not self.is_open:
            return
        self.width = dalitz_width(m_parent, m1, m2, m3, msq, n=n_quad)
        self._map = _Mapping(m_parent, m1, m2, m3)
        ns, nv = int(n_grid), max(int(n_grid) // 2, 4)
        self._ns, self._nv = ns, nv
        # density on a lattice with half-cell spacing: (2 ns + 1) x (2 nv + 1) points
        s = np.linspace(0.0, 1.0, 2 * ns + 1)
        v = np.linspace(0.0, 1.0, 2 * nv + 1)
        ss, vv = np.meshgrid(s, v, indexing="ij")
        x, y, jac = self._map.point(ss.ravel(), vv.ravel())
        g = (_eval_msq(msq, x, y) * jac).reshape(ss.shape)
        # 3x3 maximum per cell
        gm = np.maximum(np.maximum(g[:-1:2], g[1::2]), g[2::2])  # (ns, 2nv+1)
        gm = np.maximum(np.maximum(gm[:, :-1:2], gm[:, 1::2]), gm[:, 2::2])  # (ns, nv)
        env = safety * gm.ravel()
        total = float(np.sum(env))
        self._env = env
        if total > 0.0:
            cdf = np.cumsum(env)
            self._cdf = cdf / cdf[-1]

    # ------------------------------------------------------------------ persistence
    def table_state(self) -> dict[str, np.ndarray]:
        """The arrays that define the table (everything but the |M|² callable), for the on-disk
        cache of :func:`cached_three_body_table`."""
        st = {"masses": np.array([self.m_parent, self.m1, self.m2, self.m3]),
              "is_open": np.array(self.is_open), "width": np.array(self.width)}
        if self.is_open:
            st.update(ns=np.array(self._ns), nv=np.array(self._nv), env=self._env)
            if self._cdf is not None:
                st["cdf"] = self._cdf
        return st

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], msq: MsqFunction) -> "ThreeBodyTable":
        """Rebuild a table from :meth:`table_state` and the same |M|² callable."""
        self = cls.__new__(cls)
        m_parent, m1, m2, m3 = (float(v) for v in state["masses"])
        self.m_parent, self.m1, self.m2, self.m3 = m_parent, m1, m2, m3
        self.msq = msq
        self.is_open = bool(state["is_open"])
        self.envelope_violations = 0
        self.n_proposed = 0
        self._sum_m2 = m_parent**2 + m1**2 + m2**2 + m3**2
        self.width = float(state["width"])
        self._cdf = None
        if self.is_open:
            self._map = _Mapping(m_parent, m1, m2, m3)
            self._ns, self._nv = int(state["ns"]), int(state["nv"])
            self._env = np.asarray(state["env"], float)
            if "cdf" in state:
                self._cdf = np.asarray(state["cdf"], float)
        return self

    # ------------------------------------------------------------------ spectra
    @property
    def e3_range(self) -> tuple[float, float]:
        """Kinematic range of E₃ (= E_X) in the parent rest frame, MeV."""
        M = self.m_parent
        return self.m3, (M * M + self.m3**2 - (self.m1 + self.m2) ** 2) / (2.0 * M)

    def dgamma_dex(self, e_x, n: int = 48) -> np.ndarray:
        """dΓ/dE_X (dimensionless: MeV per MeV) at rest-frame energies ``e_x`` [MeV] of particle 3;
        zero outside the kinematic range or for a closed decay.  Gauss–Legendre in m²₂₃ at fixed
        m²₁₂ = M² + m₃² − 2 M E_X."""
        e = np.atleast_1d(np.asarray(e_x, float))
        out = np.zeros_like(e)
        if not self.is_open:
            return out.reshape(np.shape(e_x))
        lo_e, hi_e = self.e3_range
        ok = (e > lo_e) & (e < hi_e)
        if np.any(ok):
            M, m1, m2, m3 = self.m_parent, self.m1, self.m2, self.m3
            x12 = M * M + m3 * m3 - 2.0 * M * e[ok]
            m12 = np.sqrt(np.clip(x12, 1e-300, None))
            e2 = (x12 - m1 * m1 + m2 * m2) / (2.0 * m12)
            e3 = (M * M - x12 - m3 * m3) / (2.0 * m12)
            p2 = np.sqrt(np.clip(e2 * e2 - m2 * m2, 0.0, None))
            p3 = np.sqrt(np.clip(e3 * e3 - m3 * m3, 0.0, None))
            lo = (e2 + e3) ** 2 - (p2 + p3) ** 2
            hi = (e2 + e3) ** 2 - (p2 - p3) ** 2
            t, w = _gauss_legendre_01(n)
            y = lo[:, None] + t[None, :] * (hi - lo)[:, None]
            x = self._sum_m2 - x12[:, None] - y
            val = _eval_msq(self.msq, x, y)
            out[ok] = (val @ w) * (hi - lo) / (128.0 * math.pi**3 * M * M)
        return out.reshape(np.shape(e_x))

    # ------------------------------------------------------------------ sampling
    def _sample_dalitz(self, rng: np.random.Generator, n: int) -> tuple[Array, Array]:
        """Exact accept–reject samples of (m²₁₃, m²₂₃)."""
        if not self.is_open:
            raise KinematicsError(
                f"cannot sample a closed three-body decay (M = {self.m_parent} MeV <= "
                f"m1 + m2 + m3 = {self.m1 + self.m2 + self.m3} MeV)"
            )
        if self._cdf is None:
            raise KinematicsError("cannot sample a three-body decay whose |M|^2 vanishes everywhere")
        xs, ys = [], []
        need = int(n)
        eff = 0.7
        while need > 0:
            m = int(need / eff * 1.1) + 16
            cell = np.searchsorted(self._cdf, rng.random(m), side="right")
            cell = np.minimum(cell, len(self._cdf) - 1)
            i, j = np.divmod(cell, self._nv)
            s = (i + rng.random(m)) / self._ns
            v = (j + rng.random(m)) / self._nv
            x, y, jac = self._map.point(s, v)
            g = _eval_msq(self.msq, x, y) * jac
            env = self._env[cell]
            self.n_proposed += m
            self.envelope_violations += int(np.count_nonzero(g > env))
            acc = rng.random(m) * env < g
            na = int(np.count_nonzero(acc))
            eff = max(na / m, 0.05)
            xs.append(x[acc][:need])
            ys.append(y[acc][:need])
            need -= min(na, need)
        return np.concatenate(xs), np.concatenate(ys)

    def _energies(self, x13: Array, x23: Array) -> tuple[Array, Array, Array]:
        M = self.m_parent
        x12 = self._sum_m2 - x13 - x23
        e1 = (M * M + self.m1**2 - x23) / (2.0 * M)
        e2 = (M * M + self.m2**2 - x13) / (2.0 * M)
        e3 = (M * M + self.m3**2 - x12) / (2.0 * M)
        return e1, e2, e3

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` decays in the parent rest frame, randomly (uniformly on SO(3)) oriented:
        four-momenta ``(p1, p2, p3)``, each (n, 4) [MeV], distributed as |M|² × phase space.
        Σ p = (M, 0, 0, 0) holds to rounding."""
        x13, x23 = self._sample_dalitz(rng, n)
        e1, e2, e3 = self._energies(x13, x23)
        q1 = np.sqrt(np.clip(e1 * e1 - self.m1**2, 0.0, None))
        q2sq = np.clip(e2 * e2 - self.m2**2, 0.0, None)
        q3 = np.sqrt(np.clip(e3 * e3 - self.m3**2, 0.0, None))
        denom = 2.0 * q1 * q3
        cos13 = np.where(denom > 0, (q2sq - q1 * q1 - q3 * q3) / np.where(denom > 0, denom, 1.0), 1.0)
        cos13 = np.clip(cos13, -1.0, 1.0)
        sin13 = np.sqrt(1.0 - cos13 * cos13)
        # direction of particle 3 (cos θ, φ) with its orthonormal companions a = ∂d/∂θ, b = ∂d/∂φ/sinθ,
        # then particle 1 at angle θ₁₃ from it and uniform azimuth ψ: uniform over SO(3)
        m = len(x13)
        ct = rng.uniform(-1.0, 1.0, m)
        st = np.sqrt(1.0 - ct * ct)
        phi = rng.uniform(0.0, 2.0 * np.pi, m)
        cp, sp = np.cos(phi), np.sin(phi)
        p1 = np.empty((m, 4))
        p2 = np.empty((m, 4))
        p3 = np.empty((m, 4))
        psi = rng.uniform(0.0, 2.0 * np.pi, m)
        cps, sps = np.cos(psi), np.sin(psi)
        d = (st * cp, st * sp, ct)
        perp = (cps * ct * cp - sps * sp, cps * ct * sp + sps * cp, -cps * st)
        a1, b1 = q1 * cos13, q1 * sin13
        p1[:, 0], p2[:, 0], p3[:, 0] = e1, e2, e3
        for k in range(3):
            p3[:, k + 1] = q3 * d[k]
            p1[:, k + 1] = a1 * d[k] + b1 * perp[k]
            p2[:, k + 1] = -(p1[:, k + 1] + p3[:, k + 1])
        return p1, p2, p3

    def sample_dark(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` four-momenta (n, 4) [MeV] of particle 3 only, in the parent rest frame,
        isotropic.  Same distribution as ``sample(rng, n)[2]``, cheaper."""
        x13, x23 = self._sample_dalitz(rng, n)
        _, _, e3 = self._energies(x13, x23)
        q3 = np.sqrt(np.clip(e3 * e3 - self.m3**2, 0.0, None))
        d = isotropic_directions(rng, len(x13))
        return np.column_stack([e3, q3[:, None] * d])

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Alias of :meth:`sample_dark`, so a table is a ``RestFrameSampler``."""
        return self.sample_dark(rng, n)


def cached_three_body_table(key: dict, m_parent: float, m1: float, m2: float, m3: float, msq: MsqFunction,
                            **table_options) -> ThreeBodyTable:
    """A :class:`ThreeBodyTable` whose arrays are stored in the on-disk cache
    (:mod:`mesonportal.cache`), content-addressed by ``key`` (everything that defines |M|²,
    e.g. form factors and masses), the masses and the table options.  Building a table for an
    expensive |M|² (explicit Dirac traces) takes seconds; reloading it takes milliseconds, in
    any process (Dask workers included)."""
    from mesonportal import cache

    ck = cache.cache_key("three-body-table", key=key, masses=[m_parent, m1, m2, m3], options=table_options)
    path = cache.cache_dir() / "tables" / f"three-body-{ck}.npz" if cache.cache_enabled() else None
    if path is not None and path.is_file():
        try:
            with np.load(path) as z:
                return ThreeBodyTable.from_state(dict(z), msq)
        except Exception:  # corrupt entry: rebuild  # noqa: BLE001
            path.unlink(missing_ok=True)
    table = ThreeBodyTable(m_parent, m1, m2, m3, msq, **table_options)
    if path is not None:
        cache.save_arrays(path, table.table_state())
    return table
