"""Dark-sector models (physics.md §2): masses, couplings, widths, production channels.

``make_model("scalar", m_x=1, m_zprime=49)`` or ``load_benchmark("scalar")``; the idm model lives
in :mod:`mesonportal.models.idm` and is imported lazily by the registry.
"""

from mesonportal.models.base import DarkModel
from mesonportal.models.registry import (
    MODEL_NAMES,
    available_benchmarks,
    load_benchmark,
    make_model,
    model_from_toml,
    parse_param_assignments,
)
from mesonportal.models.scalar import PseudoscalarZprime, ScalarZprime

__all__ = [
    "DarkModel",
    "MODEL_NAMES",
    "ScalarZprime",
    "PseudoscalarZprime",
    "make_model",
    "load_benchmark",
    "available_benchmarks",
    "model_from_toml",
    "parse_param_assignments",
]
