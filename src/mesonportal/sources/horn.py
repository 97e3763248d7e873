"""Vectorised tracking of mesons through the BNB magnetic horn (NumPy, all tracks at once).

Field (physics.md §1): toroidal B = μ0 I / (2π r) φ̂ between the inner conductor r_in(z)
(``Horn.inner_radius``) and the outer conductor r = ``outer_radius_cm``; zero inside the inner
conductor (no enclosed current) and outside the horn's z range. Sign: I > 0 means the
inner-conductor current flows along +z, so B ∥ +φ̂ and v × B points to −r̂ for q > 0: I = +174 kA
(ν mode) focuses π+/K+, −174 kA (ν̄ mode) focuses π−/K−, 0 (dump) no field.

Equation of motion dp/ds = q (p̂ × B) with p in MeV, B in T, s in cm:
0.299792458 GeV/c per (T·m) = 2.99792458 MeV/c per (T·cm). A step rotates p about B̂ (at the step midpoint) by
α = −2.99792458 q |B| ds / |p| and moves the track along the arc chord, so |p| is conserved to
rounding. The step is min(5 cm, max(0.5 cm, r/2), 0.2 rad / curvature): halving it changes the
fraction of tracks leaving within 10 or 30 mrad by < 0.2% (checked on 2e5 π+).  Inside the inner conductor the field is zero and tracks move on straight lines; the
crossing with the piecewise-conical conductor surface is solved analytically.

Conductor crossings: the inner conductor is aluminium of thickness t; a crossing meson survives
with probability exp(−ℓ/λ_I), ℓ = t / |d̂·n̂| (n̂ the surface normal; ℓ capped at
:data:`MAX_CONDUCTOR_PATH_CM` for grazing tracks).
"""

from __future__ import annotations

import numpy as np

MEV_PER_T_CM = 2.99792458  # MeV/c of transverse momentum per tesla·cm, for unit charge
MU0_OVER_2PI_T_CM_PER_A = 2e-5  # μ0/(2π) in T·cm/A
MAX_CONDUCTOR_PATH_CM = 20.0
INSIDE, FIELD, EXIT_DOWNSTREAM, STOPPED = 0, 1, 2, 3


def rotate(v: np.ndarray, axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues rotation of vectors v (N,3) about unit axes (N,3) by angles (N,) [rad]."""
    c = np.cos(angle)[:, None]
    s = np.sin(angle)[:, None]
    kv = np.sum(axis * v, axis=1)[:, None]
    return v * c + np.cross(axis, v) * s + axis * kv * (1.0 - c)


def field_tesla(pos: np.ndarray, horn, current_ka: float) -> tuple[np.ndarray, np.ndarray]:
    """|B| (T, signed by the current) and unit φ̂ at positions (N,3); zero outside the field
    region r_in(z) < r < r_out, z in the horn range."""
    x, y, z = pos[:, 0], pos[:, 1], pos[:, 2]
    r = np.hypot(x, y)
    rin = horn.inner_radius(z)
    inside = (r > np.nan_to_num(rin, nan=np.inf)) & (r < horn.outer_radius_cm)
    rs = np.where(r > 0, r, 1.0)
    b = np.where(inside, MU0_OVER_2PI_T_CM_PER_A * current_ka * 1e3 / rs, 0.0)
    phi = np.column_stack([-y / rs, x / rs, np.zeros_like(x)])
    return b, phi


class HornGeometry:
    """Pre-computed cone segments of the inner conductor (target-frame z)."""

    def __init__(self, horn) -> None:
        prof = horn.inner_radius_profile
        self.z = prof[:, 0] + horn.z_offset_cm
        self.r = prof[:, 1]
        self.k = np.diff(self.r) / np.diff(self.z)
        self.z_start, self.z_end = float(self.z[0]), float(self.z[-1])
        self.r_out = horn.outer_radius_cm
        self.t = horn.inner_conductor_thickness_cm
        self.lam = horn.inner_conductor_absorption_length_cm
        self.horn = horn

    def r_in(self, z: np.ndarray) -> np.ndarray:
        return np.interp(z, self.z, self.r)

    def slope(self, z: np.ndarray) -> np.ndarray:
        j = np.clip(np.searchsorted(self.z, z, side="right") - 1, 0, len(self.k) - 1)
        return self.k[j]

    def crossing_survival(self, pos: np.ndarray, d: np.ndarray) -> np.ndarray:
        """exp(−ℓ/λ) for crossing the inner conductor at pos with direction d."""
        if self.t <= 0 or not np.isfinite(self.lam):
            return np.ones(len(pos))
        r = np.hypot(pos[:, 0], pos[:, 1])
        rs = np.where(r > 0, r, 1.0)
        k = self.slope(pos[:, 2])
        dn = (d[:, 0] * pos[:, 0] / rs + d[:, 1] * pos[:, 1] / rs - k * d[:, 2]) / np.sqrt(1.0 + k * k)
        path = np.minimum(self.t / np.maximum(np.abs(dn), 1e-12), MAX_CONDUCTOR_PATH_CM)
        return np.exp(-path / self.lam)

    def first_crossing(self, pos: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Smallest s > 0 at which the straight line pos + s d meets r = r_in(z) inside the
        horn's z range (inf if none)."""
        x0, y0, z0 = pos[:, 0:1], pos[:, 1:2], pos[:, 2:3]
        dx, dy, dz = d[:, 0:1], d[:, 1:2], d[:, 2:3]
        za, zb = self.z[None, :-1], self.z[None, 1:]
        k = self.k[None, :]
        r0 = self.r[None, :-1] + k * (z0 - za)
        kz = k * dz
        a = dx * dx + dy * dy - kz * kz
        b = 2.0 * (x0 * dx + y0 * dy - r0 * kz)
        c = x0 * x0 + y0 * y0 - r0 * r0
        disc = b * b - 4.0 * a * c
        ok = disc >= 0
        sq = np.sqrt(np.where(ok, disc, 0.0))
        small = np.abs(a) < 1e-14
        a_s = np.where(small, 1.0, a)
        s1 = np.where(small, -c / np.where(np.abs(b) > 0, b, 1e-300), (-b - sq) / (2 * a_s))
        s2 = np.where(small, np.inf, (-b + sq) / (2 * a_s))
        best = np.full(s1.shape, np.inf)
        with np.errstate(invalid="ignore"):
            return self._pick(s1, s2, best, ok, z0, dz, za, zb, r0, kz)

    @staticmethod
    def _pick(s1, s2, best, ok, z0, dz, za, zb, r0, kz):
        for s in (s1, s2):
            zz = z0 + dz * s
            rr = r0 + kz * s  # radius of the cone at the hit (must be >= 0)
            good = ok & (s > 1e-9) & (zz >= za - 1e-9) & (zz <= zb + 1e-9) & (rr >= 0)
            best = np.where(good & (s < best), s, best)
        return best.min(axis=1)


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

    Tracks start anywhere with z ≥ 0 (typically at the target surface). Returns
    (position, momentum, status) with status ``EXIT_DOWNSTREAM`` (left the horn at z ≥ z_end,
    inside the outer conductor) or ``STOPPED`` (hit the outer conductor, the upstream end,
    or looped for more than ``max_path_cm`` of path in the field, e.g. slow mesons trapped in
    the toroidal field, or made more than ``max_steps`` field steps, or exceeded ``max_iter``). If ``acc`` is given, every path segment is reported to
    ``acc.segment(idx, p0, p1, mom0, axis, angle, length, category)`` and every conductor
    crossing to ``acc.scale(idx, survival, "conductor")`` (forced-decay bookkeeping).
    """
    pos = np.array(pos, dtype=float)
    mom = np.array(mom, dtype=float)
    q = np.asarray(charge, dtype=float)
    n = len(pos)
    if idx is None:
        idx = np.arange(n)
    pmag = np.linalg.norm(mom, axis=1)
    status = np.full(n, INSIDE, dtype=np.int8)
    r = np.hypot(pos[:, 0], pos[:, 1])
    inz = (pos[:, 2] >= geom.z_start) & (pos[:, 2] < geom.z_end)
    status[inz & (r > geom.r_in(pos[:, 2])) & (r < geom.r_out)] = FIELD
    status[(pos[:, 2] >= geom.z_end) & (r < geom.r_out)] = EXIT_DOWNSTREAM
    status[(r >= geom.r_out)] = STOPPED
    path = np.zeros(n)
    nstep = np.zeros(n, dtype=np.int32)
    for _ in range(max_iter):
        ins = np.nonzero(status == INSIDE)[0]
        fld = np.nonzero(status == FIELD)[0]
        if len(ins) == 0 and len(fld) == 0:
            break
        if len(ins):
            _inside_jump(pos, mom, pmag, status, ins, geom, acc, idx)
        if len(fld):
            path[fld] += _field_step(pos, mom, pmag, q, status, fld, geom, current_ka, acc, idx, ds_field_cm, ds_neutral_cm, max_angle)
            nstep[fld] += 1
            trapped = fld[((path[fld] > max_path_cm) | (nstep[fld] > max_steps)) & (status[fld] == FIELD)]
            status[trapped] = STOPPED
    else:  # pragma: no cover - safety net
        left = (status == INSIDE) | (status == FIELD)
        status[left] = STOPPED
    return pos, mom, status


def _inside_jump(pos, mom, pmag, status, sel, geom: HornGeometry, acc, idx) -> None:
    """Field-free straight flight inside the inner conductor to the next surface."""
    p0 = pos[sel]
    d = mom[sel] / pmag[sel, None]
    z0 = p0[:, 2]
    dz = d[:, 2]
    # upstream of the horn: fly to the horn entrance plane
    up = z0 < geom.z_start
    s_cross = np.where(up, np.inf, geom.first_crossing(p0, d))
    with np.errstate(divide="ignore", invalid="ignore"):
        s_end = np.where(dz > 0, (geom.z_end - z0) / dz, np.inf)
        s_up = np.where(dz < 0, (geom.z_start - z0) / dz, np.inf)
        s_entr = np.where(up & (dz > 0), (geom.z_start - z0) / dz, np.inf)
    s_up = np.where(up, np.where(dz > 0, np.inf, 0.0), s_up)
    s = np.minimum.reduce([s_cross, s_end, s_up, s_entr])
    s = np.where(np.isfinite(s), s, 0.0)
    p1 = p0 + d * s[:, None]
    if acc is not None:
        acc.segment(idx[sel], p0, p1, mom[sel], None, None, s, "air")
    pos[sel] = p1
    new = np.full(len(sel), STOPPED, dtype=np.int8)
    crossed = (s_cross <= np.minimum.reduce([s_end, s_up, s_entr])) & np.isfinite(s_cross)
    entered = (~crossed) & up & (s_entr <= s_up)
    exited = (~crossed) & (~up) & (s_end <= s_up) & np.isfinite(s_end)
    new[exited] = EXIT_DOWNSTREAM
    # entering the horn upstream face: inside the conductor aperture -> keep flying inside
    if np.any(entered):
        r1 = np.hypot(p1[entered, 0], p1[entered, 1])
        new[np.nonzero(entered)[0][r1 < geom.r_in(np.full(len(r1), geom.z_start))]] = INSIDE
        # beyond the aperture: hits the horn end plate (stopped)
        p1[entered, 2] = np.nextafter(geom.z_start, np.inf)
        pos[sel[entered]] = p1[entered]
    if np.any(crossed):
        c = np.nonzero(crossed)[0]
        surv = geom.crossing_survival(p1[c], d[c])
        if acc is not None:
            acc.scale(idx[sel[c]], surv, "conductor")
        pos[sel[c]] = p1[c] + d[c] * 1e-6
        new[c] = FIELD
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


def _field_step(pos, mom, pmag, q, status, sel, geom: HornGeometry, current_ka, acc, idx, ds_field, ds_neutral, max_angle,
                r_step_fraction=0.5):
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
    ds = np.where(charged, np.minimum(ds_field, np.maximum(0.5, r_step_fraction * r0)), ds_neutral)
    ds = np.where(charged, np.minimum(ds, max_angle / np.maximum(kappa, 1e-30)), ds)
    step = ds / pm
    mx = x0 + 0.5 * step * m0[:, 0]
    my = y0 + 0.5 * step * m0[:, 1]
    rm = np.maximum(np.sqrt(mx * mx + my * my), 1e-9)
    ax, ay = -my / rm, mx / rm
    alpha = (-MEV_PER_T_CM * MU0_OVER_2PI_T_CM_PER_A * i_amp) * qq * ds / (rm * pm)
    # one rotation by the full angle about the midpoint field direction; the position advances
    # along the mean of the old and new directions (the chord of the arc: second order in ds)
    m1 = _rot_phi(m0, ax, ay, alpha)
    chord = np.where(np.abs(alpha) > 1e-8, np.sin(0.5 * alpha) / np.where(np.abs(alpha) > 1e-8, np.cos(0.5 * alpha) * alpha, 1.0), 0.5)
    p1 = p0 + ((chord * step)[:, None]) * (m0 + m1)
    if acc is not None:
        acc.segment(idx[sel], p0, p1, m0, np.column_stack([ax, ay, np.zeros_like(ax)]), alpha, ds, "air")
    pos[sel] = p1
    mom[sel] = m1
    z1 = p1[:, 2]
    r1 = np.hypot(p1[:, 0], p1[:, 1])
    new = np.full(len(sel), FIELD, dtype=np.int8)
    down = z1 >= geom.z_end
    new[down] = EXIT_DOWNSTREAM
    out = (~down) & (r1 >= geom.r_out)
    new[out] = STOPPED
    upst = (~down) & (~out) & (z1 < geom.z_start)
    new[upst] = STOPPED
    inw = (~down) & (~out) & (~upst) & (r1 <= geom.r_in(z1))
    if np.any(inw):
        c = np.nonzero(inw)[0]
        surv = geom.crossing_survival(p1[c], m1[c] / pm[c, None])
        if acc is not None:
            acc.scale(idx[sel[c]], surv, "conductor")
        new[c] = INSIDE
    status[sel] = new
    return ds
