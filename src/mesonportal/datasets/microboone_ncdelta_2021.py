"""MicroBooNE NC Δ radiative single-photon search (arXiv:2110.00409, PRL 128 111801), 6.80e20 POT.

Channels (bundled in ``data/microboone_constraints/ncdelta_2021.toml`` with the source):
1γ1p 16 observed vs 20.5 ± 3.65 (syst) background; 1γ0p 153 vs 145.1 ± 13.8.
Statistic and verdict definition: :mod:`mesonportal.datasets.counting`.

``signal`` arguments are events **at 6.80e20 POT** keyed by topology (``"1g1p"``, ``"1g0p"``);
other topology keys (``ee0p``, ``1e0p``) are ignored.
"""

from __future__ import annotations

from mesonportal.datasets.counting import CountingDataset, load_counting_dataset

__all__ = ["DATASET", "EXPOSURE_POT", "ndof", "chi2", "verdict", "upper_limit_scale"]

DATASET: CountingDataset = load_counting_dataset("microboone_constraints/ncdelta_2021.toml")
EXPOSURE_POT: float = DATASET.exposure_pot
ndof: int = DATASET.ndof

#: χ² for background + signal (events at the data set's exposure, keyed by topology)
chi2 = DATASET.chi2
#: ``{chi2, ndof, events, excluded_90, excluded_95, ...}``; definition in :mod:`.counting`
verdict = DATASET.verdict
#: factor by which a signal can be scaled before it is excluded at ``cl`` (default 0.90)
upper_limit_scale = DATASET.upper_limit_scale
