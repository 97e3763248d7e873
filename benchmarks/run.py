"""Run every speed benchmark (``benchmarks/bench_*.py``) and print one JSON document.

Usage: ``python benchmarks/run.py [NAME ...]`` (names without ``bench_``/``.py``; default: all).
Each benchmark runs in its own process and prints a JSON object; this script collects them with
machine information.  Targets are stated in each benchmark's output and in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _last_json(text: str):
    start = text.find("{")
    while start != -1:
        try:
            return json.loads(text[start:])
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
    return None


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    out = {
        "machine": {
            "platform": platform.platform(), "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
        },
        "benchmarks": {},
    }
    for name in names:
        path = HERE / f"bench_{name}.py"
        if not path.is_file():
            print(f"unknown benchmark {name!r}", file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
        res = _last_json(proc.stdout)
        out["benchmarks"][name] = {
            "wall_seconds": round(time.perf_counter() - t0, 2),
            "ok": proc.returncode == 0,
            "result": res,
            **({"stderr_tail": proc.stderr[-2000:]} if proc.returncode != 0 else {}),
        }
        print(f"{name}: done in {out['benchmarks'][name]['wall_seconds']} s", file=sys.stderr)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
