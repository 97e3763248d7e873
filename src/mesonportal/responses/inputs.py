"""Inputs of :func:`mesonportal.responses.lartpc.respond` from the package's event columns.

The signal chains (``mesonportal.detection.signal``) return per-event columns (``process``,
``target``, ``dark_*``, ``chip_*``, ``p1_*``, ``p2_*``, ``int_*``, ``decay_*``,
``weight_before_efficiency`` ...; units MeV, cm, events/POT).  This module turns them into the
visible final state the LAr-TPC response needs:

* process 0 (Primakoff X A → γ A): vertex ``int_*``; one photon ``p1``; on a free proton
  (``target == 1``) the recoil-proton kinetic energy is the energy transfer E_X − E_γ (target at
  rest); coherent scattering on a nucleus leaves no visible proton.
* process 1/2 (X → γγ / e⁺e⁻ inside): vertex ``int_*`` (the decay point); ``p1``, ``p2`` as
  γγ or e⁻e⁺ (which lepton is which charge does not matter to the response).
* process 3 (χ A → χ′ A, χ′ → χ e⁺e⁻): vertex ``decay_*``; e⁻ ``p1``, e⁺ ``p2``; on a free proton
  the recoil kinetic energy is E_χ − E_χ′, and it counts only if the χ′ decays within
  ``proton_vertex_tolerance_cm`` of the scattering point (otherwise the proton is a separate,
  displaced activity and the e⁺e⁻ vertex has no proton).

Positions are shifted to detector coordinates by subtracting ``detector_origin_cm``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from mesonportal.exceptions import ParameterError

__all__ = ["lartpc_inputs_from_columns"]


def _p4(columns: Mapping[str, NDArray[Any]], prefix: str, n: int) -> NDArray[np.float64]:
    if f"{prefix}_e" not in columns:
        return np.zeros((n, 4))
    return np.column_stack([np.asarray(columns[f"{prefix}_{c}"], float) for c in ("e", "px", "py", "pz")])


def _xyz(columns: Mapping[str, NDArray[Any]], prefix: str, n: int) -> NDArray[np.float64]:
    if f"{prefix}_x" not in columns:
        return np.full((n, 3), np.nan)
    return np.column_stack([np.asarray(columns[f"{prefix}_{c}"], float) for c in "xyz"])


def lartpc_inputs_from_columns(
    columns: Mapping[str, NDArray[Any]],
    *,
    detector_origin_cm: Sequence[float] = (0.0, 0.0, 0.0),
    weight_column: str = "weight_before_efficiency",
    proton_vertex_tolerance_cm: float = 2.0,
) -> dict[str, NDArray[Any]]:
    """Visible final state per event: ``{vertex (N,3) cm, em_p4 (N,2,4) MeV, em_pdg (N,2),
    proton_ke (N,) MeV, weight (N,) events/POT, process (N,)}`` (see the module docstring).

    ``proton_vertex_tolerance_cm`` (default 2 cm, an assumption of the order of the vertex
    resolution) is the largest χ′ flight distance for which the recoil proton is attributed to
    the e⁺e⁻ vertex.
    """
    for k in ("process", "int_x", "int_y", "int_z", "p1_e", weight_column):
        if k not in columns:
            raise ParameterError(f"event columns lack {k!r}")
    if not proton_vertex_tolerance_cm >= 0:
        raise ParameterError(f"proton_vertex_tolerance_cm = {proton_vertex_tolerance_cm} must be >= 0")
    proc = np.asarray(columns["process"]).astype(np.int64)
    n = len(proc)
    unknown = set(np.unique(proc).tolist()) - {0, 1, 2, 3}
    if unknown:
        raise ParameterError(f"unknown process code(s) {sorted(unknown)} (known: 0, 1, 2, 3)")
    origin = np.asarray(detector_origin_cm, float).reshape(3)
    target = np.asarray(columns["target"]).astype(np.int64) if "target" in columns else np.zeros(n, np.int64)
    dark, p1, p2, chip = _p4(columns, "dark", n), _p4(columns, "p1", n), _p4(columns, "p2", n), _p4(columns, "chip", n)
    v_int, v_dec = _xyz(columns, "int", n), _xyz(columns, "decay", n)

    vertex = np.where((proc == 3)[:, None], v_dec, v_int) - origin
    em_p4 = np.stack([p1, p2], axis=1)
    em_pdg = np.zeros((n, 2), np.int64)
    em_pdg[proc == 0] = (22, 0)
    em_pdg[proc == 1] = (22, 22)
    em_pdg[proc == 2] = (11, -11)
    em_pdg[proc == 3] = (11, -11)
    em_p4[em_pdg == 0] = 0.0

    free_p = target == 1
    ke = np.zeros(n)
    sel0 = (proc == 0) & free_p
    ke[sel0] = dark[sel0, 0] - p1[sel0, 0]
    sel3 = (proc == 3) & free_p
    if np.any(sel3):
        flight = np.linalg.norm(v_dec[sel3] - v_int[sel3], axis=1)
        ke[sel3] = np.where(flight <= proton_vertex_tolerance_cm, dark[sel3, 0] - chip[sel3, 0], 0.0)
    ke = np.maximum(ke, 0.0)
    return {
        "vertex": vertex,
        "em_p4": em_p4,
        "em_pdg": em_pdg,
        "proton_ke": ke,
        "weight": np.asarray(columns[weight_column], float),
        "process": proc,
    }
