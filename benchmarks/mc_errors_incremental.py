"""Seed-ensemble validation, incremental: like ``mc_errors.py`` but every finished prediction is
appended to a JSON-lines file at once, and ``--summarise`` computes the pull widths of whatever
has finished (useful on a loaded machine, where a 24-seed ensemble with cold meson samples takes
an hour).  Benchmarks are interleaved seed by seed, so a partial ensemble has equal seeds.

Usage::

    python benchmarks/mc_errors_incremental.py --seeds 24 --seed0 9100 --benchmarks scalar,pseudoscalar \\
        --out runs.jsonl [--jobs 2] [--coupling scalar=3.1e-9]
    python benchmarks/mc_errors_incremental.py --summarise runs.jsonl
    python benchmarks/mc_errors_incremental.py --pool runs_9300.jsonl,runs_9400.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mc_errors  # noqa: E402


def pooled(files: list[Path]) -> dict:
    """Pull widths of ``events_200_1250``, all events and the E_QE bins with ≥ 5 % of the signal,
    pooled over the ensembles in ``files`` (per benchmark, mode and strata rule): the spread is
    sqrt(Σ_e Σ_s (x − x̄_e)² / Σ_e (n_e − 1)), each ensemble about its own mean, over the mean
    quoted error of all seeds; 68 % interval from χ²(Σ_e (n_e − 1))."""
    import math

    import numpy as np
    from scipy.stats import chi2

    ens: dict[tuple, list[list[dict]]] = {}
    for f in files:
        runs = [json.loads(x) for x in f.read_text().splitlines() if x.strip()]
        keys = sorted({(r["bench"], r["mode"], r.get("strata") or "") for r in runs})
        for k in keys:
            ens.setdefault(k, []).append([r for r in runs if (r["bench"], r["mode"], r.get("strata") or "") == k])

    def pull(groups, get_v, get_e):
        ss = dof = 0.0
        errs = []
        for g in groups:
            v = np.array([get_v(r) for r in g])
            ss += float(np.sum((v - v.mean()) ** 2))
            dof += len(v) - 1
            errs += [get_e(r) for r in g]
        w = math.sqrt(ss / dof) / float(np.mean(errs))
        return {"pull_width": w, "pull_width_68cl": [w * math.sqrt(dof / chi2.ppf(0.84, dof)),
                                                     w * math.sqrt(dof / chi2.ppf(0.16, dof))]}

    out = []
    for (b, mode, st), groups in sorted(ens.items()):
        counts = np.concatenate([np.array([r["eqe_counts"] for r in g]) for g in groups])
        frac = counts.mean(0) / counts.mean(0).sum()
        res = {"benchmark": b, "mode": mode, "strata": st or "default", "n_seeds": sum(len(g) for g in groups),
               "events_200_1250": pull(groups, lambda r: r["events_200_1250"], lambda r: r["err_200_1250"]),
               "events_total": pull(groups, lambda r: r["events_total"], lambda r: r["err_total"]),
               "eqe_bins": [{"bin": int(i), "signal_fraction": float(frac[i]),
                             **pull(groups, lambda r, i=i: r["eqe_counts"][i], lambda r, i=i: r["eqe_err"][i])}
                            for i in np.nonzero(frac >= mc_errors.BIN_FRACTION)[0]]}
        if all(r.get("at_coupling") for g in groups for r in g):
            res["at_coupling_events_200_1250"] = pull(groups, lambda r: r["at_coupling"]["events_200_1250"],
                                                      lambda r: r["at_coupling"]["err_200_1250"])
        out.append(res)
    return {"benchmark": "mc_errors_pooled", "files": [str(f) for f in files], "results": out}


def main(argv=None) -> dict | None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=24)
    ap.add_argument("--seed0", type=int, default=9100)
    ap.add_argument("--mode", default="nu")
    ap.add_argument("--benchmarks", default="scalar,pseudoscalar")
    ap.add_argument("--allocation", default="importance")
    ap.add_argument("--coupling", default="", help="comma list bench=X: also evaluate reweighted to X")
    ap.add_argument("--strata", default="", help="comma list of strata rules to run per seed "
                    "(e.g. species,momentum-angle; empty: the package default)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--summarise", default=None, metavar="JSONL")
    ap.add_argument("--pool", default=None, metavar="JSONL,JSONL,...",
                    help="pull widths pooled over several ensembles (seed ranges), each about its own mean")
    a = ap.parse_args(argv)
    if a.pool:
        return pooled([Path(f) for f in a.pool.split(",") if f])
    if a.summarise:
        runs = [json.loads(x) for x in Path(a.summarise).read_text().splitlines() if x.strip()]
        out = []
        for b, st in sorted({(r["bench"], r.get("strata") or "") for r in runs}):
            rs = sorted((r for r in runs if r["bench"] == b and (r.get("strata") or "") == st),
                        key=lambda r: r["seed"])
            seeds = [r["seed"] for r in rs]
            s = mc_errors.summarise(b, rs[0]["mode"], seeds, None, a.allocation, rs, None,
                                    rs[0].get("coupling"))
            s["seeds"] = seeds
            s["strata"] = st or "default"
            s["quoted_rel_error_max"] = max(r["err_200_1250"] / r["events_200_1250"] for r in rs)
            s["fraction_quoted_le_target"] = sum(r["err_200_1250"] / r["events_200_1250"] <= 0.02 for r in rs) / len(rs)
            s["samples_used"] = [min(r["samples_used"] for r in rs), max(r["samples_used"] for r in rs)]
            s.pop("runs")
            out.append(s)
        return {"benchmark": "mc_errors", "target_pull_width": [0.8, 1.25], "results": out}
    coup = {k: float(v) for k, v in (x.split("=") for x in a.coupling.split(",") if x)}
    stl = [x for x in a.strata.split(",") if x] or [None]
    tasks = [(b, a.mode, s, None, a.allocation, None, coup.get(b), "miniboone", False, st)
             for s in range(a.seed0, a.seed0 + a.seeds) for b in a.benchmarks.split(",") for st in stl]
    with open(a.out, "a") as fh, ProcessPoolExecutor(a.jobs) as ex:
        futs = {ex.submit(mc_errors.one, t): t for t in tasks}
        for f in as_completed(futs):
            t = futs[f]
            r = f.result()
            r.update(bench=t[0], mode=t[1], coupling=t[6], strata=t[9])
            fh.write(json.dumps(r) + "\n")
            fh.flush()
    return None


if __name__ == "__main__":
    res = main()
    if res is not None:
        json.dump(res, sys.stdout, indent=1)
        print()
