"""Small helpers shared by the API façade and the predictors (no imports of either, so the
dependency graph stays one-way: ``api`` → ``analysis.predict`` → ``pipeline``)."""

from __future__ import annotations

import numpy as np

from mesonportal.exceptions import ParameterError
from mesonportal.experiments import Experiment, load_experiment

__all__ = ["resolve_experiment", "stage_rng", "check_samples"]


def resolve_experiment(experiment: str | Experiment) -> Experiment:
    """An :class:`Experiment` from itself, a shipped name or a TOML path."""
    return experiment if isinstance(experiment, Experiment) else load_experiment(experiment)


def stage_rng(seed: int, stage: str) -> np.random.Generator:
    """Independent, reproducible generator for one pipeline stage, derived from the run seed."""
    tag = int.from_bytes(stage.encode()[:8].ljust(8, b"\0"), "little")
    return np.random.default_rng(np.random.SeedSequence([int(seed), tag]))


#: Largest meson sample of one prediction: the chain holds O(1 kB) per meson in memory, so more
#: would exhaust a workstation; combine several seeds instead.
SAMPLES_MAX = 100_000_000


def check_samples(n: int, name: str = "samples", maximum: int | None = None) -> int:
    """``n`` as int if it is a positive integer (≤ ``maximum`` when given); ParameterError
    naming ``name`` and the allowed range otherwise."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"{name} = {n!r} must be a positive integer")
    if maximum is not None and n > maximum:
        raise ParameterError(f"{name} = {n} is too large; allowed: 1 to {maximum} (combine several seeds for "
                             "more statistics)")
    return int(n)
