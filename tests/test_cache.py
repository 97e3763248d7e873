"""On-disk meson cache: content addressing, reproducibility, independent streams per group."""

from __future__ import annotations

import numpy as np

from mesonportal.cache import cached_mesons
from mesonportal.experiments import load_experiment


def test_cache_hit_is_identical_and_groups_are_independent(tmp_path):
    exp = load_experiment("miniboone")
    a = cached_mesons(exp, "nu", 2000, 5, species=(211,), directory=tmp_path)
    files = list(tmp_path.glob("mesons-*.npz"))
    assert len(files) == 1
    b = cached_mesons(exp, "nu", 2000, 5, species=(211,), directory=tmp_path)  # from disk
    assert np.array_equal(a.p4, b.p4) and np.array_equal(a.weight, b.weight)
    assert b.summary == a.summary
    # another species group with the same seed draws from its own stream: the production
    # momenta of pi+ and pi- samples must not be the same random numbers mapped twice
    c = cached_mesons(exp, "nu", 2000, 5, species=(-211,), directory=tmp_path)
    assert len(list(tmp_path.glob("mesons-*.npz"))) == 2
    n = min(len(a), len(c), 200)
    assert not np.allclose(a.vertex[:n, 2], c.vertex[:n, 2])


def test_species_groups_use_independent_streams():
    from mesonportal.cache import meson_rng

    same = meson_rng(5, (211, -211)).random(4), meson_rng(5, (-211, 211)).random(4)
    assert np.array_equal(*same)  # same group (order irrelevant), same seed: same stream
    assert not np.array_equal(meson_rng(5, (111,)).random(4), meson_rng(5, (221,)).random(4))
    assert not np.array_equal(meson_rng(5, None).random(4), meson_rng(6, None).random(4))
