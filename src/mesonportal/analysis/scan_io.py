"""Incremental, resumable on-disk format of parameter scans.

A scan output ``scan.parquet`` is a **directory-style Parquet dataset**::

    scan.parquet/
        _scan.json               # format, package version, the ScanSpec (JSON) and its fingerprint
        part-000000.parquet      # all coupling values of mass point 0 (one row per grid point)
        part-000001.parquet
        ...

Each part is written to a hidden temporary file in the same directory and renamed into place
(``os.replace``, atomic on POSIX), so an interrupted scan never leaves a truncated part.  Files
starting with ``_`` or ``.`` are ignored by Parquet readers, so
``pyarrow.parquet.read_table("scan.parquet")`` (or ``pandas.read_parquet``) reads the whole scan.
A point is identified by ``point_id`` (= mass_point_id × n_couplings + coupling index);
:func:`read_scan` keeps exactly one row per ``point_id`` even if a part was rewritten.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from mesonportal import __version__
from mesonportal.exceptions import ConfigError

__all__ = [
    "FORMAT",
    "METADATA_FILE",
    "prepare_output",
    "write_part",
    "part_path",
    "completed_mass_points",
    "read_metadata",
    "read_scan",
    "scan_columns",
]

FORMAT = "mesonportal-scan/1"
METADATA_FILE = "_scan.json"
_PART_RE = re.compile(r"^part-(\d{6,})\.parquet$")


def part_path(ds: Path, mass_point_id: int) -> Path:
    return Path(ds) / f"part-{int(mass_point_id):06d}.parquet"


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _is_ours(ds: Path) -> bool:
    return (ds / METADATA_FILE).is_file()


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``_scan.json`` of a scan dataset (ConfigError if ``path`` is not one)."""
    p = Path(path) / METADATA_FILE
    if not p.is_file():
        raise ConfigError(f"{str(path)!r} is not a mesonportal scan (no {METADATA_FILE})")
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{p}: unreadable scan metadata: {exc}") from None
    if meta.get("format") != FORMAT:
        raise ConfigError(f"{p}: unknown scan format {meta.get('format')!r}; expected {FORMAT!r}")
    return meta


def prepare_output(out: str | Path, spec, *, resume: bool = False, overwrite: bool = False) -> Path:
    """Create (or reopen with ``resume``) the dataset directory for ``spec``.

    * new path: created, metadata written;
    * existing path without ``resume``/``overwrite``: ConfigError;
    * ``overwrite``: an existing scan dataset (or file) is removed first; a non-empty directory
      that is not a scan is never deleted (ConfigError);
    * ``resume``: the stored ScanSpec must equal ``spec`` (else ConfigError naming the first
      differing key); finished parts are kept."""
    ds = Path(out)
    if resume and overwrite:
        raise ConfigError("give either --resume or --overwrite, not both")
    if ds.exists():
        if resume and ds.is_dir() and _is_ours(ds):
            meta = read_metadata(ds)
            old, new = meta["spec"], spec.to_json()
            if old != new:
                diff = next((k for k in new if old.get(k) != new.get(k)), "?")
                raise ConfigError(f"cannot resume {str(ds)!r}: it was made with a different {diff!r} "
                                  f"({old.get(diff)!r} != {new.get(diff)!r}); use --overwrite or another --out")
            return ds
        if resume and ds.is_dir() and not any(ds.iterdir()):
            pass  # empty directory: start fresh
        elif not overwrite:
            hint = "" if resume else "; use --resume to continue it or --overwrite to replace it"
            what = "is not a mesonportal scan" if (resume and not (ds.is_dir() and _is_ours(ds))) else "already exists"
            raise ConfigError(f"output {str(ds)!r} {what}{hint}")
        elif ds.is_dir():
            if not _is_ours(ds) and any(ds.iterdir()):
                raise ConfigError(f"--overwrite refuses to delete {str(ds)!r}: a non-empty directory that is not a scan")
            shutil.rmtree(ds)
        else:
            ds.unlink()
    ds.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "mesonportal_version": __version__, "fingerprint": spec.fingerprint(),
            "spec": spec.to_json(), "n_points": spec.n_points, "n_mass_points": spec.n_mass_points,
            "n_couplings": spec.n_couplings}
    _atomic_write_bytes(ds / METADATA_FILE, json.dumps(meta, indent=1).encode())
    return ds


def write_part(ds: str | Path, mass_point_id: int, columns: dict[str, Any], spec=None) -> Path:
    """Write the rows of one mass point atomically as ``part-<id>.parquet``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ds = Path(ds)
    table = pa.table({k: (np.asarray(v) if not isinstance(v, list) else v) for k, v in columns.items()})
    meta = {b"mesonportal_scan": (spec.fingerprint() if spec is not None else "").encode()}
    table = table.replace_schema_metadata(meta)
    dest = part_path(ds, mass_point_id)
    tmp = ds / f".tmp-{uuid.uuid4().hex}.parquet"
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def completed_mass_points(ds: str | Path) -> set[int]:
    """Ids of the mass points whose part exists and has a readable Parquet footer (a corrupt
    part, e.g. from a copy interrupted outside mesonportal, is deleted and recomputed)."""
    import pyarrow.parquet as pq

    out: set[int] = set()
    ds = Path(ds)
    if not ds.is_dir():
        return out
    for f in ds.iterdir():
        m = _PART_RE.match(f.name)
        if not m:
            continue
        try:
            pq.read_metadata(f)
        except Exception:  # noqa: BLE001 - unreadable part: recompute it
            f.unlink(missing_ok=True)
            continue
        out.add(int(m.group(1)))
    return out


def read_scan(path: str | Path, columns: list[str] | None = None):
    """The scan as a ``pyarrow.Table`` sorted by ``point_id`` with exactly one row per point."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ds = Path(path)
    read_metadata(ds)
    parts = sorted(f for f in ds.iterdir() if _PART_RE.match(f.name))
    if not parts:
        raise ConfigError(f"scan {str(ds)!r} has no finished points yet")
    cols = None if columns is None else list(dict.fromkeys(["point_id", *columns]))
    table = pa.concat_tables([pq.read_table(f, columns=cols) for f in parts])
    ids = table.column("point_id").to_numpy()
    _, first = np.unique(ids, return_index=True)
    return table.take(pa.array(first))


def scan_columns(path: str | Path, columns: list[str] | None = None) -> dict[str, np.ndarray]:
    """:func:`read_scan` as a dict of NumPy arrays."""
    t = read_scan(path, columns)
    return {name: t.column(name).to_numpy(zero_copy_only=False) for name in t.column_names}
