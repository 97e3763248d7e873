"""Names an experiment TOML may use (beam modes, detector shapes, ``[source]`` types), kept apart
from the pydantic schema (:mod:`mesonportal.experiments.schema`) so that code needing only the
names (CLI options, the pre-validated loading of the bundled files) does not import pydantic."""

from __future__ import annotations

__all__ = ["MODES", "SHAPES", "SHAPE_KEYS", "SOURCE_TYPES"]

#: beam modes: horn polarities and the dump (BNB-like), "beam" for single-mode stopped-pion sources
MODES = ("nu", "nubar", "dump", "beam")
SHAPES = ("sphere", "box", "cylinder", "union")
#: ``[source] type`` values (no ``[source]``: the horn-focused BNB type)
SOURCE_TYPES = ("highenergy", "stopped")

#: shape -> (required keys, optional keys) of a :class:`~mesonportal.experiments.schema.ShapeSpec`
SHAPE_KEYS = {
    "sphere": ({"radius_cm"}, {"offset_cm"}),
    "box": ({"lo_cm", "hi_cm"}, set()),
    "cylinder": ({"radius_cm", "length_cm"}, {"axis", "offset_cm"}),
    "union": ({"modules"}, set()),
}
