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


def experiment_fingerprint(exp) -> dict:
    """The configuration values that define a simulation (source path excluded)."""
    d = _jsonable(exp)
    d.pop("source_path", None)
    d.pop("description", None)
    return d


def save_sample(path: Path, sample: ParticleSample, meta: dict | None = None) -> None:
    arrays = {c: getattr(sample, c) for c in _COLUMNS}
    meta = dict(meta or {})
    if hasattr(sample, "summary"):
        meta["summary"] = sample.summary
    arrays["meta_json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
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


def load_sample(path: Path) -> ParticleSample:
    with np.load(path) as z:
        s = ParticleSample(*(z[c] for c in _COLUMNS))
        meta = json.loads(bytes(z["meta_json"]).decode()) if "meta_json" in z else {}
    if "summary" in meta:
        s.summary = meta["summary"]  # type: ignore[attr-defined]
    return s


def cached_mesons(exp, mode: str, samples: int, seed: int, species=None, progress: bool = False,
                  directory: str | Path | None = None) -> ParticleSample:
    """Mesons at their decay points (see :func:`mesonportal.sources.transport.simulate_mesons`),
    from the cache when the same configuration, mode, sample size, species and seed were
    simulated before.  The generator is seeded from ``seed`` inside, so a cached and a fresh
    result are identical."""
    from mesonportal.sources.transport import simulate_mesons

    key = cache_key("mesons", experiment=experiment_fingerprint(exp), mode=mode, samples=int(samples),
                    seed=int(seed), species=None if species is None else [int(s) for s in species])
    path = cache_dir(directory) / f"mesons-{exp.name}-{mode}-{key}.npz" if cache_enabled() else None
    if path is not None and path.is_file():
        try:
            return load_sample(path)
        except Exception:  # corrupt entry: recompute  # noqa: BLE001
            path.unlink(missing_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x6D65736F]))
    sample = simulate_mesons(exp, mode, int(samples), rng, species=species, progress=progress)
    if path is not None:
        save_sample(path, sample, {"experiment": exp.name, "mode": mode, "samples": int(samples), "seed": int(seed)})
    return sample
