"""Event and result files.

* :mod:`mesonportal.io.hepmc3` — weighted final-state events in HepMC3 (pyhepmc), for
  detector-simulation users.

(Parquet event files: :mod:`mesonportal.analysis.events_io`.)
"""

from __future__ import annotations

__all__ = ["hepmc3"]
