"""Detector shapes: exact ray chords, containment, bounding sphere and volume (cm).

Every shape lives in beam coordinates (cm; z along the beam, origin at the upstream face of the
production target) and implements the :class:`Shape` protocol:

* ``segments(origins, directions)`` → ``(entry, exit)``, each (N, K): the K disjoint intervals of
  the forward ray t ≥ 0 inside the shape (K = 1 for convex shapes, the number of components for
  a :class:`Union`); missed intervals are ``entry = exit = 0``;
* ``intersect(origins, directions)`` → :class:`~mesonportal.propagation.geometry.RayIntersection`
  with the first entry, the last exit and ``chord`` = Σ (exit − entry), the exact path length
  inside (gaps between components excluded);
* ``contains(points)`` (N,) bool; ``bounding_sphere`` (centre (3,), radius); ``volume`` (cm³).

Rays use the conventions of :mod:`mesonportal.propagation.geometry`: unit directions, forward
rays only, origins inside give ``entry = 0``, misses give zeros (never NaN).  Oriented shapes
are given by a rotation matrix whose columns are the shape's local axes in beam coordinates;
rays are transformed into the local frame, where the box is a slab intersection (Kay & Kajiya,
SIGGRAPH 1986) and the cylinder a quadratic in the transverse plane plus a slab along its axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mesonportal.exceptions import ParameterError
from mesonportal.propagation.geometry import RayIntersection, _as_points, ray_sphere_intersection

Array = NDArray[np.float64]

__all__ = ["Shape", "Sphere", "Box", "Cylinder", "Union", "rotation_matrix", "segments_to_intersection",
           "decay_probability_in_segments", "sample_point_in_segments", "sample_decay_in_segments"]


@runtime_checkable
class Shape(Protocol):
    """A detector volume in beam coordinates (cm); see the module docstring."""

    def segments(self, origins: ArrayLike, directions: ArrayLike) -> tuple[Array, Array]: ...

    def intersect(self, origins: ArrayLike, directions: ArrayLike) -> RayIntersection: ...

    def contains(self, points: ArrayLike) -> NDArray[np.bool_]: ...

    @property
    def bounding_sphere(self) -> tuple[Array, float]: ...

    @property
    def volume(self) -> float: ...


def rotation_matrix(angles_deg: ArrayLike = (0.0, 0.0, 0.0)) -> Array:
    """Rotation R = R_z(γ) R_y(β) R_x(α) for ``angles_deg`` = (α, β, γ) in degrees (rotations
    about the fixed beam axes x, then y, then z).  Columns of R are the local axes in beam
    coordinates: a local vector v is ``R @ v`` in beam coordinates."""
    a, b, g = np.radians(np.asarray(angles_deg, float).reshape(3))
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rz = np.array([[math.cos(g), -math.sin(g), 0], [math.sin(g), math.cos(g), 0], [0, 0, 1]])
    return rz @ ry @ rx


def segments_to_intersection(entry: Array, exit_: Array) -> RayIntersection:
    """First entry, last exit and total chord Σ (exit − entry) of (N, K) segments."""
    lens = exit_ - entry
    hit_k = lens > 0.0
    chord = lens.sum(axis=1)
    hit = chord > 0.0
    big = np.where(hit_k, entry, np.inf)
    first = np.where(hit, big.min(axis=1), 0.0)
    last = np.where(hit, np.where(hit_k, exit_, -np.inf).max(axis=1), 0.0)
    return RayIntersection(first, last, chord, hit)


def _rays(origins: ArrayLike, directions: ArrayLike) -> tuple[Array, Array]:
    o = _as_points(origins, "origins")
    d = _as_points(directions, "directions")
    if len(o) != len(d):
        raise ParameterError(f"origins ({len(o)}) and directions ({len(d)}) must have equal length")
    return o, d


def _vec3(v: ArrayLike, name: str) -> Array:
    a = np.asarray(v, float).reshape(-1)
    if a.shape != (3,) or not np.all(np.isfinite(a)):
        raise ParameterError(f"{name} must be 3 finite numbers (cm)")
    return a


def _slab(o: Array, d: Array, lo: Array, hi: Array, shift: Array | None = None) -> tuple[Array, Array]:
    """Forward interval of rays o + t d inside the axis-aligned box [lo, hi] (local frame; with
    ``shift``, the local origins are o − shift, formed one component at a time) [cm].

    Axis by axis on (N,) components (peak memory: a few (N,) arrays instead of several (N, 3)
    ones, issue #10).  Every value is the same IEEE operation as in the (N, 3) form
    (lo − o)/d …, and the running max / min over the three axes is the order-independent,
    exact reduction that ``tmin.max(axis=1)`` / ``tmax.min(axis=1)`` make, so the result is
    bitwise identical (tests/test_shapes.py)."""
    t_in = t_out = None
    for k in range(3):
        ok = o[:, k] if shift is None else o[:, k] - shift[k]
        dk = d[:, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / dk
            t1 = lo[k] - ok
            t1 *= inv
            t2 = hi[k] - ok
            t2 *= inv
        del inv
        tmax = np.maximum(t1, t2)
        tmin = np.minimum(t1, t2, out=t1)
        del t2
        # d = 0 along an axis: inside the slab → (−inf, inf), outside → empty
        par = dk == 0.0
        if par.any():
            inside = (ok >= lo[k]) & (ok <= hi[k])
            tmin = np.where(par, np.where(inside, -np.inf, np.inf), tmin)
            tmax = np.where(par, np.where(inside, np.inf, -np.inf), tmax)
        del par, ok
        if t_in is None:
            t_in, t_out = tmin, tmax
        else:
            np.maximum(t_in, tmin, out=t_in)
            np.minimum(t_out, tmax, out=t_out)
        del tmin, tmax
    np.maximum(t_in, 0.0, out=t_in)
    hit = t_out > t_in
    return np.where(hit, t_in, 0.0), np.where(hit, t_out, 0.0)


@dataclass(frozen=True)
class Sphere:
    """Sphere of ``radius`` (cm) around ``center`` (3,) cm (beam coordinates)."""

    center: Array
    radius: float
    kind: str = field(default="sphere", init=False)

    def __post_init__(self):
        object.__setattr__(self, "center", _vec3(self.center, "sphere centre"))
        if not (math.isfinite(self.radius) and self.radius > 0):
            raise ParameterError(f"sphere radius = {self.radius!r} must be > 0 (cm)")

    def segments(self, origins, directions):
        r = ray_sphere_intersection(origins, directions, self.center, self.radius)
        return r.entry[:, None], r.exit[:, None]

    def intersect(self, origins, directions) -> RayIntersection:
        return ray_sphere_intersection(origins, directions, self.center, self.radius)

    def contains(self, points) -> NDArray[np.bool_]:
        p = _as_points(points, "points") - self.center
        return np.einsum("ij,ij->i", p, p) <= self.radius**2

    @property
    def bounding_sphere(self) -> tuple[Array, float]:
        return self.center, float(self.radius)

    @property
    def volume(self) -> float:
        return 4.0 / 3.0 * math.pi * self.radius**3


@dataclass(frozen=True)
class Box:
    """Box of half sizes ``half_cm`` (3,) around ``center`` (3,) cm, local axes = columns of
    ``rotation`` (3, 3) (identity: axis-aligned with the beam frame)."""

    center: Array
    half_cm: Array
    rotation: Array = field(default_factory=lambda: np.eye(3))
    kind: str = field(default="box", init=False)

    def __post_init__(self):
        object.__setattr__(self, "center", _vec3(self.center, "box centre"))
        h = _vec3(self.half_cm, "box half sizes")
        if np.any(h <= 0):
            raise ParameterError(f"box sizes {2 * h} must all be > 0 (cm)")
        object.__setattr__(self, "half_cm", h)
        object.__setattr__(self, "rotation", np.asarray(self.rotation, float).reshape(3, 3))

    @classmethod
    def from_corners(cls, lo: ArrayLike, hi: ArrayLike, origin: ArrayLike = (0, 0, 0),
                     rotation: ArrayLike | None = None) -> "Box":
        """Box with corners ``lo``, ``hi`` (cm) in a frame placed at ``origin`` (beam coordinates)
        with axes ``rotation`` (columns)."""
        lo, hi = _vec3(lo, "box lo corner"), _vec3(hi, "box hi corner")
        if np.any(hi <= lo):
            raise ParameterError(f"box corners lo = {lo.tolist()}, hi = {hi.tolist()} need hi > lo on every axis (cm)")
        rot = np.eye(3) if rotation is None else np.asarray(rotation, float)
        return cls(np.asarray(origin, float) + rot @ (0.5 * (lo + hi)), 0.5 * (hi - lo), rot)

    def _local(self, o: Array, d: Array) -> tuple[Array, Array]:
        if self._axis_aligned:  # exact: x·1 + y·0 + z·0 = x, and the (N,3)@(3,3) product is slow for large N
            return o - self.center, d
        return (o - self.center) @ self.rotation, d @ self.rotation

    @property
    def _axis_aligned(self) -> bool:
        return bool(np.array_equal(self.rotation, np.eye(3)))

    def segments(self, origins, directions):
        o, d = _rays(origins, directions)
        if self._axis_aligned:  # o − centre one component at a time inside _slab (no (N, 3) copy)
            a, b = _slab(o, d, -self.half_cm, self.half_cm, shift=self.center)
        else:
            ol, dl = self._local(o, d)
            a, b = _slab(ol, dl, -self.half_cm, self.half_cm)
        return a[:, None], b[:, None]

    def intersect(self, origins, directions) -> RayIntersection:
        return segments_to_intersection(*self.segments(origins, directions))

    def contains(self, points) -> NDArray[np.bool_]:
        p = _as_points(points, "points") - self.center
        if not self._axis_aligned:
            p = p @ self.rotation
        return np.all(np.abs(p) <= self.half_cm[None, :], axis=1)

    @property
    def bounding_sphere(self) -> tuple[Array, float]:
        return self.center, float(np.linalg.norm(self.half_cm))

    @property
    def volume(self) -> float:
        return float(np.prod(2.0 * self.half_cm))

    def corners(self) -> Array:
        """(8, 3) corners in beam coordinates."""
        s = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], float)
        return self.center[None, :] + (s * self.half_cm[None, :]) @ self.rotation.T


@dataclass(frozen=True)
class Cylinder:
    """Solid cylinder of ``radius`` and half length ``half_length`` (cm) around ``center`` (3,),
    its axis along the local z axis = third column of ``rotation``."""

    center: Array
    radius: float
    half_length: float
    rotation: Array = field(default_factory=lambda: np.eye(3))
    kind: str = field(default="cylinder", init=False)

    def __post_init__(self):
        object.__setattr__(self, "center", _vec3(self.center, "cylinder centre"))
        for n in ("radius", "half_length"):
            v = getattr(self, n)
            if not (math.isfinite(v) and v > 0):
                raise ParameterError(f"cylinder {n} = {v!r} must be > 0 (cm)")
        object.__setattr__(self, "rotation", np.asarray(self.rotation, float).reshape(3, 3))

    def segments(self, origins, directions):
        o, d = _rays(origins, directions)
        ol = (o - self.center) @ self.rotation
        dl = d @ self.rotation
        # transverse: |(ox + t dx, oy + t dy)| <= R, closest-approach form (no cancellation)
        a = dl[:, 0] ** 2 + dl[:, 1] ** 2
        safe = np.where(a > 0, a, 1.0)
        t_ca = -(ol[:, 0] * dl[:, 0] + ol[:, 1] * dl[:, 1]) / safe
        px = ol[:, 0] + t_ca * dl[:, 0]
        py = ol[:, 1] + t_ca * dl[:, 1]
        h2 = (self.radius**2 - px * px - py * py) / safe
        half = np.sqrt(np.clip(h2, 0.0, None))
        inside_r = ol[:, 0] ** 2 + ol[:, 1] ** 2 <= self.radius**2
        r_in = np.where(a > 0, np.where(h2 > 0, t_ca - half, np.inf), np.where(inside_r, -np.inf, np.inf))
        r_out = np.where(a > 0, np.where(h2 > 0, t_ca + half, -np.inf), np.where(inside_r, np.inf, -np.inf))
        # axial slab
        z_in, z_out = _slab1(ol[:, 2], dl[:, 2], -self.half_length, self.half_length)
        t_in = np.maximum(np.maximum(r_in, z_in), 0.0)
        t_out = np.minimum(r_out, z_out)
        hit = t_out > t_in
        return np.where(hit, t_in, 0.0)[:, None], np.where(hit, t_out, 0.0)[:, None]

    def intersect(self, origins, directions) -> RayIntersection:
        return segments_to_intersection(*self.segments(origins, directions))

    def contains(self, points) -> NDArray[np.bool_]:
        p = (_as_points(points, "points") - self.center) @ self.rotation
        return (p[:, 0] ** 2 + p[:, 1] ** 2 <= self.radius**2) & (np.abs(p[:, 2]) <= self.half_length)

    @property
    def bounding_sphere(self) -> tuple[Array, float]:
        return self.center, float(math.hypot(self.radius, self.half_length))

    @property
    def volume(self) -> float:
        return math.pi * self.radius**2 * 2.0 * self.half_length


def _slab1(o: Array, d: Array, lo: float, hi: float) -> tuple[Array, Array]:
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (lo - o) / d
        t2 = (hi - o) / d
    inside = (o >= lo) & (o <= hi)
    par = d == 0.0
    tmin = np.where(par, np.where(inside, -np.inf, np.inf), np.minimum(t1, t2))
    tmax = np.where(par, np.where(inside, np.inf, -np.inf), np.maximum(t1, t2))
    return tmin, tmax


@dataclass(frozen=True)
class Union:
    """Union of non-overlapping boxes (multi-module detectors).  Overlaps are rejected at
    construction (a shared face is allowed), so the segments of the components are disjoint and
    the chord is their sum."""

    parts: tuple
    kind: str = field(default="union", init=False)

    def __post_init__(self):
        parts = tuple(self.parts)
        if len(parts) < 1 or not all(isinstance(p, Box) for p in parts):
            raise ParameterError("a union needs at least one box")
        for i in range(len(parts)):
            for j in range(i + 1, len(parts)):
                if _boxes_overlap(parts[i], parts[j]):
                    raise ParameterError(f"union boxes {i} and {j} overlap")
        object.__setattr__(self, "parts", parts)

    def segments(self, origins, directions):
        segs = [p.segments(origins, directions) for p in self.parts]
        return np.concatenate([s[0] for s in segs], axis=1), np.concatenate([s[1] for s in segs], axis=1)

    def intersect(self, origins, directions) -> RayIntersection:
        return segments_to_intersection(*self.segments(origins, directions))

    def contains(self, points) -> NDArray[np.bool_]:
        out = np.zeros(len(_as_points(points, "points")), bool)
        for p in self.parts:
            out |= p.contains(points)
        return out

    @property
    def bounding_sphere(self) -> tuple[Array, float]:
        pts = np.concatenate([p.corners() for p in self.parts])
        c = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
        return c, float(np.sqrt(np.max(np.sum((pts - c) ** 2, axis=1))))

    @property
    def volume(self) -> float:
        return float(sum(p.volume for p in self.parts))


def _boxes_overlap(a: Box, b: Box) -> bool:
    """Separating-axis test of two oriented boxes (Gottschalk et al., SIGGRAPH 1996): they
    overlap (with positive volume) unless some axis separates them; touching faces do not count."""
    axes = [a.rotation[:, i] for i in range(3)] + [b.rotation[:, i] for i in range(3)]
    for i in range(3):
        for j in range(3):
            c = np.cross(a.rotation[:, i], b.rotation[:, j])
            if np.linalg.norm(c) > 1e-9:
                axes.append(c / np.linalg.norm(c))
    ca, cb = a.corners(), b.corners()
    tol = 1e-9 * (1.0 + float(np.max(np.abs(np.concatenate([ca, cb])))))
    for ax in axes:
        pa, pb = ca @ ax, cb @ ax
        if pa.max() <= pb.min() + tol or pb.max() <= pa.min() + tol:
            return False
    return True


# ------------------------------------------------------------------ decays along segmented rays
def decay_probability_in_segments(entry: Array, exit_: Array, lam: Array) -> Array:
    """Probability Σ_k [e^{−a_k/λ} − e^{−b_k/λ}] that a particle with decay length λ (N,) cm,
    starting at t = 0, decays inside the segments [a_k, b_k] (N, K); 0 for λ = ∞."""
    lam = np.asarray(lam, float)[:, None]
    finite = np.isfinite(lam)
    lam_s = np.where(finite & (lam > 0), lam, 1.0)
    p = np.exp(-entry / lam_s) * -np.expm1(-(exit_ - entry) / lam_s)
    p = np.where(finite, p, 0.0)
    return np.where(exit_ > entry, p, 0.0).sum(axis=1)


def _choose_segment(rng: np.random.Generator, p: Array) -> NDArray[np.intp]:
    if p.shape[1] == 1:  # one segment: no draw (keeps the random stream of convex shapes)
        return np.zeros(len(p), np.intp)
    tot = p.sum(axis=1)
    cdf = np.cumsum(p, axis=1) / np.where(tot > 0, tot, 1.0)[:, None]
    u = rng.random(len(p))
    k = (cdf < u[:, None]).sum(axis=1)
    return np.minimum(k, p.shape[1] - 1)


def sample_decay_in_segments(rng: np.random.Generator, entry: Array, exit_: Array, lam: Array) -> Array:
    """Distance t (N,) cm of a decay drawn from e^{−t/λ}/λ restricted to the segments (segment
    chosen by its decay probability, then a truncated exponential inside it).  Draws N uniforms
    (2N for K > 1)."""
    lam = np.asarray(lam, float)
    lam_s = np.where(np.isfinite(lam) & (lam > 0), lam, 1e300)[:, None]
    p = np.where(exit_ > entry, np.exp(-entry / lam_s) * -np.expm1(-(exit_ - entry) / lam_s), 0.0)
    # λ → ∞: uniform in length
    p = np.where(np.isfinite(lam)[:, None], p, np.clip(exit_ - entry, 0.0, None))
    k = _choose_segment(rng, p)
    rows = np.arange(len(entry))
    a, b = entry[rows, k], exit_[rows, k]
    ell = np.clip(b - a, 0.0, None)
    u = rng.random(len(entry))
    lam1 = lam_s[:, 0]
    x = -np.expm1(-ell / lam1)
    s = np.clip(-lam1 * np.log1p(-u * x), 0.0, ell)
    return a + s


def sample_point_in_segments(rng: np.random.Generator, entry: Array, exit_: Array) -> Array:
    """Distance t (N,) cm uniform in path length over the segments (N, K).  Draws N uniforms
    (2N for K > 1: the first N choose the segment)."""
    lens = np.clip(exit_ - entry, 0.0, None)
    k = _choose_segment(rng, lens)
    rows = np.arange(len(entry))
    return entry[rows, k] + rng.random(len(entry)) * lens[rows, k]
