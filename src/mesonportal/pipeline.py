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


def check_samples(n: int, name: str = "samples") -> int:
    """``n`` as int if it is a positive integer; ParameterError naming ``name`` otherwise."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"{name} = {n!r} must be a positive integer")
    return int(n)
