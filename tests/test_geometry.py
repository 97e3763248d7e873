"""Tests of mesonportal.propagation.geometry (ray–sphere chords, cones towards spheres)."""

from __future__ import annotations

import numpy as np
import pytest

from mesonportal.exceptions import ParameterError
from mesonportal.kinematics import isotropic_directions
from mesonportal.propagation.geometry import (
    cone_frame,
    cone_sample_chords,
    cone_to_sphere,
    orthonormal_frame,
    ray_sphere_intersection,
    sample_directions_in_cone,
    sample_unit_disc,
    sphere_volume,
)


def test_chords_analytic_cases():
    # Analytic: a ray at impact parameter b crosses a sphere of radius R along 2√(R² − b²);
    # entry/exit at D ∓ √(R² − b²).  Tolerance 1e-12 relative (exact arithmetic).
    c, r = np.array([0.0, 0.0, 100.0]), 10.0
    o = np.array([[0, 0, 0], [6, 0, 0], [0, 0, 100], [0, 3, 95], [0, 0, 200], [11, 0, 0], [10, 0, 0]], float)
    d = np.tile([0.0, 0.0, 1.0], (len(o), 1))
    res = ray_sphere_intersection(o, d, c, r)
    np.testing.assert_allclose(res.chord[:2], [20.0, 16.0], rtol=1e-12)
    np.testing.assert_allclose(res.entry[:2], [90.0, 92.0], rtol=1e-12)
    np.testing.assert_allclose(res.exit[:2], [110.0, 108.0], rtol=1e-12)
    # origin at the centre: entry 0, exit = chord = R
    assert res.entry[2] == 0.0 and res.chord[2] == pytest.approx(10.0, rel=1e-12)
    # origin inside, off-centre: exit = 100 + √(R² − 9) − 95
    assert res.entry[3] == 0.0
    assert res.chord[3] == pytest.approx(5.0 + np.sqrt(91.0), rel=1e-12)
    # sphere behind, impact parameter > R, exactly tangent: all give zeros (no NaN/inf)
    for i in (4, 5, 6):
        assert not res.hit[i]
        assert res.entry[i] == res.exit[i] == res.chord[i] == 0.0
    assert np.all(np.isfinite(res.entry)) and np.all(np.isfinite(res.chord))


def test_chord_far_detector_precision():
    # MiniBooNE-like geometry (R = 610.6 cm at 541 m): chord 2√(R² − b²) to 1e-9 relative
    # despite |o − c|² ≈ 3e9 cm² (closest-approach formulation).
    c, r = np.array([0.0, 0.0, 54100.0]), 610.6
    b = np.array([0.0, 100.0, 300.0, 600.0, 610.0])
    o = np.zeros((len(b), 3))
    o[:, 0] = b
    d = np.tile([0.0, 0.0, 1.0], (len(b), 1))
    res = ray_sphere_intersection(o, d, c, r)
    np.testing.assert_allclose(res.chord, 2 * np.sqrt(r**2 - b**2), rtol=1e-9)


def test_random_rays_vs_point_sampling():
    # Brute force: march along each ray in steps h and count points inside the sphere;
    # the chord agrees within 2h (discretisation), independent of the quadratic formula.
    rng = np.random.default_rng(11)
    c, r = np.array([1.0, -2.0, 3.0]), 2.5
    n = 300
    o = c + rng.uniform(-6, 6, (n, 3))
    o[:50] = c + rng.uniform(-1.4, 1.4, (50, 3))  # some origins inside
    d = isotropic_directions(rng, n)
    res = ray_sphere_intersection(o, d, c, r)
    h = 2e-3
    t = np.arange(0.0, 20.0, h) + 0.5 * h
    inside = np.zeros(n)
    for i in range(n):
        pts = o[i] + t[:, None] * d[i]
        inside[i] = np.count_nonzero(np.sum((pts - c) ** 2, axis=1) < r * r) * h
    assert np.max(np.abs(inside - res.chord)) < 2 * h
    assert res.hit[:50].all()  # inside origins always hit
    assert 0 < res.hit[50:].sum() < n - 50  # both hits and misses are exercised


def test_cone_solid_angle_vs_isotropic_rays():
    # Ω/4π = (1 − cos α)/2 must equal the fraction of isotropic rays hitting the sphere
    # (binomial, tolerance 5σ); every direction sampled inside the cone hits.
    rng = np.random.default_rng(5)
    c, r = np.array([0.0, 20.0, 25.0]), 10.0
    p = np.array([[0.0, 0.0, 0.0]])
    cone = cone_to_sphere(p, c, r)
    dist = np.linalg.norm(c)
    assert cone.solid_angle[0] == pytest.approx(2 * np.pi * (1 - np.sqrt(1 - (r / dist) ** 2)), rel=1e-12)
    n = 1_000_000
    d = isotropic_directions(rng, n)
    frac = ray_sphere_intersection(np.repeat(p, n, 0), d, c, r).hit.mean()
    expect = cone.solid_angle[0] / (4 * np.pi)
    assert abs(frac - expect) < 5 * np.sqrt(expect * (1 - expect) / n)
    cones = cone_to_sphere(np.repeat(p, 200_000, 0), c, r)
    dirs = sample_directions_in_cone(rng, cones)
    np.testing.assert_allclose(np.linalg.norm(dirs, axis=1), 1.0, rtol=1e-12)
    assert ray_sphere_intersection(np.repeat(p, 200_000, 0), dirs, c, r).hit.mean() > 1 - 1e-4


def test_cone_sampling_is_uniform():
    # Uniform in solid angle ⇔ cos θ to the axis uniform on [cos α, 1] and φ uniform:
    # compare decile counts with the expectation (χ² with 9 dof < 30, p ≈ 4e-4).
    rng = np.random.default_rng(9)
    n = 200_000
    pts = rng.normal(0, 50, (n, 3))
    c, r = np.array([30.0, -10.0, 400.0]), 80.0
    cone = cone_to_sphere(pts, c, r)
    d = sample_directions_in_cone(rng, cone)
    cos_t = np.einsum("ij,ij->i", d, cone.axis)
    u = (1 - cos_t) / cone.one_minus_cos  # should be U(0,1)
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    chi2 = np.sum((counts - n / 10) ** 2 / (n / 10))
    assert chi2 < 30
    assert np.all(cos_t >= cone.cos_half_angle - 1e-12)


def test_cone_far_and_inside():
    # Far away: 1 − cos α = R²/2D² (1 + R²/4D² + ...) to 1e-9; inside: Ω = 4π.
    c, r = np.array([0.0, 0.0, 54100.0]), 610.6
    cone = cone_to_sphere(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 54000.0]]), c, r)
    s2 = (r / 54100.0) ** 2
    assert cone.one_minus_cos[0] == pytest.approx(0.5 * s2 * (1 + s2 / 4 + s2**2 / 8), rel=1e-9)
    assert cone.solid_angle[1] == pytest.approx(4 * np.pi) and cone.cos_half_angle[1] == -1.0
    rng = np.random.default_rng(1)
    d = sample_directions_in_cone(rng, cone_to_sphere(np.zeros((100_000, 3)) + [0, 0, 54000.0], c, r))
    assert abs(d[:, 2].mean()) < 0.02  # isotropic from inside: <cos θ> = 0 ± 0.0018


def test_orthonormal_frame():
    rng = np.random.default_rng(2)
    a = np.vstack([isotropic_directions(rng, 1000), [[0, 0, 1.0], [0, 0, -1.0], [1.0, 0, 0]]])
    e1, e2 = orthonormal_frame(a)
    for u, v in ((e1, e2), (e1, a), (e2, a)):
        assert np.max(np.abs(np.einsum("ij,ij->i", u, v))) < 1e-12
    np.testing.assert_allclose(np.linalg.norm(e1, axis=1), 1, rtol=1e-12)
    np.testing.assert_allclose(np.cross(e1, e2), a, atol=1e-12)  # right-handed


def test_bad_input():
    with pytest.raises(ParameterError, match="radius"):
        ray_sphere_intersection(np.zeros((1, 3)), [[0, 0, 1.0]], [0, 0, 5.0], -1.0)
    with pytest.raises(ParameterError, match="shape"):
        cone_to_sphere(np.zeros((2, 2)), [0, 0, 5.0], 1.0)
    assert sphere_volume(2.0) == pytest.approx(32.0 / 3.0 * np.pi)


def _disc_directions(frame, a, b, r2):
    """n̂ = e1 a S + e2 b S + axis (1 − ω), ω = r² q, S = √(q (2 − ω)) (map of sample_unit_disc)."""
    q = frame.one_minus_cos
    om = r2 * q
    s = np.sqrt(q * (2 - om))
    return (frame.e1 * (a * s) + frame.e2 * (b * s) + frame.axis * (1 - om)).T, om


def test_cone_frame_matches_cone_to_sphere():
    # Same axis / 1 − cos α as cone_to_sphere (1e-12), orthonormal right-handed frame (1e-12),
    # distance |c − p|; points inside get q = 2, axis +z.
    rng = np.random.default_rng(31)
    c, r = np.array([10.0, -20.0, 300.0]), 50.0
    pts = np.vstack([rng.normal(0, 200, (2000, 3)), [[10.0, -20.0, 300.0], [10.0, 10.0, 300.0]]])
    fr = cone_frame(pts, c, r)
    cone = cone_to_sphere(pts, c, r)
    np.testing.assert_allclose(fr.axis.T, cone.axis, atol=1e-12)
    np.testing.assert_allclose(fr.one_minus_cos, cone.one_minus_cos, rtol=1e-12)
    np.testing.assert_allclose(fr.solid_angle, cone.solid_angle, rtol=1e-12)
    np.testing.assert_allclose(fr.distance, np.linalg.norm(c - pts, axis=1), rtol=1e-12)
    for u, v in ((fr.e1, fr.e2), (fr.e1, fr.axis), (fr.e2, fr.axis)):
        assert np.max(np.abs(np.sum(u * v, axis=0))) < 1e-12
    np.testing.assert_allclose(np.cross(fr.e1.T, fr.e2.T), fr.axis.T, atol=1e-12)
    assert fr.inside[-2] and fr.inside[-1] and fr.one_minus_cos[-1] == 2.0
    # projections: (v·e1, v·e2, v·axis) rebuild v
    v = rng.normal(0, 1, (len(pts), 3))
    p1, p2, p3 = fr.project(v[:, 0], v[:, 1], v[:, 2])
    np.testing.assert_allclose((fr.e1 * p1 + fr.e2 * p2 + fr.axis * p3).T, v, atol=1e-12)


def test_unit_disc_directions_uniform_in_cone():
    # sample_unit_disc: r² ~ U(0, 1) and azimuth uniform (decile χ², 9 dof, < 30 each, p ≈ 4e-4);
    # the mapped directions are unit vectors inside the cone with 1 − cos θ uniform on [0, q]
    # (Marsaglia 1972 map; same test as test_cone_sampling_is_uniform); reproducible by seed.
    rng = np.random.default_rng(32)
    n = 200_000
    a, b, r2 = sample_unit_disc(rng, n)
    assert np.all(r2 < 1.0) and np.all(np.abs(a) <= 1) and np.allclose(r2, a * a + b * b, rtol=0, atol=1e-15)
    for u in (r2, (np.arctan2(b, a) + np.pi) / (2 * np.pi)):
        counts = np.histogram(u, bins=10, range=(0, 1))[0]
        assert np.sum((counts - n / 10) ** 2 / (n / 10)) < 30
    pts = rng.normal(0, 50, (n, 3))
    c, r = np.array([30.0, -10.0, 400.0]), 80.0
    fr = cone_frame(pts, c, r)
    d, om = _disc_directions(fr, a, b, r2)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, rtol=1e-12)
    cos_t = np.sum(d.T * fr.axis, axis=0)
    u = (1 - cos_t) / fr.one_minus_cos
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.sum((counts - n / 10) ** 2 / (n / 10)) < 30
    assert np.all(cos_t >= 1 - fr.one_minus_cos - 1e-12)
    a2, b2, _ = sample_unit_disc(np.random.default_rng(7), (3, 50))
    a3, b3, _ = sample_unit_disc(np.random.default_rng(7), (3, 50))
    assert a2.shape == (3, 50) and np.array_equal(a2, a3) and np.array_equal(b2, b3)


def test_cone_sample_chords_vs_ray_intersection():
    # Closed-form chord 2D√(q(1 − r²)(2 − q − ω)) vs the ray–sphere quadratic along the same
    # direction: 1e-9 relative to R, for near (R = 80 cm at ~4 m) and MiniBooNE-like far spheres.
    rng = np.random.default_rng(33)
    n = 50_000
    for c, r, spread in ((np.array([30.0, -10.0, 400.0]), 80.0, 50.0), (np.array([0.0, 0.0, 54100.0]), 610.6, 500.0)):
        pts = rng.normal(0, spread, (n, 3))
        fr = cone_frame(pts, c, r)
        assert not fr.inside.any()
        a, b, r2 = sample_unit_disc(rng, n)
        d, om = _disc_directions(fr, a, b, r2)
        chord = cone_sample_chords(fr, r2, om)
        ref = ray_sphere_intersection(pts, d, c, r).chord
        assert np.max(np.abs(chord - ref)) < 1e-9 * r
        assert ray_sphere_intersection(pts, d, c, r).hit.all()
