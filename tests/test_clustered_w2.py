"""Meson-clustered MC variance (``clustered_histogram_w2``): the directly addressed (cluster, bin)
cells give the same numbers, bit for bit, as the sorted cells of the 0.4.0 implementation
(``_sorted_cells`` below), and both match the definition Σ_i s_i² (and the stratified estimator)
evaluated cell by cell in plain Python."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from mesonportal.analysis.prediction import clustered_histogram_w2, dense_cluster_ids


def _sorted_cells(w, b, nbins, cl, st=None, sizes=None):
    """The previous implementation (cells found by sorting their keys)."""
    ok = b >= 0
    _, inv = np.unique(cl[ok], return_inverse=True)
    key = inv.ravel().astype(np.int64) * nbins + b[ok]
    ukey, first, kinv = np.unique(key, return_index=True, return_inverse=True)
    s = np.bincount(kinv.ravel(), weights=w[ok])
    var = np.bincount(ukey % nbins, weights=s * s, minlength=nbins).astype(np.float64)
    if st is None or not sizes:
        return var
    cst = st[ok][first]
    for h, n_h in sizes.items():
        sel = cst == h
        a = np.bincount(ukey[sel] % nbins, weights=s[sel] * s[sel], minlength=nbins)
        t = np.bincount(ukey[sel] % nbins, weights=s[sel], minlength=nbins)
        var += (n_h / (n_h - 1.0)) * (a - t * t / n_h) - a
    return np.clip(var, 0.0, None)


def _reference(w, b, nbins, cl, st=None, sizes=None):
    """Definition (docstring of clustered_histogram_w2), one cell at a time."""
    cells: dict[tuple[int, int], float] = {}
    cell_st: dict[tuple[int, int], int] = {}
    for wi, bi, ci, si in zip(w, b, cl, st if st is not None else np.zeros(len(w), int)):
        if bi < 0:
            continue
        cells[(ci, bi)] = cells.get((ci, bi), 0.0) + wi
        cell_st.setdefault((ci, bi), si)
    var = np.zeros(nbins)
    for (c, k), s in cells.items():
        var[k] += s * s
    if sizes:
        for h, n in sizes.items():
            a, t = np.zeros(nbins), np.zeros(nbins)
            for (c, k), s in cells.items():
                if cell_st[(c, k)] == h:
                    a[k] += s * s
                    t[k] += s
            var += n / (n - 1.0) * (a - t * t / n) - a
    return np.clip(var, 0.0, None)


@pytest.mark.parametrize("with_strata", [False, True])
@pytest.mark.parametrize("nbins", [11, 300])  # 300 bins × 400 clusters > 8 × rows + 65536: sorted cells
def test_dense_cells_bit_identical_to_sorted_and_match_definition(with_strata, nbins):
    rng = np.random.default_rng(7)
    n = 3000
    cl = rng.integers(0, 10**6, 400)[rng.integers(0, 400, n)]  # sparse meson indices, repeated
    b = rng.integers(-1, nbins, n)
    w = rng.exponential(1e-3, n)
    st = np.where(cl % 2 == 0, 211, 321) if with_strata else None  # stratum constant per meson
    sizes = {211: 700, 321: 300} if with_strata else None
    ids, ncl = dense_cluster_ids(cl)
    dense_path = clustered_histogram_w2(w, b, nbins, ids, st, sizes, n_clusters=ncl)
    assert np.array_equal(dense_path, _sorted_cells(w, b, nbins, cl, st, sizes))  # bit for bit
    assert np.array_equal(dense_path, clustered_histogram_w2(w, b, nbins, cl, st, sizes))
    mask = rng.random(n) < 0.5  # a selection of rows (as for the 200-1250 MeV window)
    stm = None if st is None else st[mask]
    assert np.array_equal(_sorted_cells(w[mask], b[mask], nbins, cl[mask], stm, sizes),
                          clustered_histogram_w2(w[mask], b[mask], nbins, ids[mask], stm, sizes, n_clusters=ncl))
    # reference: the definition evaluated cell by cell (summation order differs: 1e-12 relative)
    np.testing.assert_allclose(dense_path, _reference(w, b, nbins, cl, st, sizes), rtol=1e-12, atol=0)


def test_main_restores_gc_threshold():
    from mesonportal.cli.main import main

    before = gc.get_threshold()
    assert main(["--version"]) == 0
    assert gc.get_threshold() == before
