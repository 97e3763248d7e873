"""Benchmark: stratified thinning vs species-only allocation, per benchmark (JSON on stdout).

For each benchmark and seed, in one process and interleaved (paired on a loaded machine), ν
mode by default, meson cache warm (an untimed prediction of each seed first fills it):

* ``species``: importance allocation between species, size chosen for ``--target`` (the rule of
  0.3.0: ``strata="species"``);
* ``momentum-angle``: the same plus the thinning per species × |p| × angle-to-detector stratum
  (:mod:`mesonportal.analysis.strata`; opt-in, `--strata momentum-angle`);
* for iDM also ``even``: the iDM default (fixed groups, ``DEFAULT_SAMPLES``; no pilot).

Reported per variant (medians over seeds): the time of a model point never seen (pilot
included, allocations forgotten) and with the allocation cached, primaries simulated, meson
rows that ran the chain, MC events, relative MC error of ``events_200_1250`` and the MC efficiency
1/(rel_err² × time) [1/s]; and the paired ratio momentum-angle / species of the efficiency.

Usage: ``python benchmarks/bench_strata.py [--benchmarks scalar,pseudoscalar,idm-double,idm-single]
[--seeds 3] [--seed0 500] [--mode nu] [--target 0.02]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings


def _one(bench, mode, seed, variant, target):
    import mesonportal.analysis.allocation as al
    import mesonportal.analysis.predict as P
    from mesonportal.models.registry import load_benchmark

    m = load_benchmark(bench)
    kw = ({"allocation": "even"} if variant == "even" else
          {"allocation": "importance", "target_mc_error": target, "strata": variant})
    P._ALLOCATIONS.clear()
    al._SPECIES_MEMO.clear()
    al._BLOCK_STRATA_MEMO.clear()
    from mesonportal.cache import cache_dir
    import shutil

    shutil.rmtree(cache_dir() / "allocations", ignore_errors=True)
    t0 = time.perf_counter()
    s = P.predict_signal("miniboone", mode, m, seed=seed, **kw)
    t1 = time.perf_counter()
    s = P.predict_signal("miniboone", mode, m, seed=seed, **kw)
    t2 = time.perf_counter()
    tot = s.totals()
    ev, er = tot["events_200_1250"], tot["mc_stat_error_200_1250"]
    rel = er / ev if ev else float("nan")
    return {"time_new_point_s": t1 - t0, "time_cached_s": t2 - t1, "primaries": s.info["samples"],
            "chain_meson_rows": int(s.info.get("meson_rows", -1)), "mc_events": s.info["n_events_mc"],
            "events_200_1250": ev, "rel_mc_error": rel,
            "efficiency_new_point": 1.0 / (rel * rel * (t1 - t0)), "efficiency_cached": 1.0 / (rel * rel * (t2 - t1))}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmarks", default="scalar,pseudoscalar,idm-double,idm-single")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed0", type=int, default=500)
    ap.add_argument("--mode", default="nu")
    ap.add_argument("--target", type=float, default=0.02)
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    out = {"benchmark": "strata", "mode": a.mode, "target_mc_error": a.target,
           "seeds": [a.seed0, a.seed0 + a.seeds - 1], "loadavg_before": os.getloadavg(), "results": {}}
    for b in a.benchmarks.split(","):
        variants = ["species", "momentum-angle"] + (["even"] if b.startswith("idm") else [])
        runs = {v: [] for v in variants}
        for seed in range(a.seed0, a.seed0 + a.seeds):
            for v in variants:  # warm: meson blocks of this seed for every variant (not timed)
                _one(b, a.mode, seed, v, a.target)
            for v in variants:
                runs[v].append(_one(b, a.mode, seed, v, a.target))
        res = {}
        for v, rs in runs.items():
            res[v] = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            res[v]["rel_mc_error_max"] = max(r["rel_mc_error"] for r in rs)
        ratios = [r1["efficiency_cached"] / r0["efficiency_cached"] for r0, r1 in zip(runs["species"], runs["momentum-angle"])]
        ratios_p = [r1["efficiency_new_point"] / r0["efficiency_new_point"]
                    for r0, r1 in zip(runs["species"], runs["momentum-angle"])]
        res["efficiency_ratio_cached"] = statistics.median(ratios)
        res["efficiency_ratio_new_point"] = statistics.median(ratios_p)
        out["results"][b] = res
        print(json.dumps({b: res}), file=sys.stderr)
    out["loadavg_after"] = os.getloadavg()
    return out


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=1)
    print()
