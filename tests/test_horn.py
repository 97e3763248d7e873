"""Tests of the horn tracker (field, |p| conservation, polarity symmetry)."""

import numpy as np
import pytest

from mesonportal.experiments.config import load_experiment
from mesonportal.sources.horn import EXIT_DOWNSTREAM, HornGeometry, field_tesla, track_horn


@pytest.fixture(scope="module")
def exp():
    return load_experiment("miniboone")


def _tracks(n, seed):
    rng = np.random.default_rng(seed)
    th = rng.uniform(0.02, 0.25, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    p = rng.uniform(300, 4000, n)
    d = np.column_stack([np.sin(th) * np.cos(phi), np.sin(th) * np.sin(phi), np.cos(th)])
    pos = np.column_stack([np.zeros(n), np.zeros(n), rng.uniform(0, 71, n)])
    return pos, d * p[:, None]


def test_field_value(exp):
    # Ampère: B = μ0 I/(2π r) = 2e-7 T·m/A × 174e3 A / 0.1 m = 0.348 T at r = 10 cm in the field region.
    z = 120.0  # r_in = 6.54 cm here
    b, phi = field_tesla(np.array([[10.0, 0.0, z]]), exp.horn, 174.0)
    assert b[0] == pytest.approx(0.348, rel=1e-12)
    assert np.allclose(phi[0], [0, 1, 0])
    b_in, _ = field_tesla(np.array([[1.0, 0.0, z]]), exp.horn, 174.0)
    assert b_in[0] == 0.0  # no enclosed current inside the inner conductor


def test_momentum_conserved(exp):
    # Magnetic force does no work: |p| conserved (rotation-based stepper), rel 1e-9.
    pos, mom = _tracks(5000, 1)
    _, m1, _ = track_horn(pos, mom, np.ones(len(pos)), HornGeometry(exp.horn), 174.0)
    assert np.allclose(np.linalg.norm(m1, axis=1), np.linalg.norm(mom, axis=1), rtol=1e-9, atol=0)


def test_on_axis_no_field_unchanged(exp):
    # Analytic limit: an on-axis meson with I = 0 leaves the horn with unchanged momentum.
    pos = np.array([[0.0, 0.0, 10.0]])
    mom = np.array([[0.0, 0.0, 1500.0]])
    p1, m1, st = track_horn(pos, mom, np.ones(1), HornGeometry(exp.horn), 0.0)
    assert st[0] == EXIT_DOWNSTREAM
    assert np.allclose(m1, mom, rtol=0, atol=1e-12)
    assert p1[0, 0] == 0.0 and p1[0, 1] == 0.0


def test_polarity_mirror(exp):
    # C-symmetry of the setup: q=+1 with +I follows exactly the same path as q=-1 with -I.
    pos, mom = _tracks(3000, 2)
    g = HornGeometry(exp.horn)
    a = track_horn(pos, mom, np.ones(len(pos)), g, 174.0)
    b = track_horn(pos, mom, -np.ones(len(pos)), g, -174.0)
    assert np.array_equal(a[2], b[2])
    assert np.allclose(a[0], b[0]) and np.allclose(a[1], b[1])


def test_focusing_selects_charge(exp):
    # ν mode focuses positive mesons: more forward π+ than π− at the horn exit (physics.md §1).
    pos, mom = _tracks(20000, 3)
    g = HornGeometry(exp.horn)
    res = {}
    for q in (1, -1):
        _, m1, st = track_horn(pos, mom, q * np.ones(len(pos)), g, 174.0)
        ex = st == EXIT_DOWNSTREAM
        ct = m1[ex, 2] / np.linalg.norm(m1[ex], axis=1)
        res[q] = np.sum(ct > 0.999)
    assert res[1] > 1.5 * res[-1]
