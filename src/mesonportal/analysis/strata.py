"""Stratified thinning of the meson sample in species × momentum × angle-to-detector (issue #10).

Where the variance comes from (scalar benchmark, MiniBooNE ν mode, pilot of 20 000 primaries per
species, docs/mc_errors.md §6): ≈ 99 % of Σ y² of ``events_200_1250`` (y = contribution of one
meson row) comes from π⁺ decaying in flight with p > 0.5 GeV whose direction points within 3°
of the detector centre — ≈ 3 % of the meson rows; the other ≈ 97 % of the rows (mesons pointing
away, decays at rest, π⁻/K⁻) each run the whole forced-emission chain for almost nothing.

Every meson row gets a stratum from quantities known **before** the chain: species, decay at
rest or in flight, |p| (:data:`MOMENTUM_EDGES_MEV`) and the angle between its direction and the
line from its decay point to the detector centre (:data:`ANGLE_EDGES_DEG`).  The sample is then
thinned (Poisson sampling, Cochran *Sampling Techniques* 3rd ed. §9A; Horvitz & Thompson, JASA
47 (1952) 663): a row of stratum s is kept with probability ``q_s`` and its weight divided by
``q_s``.  The estimate is exactly unbiased for any ``q_s > 0``, and since the keep/drop draw is
independent per row, the meson-clustered stratified error estimator of
:mod:`mesonportal.analysis.prediction` stays valid unchanged (the per-primary contribution
``B·y/q`` is still i.i.d. over the primaries of a species; its variance, larger by
Σ y²(1/q − 1), is what the estimator sees).

The keep probabilities are the Neyman rule for Poisson sampling: minimising
Σ_s S_s / q_s (S_s = Σ y² of the stratum) at fixed cost Σ_s R_s c q_s gives
``q_s ∝ sqrt(S_s / (R_s c))`` (mean y² per row over the cost of a row), capped at 1 and floored at
:data:`Q_FLOOR` (no stratum is ever dropped); a stratum with fewer than :data:`MIN_PILOT_ROWS`
pilot rows is not thinned at all (q = 1: its estimate is noise, and a rare on-axis stratum
missed by the pilot once carried 76 % of a prediction's variance at q = 0.1).  The scale κ of ``q_s = κ sqrt(m_s / c)`` is chosen on a fixed
grid to minimise the predicted (variance × cost) of the whole prediction,
(Σ_h sqrt(V_h C_h))², where the per-primary cost of species h is
``ROW_ASSEMBLY_COST·R_h + c_h Σ_s R_hs q_s`` (meson rows assembled + forced emissions run).  All of
it is a deterministic function of the pilot (no timings), and the uniform draws are a fixed
function of (seed, species, block, row) (:func:`block_uniforms`), so the same seed gives the
same sample, and every model point of a scan keeps the same rows of a stratum with the same q
(common random numbers across masses).

Units: momenta in MeV, angles in degrees, weights in mesons per POT.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mesonportal.exceptions import ParameterError

#: Edges of |p| [MeV] of the in-flight strata (decays at rest are their own stratum).
MOMENTUM_EDGES_MEV: tuple[float, ...] = (0.0, 250.0, 500.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0, 6000.0,
                                         math.inf)
#: Edges [degrees] of the angle between a meson's direction and the line from its decay point to
#: the detector centre (MiniBooNE's bounding sphere subtends ≈ 0.6° from the target).
ANGLE_EDGES_DEG: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 45.0, 180.0)
#: Smallest keep probability of a stratum (bounds the weight inflation 1/q at 10; a pilot that
#: missed a stratum's rare contributions can never starve it).
Q_FLOOR = 0.1
#: Version of the keep-probability rule (enters the allocation's cache key).
RULE = "neyman-kappa-grid/rare-pooled-by-angle/species-rule-at-cap/4"
#: Strata with fewer pilot rows than this are kept whole (q = 1; see :func:`keep_probabilities`).
MIN_PILOT_ROWS = 25
#: Cost of assembling one meson row (cached blocks, thinning) in units of one forced emission of
#: the chain: measured 0.75 µs per row vs 3.4 µs per row and channel for the scalar chain
#: (MiniBooNE ν mode, 230 000 rows, 2026-11-30; a cost proxy only: it moves q, never the mean).
ROW_ASSEMBLY_COST = 0.25
#: The pilot is itself thinned (unbiased) with a fixed prior: rows in flight within this angle
#: [degrees] of the detector direction kept, the others (and decays at rest) kept with
#: probability :data:`PILOT_Q_FAR`.
PILOT_NEAR_DEG = 12.0
PILOT_Q_FAR = 0.25
#: Grid of the scale κ (decades above the κ at which the best stratum has q = 1).
KAPPA_DECADES = np.linspace(0.0, 4.0, 41)
#: Strata option values: "momentum-angle" (thinning by the rule above) or "species" (the species
#: strata of the allocation only: every meson row runs the chain).
STRATA_METHODS = ("momentum-angle", "species")

_N_P = len(MOMENTUM_EDGES_MEV) - 1
_N_A = len(ANGLE_EDGES_DEG) - 1
#: Strata per species: 1 (at rest) + momentum × angle bins in flight.
PER_SPECIES = 1 + _N_P * _N_A


def check_strata(strata: str | None) -> str | None:
    """Validate the ``strata`` option (None = the default of the prediction)."""
    if strata is None:
        return None
    s = str(strata).strip()
    if s not in STRATA_METHODS:
        raise ParameterError(f"strata = {strata!r}; allowed: {', '.join(STRATA_METHODS)}")
    return s


def stratum_of(p4: np.ndarray, vertex: np.ndarray, centre_cm: np.ndarray) -> np.ndarray:
    """Stratum within a species (0 = decay at rest; else 1 + momentum bin × angles + angle bin)
    of meson rows with four-momenta ``p4`` [MeV] and decay points ``vertex`` [cm]; ``centre_cm``
    the detector centre [cm] in the same frame."""
    p4 = np.asarray(p4, float)
    px, py, pz = p4[:, 1], p4[:, 2], p4[:, 3]
    p2 = px * px + py * py + pz * pz
    v = np.asarray(vertex, float)
    c = np.asarray(centre_cm, float)
    dx, dy, dz = c[0] - v[:, 0], c[1] - v[:, 1], c[2] - v[:, 2]
    dot = px * dx + py * dy + pz * dz
    d2 = dx * dx + dy * dy + dz * dz
    # angle bins from cos α = dot / (|p| |d|) against the cosines of the edges (no arccos):
    # bin k ⇔ cos(edge_{k+1}) < cos α ≤ cos(edge_k); count of inner edges with cos α ≤ cos(edge)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosa = np.nan_to_num(dot / np.sqrt(p2 * d2), nan=1.0)
    ab = np.searchsorted(-_COS_EDGES, -cosa, side="left")
    ab = np.clip(ab, 0, _N_A - 1)
    pb = np.clip(np.searchsorted(_P2_EDGES, p2, side="right") - 1, 0, _N_P - 1)
    return np.where(p2 > 0.0, 1 + pb * _N_A + ab, 0).astype(np.int64)


#: cos of the inner angle edges (decreasing) and squared momentum edges, for :func:`stratum_of`.
_COS_EDGES = np.cos(np.radians(np.asarray(ANGLE_EDGES_DEG[1:-1], float)))
_P2_EDGES = np.asarray(MOMENTUM_EDGES_MEV, float) ** 2


def block_uniforms(seed: int, pdg: int, block: int, n: int) -> np.ndarray:
    """Uniform [0, 1) draws of the thinning of the ``n`` rows of one cached meson block: a fixed
    function of (seed, species, block), independent of the model point and of the meson
    stream."""
    ss = np.random.SeedSequence([int(seed), 0x7468696E, int(pdg) & 0xFFFFFFFF, int(block)])
    return np.random.default_rng(ss).random(int(n))


def pilot_keep(stratum: np.ndarray) -> np.ndarray:
    """Fixed keep probabilities of the pilot's own thinning: 1 for rows in flight within
    :data:`PILOT_NEAR_DEG` of the detector direction, :data:`PILOT_Q_FAR` otherwise (decays at
    rest included)."""
    near = np.zeros(PER_SPECIES, bool)
    ab = (np.arange(PER_SPECIES) - 1) % _N_A
    near[1:] = np.asarray(ANGLE_EDGES_DEG, float)[ab[1:] + 1] <= PILOT_NEAR_DEG
    return np.where(near, 1.0, PILOT_Q_FAR)[stratum]


def thin_pilot(pil, species: tuple[int, ...], seed: int, block: int, centre_cm) -> tuple[Any, np.ndarray, np.ndarray]:
    """The pilot sample (species joined in the order ``species``, one block ``block`` each)
    thinned with :func:`pilot_keep` (weights ÷ q); returns (sample, strata, q) of the kept rows.
    The uniforms are :func:`block_uniforms` of the pilot block of each species."""
    st = stratum_of(pil.p4, pil.vertex, centre_cm)
    q = pilot_keep(st)
    u = np.concatenate([block_uniforms(seed, h, block, int(np.count_nonzero(pil.pdgid == h))) for h in species]) \
        if len(pil) else np.zeros(0)
    order_ok = len(u) == len(pil)
    if not order_ok:  # pragma: no cover - pilot rows are grouped by species in this order
        raise RuntimeError("pilot rows are not grouped by species")
    keep = u < q
    kept = pil.select(keep)
    kept.weight = kept.weight / q[keep]
    return kept, st[keep], q[keep]


def pilot_strata(y_by_component: dict[str, np.ndarray], pdg: np.ndarray, stratum: np.ndarray,
                 species: tuple[int, ...], n_pilot: int, q: np.ndarray | None = None) -> dict[str, Any]:
    """Per species and stratum sums of the pilot: ``rows`` (meson rows per primary) and
    ``s2[c]`` (n_pilot × Σ y² of component c per stratum, i.e. the stratum's share of the
    per-primary second moment), ``t[c]`` per species (events per POT).  ``y_by_component``:
    window weight of every pilot meson row, per signal component.  ``q``: keep probability of
    each row if the pilot was thinned (its y are then already ÷ q): the sums are the
    Horvitz–Thompson ones, rows 1/q and Σ q·y² (unbiased for the unthinned sums)."""
    nst = PER_SPECIES
    q = np.ones(len(pdg)) if q is None else np.asarray(q, float)
    out: dict[str, Any] = {"rows": {}, "s2": {}, "t": {}, "seen": {}}
    for h in species:
        sel = pdg == h
        st = stratum[sel]
        out["seen"][h] = np.bincount(st, minlength=nst)
        out["rows"][h] = np.bincount(st, weights=1.0 / q[sel], minlength=nst) / n_pilot
        out["s2"][h] = {c: n_pilot * np.bincount(st, weights=q[sel] * y[sel] ** 2, minlength=nst)
                        for c, y in y_by_component.items()}
        out["t"][h] = {c: float(np.sum(y[sel])) for c, y in y_by_component.items()}
    return out


def _species_figures(fig: dict[str, Any], q: np.ndarray, h: int, chans: float,
                     totals: dict[str, float]) -> tuple[dict[str, float], float]:
    """(per-component variance per primary with keep probabilities ``q``, cost per primary)."""
    rows = fig["rows"][h]
    v = {c: max(float(np.sum(s2 / q)) - fig["t"][h][c] ** 2, 0.0) for c, s2 in fig["s2"][h].items()}
    cost = ROW_ASSEMBLY_COST * float(rows.sum()) + chans * float(np.sum(rows * q))
    return v, max(cost, 1e-12)


def keep_probabilities(fig: dict[str, Any], contrib: tuple[int, ...], channels: dict[int, float],
                       totals: dict[str, float]) -> tuple[dict[int, np.ndarray], dict[str, Any]]:
    """Neyman keep probabilities ``q[h][stratum]`` from :func:`pilot_strata` figures.

    ``channels[h]``: open production channels per meson row of species h (forced emissions per
    row); ``totals[c]``: total of component c (the relative variances of the components are
    summed).  Returns (q per species, summary: chosen κ decade, predicted figure of merit with
    and without thinning)."""
    comps = [c for c, t in totals.items() if t > 0.0]
    m = {}
    rare = {}
    seen = fig.get("seen", {})
    for h in contrib:
        rows = fig["rows"][h]
        s2 = sum(fig["s2"][h][c] / totals[c] ** 2 for c in comps) if comps else np.zeros(PER_SPECIES)
        with np.errstate(invalid="ignore", divide="ignore"):
            m[h] = np.where(rows > 0, s2 / np.where(rows > 0, rows, 1.0), 0.0) / max(channels.get(h, 1.0), 1e-12)
        # strata the pilot saw fewer than MIN_PILOT_ROWS times: their own y² estimate is noise (a
        # rare on-axis stratum missed by the pilot can hold a large share of the variance), so
        # they take the larger of it and the mean y² per row of their angle bin over all momenta
        # (coarser, better measured); if that bin too is rare, they are kept whole (q = 1: rare
        # strata cost little)
        n_seen = np.asarray(seen.get(h, np.full(PER_SPECIES, MIN_PILOT_ROWS)), float)
        ab = (np.arange(PER_SPECIES) - 1) % _N_A
        inflight = np.arange(PER_SPECIES) >= 1
        s2_a = np.bincount(ab[inflight], weights=s2[inflight], minlength=_N_A)
        rows_a = np.bincount(ab[inflight], weights=rows[inflight], minlength=_N_A)
        seen_a = np.bincount(ab[inflight], weights=n_seen[inflight], minlength=_N_A)
        with np.errstate(invalid="ignore", divide="ignore"):
            m_a = np.where(rows_a > 0, s2_a / np.where(rows_a > 0, rows_a, 1.0), 0.0) / max(channels.get(h, 1.0), 1e-12)
        few = n_seen < MIN_PILOT_ROWS
        pooled = few & inflight & (seen_a[ab] >= MIN_PILOT_ROWS)
        m[h] = np.where(pooled, np.maximum(m[h], m_a[ab]), m[h])
        rare[h] = few & ~pooled
    top = max((float(np.max(v)) for v in m.values()), default=0.0)
    ones = {h: np.ones(PER_SPECIES) for h in contrib}
    if top <= 0.0 or not comps:
        return ones, {"kappa_decade": None, "gain": 1.0}

    def merit(q):
        tot = 0.0
        for h in contrib:
            v, c = _species_figures(fig, q[h], h, channels.get(h, 1.0), totals)
            tot += math.sqrt(sum(v[k] / totals[k] ** 2 for k in comps) * c)
        return tot * tot

    base = merit(ones)
    best, best_k, best_q = base, None, ones
    for dec in KAPPA_DECADES:
        kappa = 10.0 ** dec / math.sqrt(top)
        q = {h: np.where(rare[h], 1.0, np.clip(kappa * np.sqrt(m[h]), Q_FLOOR, 1.0)) for h in contrib}
        f = merit(q)
        if f < best:
            best, best_k, best_q = f, float(dec), q
    return best_q, {"kappa_decade": best_k, "predicted_gain": float(base / best) if best > 0 else 1.0}


def thinned_figures(fig: dict[str, Any], q: dict[int, np.ndarray], contrib: tuple[int, ...],
                    channels: dict[int, float], component: str) -> dict[int, dict[str, float]]:
    """Pilot figures of one component in the format of
    :func:`mesonportal.analysis.allocation.pilot_figures` for a thinned sample (variance and
    cost per primary with keep probabilities ``q``)."""
    out = {}
    for h in contrib:
        v, c = _species_figures(fig, q[h], h, channels.get(h, 1.0), {})
        out[h] = {"events_per_pot": fig["t"][h][component], "variance_per_primary": v[component],
                  "cost_per_primary": c}
    return out


def thin(cols: tuple[np.ndarray, ...], uniforms: np.ndarray, q: np.ndarray, centre_cm: np.ndarray,
         stratum: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Columns (p4, vertex, pdgid, weight, parent) of one species' sample thinned with keep
    probabilities ``q`` per stratum: rows with ``uniforms < q[stratum]`` kept, weights ÷ q
    (``stratum``: the rows' :func:`stratum_of`, if already known)."""
    p4, vertex = cols[0], cols[1]
    st = stratum_of(p4, vertex, centre_cm) if stratum is None else stratum
    qs = np.asarray(q, float)[st]
    keep = uniforms < qs
    return (p4[keep], vertex[keep], cols[2][keep], cols[3][keep] / qs[keep], cols[4][keep])


__all__ = ["MOMENTUM_EDGES_MEV", "ANGLE_EDGES_DEG", "Q_FLOOR", "ROW_ASSEMBLY_COST", "STRATA_METHODS", "PER_SPECIES",
           "check_strata", "stratum_of", "block_uniforms", "pilot_strata", "keep_probabilities", "thinned_figures",
           "thin"]
