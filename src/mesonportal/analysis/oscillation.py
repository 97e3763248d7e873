"""The 3+1 (two-flavour, short-baseline) ν_μ → ν_e oscillation fit to the MiniBooNE 2021 release.

The reference explanation of the excess, computed on the same release and with the same
covariance χ² (:mod:`mesonportal.analysis.likelihood`) as the dark-sector fits.

Inputs (bundled, ``data/miniboone/oscillation/``; arXiv:2006.16883 data release):

* ``nu``: the neutrino-mode fully oscillated ntuple (``fhc/`` = ``combined/`` copy);
* ``nubar``: the antineutrino-mode ntuple of ``combined/`` (117 949 rows).  It contains the
  86 403 rows of ``rhc/miniboone_numubarnuebarfullosc_ntuple.txt`` (flag ``in_rhc_file``) plus
  31 546 rows found only there; MiniBooNE's combined fit uses the ``combined/`` file.  With a
  CPT-symmetric probability every oscillating component of the ν̄-mode beam counts, so the
  default ``nubar_sample="combined"`` uses all rows; ``"rhc"`` keeps the ``rhc/`` rows only
  (≈ 22 % fewer oscillation events).

Columns: reconstructed E_QE [MeV], true E_ν [MeV], baseline L [cm], weight.  **Weight
normalisation** (release convention, as in MiniBooNE's own fit code): an event contributes
weight / N_rows events at the release exposure (18.75e20 POT ν, 11.27e20 POT ν̄) for 100 %
transmutation, N_rows = number of rows of the file.  Checked in the tests: the fully oscillated
ν-mode count for 200 < E_QE < 1250 MeV is 2.60e5 (compare the ν_μ CCQE sample, 3.39e5 events in
the same exposure), and for the ``rhc`` subset the per-event value weight/N_rows agrees with
the ``rhc/`` file's own normalisation to 1e-5 (see the file header).

Signal per E_QE bin: s_k = sin²2θ Σ_{i ∈ k} (w_i/N) sin²(1.267 Δm²[eV²] L_i[m] / E_i[MeV]).
It enters the χ² exactly like a dark-sector signal (first block).  ν_μ disappearance and the
oscillation of the ν_e background are neglected (MiniBooNE's appearance-only convention).

Fit: Δm² × sin²2θ log grid (default 0.01–100 eV² × 1e-4–1, 61 × 61), grid minimum refined by a
bounded minimiser in (log Δm², log sin²2θ); ndof = bins − 2; contours Δχ² = 2.30, 6.18, 11.83
(1σ, 2σ, 3σ for 2 parameters, Wilks).
"""

from __future__ import annotations

import gzip
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import optimize, stats

from mesonportal.analysis.likelihood import STAT_TREATMENTS, get_likelihood
from mesonportal.analysis.miniboone_data import MODES, N_NUE_BINS, load_miniboone
from mesonportal.data import data_path
from mesonportal.exceptions import DataError, ParameterError

__all__ = [
    "OSC_MODES",
    "NUBAR_SAMPLES",
    "CONTOUR_LEVELS_2DOF",
    "DM2_RANGE_EV2",
    "S22_RANGE",
    "OscillationNtuple",
    "OscillationFit",
    "load_oscillation_ntuple",
    "appearance_probability",
    "full_transmutation_counts",
    "oscillation_signal",
    "fit_oscillation",
    "check_grid",
]

#: Modes with an oscillation ntuple in the release.
OSC_MODES: tuple[str, ...] = ("nu", "nubar")
NUBAR_SAMPLES: tuple[str, ...] = ("combined", "rhc")
#: Δχ² of the 1σ, 2σ, 3σ regions for two fitted parameters (χ²₂ quantiles of 68.27/95.45/99.73 %).
CONTOUR_LEVELS_2DOF: dict[str, float] = {
    "1sigma": float(stats.chi2.ppf(stats.norm.cdf(1) - stats.norm.cdf(-1), 2)),
    "2sigma": float(stats.chi2.ppf(stats.norm.cdf(2) - stats.norm.cdf(-2), 2)),
    "3sigma": float(stats.chi2.ppf(stats.norm.cdf(3) - stats.norm.cdf(-3), 2)),
}
DM2_RANGE_EV2 = (0.01, 100.0)
S22_RANGE = (1.0e-4, 1.0)
#: Phase Δm² L/(4E) in natural units = OSC_PHASE_COEFF · Δm²[eV²] L[m] / E[MeV], with
#: ħc = 197.3269804 MeV fm = 1.973269804e-7 eV m: 1 / (4 · 1e6 · 1.973269804e-7) = 1.26693.
OSC_PHASE_COEFF = 1.0 / (4.0e6 * 197.3269804e-15 * 1.0e6)
_MIN_POINTS = 5


@dataclass(frozen=True)
class OscillationNtuple:
    """Fully oscillated MC of one mode: per-event arrays; ``events`` = weight / N_rows
    [events at the release exposure for 100 % transmutation]."""

    mode: str
    sample: str
    e_qe_mev: np.ndarray
    e_true_mev: np.ndarray
    baseline_cm: np.ndarray
    events: np.ndarray
    n_rows_file: int


def _check_mode(mode: str) -> str:
    if mode not in OSC_MODES:
        raise ParameterError(f"mode {mode!r} has no oscillation ntuple in the MiniBooNE release; allowed: "
                             f"{', '.join(OSC_MODES)}")
    return mode


@lru_cache(maxsize=None)
def _raw(mode: str) -> np.ndarray:
    node = data_path(f"miniboone/oscillation/{mode}_fullosc_ntuple.txt.gz")
    with node.open("rb") as fh, gzip.open(fh, "rt", encoding="utf-8") as g:
        a = np.loadtxt(io.StringIO(g.read()), comments="#", ndmin=2)
    ncol = 4 if mode == "nu" else 5
    if a.shape[1] != ncol or not np.all(np.isfinite(a)):
        raise DataError(f"bundled oscillation ntuple for mode {mode!r} is malformed (shape {a.shape})")
    return a


@lru_cache(maxsize=None)
def load_oscillation_ntuple(mode: str, nubar_sample: str = "combined") -> OscillationNtuple:
    """Bundled fully oscillated ntuple of ``mode`` (``"nu"``/``"nubar"``); see module docstring.

    ``nubar_sample``: ``"combined"`` (default, every row of the release's combined-fit file) or
    ``"rhc"`` (only the rows of the ``rhc/`` file).  Ignored for ``nu``.
    """
    _check_mode(mode)
    if nubar_sample not in NUBAR_SAMPLES:
        raise ParameterError(f"nubar_sample = {nubar_sample!r}; allowed: {', '.join(NUBAR_SAMPLES)}")
    a = _raw(mode)
    n = len(a)
    keep = np.ones(n, bool) if (mode == "nu" or nubar_sample == "combined") else a[:, 4] == 1
    a = a[keep]
    frozen = []
    for j in range(4):
        col = np.ascontiguousarray(a[:, j] / n if j == 3 else a[:, j])
        col.setflags(write=False)
        frozen.append(col)
    return OscillationNtuple(mode, nubar_sample if mode == "nubar" else "fhc", *frozen, n_rows_file=n)


def appearance_probability(dm2_ev2: float | np.ndarray, sin2_2theta: float | np.ndarray,
                           baseline_cm: np.ndarray, e_mev: np.ndarray) -> np.ndarray:
    """Two-flavour short-baseline P(ν_μ → ν_e) = sin²2θ sin²(1.267 Δm²[eV²] L[m] / E[MeV]).
    ``baseline_cm`` in cm, ``e_mev`` in MeV (broadcast)."""
    return np.asarray(sin2_2theta) * np.sin(OSC_PHASE_COEFF * np.asarray(dm2_ev2)
                                            * np.asarray(baseline_cm) * 1e-2 / np.asarray(e_mev)) ** 2


def _bins(nt: OscillationNtuple) -> np.ndarray:
    edges = load_miniboone(nt.mode).eqe_edges_mev
    idx = np.searchsorted(edges, nt.e_qe_mev, side="right") - 1
    return np.where((nt.e_qe_mev >= edges[0]) & (nt.e_qe_mev < edges[-1]), idx, -1)


def full_transmutation_counts(mode: str, nubar_sample: str = "combined") -> np.ndarray:
    """Expected events per E_QE bin (11, MiniBooNE edges) for 100 % ν_μ → ν_e transmutation
    (sin²2θ = 1, ⟨sin²⟩ = 1) at the release exposure of ``mode``."""
    nt = load_oscillation_ntuple(mode, nubar_sample)
    b = _bins(nt)
    ok = b >= 0
    return np.bincount(b[ok], weights=nt.events[ok], minlength=N_NUE_BINS).astype(float)


def _sin2_table(mode: str, dm2_ev2: np.ndarray, nubar_sample: str) -> np.ndarray:
    """(K, 11): Σ_{i in bin} (w_i/N) sin²(1.267 Δm²_k L_i/E_i) for each Δm²_k (sin²2θ = 1)."""
    nt = load_oscillation_ntuple(mode, nubar_sample)
    b = _bins(nt)
    ok = b >= 0
    le = (nt.baseline_cm[ok] * 1e-2 / nt.e_true_mev[ok]) * OSC_PHASE_COEFF
    w, bb = nt.events[ok], b[ok]
    dm = np.atleast_1d(np.asarray(dm2_ev2, float))
    out = np.empty((dm.size, N_NUE_BINS))
    for k, d in enumerate(dm):
        out[k] = np.bincount(bb, weights=w * np.sin(d * le) ** 2, minlength=N_NUE_BINS)
    return out


def oscillation_signal(mode: str, dm2_ev2: float, sin2_2theta: float, nubar_sample: str = "combined") -> np.ndarray:
    """Expected oscillation events per E_QE bin (11) of ``mode`` at (Δm² [eV²], sin²2θ)."""
    check_point(dm2_ev2, sin2_2theta)
    return sin2_2theta * _sin2_table(mode, np.array([dm2_ev2]), nubar_sample)[0]


def check_point(dm2_ev2: float, sin2_2theta: float) -> None:
    if not (np.isfinite(dm2_ev2) and dm2_ev2 > 0):
        raise ParameterError(f"dm2_ev2 must be > 0 eV^2, got {dm2_ev2!r}")
    if not (np.isfinite(sin2_2theta) and 0 <= sin2_2theta <= 1):
        raise ParameterError(f"sin2_2theta must be in [0, 1], got {sin2_2theta!r}")


def check_grid(dm2_range: Sequence[float], s22_range: Sequence[float], n_dm2: int, n_s22: int) -> None:
    """One-line ParameterError for non-positive / decreasing ranges or too few points."""
    for name, (lo, hi), top in (("dm2_range", dm2_range, None), ("sin2_2theta_range", s22_range, 1.0)):
        if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
            raise ParameterError(f"{name} must be two increasing positive numbers, got ({lo}, {hi})")
        if top is not None and hi > top:
            raise ParameterError(f"{name} upper end must be <= {top}, got {hi}")
    for name, n in (("n_dm2", n_dm2), ("n_sin2_2theta", n_s22)):
        if int(n) != n or n < _MIN_POINTS:
            raise ParameterError(f"{name} must be an integer >= {_MIN_POINTS} grid points, got {n}")


@dataclass
class OscillationFit:
    """3+1 appearance fit of one analysis (``nu``, ``nubar`` or ``combined``)."""

    analysis: str
    modes: tuple[str, ...]
    dm2_grid: np.ndarray
    s22_grid: np.ndarray
    chi2_grid: np.ndarray  # (n_dm2, n_s22)
    best_dm2: float
    best_s22: float
    chi2_min: float
    chi2_no_oscillation: float
    n_bins: int
    stat: str
    nubar_sample: str
    signal_at_best: np.ndarray

    @property
    def ndof(self) -> int:
        return self.n_bins - 2

    @property
    def delta_chi2(self) -> float:
        return max(self.chi2_no_oscillation - self.chi2_min, 0.0)

    @property
    def p_value(self) -> float:
        return float(stats.chi2.sf(self.chi2_min, self.ndof))

    @property
    def significance_sigma(self) -> float:
        """Δχ² to no oscillation converted with 2 dof (Wilks): Z = Φ⁻¹(1 − p/2), p = P(χ²₂ ≥ Δχ²)."""
        p = float(stats.chi2.sf(self.delta_chi2, 2))
        return float(stats.norm.isf(p / 2.0)) if p > 0 else float("inf")

    def events(self, mode: str) -> float:
        """Oscillation events at the best fit, 200 < E_QE < 1250 MeV (first 9 bins), in ``mode``."""
        i = self.modes.index(mode)
        return float(np.sum(self.signal_at_best[i * N_NUE_BINS: i * N_NUE_BINS + 9]))

    def to_json(self, grid: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "analysis": self.analysis,
            "modes": list(self.modes),
            "best_fit": {"dm2_ev2": self.best_dm2, "sin2_2theta": self.best_s22, "chi2": self.chi2_min},
            "chi2_no_oscillation": self.chi2_no_oscillation,
            "delta_chi2": self.delta_chi2,
            "ndof": self.ndof,
            "n_bins": self.n_bins,
            "p_value": self.p_value,
            "significance_sigma_2dof": self.significance_sigma,
            "events_200_1250": {m: self.events(m) for m in self.modes},
            "signal_eqe_counts": [float(v) for v in self.signal_at_best],
        }
        if grid:
            out["grid"] = {"dm2_ev2": self.dm2_grid.tolist(), "sin2_2theta": self.s22_grid.tolist(),
                           "chi2": self.chi2_grid.tolist()}
        return out


def _fit_one(modes: tuple[str, ...], dm2: np.ndarray, s22: np.ndarray, stat: str, nubar_sample: str) -> OscillationFit:
    name = modes[0] if len(modes) == 1 else "combined"
    lk = get_likelihood(name, stat)
    tables = [_sin2_table(m, dm2, nubar_sample) for m in modes]
    T = np.concatenate(tables, axis=1)  # (n_dm2, 11 * len(modes))
    S = (T[:, None, :] * s22[None, :, None]).reshape(-1, T.shape[1])
    chi = lk.chi2_many(S).reshape(dm2.size, s22.size)
    chi0 = lk.chi2(np.zeros(T.shape[1]))
    i, j = np.unravel_index(int(np.argmin(chi)), chi.shape)

    def f(p: np.ndarray) -> float:
        d, s = math.exp(p[0]), math.exp(p[1])
        sig = np.concatenate([s * _sin2_table(m, np.array([d]), nubar_sample)[0] for m in modes])
        return lk.chi2(sig)

    bounds = [(math.log(dm2[max(i - 1, 0)]), math.log(dm2[min(i + 1, dm2.size - 1)])),
              (math.log(s22[max(j - 1, 0)]), math.log(s22[min(j + 1, s22.size - 1)]))]
    res = optimize.minimize(f, x0=[math.log(dm2[i]), math.log(s22[j])], method="L-BFGS-B", bounds=bounds)
    best_d, best_s, best_c = float(dm2[i]), float(s22[j]), float(chi[i, j])
    if float(res.fun) <= best_c:
        best_d, best_s, best_c = math.exp(res.x[0]), math.exp(res.x[1]), float(res.fun)
    sig = np.concatenate([best_s * _sin2_table(m, np.array([best_d]), nubar_sample)[0] for m in modes])
    return OscillationFit(name, modes, dm2, s22, chi, best_d, best_s, best_c, float(chi0),
                          lk.n_e + lk.n_mu, stat, nubar_sample, sig)


def fit_oscillation(
    modes: Sequence[str] = ("nu", "nubar"),
    *,
    dm2_range: Sequence[float] = DM2_RANGE_EV2,
    s22_range: Sequence[float] = S22_RANGE,
    n_dm2: int = 61,
    n_s22: int = 61,
    stat: str = "pearson",
    nubar_sample: str = "combined",
) -> dict[str, OscillationFit]:
    """3+1 appearance fits: each mode alone and, with both modes, the combined ν+ν̄ fit
    (60×60 covariance).  Returns ``{"nu": ..., "nubar": ..., "combined": ...}`` (those that apply).

    Grid: ``n_dm2`` × ``n_s22`` log-spaced points over ``dm2_range`` [eV²] × ``s22_range``.
    """
    ms = tuple(modes)
    if not ms or len(set(ms)) != len(ms):
        raise ParameterError(f"modes must be a non-empty list of distinct modes from {OSC_MODES}, got {list(ms)}")
    for m in ms:
        _check_mode(m)
    if stat not in STAT_TREATMENTS:
        raise ParameterError(f"stat must be one of {STAT_TREATMENTS}, got {stat!r}")
    if nubar_sample not in NUBAR_SAMPLES:
        raise ParameterError(f"nubar_sample = {nubar_sample!r}; allowed: {', '.join(NUBAR_SAMPLES)}")
    check_grid(dm2_range, s22_range, n_dm2, n_s22)
    ms = tuple(m for m in MODES if m in ms)
    dm2 = np.geomspace(float(dm2_range[0]), float(dm2_range[1]), int(n_dm2))
    s22 = np.geomspace(float(s22_range[0]), float(s22_range[1]), int(n_s22))
    out = {m: _fit_one((m,), dm2, s22, stat, nubar_sample) for m in ms}
    if len(ms) == 2:
        out["combined"] = _fit_one(ms, dm2, s22, stat, nubar_sample)
    return out


def conventions(nubar_sample: str = "combined", stat: str = "pearson") -> dict[str, str]:
    """Conventions stated in every output of the oscillation fit."""
    return {
        "probability": "P = sin^2(2theta) sin^2(1.267 dm2[eV^2] L[m] / E_true[MeV]), appearance only "
                       "(no nu_mu disappearance, nu_e background not oscillated)",
        "ntuple_normalisation": "event weight / N_rows = expected events at the release exposure for 100% transmutation",
        "nubar_sample": nubar_sample + (" (all rows of combined/miniboone_nubarfullosc_ntuple.txt)" if nubar_sample == "combined"
                                        else " (only the rows of rhc/miniboone_numubarnuebarfullosc_ntuple.txt)"),
        "chi2": f"MiniBooNE covariance chi2 (arXiv:2006.16883 release), statistical diagonal {stat!r}; combined = 60x60",
        "ndof": "bins (11 nu_e-like + 8 nu_mu per mode) - 2",
        "contours": "delta chi2 = 2.30, 6.18, 11.83 (1, 2, 3 sigma, 2 dof)",
    }
