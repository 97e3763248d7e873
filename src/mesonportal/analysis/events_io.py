"""Weighted signal events to and from Parquet (``predict --events FILE.parquet``), and to
HepMC3 (``predict --events FILE.hepmc3``, :func:`write_events` dispatches on the suffix).

One row per event, one column per :class:`~mesonportal.analysis.prediction.SignalSample`
column (generator level and reconstructed; units in docs/prediction.md), ``weight`` in
events/POT at the reference coupling.  The file metadata (key ``mesonportal``) is a JSON object
with the experiment, mode, POT, model description, coupling product and units, seed, sample
size, criterion and package version.  ``weight_fn`` (iDM reweighting) is not stored: rebuild it
with :func:`mesonportal.detection.signal.idm_reweighter` from the stored columns if needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mesonportal import __version__
from mesonportal.analysis.prediction import SignalSample
from mesonportal.exceptions import DataError, ParameterError

__all__ = ["write_events", "read_events", "write_events_hepmc3", "METADATA_KEY", "EVENT_SUFFIXES"]

#: File suffixes accepted by :func:`write_events`.
EVENT_SUFFIXES = (".parquet", ".hepmc3", ".hepmc")

METADATA_KEY = b"mesonportal"


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    return x


def write_events(sample: SignalSample, path: str | Path) -> Path:
    """Write the events of ``sample`` to ``path``: Parquet (``.parquet``, all columns and
    metadata) or HepMC3 (``.hepmc3``/``.hepmc``, :func:`write_events_hepmc3`); returns the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if path.suffix.lower() not in EVENT_SUFFIXES:
        raise ParameterError(f"events file {str(path)!r} must end in {', '.join(EVENT_SUFFIXES)}")
    if path.suffix.lower() != ".parquet":
        write_events_hepmc3(sample, path)
        return path
    cols = {k: np.ascontiguousarray(np.asarray(v)) for k, v in sample.columns.items()}
    for k, v in cols.items():
        if v.ndim != 1:
            raise ParameterError(f"column {k!r} is not one-dimensional; cannot write it to Parquet")
    meta = {
        "experiment": sample.experiment, "mode": sample.mode, "pot": sample.pot, "model": sample.model,
        "coupling_product_ref": sample.coupling_product_ref, "coupling_units": sample.coupling_units,
        "seed": sample.info.get("seed"), "samples": sample.info.get("samples"),
        "criterion": sample.info.get("criterion"), "version": sample.info.get("version", __version__),
        "weight_units": "events / POT at coupling_product_ref (efficiency included)",
        "has_weight_fn": sample.weight_fn is not None,
    }
    table = pa.table(cols)
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(_jsonable(meta)).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def read_events(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`write_events`: (columns, metadata)."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise DataError(f"events file {str(path)!r} does not exist")
    table = pq.read_table(path)
    md = table.schema.metadata or {}
    if METADATA_KEY not in md:
        raise DataError(f"{str(path)!r} has no mesonportal metadata")
    meta = json.loads(md[METADATA_KEY].decode())
    cols = {name: table.column(name).to_numpy() for name in table.column_names}
    return cols, meta


_VECTORS = ("dark", "p1", "p2", "chip")
_POINTS = ("int", "decay", "prod")


def write_events_hepmc3(sample: SignalSample, path: str | Path) -> int:
    """Write ``sample`` as HepMC3 (:func:`mesonportal.io.hepmc3.write_sample_hepmc3`) in
    **detector coordinates**: positions x_det = (x_beam − origin) · R and momenta p · R, with the
    detector frame (``origin_cm``, ``rotation``) stored by the prediction in
    ``info['detector']`` (beam coordinates if absent).  Event weight: events for the mode's
    exposure before the detector's selection efficiency (``weight_before_efficiency`` × POT),
    so a detector simulation applies its own selection; run info: model, experiment, mode,
    seed, version, exposure.  Returns the number of events written."""
    from mesonportal.io.hepmc3 import write_sample_hepmc3

    det = dict(sample.info.get("detector", {}) or {})
    origin = np.asarray(det.get("origin_cm", (0.0, 0.0, 0.0)), float).reshape(3)
    rot = np.asarray(det.get("rotation", np.eye(3)), float).reshape(3, 3)
    cols = dict(sample.columns)
    if not np.allclose(rot, np.eye(3)):
        for pre in _POINTS:
            if f"{pre}_x" in cols:
                xyz = np.column_stack([cols[f"{pre}_{c}"] for c in "xyz"])
                xyz = (xyz - origin) @ rot
                for i, c in enumerate("xyz"):
                    cols[f"{pre}_{c}"] = xyz[:, i]
        for pre in _VECTORS:
            if f"{pre}_px" in cols:
                p = np.column_stack([cols[f"{pre}_{c}"] for c in ("px", "py", "pz")]) @ rot
                for i, c in enumerate(("px", "py", "pz")):
                    cols[f"{pre}_{c}"] = p[:, i]
        origin = np.zeros(3)
    view = SignalSample(experiment=sample.experiment, mode=sample.mode, pot=sample.pot, model=sample.model,
                        coupling_product_ref=sample.coupling_product_ref, coupling_units=sample.coupling_units,
                        columns=cols, info=sample.info)
    return write_sample_hepmc3(view, path, detector_origin_cm=origin)
