"""Re-pin the regression values of the reported quantities after a *deliberate* physics change.

    python benchmarks/update_regression_pins.py

Recomputes ``tests/regression/values.json`` (events per POT in ν, ν̄ and dump mode and the
ν+ν̄ best fits of the four shipped benchmarks, each with its MC error; see
``tests/regression/pins.py``) and prints the old → new change of every value in units of its MC
error, so that the review of the commit shows what moved and by how much.  Takes ~30 s.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "regression"))
OUT = ROOT / "tests" / "regression" / "values.json"


def pulls(old: dict, new: dict):
    """(name, old, new, (new - old) / sqrt(err_old² + err_new²)) for every value with an MC error."""
    for bench, entry in new["benchmarks"].items():
        for group, vals in entry.items():
            if not isinstance(vals, dict):
                continue
            for key, v in vals.items():
                ek = key + "_mc_error"
                if ek not in vals:
                    continue
                o = old.get("benchmarks", {}).get(bench, {}).get(group, {})
                if key not in o:
                    continue
                sigma = math.hypot(vals[ek], o.get(ek, 0.0))
                yield f"{bench}.{group}.{key}", o[key], v, (v - o[key]) / sigma if sigma > 0 else 0.0


def main() -> int:
    os.environ.setdefault("MESONPORTAL_CACHE_DIR", tempfile.mkdtemp(prefix="mesonportal-pins-"))
    from pins import compute_pins

    from mesonportal import __version__

    new = compute_pins()
    new["about"] = ("regression pins of the reported quantities; regenerate with "
                    "python benchmarks/update_regression_pins.py after a deliberate physics change")
    new["mesonportal_version"] = __version__
    if OUT.is_file():
        for name, o, v, pull in pulls(json.loads(OUT.read_text()), new):
            print(f"{name:45s} {o:.5g} -> {v:.5g}  ({pull:+.2f} sigma)")
    OUT.write_text(json.dumps(new, indent=1) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
