"""Experiment configurations (beam, target, horn, decay region, detector) from TOML.

Experiments know nothing of dark-sector models.  Shipped configurations live beside this
module (``miniboone.toml``); users may pass their own TOML path anywhere an experiment name is
accepted.
"""

from mesonportal.experiments.config import (
    Beam,
    DecayRegion,
    Detector,
    Dump,
    Experiment,
    Horn,
    Target,
    available_experiments,
    load_experiment,
)

__all__ = [
    "Beam", "DecayRegion", "Detector", "Dump", "Experiment", "Horn", "Target",
    "available_experiments", "load_experiment",
]
