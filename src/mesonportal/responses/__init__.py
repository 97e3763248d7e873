"""Detector responses by technology: visible final state → reconstructed topology.

* :mod:`mesonportal.responses.lartpc` — liquid-argon TPCs (MicroBooNE, SBND, ICARUS).
* :mod:`mesonportal.responses.volumes` — box / union-of-boxes volumes used by the responses.
* :mod:`mesonportal.responses.inputs` — response inputs from the signal chains' event columns.

(The MiniBooNE Cherenkov response lives in :mod:`mesonportal.detection.response` for now.)
"""

from __future__ import annotations

from mesonportal.responses.lartpc import (
    LABELS,
    NONE,
    TOPOLOGIES,
    LArTPCResponse,
    LArTPCResult,
    respond,
    sum_by_topology,
)
from mesonportal.responses.inputs import lartpc_inputs_from_columns
from mesonportal.responses.volumes import BoxVolume, VolumeLike, as_volume

__all__ = [
    "LABELS", "NONE", "TOPOLOGIES", "LArTPCResponse", "LArTPCResult", "respond", "sum_by_topology",
    "BoxVolume", "VolumeLike", "as_volume", "lartpc_inputs_from_columns",
]
