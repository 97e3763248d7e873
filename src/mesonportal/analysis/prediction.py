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
rows (which underestimates it by ~20 % for the iDM chains).  Each meson species is sampled
as its own stratum with a fixed number of primaries (``info['primaries_per_species']``); with
it, the estimator is the unbiased stratified one, Σ_h n_h/(n_h−1) [Σ_i s_i² − (Σ_i s_i)²/n_h]
(:func:`clustered_histogram_w2`).  Samples without the column (external or older event
files) fall back to the per-row Σ w²; without the strata sizes to Σ_i s_i² (conservative).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mesonportal.analysis.binning import COSTHETA_EDGES, EQE_EDGES_MEV, EVIS_EDGES_MEV, bin_index, weighted_histogram
from mesonportal.exceptions import ParameterError

#: Observables histogrammed for MiniBooNE-like predictions: column name -> bin edges.
HISTOGRAMS: dict[str, tuple[str, np.ndarray]] = {
    "enu_qe": ("e_qe", np.asarray(EQE_EDGES_MEV, float)),
    "evis": ("e_vis", np.asarray(EVIS_EDGES_MEV, float)),
    "costheta": ("cos_theta", np.asarray(COSTHETA_EDGES, float)),
}
#: Energy window of MiniBooNE's published excess numbers (E_QE, MeV).
EXCESS_WINDOW_MEV = (200.0, 1250.0)

REQUIRED_COLUMNS = ("e_vis", "cos_theta", "e_qe", "weight")
#: Histograms of topology-tagged (LAr-TPC) predictions: reconstructed shower energy [MeV]
#: 0–3000 MeV in 100 MeV bins and cos θ to the beam in 20 bins (as
#: :meth:`mesonportal.responses.lartpc.LArTPCResult.histograms`).
TOPOLOGY_HISTOGRAMS: dict[str, tuple[str, np.ndarray]] = {
    "shower_energy": ("e_vis", np.arange(0.0, 3000.0 + 1e-9, 100.0)),
    "costheta": ("cos_theta", np.linspace(-1.0, 1.0, 21)),
}
#: Column with the originating meson of each row (int, unique per sampled meson).
CLUSTER_COLUMN = "meson_index"
#: Column with the stratum (species of the originating meson) of each row.
STRATUM_COLUMN = "parent_pdg"
#: ``info`` key with the sampled primaries per species {pdg: n} (the strata sizes).
STRATA_INFO = "primaries_per_species"


def clustered_sum_w2(weights: np.ndarray, cluster: np.ndarray | None,
                     stratum: np.ndarray | None = None, sizes: dict[int, int] | None = None) -> float:
    """MC variance of Σ w: Σ_i (Σ_{rows of cluster i} w)² (Σ w² when ``cluster`` is None);
    with ``stratum`` (per-row stratum id) and ``sizes`` (primaries per stratum) the unbiased
    stratified estimator, see :func:`clustered_histogram_w2`."""
    w = np.asarray(weights, float)
    return float(clustered_histogram_w2(w, np.zeros(len(w), np.int64), 1, cluster, stratum, sizes)[0])


def dense_cluster_ids(cluster: np.ndarray) -> tuple[np.ndarray, int]:
    """(ids, n): ``cluster`` relabelled 0 … n−1 in increasing order of its values (int64) — a
    monotone relabelling, so :func:`clustered_histogram_w2` gives bit-identical variances from the
    ids (with ``n_clusters=n``) as from ``cluster``, without sorting the clusters again."""
    uniq, inv = np.unique(np.asarray(cluster), return_inverse=True)
    return inv.ravel().astype(np.int64), int(len(uniq))


def clustered_histogram_w2(weights: np.ndarray, bins: np.ndarray, nbins: int,
                           cluster: np.ndarray | None, stratum: np.ndarray | None = None,
                           sizes: dict[int, int] | None = None, n_clusters: int | None = None) -> np.ndarray:
    """Per-bin MC variance of weighted counts.  ``bins`` are bin indices (−1 = not counted).

    * no ``cluster``: Σ w² per bin (independent rows);
    * ``cluster`` (e.g. ``meson_index``): Σ_i s_i² with s_i = Σ_{rows of cluster i in the bin} w;
    * also ``stratum`` (per-row id, e.g. ``parent_pdg``) and ``sizes`` {stratum: n_h, the number
      of sampled primaries of the stratum, including those without rows}: the unbiased
      estimator of the variance of a stratified sum of i.i.d. per-primary totals,
      Σ_h n_h/(n_h − 1) [Σ_{i∈h} s_i² − (Σ_{i∈h} s_i)²/n_h].  The plain Σ s_i² overestimates
      the variance by Σ_h (Σ_{i∈h} s_i)²/n_h, which matters when most primaries contribute
      (e.g. forced emission with a wide acceptance).  Strata missing from ``sizes`` use Σ s_i².

    ``n_clusters``: ``cluster`` already holds dense ids 0 … n_clusters−1
    (:func:`dense_cluster_ids`); the result is the same bit for bit, one sort cheaper."""
    w = np.asarray(weights, float)
    b = np.asarray(bins, np.int64)
    ok = b >= 0
    if cluster is None:
        return np.bincount(b[ok], weights=w[ok] ** 2, minlength=nbins).astype(np.float64)
    if n_clusters is None:
        _, inv = np.unique(np.asarray(cluster)[ok], return_inverse=True)
        ncl = int(inv.max()) + 1 if inv.size else 0
    else:
        inv, ncl = np.asarray(cluster)[ok], int(n_clusters)
    key = inv.ravel().astype(np.int64) * nbins + b[ok]
    wk = w[ok]
    want_strata = stratum is not None and bool(sizes)
    size = ncl * nbins
    if size <= 8 * key.size + 65536:
        # (cluster, bin) cells addressed directly: the cell sums s accumulate the rows in row order
        # and the cells come in increasing key order, exactly as from np.unique(key) — no sort.
        ukey = np.flatnonzero(np.bincount(key, minlength=size))
        s = np.bincount(key, weights=wk, minlength=size)[ukey]
        if want_strata:
            first = np.full(size, key.size, np.int64)
            np.minimum.at(first, key, np.arange(key.size, dtype=np.int64))
            first = first[ukey]
    else:
        ukey, first, kinv = np.unique(key, return_index=True, return_inverse=True)
        s = np.bincount(kinv.ravel(), weights=wk)
    var = np.bincount(ukey % nbins, weights=s * s, minlength=nbins).astype(np.float64)
    if not want_strata:
        return var
    st = np.asarray(stratum)[ok][first]  # stratum of each (cluster, bin) cell (its first row)
    for h, n_h in sizes.items():
        n_h = int(n_h)
        sel = st == h
        if n_h < 2 or not np.any(sel):
            continue
        a = np.bincount(ukey[sel] % nbins, weights=s[sel] * s[sel], minlength=nbins)
        t = np.bincount(ukey[sel] % nbins, weights=s[sel], minlength=nbins)
        var += (n_h / (n_h - 1.0)) * (a - t * t / n_h) - a
    return np.clip(var, 0.0, None)


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

    def _cluster_ids(self) -> tuple[np.ndarray, int] | None:
        """:func:`dense_cluster_ids` of the cluster column, computed once per column array."""
        cl = self._cluster()
        if cl is None:
            return None
        cache = self.__dict__.setdefault("_bin_cache", {})
        hit = cache.get(CLUSTER_COLUMN)
        if hit is None or hit[0] is not cl:
            hit = (cl, *dense_cluster_ids(cl))
            cache[CLUSTER_COLUMN] = hit
        return hit[1], hit[2]

    def _strata(self) -> tuple[np.ndarray | None, dict[int, int] | None]:
        """(per-row stratum = ``parent_pdg``, primaries per species) when the prediction
        recorded ``info['primaries_per_species']``; else (None, None)."""
        sizes = self.info.get(STRATA_INFO)
        if not sizes or STRATUM_COLUMN not in self.columns or CLUSTER_COLUMN not in self.columns:
            return None, None
        return self.columns[STRATUM_COLUMN], {int(k): int(v) for k, v in sizes.items()}

    def _var(self, w: np.ndarray, bins: np.ndarray, nbins: int, mask: np.ndarray | None = None) -> np.ndarray:
        ids = self._cluster_ids()
        cl, ncl = (None, None) if ids is None else ids
        st, sizes = self._strata()
        if mask is not None:
            w, bins = w[mask], bins[mask]
            cl = None if cl is None else cl[mask]
            st = None if st is None else st[mask]
        return clustered_histogram_w2(w, bins, nbins, cl, st, sizes, n_clusters=ncl)

    def histogram(self, name: str, coupling_product: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(edges, expected events for the exposure, MC variance) of observable ``name``;
        the variance is meson-clustered when the ``meson_index`` column exists."""
        col, edges = HISTOGRAMS[name]
        w = self.weights(coupling_product) * self.pot
        if self._cluster() is None:
            counts, sumw2 = weighted_histogram(self.columns[col], w, edges)
            return edges, counts, sumw2
        # the bin indices computed once per column (as in weighted_histogram, bit for bit)
        w = np.asarray(w, dtype=np.float64).ravel()
        if not np.all(np.isfinite(w)):
            raise ParameterError("weights must be finite")
        idx, ok = self._bin_index(name)
        nb = len(edges) - 1
        counts = np.bincount(idx[ok], weights=w[ok], minlength=nb).astype(np.float64)
        return edges, counts, self._var(w, idx, nb)

    def _bin_index(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(bin index of every row, rows inside the edges) of observable ``name``, computed once
        per column array (the columns of a sample are not modified in place)."""
        col, edges = HISTOGRAMS[name]
        values = self.columns[col]
        cache = self.__dict__.setdefault("_bin_cache", {})
        hit = cache.get(name)
        if hit is None or hit[0] is not values:
            idx = bin_index(values, edges)
            hit = (values, idx, idx >= 0)
            cache[name] = hit
        return hit[1], hit[2]

    def counts(self, name: str, coupling_product: float | None = None) -> np.ndarray:
        """Expected events per bin of observable ``name`` for the exposure: the ``counts`` of
        :meth:`histogram` (bit for bit) without its MC variance, from bin indices computed once —
        what a fit needs at each scanned coupling product."""
        _, edges = HISTOGRAMS[name]
        w = np.asarray(self.weights(coupling_product) * self.pot, dtype=np.float64).ravel()
        if not np.all(np.isfinite(w)):
            raise ParameterError("weights must be finite")
        idx, ok = self._bin_index(name)
        return np.bincount(idx[ok], weights=w[ok], minlength=len(edges) - 1).astype(np.float64)

    def enu_qe_counts(self, coupling_product: float | None = None) -> np.ndarray:
        """Expected events in MiniBooNE's 11 E_QE bins (the fit's input)."""
        return self.counts("enu_qe", coupling_product)

    def totals(self, coupling_product: float | None = None) -> dict[str, float]:
        """``events_total``, ``events_200_1250`` and the MC statistical errors of both
        (``mc_stat_error``, ``mc_stat_error_200_1250``; meson-clustered when the ``meson_index``
        column exists)."""
        w = self.weights(coupling_product) * self.pot
        eqe = self.columns["e_qe"]
        win = (eqe >= EXCESS_WINDOW_MEV[0]) & (eqe < EXCESS_WINDOW_MEV[1])
        zero = np.zeros(len(w), np.int64)
        return {
            "events_total": float(np.sum(w)),
            "events_200_1250": float(np.sum(w[win])),
            "mc_stat_error": float(np.sqrt(self._var(w, zero, 1)[0])),
            "mc_stat_error_200_1250": float(np.sqrt(self._var(w, zero, 1, win)[0])),
        }

    def signal_split(self, coupling_product: float | None = None) -> dict[str, float] | None:
        """Expected events (all energies, for the exposure) split by the decay that made the dark
        particle: ``decay_at_rest`` (π±/K± at rest), ``decay_in_flight`` (π±/K±/K0_L in flight)
        and ``pi0_eta`` (prompt π0/η decays). Needs the ``parent_pdg`` and ``parent_at_rest``
        columns (None without them)."""
        if "parent_pdg" not in self.columns or "parent_at_rest" not in self.columns:
            return None
        w = self.weights(coupling_product) * self.pot
        prompt = np.isin(np.abs(self.columns["parent_pdg"]), (111, 221))
        rest = np.asarray(self.columns["parent_at_rest"], bool) & ~prompt
        return {"decay_at_rest": float(np.sum(w[rest])), "decay_in_flight": float(np.sum(w[~rest & ~prompt])),
                "pi0_eta": float(np.sum(w[prompt]))}

    @property
    def topologies(self) -> tuple[str, ...] | None:
        """Selection topologies of a topology-tagged (LAr-TPC) sample, None otherwise."""
        if "topology" not in self.columns:
            return None
        from mesonportal.responses.lartpc import TOPOLOGIES

        return TOPOLOGIES

    def events_by_topology(self, coupling_product: float | None = None,
                           with_errors: bool = False) -> dict[str, float] | None:
        """Selected events per topology for the exposure (``{"1g0p": .., "1g1p": .., "ee0p": ..,
        "1e0p": ..}``; with ``with_errors`` also ``<topology>_err``, meson-clustered MC error);
        None for a sample without a ``topology`` column (e.g. MiniBooNE)."""
        tops = self.topologies
        if tops is None:
            return None
        w = self.weights(coupling_product) * self.pot
        code = np.asarray(self.columns["topology"])
        out: dict[str, float] = {}
        for i, lab in enumerate(tops):
            sel = code == i
            out[lab] = float(np.sum(w[sel]))
            if with_errors:
                cl = self._cluster()
                out[lab + "_err"] = float(np.sqrt(clustered_sum_w2(w[sel], None if cl is None else cl[sel])))
        return out

    def rates_by_topology(self, coupling_product: float | None = None) -> dict[str, float] | None:
        """Selected events per POT by topology (input of the constraint likelihoods,
        :mod:`mesonportal.datasets`); None without a ``topology`` column."""
        ev = self.events_by_topology(coupling_product)
        return None if ev is None else {k: v / self.pot for k, v in ev.items()}

    def topology_histograms(self, coupling_product: float | None = None) -> dict[str, Any] | None:
        """Histograms of the selected events of a topology-tagged sample
        (:data:`TOPOLOGY_HISTOGRAMS`): per observable ``edges``, ``counts`` (events for the
        exposure, summed over topologies), ``mc_stat_error`` (meson-clustered), ``by_topology``
        and ``outside``; None without a ``topology`` column."""
        tops = self.topologies
        if tops is None:
            return None
        w = self.weights(coupling_product) * self.pot
        code = np.asarray(self.columns["topology"])
        sel = code < len(tops)
        cl = self._cluster()
        out: dict[str, Any] = {}
        for name, (col, edges) in TOPOLOGY_HISTOGRAMS.items():
            x = np.asarray(self.columns[col], float)
            b = np.where(sel, bin_index(x, edges), -1)
            nb = len(edges) - 1
            counts = np.bincount(b[b >= 0], weights=w[b >= 0], minlength=nb)
            var = clustered_histogram_w2(w, b, nb, cl)
            by = {}
            for i, lab in enumerate(tops):
                bi = np.where(code == i, b, -1)
                by[lab] = np.bincount(bi[bi >= 0], weights=w[bi >= 0], minlength=nb).tolist()
            out[name] = {"edges": [float(e) for e in edges], "counts": counts.tolist(),
                         "mc_stat_error": np.sqrt(var).tolist(), "by_topology": by,
                         "outside": float(np.sum(w[sel & (b < 0)]))}
        return out

    def to_json(self, coupling_product: float | None = None) -> dict[str, Any]:
        """The ``predict --json`` layout (topology-tagged samples add ``events_by_topology``
        (with ``_err`` keys under ``events_by_topology_err``) and ``topology_hist``)."""
        out: dict[str, Any] = {"experiment": self.experiment, "mode": self.mode, "pot": self.pot,
                               "model": self.model,
                               "coupling_product": self.coupling_product_ref if coupling_product is None else coupling_product,
                               "coupling_units": self.coupling_units}
        out.update(self.totals(coupling_product))
        split = self.signal_split(coupling_product)
        if split is not None:
            out["signal_split"] = split
        hist = {}
        for name in HISTOGRAMS:
            edges, counts, sumw2 = self.histogram(name, coupling_product)
            hist[name] = {"edges": [float(e) for e in edges], "counts": [float(c) for c in counts],
                          "mc_stat_error": [float(s) for s in np.sqrt(sumw2)]}
        out["hist"] = hist
        ev = self.events_by_topology(coupling_product, with_errors=True)
        if ev is not None:
            out["events_by_topology"] = {k: v for k, v in ev.items() if not k.endswith("_err")}
            out["events_by_topology_err"] = {k[:-4]: v for k, v in ev.items() if k.endswith("_err")}
            out["topology_hist"] = self.topology_histograms(coupling_product)
        out.update({k: v for k, v in self.info.items() if k not in out})
        return out
