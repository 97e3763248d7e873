"""Detector shapes: exact chords against Monte Carlo and analytic volumes.

References: Cauchy–Crofton / Fubini — for parallel rays with origins uniform over a plane area A
covering the shape's projection, A·E[chord] = volume (analytic volumes of box, cylinder, union);
per-ray chords against a brute-force march along the ray with ``contains`` (step 0.05 cm → error
≤ 2 steps per boundary crossing).  Tolerances state the MC error (≥ 4σ)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mesonportal.exceptions import ParameterError
from mesonportal.geometry import (Box, Cylinder, Sphere, Union, decay_probability_in_segments, rotation_matrix,
                                  sample_decay_in_segments)

ROT = rotation_matrix([20.0, -35.0, 50.0])
SHAPES = {
    "sphere": Sphere(np.array([3.0, -2.0, 100.0]), 40.0),
    "box": Box(np.array([3.0, -2.0, 100.0]), np.array([30.0, 20.0, 50.0]), ROT),
    "cylinder": Cylinder(np.array([3.0, -2.0, 100.0]), 25.0, 45.0, ROT),
    "union": Union((Box.from_corners([0, 0, 0], [30, 40, 90], origin=[0, 0, 60]),
                    Box.from_corners([35, 0, 0], [65, 40, 90], origin=[0, 0, 60]))),
}


def _parallel_volume(shape, direction, rng, n=200_000):
    c, r = shape.bounding_sphere
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    e1 = np.cross(d, [0.3, 0.5, 0.8]); e1 /= np.linalg.norm(e1)
    e2 = np.cross(d, e1)
    uv = rng.uniform(-r, r, (n, 2))
    o = c - 3 * r * d + uv[:, :1] * e1 + uv[:, 1:] * e2
    ch = shape.intersect(o, np.tile(d, (n, 1))).chord
    area = (2 * r) ** 2
    return area * ch.mean(), area * ch.std() / math.sqrt(n)


@pytest.mark.parametrize("name", list(SHAPES))
def test_chord_integral_is_the_volume(name):
    shape = SHAPES[name]
    rng = np.random.default_rng(1)
    for d in ([0, 0, 1], [1, 2, 3], [-1, 0.2, 0.1]):
        v, err = _parallel_volume(shape, d, rng)
        assert abs(v - shape.volume) < 4 * err + 1e-9 * shape.volume, (d, v, shape.volume, err)


def test_analytic_volumes():
    assert SHAPES["box"].volume == pytest.approx(60 * 40 * 100)
    assert SHAPES["cylinder"].volume == pytest.approx(math.pi * 25**2 * 90)
    assert SHAPES["union"].volume == pytest.approx(2 * 30 * 40 * 90)


@pytest.mark.parametrize("name", list(SHAPES))
def test_chords_match_brute_force_march(name):
    shape = SHAPES[name]
    rng = np.random.default_rng(2)
    c, r = shape.bounding_sphere
    n = 60
    o = c + rng.normal(size=(n, 3)) * r * 1.2  # some origins inside
    tgt = c + rng.uniform(-r, r, (n, 3))
    d = tgt - o
    d /= np.linalg.norm(d, axis=1)[:, None]
    inter = shape.intersect(o, d)
    step = 0.05
    t = np.arange(0.0, 10 * r, step) + 0.5 * step
    for i in range(n):
        pts = o[i] + t[:, None] * d[i]
        brute = step * np.count_nonzero(shape.contains(pts))
        assert inter.chord[i] == pytest.approx(brute, abs=4 * step * 2), i
        if inter.hit[i]:
            assert shape.contains((o[i] + (inter.entry[i] + 1e-6) * d[i])[None])[0]


def test_distant_detector_precision():
    # 470 m away, 1 m box: entry/exit exact to 1e-6 cm
    box = Box(np.array([0.0, 0.0, 47000.0]), np.array([50.0, 50.0, 50.0]))
    o = np.zeros((1, 3))
    inter = box.intersect(o, np.array([[0.0, 0.0, 1.0]]))
    assert inter.entry[0] == pytest.approx(46950.0, abs=1e-6) and inter.chord[0] == pytest.approx(100.0, abs=1e-6)


def test_box_misses_and_parallel_rays_give_zero():
    box = Box(np.zeros(3), np.array([1.0, 1.0, 1.0]))
    o = np.array([[0.0, 5.0, -10.0], [0.0, 0.0, 10.0], [0.5, 0.5, -10.0]])
    d = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    inter = box.intersect(o, d)
    assert inter.chord.tolist() == [0.0, 0.0, 2.0]
    assert np.all(np.isfinite(inter.entry))


def test_overlapping_union_rejected():
    with pytest.raises(ParameterError, match="overlap"):
        Union((Box.from_corners([0, 0, 0], [2, 2, 2]), Box.from_corners([1, 1, 1], [3, 3, 3])))
    Union((Box.from_corners([0, 0, 0], [2, 2, 2]), Box.from_corners([2, 0, 0], [4, 2, 2])))  # touching: fine


def test_decay_in_union_segments_against_mc():
    # ray along x through both union modules (gap 5 cm): P(decay inside) = sum over segments;
    # MC of exponential decay distances, 2e5 draws, 4 sigma
    u = SHAPES["union"]
    o = np.array([[-50.0, 20.0, 100.0]])
    d = np.array([[1.0, 0.0, 0.0]])
    a, b = u.segments(o, d)
    lam = np.array([40.0])
    p = decay_probability_in_segments(a, b, lam)[0]
    rng = np.random.default_rng(3)
    s = rng.exponential(40.0, 200_000)
    inside = u.contains(o + s[:, None] * d)
    mc = inside.mean()
    assert p == pytest.approx(mc, abs=4 * math.sqrt(mc * (1 - mc) / len(s)))
    # sampled decay points lie inside and follow the same distribution
    n = 50_000
    t = sample_decay_in_segments(rng, np.repeat(a, n, 0), np.repeat(b, n, 0), np.full(n, 40.0))
    assert np.all(u.contains(o + t[:, None] * d))
    assert np.mean(t) == pytest.approx(np.mean(s[inside]), rel=0.01)


def _ref_slab(o, d, lo, hi):
    """The (N, 3) slab test of mesonportal 0.5.0 (geometry/shapes.py _slab), verbatim."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t1 = (lo[None, :] - o) * inv
        t2 = (hi[None, :] - o) * inv
    tmin = np.minimum(t1, t2)
    tmax = np.maximum(t1, t2)
    par = d == 0.0
    if par.any():
        inside = (o >= lo[None, :]) & (o <= hi[None, :])
        tmin = np.where(par, np.where(inside, -np.inf, np.inf), tmin)
        tmax = np.where(par, np.where(inside, np.inf, -np.inf), tmax)
    t_in = np.maximum(tmin.max(axis=1), 0.0)
    t_out = tmax.min(axis=1)
    hit = t_out > t_in
    return np.where(hit, t_in, 0.0), np.where(hit, t_out, 0.0)


@pytest.mark.parametrize("rotated", [False, True])
def test_box_segments_bit_identical_to_the_n3_form(rotated):
    """Box.segments (component-wise slab test, peak memory #10) = the (N, 3) form it replaced.

    Reference: that form (``_ref_slab`` on o − centre, as 0.5.0 did); tolerance: none (same
    bytes).  Rays from outside and inside, directions with exact zero components (parallel to a
    face, inside and outside the slab), origins on faces, and misses."""
    rng = np.random.default_rng(21)
    n = 4000
    box = Box(np.array([3.0, -2.0, 100.0]), np.array([30.0, 20.0, 50.0]), ROT if rotated else np.eye(3))
    o = box.center + rng.uniform(-3.0, 3.0, (n, 3)) * box.half_cm
    d = rng.normal(size=(n, 3))
    aim = rng.random(n) < 0.4  # these point at a point inside the box (hits)
    d[aim] = box.center + rng.uniform(-0.8, 0.8, (int(aim.sum()), 3)) * box.half_cm - o[aim]
    d[rng.random((n, 3)) < 0.1] = 0.0
    d[np.all(d == 0.0, axis=1), 2] = 1.0
    d /= np.linalg.norm(d, axis=1)[:, None]
    face = rng.choice(n, n // 20, replace=False)
    o[face, 0] = box.center[0] + box.half_cm[0]  # on a face (axis-aligned case)
    a, b = box.segments(o, d)
    ol, dl = (o - box.center, d) if not rotated else ((o - box.center) @ box.rotation, d @ box.rotation)
    ra, rb = _ref_slab(ol, dl, -box.half_cm, box.half_cm)
    assert a.tobytes() == ra[:, None].tobytes() and b.tobytes() == rb[:, None].tobytes()
    assert 0.2 < (b > a).mean() < 0.9  # hits and misses are both exercised
