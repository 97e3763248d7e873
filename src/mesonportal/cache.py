"""On-disk cache of simulations that do not depend on dark-sector parameters.

The meson source (+ horn, + decay-region transport) for an experiment and mode is simulated
once and stored, content-addressed by a hash of the experiment configuration (the parsed TOML
values), the mode, the sample size, the seed and the package version.  Location: the platform
user cache directory (``platformdirs``), overridable with the environment variable
``MESONPORTAL_CACHE_DIR`` or the ``cache_dir`` argument; ``MESONPORTAL_NO_CACHE=1`` disables it.

Files are ``.npz`` archives (one array per column) written atomically (temp file + rename), so
an interrupted write never leaves a corrupt entry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from mesonportal import __version__
from mesonportal.sample import ParticleSample

_COLUMNS = ("p4", "vertex", "pdgid", "weight", "parent")


def cache_dir(override: str | Path | None = None) -> Path:
    """Directory of the cache (created on demand)."""
    if override is not None:
        d = Path(override)
    elif os.environ.get("MESONPORTAL_CACHE_DIR"):
        d = Path(os.environ["MESONPORTAL_CACHE_DIR"])
    else:
        import platformdirs

        d = Path(platformdirs.user_cache_dir("mesonportal"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def cache_enabled() -> bool:
    return os.environ.get("MESONPORTAL_NO_CACHE", "") not in ("1", "true", "yes")


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "model_dump") and not isinstance(obj, type):  # pydantic sections (e.g. [source])
        return _jsonable(obj.model_dump())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in sorted(obj.items())}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return repr(obj)
    return obj


def cache_key(kind: str, **fields: Any) -> str:
    """Content hash (hex, 24 chars) of ``kind`` and the JSON of ``fields`` (dataclasses and
    arrays included) and the package version."""
    payload = json.dumps({"kind": kind, "version": __version__, **_jsonable(fields)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def canonical(obj: Any) -> Any:
    """The JSON-ready canonical form that :func:`cache_key` hashes (floats as ``repr`` text,
    dataclasses and pydantic sections as dicts, sorted keys); computed once, it can be reused
    for many keys with :func:`cache_key_prepared`."""
    return _jsonable(obj)


def cache_key_prepared(kind: str, prepared: dict[str, Any], **fields: Any) -> str:
    """:func:`cache_key` with some fields already in :func:`canonical` form (``prepared``:
    name → ``canonical(value)``), e.g. a source fingerprint shared by the hundreds of meson
    blocks of one prediction: the same hash as ``cache_key(kind, **fields, name=value, ...)``
    without walking the large field again for every key."""
    payload = json.dumps({"kind": kind, "version": __version__, **_jsonable(fields), **prepared}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def experiment_fingerprint(exp) -> dict:
    """The configuration values that define a simulation (source path excluded)."""
    d = _jsonable(exp)
    d.pop("source_path", None)
    d.pop("description", None)
    return d


def source_fingerprint(exp, mode: str) -> dict:
    """What defines the meson sample of ``exp`` in ``mode``: beam (without the exposure),
    target, horn (with this mode's current), decay region and, in dump mode, the dump — not the
    detector, the experiment's name or its exposures, so that every detector on one beam line
    (MiniBooNE, MicroBooNE, SBND, ICARUS on the BNB) shares one cached sample."""
    d = {"beam": _jsonable(exp.beam), "target": _jsonable(exp.target),
         "decay_region": _jsonable(exp.decay_region), "mode": mode}
    d["beam"].pop("pot", None)
    if exp.horn is not None:
        h = _jsonable(exp.horn)
        h["current_ka"] = _jsonable(exp.horn.current_ka.get(mode))
        d["horn"] = h
    if mode == "dump" or exp.dump is not None:
        # in target modes the [dump] section holds the steel-fate inputs (sources/fates.py) used
        # where meson paths end (absorber, pipe wall, shielding)
        d["dump"] = _jsonable(exp.dump)
    if getattr(exp, "source", None) is not None:
        d["source"] = _jsonable(exp.source)
    return d


def _source_name(exp) -> str:
    return getattr(exp, "beam_line", "") or exp.name


def save_sample(path: Path, sample: ParticleSample, meta: dict | None = None) -> None:
    arrays = {c: getattr(sample, c) for c in _COLUMNS}
    meta = dict(meta or {})
    if hasattr(sample, "summary"):
        meta["summary"] = sample.summary
    arrays["meta_json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    save_arrays(path, arrays)


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write named arrays to ``path`` (.npz) atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_npy(path: Path, array: np.ndarray) -> None:
    """Write one array to ``path`` (.npy) atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_sample(path: Path) -> ParticleSample:
    with np.load(path) as z:
        s = ParticleSample(*(z[c] for c in _COLUMNS))
        meta = json.loads(bytes(z["meta_json"]).decode()) if "meta_json" in z else {}
    if "summary" in meta:
        s.summary = meta["summary"]  # type: ignore[attr-defined]
    return s


def meson_rng(seed: int, species=None, block: int | None = None) -> np.random.Generator:
    """Generator of a meson simulation: seeded by ``seed`` and the species group, so that groups
    simulated with the same run seed (e.g. π0, η and π±/K± samples of one prediction) use
    independent random streams.  ``block`` (int ≥ 0) selects one of independent sub-streams of
    the same group (the fixed-size blocks of :func:`mesonportal.analysis.allocation.cached_block`);
    None is the stream of a whole-sample simulation."""
    group = zlib.crc32(repr(None if species is None else sorted(int(s) for s in species)).encode())
    entropy = [int(seed), 0x6D65736F, group]
    if block is not None:
        entropy += [0x626C6B, int(block)]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def cached_mesons(exp, mode: str, samples: int, seed: int, species=None, progress: bool = False,
                  directory: str | Path | None = None) -> ParticleSample:
    """Mesons at their decay points (see :func:`mesonportal.sources.transport.simulate_mesons`),
    from the cache when the same configuration, mode, sample size, species and seed were
    simulated before.  The generator is seeded from ``seed`` inside, so a cached and a fresh
    result are identical."""
    from mesonportal.sources.transport import simulate_mesons

    key = cache_key("mesons", source=source_fingerprint(exp, mode), mode=mode, samples=int(samples),
                    seed=int(seed), species=None if species is None else [int(s) for s in species])
    path = cache_dir(directory) / f"mesons-{_source_name(exp)}-{mode}-{key}.npz" if cache_enabled() else None
    if path is not None and path.is_file():
        try:
            return load_sample(path)
        except Exception:  # corrupt entry: recompute  # noqa: BLE001
            path.unlink(missing_ok=True)
    rng = meson_rng(seed, species)
    sample = simulate_mesons(exp, mode, int(samples), rng, species=species, progress=progress)
    if path is not None:
        save_sample(path, sample, {"experiment": exp.name, "mode": mode, "samples": int(samples), "seed": int(seed)})
    return sample


# ============================================================================ streaming access
# Memory-bounded access to large cache entries (e.g. 10^7 mesons = 800 MB of columns): read a
# cached sample chunk by chunk, and write one from chunks, without ever holding all of it.
# The files are the same uncompressed .npz archives as above (load_sample reads them).

def mesons_cache_path(exp, mode: str, samples: int, seed: int, species=None,
                      directory: str | Path | None = None) -> Path:
    """Path of the :func:`cached_mesons` entry for these arguments (it may not exist yet)."""
    key = cache_key("mesons", source=source_fingerprint(exp, mode), mode=mode, samples=int(samples),
                    seed=int(seed), species=None if species is None else [int(s) for s in species])
    return cache_dir(directory) / f"mesons-{_source_name(exp)}-{mode}-{key}.npz"


def _npy_header(fh) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    return np.lib.format.read_array_header_2_0(fh)


def sample_length(path: str | Path) -> int:
    """Number of particles in a saved sample, read from the ``weight`` header only."""
    import zipfile

    with zipfile.ZipFile(path) as zf, zf.open("weight.npy") as fh:
        shape, _, _ = _npy_header(fh)
    return int(shape[0])


def iter_sample_chunks(path: str | Path, chunk_size: int = 1_000_000):
    """Yield the sample saved at ``path`` as consecutive :class:`ParticleSample` chunks of at
    most ``chunk_size`` particles (last one shorter), reading each column sequentially from the
    archive: resident memory ≈ chunk_size × 80 bytes, independent of the file size.
    Concatenating the chunks gives exactly :func:`load_sample` (without its ``summary``)."""
    import zipfile

    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        from mesonportal.exceptions import ParameterError

        raise ParameterError(f"chunk_size = {chunk_size!r} must be a positive integer")
    with zipfile.ZipFile(path) as zf:
        handles, layout = {}, {}
        try:
            for c in _COLUMNS:
                fh = zf.open(f"{c}.npy")
                handles[c] = fh
                shape, fortran, dtype = _npy_header(fh)
                if fortran and len(shape) > 1:
                    raise ValueError(f"{path}: column {c} is Fortran-ordered; cannot stream")
                layout[c] = (shape, dtype, int(np.prod(shape[1:], dtype=np.int64)))
            n = layout["weight"][0][0]
            for start in range(0, n, int(chunk_size)):
                k = min(int(chunk_size), n - start)
                cols = []
                for c in _COLUMNS:
                    shape, dtype, per_row = layout[c]
                    buf = handles[c].read(k * per_row * dtype.itemsize)
                    cols.append(np.frombuffer(buf, dtype=dtype).reshape((k, *shape[1:])))
                yield ParticleSample(*cols)
        finally:
            for fh in handles.values():
                fh.close()


class ChunkedSampleWriter:
    """Write a :class:`ParticleSample` to ``path`` from chunks (``append``), then ``close()``
    atomically: columns are spooled to temporary raw files and assembled into an uncompressed
    .npz readable by :func:`load_sample` / :func:`iter_sample_chunks`.  Memory: one chunk."""

    def __init__(self, path: str | Path, meta: dict | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.meta = dict(meta or {})
        self._tmpdir = Path(tempfile.mkdtemp(dir=self.path.parent, prefix=".chunks-"))
        self._files = {c: open(self._tmpdir / c, "wb") for c in _COLUMNS}  # noqa: SIM115
        self._n = 0
        self._closed = False

    def append(self, sample: ParticleSample) -> None:
        for c in _COLUMNS:
            arr = np.ascontiguousarray(getattr(sample, c))
            self._files[c].write(arr.tobytes())
        self._n += len(sample)

    def _cleanup(self) -> None:
        import shutil

        for fh in self._files.values():
            fh.close()
        shutil.rmtree(self._tmpdir, ignore_errors=True)

    def close(self) -> int:
        """Assemble the archive (atomic rename) and return the number of particles written."""
        import shutil
        import zipfile

        if self._closed:
            return self._n
        for fh in self._files.values():
            fh.close()
        shapes = {"p4": (self._n, 4), "vertex": (self._n, 3), "pdgid": (self._n,), "weight": (self._n,),
                  "parent": (self._n,)}
        dtypes = {"p4": np.float64, "vertex": np.float64, "pdgid": np.int64, "weight": np.float64, "parent": np.int64}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                for c in _COLUMNS:
                    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtypes[c])), "fortran_order": False,
                              "shape": shapes[c]}
                    with zf.open(f"{c}.npy", "w", force_zip64=True) as out, open(self._tmpdir / c, "rb") as src:
                        np.lib.format.write_array_header_1_0(out, header)
                        shutil.copyfileobj(src, out, 16 << 20)
                meta = json.dumps(self.meta).encode()
                with zf.open("meta_json.npy", "w") as out:
                    np.lib.format.write_array(out, np.frombuffer(meta, dtype=np.uint8))
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
            self._cleanup()
            self._closed = True
        return self._n

    def abort(self) -> None:
        """Discard everything written so far."""
        if not self._closed:
            self._cleanup()
            self._closed = True

    def __enter__(self) -> "ChunkedSampleWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def save_sample_chunks(path: str | Path, chunks, meta: dict | None = None) -> int:
    """Write the iterable of :class:`ParticleSample` ``chunks`` to ``path`` (one .npz, see
    :class:`ChunkedSampleWriter`); returns the number of particles."""
    with ChunkedSampleWriter(path, meta) as w:
        for ch in chunks:
            w.append(ch)
    return w._n


# ============================================================================ inspection / cleanup
#: File-name patterns of cache entries (relative to the cache directory): meson samples (whole
#: samples and the per-species blocks of the importance allocation) and the tabulated
#: three-body / energy-ICDF tables, cached PDG values and importance allocations.  Only these (and leftover temporary files of
#: interrupted writes) are ever reported or deleted by :func:`cache_info` / :func:`clear_cache`.
ENTRY_PATTERNS: dict[str, tuple[str, ...]] = {
    "mesons": ("mesons-*.npz", "mesonblock-*.npy"),
    "tables": ("tables/three-body-*.npz", "tables/energy-icdf-*.npz", "tables/pdg-particle-*.json",
               "tables/pdg-names-*.json", "tables/gauss-legendre-*.npy",
               "allocations/*.json"),
    "temporary": ("*.tmp", "tables/*.tmp", "allocations/*.tmp", ".chunks-*/*"),
}


def cache_location(override: str | Path | None = None) -> Path:
    """The cache directory that :func:`cache_dir` would use, without creating it."""
    if override is not None:
        return Path(override)
    if os.environ.get("MESONPORTAL_CACHE_DIR"):
        return Path(os.environ["MESONPORTAL_CACHE_DIR"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("mesonportal"))


def cache_entries(directory: str | Path | None = None) -> dict[str, list[Path]]:
    """Cache files by kind (``mesons``, ``tables``, ``temporary``); empty if there is no cache."""
    d = cache_location(directory)
    out: dict[str, list[Path]] = {k: [] for k in ENTRY_PATTERNS}
    if not d.is_dir():
        return out
    for kind, patterns in ENTRY_PATTERNS.items():
        seen: set[Path] = set()
        for pat in patterns:
            seen.update(p for p in d.glob(pat) if p.is_file())
        out[kind] = sorted(seen)
    return out


def cache_info(directory: str | Path | None = None) -> dict[str, Any]:
    """Size report: directory, whether caching is enabled, and per kind the number of files and
    bytes; meson entries also by experiment and mode (parsed from ``mesons-<exp>-<mode>-<key>``)."""
    d = cache_location(directory)
    entries = cache_entries(d)
    kinds = {k: {"files": len(v), "bytes": int(sum(p.stat().st_size for p in v))} for k, v in entries.items()}
    by_mode: dict[str, dict[str, int]] = {}
    for p in entries["mesons"]:
        parts = p.stem.split("-")
        label = "-".join(parts[1:-1]) if len(parts) >= 4 else "other"
        e = by_mode.setdefault(label, {"files": 0, "bytes": 0})
        e["files"] += 1
        e["bytes"] += int(p.stat().st_size)
    return {"directory": str(d), "exists": d.is_dir(), "enabled": cache_enabled(),
            "total_files": sum(k["files"] for k in kinds.values()),
            "total_bytes": sum(k["bytes"] for k in kinds.values()), "kinds": kinds, "mesons_by_experiment_mode": by_mode}


def clear_cache(directory: str | Path | None = None, kinds: tuple[str, ...] = ("mesons", "tables", "temporary"),
                older_than_days: float | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Delete cache entries of ``kinds`` (optionally only those last modified more than
    ``older_than_days`` ago); nothing else in the directory is touched.  Returns the number of
    files and bytes removed (or that would be, with ``dry_run``)."""
    import time

    from mesonportal.exceptions import ParameterError

    bad = [k for k in kinds if k not in ENTRY_PATTERNS]
    if bad:
        raise ParameterError(f"cache kind {bad[0]!r}; allowed: {', '.join(ENTRY_PATTERNS)}")
    if older_than_days is not None and not (older_than_days >= 0 and np.isfinite(older_than_days)):
        raise ParameterError(f"older_than_days = {older_than_days!r} must be a finite number >= 0")
    cutoff = None if older_than_days is None else time.time() - 86400.0 * older_than_days
    entries = cache_entries(directory)
    n = nbytes = 0
    for kind in kinds:
        for p in entries[kind]:
            st = p.stat()
            if cutoff is not None and st.st_mtime > cutoff:
                continue
            n += 1
            nbytes += int(st.st_size)
            if not dry_run:
                p.unlink(missing_ok=True)
                if p.parent.name.startswith(".chunks-") and not any(p.parent.iterdir()):
                    p.parent.rmdir()
    return {"directory": str(cache_location(directory)), "removed_files": n, "removed_bytes": nbytes,
            "dry_run": bool(dry_run)}
