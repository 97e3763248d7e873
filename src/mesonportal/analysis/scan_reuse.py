"""Allocation reuse across the mass points of a scan (issue #10).

A prediction with the importance allocation (:func:`mesonportal.analysis.predict.resolve_allocation`)
runs a pilot (5 000 primaries per species and mode, ≈ 15 % of a mass point) to choose the
species shares, the sample size for the target MC error and, with ``strata="momentum-angle"``,
the keep probabilities.  **Any** allocation gives an unbiased estimate (each species is a stratum
with its own exact normalisation; thinned rows carry weight ÷ keep probability), so a scan's mass
point may take its allocation from another mass point of the same scan — its **anchor** — and
skip its own pilot.  Only whether the MC-error target is met can change, so it is verified on the
prediction itself:

1. **Anchor rule** (a deterministic function of the grid, never of evaluation order, so serial
   and Dask runs give bitwise-identical rows): ``every:K`` — along every mass axis the anchors are
   the grid values with index 0, K, 2K, … (every K-th value; LOG axes: every K-th mass in log m),
   and a point's anchor is the nearest anchor at or below it (index ``K·⌊i/K⌋`` on each axis).
   ``none``: every point runs its own pilot and nothing is verified (the rule of 0.4.0).
2. **Verification** (every point under a reuse rule, anchors included): the achieved relative
   MC error of each signal component — long-lived X: conversions (∝ x²) and decays inside the
   detector (fixed) separately, which bounds the error at every coupling product; idm and others:
   all events — of the events in the target window (ν, ν̄: E_QE 200–1250 MeV; dump: all events),
   meson-clustered and stratified as the prediction quotes it
   (:meth:`mesonportal.analysis.prediction.SignalSample._var`).
3. **Top-up** if the largest exceeds the target: the same shares (and keep probabilities), the
   total scaled by (error / (margin × target))² in whole blocks, at most the cap of the
   allocation (the default sample size, :data:`mesonportal.analysis.predict.DEFAULT_SAMPLES`).
   A reused allocation whose top-up would exceed the cap (its shares are off for this mass), or
   that still exceeds the target after the top-up, is replaced by the point's own pilot (the
   ``none`` prediction, itself topped up if needed); the point keeps the prediction with the
   smallest error.  Where even the cap cannot reach the target the point is flagged
   (``mc_error_target_met_*`` False), as without reuse.

Reuse applies to predictions with a target MC error (the importance allocation's default for
long-lived X at horn beams, ``samples`` not given); for fixed ``samples`` or the ``even``
allocation (iDM default) there is no pilot to reuse and the rule has no effect (stated per row).
Also a mass point whose contributing meson species are not all sampled by its anchor's
allocation (a channel that opens between the anchor and the point) runs its own pilot.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import numpy as np

from mesonportal.exceptions import ParameterError

__all__ = ["REUSE_NONE", "DEFAULT_ALLOCATION_REUSE", "check_allocation_reuse", "reuse_stride", "anchor_point",
           "achieved_rel_errors", "predict_mode", "describe_rule"]

REUSE_NONE = "none"
#: Default rule of a scan (``mesonportal scan --allocation-reuse``): every 4th mass is an anchor
#: (docs/scans.md: measured on the Quick-start scan).
DEFAULT_ALLOCATION_REUSE = "every:4"
_EVERY = re.compile(r"^every:(\d+)$")
#: Largest K of ``every:K``.
MAX_STRIDE = 10_000


def check_allocation_reuse(rule: str | None) -> str:
    """Canonical form of an allocation-reuse rule (None → :data:`DEFAULT_ALLOCATION_REUSE`);
    ParameterError naming the option otherwise."""
    if rule is None:
        return DEFAULT_ALLOCATION_REUSE
    text = str(rule).strip().lower()
    if text == REUSE_NONE:
        return REUSE_NONE
    m = _EVERY.match(text)
    if not m or not 1 <= int(m.group(1)) <= MAX_STRIDE:
        raise ParameterError(f"--allocation-reuse = {rule!r}; allowed: 'none' or 'every:K' with K an integer in "
                             f"[1, {MAX_STRIDE}] (every K-th mass of each mass axis is an anchor)")
    return f"every:{int(m.group(1))}"


def reuse_stride(rule: str) -> int | None:
    """K of ``every:K`` (None for ``none``)."""
    rule = check_allocation_reuse(rule)
    return None if rule == REUSE_NONE else int(rule.split(":")[1])


def describe_rule(rule: str) -> str:
    """One-line statement of ``rule`` (scan metadata and rows)."""
    k = reuse_stride(rule)
    if k is None:
        return "none: every mass point runs its own pilot (MC error not verified)"
    return (f"every:{k}: mass points take the allocation of the nearest anchor at or below them (every {k}-th "
            "value of each mass axis, from the first); every point's achieved MC error is verified, topped up or "
            "its own pilot run if above the target")


def anchor_point(spec, point):
    """The anchor :class:`~mesonportal.analysis.scan.MassPoint` of ``point`` under
    ``spec.allocation_reuse`` (``point`` itself for ``none`` and for anchors)."""
    k = reuse_stride(spec.allocation_reuse)
    if k is None or k == 1:
        return point
    from mesonportal.analysis.scan import MassPoint

    axes = spec.mass_axes
    sizes = [len(a) for a in axes]
    # row-major position of `point` on each mass axis
    idx, rest = [], point.index
    for n in reversed(sizes):
        idx.append(rest % n)
        rest //= n
    idx.reverse()
    aidx = [k * (i // k) for i in idx]
    flat = 0
    for i, n in zip(aidx, sizes):
        flat = flat * n + i
    return MassPoint(flat, {a.name: a.values[i] for a, i in zip(axes, aidx)})


def achieved_rel_errors(sig, mode: str) -> dict[str, float]:
    """Relative MC error of the events in the target window of ``mode`` per signal component
    (module docstring, 2.), for the components with events; {} for an empty prediction."""
    from mesonportal.analysis.predict import TARGET_WINDOW_MEV
    from mesonportal.analysis.prediction import EXCESS_WINDOW_MEV
    from mesonportal.detection.signal import PROCESS_CODES

    cols = sig.columns
    w = np.asarray(cols["weight"], np.float64)
    if len(w) == 0:
        return {}
    lo, hi = TARGET_WINDOW_MEV.get(mode, EXCESS_WINDOW_MEV)
    eqe = np.asarray(cols["e_qe"], np.float64)
    inwin = (eqe >= lo) & (eqe < hi)
    comps = {"all": inwin}
    if "process" in cols and sig.info.get("coupling_scaling", "").startswith("Primakoff"):
        prim = np.asarray(cols["process"]) == PROCESS_CODES["primakoff"]
        comps = {"conversion": inwin & prim, "decay": inwin & ~prim}
    zero = np.zeros(len(w), np.int64)
    out = {}
    for name, sel in comps.items():
        tot = float(np.sum(w[sel]))
        if tot > 0.0:
            out[name] = math.sqrt(float(sig._var(w, zero, 1, sel)[0])) / tot
    return out


def _max_err(errs: dict[str, float]) -> float:
    return max(errs.values(), default=0.0)


def _scaled(alloc, factor: float, cap: int):
    """``alloc`` with every sampled species' primaries × ``factor`` in whole blocks (at least
    one more block each), total at most ``cap`` (None if no larger allocation fits)."""
    b = alloc.block
    new = [0 if n <= 0 else int(math.ceil(n * factor / b)) * b for n in alloc.primaries]
    new = [max(m, n + b) if n > 0 else 0 for m, n in zip(new, alloc.primaries)]
    if sum(new) > cap:
        f = cap / sum(new)
        new = [0 if n <= 0 else max(b, int(m * f) // b * b) for m, n in zip(new, alloc.primaries)]
    if sum(new) <= alloc.total:
        return None
    return dataclasses.replace(alloc, primaries=tuple(new), method=alloc.method + " (topped up)")


def predict_mode(exp, mode: str, model, anchor_model, *, seed: int, strata: str | None, predictor,
                 reused: bool) -> tuple[Any, dict[str, Any]]:
    """Prediction of ``mode`` for ``model`` with the allocation of ``anchor_model`` (``reused``:
    the point is not its own anchor), verified and if needed topped up (module docstring).
    Returns (SignalSample, bookkeeping: ``source``, ``rel_error``, ``target_met``)."""
    from mesonportal.analysis import allocation as al
    from mesonportal.analysis.predict import (
        DEFAULT_SAMPLES,
        FAMILY_SPECIES,
        _family,
        resolve_allocation,
        resolve_target,
    )

    family = _family(model)
    target = resolve_target(exp, model, None, None, None)
    kw = {} if strata is None else {"strata": strata}
    if target is None:  # fixed samples / even allocation: no pilot to reuse, nothing to verify
        sig = predictor(exp, mode, model, samples=None, seed=seed, progress=False, **kw)
        return sig, {"source": "no pilot (fixed samples)", "rel_error": _max_err(achieved_rel_errors(sig, mode)),
                     "target_met": None}
    samples = DEFAULT_SAMPLES[family]
    own = True
    alloc = None
    if reused:
        alloc = resolve_allocation(exp, mode, anchor_model, samples, seed, None, target_mc_error=target,
                                   strata=strata)
        per = dict(zip(alloc.species, alloc.primaries))
        if all(per.get(s, 0) > 0 for s in al.contributing_species(model, FAMILY_SPECIES[family])):
            own = False
    if own:
        sig = predictor(exp, mode, model, samples=None, seed=seed, progress=False, **kw)
        # the allocation the prediction used (memoised in process: no second pilot)
        alloc = resolve_allocation(exp, mode, model, samples, seed, None, target_mc_error=target, strata=strata)
        source = "own pilot"
    else:
        sig = predictor(exp, mode, model, samples=None, seed=seed, progress=False, allocation=alloc, **kw)
        source = "anchor"
    err = _max_err(achieved_rel_errors(sig, mode))
    if err > target:
        cap = int(alloc.pilot.get("samples_cap", samples))
        factor = (err / (al.TARGET_MARGIN * target)) ** 2
        # a reused allocation that would need more than the cap: the shares are off for this
        # mass — its own pilot directly
        bigger = None if (not own and alloc.total * factor > cap) else _scaled(alloc, factor, cap)
        if bigger is not None:
            sig2 = predictor(exp, mode, model, samples=None, seed=seed, progress=False, allocation=bigger, **kw)
            err2 = _max_err(achieved_rel_errors(sig2, mode))
            if err2 < err:
                sig, err, source = sig2, err2, source + " + top-up"
        if err > target and not own:
            sig3, c3 = predict_mode(exp, mode, model, model, seed=seed, strata=strata, predictor=predictor,
                                    reused=False)
            if c3["rel_error"] < err:
                sig, err = sig3, c3["rel_error"]
                source = c3["source"].replace("own pilot", "own pilot (anchor above target)")
    return sig, {"source": source, "rel_error": err, "target_met": bool(err <= target)}
