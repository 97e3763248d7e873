"""Data sets used as constraints, each with its bundled numbers (sources in the data files) and
its likelihood.

* ``microboone_ncdelta_2021`` — NC Δ radiative 1γ1p / 1γ0p (arXiv:2110.00409), 6.80e20 POT.
* ``microboone_ee_2025`` — dark-sector e⁺e⁻ search, ee0p (arXiv:2502.10900), 6.87e20 POT.

Not included: the inclusive single-photon search arXiv:2502.06064 (its abstract gives the
efficiency, 7.0%, and a 0p excess of 93 ± 22 (stat) ± 35 (syst) events below 600 MeV, but not the
observed and predicted counts needed for a counting likelihood).

:func:`get_dataset` returns a :class:`~mesonportal.datasets.counting.CountingDataset`;
:func:`constraint` the combination named by an experiment (``"microboone"`` = both data sets).
"""

from __future__ import annotations

from mesonportal.datasets.counting import (
    DELTA_CHI2_90,
    DELTA_CHI2_95,
    STATISTIC,
    Channel,
    CombinedConstraint,
    CountingDataset,
    channel_chi2,
)
from mesonportal.exceptions import ParameterError

__all__ = [
    "EXCESS_DATASETS", "OFFICIAL_FLUXES", "excess_dataset", "constraints_of", "has_official_flux",
    "DATASET_NAMES", "CONSTRAINT_NAMES", "get_dataset", "constraint", "Channel", "CountingDataset",
    "CombinedConstraint", "channel_chi2", "DELTA_CHI2_90", "DELTA_CHI2_95", "STATISTIC",
]

DATASET_NAMES: tuple[str, ...] = ("microboone_ncdelta_2021", "microboone_ee_2025")
CONSTRAINT_NAMES: dict[str, tuple[str, ...]] = {
    "microboone": ("microboone_ncdelta_2021", "microboone_ee_2025"),
    "microboone_ncdelta": ("microboone_ncdelta_2021",),
    "microboone_ee": ("microboone_ee_2025",),
}


#: Experiments (by name) with a bundled excess data release that ``mesonportal fit`` fits:
#: experiment → data set (the MiniBooNE 2021 release, arXiv:2006.16883, with its covariance
#: χ² in :mod:`mesonportal.analysis.likelihood`).
EXCESS_DATASETS: dict[str, str] = {"miniboone": "miniboone_2021"}
#: Experiments and modes with a bundled official neutrino flux (for ``flux --plot``).
OFFICIAL_FLUXES: dict[str, tuple[str, ...]] = {"miniboone": ("nu",)}


def excess_dataset(experiment: str) -> str:
    """Name of the excess data set bundled for ``experiment`` (an experiment name);
    ParameterError naming the experiments that have one otherwise."""
    if experiment not in EXCESS_DATASETS:
        raise ParameterError(f"experiment {experiment!r} has no bundled excess data to fit; "
                             f"allowed: {', '.join(EXCESS_DATASETS)} (constraints: --with {', '.join(constraints_of_any())})")
    return EXCESS_DATASETS[experiment]


def constraints_of_any() -> tuple[str, ...]:
    """Experiments with constraint data sets (usable with ``fit --with``)."""
    return tuple(sorted({get_dataset(n).experiment for n in DATASET_NAMES}))


def constraints_of(experiment: str) -> tuple[str, ...]:
    """Counting data sets bundled for ``experiment`` (empty if none)."""
    return tuple(n for n in DATASET_NAMES if get_dataset(n).experiment == experiment)


def has_official_flux(experiment: str, mode: str) -> bool:
    """Whether an official neutrino flux is bundled for ``experiment`` in ``mode``."""
    return mode in OFFICIAL_FLUXES.get(experiment, ())


def get_dataset(name: str) -> CountingDataset:
    """The bundled data set ``name`` (one of :data:`DATASET_NAMES`)."""
    if name == "microboone_ncdelta_2021":
        from mesonportal.datasets import microboone_ncdelta_2021 as mod
    elif name == "microboone_ee_2025":
        from mesonportal.datasets import microboone_ee_2025 as mod
    else:
        raise ParameterError(f"unknown data set {name!r} (allowed: {', '.join(DATASET_NAMES)})")
    return mod.DATASET


def constraint(name: str) -> CombinedConstraint:
    """Combination of independent data sets by name (``microboone`` = NC Δ 2021 + e⁺e⁻ 2025).

    Its ``chi2``/``verdict`` take signal **rates per POT** by topology.
    """
    if name not in CONSTRAINT_NAMES:
        raise ParameterError(f"unknown constraint {name!r} (allowed: {', '.join(CONSTRAINT_NAMES)})")
    return CombinedConstraint(name, tuple(get_dataset(n) for n in CONSTRAINT_NAMES[name]))
