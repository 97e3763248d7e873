"""MiniBooNE analysis binnings and weighted-histogram helpers.

Bin edges are read from the bundled tables in ``mesonportal/data/miniboone_response``:

* ``E_QE``: 11 bins, 200, 300, 375, 475, 550, 675, 800, 950, 1100, 1250, 1500, 3000 MeV — the
  MiniBooNE 2021 ν_e low-energy-excess data release (arXiv:2006.16883), physics.md §5.
* ``E_vis``: 23 bins of 50 MeV from 100 to 1250 MeV — the E_vis figure of arXiv:2006.16883
  (digitised 2021 figures, converted from GeV to MeV).
* ``cos θ``: 20 bins of 0.1 from −1 to 1 — the cos θ figure of arXiv:2006.16883.

Histogram convention (as :func:`numpy.histogram`): bins are half-open ``[e_i, e_{i+1})`` except
the last, which is closed; values outside ``[e_0, e_N]`` (including ±inf) are not counted.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mesonportal.data import load_table
from mesonportal.exceptions import ParameterError

_DIR = "miniboone_response"
_FILES = {
    "e_qe": f"{_DIR}/eqe_bin_edges.txt",
    "e_vis": f"{_DIR}/evis_bin_edges.txt",
    "cos_theta": f"{_DIR}/costheta_bin_edges.txt",
}
OBSERVABLES = tuple(_FILES)


def _load_edges(name: str) -> NDArray[np.float64]:
    e = load_table(_FILES[name], ndmin=1).astype(np.float64).ravel()
    e.setflags(write=False)
    return e


#: E_QE bin edges in MeV (11 bins, 2021 data release).
EQE_EDGES_MEV: NDArray[np.float64] = _load_edges("e_qe")
#: E_vis bin edges in MeV (23 bins, arXiv:2006.16883 figure).
EVIS_EDGES_MEV: NDArray[np.float64] = _load_edges("e_vis")
#: cos θ bin edges (20 bins, arXiv:2006.16883 figure).
COSTHETA_EDGES: NDArray[np.float64] = _load_edges("cos_theta")

_EDGES = {"e_qe": EQE_EDGES_MEV, "e_vis": EVIS_EDGES_MEV, "cos_theta": COSTHETA_EDGES}


def edges(observable: str) -> NDArray[np.float64]:
    """Writable copy of the MiniBooNE bin edges of ``observable`` (``"e_qe"`` [MeV],
    ``"e_vis"`` [MeV] or ``"cos_theta"``)."""
    if observable not in _EDGES:
        raise ParameterError(f"observable = {observable!r} has no binning; allowed: {', '.join(OBSERVABLES)}")
    return _EDGES[observable].copy()


def bin_centres(edges_: ArrayLike) -> NDArray[np.float64]:
    """Arithmetic bin centres of an edge array."""
    e = _check_edges(edges_)
    return 0.5 * (e[1:] + e[:-1])


def bin_widths(edges_: ArrayLike) -> NDArray[np.float64]:
    """Bin widths of an edge array (same unit as the edges)."""
    return np.diff(_check_edges(edges_))


def _check_edges(edges_: ArrayLike) -> NDArray[np.float64]:
    e = np.asarray(edges_, dtype=np.float64).ravel()
    if e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0.0):
        raise ParameterError("edges must be at least 2 finite, strictly increasing numbers")
    return e


def bin_index(values: ArrayLike, edges_: ArrayLike) -> NDArray[np.int64]:
    """Bin number of every value (0 … N−1), or −1 if outside ``[e_0, e_N]`` or not finite."""
    e = _check_edges(edges_)
    v = np.asarray(values, dtype=np.float64).ravel()
    idx = np.searchsorted(e, v, side="right") - 1
    idx = np.where(v == e[-1], e.size - 2, idx)  # last bin is closed
    inside = np.isfinite(v) & (idx >= 0) & (idx <= e.size - 2)
    return np.where(inside, idx, -1).astype(np.int64)


def weighted_histogram(
    values: ArrayLike, weights: ArrayLike, edges_: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted histogram of ``values``.

    Returns ``(counts, sumw2)``: per bin the sum of weights and the sum of squared weights
    (the Monte Carlo statistical variance of ``counts``).  Values outside the edges, ±inf and
    NaN values are not counted.  ``weights`` must be finite and have the length of ``values``.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != v.shape:
        raise ParameterError(f"weights must have the length of values ({v.size}), got {w.size}")
    if not np.all(np.isfinite(w)):
        raise ParameterError("weights must be finite")
    e = _check_edges(edges_)
    nb = e.size - 1
    idx = bin_index(v, e)
    ok = idx >= 0
    counts = np.bincount(idx[ok], weights=w[ok], minlength=nb).astype(np.float64)
    sumw2 = np.bincount(idx[ok], weights=w[ok] ** 2, minlength=nb).astype(np.float64)
    return counts, sumw2
