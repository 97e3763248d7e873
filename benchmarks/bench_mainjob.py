"""Benchmark: the cold main job (``mesonportal reproduce``) — wall time, peak memory, stages. JSON.

Runs the main job in a fresh Python process with an **empty** meson cache (a temporary
``MESONPORTAL_CACHE_DIR``; the venv is installed, nothing else is warm) and reports:

* ``wall_s``: whole-process wall time (start of the process to exit, imports included);
* ``cpu_s``: user + system CPU time of the process tree (robust on a shared machine);
* ``peak_rss_mb``: peak resident memory of the process tree — the sum over the job's processes,
  sampled every 0.25 s from ``/proc`` (Linux), ``peak_rss_single_mb`` the largest single
  process (``getrusage``, exact) and ``peak_rss_by_process_mb`` the sampled peak of each
  process (the main process first, then the worker: the peaks need not be simultaneous);
* ``stages``: the job's progress messages with the elapsed time at which each began and the
  resident memory then (``rss_mb``) — time of a stage = difference to the next one;
* ``load_average``: the machine's 1-minute load before and after (timings on a busy machine
  are longer; compare CPU time and paired runs).

Usage: python benchmarks/bench_mainjob.py [--benchmarks scalar,...] [--out DIR] [--warm] [--workers N]
                                          [--baseline SRC]
(``--warm`` keeps one cache between two runs and reports the second, warm one as well;
``--baseline SRC``: also run the previous implementation — a ``src`` directory, e.g. from
``git archive <commit> src`` — cold in the same session, alternately with this one, and report
the ratios previous/now of wall, CPU and peak memory: on a shared machine the paired ratio is
the figure to read, and the outputs of both runs are compared file by file).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

_CHILD = r"""
import json, sys, time
t00 = time.perf_counter()
def rss_mb():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) // 1024
    except OSError:
        return None
stages = []
def progress(bench, msg):
    stages.append({"t_s": round(time.perf_counter() - t00, 2), "stage": f"{bench}: {msg}", "rss_mb": rss_mb()})
from mesonportal.cli.reproduce_cmd import default_workers, reproduce
progress("-", "imports done")
names = tuple(sys.argv[2].split(","))
workers = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] != "auto" else default_workers()
rows = reproduce(sys.argv[1], names, progress=progress, workers=workers)
progress("-", "done")
print(json.dumps({"workers": workers, "stages": stages, "rows": [{k: r.get(k) for k in ("benchmark", "status", "seconds")} for r in rows]}))
"""


def _tree_rss_mb(root: int, per_pid: dict[int, float] | None = None) -> float:
    """Resident memory (MB) of ``root`` and all its descendants (Linux /proc); ``per_pid`` (if
    given) is updated with each process's largest sampled resident memory."""
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += kids.get(pid, [])
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS"):
                        kb = int(line.split()[1])
                        total += kb
                        if per_pid is not None:
                            per_pid[pid] = max(per_pid.get(pid, 0.0), kb / 1024.0)
        except OSError:
            pass
    return total / 1024.0


def run_once(out: str, benchmarks: str, cache: str, workers: str = "auto", src: str | None = None) -> dict:
    env = dict(os.environ, MESONPORTAL_CACHE_DIR=cache)
    env.pop("MESONPORTAL_NO_CACHE", None)
    if src is not None:  # another implementation of the package (its src directory) first on the path
        env["PYTHONPATH"] = os.pathsep.join([os.path.abspath(src), *filter(None, [env.get("PYTHONPATH")])])
    load0 = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, out, benchmarks, workers], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    peak = 0.0
    per_pid: dict[int, float] = {}
    while proc.poll() is None:
        if sys.platform.startswith("linux"):
            peak = max(peak, _tree_rss_mb(proc.pid, per_pid))
        time.sleep(0.25)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"main job failed (exit {proc.returncode}):\n{stderr[-2000:]}")
    res = json.loads(stdout.strip().splitlines()[-1])
    return {"wall_s": round(wall, 1),
            "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
            "peak_rss_mb": round(peak, 0) if peak else None,
            # getrusage's maxrss of the children is a maximum over every child this process ever
            # waited for: exact for the first run only; later runs (--baseline, --warm) use the samples
            "peak_rss_single_mb": (round(after.ru_maxrss / 1024.0, 0) if before.ru_maxrss == 0 or not per_pid
                                   else round(max(per_pid.values()), 0)),
            # sampled peak of each process of the job larger than 100 MB (main process first)
            "peak_rss_by_process_mb": [round(per_pid[p]) for p in [proc.pid, *sorted(set(per_pid) - {proc.pid})]
                                       if p in per_pid and (per_pid[p] > 100 or p == proc.pid)],
            "load_average": [round(load0, 2), round(os.getloadavg()[0], 2)],
            **res}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmarks", default="scalar,pseudoscalar,idm-single,idm-double")
    ap.add_argument("--out", default=None, help="results directory (default: a temporary one)")
    ap.add_argument("--warm", action="store_true", help="also time a second run with the cache warm")
    ap.add_argument("--workers", default="auto", help="processes of the main job (default: as the CLI, 2 on >= 2 cores)")
    ap.add_argument("--baseline", default=None, metavar="SRC",
                    help="src directory of the previous implementation: run it cold too (paired) and report ratios")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mesonportal-bench-") as tmp:
        out = a.out or os.path.join(tmp, "results")
        cache = os.path.join(tmp, "cache")
        res = {"benchmark": "mainjob", "command": "mesonportal reproduce --out DIR (API, default options)",
               "benchmarks": a.benchmarks, "cpus": os.cpu_count()}
        if a.baseline:
            bout, bcache = os.path.join(tmp, "results-baseline"), os.path.join(tmp, "cache-baseline")
            res["baseline_src"] = os.path.abspath(a.baseline)
            res["baseline_cold"] = run_once(bout, a.benchmarks, bcache, a.workers, src=a.baseline)
        res["cold"] = run_once(out, a.benchmarks, cache, a.workers)
        if a.baseline:
            old, new = res["baseline_cold"], res["cold"]
            res["ratio_previous_over_now"] = {k: round(old[k] / new[k], 3) for k in
                                              ("wall_s", "cpu_s", "peak_rss_mb", "peak_rss_single_mb")
                                              if old.get(k) and new.get(k)}
            res["outputs_differing"] = compare_outputs(bout, out)
        if a.warm:
            res["warm"] = run_once(out, a.benchmarks, cache, a.workers)
    return res


#: Output files whose content legitimately differs between two runs (wall times, versions).
_TIMING_KEYS = ("seconds", "wall time [s]", "timing_s", "elapsed_s")


def compare_outputs(a: str, b: str) -> list[str]:
    """Relative paths of the JSON / Markdown / CSV outputs that differ between the results
    directories ``a`` and ``b`` (JSON compared with wall-time keys removed; Markdown with lines
    holding a time in seconds removed; plots are not compared)."""
    import re

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in _TIMING_KEYS}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    diff = []
    for root, _, files in os.walk(a):
        for f in files:
            pa = os.path.join(root, f)
            rel = os.path.relpath(pa, a)
            pb = os.path.join(b, rel)
            if not os.path.isfile(pb):
                diff.append(rel + " (missing)")
                continue
            if f.endswith(".json") and not f.startswith("."):
                with open(pa) as fa, open(pb) as fb:
                    if strip(json.load(fa)) != strip(json.load(fb)):
                        diff.append(rel)
            elif f.endswith((".md", ".csv", ".txt")):
                with open(pa) as fa, open(pb) as fb:
                    la = [x for x in fa if not re.search(r"wall time|\d s\)|seconds", x)]
                    lb = [x for x in fb if not re.search(r"wall time|\d s\)|seconds", x)]
                if la != lb:
                    diff.append(rel)
    return sorted(diff)


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
