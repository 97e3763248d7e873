"""Production channels: how a meson decays into a dark state.

A model (``mesonportal.models``) lists its :class:`ProductionChannel` objects; the production
stage (``mesonportal.production``) applies them to a meson sample.  A channel knows its branching
ratio and how to sample the dark particle's four-momentum in the parent rest frame; it knows
nothing of experiments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RestFrameSampler = Callable[[np.random.Generator, int], np.ndarray]


@dataclass(frozen=True)
class ProductionChannel:
    """One decay mode of a meson into a dark particle.

    Attributes
    ----------
    parent:
        PDG code of the decaying meson (e.g. 211 for π+).  If ``charge_conjugate`` the channel
        also applies to ``-parent`` with the same rate and kinematics.
    label:
        Human-readable process, e.g. ``"pi+ -> mu+ nu phi"``.
    branching_ratio:
        BR of the parent into this channel (dimensionless); 0 for a closed channel.
    dark_pdgid, dark_mass:
        Species (``mesonportal.sample.DARK_PDG``) and mass (MeV) of the dark particle produced.
    sample_rest_frame:
        ``f(rng, n) -> (n, 4)`` four-momenta (E, px, py, pz) [MeV] of the dark particle in the
        parent rest frame, isotropically oriented.  Unused when the channel is closed.
    is_open:
        False when the channel is kinematically closed (then ``branching_ratio`` is 0).
    """

    parent: int
    label: str
    branching_ratio: float
    dark_pdgid: int
    dark_mass: float
    sample_rest_frame: RestFrameSampler | None
    charge_conjugate: bool = True
    is_open: bool = True

    def applies_to(self, pdgid: np.ndarray) -> np.ndarray:
        """Boolean mask of the mesons (PDG codes) that can decay through this channel."""
        pdgid = np.asarray(pdgid)
        if self.charge_conjugate:
            return np.abs(pdgid) == abs(self.parent)
        return pdgid == self.parent
