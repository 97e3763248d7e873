"""Regenerate ``tests/regression/data_hashes.json`` from the upstream reference files.

    python benchmarks/update_data_hashes.py [--shared /path/to/shared]   (default: $MESONPORTAL_SHARED or ../shared)

Developer tool: it reads the upstream files (which the package and its tests never read) and
stores, for each bundled table listed in ``tests/regression/bundled_data.py``, the SHA-256 of the
upstream file and of its values (9 significant digits, after the unit conversion applied when
bundling).  Run it only when an upstream file or the list changes; review the diff.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "regression"))
from bundled_data import REFERENCES, canonical_hash  # noqa: E402

OUT = ROOT / "tests" / "regression" / "data_hashes.json"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=os.environ.get("MESONPORTAL_SHARED", str(ROOT.parent / "shared")))
    args = ap.parse_args()
    data = Path(args.shared) / "data"
    if not data.is_dir():
        print(f"update_data_hashes: no reference data under {data}", file=sys.stderr)
        return 2
    entries = {}
    for name, (rel, kw, factor) in sorted(REFERENCES.items()):
        f = data / rel
        ref = np.loadtxt(f, **kw) * factor
        entries[name] = {"source": rel, "factor": factor, "sha256_file": hashlib.sha256(f.read_bytes()).hexdigest(),
                         "sha256_values": canonical_hash(ref)}
    OUT.write_text(json.dumps({"about": "upstream reference tables of the bundled data (see bundled_data.py); "
                                        "regenerate with python benchmarks/update_data_hashes.py",
                               "entries": entries}, indent=1) + "\n")
    print(f"wrote {OUT} ({len(entries)} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
