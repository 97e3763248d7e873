"""Straight-line geometry for spherical detectors (cm), vectorised over event arrays.

Used for Standard-Model neutrinos and for dark particles alike: a particle leaves a point
(its production or decay vertex) along a unit direction and either crosses a sphere (the
detector) or not.  All functions take ``(N, 3)`` arrays and return ``(N,)`` arrays; nothing here
knows about physics or experiments.

Conventions
-----------
* A *ray* starts at ``origin`` and runs forward only (distance ``t >= 0``).
* Distances along the ray are in the units of the inputs (the package uses cm).
* Rays that miss (or spheres entirely behind the origin) have ``hit = False`` and
  ``entry = exit = chord = 0`` -- never NaN or infinity, so that expressions such as
  ``exp(-entry/L) * (1 - exp(-chord/L))`` evaluate to zero for misses without special cases.
* A ray starting inside the sphere has ``entry = 0`` and ``chord = exit``.

The quadratic is solved in the closest-approach form
``t_ca = -(o - c)·d``, ``b² = |(o - c) + t_ca d|²``, ``half = sqrt(R² - b²)``, which avoids the
catastrophic cancellation of ``B² - C`` for distant spheres (541 m away, R = 6 m).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mesonportal.exceptions import ParameterError

Array = NDArray[np.float64]

__all__ = [
    "RayIntersection",
    "Cone",
    "ray_sphere_intersection",
    "cone_to_sphere",
    "sample_directions_in_cone",
    "sphere_volume",
    "orthonormal_frame",
    "ConeFrame",
    "cone_frame",
    "cone_frame_components",
    "sample_unit_disc",
    "cone_sample_chords",
]


class RayIntersection(NamedTuple):
    """Result of :func:`ray_sphere_intersection`; every field has shape (N,).

    entry, exit : distance (cm) from the origin to where the ray enters / leaves the sphere
    chord       : ``exit - entry`` = path length inside the sphere (cm), 0 if missed
    hit         : True where the chord is positive
    """

    entry: Array
    exit: Array
    chord: Array
    hit: NDArray[np.bool_]


class Cone(NamedTuple):
    """Cone of directions from a point towards a sphere; every field has shape (N,) or (N, 3).

    axis            : (N, 3) unit vector from the point to the sphere centre
    cos_half_angle  : cos α, α = asin(R / D); −1 for points inside the sphere (all directions)
    one_minus_cos   : 1 − cos α computed without cancellation (≈ R²/2D² far away)
    solid_angle     : Ω = 2π (1 − cos α) in sr (4π for points inside)
    """

    axis: Array
    cos_half_angle: Array
    one_minus_cos: Array
    solid_angle: Array


def sphere_volume(radius: float) -> float:
    """Volume 4/3 π R³ (cm³ for R in cm)."""
    return 4.0 / 3.0 * np.pi * float(radius) ** 3


def _check_sphere(center: ArrayLike, radius: float) -> tuple[Array, float]:
    c = np.asarray(center, dtype=np.float64).reshape(-1)
    if c.shape != (3,) or not np.all(np.isfinite(c)):
        raise ParameterError("sphere centre must be 3 finite numbers (cm)")
    r = float(radius)
    if not np.isfinite(r) or r <= 0.0:
        raise ParameterError(f"sphere radius = {radius!r} must be a finite number > 0 (cm)")
    return c, r


def _as_points(a: ArrayLike, name: str) -> Array:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 3:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ParameterError(f"{name} must have shape (N, 3), got {arr.shape}")
    return arr


def ray_sphere_intersection(
    origins: ArrayLike, directions: ArrayLike, center: ArrayLike, radius: float
) -> RayIntersection:
    """Exact intersection of forward rays with a sphere.

    Parameters
    ----------
    origins : (N, 3) cm
        Start points of the rays.
    directions : (N, 3)
        **Unit** direction vectors (not re-normalised; a non-unit vector gives distances in
        units of its length).
    center : (3,) cm, radius : cm
        The sphere.

    Returns
    -------
    RayIntersection
        ``entry``, ``exit``, ``chord`` (cm) and ``hit``; see the module conventions (misses
        give zeros, origins inside give ``entry = 0``).
    """
    c, r = _check_sphere(center, radius)
    o = _as_points(origins, "origins")
    d = _as_points(directions, "directions")
    if len(o) != len(d):
        raise ParameterError(f"origins ({len(o)}) and directions ({len(d)}) must have equal length")
    # component-wise (no (N, 3) temporaries); dot products summed as einsum("ij,ij->i") does,
    # (x x' + z z') + y y' (bit-identical to the (N, 3) form, tests/test_forced_identity.py)
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    rx = o[:, 0] - c[0]  # centre -> origin
    ry = o[:, 1] - c[1]
    rz = o[:, 2] - c[2]
    t_ca = rx * dx
    t_ca += rz * dz
    t_ca += ry * dy
    np.negative(t_ca, out=t_ca)  # distance to the point of closest approach
    tmp = t_ca * dx
    rx += tmp
    np.multiply(t_ca, dy, out=tmp)
    ry += tmp
    np.multiply(t_ca, dz, out=tmp)
    rz += tmp  # r = perpendicular offset at closest approach
    h2 = np.multiply(rx, rx, out=rx)
    h2 += np.multiply(rz, rz, out=rz)
    h2 += np.multiply(ry, ry, out=ry)  # b²
    np.subtract(r * r, h2, out=h2)
    half = np.clip(h2, 0.0, None, out=tmp)
    np.sqrt(half, out=half)
    t2 = t_ca + half
    hit = h2 > 0.0
    hit &= t2 > 0.0
    # entry = max(t_ca − half, 0) on hits; exit = t2 on hits; zeros elsewhere
    entry = np.subtract(t_ca, half, out=t_ca)
    np.maximum(entry, 0.0, out=entry)
    if not hit.all():
        miss = ~hit
        entry[miss] = 0.0
        t2[miss] = 0.0
    exit_ = t2
    chord = exit_ - entry
    return RayIntersection(entry, exit_, chord, hit)


def cone_to_sphere(points: ArrayLike, center: ArrayLike, radius: float) -> Cone:
    """The cone of directions from each point that intersect the sphere.

    Half-angle α with sin α = R / D (D = distance point–centre); solid angle
    Ω = 2π (1 − cos α).  Points inside (or on) the sphere see it in all directions:
    cos α = −1, Ω = 4π, and the axis is then +z (arbitrary).

    Parameters
    ----------
    points : (N, 3) cm; center : (3,) cm; radius : cm

    Returns
    -------
    Cone
    """
    c, r = _check_sphere(center, radius)
    p = _as_points(points, "points")
    rel = c - p
    rx, ry, rz = rel[:, 0], rel[:, 1], rel[:, 2]
    d2 = rx * rx  # summed as einsum("ij,ij->i"): (x² + z²) + y²
    d2 += rz * rz
    d2 += ry * ry
    dist = np.sqrt(d2, out=d2)
    inside = dist <= r
    safe = np.where(inside, 1.0, dist)
    axis = rel
    axis /= safe[:, None]  # rel is a fresh array
    if inside.any():
        axis[inside] = (0.0, 0.0, 1.0)
    s2 = np.where(inside, 1.0, (r / safe) ** 2)  # sin² α
    cos_a = np.sqrt(1.0 - s2)
    # 1 − cos α = sin²α / (1 + cos α): no cancellation for distant spheres
    one_minus = np.where(inside, 2.0, s2 / (1.0 + cos_a))
    cos_a = np.where(inside, -1.0, cos_a)
    return Cone(axis, cos_a, one_minus, 2.0 * np.pi * one_minus)


def orthonormal_frame(axis: Array) -> tuple[Array, Array]:
    """Two unit vectors e1, e2 (N, 3) completing unit ``axis`` (N, 3) to a right-handed
    orthonormal basis (e1, e2, axis); branch-free construction of Duff et al., "Building an
    Orthonormal Basis, Revisited", JCGT 6 (2017) 1, stable for every axis direction."""
    x, y, z = axis[:, 0], axis[:, 1], axis[:, 2]
    sign = np.where(z >= 0.0, 1.0, -1.0)
    a = -1.0 / (sign + z)
    b = x * y * a
    e1 = np.empty_like(axis)
    e1[:, 0] = 1.0 + sign * x * x * a
    e1[:, 1] = sign * b
    e1[:, 2] = -sign * x
    e2 = np.empty_like(axis)
    e2[:, 0] = b
    e2[:, 1] = sign + y * y * a
    e2[:, 2] = -y
    return e1, e2


def uniform_in_unit_disc(rng: np.random.Generator, n: int) -> tuple[Array, Array]:
    """``n`` points (a, b) uniform in the open unit disc (0 < a² + b² < 1), by rejection from the
    square: r² = a² + b² ~ U(0, 1) and (a, b)/r is an independent uniform azimuth (Marsaglia),
    without trigonometric functions.  Draws batches of ``int(1.3 · missing) + 16`` pairs."""
    a = np.empty(n)
    b = np.empty(n)
    filled = 0
    while filled < n:
        m = int(1.3 * (n - filled)) + 16
        ab = rng.random((2, m)) * 2.0 - 1.0
        r2 = ab[0] * ab[0] + ab[1] * ab[1]
        ok = np.flatnonzero((r2 < 1.0) & (r2 > 0.0))[: n - filled]
        a[filled : filled + len(ok)] = ab[0, ok]
        b[filled : filled + len(ok)] = ab[1, ok]
        filled += len(ok)
    return a, b


def sample_directions_in_cone(rng: np.random.Generator, cone: Cone) -> Array:
    """One direction per row, uniform in solid angle inside the cone (density 1/Ω).

    cos θ (to the axis) is uniform in [cos α, 1] and φ uniform in [0, 2π) (drawn together from
    a uniform point in the unit disc); the local vector is expressed in an orthonormal frame
    around the cone axis.  Sampling is done in
    ``1 − cos θ`` to keep precision for the micro-steradian cones of distant detectors.

    Returns
    -------
    (N, 3) unit vectors.
    """
    axis = cone.axis
    n = len(axis)
    a, b = uniform_in_unit_disc(rng, n)
    r2 = a * a + b * b
    q = cone.one_minus_cos
    omc = r2 * q  # 1 − cos θ, uniform on [0, 1 − cos α]
    scale = np.sqrt(q * (2.0 - omc))  # sin θ / r
    cx = a * scale
    cy = b * scale
    cz = 1.0 - omc
    e1, e2 = orthonormal_frame(axis)
    out = np.empty((n, 3))
    t = np.empty(n)
    for k in range(3):  # column by column: (e1 cx + e2 cy) + axis cz, as the (N, 3) broadcast
        o = out[:, k]
        np.multiply(e1[:, k], cx, out=o)
        o += np.multiply(e2[:, k], cy, out=t)
        o += np.multiply(axis[:, k], cz, out=t)
    return out


# --- batched forced emission: one cone + frame per point, many directions per point ----------
class ConeFrame(NamedTuple):
    """Cone towards a sphere from N points together with an orthonormal frame around its axis
    (:func:`cone_frame`).  Vectors are stored component-major, shape (3, N), for speed.

    axis, e1, e2   : (3, N) right-handed orthonormal frame (e1, e2, axis); axis = unit vector
                     towards the centre (+z for points inside the sphere)
    one_minus_cos  : (N,) q = 1 − cos α (2 inside), computed without cancellation
    distance       : (N,) D, distance point–centre (cm)
    inside         : (N,) bool, point inside or on the sphere (cone = all directions)
    """

    axis: Array
    e1: Array
    e2: Array
    one_minus_cos: Array
    distance: Array
    inside: NDArray[np.bool_]

    @property
    def solid_angle(self) -> Array:
        """Ω = 2π (1 − cos α) (sr)."""
        return 2.0 * np.pi * self.one_minus_cos

    def project(self, vx: Array, vy: Array, vz: Array) -> tuple[Array, Array, Array]:
        """Components (v·e1, v·e2, v·axis) of vectors given by their lab components (N,)."""
        e1, e2, ax = self.e1, self.e2, self.axis
        return (vx * e1[0] + vy * e1[1] + vz * e1[2], vx * e2[0] + vy * e2[1] + vz * e2[2],
                vx * ax[0] + vy * ax[1] + vz * ax[2])


def cone_frame(points: ArrayLike, center: ArrayLike, radius: float) -> ConeFrame:
    """:func:`cone_to_sphere` (same axis and 1 − cos α) plus an orthonormal frame around the
    axis (the branch-free construction of :func:`orthonormal_frame`) and the distance to the
    centre, computed once per point so that many directions per point can be drawn with
    :func:`sample_unit_disc` (see there for the map from a disc point to a direction).
    ``points`` (N, 3) cm; :func:`cone_frame_components` takes the coordinate arrays."""
    p = _as_points(points, "points")
    return cone_frame_components(p[:, 0], p[:, 1], p[:, 2], center, radius)


def cone_frame_components(px: Array, py: Array, pz: Array, center: ArrayLike, radius: float) -> ConeFrame:
    """:func:`cone_frame` of points given by their coordinate arrays (N,) each (cm)."""
    c, r = _check_sphere(center, radius)
    rx = c[0] - px
    ry = c[1] - py
    rz = c[2] - pz
    d2 = rx * rx
    d2 += ry * ry
    d2 += rz * rz
    dist = np.sqrt(d2)
    inside = dist <= r
    any_inside = bool(inside.any())
    inv = 1.0 / (np.where(inside, 1.0, dist) if any_inside else dist)
    x, y, z = rx * inv, ry * inv, rz * inv
    s2 = (r * r) * (inv * inv)  # sin² α
    if any_inside:
        x[inside], y[inside], z[inside], s2[inside] = 0.0, 0.0, 1.0, 1.0
    q = s2 / (1.0 + np.sqrt(1.0 - s2))
    if any_inside:
        q[inside] = 2.0
    # Duff et al., JCGT 6 (2017) 1 (as orthonormal_frame)
    sign = np.where(z >= 0.0, 1.0, -1.0)
    a = -1.0 / (sign + z)
    b = x * y * a
    sx = sign * x
    e1 = np.empty((3, len(x)))
    np.multiply(sx * x, a, out=e1[0])
    e1[0] += 1.0
    np.multiply(sign, b, out=e1[1])
    np.negative(sx, out=e1[2])
    e2 = np.empty((3, len(x)))
    e2[0] = b
    np.multiply(y * y, a, out=e2[1])
    e2[1] += sign
    np.negative(y, out=e2[2])
    return ConeFrame(np.stack([x, y, z]), e1, e2, q, dist, inside)


def sample_unit_disc(rng: np.random.Generator, shape) -> tuple[Array, Array, Array]:
    """Points (a, b) uniform in the unit disc (rejection from the square), and r² = a² + b².

    Each coordinate is a signed 32-bit integer from ``rng.bit_generator.random_raw`` scaled by
    2⁻³¹ (uniform on [−1, 1) in steps of 4.7e-10; the same generator state advances, so runs
    are reproducible from the seed).

    With q = 1 − cos α of a cone, the point maps to the direction
    ``n̂ = e1 a S + e2 b S + axis (1 − ω)``, ω = r² q, S = √(q (2 − ω)), which is uniform in
    solid angle inside the cone (1 − cos θ = ω is uniform on [0, q], the azimuth (a, b)/r is
    uniform and independent; Marsaglia, Ann. Math. Stat. 43 (1972) 645, for q = 2).
    """
    shape = tuple(np.atleast_1d(shape))
    n = int(np.prod(shape))
    ab = _signed_unit(rng, 2 * n)
    a, b = ab[:n], ab[n:]
    r2 = a * a
    r2 += b * b
    bad = np.flatnonzero(r2 >= 1.0)
    while bad.size:  # refill the rejected entries in order (usually a single pass)
        m = int(1.35 * bad.size) + 16
        new = _signed_unit(rng, 2 * m)
        na, nb = new[:m], new[m:]
        rn = na * na + nb * nb
        ok = np.flatnonzero(rn < 1.0)[: bad.size]
        fill = bad[: ok.size]
        a[fill], b[fill], r2[fill] = na[ok], nb[ok], rn[ok]
        bad = bad[ok.size :]
    return a.reshape(shape), b.reshape(shape), r2.reshape(shape)


_TWO_M31 = 2.0**-31


def _signed_unit(rng: np.random.Generator, n: int) -> Array:
    """n uniforms on [−1, 1) from 32-bit halves of the generator's raw 64-bit output."""
    raw = rng.bit_generator.random_raw((n + 1) // 2).view(np.int32)[:n]
    return raw * _TWO_M31


def cone_sample_chords(frame: ConeFrame, r2: Array, omega: Array) -> Array:
    """Chords (cm) through the sphere of directions drawn in the cone of points *outside* it
    with :func:`sample_unit_disc` (``r2`` and ``omega`` = r² q, shape (k, N) or (N,)).

    Exact closed form: the impact parameter is D sin θ with sin²θ = ω (2 − ω) and
    sin²α = q (2 − q) = R²/D², so R² − D² sin²θ = D² q (1 − r²)(2 − q − ω) (no cancellation)
    and the chord is 2 √(R² − D² sin²θ).  Columns of points inside the sphere are *not*
    handled here (they need the ray; the caller uses :func:`ray_sphere_intersection`).
    """
    q = frame.one_minus_cos
    t = 1.0 - r2
    t *= (2.0 - q) - omega
    np.maximum(t, 0.0, out=t)
    np.sqrt(t, out=t)
    t *= 2.0 * frame.distance * np.sqrt(q)
    return t
