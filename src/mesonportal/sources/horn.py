"""Vectorised tracking of mesons through the BNB magnetic horn (NumPy, all tracks at once).

Geometry (:class:`HornGeometry`, from the experiment's horn table, official BNB geometry by
default: SBNSoftware/G4BNB ``BooNE_50m.gdml``): four piecewise-conical surfaces — the inner
conductor's inner surface r_in(z) and outer surface r_out(z), the field region's outer radius
r_field_max(z) and the aluminium envelope r_conductor_max(z). Regions: the field region
(r_out < r < r_field_max, z in its planes' range; air with field), aluminium (the conductor
envelope outside the field region: inner-conductor wall, flares, end plates, outer conductor) and
field-free air (the bore r < r_in that holds the target, and everything outside the horn).

Field (physics.md §1): toroidal B = μ0 I / (2π r) φ̂ in the field region only; zero in the bore (no
enclosed current) and — approximation — in the aluminium (the skin-depth current distribution
inside the 3 mm wall is not modelled; see docs/sources.md). Sign: I > 0 means the
inner-conductor current flows along +z, so B ∥ +φ̂ and v × B points to −r̂ for q > 0:
I = +174 kA (ν mode) focuses π+/K+, −174 kA (ν̄ mode) focuses π−/K−, 0 (dump) no field.

Equation of motion dp/ds = q (p̂ × B) with p in MeV, B in T, s in cm:
0.299792458 GeV/c per (T·m) = 2.99792458 MeV/c per (T·cm). A step rotates p about B̂ (at the step
midpoint) by α = −2.99792458 q |B| ds / |p| and moves the track along the arc chord, so |p| is
conserved to rounding. The step is min(5 cm, max(0.5 cm, r/2), 0.2 rad / curvature). A step that
leaves the field region is cut at the boundary crossed by its chord (the rotation is scaled by
the same fraction). Outside the field, tracks move on straight lines from boundary to boundary
(crossings with the conical surfaces and the planes solved analytically); every straight segment
is reported to the forced-decay accumulator with its material ("conductor" for aluminium, where
mesons are absorbed with the aluminium interaction length, "air" otherwise).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

try:  # the compiled kernel behind np.interp (same arithmetic, without the wrapper's per-call checks)
    from numpy._core.multiarray import interp as _interp
except ImportError:  # pragma: no cover - other NumPy layouts
    _interp = np.interp

MEV_PER_T_CM = 2.99792458  # MeV/c of transverse momentum per tesla·cm, for unit charge
MU0_OVER_2PI_T_CM_PER_A = 2e-5  # μ0/(2π) in T·cm/A
INSIDE, FIELD, EXIT_DOWNSTREAM, STOPPED = 0, 1, 2, 3
#: region codes of :meth:`HornGeometry.region`
R_AIR, R_FIELD, R_AL = 0, 1, 2
_EPS = 1e-6  # cm: tracks are moved this far past a boundary
_MERGE_ROWS = 256  # straight jumps of at most this many tracks test all surfaces in one pass


def rotate(v: np.ndarray, axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues rotation of vectors v (N,3) about unit axes (N,3) by angles (N,) [rad]."""
    c = np.cos(angle)[:, None]
    s = np.sin(angle)[:, None]
    kv = np.sum(axis * v, axis=1)[:, None]
    return v * c + np.cross(axis, v) * s + axis * kv * (1.0 - c)


class _Surface:
    """A piecewise-conical surface r(z), z strictly increasing (target coordinates, cm)."""

    def __init__(self, z: np.ndarray, r: np.ndarray) -> None:
        self.z = np.asarray(z, dtype=float)
        self.r = np.asarray(r, dtype=float)
        self.k = np.diff(self.r) / np.diff(self.z)

    def __call__(self, z) -> np.ndarray:
        return _interp(np.asarray(z, dtype=float), self.z, self.r, np.nan, np.nan)

    def first_crossing(self, pos: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Smallest s > 0 at which pos + s d meets the surface within its z range (inf if none)."""
        return _first_crossing(pos, d, self.z[:-1], self.z[1:], self.r[:-1], self.k)


def _first_crossing(pos: np.ndarray, d: np.ndarray, z_a: np.ndarray, z_b: np.ndarray, r_a: np.ndarray,
                    slope: np.ndarray) -> np.ndarray:
    """Smallest s > 0 (cm) at which the lines pos + s d (N,3) meet any of the conical segments
    r = r_a + slope (z − z_a), z_a ≤ z ≤ z_b (1-D arrays, one entry per segment; inf if none).
    Each segment is tested on its own, so a table of several surfaces gives exactly the minimum
    of their separate first crossings (the same arithmetic per segment, one pass)."""
    return _segment_crossings(pos, d, z_a, z_b, r_a, slope).min(axis=1)


def _segment_crossings(pos: np.ndarray, d: np.ndarray, z_a: np.ndarray, z_b: np.ndarray, r_a: np.ndarray,
                       slope: np.ndarray) -> np.ndarray:
    """(N, segments) matrix of the smallest s > 0 (cm) at which each line meets each segment (inf
    if it does not); the per-pair arithmetic of :func:`_first_crossing`."""
    x0, y0, z0 = pos[:, 0:1], pos[:, 1:2], pos[:, 2:3]
    dx, dy, dz = d[:, 0:1], d[:, 1:2], d[:, 2:3]
    za, zb = z_a[None, :], z_b[None, :]
    k = slope[None, :]
    # the arithmetic of each (line, segment) pair is exactly that of the textbook form
    # r0 = r_a + k (z0 − z_a), a = dx² + dy² − (k dz)², b = 2 (x0 dx + y0 dy − r0 k dz),
    # c = x0² + y0² − r0², roots (−b ∓ √(b² − 4ac)) / 2a; computed in place (fewer temporaries)
    r0 = z0 - za
    r0 *= k
    r0 += r_a[None, :]
    kz = k * dz
    a = kz * kz
    np.subtract(dx * dx + dy * dy, a, out=a)
    b = r0 * kz
    np.subtract(x0 * dx + y0 * dy, b, out=b)
    b *= 2.0
    c = r0 * r0
    np.subtract(x0 * x0 + y0 * y0, c, out=c)
    disc = b * b
    disc -= (4.0 * a) * c
    ok = disc >= 0
    disc[~ok] = 0.0
    sq = np.sqrt(disc, out=disc)
    small = np.abs(a) < 1e-14
    any_small = bool(small.any())
    a2 = np.where(small, 1.0, a) if any_small else a
    a2 = 2 * a2
    nb = np.negative(b)
    # both roots in one (2, N, segments) array: each root's tests in one NumPy call per test
    roots = np.empty((2,) + b.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.subtract(nb, sq, out=roots[0])
        np.add(nb, sq, out=roots[1])
        roots /= a2
        if any_small:
            roots[0] = np.where(small, -c / np.where(np.abs(b) > 0, b, 1e-300), roots[0])
            roots[1][small] = np.inf
        zz = dz * roots
        zz += z0
        rr = kz * roots
        rr += r0  # radius of the cone at the hit (must be >= 0)
        good = roots > 1e-9
        good &= ok
        good &= zz >= za - 1e-9
        good &= zz <= zb + 1e-9
        good &= rr >= 0
        np.logical_not(good, out=good)
        roots[good] = np.inf
    # the nearer valid root (inf if neither is valid)
    return np.minimum(roots[0], roots[1])


class HornGeometry:
    """Horn surfaces in target coordinates (z = 0 at the target's upstream face), built from an
    experiment's :class:`~mesonportal.experiments.config.Horn`."""

    def __init__(self, horn) -> None:
        off = horn.z_offset_cm
        t = horn.table
        self.surf = {name: _Surface(z + off, r) for name, (z, r) in t.surfaces.items()}
        zc0, zc1 = t.conductor_z_range
        zf0, zf1 = t.field_z_range
        self.z_start, self.z_end = zc0 + off, zc1 + off
        self.zf_start, self.zf_end = zf0 + off, zf1 + off
        self.r_out = horn.outer_radius_cm  # largest field radius (cm)
        self.r_envelope = float(np.max(t.surfaces["r_conductor_max"][1]))  # outer radius of the horn (cm)
        self.horn = horn
        self._tables: dict[tuple[str, ...], tuple[np.ndarray, ...]] = {}
        self._planes = np.array([self.z_start, self.z_end, self.zf_start, self.zf_end], dtype=float)

    def r_in(self, z: np.ndarray) -> np.ndarray:
        """Inner surface of the inner conductor (cm) at target-frame z; NaN outside the conductor."""
        return self.surf["r_in"](z)

    def region(self, pos: np.ndarray) -> np.ndarray:
        """R_FIELD, R_AL or R_AIR for positions (N,3) (cm, target frame)."""
        return self._region_parts(pos)[0]

    def _region_parts(self, pos: np.ndarray) -> tuple[np.ndarray, ...]:
        """(region, r, z, r_in(z), r_out(z)) at positions (N,3): :meth:`region` with the radii it
        computes on the way (cm; NaN outside the surfaces' z range)."""
        z = pos[:, 2]
        r = np.hypot(pos[:, 0], pos[:, 1])
        rin, rout = self.surf["r_in"](z), self.surf["r_out"](z)
        with np.errstate(invalid="ignore"):
            in_f = (z >= self.zf_start) & (z <= self.zf_end)
            fld = in_f & (r > rout) & (r < self.surf["r_field_max"](z))
            in_c = (z >= self.z_start) & (z <= self.z_end)
            al = in_c & (r >= rin) & (r <= self.surf["r_conductor_max"](z)) & ~fld
        out = np.full(len(z), R_AIR, dtype=np.int8)
        out[fld] = R_FIELD
        out[al] = R_AL
        return out, r, z, rin, rout

    def in_field(self, pos: np.ndarray) -> np.ndarray:
        """True where positions (N,3) are in the field region (cheaper than :meth:`region`)."""
        z = pos[:, 2]
        r = np.hypot(pos[:, 0], pos[:, 1])
        with np.errstate(invalid="ignore"):
            return (r > self.surf["r_out"](z)) & (r < self.surf["r_field_max"](z))

    def _segments(self, surfaces) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Segment table (z_a, z_b, r_a, slope) of the named surfaces, concatenated (memoised):
        one :func:`_first_crossing` pass over it equals the minimum over the surfaces."""
        names = tuple(surfaces or self.surf)
        hit = self._tables.get(names)
        if hit is None:
            ss = [self.surf[n] for n in names]
            hit = tuple(np.concatenate(a) for a in zip(*((s.z[:-1], s.z[1:], s.r[:-1], s.k) for s in ss)))
            self._tables[names] = hit
        return hit

    def _surface_columns(self) -> dict[str, np.ndarray]:
        """Masks over the columns of ``_segments(None)``: the segments of r_in ("bore") and of r_in
        and r_out ("wall") (memoised)."""
        cols = getattr(self, "_cols", None)
        if cols is None:
            owner = np.concatenate([np.full(len(s.z) - 1, i) for i, s in enumerate(self.surf.values())])
            names = list(self.surf)
            cols = {"bore": owner == names.index("r_in"),
                    "wall": (owner == names.index("r_in")) | (owner == names.index("r_out"))}
            self._cols = cols
        return cols

    def next_boundary(self, pos: np.ndarray, d: np.ndarray, surfaces=None) -> np.ndarray:
        """Distance (cm) along straight lines to the next surface (all, or the names in
        ``surfaces``) or region plane (inf if none)."""
        s = _first_crossing(pos, d, *self._segments(surfaces))
        return self._planes_min(s, pos, d)

    def _planes_min(self, s: np.ndarray, pos: np.ndarray, d: np.ndarray) -> np.ndarray:
        """min(s, first crossing of the region planes ahead) (cm): the planes in one pass (the
        same value as replacing s plane by plane when a plane is finite, ahead and nearer)."""
        planes = self._planes
        with np.errstate(divide="ignore", invalid="ignore"):
            sp = planes[None, :] - pos[:, 2:3]
            sp /= d[:, 2:3]
            ok = sp > 1e-9
            ok &= np.isfinite(sp)
            sp[~ok] = np.inf
            np.minimum(s, sp.min(axis=1), out=s)
        return s


def field_tesla(pos: np.ndarray, horn, current_ka: float) -> tuple[np.ndarray, np.ndarray]:
    """|B| (T, signed by the current) and unit φ̂ at positions (N,3) (target frame, cm); zero
    outside the field region r_out(z) < r < r_field_max(z) of the horn table."""
    geom = horn if isinstance(horn, HornGeometry) else HornGeometry(horn)
    x, y = pos[:, 0], pos[:, 1]
    r = np.hypot(x, y)
    inside = geom.region(pos) == R_FIELD
    rs = np.where(r > 0, r, 1.0)
    b = np.where(inside, MU0_OVER_2PI_T_CM_PER_A * current_ka * 1e3 / rs, 0.0)
    phi = np.column_stack([-y / rs, x / rs, np.zeros_like(x)])
    return b, phi


def track_horn(
    pos: np.ndarray,
    mom: np.ndarray,
    charge: np.ndarray,
    geom: HornGeometry,
    current_ka: float,
    acc=None,
    idx: np.ndarray | None = None,
    *,
    ds_field_cm: float = 5.0,
    ds_neutral_cm: float = 20.0,
    max_angle: float = 0.2,
    max_iter: int = 5000,
    max_path_cm: float = 1000.0,
    max_steps: int = 250,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Track mesons (positions cm, momenta MeV, charges in units of e) through the horn.

    Returns (position, momentum, status) with status ``EXIT_DOWNSTREAM`` (passed the downstream
    plane of the conductor, z ≥ z_end) or ``STOPPED`` (left the horn upstream, or looped for more
    than ``max_path_cm`` of path in the field — slow mesons trapped in the toroidal field — or made
    more than ``max_steps`` steps (field steps and straight boundary-to-boundary jumps together, e.g. a
    slow meson skimming a conductor surface), or exceeded ``max_iter``). If ``acc`` is given, every
    path segment is reported to ``acc.segment(idx, p0, p1, mom0, axis, angle, length, category)``
    with category "conductor" (aluminium) or "air" (forced-decay bookkeeping).
    """
    pos = np.array(pos, dtype=float)
    mom = np.array(mom, dtype=float)
    q = np.asarray(charge, dtype=float)
    n = len(pos)
    if idx is None:
        idx = np.arange(n)
    pmag = np.linalg.norm(mom, axis=1)
    status = np.full(n, INSIDE, dtype=np.int8)
    status[geom.region(pos) == R_FIELD] = FIELD
    status[pos[:, 2] >= geom.z_end] = EXIT_DOWNSTREAM
    path = np.zeros(n)
    nstep = np.zeros(n, dtype=np.int32)
    for _ in range(max_iter):
        ins = np.nonzero(status == INSIDE)[0]
        fld = np.nonzero(status == FIELD)[0]
        if len(ins) == 0 and len(fld) == 0:
            break
        if len(ins):
            _straight_jump(pos, mom, pmag, status, ins, geom, acc, idx)
            nstep[ins] += 1
            status[ins[(nstep[ins] > max_steps) & (status[ins] != EXIT_DOWNSTREAM)]] = STOPPED
        if len(fld):
            path[fld] += _field_step(pos, mom, pmag, q, status, fld, geom, current_ka, acc, idx, ds_field_cm,
                                     ds_neutral_cm, max_angle)
            nstep[fld] += 1
            trapped = fld[((path[fld] > max_path_cm) | (nstep[fld] > max_steps)) & (status[fld] == FIELD)]
            status[trapped] = STOPPED
    else:  # pragma: no cover - safety net
        left = (status == INSIDE) | (status == FIELD)
        status[left] = STOPPED
    return pos, mom, status


def _after_move(p1: np.ndarray, d: np.ndarray, geom: HornGeometry) -> np.ndarray:
    """New tracking status at p1 for a track moving along d (after a boundary crossing)."""
    reg, r, z, _, _ = geom._region_parts(p1)
    new = np.where(reg == R_FIELD, FIELD, INSIDE).astype(np.int8)
    # through the outer conductor: into the shielding around the horn (stops there; the air gap to
    # the shielding is neglected)
    new[(reg == R_AIR) & (r >= geom.r_envelope) & (z < geom.z_end)] = STOPPED
    new[(z >= geom.z_end) & (d[:, 2] >= 0)] = EXIT_DOWNSTREAM
    new[(z <= geom.z_start) & (d[:, 2] <= 0)] = STOPPED  # leaves the horn upstream
    return new


def _straight_jump(pos, mom, pmag, status, sel, geom: HornGeometry, acc, idx) -> None:
    """Field-free straight flight (bore, aluminium, air around the horn) to the next boundary."""
    p0 = pos[sel]
    d = mom[sel] / pmag[sel, None]
    reg, r0, z0, rin0, rout0 = geom._region_parts(p0)
    # a track in the bore (air, r < r_in) can only meet r_in or a plane first; elsewhere test all surfaces
    with np.errstate(invalid="ignore"):
        bore = (reg == R_AIR) & (r0 < rin0)
        # in the inner-conductor wall (between r_in and r_out, inside the field region's z range) the
        # next boundary is r_in or r_out (or a plane)
        wall = (reg == R_AL) & (z0 > geom.zf_start) & (z0 < geom.zf_end) & (r0 < rout0)
    rest = ~(bore | wall)
    if len(sel) <= _MERGE_ROWS:
        # few tracks (the long tail of the tracking loop): one pass over all surfaces' segments, the
        # segments a track cannot meet first masked out; per (track, segment) the same arithmetic as
        # the separate passes below, so the same distances to the last bit, in fewer NumPy calls
        cols = geom._surface_columns()
        allowed = np.where(bore[:, None], cols["bore"][None, :], np.where(wall[:, None], cols["wall"][None, :], True))
        sm = _segment_crossings(p0, d, *geom._segments(None))
        sm[~allowed] = np.inf
        s = geom._planes_min(sm.min(axis=1), p0, d)
    else:
        s = np.empty(len(sel))
        for m, names in ((bore, ("r_in",)), (wall, ("r_in", "r_out")), (rest, None)):
            if m.any():
                s[m] = geom.next_boundary(p0[m], d[m], names)
    dz = d[:, 2]
    # no boundary ahead: flying upstream/sideways out of the horn (stopped) or parallel to z
    lost = ~np.isfinite(s)
    s = np.where(lost, 0.0, s)
    p1 = p0 + d * (s + _EPS)[:, None]
    if acc is not None:
        al = reg == R_AL
        for cat, m in (("conductor", al), ("air", ~al)):
            if np.any(m):
                j = np.nonzero(m)[0]
                acc.segment(idx[sel[j]], p0[j], p1[j], mom[sel[j]], None, None, s[j] + _EPS, cat)
    pos[sel] = p1
    new = _after_move(p1, d, geom)
    new[lost] = np.where(dz[lost] > 0, EXIT_DOWNSTREAM, STOPPED)
    status[sel] = new


def _rot_phi(v: np.ndarray, ax: np.ndarray, ay: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues rotation about horizontal unit axes (ax, ay, 0) (fast path for φ̂)."""
    c = np.cos(angle)
    s = np.sin(angle)
    vx, vy, vz = v[:, 0], v[:, 1], v[:, 2]
    kv = (ax * vx + ay * vy) * (1.0 - c)
    out = np.empty_like(v)
    out[:, 0] = vx * c + ay * vz * s + ax * kv
    out[:, 1] = vy * c - ax * vz * s + ay * kv
    out[:, 2] = vz * c + (ax * vy - ay * vx) * s
    return out


def _field_step(pos, mom, pmag, q, status, sel, geom: HornGeometry, current_ka, acc, idx, ds_field, ds_neutral,
                max_angle, r_step_fraction=0.5):
    p0 = pos[sel]
    m0 = mom[sel]
    pm = pmag[sel]
    qq = q[sel]
    i_amp = current_ka * 1e3
    x0, y0 = p0[:, 0], p0[:, 1]
    r0 = np.sqrt(x0 * x0 + y0 * y0)
    b0 = MU0_OVER_2PI_T_CM_PER_A * i_amp / np.maximum(r0, 1e-9)
    kappa = MEV_PER_T_CM * np.abs(qq * b0) / pm  # rad per cm
    charged = (qq != 0) & (current_ka != 0)
    ds = np.minimum(ds_field, np.maximum(0.5, r_step_fraction * r0))
    ds = np.minimum(ds, max_angle / np.maximum(kappa, 1e-30))
    if not charged.all():  # neutral tracks, or no current: straight steps of ds_neutral
        ds = np.where(charged, ds, ds_neutral)
    step = ds / pm
    mx = x0 + 0.5 * step * m0[:, 0]
    my = y0 + 0.5 * step * m0[:, 1]
    rm = np.maximum(np.sqrt(mx * mx + my * my), 1e-9)
    ax, ay = -my / rm, mx / rm
    alpha = (-MEV_PER_T_CM * MU0_OVER_2PI_T_CM_PER_A * i_amp) * qq * ds / (rm * pm)
    # one rotation by the full angle about the midpoint field direction; the position advances
    # along the mean of the old and new directions (the chord of the arc: second order in ds)
    m1 = _rot_phi(m0, ax, ay, alpha)
    turn = np.abs(alpha) > 1e-8
    chord = np.where(turn, np.sin(0.5 * alpha) / np.where(turn, np.cos(0.5 * alpha) * alpha, 1.0), 0.5)
    p1 = p0 + ((chord * step)[:, None]) * (m0 + m1)
    j = np.nonzero(~geom.in_field(p1))[0]  # steps leaving the field region
    if len(j):
        # cut the step where its chord leaves the field region; scale the rotation likewise
        frac = np.ones(len(sel))
        cv = p1[j] - p0[j]
        cl = np.linalg.norm(cv, axis=1)
        u = cv / np.maximum(cl, 1e-300)[:, None]
        sb = geom.next_boundary(p0[j], u)
        f = np.clip(np.where(np.isfinite(sb), sb, cl) / np.maximum(cl, 1e-300), 0.0, 1.0)
        frac[j] = f
        p1[j] = p0[j] + u * (f * cl + _EPS)[:, None]
        m1[j] = _rot_phi(m0[j], ax[j], ay[j], alpha[j] * f)
        alpha = alpha * frac
        ds = ds * frac
    if acc is not None:
        axis = np.zeros((len(sel), 3))
        axis[:, 0] = ax
        axis[:, 1] = ay
        acc.segment(idx[sel], p0, p1, m0, axis, alpha, ds, "air")
    pos[sel] = p1
    mom[sel] = m1
    if len(j):
        new = np.full(len(sel), FIELD, dtype=np.int8)
        new[j] = _after_move(p1[j], m1[j] / pm[j, None], geom)
        status[sel] = new
    # (no step left the field: the tracks' status stays FIELD)
    return ds


def drive(gen):
    """Run a generator that yields :class:`HornRequest` s (e.g.
    :func:`mesonportal.sources.transport._simulate_gen`) to its end, tracking each request on its
    own with :func:`track_horn`; returns the generator's value."""
    try:
        req = next(gen)
        while True:
            req = gen.send(track_horn(req.pos, req.mom, req.charge, req.geom, req.current_ka, req.acc, req.idx))
    except StopIteration as stop:
        return stop.value


class HornRequest(NamedTuple):
    """Tracks that one meson sample hands to :func:`~mesonportal.sources.horn.track_horn`
    (positions cm, momenta MeV, charges e, the horn current kA, the sample's forced-decay
    accumulator — or any object with its ``segment`` method — and the tracks' indices in it); the
    generator expects :func:`track_horn`'s (position, momentum, status) back."""

    pos: np.ndarray
    mom: np.ndarray
    charge: np.ndarray
    geom: HornGeometry
    current_ka: float
    acc: Any
    idx: np.ndarray
