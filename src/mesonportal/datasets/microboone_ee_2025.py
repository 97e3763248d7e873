"""MicroBooNE dark-sector e⁺e⁻ search (arXiv:2502.10900), 6.87e20 POT: 95 observed vs 69.7 ± 17.3.

One channel, ``ee0p`` (forward-going coherent e⁺e⁻ selection); bundled in
``data/microboone_constraints/ee_2025.toml`` with the source.  The selection efficiency for a
given model is not published in the abstract: the LAr-TPC response's ``efficiency_ee0p``
(default 1, i.e. none applied) must be set by the user for a quantitative verdict.
Statistic and verdict definition: :mod:`mesonportal.datasets.counting`.
"""

from __future__ import annotations

from mesonportal.datasets.counting import CountingDataset, load_counting_dataset

__all__ = ["DATASET", "EXPOSURE_POT", "ndof", "chi2", "verdict", "upper_limit_scale"]

DATASET: CountingDataset = load_counting_dataset("microboone_constraints/ee_2025.toml")
EXPOSURE_POT: float = DATASET.exposure_pot
ndof: int = DATASET.ndof

#: χ² for background + signal (events at the data set's exposure, keyed by topology)
chi2 = DATASET.chi2
#: ``{chi2, ndof, events, excluded_90, excluded_95, ...}``; definition in :mod:`.counting`
verdict = DATASET.verdict
#: factor by which a signal can be scaled before it is excluded at ``cl`` (default 0.90)
upper_limit_scale = DATASET.upper_limit_scale
