"""The bundled MiniBooNE 2021 ν_e / ν̄_e low-energy-excess data release (arXiv:2006.16883).

Files live in ``mesonportal/data/miniboone/`` (converted verbatim from the official release; see
their ``#`` headers):

* ``eqe_bin_edges.txt``            — 12 reconstructed-energy E_QE bin edges [MeV] (11 bins),
* ``{nu,nubar}_nue.txt``           — ν_e-like data and predicted background per E_QE bin [events],
* ``{nu,nubar}_numu.txt``          — 8-bin ν_μ CCQE constraint sample, data and prediction [events],
* ``{nu,nubar}_fractcov.txt``      — 30×30 fractional covariance, order [signal 11, ν_e bkg 11, ν_μ 8],
* ``combined_fractcov.txt``        — 60×60 fractional covariance, order [ν mode 30, ν̄ mode 30]
  (each 30 ordered as above; checked against the per-mode matrices),
* ``digitized_2021/{evis,costheta,eqe}.txt`` — digitised figures of arXiv:2006.16883 (ν mode).

Modes: ``"nu"`` = neutrino mode (FHC, 18.75e20 POT), ``"nubar"`` = antineutrino mode (RHC,
11.27e20 POT). All energies in MeV, all counts in events per bin (except the digitised E_QE
figure, plotted in events/MeV).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from mesonportal.data import header, load_table
from mesonportal.exceptions import DataError, ParameterError

__all__ = [
    "MODES",
    "N_NUE_BINS",
    "N_NUMU_BINS",
    "MiniBooNEData",
    "DigitizedHistogram",
    "DigitizedFigures",
    "load_miniboone",
    "load_combined_fractional_covariance",
    "load_digitized",
]

Mode = Literal["nu", "nubar"]
MODES: tuple[str, ...] = ("nu", "nubar")
N_NUE_BINS = 11
N_NUMU_BINS = 8
_SUBDIR = "miniboone"


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class MiniBooNEData:
    """One running mode of the MiniBooNE 2021 data release (arXiv:2006.16883).

    Attributes
    ----------
    mode : ``"nu"`` or ``"nubar"``.
    pot : exposure in protons on target.
    eqe_edges_mev : (12,) E_QE bin edges [MeV].
    nue_data, nue_background : (11,) ν_e-like observed events and predicted background [events].
    numu_data, numu_prediction : (8,) ν_μ CCQE observed and predicted events [events].
    fractional_covariance : (30, 30) dimensionless; order [signal 11, ν_e background 11, ν_μ 8].

    Arrays are read-only (they are cached and shared).
    """

    mode: str
    pot: float
    eqe_edges_mev: np.ndarray
    nue_data: np.ndarray
    nue_background: np.ndarray
    numu_data: np.ndarray
    numu_prediction: np.ndarray
    fractional_covariance: np.ndarray

    @property
    def n_nue_bins(self) -> int:
        return int(self.nue_data.size)

    @property
    def n_numu_bins(self) -> int:
        return int(self.numu_data.size)


@dataclass(frozen=True)
class DigitizedHistogram:
    """A digitised histogram: ``edges`` (n+1,) and named columns of n values each.

    ``x_unit``: unit of the edges (``"MeV"`` or ``""`` for cos θ); ``y_unit``: unit of the columns.
    """

    edges: np.ndarray
    columns: dict[str, np.ndarray]
    x_unit: str
    y_unit: str

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise ParameterError(
                f"digitised column {name!r} does not exist; allowed: {sorted(self.columns)}"
            ) from None


@dataclass(frozen=True)
class DigitizedFigures:
    """Digitised ν-mode figures of arXiv:2006.16883 (200 < E_QE < 1250 MeV selection).

    * ``evis``: visible energy, edges [MeV], columns ``data``, ``background`` [events/bin];
    * ``costheta``: cos θ to the beam, columns ``data``, ``background`` [events/bin];
    * ``eqe``: E_QE, edges [MeV] (figure edges 1100/1300/1500, *not* the release's 1250),
      columns ``data``, ``constrained_background``, ``constrained_background_lower``
      [events/MeV].
    """

    evis: DigitizedHistogram
    costheta: DigitizedHistogram
    eqe: DigitizedHistogram


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ParameterError(f"MiniBooNE mode must be one of {MODES}, got {mode!r}")
    return mode


def _pot_from_header(relpath: str) -> float:
    for line in header(relpath):
        m = re.search(r"pot\s*=\s*([0-9.eE+-]+)", line)
        if m:
            return float(m.group(1))
    raise DataError(f"bundled file {relpath!r} has no 'pot = ...' header line")


def _square(relpath: str, n: int) -> np.ndarray:
    a = load_table(relpath)
    if a.shape != (n, n):
        raise DataError(f"bundled matrix {relpath!r} has shape {a.shape}, expected ({n}, {n})")
    if not np.allclose(a, a.T, rtol=0.0, atol=1e-12):
        raise DataError(f"bundled covariance {relpath!r} is not symmetric")
    return a


@lru_cache(maxsize=None)
def load_miniboone(mode: Mode) -> MiniBooNEData:
    """Load one mode (``"nu"`` or ``"nubar"``) of the bundled MiniBooNE 2021 data release.

    Source: MiniBooNE 2021 ν_e/ν̄_e low-energy-excess data release, arXiv:2006.16883.
    """
    _check_mode(mode)
    edges = load_table(f"{_SUBDIR}/eqe_bin_edges.txt", ndmin=1).ravel()
    nue = load_table(f"{_SUBDIR}/{mode}_nue.txt")
    numu = load_table(f"{_SUBDIR}/{mode}_numu.txt")
    if edges.shape != (N_NUE_BINS + 1,) or nue.shape != (N_NUE_BINS, 4):
        raise DataError(f"bundled MiniBooNE ν_e table for mode {mode!r} has an unexpected shape")
    if not (np.array_equal(nue[:, 0], edges[:-1]) and np.array_equal(nue[:, 1], edges[1:])):
        raise DataError(f"bundled MiniBooNE ν_e table for mode {mode!r}: bin edges disagree")
    if numu.shape != (N_NUMU_BINS, 3):
        raise DataError(f"bundled MiniBooNE ν_μ table for mode {mode!r} has an unexpected shape")
    frac = _square(f"{_SUBDIR}/{mode}_fractcov.txt", 2 * N_NUE_BINS + N_NUMU_BINS)
    return MiniBooNEData(
        mode=mode,
        pot=_pot_from_header(f"{_SUBDIR}/{mode}_nue.txt"),
        eqe_edges_mev=_frozen(edges),
        nue_data=_frozen(nue[:, 2]),
        nue_background=_frozen(nue[:, 3]),
        numu_data=_frozen(numu[:, 1]),
        numu_prediction=_frozen(numu[:, 2]),
        fractional_covariance=_frozen(frac),
    )


@lru_cache(maxsize=None)
def load_combined_fractional_covariance() -> np.ndarray:
    """The 60×60 ν+ν̄ fractional covariance of the 2021 release (arXiv:2006.16883).

    Order: [ν: signal 11, ν_e bkg 11, ν_μ 8, ν̄: signal 11, ν̄_e bkg 11, ν̄_μ 8] (dimensionless).
    """
    n = 2 * (2 * N_NUE_BINS + N_NUMU_BINS)
    return _frozen(_square(f"{_SUBDIR}/combined_fractcov.txt", n))


def _hist(relpath: str, names: tuple[str, ...], x_unit: str, y_unit: str) -> DigitizedHistogram:
    a = load_table(relpath)
    if a.shape[1] != 2 + len(names):
        raise DataError(f"bundled digitised table {relpath!r} has {a.shape[1]} columns")
    if not np.array_equal(a[1:, 0], a[:-1, 1]):
        raise DataError(f"bundled digitised table {relpath!r}: bins are not contiguous")
    edges = np.append(a[:, 0], a[-1, 1])
    return DigitizedHistogram(
        edges=_frozen(edges),
        columns={n: _frozen(a[:, 2 + i]) for i, n in enumerate(names)},
        x_unit=x_unit,
        y_unit=y_unit,
    )


@lru_cache(maxsize=None)
def load_digitized() -> DigitizedFigures:
    """Digitised ν-mode figures of arXiv:2006.16883 (E_vis, cos θ, E_QE); see :class:`DigitizedFigures`."""
    sub = f"{_SUBDIR}/digitized_2021"
    return DigitizedFigures(
        evis=_hist(f"{sub}/evis.txt", ("data", "background"), "MeV", "events/bin"),
        costheta=_hist(f"{sub}/costheta.txt", ("data", "background"), "", "events/bin"),
        eqe=_hist(
            f"{sub}/eqe.txt",
            ("data", "constrained_background", "constrained_background_lower"),
            "MeV",
            "events/MeV",
        ),
    )
