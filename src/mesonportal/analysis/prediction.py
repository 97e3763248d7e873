"""Signal predictions: weighted reconstructed events and their histograms.

A :class:`SignalSample` holds the reconstructed signal events of one experiment, beam mode and
model point (masses fixed) as columns, with weights in **events per POT** at a reference value
of the model's fitted coupling product.  Changing that product is pure reweighting:

* long-lived (pseudo)scalar: weights scale exactly as ``(x / x_ref)**2``
  (``weight_fn`` is None);
* inelastic dark matter: lifetimes and branching ratios change with the couplings, so the
  sample carries a ``weight_fn(x) -> per-event weights`` that recomputes them per event.

Histograms are expected event counts for the mode's exposure (POT from the experiment).

Monte Carlo errors are meson-clustered: rows coming from the same sampled meson (column
``meson_index``; several forced draws, strata, channels per meson) are correlated, so the
variance of a sum of weights is Σ_i (Σ_{rows of meson i} w)² over mesons i, not Σ w² over
rows (which underestimates it by ~20 % for the iDM chains).  Samples without the column
(external or older event files) fall back to the per-row Σ w².
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mesonportal.analysis.binning import COSTHETA_EDGES, EQE_EDGES_MEV, EVIS_EDGES_MEV, bin_index, weighted_histogram

#: Observables histogrammed for MiniBooNE-like predictions: column name -> bin edges.
HISTOGRAMS: dict[str, tuple[str, np.ndarray]] = {
    "enu_qe": ("e_qe", np.asarray(EQE_EDGES_MEV, float)),
    "evis": ("e_vis", np.asarray(EVIS_EDGES_MEV, float)),
    "costheta": ("cos_theta", np.asarray(COSTHETA_EDGES, float)),
}
#: Energy window of MiniBooNE's published excess numbers (E_QE, MeV).
EXCESS_WINDOW_MEV = (200.0, 1250.0)

REQUIRED_COLUMNS = ("e_vis", "cos_theta", "e_qe", "weight")
#: Column with the originating meson of each row (int, unique per sampled meson).
CLUSTER_COLUMN = "meson_index"


def clustered_sum_w2(weights: np.ndarray, cluster: np.ndarray | None) -> float:
    """MC variance of Σ w: Σ_i (Σ_{rows of cluster i} w)² (Σ w² when ``cluster`` is None)."""
    w = np.asarray(weights, float)
    if cluster is None:
        return float(np.sum(w * w))
    _, inv = np.unique(np.asarray(cluster), return_inverse=True)
    s = np.bincount(inv.ravel(), weights=w)
    return float(np.sum(s * s))


def clustered_histogram_w2(weights: np.ndarray, bins: np.ndarray, nbins: int,
                           cluster: np.ndarray | None) -> np.ndarray:
    """Per-bin MC variance of weighted counts: Σ_i (Σ_{rows of cluster i in the bin} w)²
    (Σ w² per bin when ``cluster`` is None).  ``bins`` are bin indices (−1 = not counted)."""
    w = np.asarray(weights, float)
    b = np.asarray(bins, np.int64)
    ok = b >= 0
    if cluster is None:
        return np.bincount(b[ok], weights=w[ok] ** 2, minlength=nbins).astype(np.float64)
    _, inv = np.unique(np.asarray(cluster)[ok], return_inverse=True)
    key = inv.ravel().astype(np.int64) * nbins + b[ok]
    ukey, kinv = np.unique(key, return_inverse=True)
    s = np.bincount(kinv.ravel(), weights=w[ok])
    return np.bincount(ukey % nbins, weights=s * s, minlength=nbins).astype(np.float64)


@dataclass
class SignalSample:
    """Reconstructed signal events for one experiment / mode / model point.

    Attributes
    ----------
    experiment, mode : names
    pot : exposure of the mode (protons on target)
    model : ``model.describe()`` of the reference point (JSON-ready)
    coupling_product_ref : value of the fitted coupling product at which ``columns['weight']``
        was computed (units in ``coupling_units``)
    columns : per-event arrays; at least ``e_vis`` [MeV], ``cos_theta``, ``e_qe`` [MeV] and
        ``weight`` [events/POT at the reference point, efficiency included]; optional
        ``meson_index`` (int, originating meson) makes the MC errors meson-clustered
    weight_fn : optional ``f(x) -> weights`` (events/POT) for coupling product ``x``; None means
        exact quadratic scaling of ``columns['weight']``
    """

    experiment: str
    mode: str
    pot: float
    model: dict[str, Any]
    coupling_product_ref: float
    coupling_units: str
    columns: dict[str, np.ndarray]
    weight_fn: Callable[[float], np.ndarray] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in REQUIRED_COLUMNS if c not in self.columns]
        if missing:
            raise ValueError(f"SignalSample is missing columns {missing}")
        n = len(self.columns["weight"])
        for k, v in self.columns.items():
            if len(v) != n:
                raise ValueError(f"column {k!r} has length {len(v)}, expected {n}")

    def __len__(self) -> int:
        return len(self.columns["weight"])

    def weights(self, coupling_product: float | None = None) -> np.ndarray:
        """Per-event weights in events/POT at ``coupling_product`` (reference if None)."""
        w = self.columns["weight"]
        if coupling_product is None:
            return w
        if self.weight_fn is not None:
            return self.weight_fn(float(coupling_product))
        return w * (float(coupling_product) / self.coupling_product_ref) ** 2

    def _cluster(self) -> np.ndarray | None:
        return self.columns.get(CLUSTER_COLUMN)

    def histogram(self, name: str, coupling_product: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(edges, expected events for the exposure, MC variance) of observable ``name``;
        the variance is meson-clustered when the ``meson_index`` column exists."""
        col, edges = HISTOGRAMS[name]
        w = self.weights(coupling_product) * self.pot
        counts, sumw2 = weighted_histogram(self.columns[col], w, edges)
        cl = self._cluster()
        if cl is not None:
            sumw2 = clustered_histogram_w2(w, bin_index(self.columns[col], edges), len(edges) - 1, cl)
        return edges, counts, sumw2

    def enu_qe_counts(self, coupling_product: float | None = None) -> np.ndarray:
        """Expected events in MiniBooNE's 11 E_QE bins (the fit's input)."""
        return self.histogram("enu_qe", coupling_product)[1]

    def totals(self, coupling_product: float | None = None) -> dict[str, float]:
        """``events_total``, ``events_200_1250`` and the MC statistical errors of both
        (``mc_stat_error``, ``mc_stat_error_200_1250``; meson-clustered when the ``meson_index``
        column exists)."""
        w = self.weights(coupling_product) * self.pot
        eqe = self.columns["e_qe"]
        win = (eqe >= EXCESS_WINDOW_MEV[0]) & (eqe < EXCESS_WINDOW_MEV[1])
        cl = self._cluster()
        return {
            "events_total": float(np.sum(w)),
            "events_200_1250": float(np.sum(w[win])),
            "mc_stat_error": float(np.sqrt(clustered_sum_w2(w, cl))),
            "mc_stat_error_200_1250": float(np.sqrt(clustered_sum_w2(w[win], None if cl is None else cl[win]))),
        }

    def to_json(self, coupling_product: float | None = None) -> dict[str, Any]:
        """The ``predict --json`` layout."""
        out: dict[str, Any] = {"experiment": self.experiment, "mode": self.mode, "pot": self.pot,
                               "model": self.model,
                               "coupling_product": self.coupling_product_ref if coupling_product is None else coupling_product,
                               "coupling_units": self.coupling_units}
        out.update(self.totals(coupling_product))
        hist = {}
        for name in HISTOGRAMS:
            edges, counts, sumw2 = self.histogram(name, coupling_product)
            hist[name] = {"edges": [float(e) for e in edges], "counts": [float(c) for c in counts],
                          "mc_stat_error": [float(s) for s in np.sqrt(sumw2)]}
        out["hist"] = hist
        out.update({k: v for k, v in self.info.items() if k not in out})
        return out
