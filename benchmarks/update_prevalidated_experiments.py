"""Regenerate ``src/mesonportal/experiments/prevalidated.json`` from the shipped experiment files.

    python benchmarks/update_prevalidated_experiments.py

Developer tool: every shipped ``experiments/<name>.toml`` is validated in full with the pydantic
schema (:func:`mesonportal.experiments.config.parse_experiment`'s path); the validated
specification (defaults filled in, :func:`~mesonportal.experiments.config.prevalidated_entry`) is
written with the SHA-256 of the file's text, so that ``load_experiment(name)`` can build the
identical experiment without importing pydantic while the text is unchanged.  Files whose build
needs schema objects (:func:`~mesonportal.experiments.config.spec_needs_schema`) are left out.
Run it after editing a shipped TOML file (tests/test_startup.py fails until then); review the diff.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mesonportal.experiments.config import (  # noqa: E402
    _shipped_dir,
    available_experiments,
    parse_experiment,
    prevalidated_entry,
    spec_needs_schema,
)
from mesonportal.experiments.schema import ExperimentSpec  # noqa: E402

OUT = ROOT / "src" / "mesonportal" / "experiments" / "prevalidated.json"

HEADER = (
    "Pre-validated specifications of the shipped experiment files (GENERATED, do not edit). "
    "Written by `python benchmarks/update_prevalidated_experiments.py` from "
    "src/mesonportal/experiments/<name>.toml: each entry is the pydantic schema's validated "
    "ExperimentSpec of that file (all defaults filled in, a scintillator's [detector.response] "
    "validated too; encoded by mesonportal.experiments.config.prevalidated_entry, models as objects "
    "with their class name under '__spec__') and the SHA-256 of the text it was validated from. "
    "load_experiment(name) uses an entry only while the file's SHA-256 is unchanged (otherwise it "
    "validates the file in full); user files are always validated in full. Units are those of the "
    "TOML keys (MeV, cm, rad, deg, g/cm^3, mb, t)."
)


def prevalidated_entries() -> dict[str, dict]:
    """name -> {"sha256", "spec"} for every shipped file that can be pre-validated."""
    out = {}
    for name in available_experiments():
        text = (_shipped_dir() / f"{name}.toml").read_text(encoding="utf-8")
        raw = tomllib.loads(text)
        parse_experiment(raw, f"{name}.toml")  # the whole build must pass, not only the schema
        spec = ExperimentSpec.model_validate(raw)
        if spec_needs_schema(spec):
            continue
        out[name] = {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                     "spec": prevalidated_entry(spec, f"{name}.toml")}
    return out


def render(entries: dict[str, dict]) -> str:
    """JSON text (floats written with ``repr``: exact round trip)."""
    return json.dumps({"header": HEADER, "specs": entries}, indent=1, allow_nan=False) + "\n"


def main() -> int:
    OUT.write_text(render(prevalidated_entries()), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
