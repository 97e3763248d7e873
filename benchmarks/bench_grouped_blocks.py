"""Benchmark: meson blocks (the cached blocks of the importance allocation) simulated one by one vs
several together with shared horn tracking (``sources/grouped.py``, issue #10). Prints JSON.

1. Identity: ``--blocks`` blocks per (mode, species) — ν and ν̄ × π±/K±, dump × π±/K± — grouped
   and one by one, every column compared with ``tobytes()``; with ``--reference-src DIR`` (the
   ``src`` directory of a previous implementation, e.g. ``git archive`` of main) the one-by-one
   blocks are made by that implementation in a subprocess.
2. CPU per block (``time.process_time``), one by one vs grouped, the same blocks, alternated
   ``--pairs`` times in this process (paired: a loaded machine slows both alike).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

COLUMNS = ("p4", "vertex", "pdgid", "weight", "parent")
SPECIES = (211, -211, 321, -321)
MODES = ("nu", "nubar", "dump")


def _jobs(blocks: int) -> list[tuple[str, int, int]]:
    return [(m, p, b) for m in MODES for p in SPECIES for b in range(blocks)]


def dump_one_by_one(path: str, n: int, blocks: int, seed: int) -> None:
    """Write the blocks made one by one (``simulate_mesons``, the cache's streams) to ``path`` (.npz);
    uses only APIs that predate grouping, so it runs under a previous implementation too."""
    from mesonportal import cache
    from mesonportal.experiments import load_experiment
    from mesonportal.sources.transport import simulate_mesons

    exp = load_experiment("miniboone")
    out = {}
    for m, p, b in _jobs(blocks):
        s = simulate_mesons(exp, m, n, cache.meson_rng(seed, (p,), b), species=(p,))
        for c in COLUMNS:
            out[f"{m}|{p}|{b}|{c}"] = getattr(s, c)
    np.savez(path, **out)


def grouped(exp, mode: str, n: int, seed: int, pairs) -> list:
    from mesonportal import cache
    from mesonportal.sources.grouped import simulate_mesons_grouped

    return simulate_mesons_grouped(exp, mode, [(n, cache.meson_rng(seed, (p,), b), (p,)) for p, b in pairs])


def one_by_one(exp, mode: str, n: int, seed: int, pairs) -> list:
    from mesonportal import cache
    from mesonportal.sources.transport import simulate_mesons

    return [simulate_mesons(exp, mode, n, cache.meson_rng(seed, (p,), b), species=(p,)) for p, b in pairs]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--primaries", type=int, default=2500, help="primaries per block (TARGET_BLOCK)")
    ap.add_argument("--blocks", type=int, default=2, help="blocks per (mode, species) in the identity check")
    ap.add_argument("--group", type=int, default=16, help="blocks per group in the timing (GROUP_BLOCKS)")
    ap.add_argument("--pairs", type=int, default=3, help="alternated one-by-one / grouped timing pairs")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--reference-src", default=None, help="src directory of the implementation to compare with")
    ap.add_argument("--dump-one-by-one", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.dump_one_by_one:
        dump_one_by_one(a.dump_one_by_one, a.primaries, a.blocks, a.seed)
        return {}
    from mesonportal.experiments import load_experiment

    exp = load_experiment("miniboone")
    # 1. identity
    ref = {}
    if a.reference_src:
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "ref.npz")
            env = dict(os.environ, PYTHONPATH=os.path.abspath(a.reference_src))
            subprocess.run([sys.executable, os.path.abspath(__file__), "--dump-one-by-one", f, "--primaries",
                            str(a.primaries), "--blocks", str(a.blocks), "--seed", str(a.seed)], env=env, check=True,
                           cwd=d)
            with np.load(f) as z:
                ref = {k: z[k] for k in z.files}
    differing, rows = [], 0
    jobs = _jobs(a.blocks)
    for m in MODES:
        pairs = [(p, b) for mm, p, b in jobs if mm == m]
        g = grouped(exp, m, a.primaries, a.seed, pairs)
        single = one_by_one(exp, m, a.primaries, a.seed, pairs) if not ref else None
        for j, (p, b) in enumerate(pairs):
            rows += len(g[j])
            for c in COLUMNS:
                x = getattr(g[j], c)
                y = ref[f"{m}|{p}|{b}|{c}"] if ref else getattr(single[j], c)
                if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                    differing.append(f"{m}|{p}|{b}|{c}")
    # 2. paired CPU per block: π+ ν-mode blocks (the bulk of the cold main job), then a mix
    timing = {}
    mixes = {"pi+ nu": [(211, b) for b in range(a.group)],
             "pi+- K+- nu": [(p, b) for p in SPECIES for b in range(max(1, a.group // 4))]}
    for name, pairs in mixes.items():
        one_by_one(exp, "nu", a.primaries, a.seed + 1, pairs[:2])  # warm-up
        t1, tg = [], []
        for k in range(a.pairs):
            for fn, acc in ((one_by_one, t1), (grouped, tg)) if k % 2 == 0 else ((grouped, tg), (one_by_one, t1)):
                c0 = time.process_time()
                fn(exp, "nu", a.primaries, a.seed + 1 + k, pairs)
                acc.append((time.process_time() - c0) / len(pairs))
        timing[name] = {"blocks": len(pairs), "cpu_s_per_block_one_by_one": float(np.median(t1)),
                        "cpu_s_per_block_grouped": float(np.median(tg)),
                        "ratio_grouped_over_one_by_one": float(np.median(np.array(tg) / np.array(t1))),
                        "pairs": a.pairs}
    res = {"primaries_per_block": a.primaries, "identity": {
        "blocks": len(jobs), "rows": rows, "reference": a.reference_src or "one by one in this process",
        "fields_compared": len(jobs) * len(COLUMNS), "differing": differing},
        "timing": timing, "load_average": list(os.getloadavg())}
    print(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
