"""Several meson blocks tracked through the horn together (sources/grouped.py, issue #10).

Reference: the blocks simulated one by one by ``simulate_mesons`` (the implementation of 0.4.0,
whose block files are cached): grouped blocks must be bitwise identical (tolerance: none —
``tobytes()`` equality of every column and equality of the fate summaries)."""

from __future__ import annotations

import numpy as np
import pytest

from mesonportal import cache
from mesonportal.experiments import load_experiment
from mesonportal.sources.grouped import _GroupForcedDecay, simulate_mesons_grouped
from mesonportal.sources.transport import _ForcedDecay, simulate_mesons

COLUMNS = ("p4", "vertex", "pdgid", "weight", "parent")


@pytest.fixture(scope="module")
def exp():
    return load_experiment("miniboone")


def _same(a, b) -> None:
    for c in COLUMNS:
        x, y = getattr(a, c), getattr(b, c)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), c
    assert a.summary == b.summary


@pytest.mark.parametrize("mode", ["nu", "nubar", "dump"])
def test_three_blocks_grouped_equal_one_by_one(exp, mode):
    # π+ (with tertiaries), K− (no tertiaries: the groups of the second horn pass differ), π−
    jobs = [(300, 211, 0), (300, -321, 1), (300, -211, 2)]
    grouped = simulate_mesons_grouped(exp, mode, [(n, cache.meson_rng(5, (p,), b), (p,)) for n, p, b in jobs])
    for (n, p, b), g in zip(jobs, grouped):
        assert len(g) > 0
        _same(g, simulate_mesons(exp, mode, n, cache.meson_rng(5, (p,), b), species=(p,)))


def test_grouped_generators_end_in_the_same_state(exp):
    # the streams are left where simulate_mesons leaves them (no extra or missing draw)
    r1, r2 = [cache.meson_rng(9, (211,), b) for b in (0, 1)], [cache.meson_rng(9, (211,), b) for b in (0, 1)]
    simulate_mesons_grouped(exp, "nu", [(200, r, (211,)) for r in r1])
    for r in r2:
        simulate_mesons(exp, "nu", 200, r, species=(211,))
    for a, b in zip(r1, r2):
        assert a.random(4).tobytes() == b.random(4).tobytes()


def test_prefetch_writes_the_block_files_of_cached_block(exp, tmp_path, monkeypatch):
    from mesonportal.analysis import allocation as al

    pairs = [(211, 0), (211, 1), (321, 0)]
    files = {}
    for tag, grouped in (("one", False), ("group", True)):
        d = tmp_path / tag
        monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(d))
        al._BLOCK_MEMO.clear()
        if grouped:
            assert al.prefetch_blocks(exp, "nu", 250, 3, pairs) == len(pairs)
            assert al.prefetch_blocks(exp, "nu", 250, 3, pairs) == 0  # all made: nothing again
        arrs = [al.cached_block(exp, "nu", 250, 3, p, b) for p, b in pairs]
        files[tag] = {f.name: f.read_bytes() for f in d.glob("mesonblock-*.npy")}
        assert len(files[tag]) == len(pairs) and all(len(a) for a in arrs)
    al._BLOCK_MEMO.clear()
    assert files["one"] == files["group"]


def test_group_accumulator_draws_per_block_in_order():
    rates = {"air": 1e-4, "conductor": 1e-2, "target": 1e-2}
    accs = [_ForcedDecay(k, np.full(k, 1e-3), rates, np.random.default_rng(s)) for k, s in ((3, 1), (2, 2))]
    g = _GroupForcedDecay(accs)
    u = g._uniforms(np.array([0, 2, 3]))  # two tracks of block 0, one of block 1
    assert u.tobytes() == np.concatenate([np.random.default_rng(1).random(2),
                                          np.random.default_rng(2).random(1)]).tobytes()
    with pytest.raises(RuntimeError, match="increasing order"):
        g._uniforms(np.array([3, 0]))
