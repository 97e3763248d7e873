"""Main-job plumbing (issue #10, cold main job and its memory): the fit's counts-only histogram
equals the full histogram's counts bit for bit, slimmed samples give the same numbers from the
same arrays, and the memory release is harmless.  Reference: the existing
``SignalSample.histogram`` / ``totals`` of the same sample (exact equality, tolerance 0)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mesonportal.analysis.prediction import SignalSample
from mesonportal.analysis.retention import FIT_COLUMNS, LENS_COLUMNS, slim
from mesonportal.exceptions import ParameterError


def _sample(n: int = 5000, seed: int = 3) -> SignalSample:
    rng = np.random.default_rng(seed)
    cols = {"e_qe": rng.uniform(0.0, 3500.0, n), "e_vis": rng.uniform(0.0, 2000.0, n),
            "cos_theta": rng.uniform(-1.0, 1.0, n), "weight": rng.exponential(1e-21, n),
            "meson_index": rng.integers(0, n // 3, n), "parent_pdg": rng.choice([211, 321], n),
            "e_true": rng.uniform(0.0, 2000.0, n), "dark_px": rng.normal(size=n), "t": rng.normal(size=n)}
    cols["e_qe"][:5] = [np.nan, np.inf, -1.0, 3000.0, 200.0]  # outside / edge values
    prim = rng.random(n) < 0.5
    w = cols["weight"]

    def weight_fn(x: float) -> np.ndarray:  # like the scalar family: Primakoff ∝ x², decays fixed
        return np.where(prim, w * (x / 2.0) ** 2, w)

    return SignalSample("miniboone", "nu", 1.875e21, {"model": "test"}, 2.0, "MeV^-1", cols, weight_fn,
                        {"primaries_per_species": {211: 2000, 321: 2000}})


@pytest.mark.parametrize("x", [None, 2.0, 0.37, 11.0])
def test_counts_equal_histogram_counts_bitwise(x):
    s = _sample()
    for name in ("enu_qe", "evis", "costheta"):
        assert np.array_equal(s.counts(name, x), s.histogram(name, x)[1])
    assert np.array_equal(s.enu_qe_counts(x), s.histogram("enu_qe", x)[1])


def test_counts_follow_replaced_columns_and_reject_non_finite_weights():
    s = _sample()
    s.counts("enu_qe")
    shifted = dict(s.columns, e_qe=s.columns["e_qe"] + 150.0)
    s2 = dataclasses.replace(s, columns=shifted)
    assert np.array_equal(s2.counts("enu_qe"), s2.histogram("enu_qe")[1])
    assert not np.array_equal(s2.counts("enu_qe"), s.counts("enu_qe"))
    bad = dataclasses.replace(s, weight_fn=lambda x: np.full(len(s), np.inf))
    with pytest.raises(ParameterError, match="finite"):
        bad.counts("enu_qe", 1.0)


def test_slim_keeps_the_same_arrays_and_numbers():
    s = _sample()
    for keep in (FIT_COLUMNS, LENS_COLUMNS):
        t = slim(s, keep)
        assert set(t.columns) <= set(keep) | {"e_vis", "cos_theta", "e_qe", "weight"}
        assert "dark_px" not in t.columns and "t" not in t.columns
        assert all(t.columns[k] is s.columns[k] for k in t.columns)
        assert t.totals(3.0) == s.totals(3.0)
        assert np.array_equal(t.histogram("enu_qe", 3.0)[2], s.histogram("enu_qe", 3.0)[2])
    assert slim(None) is None


def test_memory_release_is_harmless():
    from mesonportal import _memory
    from mesonportal.analysis import allocation

    allocation._SPECIES_MEMO[("test",)] = (np.zeros(3),)
    _memory.release()
    assert ("test",) not in allocation._SPECIES_MEMO
    assert isinstance(_memory.trim(), bool)


def test_lean_memos_bound_the_meson_memos_and_restore_them(monkeypatch):
    """The main job's lean memos keep one entry per memo (a sample needed again is re-read from
    the disk cache) and restore the bounds afterwards; without a disk cache they change nothing."""
    from mesonportal import _memory
    from mesonportal.analysis import allocation

    bounds = allocation.BLOCK_MEMO_BYTES, allocation.SPECIES_MEMO_BYTES
    monkeypatch.delenv("MESONPORTAL_NO_CACHE", raising=False)
    with _memory.lean_memos():
        for i in range(3):
            allocation._remember_block(("lean-test", i), np.zeros(4))
        assert list(allocation._BLOCK_MEMO) == [("lean-test", 2)]
    assert (allocation.BLOCK_MEMO_BYTES, allocation.SPECIES_MEMO_BYTES) == bounds
    allocation._BLOCK_MEMO.clear()
    monkeypatch.setenv("MESONPORTAL_NO_CACHE", "1")
    with _memory.lean_memos():
        assert (allocation.BLOCK_MEMO_BYTES, allocation.SPECIES_MEMO_BYTES) == bounds
