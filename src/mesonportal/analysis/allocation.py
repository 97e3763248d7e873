"""Importance allocation of the meson sample between species (issue #10).

A prediction estimates a sum over meson species h (π⁺, π⁻, K⁺, K⁻, π⁰, η):
``T = Σ_h T_h``, each from its own independent sample of ``n_h`` primary mesons with weights
``w_prod / n_h`` (:func:`mesonportal.sources.transport.simulate_mesons`).  The estimator is
unbiased for *any* ``n_h ≥ 1`` (each species is a stratum with its own exact normalisation),
and its variance is ``Σ_h V_h / n_h`` with ``V_h`` the per-primary variance of the species'
contribution.  Minimising it at fixed cost ``Σ_h c_h n_h`` gives the Neyman (optimal)
allocation ``n_h ∝ sqrt(V_h / c_h)`` (Cochran, *Sampling Techniques*, 3rd ed., §5.5).

Allocation methods (``allocation`` argument of :func:`mesonportal.analysis.predict.predict_signal`):

* ``"importance"`` (default for long-lived X models, see
  :data:`mesonportal.analysis.predict.DEFAULT_ALLOCATION`): a pilot run (independent random streams, :data:`PILOT_PRIMARIES`
  primaries per species, the model's own chain) estimates ``V_h`` of ``events_200_1250``;
  ``c_h`` = 1 + forced emissions per primary (meson rows × open channels of the species: a
  deterministic cost proxy, no timings, so the result is reproducible); then ``n_h ∝ sqrt(V_h / c_h)`` with a floor of :data:`FLOOR_FRACTION` of an
  even share for every species that can contribute (a noisy pilot can never starve one);
* the total shared is the number of primaries the previous implementation simulated for the
  same ``samples`` (``samples`` for π±/K± models, ≈ 1.375 × ``samples`` for the iDM groups);
* ``"even"``: the previous implementation (samples split evenly; for idm the fixed π⁰ : η :
  π±/K± = 1 : 1/4 : 1/8 groups) — bit-for-bit the old meson samples;
* explicit fractions, e.g. ``"211=0.7,321=0.2,-211=0.05,-321=0.05"`` (PDG codes or names
  pi+, pi-, K+, K-, pi0, eta); a species that can contribute must get a positive fraction.

Species whose production channels are all closed for the model (or that no channel applies
to) get no samples: their contribution is exactly zero, so nothing is lost.

The meson sample of a species is assembled from fixed-size blocks
(:func:`mesonportal.cache.cached_mesons` with ``block=j``, independent streams), so that
allocations that differ between model points reuse the cached blocks; the weights of a species
made of ``k`` blocks are divided by ``k`` (exact).  The blocks a prediction still needs are
simulated together, in groups of :data:`GROUP_BLOCKS` sharing the horn tracking
(:func:`prefetch_blocks`, :mod:`mesonportal.sources.grouped`), each bitwise the block made alone.
Units: weights are mesons decaying per POT.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mesonportal.exceptions import ParameterError
from mesonportal.sample import ParticleSample

#: Primary mesons per cached block of a species sample (allocation granularity).
BLOCK = 10_000
#: Primary mesons per species in the pilot run of the importance allocation.
PILOT_PRIMARIES = 5_000
#: Block id of the pilot samples (independent of the main blocks 0, 1, 2, ...).
PILOT_BLOCK = 1_000_000
#: Minimum share of a contributing species, as a fraction of an even share.
FLOOR_FRACTION = 0.1
#: Primaries per cached block when the sample size is chosen from the pilot for a target MC
#: error (:func:`samples_for_target`): a fixed granularity, so that every model point reuses the
#: same cached blocks whatever size it needs.
TARGET_BLOCK = 2_500
#: The sample size for a target MC error aims at ``TARGET_MARGIN × target`` (the pilot's variance
#: estimate is itself noisy: a margin keeps the quoted error at or below the target for most
#: model points; docs/mc_errors.md).
TARGET_MARGIN = 0.85
#: Allocation methods by name.
METHODS = ("importance", "even")

SPECIES_NAMES = {"pi+": 211, "pi-": -211, "k+": 321, "k-": -321, "pi0": 111, "eta": 221}
_NAME_OF = {v: k.replace("k", "K") for k, v in SPECIES_NAMES.items()}


@dataclass(frozen=True)
class Allocation:
    """Primary mesons per species of one prediction.

    ``species`` PDG codes, ``primaries`` (same order; 0 = not sampled, the species cannot
    contribute), ``block`` primaries per cached block, ``method`` and the pilot estimates
    (``pilot``: per species ``variance_per_primary``, ``cost_per_primary``, ``events``)."""

    method: str
    species: tuple[int, ...]
    primaries: tuple[int, ...]
    block: int
    pilot: dict[str, Any] = field(default_factory=dict)
    #: Keep probability per stratum of each species (same order as ``species``; empty = no
    #: thinning), see :mod:`mesonportal.analysis.strata`.
    keep: tuple[tuple[float, ...], ...] = ()

    @property
    def total(self) -> int:
        return int(sum(self.primaries))

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (method, primaries per species name, pilot figures)."""
        out: dict[str, Any] = {"method": self.method, "block": self.block,
                               "primaries": {_NAME_OF.get(s, str(s)): int(n) for s, n in zip(self.species, self.primaries)}}
        if self.pilot:
            out["pilot"] = self.pilot
        if self.keep:
            from mesonportal.analysis import strata as stt

            out["strata"] = {"method": "momentum-angle", "momentum_edges_mev": [float(x) for x in stt.MOMENTUM_EDGES_MEV],
                             "angle_edges_deg": [float(x) for x in stt.ANGLE_EDGES_DEG], "q_floor": stt.Q_FLOOR,
                             "mean_keep_probability": {_NAME_OF.get(s, str(s)): float(np.mean(q)) if q else 1.0
                                                       for s, q in zip(self.species, self.keep)}}
        else:
            out["strata"] = {"method": "species"}
            st = (self.pilot or {}).get("strata")
            if isinstance(st, dict) and "thinning" in st:  # momentum-angle asked, switched off
                out["strata"].update(requested="momentum-angle", thinning=st["thinning"])
        return out


def contributing_species(model, species: tuple[int, ...]) -> tuple[int, ...]:
    """The species of ``species`` with at least one open production channel of ``model``
    (BR > 0) that applies to them."""
    out = []
    for s in species:
        for ch in model.production_channels():
            if ch.is_open and ch.branching_ratio > 0.0 and ch.sample_rest_frame is not None \
                    and bool(ch.applies_to(np.array([s]))[0]):
                out.append(s)
                break
    return tuple(out)


#: Explicit allocation fractions must sum to 1 within this tolerance (a sum far from 1 is a typo,
#: not a request: the fractions are shares of ``samples``).
FRACTION_SUM_TOLERANCE = 1e-3


def parse_fractions(spec: str, species: tuple[int, ...]) -> dict[int, float]:
    """``"211=0.7,pi-=0.1,..."`` → {pdg: fraction}; one-line :class:`ParameterError` naming
    ``allocation`` for unknown or repeated species, malformed, negative or non-finite values and
    fractions that do not sum to 1 (within :data:`FRACTION_SUM_TOLERANCE`)."""
    out: dict[int, float] = {}
    allowed = ", ".join(_NAME_OF.get(s, str(s)) for s in species)
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ParameterError(f"allocation = {spec!r}: expected SPECIES=FRACTION items, or one of "
                                 f"{', '.join(METHODS)}")
        k, v = (x.strip() for x in part.split("=", 1))
        try:
            pdg = SPECIES_NAMES[k.lower()] if k.lower() in SPECIES_NAMES else int(k)
        except ValueError:
            raise ParameterError(f"allocation: unknown species {k!r}; allowed: {allowed}") from None
        if pdg not in species:
            raise ParameterError(f"allocation: species {k!r} is not sampled for this model; allowed: {allowed}")
        try:
            f = float(v)
        except ValueError:
            raise ParameterError(f"allocation: fraction {v!r} of {k} is not a number") from None
        if not np.isfinite(f) or f < 0.0:
            raise ParameterError(f"allocation: fraction of {k} = {v} must be a finite number >= 0")
        if pdg in out:
            raise ParameterError(f"allocation = {spec!r}: species {k!r} is given twice")
        out[pdg] = f
    if sum(out.values()) <= 0.0:
        raise ParameterError(f"allocation = {spec!r}: the fractions must have a positive sum")
    tot = sum(out.values())
    if abs(tot - 1.0) > FRACTION_SUM_TOLERANCE:
        raise ParameterError(f"allocation = {spec!r}: the fractions sum to {tot:.6g}; they must sum to 1 "
                             f"(within {FRACTION_SUM_TOLERANCE:g})")
    return out


def block_size(samples: int, n_species: int) -> int:
    """Primaries per block: :data:`BLOCK`, smaller for small ``samples`` so that every species
    gets ≥ 4 blocks of an even share."""
    return int(max(1, min(BLOCK, samples // (4 * max(n_species, 1)))))


def shares_to_primaries(shares: dict[int, float], species: tuple[int, ...], samples: int, block: int,
                        floor: dict[int, float] | None = None) -> tuple[int, ...]:
    """Whole blocks per species from (unnormalised) shares: ``samples`` split in proportion to
    the shares, species below their ``floor`` raised to it and the others scaled down so that
    the total stays ``samples``; ≥ 1 block for each positive share."""
    pos = {s: float(shares.get(s, 0.0)) for s in species if shares.get(s, 0.0) > 0.0}
    floor = floor or {}
    fixed: dict[int, float] = {}
    while True:  # at most len(species) passes
        free = {s: f for s, f in pos.items() if s not in fixed}
        budget = max(samples - sum(fixed.values()), 0.0)
        tot = sum(free.values())
        n = {s: budget * f / tot for s, f in free.items()} if tot > 0 else {}
        low = [s for s, v in n.items() if v < floor.get(s, 0.0)]
        if not low:
            break
        for s in low:
            fixed[s] = floor[s]
    n.update(fixed)
    return tuple(int(max(1, round(n[s] / block))) * block if s in pos else 0 for s in species)


def fixed_allocation(model, species: tuple[int, ...], samples: int, spec: str) -> Allocation:
    """Allocation from explicit fractions; a contributing species left at zero is an error
    (its contribution would silently be missing)."""
    fr = parse_fractions(spec, species)
    contrib = contributing_species(model, species)
    missing = [s for s in contrib if fr.get(s, 0.0) <= 0.0]
    if missing:
        names = ", ".join(_NAME_OF.get(s, str(s)) for s in missing)
        raise ParameterError(f"allocation = {spec!r} gives no samples to {names}, which contribute to the signal of "
                             f"{getattr(model, 'name', 'the model')}; give them a positive fraction")
    fr = {s: f for s, f in fr.items() if s in contrib}
    b = block_size(samples, len(contrib))
    return Allocation("fixed", species, shares_to_primaries(fr, species, samples, b), b)


def neyman_shares(variance: dict[int, float], cost: dict[int, float]) -> dict[int, float]:
    """Optimal shares n_h ∝ sqrt(V_h / c_h) (zero where V_h = 0)."""
    return {s: float(np.sqrt(max(v, 0.0) / max(cost.get(s, 1.0), 1e-300))) for s, v in variance.items()}


def importance_from_pilot(species: tuple[int, ...], contrib: tuple[int, ...], samples: int,
                          pilot: dict[int, dict[str, float]], block: int | None = None) -> Allocation:
    """Neyman allocation from pilot figures ``pilot[pdg] = {variance_per_primary, cost_per_primary,
    events}``, with the :data:`FLOOR_FRACTION` floor; even over ``contrib`` if the pilot saw no
    signal at all.  ``block``: primaries per cached block (default :func:`block_size`)."""
    b = block_size(samples, len(contrib)) if block is None else int(block)
    var = {s: pilot[s]["variance_per_primary"] for s in contrib}
    cost = {s: pilot[s]["cost_per_primary"] for s in contrib}
    shares = neyman_shares(var, cost)
    if sum(shares.values()) <= 0.0:
        shares = {s: 1.0 for s in contrib}
        method = "importance (pilot saw no signal: even)"
    else:
        method = "importance"
    floor = {s: FLOOR_FRACTION * samples / len(contrib) for s in contrib}
    shares = {s: (v if v > 0 else 1e-300) for s, v in shares.items()}  # every contributor sampled
    prim = shares_to_primaries(shares, species, samples, b, floor)
    piloted = {_NAME_OF.get(s, str(s)): {k: float(v) for k, v in pilot[s].items()} for s in contrib}
    return Allocation(method, species, prim, b, {"primaries_per_species": PILOT_PRIMARIES, "species": piloted})


def _predicted_error(figs: dict[int, dict[str, float]], species: tuple[int, ...],
                     primaries: tuple[int, ...]) -> float:
    """Relative MC error sqrt(Σ_h V_h / n_h) / Σ_h T_h of a sample with ``primaries`` per species,
    from the pilot figures (inf if the pilot saw no signal)."""
    t = sum(f["events_per_pot"] for f in figs.values())
    if t <= 0.0:
        return float("inf")
    n = dict(zip(species, primaries))
    var = sum(f["variance_per_primary"] / n[s] for s, f in figs.items() if n.get(s, 0) > 0)
    return float(np.sqrt(var) / t)


def importance_for_target(species: tuple[int, ...], contrib: tuple[int, ...],
                          components: dict[str, dict[int, dict[str, float]]], target: float, cap: int,
                          block: int = TARGET_BLOCK) -> Allocation:
    """Neyman allocation (:func:`importance_from_pilot`) whose total is chosen from the pilot so
    that the predicted relative MC error of every signal component is at most
    ``TARGET_MARGIN × target``.

    ``components``: pilot figures (:func:`pilot_figures`) per component of the signal that
    scales differently with the coupling product (e.g. long-lived X: conversions ∝ x², decays
    inside the detector fixed); components the pilot did not see are ignored.  The relative
    error of any positive combination a·A + b·B is at most max(σ_A/A, σ_B/B) (Cauchy–Schwarz),
    so the target then holds at every coupling product.  The shares minimise the sum of the
    components' squared relative errors (Neyman with V_h = Σ_c V_hc / T_c²); the total follows
    from variance ∝ 1/N at fixed shares, iterated for the floor and the rounding to whole blocks
    of ``block``; at least one block per contributing species and at most ``cap`` primaries
    (the fixed default: never more than before; ``pilot.target_reached`` says whether the
    target was reachable).  A pilot that saw no signal gives ``cap``."""
    aim = TARGET_MARGIN * float(target)
    lo = block * len(contrib)
    n = int(cap)
    seen = {k: f for k, f in components.items() if sum(v["events_per_pot"] for v in f.values()) > 0.0}
    first = next(iter(components.values()))
    figs = {s: {"events_per_pot": sum(components[k][s]["events_per_pot"] for k in components),
                "variance_per_primary": sum(f[s]["variance_per_primary"]
                                            / sum(v["events_per_pot"] for v in f.values()) ** 2
                                            for f in seen.values()),
                "cost_per_primary": first[s]["cost_per_primary"]} for s in first}

    def error(primaries):
        return max((_predicted_error(f, species, primaries) for f in seen.values()), default=float("inf"))

    alloc = importance_from_pilot(species, contrib, n, figs, block=block)
    err = error(alloc.primaries)
    if np.isfinite(err):
        for _ in range(4):
            n = int(min(max(np.ceil(alloc.total * (err / aim) ** 2), lo), cap))
            alloc = importance_from_pilot(species, contrib, n, figs, block=block)
            err = error(alloc.primaries)
            if err <= aim or n >= cap:
                break
    pilot = dict(alloc.pilot)
    pilot.update({"target_mc_error": float(target), "aimed_rel_error": aim, "components": sorted(seen),
                  "predicted_rel_error_by_component": {k: _predicted_error(f, species, alloc.primaries)
                                                       for k, f in seen.items()},
                  "predicted_rel_error": err if np.isfinite(err) else None,
                  "target_reached": bool(np.isfinite(err) and err <= float(target)), "samples_cap": int(cap)})
    return Allocation(alloc.method + " (target MC error)", species, alloc.primaries, block, pilot)


def pilot_figures(columns: dict[str, np.ndarray], pdg_of_row: np.ndarray, n_primaries: dict[int, int],
                  rows_per_primary: dict[int, float], window: tuple[float, float]) -> dict[int, dict[str, float]]:
    """Per-species figures of a pilot prediction: events in the E_QE ``window`` (per POT),
    per-primary variance V_h = n_h (Σ_i y_i² − T_h²/n_h) with y_i the window weight of meson
    row i, and the cost proxy 1 + ``rows_per_primary`` (forced emissions per primary)."""
    w = np.asarray(columns["weight"], float)
    eqe = np.asarray(columns["e_qe"], float)
    mi = np.asarray(columns["meson_index"], np.int64)
    win = (eqe >= window[0]) & (eqe < window[1]) & (w > 0)
    out = {}
    for s, n in n_primaries.items():
        sel = win & (pdg_of_row[mi] == s)
        if np.any(sel):
            _, inv = np.unique(mi[sel], return_inverse=True)
            y = np.bincount(inv.ravel(), weights=w[sel])
            t = float(y.sum())
            v = n * max(float(np.sum(y * y)) - t * t / n, 0.0)
        else:
            t, v = 0.0, 0.0
        out[s] = {"events_per_pot": t, "variance_per_primary": v, "cost_per_primary": 1.0 + rows_per_primary.get(s, 0.0)}
    return out


_BLOCK_DTYPE = np.dtype([("p4", np.float64, (4,)), ("vertex", np.float64, (3,)), ("pdgid", np.int64),
                         ("weight", np.float64), ("parent", np.int64)])
#: In-process memo of assembled species samples (scans and fits revisit them): key -> sample.
_SPECIES_MEMO: dict[tuple, tuple[np.ndarray, ...]] = {}
#: Bytes kept in :data:`_SPECIES_MEMO` at most (oldest entries dropped first).
SPECIES_MEMO_BYTES = 256 * 2**20


def cached_block(exp, mode: str, n: int, seed: int, pdg: int, block: int, fingerprint: dict | None = None,
                 progress: bool = False) -> np.ndarray:
    """One block of ``n`` primaries of species ``pdg`` at their decay points (structured array
    with the :class:`~mesonportal.sample.ParticleSample` columns, read-only), simulated with the
    independent stream ``meson_rng(seed, (pdg,), block)`` and cached on disk as one ``.npy``.

    A cached block is returned as a read-only memory map of its file: nothing is read until the
    rows are used (:func:`_species_sample` copies each field once into the assembled columns;
    ``len()`` costs only the header).  A block simulated in this process is kept in the
    in-process memo :data:`_BLOCK_MEMO`."""
    from mesonportal import cache

    mkey, path, arr = _block_slot(exp, mode, n, seed, pdg, block, fingerprint)
    if arr is not None:
        return arr
    from mesonportal.sources.transport import simulate_mesons

    smp = simulate_mesons(exp, mode, int(n), cache.meson_rng(seed, (int(pdg),), int(block)), species=(int(pdg),),
                          progress=progress)
    return _store_block(mkey, path, smp)


def _block_key(exp, mode: str, n: int, seed: int, pdg: int, block: int, fingerprint: dict | None):
    """(memo key, canonical source fingerprint, cache directory or None if the cache is off) of
    one meson block of :func:`cached_block`."""
    from mesonportal import cache

    fp = cache.source_fingerprint(exp, mode) if fingerprint is None else fingerprint
    text, canon = _fp_forms(fp)
    cdir, enabled = cache.cache_dir(), cache.cache_enabled()
    return (text, mode, int(n), int(seed), int(pdg), int(block), str(cdir), enabled), canon, (cdir if enabled else None)


def _block_path(exp, mode: str, n: int, seed: int, pdg: int, block: int, canon, cdir):
    """Cache file of one meson block (None without a cache)."""
    if cdir is None:
        return None
    from mesonportal import cache

    # the canonical fingerprint is computed once (_fp_forms): same key as cache.cache_key
    key = cache.cache_key_prepared("mesons-block", {"source": canon}, mode=mode, samples=int(n), seed=int(seed),
                                   species=[int(pdg)], block=int(block))
    return cdir / f"mesonblock-{cache._source_name(exp)}-{mode}-{key}.npy"


def _block_slot(exp, mode: str, n: int, seed: int, pdg: int, block: int, fingerprint: dict | None):
    """(memo key, cache file or None, the block if in the memo or on disk else None)."""
    mkey, canon, cdir = _block_key(exp, mode, n, seed, pdg, block, fingerprint)
    hit = _BLOCK_MEMO.get(mkey)
    if hit is not None:
        return mkey, None, hit
    path = _block_path(exp, mode, n, seed, pdg, block, canon, cdir)
    if path is not None and path.is_file():
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            if arr.dtype == _BLOCK_DTYPE and arr.ndim == 1:
                return mkey, path, arr
        except Exception:  # corrupt or truncated entry: recompute  # noqa: BLE001
            pass
        path.unlink(missing_ok=True)
    return mkey, path, None


def _store_block(mkey: tuple, path, smp: ParticleSample) -> np.ndarray:
    """The block array of a simulated sample, written to the cache (``path``) and remembered."""
    from mesonportal import cache

    arr = np.empty(len(smp), _BLOCK_DTYPE)
    for c in _BLOCK_DTYPE.names:
        arr[c] = getattr(smp, c)
    if path is not None:
        cache.save_npy(path, arr)  # atomic write (temp file + rename)
    _remember_block(mkey, arr)
    return arr


#: Meson blocks simulated together at most (their horn passes tracked in one call,
#: :func:`mesonportal.sources.grouped.simulate_mesons_grouped`; each block bitwise the same as
#: simulated alone).
GROUP_BLOCKS = 16
#: Without a disk cache, blocks are made ahead in groups only up to this many primaries in all
#: (they must stay in the in-process memo :data:`_BLOCK_MEMO` until used).
PREFETCH_UNCACHED_PRIMARIES = 500_000


def prefetch_blocks(exp, mode: str, n: int, seed: int, pairs, fingerprint: dict | None = None,
                    progress: bool = False) -> int:
    """Simulate the missing blocks among ``pairs`` = [(pdg, block), ...] (``n`` primaries each,
    as :func:`cached_block`) in groups of :data:`GROUP_BLOCKS` whose horn tracking is shared, and
    cache them; blocks in the memo or on disk are left alone.  Returns the number simulated.

    Only the scheduling changes: every block is bitwise the block :func:`cached_block` would
    simulate alone (same stream ``meson_rng(seed, (pdg,), block)``, same cache file).  ``progress``:
    a transient progress bar on stderr (blocks made)."""
    from mesonportal import cache

    pairs = [(int(p), int(b)) for p, b in pairs]
    if len(pairs) < 2 or getattr(exp, "horn", None) is None or getattr(exp, "source", None) is not None \
            or getattr(exp, "source_type", "horn") == "stopped":
        return 0  # nothing to share (no horn passes)
    if not cache.cache_enabled() and len(pairs) * int(n) > PREFETCH_UNCACHED_PRIMARIES:
        return 0
    missing = []
    for pdg, b in pairs:
        mkey, canon, cdir = _block_key(exp, mode, n, seed, pdg, b, fingerprint)
        if mkey in _BLOCK_MEMO:
            continue
        path = _block_path(exp, mode, n, seed, pdg, b, canon, cdir)
        if path is not None and path.is_file():
            continue
        missing.append((pdg, b, mkey, path))
    if len(missing) < 2:
        return 0
    from mesonportal.sources.grouped import simulate_mesons_grouped

    from mesonportal._progress import transient_progress

    with transient_progress(f"meson blocks ({mode})", len(missing), progress) as advance:
        for g in range(0, len(missing), GROUP_BLOCKS):
            part = missing[g:g + GROUP_BLOCKS]
            smps = simulate_mesons_grouped(exp, mode, [(int(n), cache.meson_rng(seed, (pdg,), b), (pdg,))
                                                       for pdg, b, _, _ in part])
            for (_, _, mkey, path), smp in zip(part, smps):
                _store_block(mkey, path, smp)
            advance(len(part))
    return len(missing)


#: In-process memo of meson blocks simulated (and written to the cache) in this process: model
#: points whose allocations differ share them (bounded by :data:`BLOCK_MEMO_BYTES`, oldest
#: dropped first; blocks already on disk are memory-mapped instead).  The arrays are made read-only.
_BLOCK_MEMO: dict[tuple, np.ndarray] = {}
BLOCK_MEMO_BYTES = 192 * 2**20
_FP_TEXT: dict[int, tuple[Any, tuple[str, Any]]] = {}


def _fp_text(fp: dict) -> str:
    """Canonical JSON text of a source fingerprint (memoised per fingerprint object)."""
    return _fp_forms(fp)[0]


def _fp_forms(fp: dict) -> tuple[str, Any]:
    """(JSON text, :func:`mesonportal.cache.canonical` form) of a source fingerprint, memoised
    per fingerprint object (the block cache keys reuse the canonical form)."""
    hit = _FP_TEXT.get(id(fp))
    if hit is not None and hit[0] is fp:
        return hit[1]
    from mesonportal.cache import canonical

    forms = (json.dumps(fp, sort_keys=True, default=str), canonical(fp))
    if len(_FP_TEXT) > 64:
        _FP_TEXT.clear()
    _FP_TEXT[id(fp)] = (fp, forms)
    return forms


def _remember_block(key: tuple, arr: np.ndarray) -> None:
    arr.flags.writeable = False
    _BLOCK_MEMO[key] = arr
    total = sum(a.nbytes for a in _BLOCK_MEMO.values())
    while total > BLOCK_MEMO_BYTES and len(_BLOCK_MEMO) > 1:
        total -= _BLOCK_MEMO.pop(next(iter(_BLOCK_MEMO))).nbytes


def _species_key(fp: dict, mode: str, n_blocks: int, block: int, seed: int, pdg: int, first_block: int) -> tuple:
    """Key of :data:`_SPECIES_MEMO` for one species sample of :func:`_species_sample`."""
    return (_fp_text(fp), mode, int(n_blocks), int(block), int(seed), int(pdg), int(first_block))


def _species_sample(exp, mode: str, n_blocks: int, block: int, seed: int, pdg: int, fp: dict, progress: bool,
                    first_block: int = 0) -> tuple[np.ndarray, ...]:
    """Columns (p4, vertex, pdgid, weight, parent) of ``n_blocks`` blocks of one species, the
    weights divided by ``n_blocks`` (memoised in process)."""
    key = _species_key(fp, mode, n_blocks, block, seed, pdg, first_block)
    hit = _SPECIES_MEMO.pop(key, None)
    if hit is not None:
        _SPECIES_MEMO[key] = hit  # most recent last
        return hit
    # pass 1: the rows of each block; at most _MAX_HELD_MAPS memory-mapped blocks are held (each
    # map keeps a file descriptor open, and a large sample has thousands of blocks), the others
    # by file name and mapped again in pass 2
    srcs: list = []  # arrays (in-process memo, held maps) or file names
    lengths: list[int] = []
    held = 0
    for j in range(n_blocks):
        a = cached_block(exp, mode, block, seed, pdg, first_block + j, fp, progress)
        lengths.append(len(a))
        if isinstance(a, np.memmap) and a.filename is not None:
            if held < _MAX_HELD_MAPS:
                held += 1
            else:
                a = a.filename
        srcs.append(a)
        del a

    def blocks():  # pass 2: one block at a time, each released after its copy
        for j in range(len(srcs)):
            src, srcs[j] = srcs[j], None
            a = None
            if not isinstance(src, np.ndarray):
                try:
                    a = np.load(src, mmap_mode="r", allow_pickle=False)
                except (OSError, ValueError):  # removed meanwhile (cache cleared): via the cache again
                    a = None
                if a is None or a.dtype != _BLOCK_DTYPE or len(a) != lengths[j]:
                    a = cached_block(exp, mode, block, seed, pdg, first_block + j, fp, progress)
            else:
                a = src
            if len(a) != lengths[j]:  # pragma: no cover - blocks are deterministic
                raise RuntimeError(f"meson block {first_block + j} of species {pdg} changed while being read")
            yield a

    cols = _block_columns(blocks(), lengths, n_blocks)
    _SPECIES_MEMO[key] = cols
    while sum(sum(c.nbytes for c in v) for v in _SPECIES_MEMO.values()) > SPECIES_MEMO_BYTES and len(_SPECIES_MEMO) > 1:
        _SPECIES_MEMO.pop(next(iter(_SPECIES_MEMO)))
    return cols


#: Memory-mapped meson blocks held open at once while a species sample is assembled.
_MAX_HELD_MAPS = 256


def _block_columns(arrs, lengths: list[int], n_blocks: int) -> tuple[np.ndarray, ...]:
    """Columns (p4, vertex, pdgid, weight / ``n_blocks``, parent) of the concatenated blocks
    (an iterable of block arrays of ``lengths`` rows), each field copied once from the blocks
    into its contiguous column."""
    total = int(sum(lengths))
    cols = (np.empty((total, 4)), np.empty((total, 3)), np.empty(total, np.int64), np.empty(total),
            np.empty(total, np.int64))
    p4, vertex, pdgid, weight, parent = cols
    o = 0
    for a in arrs:
        k = len(a)
        p4[o:o + k] = a["p4"]
        vertex[o:o + k] = a["vertex"]
        pdgid[o:o + k] = a["pdgid"]
        np.divide(a["weight"], n_blocks, out=weight[o:o + k])
        parent[o:o + k] = a["parent"]
        o += k
    return cols


def _join(parts: list[tuple[np.ndarray, ...]]) -> ParticleSample:
    if not parts:
        return ParticleSample.empty()
    return ParticleSample(*(np.concatenate([p[i] for p in parts]) for i in range(5)))


def assemble(exp, mode: str, alloc: Allocation, seed: int, progress: bool = False) -> ParticleSample:
    """The meson sample of ``alloc``: per species ``primaries / block`` cached blocks
    (:func:`cached_block`), weights divided by the number of blocks (exact normalisation);
    with ``alloc.keep`` thinned per stratum (:func:`mesonportal.analysis.strata.thin`: row kept
    with probability q, weight ÷ q — exact in expectation)."""
    from mesonportal.cache import source_fingerprint

    fp = source_fingerprint(exp, mode)
    # the blocks not made yet, all species together: simulated in groups (shared horn tracking)
    # (species whose thinned or whole sample is memoised in process are skipped: nothing to make)
    todo = [(i, s, n // alloc.block) for i, (s, n) in enumerate(zip(alloc.species, alloc.primaries))
            if n // alloc.block > 0]
    prefetch_blocks(exp, mode, alloc.block, seed,
                    [(s, j) for i, s, nb in todo
                     if (alloc.keep and alloc.keep[i] and min(alloc.keep[i]) < 1.0)
                     or _species_key(fp, mode, nb, alloc.block, seed, s, 0) not in _SPECIES_MEMO
                     for j in range(nb)], fp, progress)
    parts = []
    for i, (s, n) in enumerate(zip(alloc.species, alloc.primaries)):
        nb = n // alloc.block
        if nb <= 0:
            continue
        if alloc.keep and alloc.keep[i] and min(alloc.keep[i]) < 1.0:
            parts.append(_thinned_species(exp, mode, nb, alloc.block, seed, s, fp, np.asarray(alloc.keep[i], float),
                                          progress))
        else:
            parts.append(_species_sample(exp, mode, nb, alloc.block, seed, s, fp, progress))
    return _join(parts)


#: In-process memo of the (strata, thinning uniforms) of each cached meson block (both
#: mass-independent: a scan's mass points share them).
_BLOCK_STRATA_MEMO: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
BLOCK_STRATA_MEMO_BYTES = 64 * 2**20


def _thinned_species(exp, mode: str, n_blocks: int, block: int, seed: int, pdg: int, fp: dict, q: np.ndarray,
                     progress: bool) -> tuple[np.ndarray, ...]:
    """Columns of ``n_blocks`` blocks of one species thinned with keep probabilities ``q`` per
    stratum (:func:`mesonportal.analysis.strata.thin`, applied block by block so that only the
    kept rows are gathered): weights ÷ ``n_blocks`` ÷ q."""
    from mesonportal.analysis.strata import block_uniforms, stratum_of

    centre = tuple(float(x) for x in exp.detector.center_cm)
    kept, qk = [], []
    for j in range(n_blocks):
        arr = cached_block(exp, mode, block, seed, pdg, j, fp, progress)
        key = (_fp_text(fp), mode, int(block), int(seed), int(pdg), j, centre)
        hit = _BLOCK_STRATA_MEMO.get(key)
        if hit is None:
            hit = (stratum_of(arr["p4"], arr["vertex"], np.asarray(centre)).astype(np.int16),
                   block_uniforms(seed, pdg, j, len(arr)))
            _BLOCK_STRATA_MEMO[key] = hit
            total = sum(a.nbytes + b.nbytes for a, b in _BLOCK_STRATA_MEMO.values())
            while total > BLOCK_STRATA_MEMO_BYTES and len(_BLOCK_STRATA_MEMO) > 1:
                a, b = _BLOCK_STRATA_MEMO.pop(next(iter(_BLOCK_STRATA_MEMO)))
                total -= a.nbytes + b.nbytes
        qs = q[hit[0]]
        idx = np.flatnonzero(hit[1] < qs)
        kept.append(arr[idx])
        qk.append(qs[idx])
    a = np.concatenate(kept) if len(kept) > 1 else kept[0]
    qv = np.concatenate(qk) if len(qk) > 1 else qk[0]
    return (np.ascontiguousarray(a["p4"]), np.ascontiguousarray(a["vertex"]), np.ascontiguousarray(a["pdgid"]),
            a["weight"] / n_blocks / qv, np.ascontiguousarray(a["parent"]))


def pilot_mesons(exp, mode: str, species: tuple[int, ...], seed: int, n: int = PILOT_PRIMARIES) -> ParticleSample:
    """Independent pilot samples (block :data:`PILOT_BLOCK`) of ``n`` primaries per species."""
    from mesonportal.cache import source_fingerprint

    fp = source_fingerprint(exp, mode)
    prefetch_blocks(exp, mode, n, seed, [(s, PILOT_BLOCK) for s in species], fp)
    return _join([_species_sample(exp, mode, 1, n, seed, s, fp, False, first_block=PILOT_BLOCK) for s in species])


def allocation_key(exp, mode: str, model, seed: int, samples: int, extra: dict) -> str:
    """Content key of an importance allocation (experiment, mode, model point, seed, samples,
    chain options, pilot settings, package version)."""
    from mesonportal.cache import cache_key, experiment_fingerprint

    return cache_key("allocation", experiment=experiment_fingerprint(exp), mode=mode,
                     model=json.loads(json.dumps(model.describe(), default=str)), seed=int(seed),
                     samples=int(samples), extra=extra, pilot=[PILOT_PRIMARIES, FLOOR_FRACTION, BLOCK])


__all__ = ["Allocation", "METHODS", "BLOCK", "TARGET_BLOCK", "TARGET_MARGIN", "importance_for_target", "PILOT_PRIMARIES", "FLOOR_FRACTION", "contributing_species",
           "parse_fractions", "fixed_allocation", "importance_from_pilot", "neyman_shares", "pilot_figures",
           "assemble", "pilot_mesons", "prefetch_blocks", "GROUP_BLOCKS", "block_size", "shares_to_primaries"]
