"""Signal predictions for MiniBooNE-like experiments: mesons → dark particles → events.

:func:`predict_signal` is the contract used by fits and scans (see
:mod:`mesonportal.analysis.prediction`): it returns a :class:`SignalSample` with weights in
events per POT at the model's own coupling product.  The chain per model family lives in
:mod:`mesonportal.detection.signal`; the physics, formulas and approximations are in
docs/prediction.md.

Randomness: the meson source is seeded by ``seed`` (and cached on disk,
:func:`mesonportal.cache.cached_mesons`); the dark chain uses
``pipeline.stage_rng(seed, "darkchain")``, so a prediction is reproducible and two predictions of
the same model family with the same seed see identical meson samples and random streams.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from typing import Any

import numpy as np

from mesonportal import __version__
from mesonportal.analysis.prediction import SignalSample
from mesonportal.detection.response import SHOWER_CRITERIA
from mesonportal.detection.signal import (
    PROCESS_CODES,
    SCALAR_MESONS,
    idm_chain,
    is_idm_model,
    is_scalar_model,
    scalar_chain,
)
from mesonportal.exceptions import ParameterError
from mesonportal.sample import ParticleSample

#: Meson groups of the iDM chain and their share of ``samples``: (species, divisor).  π⁰ gets
#: ``samples`` primaries (its π⁰ → γV dominates: 99 % of the idm-double ν-mode signal, the MC
#: error is set by the few π⁰ pointing at the detector), η samples // 4, π±/K± samples // 8
#: (their three-body V yield is < 1e-3 of the total for the benchmarks).
IDM_GROUPS: tuple[tuple[tuple[int, ...], int], ...] = (((111,), 1), ((221,), 4), ((211, -211, 321, -321), 8))

__all__ = ["predict_signal", "default_samples", "DEFAULT_SAMPLES", "SignalSample"]

#: Default number of sampled primary mesons per model family (split evenly over the meson
#: species of the family).  Chosen so that the ν-mode benchmark predictions have ≤ 2 % MC
#: statistical error on the total (benchmarks/bench_predict.py; docs/prediction.md).
DEFAULT_SAMPLES: dict[str, int] = {"scalar": 300_000, "idm": 200_000}
#: Default sample sizes for stopped-pion sources: the emission is isotropic and from a point, so
#: forced emission is efficient; 1e5 primaries give ≈ 1% MC error on the CCM scalar benchmark
#: (benchmarks/bench_stopped.py) at ≤ 2 s per mass point.
DEFAULT_SAMPLES_STOPPED: dict[str, int] = {"scalar": 100_000, "idm": 100_000}
#: Forced emissions per meson (and per V) and channel.
DEFAULT_N_PER_MESON: dict[str, int] = {"scalar": 1, "idm": 1}
#: Mean forward-stratum mediator decays per meson and stratum of the π⁰/η → γV channels in the
#: iDM chain (importance-allocated over the mesons, see ``detection.signal._stratified_mediators``).
DEFAULT_N_FORWARD = 1


def _family(model) -> str:
    if is_scalar_model(model):
        return "scalar"
    if is_idm_model(model):
        return "idm"
    raise ParameterError(f"model {getattr(model, 'name', model)!r} has no prediction chain; allowed: scalar, "
                         "pseudoscalar, idm")


def _neutral_channels(model) -> bool:
    """True if a long-lived X of ``model`` is also made in π⁰/η decays."""
    return any(ch.is_open and ch.branching_ratio > 0.0 and abs(ch.parent) in (111, 221)
               for ch in model.production_channels())


def _even_meson_sample(exp, mode: str, model, samples: int, seed: int, progress: bool = False) -> ParticleSample:
    """The previous implementation ("even" allocation): π±/K± (``samples`` split evenly) for
    the scalar family; for idm the groups of :data:`IDM_GROUPS`."""
    from mesonportal.cache import cached_mesons

    if _family(model) == "scalar":
        if not _neutral_channels(model):
            return cached_mesons(exp, mode, samples, seed, species=SCALAR_MESONS, progress=progress)
        # a long-lived X also made in π⁰/η → γX (e.g. the long-lived vector with quark couplings)
    groups = [cached_mesons(exp, mode, max(samples // frac, len(sp)), seed, species=sp, progress=progress)
              for sp, frac in IDM_GROUPS]
    return ParticleSample.concatenate(groups)


#: Species sampled per model family (each its own stratum of the importance allocation).
#: (Only the species with an open production channel of the model are sampled, see
#: :func:`mesonportal.analysis.allocation.contributing_species`; e.g. the long-lived vector with
#: quark couplings is also made in π⁰/η → γX.)
FAMILY_SPECIES: dict[str, tuple[int, ...]] = {"scalar": SCALAR_MESONS + (111, 221),
                                              "idm": (111, 221, 211, -211, 321, -321)}
#: Default allocation method per family (:mod:`mesonportal.analysis.allocation`): the importance
#: allocation where it pays (long-lived X: MC efficiency × 1.7–2.2 for the benchmarks, K± rows
#: were ~90 % of the events but ~9 % of the signal); for iDM the previous fixed groups were
#: already near-optimal (π⁰ → γV dominates; measured efficiency ratio 0.96–1.0 before the pilot
#: cost) and the dirt up-scatterings' heavy-tailed weights make a 5 000-meson pilot unreliable,
#: so "even" stays the default there (docs/mc_errors.md).
DEFAULT_ALLOCATION: dict[str, str] = {"scalar": "importance", "idm": "even"}
#: Default strata of a target-MC-error prediction (long-lived X at horn beams; iDM and stopped
#: sources have no target and keep "species"): the meson rows are thinned per species × momentum
#: × angle-to-detector stratum (:mod:`mesonportal.analysis.strata`), 2–5× more MC-efficient than
#: the species allocation alone.  Validated on fresh seeds (docs/mc_errors.md §6): pulls of the
#: thinned and the species rule agree on the same meson blocks in ν, ν̄ and dump mode; the
#: over-quoted figures of seeds 9300–9347 did not repeat on 9400–9447.  When the cap on the
#: primaries binds (ν̄ mode), the thinning is switched off and the species rule's allocation used.
DEFAULT_STRATA = "momentum-angle"
_ALLOCATIONS: dict[str, Any] = {}


def _run_chain(exp, mode, model, mesons, rng, npm: int, criterion: str, decays: bool, smear: bool,
               response=None, dirt: bool = True):
    if response is None:
        from mesonportal.responses.technology import response_for

        response = response_for(exp.detector, criterion)
    if _family(model) == "scalar":
        return scalar_chain(exp, mode, model, mesons, rng, n_per_meson=npm, criterion=criterion,
                            decays=decays, smear=smear, response=response)
    return idm_chain(exp, mode, model, mesons, rng, n_per_meson=npm, n_two_body=DEFAULT_N_FORWARD,
                     criterion=criterion, smear=smear, dirt=dirt, response=response)


def resolve_allocation(exp, mode: str, model, samples: int, seed: int, allocation: str | None = None, *,
                       n_per_meson: int = 1, criterion: str = "circle", decays: bool = True,
                       smear: bool = True, dirt: bool = True, target_mc_error: float | None = None,
                       strata: str | None = None):
    """The :class:`~mesonportal.analysis.allocation.Allocation` of a prediction (None for
    ``"even"``, the previous implementation).  ``"importance"`` runs a pilot prediction
    (independent streams: pilot meson blocks and ``stage_rng(seed, "pilot")``) once per
    experiment / mode / model point / seed / samples / chain options; the result is a
    deterministic function of those and is memoised in memory and on disk.

    ``target_mc_error`` (importance allocation only): the total number of primaries is chosen
    from the pilot for this relative MC error of the events in the E_QE excess window (ν, ν̄
    modes; all events in dump mode), at most ``samples``
    (:func:`mesonportal.analysis.allocation.importance_for_target`).

    ``strata``: ``"momentum-angle"`` (default with a ``target_mc_error``; needs one) also thins the
    meson rows per species × momentum × angle-to-detector stratum with Neyman keep probabilities
    from the same pilot (:mod:`mesonportal.analysis.strata`), unless the cap on the primaries
    binds (then the species rule's allocation); ``"species"`` only allocates between species (the
    rule of 0.3.0, and the default without a target)."""
    from mesonportal import cache
    from mesonportal.analysis import allocation as al
    from mesonportal.analysis.prediction import EXCESS_WINDOW_MEV
    from mesonportal.pipeline import stage_rng

    from mesonportal.analysis import strata as stt

    family = _family(model)
    if isinstance(allocation, al.Allocation):
        return _explicit_allocation(model, family, allocation)
    allocation = DEFAULT_ALLOCATION[family] if allocation is None else str(allocation).strip()
    strata = stt.check_strata(strata)
    if strata == "momentum-angle" and (allocation != "importance" or target_mc_error is None):
        raise ParameterError(f"strata = 'momentum-angle' needs allocation = 'importance' with a target_mc_error "
                             f"(got allocation = {allocation!r}, target_mc_error = {target_mc_error!r}); "
                             "use strata = 'species'")
    if strata is None:
        strata = DEFAULT_STRATA if (allocation == "importance" and target_mc_error is not None) else "species"
    if allocation == "even":
        return None
    species = FAMILY_SPECIES[family]
    # the primaries to share: as many as the previous ("even") implementation simulated for this
    # `samples` (= samples for π±/K± models; ≈ 1.375 × samples for the iDM groups), so that a
    # given `samples` never means fewer mesons than before
    budget = int(sum(primaries_per_species(model, samples, None).values()))
    if target_mc_error is not None and allocation != "importance":
        raise ParameterError(f"target_mc_error = {target_mc_error!r} needs allocation = 'importance' "
                             f"(got {allocation!r}); give samples instead")
    if allocation != "importance":
        if "=" not in allocation:
            raise ParameterError(f"allocation = {allocation!r}; allowed: {', '.join(al.METHODS)} or "
                                 "SPECIES=FRACTION,... (e.g. pi+=0.7,K+=0.3)")
        return al.fixed_allocation(model, species, budget, allocation)
    contrib = al.contributing_species(model, species)
    if not contrib:
        return al.Allocation("importance (no open channel)", species, tuple(0 for _ in species), 1)
    chain_opts = {"n_per_meson": n_per_meson, "criterion": criterion, "decays": decays, "smear": smear,
                  "dirt": dirt}
    extra = {**chain_opts, "budget": budget}
    if target_mc_error is not None:
        extra.update(target_mc_error=float(target_mc_error), block=al.TARGET_BLOCK, margin=al.TARGET_MARGIN,
                     rule="every component", strata=strata)
        if strata == "momentum-angle":
            extra.update(strata_edges=[list(map(float, stt.MOMENTUM_EDGES_MEV)), list(map(float, stt.ANGLE_EDGES_DEG))],
                         q_floor=stt.Q_FLOOR, row_cost=stt.ROW_ASSEMBLY_COST, min_pilot_rows=stt.MIN_PILOT_ROWS,
                         strata_rule=stt.RULE,
                         pilot_thinning=[stt.PILOT_NEAR_DEG, stt.PILOT_Q_FAR],
                         kappa=[float(stt.KAPPA_DECADES[0]), float(stt.KAPPA_DECADES[-1]), len(stt.KAPPA_DECADES)])
    key = al.allocation_key(exp, mode, model, seed, samples, extra)
    if key in _ALLOCATIONS:
        return _ALLOCATIONS[key]
    path = cache.cache_dir() / "allocations" / f"{key}.json" if cache.cache_enabled() else None
    if path is not None and path.is_file():
        try:
            d = json.loads(path.read_text())
            res = al.Allocation(d["method"], tuple(d["species"]), tuple(d["primaries"]), int(d["block"]), d["pilot"],
                                tuple(tuple(float(x) for x in q) for q in d.get("keep", ())))
            _ALLOCATIONS[key] = res
            return res
        except Exception:  # corrupt entry: recompute  # noqa: BLE001
            path.unlink(missing_ok=True)
    n_pilot = (al.PILOT_PRIMARIES if target_mc_error is not None
               else min(al.PILOT_PRIMARIES, max(1, budget // (2 * len(contrib)))))
    pil = al.pilot_mesons(exp, mode, contrib, seed, n_pilot)
    pil_rows = {s: float(np.count_nonzero(pil.pdgid == s)) for s in contrib}
    if target_mc_error is not None and strata == "momentum-angle":
        # the pilot itself thinned with a fixed prior (far-off-axis and at-rest rows kept with
        # probability PILOT_Q_FAR, weights ÷ q): its estimates stay unbiased
        pil, pil_stratum, pil_q = stt.thin_pilot(pil, contrib, seed, al.PILOT_BLOCK, exp.detector.center_cm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = _run_chain(exp, mode, model, pil, stage_rng(seed, "pilot"), n_per_meson, criterion, decays, smear,
                         dirt=dirt)
    cols = res.columns
    # cost proxy: forced emissions per primary = meson rows (decay in flight, at rest) × open
    # channels applying to the species (the forced emission dominates the chain's time)
    chans = [ch for ch in model.production_channels() if ch.is_open and ch.branching_ratio > 0.0]
    rows = {s: pil_rows[s] / n_pilot
            * sum(bool(ch.applies_to(np.array([s]))[0]) for ch in chans) for s in contrib}
    if target_mc_error is None:
        figs = al.pilot_figures(cols, pil.pdgid, {s: n_pilot for s in contrib}, rows, EXCESS_WINDOW_MEV)
        out = al.importance_from_pilot(species, contrib, budget, figs)
    else:
        window = TARGET_WINDOW_MEV.get(mode, EXCESS_WINDOW_MEV)
        comps = {"all": np.ones(len(cols["weight"]), bool)}
        if family == "scalar" and "process" in cols:
            # conversions scale as x², decays inside do not: each component meets the target
            prim = np.asarray(cols["process"]) == PROCESS_CODES["primakoff"]
            comps = {"conversion": prim, "decay": ~prim}
        figs = {k: al.pilot_figures({c: np.asarray(cols[c])[sel] for c in ("weight", "e_qe", "meson_index")},
                                    pil.pdgid, {s: n_pilot for s in contrib}, rows, window)
                for k, sel in comps.items()}
        keep = None
        if strata == "momentum-angle":
            # per meson row of the pilot: its window weight per component, and its stratum
            eqe = np.asarray(cols["e_qe"], float)
            w = np.asarray(cols["weight"], float)
            mi = np.asarray(cols["meson_index"], np.int64)
            inwin = (eqe >= window[0]) & (eqe < window[1]) & (w > 0)
            ys = {k: np.bincount(mi[inwin & sel], weights=w[inwin & sel], minlength=len(pil))
                  for k, sel in comps.items()}
            sfig = stt.pilot_strata(ys, pil.pdgid, pil_stratum, contrib, n_pilot, pil_q)
            per_row = {s: sum(bool(ch.applies_to(np.array([s]))[0]) for ch in chans) for s in contrib}
            totals = {k: sum(f[s]["events_per_pot"] for s in contrib) for k, f in figs.items()}
            keep, summary = stt.keep_probabilities(sfig, contrib, per_row, totals)
            # species figures from the (thinned-pilot) strata sums: unbiased for any keep
            figs = {k: stt.thinned_figures(sfig, keep, contrib, per_row, k) for k in figs}
            if summary.get("kappa_decade") is None:
                keep = None
        out = al.importance_for_target(species, contrib, figs, float(target_mc_error), cap=budget)
        import dataclasses

        if keep is not None and _cap_binds(out, len(contrib)):
            # the cap binds: at a fixed number of primaries thinning only adds variance (the
            # Neyman κ trades variance for cost), so the capped primaries are spent as the species
            # rule spends them — its own (unthinned) pilot and allocation, bit for bit; the
            # thinned pilot's shares are noisier (docs/mc_errors.md §6)
            sp = resolve_allocation(exp, mode, model, samples, seed, allocation, **chain_opts,
                                    target_mc_error=target_mc_error, strata="species")
            summary = dict(summary, thinning="off: aimed error not reachable within the cap (species rule)")
            keep = None
            out = dataclasses.replace(sp, pilot=dict(sp.pilot, strata=summary))
        if keep is not None:
            pil_info = dict(out.pilot, strata=summary)
            out = dataclasses.replace(out, pilot=pil_info, keep=tuple(
                tuple(float(x) for x in keep[s]) if s in keep else () for s in species))
    _ALLOCATIONS[key] = out
    if path is not None:
        cache.save_text(path, json.dumps({"method": out.method, "species": list(out.species),
                                          "primaries": list(out.primaries), "block": out.block,
                                          "pilot": out.pilot, "keep": [list(q) for q in out.keep]}))
    return out


def _cap_binds(alloc, n_contrib: int) -> bool:
    """Whether the cap on the primaries binds a target-MC-error allocation: its predicted error
    misses the aim (``TARGET_MARGIN`` × target) *and* it spends the cap (to within the rounding of
    every contributing species to whole blocks).  A small miss below the cap (the iteration of
    :func:`~mesonportal.analysis.allocation.importance_for_target` stops after a few steps) is
    not a binding cap."""
    p = alloc.pilot or {}
    err, aim, cap = p.get("predicted_rel_error"), p.get("aimed_rel_error"), p.get("samples_cap")
    if cap is None:
        return False
    missed = err is None or aim is None or err > aim
    return bool(missed and alloc.total >= int(cap) - alloc.block * max(int(n_contrib), 1))


def _explicit_allocation(model, family: str, alloc):
    """An :class:`~mesonportal.analysis.allocation.Allocation` given explicitly (e.g. a scan's
    mass point reusing the allocation of an anchor mass point, :mod:`mesonportal.analysis.scan_reuse`):
    unbiased for any primaries ≥ 1 per contributing species (weights corrected exactly), so a
    contributing species without primaries (its stratum would be missing) is a ParameterError."""
    from mesonportal.analysis import allocation as al

    per = dict(zip(alloc.species, alloc.primaries))
    missing = [s for s in al.contributing_species(model, FAMILY_SPECIES[family]) if per.get(s, 0) <= 0]
    if missing:
        raise ParameterError(f"allocation gives no primaries to contributing species {missing} of model "
                             f"{getattr(model, 'name', model)!r} (their contribution would be missing); "
                             "give each contributing species >= 1 block")
    return alloc


#: Default target relative MC error per family (:func:`resolve_target`): for the long-lived X
#: family the number of primaries is chosen from the importance-allocation pilot so that the
#: events in the E_QE excess window (ν, ν̄ modes; all events in dump mode) have this relative MC
#: error, at most :data:`DEFAULT_SAMPLES` (the previous fixed size); an explicit ``samples``
#: overrides it.  iDM keeps fixed ``samples`` (its default allocation is "even", no pilot).
DEFAULT_TARGET_MC_ERROR: dict[str, float | None] = {"scalar": 0.02, "idm": None}
#: Quantity whose MC error the target sets, per mode: events in this E_QE window [MeV]
#: (default: the excess window 200–1250 MeV; dump mode: all events, the dump-mode observable).
TARGET_WINDOW_MEV: dict[str, tuple[float, float]] = {"dump": (-math.inf, math.inf)}


def resolve_target(exp, model, samples: int | None, allocation: str | None,
                   target_mc_error: float | None) -> float | None:
    """The target relative MC error of a prediction, or None (fixed ``samples``).

    ``target_mc_error`` None → the family default (:data:`DEFAULT_TARGET_MC_ERROR`) when
    ``samples`` is not given, the allocation is the importance allocation and the source is a
    horn beam; 0 → off.  An explicit target with explicit ``samples`` or a non-importance
    allocation is a :class:`ParameterError` (one of the two must decide the sample size)."""
    from mesonportal.analysis.allocation import Allocation

    family = _family(model)
    if isinstance(allocation, Allocation):
        # an explicit allocation (scan reuse): its sample size was chosen for the target of the
        # importance allocation it came from
        alloc = "importance" if allocation.pilot.get("target_mc_error") is not None else "explicit"
    else:
        alloc = DEFAULT_ALLOCATION[family] if allocation is None else str(allocation).strip()
    if target_mc_error is None:
        if samples is not None or alloc != "importance" or getattr(exp, "source_type", "horn") != "horn":
            return None
        return DEFAULT_TARGET_MC_ERROR[family]
    if isinstance(target_mc_error, bool) or not isinstance(target_mc_error, (int, float, np.floating)) \
            or not math.isfinite(float(target_mc_error)) or not 0.0 <= float(target_mc_error) < 1.0:
        raise ParameterError(f"target_mc_error = {target_mc_error!r} must be a number in [0, 1) "
                             "(relative MC error, e.g. 0.02; 0 = off)")
    if float(target_mc_error) == 0.0:
        return None
    if samples is not None:
        raise ParameterError(f"give either samples (= {samples}) or target_mc_error (= {target_mc_error}), not both")
    if alloc != "importance":
        raise ParameterError(f"target_mc_error = {target_mc_error} needs allocation = 'importance' (got {alloc!r})")
    return float(target_mc_error)


def meson_sample(exp, mode: str, model, samples: int, seed: int, progress: bool = False,
                 allocation: str | None = None, **chain_opts) -> ParticleSample:
    """The (cached) meson sample of a prediction for ``allocation`` (default per family
    :data:`DEFAULT_ALLOCATION`, see :mod:`mesonportal.analysis.allocation`; ``"even"`` is the
    previous implementation).  ``chain_opts`` (``n_per_meson``, ``criterion``, ``decays``,
    ``smear``) must be those of the prediction (they enter the pilot run)."""
    from mesonportal.analysis import allocation as al

    alloc = resolve_allocation(exp, mode, model, samples, seed, allocation, **chain_opts)
    if alloc is None:
        return _even_meson_sample(exp, mode, model, samples, seed, progress)
    smp = al.assemble(exp, mode, alloc, seed, progress)
    smp.allocation = alloc  # type: ignore[attr-defined]
    return smp


def default_samples(model) -> int:
    """Default meson sample size for ``model`` (see :data:`DEFAULT_SAMPLES`)."""
    return DEFAULT_SAMPLES[_family(model)]


def predict_signal(
    experiment,
    mode: str,
    model,
    *,
    samples: int | None = None,
    seed: int = 12345,
    progress: bool = False,
    criterion: str = "circle",
    n_per_meson: int | None = None,
    decays: bool = True,
    smear: bool = True,
    dirt: bool = True,
    allocation: str | Any | None = None,
    target_mc_error: float | None = None,
    strata: str | None = None,
) -> SignalSample:
    """Reconstructed signal events of ``model`` in ``experiment`` for beam ``mode``.

    Parameters
    ----------
    experiment : name or :class:`~mesonportal.experiments.Experiment`
    mode : "nu", "nubar" or "dump"
    model : a model from :func:`mesonportal.models.make_model` / ``load_benchmark``
    samples : primary mesons to simulate (default :data:`DEFAULT_SAMPLES`, :data:`DEFAULT_SAMPLES_STOPPED`
        for stopped-pion sources); cached on disk
    seed : run seed (meson source and dark chain)
    criterion : single-shower criterion for pairs, "circle" (default: Table II circle or
        overlapping rings), "angle" or "circle-table" (Table II circle alone)
    n_per_meson : forced emissions per meson and channel (default 1)
    decays : include decays of a long-lived X inside the detector (scalar family)
    smear : apply the detector energy/angle resolution
    dirt : include χ up-scattering in the detector's upstream dirt volume (iDM family, when the
        experiment configures ``[detector.dirt]``).  A convention that changes results (e.g.
        × 2.2 for idm-double at MiniBooNE, ν mode); stated in ``info['conventions']``.
    allocation : how ``samples`` are shared between meson species: ``"importance"`` (pilot-run
        Neyman allocation; default for long-lived X), ``"even"`` (previous implementation; default
        for iDM, :data:`DEFAULT_ALLOCATION`) or explicit fractions
        ``"pi+=0.7,K+=0.2,..."`` (see :mod:`mesonportal.analysis.allocation`); the estimate is
        unbiased for all of them, the MC error differs.  An
        :class:`~mesonportal.analysis.allocation.Allocation` object is used as given (a scan reusing
        an anchor mass point's allocation, :mod:`mesonportal.analysis.scan_reuse`; every
        contributing species needs primaries); with a target its ``pilot`` records, the target
        is stated as for the importance allocation
    target_mc_error : relative MC error the sample size is chosen for (importance allocation
        only; default :data:`DEFAULT_TARGET_MC_ERROR`: 0.02 for long-lived X at horn beams when
        ``samples`` is not given; 0 = off).  The pilot predicts the error of the events in the
        E_QE excess window (ν, ν̄; all events in dump mode) — for long-lived X of each component
        separately (conversions ∝ x², decays inside fixed), which bounds the error at every
        coupling product — and the primaries are chosen for 0.85 × target, at most the default
        ``samples``.  Stated in ``info['target_mc_error']``,
        ``info['samples']`` (the primaries used) and ``info['allocation']['pilot']``.
    strata : ``"momentum-angle"`` (default when a ``target_mc_error`` applies, i.e. long-lived X
        at horn beams; needs one): the meson rows are also thinned per species × |p| ×
        angle-to-detector stratum with Neyman keep probabilities from the pilot, weights ÷ keep
        probability (unbiased, 2–5× the MC efficiency; validated in ν, ν̄ and dump mode:
        docs/mc_errors.md §6); when the cap on the primaries binds, the species rule's allocation
        instead.  ``"species"``: species allocation only (the rule of 0.3.0; the default without a
        target, e.g. iDM).  Stated in ``info['allocation']['strata']``.

    The detector response follows ``detector.technology``
    (:func:`mesonportal.responses.technology.response_for`): ``cherenkov-oil`` → MiniBooNE's
    reconstruction (efficiency, single-shower ``criterion``, E_QE); ``lartpc`` → the LAr-TPC
    response (topologies 1g0p, 1g1p, ee0p, 1e0p in the ``topology`` column; ``info`` gains
    ``events_by_topology``).

    Returns
    -------
    SignalSample with columns (all 1-D): generator level — ``process``, ``parent_pdg``,
    ``channel``, ``dark_{e,px,py,pz}`` [MeV], ``prod_{x,y,z}`` and ``int_{x,y,z}`` [cm],
    ``target`` (6 = C-12, 1 = proton, 0 = decay), ``t`` [MeV²], ``p1_*``/``p2_*`` (photon or
    decay products / e⁻, e⁺) [MeV], ``shower_e`` [MeV] (iDM also ``chip_*``, ``decay_*`` and the
    reweighting inputs); reconstructed — ``e_true``, ``e_vis``, ``cos_theta``, ``e_qe``,
    ``efficiency``; ``weight`` [events/POT]; ``meson_index`` (int64): row of the originating
    meson in the meson sample (the π⁰ / η / π±,K± groups are concatenated, so it is unique
    across groups), which makes the MC errors meson-clustered
    (:mod:`mesonportal.analysis.prediction`).  ``info`` holds the stage bookkeeping (weights per
    POT removed at each step), events per process for the exposure, timings, seed and version.

    A closed or invisible model point (e.g. closed production channel, χ′ that never decays)
    gives a ``UserWarning`` and a zero prediction, not an error.
    """
    from mesonportal.experiments.config import check_mode
    from mesonportal.pipeline import SAMPLES_MAX, check_samples, resolve_experiment, stage_rng

    t0 = time.perf_counter()
    exp = resolve_experiment(experiment)
    check_mode(exp, mode)
    family = _family(model)
    if criterion not in SHOWER_CRITERIA:
        raise ParameterError(f"criterion = {criterion!r}; allowed: {', '.join(SHOWER_CRITERIA)}")
    defaults = DEFAULT_SAMPLES_STOPPED if getattr(exp, "source_type", "horn") == "stopped" else DEFAULT_SAMPLES
    if samples is not None:
        check_samples(samples, maximum=SAMPLES_MAX)
    target = resolve_target(exp, model, samples, allocation, target_mc_error)
    samples = check_samples(defaults[family] if samples is None else samples, maximum=SAMPLES_MAX)
    npm = check_samples(DEFAULT_N_PER_MESON[family] if n_per_meson is None else n_per_meson, "n_per_meson")
    if not isinstance(dirt, bool):
        raise ParameterError(f"dirt = {dirt!r} must be True or False")
    from mesonportal.responses.technology import response_for

    response = response_for(exp.detector, criterion)
    mesons = meson_sample(exp, mode, model, samples, seed, progress, allocation,
                          n_per_meson=npm, criterion=criterion, decays=decays, smear=smear, dirt=dirt,
                          target_mc_error=target, strata=strata)
    alloc = getattr(mesons, "allocation", None)
    _warn_small_samples(model, samples, alloc)
    t1 = time.perf_counter()
    rng = stage_rng(seed, "darkchain")
    res = _run_chain(exp, mode, model, mesons, rng, npm, criterion, decays, smear, response=response, dirt=dirt)
    if family == "scalar":
        x_ref = float(model.coupling_product)
        units = getattr(model, "coupling_units", "MeV^-1 (g_mu g_n lam)")
    else:
        x_ref = float(model.coupling_product())
        units = "eps1 eps2 gp2^2/(4 pi)" if model.is_double else "eps1^2 gp1^2/(4 pi)"
    t2 = time.perf_counter()
    cols = res.columns
    if "meson_index" in cols and len(mesons):
        # whether the dark particle's parent meson decayed at rest (signal split, dump verdict)
        mi = np.asarray(cols["meson_index"], np.int64)
        at_rest = mesons.momentum == 0.0
        cols["parent_at_rest"] = at_rest[np.clip(mi, 0, len(mesons) - 1)] if len(mi) else np.zeros(0, bool)
    w = cols["weight"]
    pot = exp.pot(mode)
    weight_fn = res.weight_fn
    info: dict[str, Any] = {
        "stages_per_pot": res.info,
        "samples": samples if alloc is None or target is None else alloc.total,
        "target_mc_error": target,
        "samples_rule": ("chosen from the pilot for target_mc_error (at most the default samples = "
                         f"{samples})" if target is not None else "fixed samples"),
        "allocation": alloc.describe() if alloc is not None else {"method": "even"},
        "primaries_per_species": primaries_per_species(model, samples, alloc),
        "n_per_meson": npm,
        "seed": int(seed),
        "criterion": criterion if exp.detector.technology == "cherenkov-oil" else None,
        "version": __version__,
        "n_events_mc": int(len(w)),
        "meson_rows": int(len(mesons)),
        "timing_s": {"mesons": t1 - t0, "chain": t2 - t1, "total": t2 - t0},
    }
    det = exp.detector
    dirt_included = bool(res.info.get("dirt_included", False))
    info["detector"] = {"shape": det.shape, "medium": det.medium, "technology": det.technology,
                        "bound_nucleons": bool(det.bound_nucleons), "dirt": det.dirt is not None,
                        "response": response.name,
                        "origin_cm": np.asarray(det.origin_cm if det.origin_cm is not None else det.center_cm,
                                                float).tolist(),
                        "rotation": (np.asarray(det.rotation, float) if det.rotation is not None
                                     else np.eye(3)).tolist()}
    info["response"] = response.describe()
    info["conventions"] = {
        "dirt": dirt_included,
        "dirt_note": ("chi up-scattering in the upstream dirt volume included" if dirt_included else
                      ("dirt excluded (dirt=False)" if det.dirt is not None and family == "idm" else
                       "no dirt contribution (no [detector.dirt] volume or not an inelastic-DM model)")),
        "response": response.name,
        "criterion": criterion if det.technology == "cherenkov-oil" else None,
        "smear": bool(smear),
        "decays": bool(decays) if family == "scalar" else None,
    }
    if "region" in cols:
        reg = cols["region"]
        info["events_by_region"] = {"detector": float(np.sum(w[reg == 0]) * exp.pot(mode)),
                                    "dirt": float(np.sum(w[reg == 1]) * exp.pot(mode))}
    if det.technology == "scintillator":
        resp = det.response
        info["detector"]["response"] = resp.describe()
        info["source_type"] = exp.source_type
        info.update(_scintillator_outputs(cols, res.weight_fn, pot, resp))
    if family == "scalar":
        proc = cols.get("process", np.zeros(0, np.int64))
        info["events_by_process"] = {k: float(np.sum(w[proc == c]) * pot) for k, c in PROCESS_CODES.items()
                                     if k != "upscatter_chi_ee"}
        has_decays = bool(np.any((proc != PROCESS_CODES["primakoff"]) & (w > 0)))
        info["coupling_scaling"] = ("Primakoff events scale as (x/x_ref)^2 (x = " + units.split("(")[-1].rstrip(")")
                                    + " varied through lam at fixed production and nucleon couplings); X decays "
                                    "inside the detector do not depend on lam and stay fixed")
        if has_decays:
            weight_fn = _scalar_weight_fn(w, proc == PROCESS_CODES["primakoff"], x_ref)
    else:
        info["coupling_scaling"] = ("x rescales " + ("gp2" if model.is_double else "gp1") + "; per-event "
                                    "reweighting of BR(V->chi), up-scattering rate, chi' lifetime and BR")
    if not np.any(w > 0):
        reason = _zero_reason(res.info, family)
        warnings.warn(f"the prediction for model {model.name!r} in {exp.name} {mode} mode is identically zero "
                      f"({reason})", UserWarning, stacklevel=2)
        info["zero_signal_reason"] = reason
    return SignalSample(
        experiment=exp.name, mode=mode, pot=pot, model=model.describe(), coupling_product_ref=x_ref,
        coupling_units=units, columns=cols, weight_fn=weight_fn, info=info,
    )


#: Fewer primary mesons than this for a contributing species makes its MC error estimate
#: unreliable (a warning names ``samples`` / ``allocation``).
MIN_PRIMARIES_PER_SPECIES = 100


def primaries_per_species(model, samples: int, alloc) -> dict[int, int]:
    """Sampled primary mesons per species (the strata sizes of the MC error estimator,
    :mod:`mesonportal.analysis.prediction`) for ``alloc`` (None = "even")."""
    if alloc is not None:
        return {int(s): int(n) for s, n in zip(alloc.species, alloc.primaries) if n > 0}
    if _family(model) == "scalar" and not _neutral_channels(model):
        return {s: max(1, samples // len(SCALAR_MESONS)) for s in SCALAR_MESONS}
    return {s: max(1, max(samples // frac, len(sp)) // len(sp)) for sp, frac in IDM_GROUPS for s in sp}


def _warn_small_samples(model, samples: int, alloc) -> None:
    from mesonportal.analysis.allocation import contributing_species

    family = _family(model)
    per = primaries_per_species(model, samples, alloc)
    contrib = contributing_species(model, FAMILY_SPECIES[family])
    low = [s for s in contrib if per.get(s, 0) < MIN_PRIMARIES_PER_SPECIES]
    if low:
        warnings.warn(f"samples = {samples} gives fewer than {MIN_PRIMARIES_PER_SPECIES} primary mesons to "
                      f"{len(low)} contributing species (allocation "
                      f"{'even' if alloc is None else alloc.method}); the MC error estimate is unreliable — "
                      "increase --samples", UserWarning, stacklevel=3)


#: bins of the visible-energy spectrum of scintillator detectors over their analysis window
N_SPECTRUM_BINS = 40


def _scintillator_outputs(cols, weight_fn, pot: float, resp) -> dict[str, Any]:
    """``events_by_topology`` ({"em": events}) and ``energy_spectrum`` (visible energy over the
    detector's window, events per bin for the exposure with the MC statistical error) at the
    reference coupling.  E_QE is not reconstructed by a scintillator (``e_qe`` = ``e_vis``)."""
    w = np.asarray(cols["weight"], float) * pot
    edges = np.linspace(resp.window_lo_mev, resp.window_hi_mev, N_SPECTRUM_BINS + 1)
    ev = np.asarray(cols.get("e_vis", np.zeros(0)), float)
    counts, _ = np.histogram(ev, edges, weights=w)
    sumw2, _ = np.histogram(ev, edges, weights=w * w)
    return {"events_by_topology": {"em": float(np.sum(w))},
            "energy_spectrum": {"observable": "e_vis", "units": "MeV", "edges": edges.tolist(),
                                "counts": counts.tolist(), "mc_stat_error": np.sqrt(sumw2).tolist()}}


def _scalar_weight_fn(w: np.ndarray, is_primakoff: np.ndarray, x_ref: float):
    """Weights at coupling product x: Primakoff × (x/x_ref)², decays unchanged."""
    w = np.asarray(w, float).copy()
    prim = np.asarray(is_primakoff, bool).copy()

    def weights(x: float) -> np.ndarray:
        scale = (float(x) / x_ref) ** 2 if x_ref != 0.0 else 0.0
        return np.where(prim, w * scale, w)

    return weights


def _zero_reason(info: dict, family: str) -> str:
    chans = info.get("channels", {})
    if chans and all(c.get("produced_per_pot", 0.0) <= 0.0 for c in chans.values()):
        return "no open production channel (closed or zero coupling)"
    if info.get("at_detector_per_pot", 0.0) <= 0.0:
        return "no dark particle reaches the detector"
    if family == "idm":
        cp = info.get("chi_prime", {})
        if not math.isfinite(cp.get("ctau_cm", math.inf)) or cp.get("br_chi_ee", 0.0) <= 0.0:
            return "chi' never decays to chi e+ e- (infinite lifetime or zero visible branching ratio)"
        if info.get("upscatterings_per_pot", 0.0) <= 0.0:
            return "no up-scattering (zero coupling or below threshold)"
    elif info.get("primakoff_interactions_per_pot", 0.0) <= 0.0 and info.get("decays_inside_visible_per_pot", 0.0) <= 0.0:
        return "zero detection cross section and no visible decays"
    return "no event passes the detection chain"
