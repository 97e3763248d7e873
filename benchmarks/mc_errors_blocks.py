"""Block-replica check of the quoted MC error (issue #10), no seed ensemble needed. Prints JSON.

A prediction's meson sample is made of independent cached blocks (``TARGET_BLOCK`` = 2 500
primaries each, own ``meson_rng`` streams; thinning draws a fixed function of the block).  So the
spread of the k block totals of one species estimates the variance of its total, k·Var(block
totals), independently of the meson clustering and within-species centring of the quoted error
(docs/mc_errors.md §1).  For each seed the script gives the ratio (block variance / quoted
variance) of ``events_200_1250`` (or all events with ``--all``), summed over the species; the mean
over seeds should be compatible with 1 (each ratio is noisy: ≈ sqrt(2/k) relative).

Usage::

    python benchmarks/mc_errors_blocks.py --benchmark pseudoscalar --mode nu --seeds 48 --seed0 9400 \\
        [--strata momentum-angle|species] [--coupling X] [--all]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings

import numpy as np


def one_seed(bench: str, mode: str, seed: int, strata: str, coupling: float | None, all_events: bool) -> dict:
    """Quoted and block-replica variances of one prediction (default target MC error)."""
    import mesonportal.analysis.predict as P
    from mesonportal.analysis import allocation as al
    from mesonportal.analysis import strata as stt
    from mesonportal.analysis.prediction import EXCESS_WINDOW_MEV, clustered_histogram_w2
    from mesonportal.api import _experiment
    from mesonportal.cache import source_fingerprint
    from mesonportal.models.registry import load_benchmark

    exp, m = _experiment("miniboone"), load_benchmark(bench)
    fp = source_fingerprint(exp, mode)
    s = P.predict_signal("miniboone", mode, m, seed=seed, strata=strata)
    alloc = P.resolve_allocation(exp, mode, m, P.default_samples(m), seed, "importance",
                                 target_mc_error=s.info.get("target_mc_error"), strata=strata)
    keep = {h: np.asarray(q, float) for h, q in zip(alloc.species, alloc.keep) if q} if alloc.keep else {}
    prim = {int(k): int(v) for k, v in s.info["primaries_per_species"].items()}
    lo, hi = (-math.inf, math.inf) if all_events else EXCESS_WINDOW_MEV
    w = s.weights(coupling) * s.pot
    sel = (s.columns["e_qe"] >= lo) & (s.columns["e_qe"] < hi)
    mi, pp = s.columns["meson_index"], s.columns["parent_pdg"]
    # rows of the assembled sample: species in allocation order, each species' blocks in order
    # (thinned blocks: the rows whose fixed uniform is below the keep probability of their stratum)
    centre = np.asarray(exp.detector.center_cm, float)
    starts, owner, off = [], [], 0
    for h, n in zip(alloc.species, alloc.primaries):
        for j in range(n // alloc.block):
            arr = al.cached_block(exp, mode, alloc.block, seed, h, j, fp)
            if h in keep and keep[h].min() < 1.0:
                st = stt.stratum_of(arr["p4"], arr["vertex"], centre)
                n_rows = int(np.count_nonzero(stt.block_uniforms(seed, h, j, len(arr)) < keep[h][st]))
            else:
                n_rows = len(arr)
            starts.append(off)
            owner.append(int(h))
            off += n_rows
    if off != s.info["meson_rows"]:
        raise RuntimeError(f"block bookkeeping: {off} rows vs {s.info['meson_rows']}")
    bid = np.searchsorted(np.asarray(starts), mi, side="right") - 1
    owner = np.asarray(owner)
    per = {}
    for h in np.unique(owner):
        ids = np.flatnonzero(owner == h)
        tot_b = np.bincount(bid[sel], weights=w[sel], minlength=len(owner))[ids]
        mk = sel & (pp == h)
        vq = float(clustered_histogram_w2(w[mk], np.zeros(int(mk.sum()), np.int64), 1, mi[mk], pp[mk],
                                          {int(h): prim[int(h)]})[0])
        vb = float(len(ids) * np.var(tot_b, ddof=1)) if len(ids) > 1 else 0.0
        per[str(int(h))] = {"blocks": int(len(ids)), "var_blocks": vb, "var_quoted": vq}
    vq = sum(p["var_quoted"] for p in per.values() if p["blocks"] > 1)
    vb = sum(p["var_blocks"] for p in per.values() if p["blocks"] > 1)
    return {"seed": seed, "total": float(w[sel].sum()), "var_quoted": vq, "var_blocks": vb,
            "ratio": vb / vq if vq > 0 else math.nan, "species": per}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", default="scalar")
    ap.add_argument("--mode", default="nu")
    ap.add_argument("--seeds", type=int, default=24)
    ap.add_argument("--seed0", type=int, default=9400)
    ap.add_argument("--strata", default="momentum-angle")
    ap.add_argument("--coupling", type=float, default=None)
    ap.add_argument("--all", action="store_true", help="all events instead of the 200-1250 MeV window")
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    runs = [one_seed(a.benchmark, a.mode, s, a.strata, a.coupling, a.all) for s in range(a.seed0, a.seed0 + a.seeds)]
    r = np.array([x["ratio"] for x in runs])
    return {"benchmark": "mc_errors_blocks", "bench": a.benchmark, "mode": a.mode, "strata": a.strata,
            "quantity": "events_total" if a.all else "events_200_1250", "seeds": [a.seed0, a.seed0 + a.seeds - 1],
            "mean_ratio_blocks_over_quoted": float(r.mean()),
            "error_of_mean": float(r.std(ddof=1) / math.sqrt(len(r))) if len(r) > 1 else math.nan,
            "median_ratio": float(np.median(r)), "runs": runs}


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=1)
    print()
