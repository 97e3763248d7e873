"""Model registry: build models by name, from CLI assignments, or from benchmark TOML files.

Benchmark schema (``models/benchmarks/<name>.toml`` or any user file)::

    description = "..."          # optional
    reference = "..."            # optional
    [model]
    name = "scalar"              # one of MODEL_NAMES
    [params]
    m_x = 1.0                    # model keyword arguments (MeV, MeV^-1, dimensionless)
    ...
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from mesonportal.exceptions import ConfigError, ParameterError, UnknownModelError
from mesonportal.models.base import DarkModel

__all__ = [
    "MODEL_NAMES",
    "model_class",
    "make_model",
    "available_benchmarks",
    "load_benchmark",
    "benchmark_info",
    "model_from_toml",
    "parse_param_assignments",
]

MODEL_NAMES: tuple[str, ...] = ("scalar", "pseudoscalar", "idm", "longlived-vector", "t3r")


def model_class(name: str) -> type:
    """The model class registered under ``name`` (idm imported lazily from models.idm)."""
    if name == "scalar":
        from mesonportal.models.scalar import ScalarZprime

        return ScalarZprime
    if name == "pseudoscalar":
        from mesonportal.models.scalar import PseudoscalarZprime

        return PseudoscalarZprime
    if name == "idm":
        from mesonportal.models.idm import VectorInelasticDM  # written by another module owner

        return VectorInelasticDM
    if name == "longlived-vector":
        from mesonportal.models.longlived_vector import LongLivedVector

        return LongLivedVector
    if name == "t3r":  # U(1)_T3R UV point, realised as a simplified model (models/t3r/mapping.py)
        from mesonportal.models.t3r.mapping import T3RScalar

        return T3RScalar
    raise UnknownModelError(f"unknown model {name!r}; allowed: {', '.join(MODEL_NAMES)}")


def _accepted_params(cls: type) -> list[str] | None:
    """Keyword parameters the model constructor accepts (None if it takes **kwargs)."""
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls) if f.init]
    sig = inspect.signature(cls)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    return [n for n, p in sig.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def make_model(name: str, **params: Any) -> DarkModel:
    """Build model ``name`` ("scalar", "pseudoscalar", "idm") from keyword parameters.

    Unknown model → UnknownModelError listing the allowed names; unknown parameter →
    ParameterError listing the accepted ones; out-of-range values → the model's ParameterError."""
    if name == "t3r":
        from mesonportal.models.t3r.mapping import make_t3r_model

        return make_t3r_model(**params)
    cls = model_class(name)
    accepted = _accepted_params(cls)
    if accepted is not None:
        unknown = [k for k in params if k not in accepted]
        if unknown:
            raise ParameterError(
                f"unknown parameter {unknown[0]!r} for model {name!r}; allowed: {', '.join(accepted)}"
            )
    if dataclasses.is_dataclass(cls):
        required = [
            f.name for f in dataclasses.fields(cls)
            if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [k for k in required if k not in params]
        if missing:
            raise ParameterError(f"model {name!r} needs parameter {missing[0]!r}; required: {', '.join(required)}")
    try:
        return cls(**params)
    except TypeError as exc:  # e.g. a missing required parameter
        raise ParameterError(f"model {name!r}: {exc}") from None


# ------------------------------------------------------------------------------- CLI helper
def _parse_value(text: str) -> Any:
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        if low.lstrip("+-").isdigit():
            return int(t)
        v = float(t)
        if not math.isfinite(v):
            raise ValueError
        return v
    except ValueError:
        pass
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    return t


def parse_param_assignments(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Parse CLI assignments ``["m_x=1", "g_mu=1e-4", "charge=proton"]`` into a dict.

    Numbers become int/float, ``true``/``false`` booleans, ``none`` None, anything else a string
    (quotes stripped).  Malformed item or repeated name → ParameterError."""
    out: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise ParameterError(f"parameter assignment {item!r} must have the form name=value")
        key, _, value = item.partition("=")
        key = key.strip()
        if not key.isidentifier():
            raise ParameterError(f"parameter assignment {item!r}: {key!r} is not a valid parameter name")
        if key in out:
            raise ParameterError(f"parameter {key!r} assigned more than once")
        if not value.strip():
            raise ParameterError(f"parameter assignment {item!r} has an empty value")
        v = _parse_value(value)
        raw = value.strip()
        if isinstance(v, str) and raw == v and _looks_numeric(raw):  # unquoted nan, inf, 1e400
            raise ParameterError(f"parameter {key!r} = {raw!r} must be a finite number (|value| < 1.8e308)")
        out[key] = v
    return out


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------- benchmarks
def _bench_dir():
    return resources.files("mesonportal.models") / "benchmarks"


def available_benchmarks() -> list[str]:
    """Names of the shipped benchmark files (``models/benchmarks/*.toml``)."""
    d = _bench_dir()
    if not d.is_dir():
        return []
    return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".toml"))


def _parse_benchmark(text: str, origin: str) -> dict[str, Any]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: invalid TOML: {exc}") from None
    allowed = {"model", "params", "description", "reference"}
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{origin}: unknown key {key!r}; allowed: {', '.join(sorted(allowed))}")
    model = raw.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        raise ConfigError(f"{origin}: missing [model] table with a string key 'name'")
    extra = set(model) - {"name"}
    if extra:
        raise ConfigError(f"{origin}: unknown key 'model.{sorted(extra)[0]}'; allowed: name")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise ConfigError(f"{origin}: [params] must be a table")
    for key in ("description", "reference"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{origin}: key {key!r} must be a string")
    return {
        "model": model["name"],
        "params": dict(params),
        "description": raw.get("description", ""),
        "reference": raw.get("reference", ""),
        "source": origin,
    }


def benchmark_info(name: str) -> dict[str, Any]:
    """Parsed benchmark ``name``: {"model", "params", "description", "reference", "source"}."""
    names = available_benchmarks()
    if name not in names:
        raise UnknownModelError(f"unknown benchmark {name!r}; allowed: {', '.join(names)}")
    text = (_bench_dir() / f"{name}.toml").read_text(encoding="utf-8")
    return _parse_benchmark(text, f"{name}.toml")


def load_benchmark(name: str, **overrides: Any) -> DarkModel:
    """Model of shipped benchmark ``name`` (``overrides`` replace individual parameters)."""
    info = benchmark_info(name)
    return make_model(info["model"], **{**info["params"], **overrides})


def model_from_toml(path: str | Path, **overrides: Any) -> DarkModel:
    """Model from a user TOML file with the benchmark schema (module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"model file {str(p)!r} does not exist")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    info = _parse_benchmark(text, str(p))
    return make_model(info["model"], **{**info["params"], **overrides})
