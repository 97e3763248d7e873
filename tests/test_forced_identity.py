"""Bit identity of the optimised rest-frame forced emission (propagation/forced.py rest_band,
draw_from_band) and geometry / kinematics helpers (ray_sphere_intersection, cone_to_sphere,
sample_directions_in_cone, isotropic_directions, rotate_to_axis) with the straightforward (N, 3)
implementations they replaced (tests/_forced_reference.py, mesonportal 0.4.0 verbatim).

Reference: that implementation itself; tolerance: none — every output array must have the same
bytes (same IEEE operations in the same order, same random draws), so that predictions, scans and
regression pins do not move.  The inputs mix the cases the code branches on: fast parents
(backward kinematic branch), slow parents, parents at rest, massless and heavy daughters, p0 = 0,
vertices inside the sphere, distant (micro-steradian) and near cones, and draws with and without a
parent index (gathers)."""

from __future__ import annotations

import numpy as np
import pytest
from _forced_reference import (ref_cone_to_sphere, ref_draw_from_band, ref_isotropic_directions, ref_rest_band,
                               ref_rotate_to_axis, ref_ray_sphere_intersection, ref_sample_directions_in_cone)

from mesonportal.kinematics import isotropic_directions, rotate_to_axis
from mesonportal.propagation.forced import _dot3, draw_from_band, rest_band
from mesonportal.propagation.geometry import cone_to_sphere, ray_sphere_intersection, sample_directions_in_cone

M_PARENT = 134.9768  # MeV, π⁰ (any massive parent will do: this is an identity test)


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _inputs(seed: int, n: int, m: float, center, radius: float):
    rng = np.random.default_rng(seed)
    # parents: momenta from 0 (at rest) to 20 GeV in random directions, forward-peaked
    p = np.exp(rng.uniform(np.log(1.0), np.log(2.0e4), n))
    p[: n // 50] = 0.0  # at rest
    d = rng.normal(size=(n, 3))
    d[:, 2] = np.abs(d[:, 2]) * 5.0
    d /= np.linalg.norm(d, axis=1)[:, None]
    par = np.column_stack([np.sqrt(p * p + M_PARENT**2), p[:, None] * d])
    # two-body rest frame: daughter of mass m, recoil of mass 0 (π⁰ → γ V-like); p0 = 0 rows
    e0 = np.full(n, (M_PARENT**2 + m * m) / (2 * M_PARENT))
    p0 = np.sqrt(np.clip(e0 * e0 - m * m, 0.0, None))
    k = rng.choice(n, n // 40, replace=False)
    e0[k], p0[k] = m, 0.0
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    rest = np.column_stack([e0, p0[:, None] * u])
    # vertices along a beamline, a few inside the sphere
    vtx = np.column_stack([rng.normal(0, 30, n), rng.normal(0, 30, n), rng.uniform(0, 5.0e4, n)])
    inside = rng.choice(n, n // 30, replace=False)
    vtx[inside] = np.asarray(center) + rng.uniform(-0.5, 0.5, (inside.size, 3)) * radius
    return par, vtx, rest


@pytest.mark.parametrize("m,center,radius", [
    (0.0, (0.0, 0.0, 5.4e4), 610.0),      # massless daughter, distant detector (MiniBooNE-like)
    (17.0, (0.0, 0.0, 5.4e4), 610.0),     # light massive daughter
    (120.0, (0.0, 0.0, 5.4e4), 610.0),    # heavy daughter: many fast parents (two branches)
    (60.0, (300.0, -50.0, 2.0e3), 400.0),  # near, off-axis detector (wide cones)
])
def test_rest_band_and_draw_bit_identical(m, center, radius):
    n = 3000
    par, vtx, rest = _inputs(11, n, m, center, radius)
    ref = ref_rest_band(par, vtx, rest, m, center, radius)
    new = rest_band(par, vtx, rest, m, center, radius)
    assert ref["fast"].any() or m == 0.0
    for k in ("beta", "gamma", "e0", "p0", "one_minus_cos", "inside", "l1", "ltot", "c1_lo", "c2_lo", "dphi",
              "phi_a", "fast"):
        assert _same(ref[k], new[k]), k
    assert _same(ref["ax"].T, new["ax"]), "ax"
    rows = np.random.default_rng(5).integers(0, n, 2 * n)
    for idx in (None, rows):
        fr = ref_draw_from_band(np.random.default_rng(7), ref, idx, m)
        fn = draw_from_band(np.random.default_rng(7), new, idx, m)
        for k in fr._fields:
            assert _same(getattr(fr, k), getattr(fn, k)), k
        assert (fn.weight > 0).mean() > 0.1  # the draws are exercised, not all rejected


def test_dot3_matches_einsum():
    # _dot3 reproduces the summation order of NumPy's einsum("ij,ij->i") for three components
    # (and so the code it replaced): exact, on operands spanning 10 decades.  If a NumPy release
    # changes einsum's order, this fails and _dot3 must follow (outputs of 0.4.0 would move anyway).
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 64, 100_003):
        a = rng.normal(size=(n, 4)) * np.exp(rng.uniform(-12, 12, (n, 1)))
        b = rng.normal(size=(n, 3))
        for x, y in ((a[:, 1:], a[:, 1:]), (b, a[:, 1:]), (a[:, 1:], b)):
            assert _same(np.einsum("ij,ij->i", x, y), _dot3(x[:, 0], x[:, 1], x[:, 2], y[:, 0], y[:, 1], y[:, 2]))


@pytest.mark.parametrize("center,radius", [((0.0, 0.0, 5.4e4), 610.0), ((30.0, -20.0, 500.0), 100.0)])
def test_geometry_and_kinematics_bit_identical(center, radius):
    rng = np.random.default_rng(9)
    n = 5000
    o = np.column_stack([rng.normal(0, 50, n), rng.normal(0, 50, n), rng.uniform(-100, 6e4, n)])
    o[: n // 10] = np.asarray(center) + rng.uniform(-1, 1, (n // 10, 3)) * radius  # inside / near the sphere
    d = rng.normal(size=(n, 3))
    d[:, 2] += 3.0
    d /= np.linalg.norm(d, axis=1)[:, None]
    rel = np.asarray(center) - o[: n // 7]
    d[: n // 7] = rel / np.linalg.norm(rel, axis=1)[:, None]  # aimed at the centre (hits)
    o4 = np.column_stack([np.zeros(n), o])  # strided inputs too
    for org in (o, o4[:, 1:]):
        ref, new = ref_ray_sphere_intersection(org, d, center, radius), ray_sphere_intersection(org, d, center, radius)
        assert new.hit.any() and not new.hit.all()
        for f in ref._fields:
            assert _same(getattr(ref, f), getattr(new, f)), f
    cr, cn = ref_cone_to_sphere(o, center, radius), cone_to_sphere(o, center, radius)
    for f in cr._fields:
        assert _same(getattr(cr, f), getattr(cn, f)), f
    assert _same(ref_sample_directions_in_cone(np.random.default_rng(1), cr),
                 sample_directions_in_cone(np.random.default_rng(1), cn))
    assert _same(ref_isotropic_directions(np.random.default_rng(2), n), isotropic_directions(np.random.default_rng(2), n))
    v = rng.normal(size=(n, 3)) * 3.0
    ax = d.copy()
    ax[: n // 20] = (0.0, 0.0, 1.0)  # degenerate axes: along ±z
    ax[n // 20: n // 10] = (0.0, 0.0, -1.0)
    ax[n // 10: n // 8] *= 2.5  # not normalised
    assert _same(ref_rotate_to_axis(v, ax), rotate_to_axis(v, ax))


@pytest.mark.parametrize("m,center,radius", [(0.0, (0.0, 0.0, 5.4e4), 610.0), (60.0, (300.0, -50.0, 2.0e3), 400.0)])
def test_restframe_blocks_bit_identical(monkeypatch, m, center, radius):
    """force_towards_sphere_restframe block by block (peak memory, issue #10) = the one-block form.

    Reference: the one-block form (same rng state); tolerance: none (same bytes).  Blocks of 97
    rows: some blocks hold no parent at rest / no vertex inside the sphere, others do (the
    branches of rest_band), and the last block is short."""
    from mesonportal.propagation import forced

    n = 3000
    par, vtx, rest = _inputs(13, n, m, center, radius)
    one = forced.force_towards_sphere_restframe(np.random.default_rng(3), par, vtx, rest, m, center, radius)
    monkeypatch.setattr(forced, "BLOCK_ROWS", 97)
    rng = np.random.default_rng(3)
    blk = forced.force_towards_sphere_restframe(rng, par, vtx, rest, m, center, radius)
    for k in one._fields:
        assert _same(getattr(one, k), getattr(blk, k)), k
    assert (blk.weight > 0).mean() > 0.1
    # the generator advanced by the same 2n draws
    ref = np.random.default_rng(3)
    ref.random(2 * n)
    assert rng.random() == ref.random()


def test_draw_from_band_blocks_bit_identical(monkeypatch):
    """draw_from_band with a parent index, block by block (peak memory, issue #10) = one block.

    Reference: the one-block draw (same rng state); tolerance: none (same bytes)."""
    from mesonportal.propagation import forced

    m, center, radius = 17.0, (0.0, 0.0, 5.4e4), 610.0
    n = 2000
    par, vtx, rest = _inputs(17, n, m, center, radius)
    band = rest_band(par, vtx, rest, m, center, radius)
    rows = np.random.default_rng(9).integers(0, n, 3 * n)
    one = draw_from_band(np.random.default_rng(4), band, rows, m)
    monkeypatch.setattr(forced, "BLOCK_ROWS", 101)
    rng = np.random.default_rng(4)
    blk = forced.draw_from_band(rng, band, rows, m)
    for k in one._fields:
        assert _same(getattr(one, k), getattr(blk, k)), k
    assert 0.0 < (blk.weight == 0).mean() < 0.9  # accepted and rejected draws (the cone-axis fill)
    ref = np.random.default_rng(4)
    ref.random(6 * n)
    assert rng.random() == ref.random()
