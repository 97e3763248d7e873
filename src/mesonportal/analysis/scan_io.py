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

**Integrity.** Every part carries, in its Parquet schema metadata (key ``mesonportal_scan_part``),
the scan's fingerprint (:meth:`ScanSpec.fingerprint`: model, fixed parameters, grid, seed,
statistics, rescaling and the package version), its mass-point id and its row count.  A part is
trusted only if it is readable, carries the fingerprint of the scan's ``_scan.json``, holds
exactly the expected rows (``point_id`` = id × n_couplings + 0 … n_couplings − 1) and sits under
its own name (:func:`validate_part`).  Readers (:func:`read_scan`, ``plot-scan``) skip invalid
parts with a warning and warn "k of n mass points present" for an incomplete scan;
``--resume`` reports invalid parts and recomputes them; ``--overwrite`` deletes only files that
are recognisably scan outputs.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
import warnings
from dataclasses import dataclass, field
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
    "validate_part",
    "scan_status",
    "ScanStatus",
    "IncompleteScanWarning",
    "remove_scan_output",
]

FORMAT = "mesonportal-scan/1"
METADATA_FILE = "_scan.json"
_PART_RE = re.compile(r"^part-(\d{6,})\.parquet$")
_TMP_RE = re.compile(r"^\.tmp-[^/]*\.parquet$|^\.tmp-[^/]*\.json$")
#: Schema-metadata key of a part (JSON: fingerprint, mass_point_id, n_rows, version).
PART_METADATA_KEY = b"mesonportal_scan_part"


class IncompleteScanWarning(UserWarning):
    """A scan read while some of its mass points are missing or invalid."""


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
    * ``overwrite``: the scan files of an existing scan dataset are removed first
      (:func:`remove_scan_output`); an ordinary file or a non-empty directory that is not a scan
      is never deleted (ConfigError);
    * ``resume``: the stored ScanSpec must equal ``spec`` (else ConfigError naming the first
      differing key); finished parts are kept."""
    ds = Path(out)
    if resume and overwrite:
        raise ConfigError("give either --resume or --overwrite, not both")
    if ds.exists():
        if resume and ds.is_dir() and _is_ours(ds):
            meta = read_metadata(ds)
            if meta.get("mesonportal_version") != __version__:
                raise ConfigError(f"cannot resume {str(ds)!r}: it was made with mesonportal "
                                  f"{meta.get('mesonportal_version')!r}, this is {__version__!r} (results would mix "
                                  "versions); use --overwrite or another --out")
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
        else:
            remove_scan_output(ds)
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
    info = {"fingerprint": spec.fingerprint() if spec is not None else "", "mass_point_id": int(mass_point_id),
            "n_rows": int(table.num_rows), "version": __version__}
    table = table.replace_schema_metadata({PART_METADATA_KEY: json.dumps(info).encode()})
    dest = part_path(ds, mass_point_id)
    tmp = ds / f".tmp-{uuid.uuid4().hex}.parquet"
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def remove_scan_output(ds: str | Path) -> None:
    """Delete the scan output at ``ds`` for ``--overwrite``: only ``_scan.json``, the
    ``part-*.parquet`` files and temporary files of a directory recognisable as a scan (it has a
    ``_scan.json``); other files in it, and the directory itself if they exist, are left alone.
    An empty directory is accepted.  An ordinary file, or a non-empty directory without
    ``_scan.json``, is never deleted: ConfigError."""
    ds = Path(ds)
    if not ds.exists():
        return
    if not ds.is_dir():
        raise ConfigError(f"--overwrite refuses to delete {str(ds)!r}: an ordinary file, not a scan output; "
                          "choose another --out")
    if not _is_ours(ds):
        if any(ds.iterdir()):
            raise ConfigError(f"--overwrite refuses to delete {str(ds)!r}: a non-empty directory that is not a scan")
        return
    for f in list(ds.iterdir()):
        if f.is_file() and (f.name == METADATA_FILE or _PART_RE.match(f.name) or _TMP_RE.match(f.name)):
            f.unlink()


def _part_info(path: Path) -> dict[str, Any]:
    """Schema metadata of a part (raises on an unreadable footer)."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    raw = (schema.metadata or {}).get(PART_METADATA_KEY)
    if raw is None:
        return {"num_rows": pq.read_metadata(path).num_rows}
    info = json.loads(raw.decode())
    info["num_rows"] = pq.read_metadata(path).num_rows
    return info


def validate_part(path: str | Path, fingerprint: str, n_couplings: int, n_mass_points: int | None = None) -> str | None:
    """Why the part at ``path`` cannot be trusted for the scan with ``fingerprint`` (None if it
    can): unreadable, no or another scan's fingerprint, a mass-point id that does not match its
    file name or lies outside the grid, a wrong number of rows, or wrong ``point_id`` values."""
    import pyarrow.parquet as pq

    path = Path(path)
    m = _PART_RE.match(path.name)
    if not m:
        return "not a part file name"
    idx = int(m.group(1))
    if n_mass_points is not None and idx >= n_mass_points:
        return f"mass point {idx} is outside the grid (0..{n_mass_points - 1})"
    try:
        info = _part_info(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable footer
        return f"unreadable ({type(exc).__name__})"
    if "fingerprint" not in info:
        return "no scan fingerprint (not written by this mesonportal)"
    if info["fingerprint"] != fingerprint:
        return f"belongs to another scan (fingerprint {info['fingerprint']!r} != {fingerprint!r})"
    if info.get("mass_point_id") != idx:
        return f"holds mass point {info.get('mass_point_id')!r}, not {idx}"
    if info["num_rows"] != n_couplings or info.get("n_rows") != n_couplings:
        return f"has {info['num_rows']} rows, expected {n_couplings}"
    try:
        ids = pq.read_table(path, columns=["point_id"]).column("point_id").to_numpy()
    except Exception as exc:  # noqa: BLE001 - corrupt column pages
        return f"unreadable point_id column ({type(exc).__name__})"
    if not np.array_equal(ids, idx * n_couplings + np.arange(n_couplings)):
        return "point_id values do not match its mass point"
    return None


@dataclass
class ScanStatus:
    """Which mass points of a scan are present and trusted.  ``valid``: mass-point ids with a
    valid part; ``invalid``: part file → reason; ``missing``: ids without a valid part."""

    path: str
    n_mass_points: int
    n_couplings: int
    valid: list[int] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.invalid

    def message(self) -> str:
        """One line: "k of n mass points present" and the invalid parts, if any."""
        msg = f"scan {self.path!r}: {len(self.valid)} of {self.n_mass_points} mass points present"
        if self.invalid:
            first = next(iter(self.invalid.items()))
            more = f" (and {len(self.invalid) - 1} more)" if len(self.invalid) > 1 else ""
            msg += f"; {len(self.invalid)} invalid part(s) ignored: {first[0]} {first[1]}{more}"
        return msg

    def to_json(self) -> dict[str, Any]:
        return {"n_mass_points": self.n_mass_points, "present": len(self.valid), "missing": list(self.missing),
                "invalid_parts": dict(self.invalid), "complete": self.complete}


def scan_status(path: str | Path) -> ScanStatus:
    """Validate every part of the scan at ``path`` against its ``_scan.json``."""
    ds = Path(path)
    meta = read_metadata(ds)
    n_mass, n_coup, fp = int(meta["n_mass_points"]), int(meta["n_couplings"]), meta["fingerprint"]
    st = ScanStatus(str(path), n_mass, n_coup)
    valid: set[int] = set()
    for f in sorted(ds.iterdir()):
        m = _PART_RE.match(f.name)
        if not m:
            continue
        why = validate_part(f, fp, n_coup, n_mass)
        if why is None:
            valid.add(int(m.group(1)))
        else:
            st.invalid[f.name] = why
    st.valid = sorted(valid)
    st.missing = [i for i in range(n_mass) if i not in valid]
    return st


def completed_mass_points(ds: str | Path, spec=None, report=None) -> set[int]:
    """Ids of the mass points whose part is valid for ``spec`` (:func:`validate_part`).  Invalid
    parts (corrupt, foreign, truncated, misnamed) are reported through ``report(name, reason)``
    and deleted so that they are recomputed and can never be merged.  Without ``spec`` the
    scan's own ``_scan.json`` defines the expected fingerprint."""
    ds = Path(ds)
    if not ds.is_dir():
        return set()
    if spec is not None:
        fp, n_coup, n_mass = spec.fingerprint(), spec.n_couplings, spec.n_mass_points
    else:
        meta = read_metadata(ds)
        fp, n_coup, n_mass = meta["fingerprint"], int(meta["n_couplings"]), int(meta["n_mass_points"])
    out: set[int] = set()
    for f in sorted(ds.iterdir()):
        m = _PART_RE.match(f.name)
        if not m:
            continue
        why = validate_part(f, fp, n_coup, n_mass)
        if why is None:
            out.add(int(m.group(1)))
            continue
        if report is not None:
            report(f.name, why)
        _remove_quietly(f)
    return out


def read_scan(path: str | Path, columns: list[str] | None = None, *, require_complete: bool = False):
    """The scan as a ``pyarrow.Table`` sorted by ``point_id`` with exactly one row per point,
    from the valid parts only (:func:`scan_status`).  An incomplete scan (missing or invalid
    parts) raises ConfigError with ``require_complete``, else emits an
    :class:`IncompleteScanWarning` "k of n mass points present"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ds = Path(path)
    st = scan_status(ds)
    if not st.valid:
        raise ConfigError(f"scan {str(ds)!r} has no finished points yet" if not st.invalid else st.message())
    if not st.complete:
        if require_complete:
            raise ConfigError(st.message() + "; rerun the scan with --resume")  # noqa: EM102
        hint = "; rerun the scan with --resume to complete it" if st.missing else ""
        warnings.warn(st.message() + hint, IncompleteScanWarning, stacklevel=2)
    parts = [part_path(ds, i) for i in st.valid]
    cols = None if columns is None else list(dict.fromkeys(["point_id", *columns]))
    table = pa.concat_tables([pq.read_table(f, columns=cols).replace_schema_metadata(None) for f in parts])
    ids = table.column("point_id").to_numpy()
    _, first = np.unique(ids, return_index=True)
    return table.take(pa.array(first))


def scan_columns(path: str | Path, columns: list[str] | None = None) -> dict[str, np.ndarray]:
    """:func:`read_scan` as a dict of NumPy arrays."""
    t = read_scan(path, columns)
    return {name: t.column(name).to_numpy(zero_copy_only=False) for name in t.column_names}
