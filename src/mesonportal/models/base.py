"""Common interface of dark-sector models.

A model is a frozen set of masses and couplings.  It lists the meson decays that produce its
dark particles (:class:`~mesonportal.production.channels.ProductionChannel`), may decay the
produced particles promptly (e.g. a short-lived mediator V → χχ̄), and describes itself for
JSON outputs.  Models never know about experiments.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from mesonportal import constants as C
from mesonportal.exceptions import ParameterError
from mesonportal.production.channels import ProductionChannel
from mesonportal.sample import ParticleSample

__all__ = ["DarkModel", "check_real", "FAMILIES", "MASS_MIN_MEV"]

#: Model families with a detection chain.
FAMILIES = ("long-lived", "inelastic")

#: Smallest dark-particle mass accepted [MeV] (1 eV): below it m²/m_μ² < 1e-16, the double-precision
#: resolution, so the mass is numerically zero in the meson-decay kinematics (|M|², phase space) and
#: e.g. m_x = 1e-300 would overflow 1/m² instead of giving a result.
MASS_MIN_MEV = 1.0e-6


def check_real(name: str, value: Any, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False) -> float:
    """Validate one real parameter; raise ParameterError naming it and the allowed range.

    ``lo_open`` makes the lower bound exclusive (e.g. masses > 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"parameter {name!r} must be a real number, got {type(value).__name__}")
    v = float(value)
    rng = f"{'(' if lo_open else '['}{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
    if not math.isfinite(v):
        raise ParameterError(f"parameter {name!r} = {v!r} must be finite; allowed range {rng}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ParameterError(f"parameter {name!r} = {v!r} out of range {rng}")
    if hi is not None and v > hi:
        raise ParameterError(f"parameter {name!r} = {v!r} out of range {rng}")
    return v


class DarkModel(ABC):
    """Abstract dark-sector model.

    Subclasses set ``name`` (registry name, e.g. ``"scalar"``) and ``family`` (which signal
    chain applies: :data:`FAMILIES`) and implement :meth:`production_channels`, :meth:`params`
    and :meth:`describe`.
    """

    name: str = ""
    #: Model family, the declared interface the detection chains dispatch on:
    #: ``"long-lived"`` (a long-lived X detected by scattering or decay; provides ``lam_eff``,
    #: ``nuclear_charge``, ``proton_charge``, ``ctau``, ``coupling_product`` property) or
    #: ``"inelastic"`` (χ → χ′ up-scattering; provides ``chi_prime_lifetime``,
    #: ``with_coupling_product``, ``coupling_product()``); "" = no detection chain.
    family: str = ""

    @abstractmethod
    def production_channels(self) -> list[ProductionChannel]:
        """All meson → dark channels of the model (closed ones included, with BR 0)."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The model parameters as given (name → value), enough to rebuild the model with
        ``make_model(self.name, **self.params())``."""

    def prompt_decays(self, sample: ParticleSample, rng: np.random.Generator) -> ParticleSample:
        """Decay short-lived produced particles in place of the production vertex; default:
        identity (long-lived dark particles are propagated as they are)."""
        return sample

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """JSON-serialisable description: model name, parameters (masses, couplings),
        conventions, widths / lifetimes and branching ratios."""


class DecayingDarkParticle:
    """Width bookkeeping of a dark particle from its :meth:`partial_widths` (channel → Γ [MeV]):
    ``total_width`` [MeV], ``branching_ratios`` (all 0 if Γ = 0), ``lifetime`` [s] (inf if it
    cannot decay) and ``ctau`` [cm].  Mixed into the long-lived-X models."""

    def partial_widths(self) -> dict[str, float]:  # pragma: no cover - implemented by the models
        raise NotImplementedError

    @property
    def total_width(self) -> float:
        """Total width Γ [MeV]."""
        return float(sum(self.partial_widths().values()))

    def branching_ratios(self) -> dict[str, float]:
        """BR per channel of :meth:`partial_widths` (all 0 if Γ = 0)."""
        w = self.partial_widths()
        tot = sum(w.values())
        return {k: (v / tot if tot > 0 else 0.0) for k, v in w.items()}

    @property
    def lifetime(self) -> float:
        """Proper lifetime [s] (inf if the particle cannot decay)."""
        g = self.total_width
        return C.HBAR / g if g > 0 else math.inf

    @property
    def ctau(self) -> float:
        """cτ [cm]."""
        return self.lifetime * C.C_LIGHT
