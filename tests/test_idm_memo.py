"""The iDM kinematics memo and the lean iDM reweighter (issue #10: CPU and memory of the iDM
part of the main job).  Reference: the computation without the memo — every number must be
bitwise identical (tolerance 0), because the memo only skips recomputing the coupling- and
criterion-independent V's and forced χ emissions."""

from __future__ import annotations

import numpy as np
import pytest

from mesonportal.analysis.predict import predict_signal
from mesonportal.detection import signal as S
from mesonportal.models.registry import load_benchmark
from mesonportal.pipeline import resolve_experiment

N = 4000  # primary mesons: small, the test is about identity, not statistics


def _same(a, b) -> None:
    assert sorted(a.columns) == sorted(b.columns)
    for k in a.columns:
        np.testing.assert_array_equal(np.asarray(a.columns[k]), np.asarray(b.columns[k]), err_msg=k)
    for x in (1e-9, 1e-8):
        np.testing.assert_array_equal(a.weight_fn(x), b.weight_fn(x))
    ia, ib = dict(a.info), dict(b.info)
    ia.pop("timing_s"), ib.pop("timing_s")
    assert ia == ib


@pytest.fixture(scope="module")
def variants():
    ref = load_benchmark("idm-single")
    return [(ref, "circle"), (ref, "angle"), (load_benchmark("idm-single", g1=0.01), "circle")]


def test_memo_is_bitwise_identical_and_hit(variants, monkeypatch):
    """g₁ and criterion variants of one mode inside the memo equal the separate predictions, and
    the kinematics are computed once per target (detector, dirt) instead of once per variant."""
    plain = [predict_signal("miniboone", "nu", m, samples=N, seed=3, criterion=c) for m, c in variants]
    calls = []
    real = S._idm_kinematics
    monkeypatch.setattr(S, "_idm_kinematics", lambda *a, **k: calls.append(1) or real(*a, **k))
    with S.idm_arrival_memo(2):
        memo = [predict_signal("miniboone", "nu", m, samples=N, seed=3, criterion=c) for m, c in variants]
    assert len(calls) == 2  # detector + dirt of the first variant; the others are hits
    for a, b in zip(plain, memo):
        _same(a, b)
    assert S._KIN_MEMO is None  # dropped when the block ends


def test_memo_restores_generator_state(variants):
    """After a hit the generator is where the computation would have left it."""
    m, _ = variants[0]
    exp = resolve_experiment("miniboone")
    mesons = S.ParticleSample(np.array([[3000.0, 0, 0, 2990.0]] * 50), np.zeros((50, 3)), 111, 1e-3)
    r0 = np.random.default_rng(11)
    a0 = S.idm_arrivals(m, mesons, exp.detector, r0)
    assert len(a0) > 0
    with S.idm_arrival_memo(1):
        r1, r2 = np.random.default_rng(11), np.random.default_rng(11)
        a1 = S.idm_arrivals(m, mesons, exp.detector, r1)
        a2 = S.idm_arrivals(m, mesons, exp.detector, r2)
    assert r0.random() == r1.random() == r2.random()
    for a in (a1, a2):
        np.testing.assert_array_equal(a.p4, a0.p4)
        np.testing.assert_array_equal(a.weight, a0.weight)


def test_region_rows_only_is_the_hit_subset(variants):
    """``region_rows_only`` keeps exactly the rows with a positive chord, in order."""
    m, _ = variants[0]
    exp = resolve_experiment("miniboone")
    mesons = S.ParticleSample(np.array([[1500.0, 30.0, 0, 1490.0]] * 200), np.zeros((200, 3)), 111, 1e-3)
    tgt = S._DirtTarget(exp.detector)
    full = S.idm_arrivals(m, mesons, tgt, np.random.default_rng(5))
    part = S.idm_arrivals(m, mesons, tgt, np.random.default_rng(5), region_rows_only=True)
    hit = full.chord > 0
    assert 0 < hit.sum() < len(full)  # the dirt's bounding sphere is larger than the dirt
    for k in ("p4", "vertex", "direction", "weight", "entry", "chord"):
        np.testing.assert_array_equal(getattr(part, k), getattr(full, k)[hit])
    for k in full.extra:
        np.testing.assert_array_equal(part.extra[k], full.extra[k][hit])


def test_reweighter_bounded_cache_same_numbers():
    """The reweighter keeps a few recent weight arrays: a recomputed one is identical."""
    s = predict_signal("miniboone", "nu", load_benchmark("idm-double"), samples=N, seed=3)
    first = s.weight_fn(2e-9).copy()
    for x in np.geomspace(1e-10, 1e-7, 3 * S.REWEIGHT_CACHE_ENTRIES):
        s.weight_fn(float(x))
    np.testing.assert_array_equal(s.weight_fn(2e-9), first)
    cells = dict(zip(s.weight_fn.__code__.co_freevars, (c.cell_contents for c in s.weight_fn.__closure__)))
    assert len(cells["cache"]) <= S.REWEIGHT_CACHE_ENTRIES
    assert "e_qe" not in cells["cols"]  # only the arrays the weights read are referenced
