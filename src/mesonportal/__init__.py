"""mesonportal — light dark-sector particles from meson decays at accelerator beams.

Could new light particles made in charged-meson three-body decays explain the MiniBooNE
low-energy excess, and what would other experiments then see?

Units
-----
One convention everywhere in the package:

* energies, masses and momenta in **MeV** (natural units, c = 1),
* lengths in **cm**, times in **s**, cross sections in **cm²**,
* Monte Carlo weights in **expected counts per proton on target (POT)** until the final
  multiplication by an exposure.

Quantities taken from ``particle``/``hepunits`` (which use MeV, mm, ns) are converted at the
boundary in :mod:`mesonportal.constants`.

Pipeline (data flows one way)::

    experiments -> sources -> production -> propagation -> detection -> analysis -> cli
"""

from __future__ import annotations

__version__ = "0.5.0"

__all__ = ["__version__"]
