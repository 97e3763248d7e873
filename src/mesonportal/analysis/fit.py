"""Fit of a dark-sector signal to the MiniBooNE low-energy excess (physics.md §5).

For fixed masses the only free parameter is the model's *coupling product* x (g_μ g_n λ [MeV⁻¹]
for the long-lived (pseudo)scalar, ε₁ε₂g′₂²/(4π) or ε₁²g′₁²/(4π) for inelastic DM). The signal
in MiniBooNE's 11 E_QE bins is ``SignalSample.enu_qe_counts(x)``: pure quadratic scaling
c_ref (x/x_ref)² for the long-lived X, per-event reweighting through ``weight_fn`` for idm.

Statistics (all choices stated in docs/fit.md):

* χ²(x) = MiniBooNE covariance χ² (:mod:`mesonportal.analysis.likelihood`, arXiv:2006.16883)
  of the signal vector; ``combined`` when both modes are fitted (signal [ν 11, ν̄ 11]).
  χ²_background = χ²(0).
* x ≥ 0 is scanned on a logarithmic grid (plus x = 0), vectorised with ``chi2_many``; the grid
  minimum is refined with a bounded Brent minimiser in log x.
* Intervals: the connected region around the best fit with Δχ² = χ² − χ²_min < 1 (1σ) and
  < 4 (2σ), edges by Brent root finding. If Δχ²(0) is below the level the interval starts at 0
  (kind ``"upper-limit"``); if the level is not reached inside the scanned (allowed) range the
  upper edge is ``None`` (kind ``"lower-limit"``).
* ndof = (number of bins in the χ²: 11 ν_e-like + 8 ν_μ per mode) − 1 fitted parameter; the
  background-only χ² has ndof_background = bins (19 per mode, 38 combined).
  p-value = P(χ²_ndof ≥ χ²_min). Significance of the signal over background only: Δχ² =
  χ²_background − χ²_min with one parameter on the boundary x ≥ 0 (Chernoff: ½χ²₀ + ½χ²₁),
  so the one-sided Z = √Δχ².
* Dump mode (arXiv:1807.06137, 1.86e20 POT, no excess observed): the point is called consistent
  if the predicted dump-mode events (all energies, efficiency included) are ≤ 2.3, the 90 % CL
  Poisson upper limit for zero observed signal events without background (a documented proxy:
  the dump-mode ν_e-like sample counts are not bundled). The ratio to the POT-scaled ν-mode
  prediction is reported as well.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, stats
from scipy.interpolate import CubicSpline

from mesonportal.analysis.likelihood import (
    MiniBooNECovarianceChi2,
    STAT_TREATMENTS,
    get_likelihood,
)
from mesonportal.analysis.miniboone_data import MODES, N_NUE_BINS, load_combined_fractional_covariance, load_miniboone
from mesonportal.analysis.prediction import EXCESS_WINDOW_MEV, SignalSample
from mesonportal.exceptions import DataError, MesonportalError, NoSensitivityError, ParameterError

__all__ = [
    "DELTA_CHI2_LEVELS",
    "DUMP_UPPER_LIMIT_EVENTS",
    "AnalysisFit",
    "FitResult",
    "fit_excess",
    "analysis_name",
    "asimov_likelihood",
    "model_at_coupling_product",
    "dump_consistency",
]

#: Δχ² levels of the reported intervals (one fitted parameter): 1σ and 2σ.
DELTA_CHI2_LEVELS: dict[str, float] = {"1sigma": 1.0, "2sigma": 4.0}
#: Dump-mode criterion: 90 % CL Poisson upper limit on the signal mean for 0 observed events and
#: no background (−ln 0.1 = 2.303); proxy for MiniBooNE's null dump-mode result, arXiv:1807.06137.
DUMP_UPPER_LIMIT_EVENTS: float = -math.log(0.10)
#: Range of the initial scan grid in expected signal events (all fitted bins), converted to x.
_GRID_EVENTS = (1.0e-3, 1.0e5)
_GRID_POINTS = 241
#: Reweighted (non-quadratic) predictions: x-dependent signal range probed by decades, and scan
#: points per decade (each point costs one weight_fn call per mode).
_PROBE_EVENTS = (1.0e-2, 1.0e4)
_PROBE_DECADES = 12
_POINTS_PER_DECADE = 20
_LAM_MAX = 1.0  # |λ| range of the scalar models [MeV⁻¹] (docs/models.md)
_MAX_EXTEND = 4  # extensions (by ~1.5 decades) tried when the minimum sits at the top of the grid


def analysis_name(modes: Sequence[str]) -> str:
    """``"nu"``, ``"nubar"`` or ``"combined"`` (both modes) for a tuple of beam modes."""
    ms = tuple(modes)
    if not ms or any(m not in MODES for m in ms) or len(set(ms)) != len(ms):
        raise ParameterError(f"modes must be a non-empty subset of {MODES} without repeats, got {list(ms)}")
    return ms[0] if len(ms) == 1 else "combined"


def _ordered(modes: Sequence[str]) -> tuple[str, ...]:
    analysis_name(modes)
    return tuple(m for m in MODES if m in modes)


# ====================================================================== likelihood helpers
def asimov_likelihood(analysis: str, signal: np.ndarray | None = None, stat: str = "pearson") -> MiniBooNECovarianceChi2:
    """MiniBooNE χ² with the bundled covariance and backgrounds but *Asimov* data:
    ν_e-like data = b_e + ``signal`` (events per bin, (11,) or (22,) for ``combined``) and
    ν_μ data = ν_μ prediction.  At the true signal χ² = 0 exactly (sensitivity studies, tests)."""
    if analysis not in ("nu", "nubar", "combined"):
        raise ParameterError(f"analysis must be 'nu', 'nubar' or 'combined', got {analysis!r}")
    if analysis == "combined":
        ds = [load_miniboone("nu"), load_miniboone("nubar")]
        F = load_combined_fractional_covariance()
    else:
        ds = [load_miniboone(analysis)]
        F = ds[0].fractional_covariance
    n1 = F.shape[0] // len(ds)
    ne = N_NUE_BINS
    nm = n1 - 2 * ne
    e, m = np.arange(ne), np.arange(nm)
    be = np.concatenate([d.nue_background for d in ds])
    bm = np.concatenate([d.numu_prediction for d in ds])
    s = np.zeros_like(be) if signal is None else np.asarray(signal, dtype=np.float64)
    if s.shape != be.shape:
        raise ParameterError(f"Asimov signal for {analysis!r} must have shape {be.shape}, got {s.shape}")
    offs = [k * n1 for k in range(len(ds))]
    return MiniBooNECovarianceChi2(
        F,
        sig_idx=np.concatenate([o + e for o in offs]),
        bkg_idx=np.concatenate([o + ne + e for o in offs]),
        mu_idx=np.concatenate([o + 2 * ne + m for o in offs]),
        nue_data=be + s,
        nue_background=be,
        numu_data=bm,
        numu_prediction=bm,
        stat=stat,
        label=f"asimov-{analysis}",
    )


# ====================================================================== signal bookkeeping
class _Signal:
    """Signal counts per mode as a function of x, with a cache (weight_fn may be costly)."""

    def __init__(self, samples: Mapping[str, SignalSample]) -> None:
        self.samples = dict(samples)
        self._cache: dict[tuple[str, float], np.ndarray] = {}
        self._ref = {m: s.enu_qe_counts() for m, s in self.samples.items()}

    def quadratic(self, mode: str) -> bool:
        return self.samples[mode].weight_fn is None

    def counts(self, mode: str, x: float) -> np.ndarray:
        s = self.samples[mode]
        if x == 0.0:
            return np.zeros(N_NUE_BINS)
        if s.weight_fn is None:
            return self._ref[mode] * (x / s.coupling_product_ref) ** 2
        key = (mode, float(x))
        if key not in self._cache:
            c = np.asarray(s.enu_qe_counts(x), dtype=np.float64)
            if not np.all(np.isfinite(c)):
                raise ParameterError(f"signal prediction for mode {mode!r} is not finite at coupling product {x:.4g}")
            self._cache[key] = c
        return self._cache[key]

    def vector(self, modes: Sequence[str], x: float) -> np.ndarray:
        return np.concatenate([self.counts(m, x) for m in modes])

    def matrix(self, modes: Sequence[str], xs: np.ndarray) -> np.ndarray:
        return np.stack([self.vector(modes, float(x)) for x in xs])


def _check_samples(samples: Mapping[str, SignalSample], modes: Sequence[str]) -> None:
    for m in modes:
        if m not in samples:
            raise ParameterError(f"no signal sample for mode {m!r}; given: {sorted(samples)}")
    for m, s in samples.items():
        if m not in MODES:
            raise ParameterError(f"signal sample key {m!r} is not a MiniBooNE target mode {MODES}")
        if s.mode != m:
            raise ParameterError(f"signal sample under key {m!r} is for mode {s.mode!r}")
        pot_data = load_miniboone(m).pot
        if not (s.pot > 0) or abs(s.pot / pot_data - 1.0) > 1e-6:
            raise ParameterError(
                f"signal sample for mode {m!r} has pot = {s.pot:.6g} but the MiniBooNE data correspond "
                f"to {pot_data:.6g} POT; predict with the MiniBooNE exposure"
            )
        if s.weight_fn is None and not (np.isfinite(s.coupling_product_ref) and s.coupling_product_ref != 0.0):
            raise NoSensitivityError(
                f"signal sample for mode {m!r} has reference coupling product {s.coupling_product_ref!r}: "
                "cannot rescale a prediction made at zero coupling"
            )
        w = s.columns["weight"]
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ParameterError(f"signal sample for mode {m!r} has non-finite or negative weights")


def _x_scale(samples: Mapping[str, SignalSample]) -> float:
    return abs(float(next(iter(samples.values())).coupling_product_ref))


# ====================================================================== results
@dataclass
class AnalysisFit:
    """Fit of one analysis (``nu``, ``nubar`` or ``combined``); x in the model's coupling units.

    ``interval_*``: [low, high] (high None when not reached in the scanned range);
    ``interval_kind_*``: ``"two-sided"``, ``"upper-limit"`` (starts at 0), ``"lower-limit"`` (open
    upwards) or ``"unbounded"``; ``interval_connected``: False if disjoint Δχ² < 4 regions exist
    elsewhere on the scan (non-monotone idm predictions).
    """

    analysis: str
    modes: tuple[str, ...]
    best_fit: float
    chi2_min: float
    chi2_background: float
    n_bins: int
    ndof: int
    interval_1sigma: list[float | None]
    interval_2sigma: list[float | None]
    interval_kind_1sigma: str
    interval_kind_2sigma: str
    interval_connected: bool
    at_scan_edge: bool
    x_max_allowed: float | None
    scan_x: np.ndarray
    scan_chi2: np.ndarray
    signal_counts: np.ndarray

    @property
    def delta_chi2(self) -> float:
        """χ²_background − χ²_min (≥ 0)."""
        return max(self.chi2_background - self.chi2_min, 0.0)

    @property
    def p_value(self) -> float:
        """Goodness of fit of the best fit, P(χ²_ndof ≥ χ²_min)."""
        return float(stats.chi2.sf(self.chi2_min, self.ndof))

    @property
    def ndof_background(self) -> int:
        """Degrees of freedom of the background-only χ²: all bins (no fitted parameter)."""
        return self.ndof + 1

    @property
    def p_value_background(self) -> float:
        """Goodness of fit of background only, P(χ²_(ndof+1) ≥ χ²_background)."""
        return float(stats.chi2.sf(self.chi2_background, self.ndof_background))

    @property
    def significance_sigma(self) -> float:
        """One-sided significance of signal over background only, √Δχ² (1 parameter, x ≥ 0)."""
        return math.sqrt(self.delta_chi2)

    def to_json(self, units: str = "", scan: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "analysis": self.analysis,
            "modes": list(self.modes),
            "coupling_product": self.best_fit,
            "units": units,
            "interval_1sigma": list(self.interval_1sigma),
            "interval_2sigma": list(self.interval_2sigma),
            "interval_kind_1sigma": self.interval_kind_1sigma,
            "interval_kind_2sigma": self.interval_kind_2sigma,
            "interval_connected": self.interval_connected,
            "chi2": self.chi2_min,
            "chi2_background": self.chi2_background,
            "delta_chi2": self.delta_chi2,
            "ndof": self.ndof,
            "ndof_background": self.ndof_background,
            "n_bins": self.n_bins,
            "p_value": self.p_value,
            "p_value_background": self.p_value_background,
            "significance_sigma": self.significance_sigma,
            "at_scan_edge": self.at_scan_edge,
            "x_max_allowed": self.x_max_allowed,
            "signal_eqe_counts": [float(v) for v in self.signal_counts],
        }
        if scan:
            out["scan"] = {"coupling_product": [float(v) for v in self.scan_x],
                           "chi2": [float(v) for v in self.scan_chi2]}
        return out


@dataclass
class FitResult:
    """Result of :func:`fit_excess`; ``to_json()`` gives the ``fit --json`` layout."""

    model: str
    params: dict[str, Any]
    units: str
    stat: str
    best: AnalysisFit
    fits_by_mode: dict[str, AnalysisFit]
    events: dict[str, float | None]
    dump: dict[str, Any] | None = None
    pienu: dict[str, Any] | None = None
    benchmark: str | None = None
    notes: list[str] = field(default_factory=list)
    #: constraint name → :func:`mesonportal.analysis.constraints.evaluate_constraint` at the best fit
    constraints: dict[str, Any] = field(default_factory=dict)
    #: conventions of the predictions (e.g. ``dirt``) that change results
    prediction_conventions: dict[str, Any] = field(default_factory=dict)
    #: constraint name → the prediction it was evaluated on (not serialised)
    constraint_samples: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def coupling_product(self) -> float:
        return self.best.best_fit

    @property
    def pienu_allowed(self) -> bool | None:
        return None if self.pienu is None else bool(self.pienu.get("allowed"))

    def to_json(self, scan: bool = True) -> dict[str, Any]:
        b = self.best
        return {
            "model": self.model,
            "benchmark": self.benchmark,
            "params": self.params,
            "analysis": b.analysis,
            "stat": self.stat,
            "best_fit": {
                "coupling_product": b.best_fit,
                "units": self.units,
                "interval_1sigma": list(b.interval_1sigma),
                "interval_2sigma": list(b.interval_2sigma),
                "interval_kind_1sigma": b.interval_kind_1sigma,
                "interval_kind_2sigma": b.interval_kind_2sigma,
                "chi2": b.chi2_min,
                "chi2_background": b.chi2_background,
                "delta_chi2": b.delta_chi2,
                "ndof": b.ndof,
                "ndof_background": b.ndof_background,
                "p_value": b.p_value,
                "p_value_background": b.p_value_background,
                "significance_sigma": b.significance_sigma,
            },
            "events": dict(self.events),
            "events_note": "expected events at the best fit: nu/nubar 200 < E_QE < 1250 MeV, dump all energies",
            "dump": self.dump,
            "pienu_allowed": self.pienu_allowed,
            "pienu": self.pienu,
            "fits_by_mode": {k: v.to_json(self.units, scan=scan) for k, v in self.fits_by_mode.items()},
            "conventions": {
                "chi2": "MiniBooNE covariance chi2 (arXiv:2006.16883 release), statistical diagonal "
                        f"{self.stat!r}; combined = 60x60 nu+nubar matrix",
                "ndof": "bins in the chi2 (11 nu_e-like + 8 nu_mu per mode) - 1 (one fitted parameter); "
                        "ndof_background = bins (background only: no fitted parameter)",
                "significance": "sqrt(chi2_background - chi2_min), one parameter on the boundary x >= 0",
                "intervals": "connected region around the best fit with delta chi2 < 1 (1 sigma), < 4 (2 sigma)",
                "dump_criterion": (f"predicted dump-mode events (all energies) <= {DUMP_UPPER_LIMIT_EVENTS:.2f}: "
                                   "90% CL Poisson limit for 0 observed, no background (proxy for arXiv:1807.06137)"),
            },
            "notes": list(self.notes),
            "constraints": {k: {kk: vv for kk, vv in v.items() if scan or kk != "scan"}
                            for k, v in self.constraints.items()},
            "prediction_conventions": dict(self.prediction_conventions),
        }


# ====================================================================== the fit
def _root(f, a: float, b: float, log: bool) -> float:
    if log:
        return float(math.exp(optimize.brentq(lambda t: f(math.exp(t)), math.log(a), math.log(b), xtol=1e-12, rtol=1e-12)))
    return float(optimize.brentq(f, a, b, xtol=1e-30, rtol=1e-12))


def _fit_one(
    sig: _Signal, modes: tuple[str, ...], lk: MiniBooNECovarianceChi2, grid: np.ndarray, x_max_allowed: float | None
) -> AnalysisFit:
    analysis = analysis_name(modes)
    if lk.n_e != N_NUE_BINS * len(modes):
        raise ParameterError(f"likelihood {lk.label!r} expects {lk.n_e} signal bins, the {analysis} fit gives "
                             f"{N_NUE_BINS * len(modes)}")
    xs = np.concatenate([[0.0], grid])
    S = sig.matrix(modes, xs)
    if not np.any(S[1:] > 0):
        raise NoSensitivityError(
            f"the prediction is zero in every MiniBooNE E_QE bin (200-3000 MeV) for modes {','.join(modes)} "
            f"over the scanned coupling products {grid[0]:.3g}-{grid[-1]:.3g}: nothing to fit"
        )
    try:
        chi = lk.chi2_many(S)
    except DataError as exc:
        raise DataError(f"{exc}; check edited MiniBooNE data/covariance files") from None
    chi_bkg = float(chi[0])

    # off-grid signal: exact for quadratic scaling; for reweighted samples a cubic spline of the
    # per-bin counts in log x through the (exact) scan points — avoids hundreds of weight_fn calls
    splines = {m: CubicSpline(np.log(grid), np.stack([sig.counts(m, float(x)) for x in grid]), axis=0)
               for m in modes if not sig.quadratic(m) and len(grid) >= 4}

    def vec(x: float) -> np.ndarray:
        parts = []
        for m in modes:
            if m in splines and grid[0] <= x <= grid[-1]:
                parts.append(np.maximum(splines[m](math.log(x)), 0.0))
            else:
                parts.append(sig.counts(m, x))
        return np.concatenate(parts)

    def f(x: float) -> float:
        return lk.chi2(vec(x)) if x > 0 else chi_bkg

    k = int(np.argmin(chi))
    best, chi_min = float(xs[k]), float(chi[k])
    at_edge = k == len(xs) - 1
    if 0 < k < len(xs) - 1:
        lo = xs[k - 1] if k > 1 else xs[1] * 1e-3
        res = optimize.minimize_scalar(lambda t: f(math.exp(t)), bounds=(math.log(lo), math.log(xs[k + 1])),
                                       method="bounded", options={"xatol": 1e-10})
        if res.fun <= chi_min:
            best, chi_min = float(math.exp(res.x)), float(res.fun)
    elif k == 0:
        best, chi_min = 0.0, chi_bkg
    ndof = lk.n_e + lk.n_mu - 1

    intervals: dict[str, list[float | None]] = {}
    kinds: dict[str, str] = {}
    for name, level in DELTA_CHI2_LEVELS.items():
        def g(x: float, level: float = level) -> float:
            return f(x) - chi_min - level
        d = chi - chi_min - level
        # lower edge: the closest scan point below the best fit with Δχ² above the level
        # (x = 0 itself is excluded: with an x-independent part of the signal, e.g. scalar decays
        # in the detector, χ² jumps between x = 0 and 0⁺; the interval then starts at 0)
        below = np.nonzero((xs > 0) & (xs < best) & (d > 0))[0]
        lower: float = 0.0
        if below.size:
            j = int(below[-1])
            a, b = float(xs[j]), min(float(xs[j + 1]), best)
            lower = _root(g, a, b, log=a > 0) if g(b) < 0 else b
        # upper edge: the closest scan point above the best fit with Δχ² above the level
        above = np.nonzero((xs > best) & (d > 0))[0]
        upper: float | None = None
        if above.size:
            j = int(above[0])
            a, b = max(float(xs[j - 1]), best), float(xs[j])
            upper = _root(g, a, b, log=a > 0) if g(a) < 0 else a
        intervals[name] = [lower, upper]
        if upper is None:
            kinds[name] = "unbounded" if lower == 0.0 else "lower-limit"
        else:
            kinds[name] = "upper-limit" if lower == 0.0 else "two-sided"
    lo2, hi2 = intervals["2sigma"]
    outside = (xs < lo2 - 1e-12 * max(lo2, 1e-300)) | (xs > (hi2 if hi2 is not None else np.inf))
    connected = not bool(np.any(outside & (chi - chi_min < DELTA_CHI2_LEVELS["2sigma"])))
    return AnalysisFit(
        analysis=analysis, modes=modes, best_fit=best, chi2_min=chi_min, chi2_background=chi_bkg,
        n_bins=lk.n_e + lk.n_mu, ndof=ndof,
        interval_1sigma=intervals["1sigma"], interval_2sigma=intervals["2sigma"],
        interval_kind_1sigma=kinds["1sigma"], interval_kind_2sigma=kinds["2sigma"],
        interval_connected=connected, at_scan_edge=at_edge, x_max_allowed=x_max_allowed,
        scan_x=xs, scan_chi2=chi, signal_counts=vec(best) if best > 0 else np.zeros(lk.n_e),
    )


def _total(sig: _Signal, modes: Sequence[str], x: float) -> float | None:
    """Total expected signal events in the fitted bins at x (None if the model rejects x)."""
    try:
        return float(np.sum(sig.vector(modes, x)))
    except ParameterError:
        return None


def _grid(sig: _Signal, modes: Sequence[str]) -> tuple[np.ndarray, float | None]:
    """Log grid of x for the scan.

    Quadratic scaling: 241 points covering 1e-3 … 1e5 expected signal events.  Reweighted
    samples: the x-dependent part of the signal (total minus its x → 0 limit) is probed by
    decades from x_ref until it exceeds 1e4 events (or the model rejects x, e.g. g′ > 4π) and
    drops below 1e-2 events; 20 points per decade.  Truncated where the model rejects x."""
    x_ref = _x_scale(sig.samples)
    if all(sig.quadratic(m) for m in modes):
        n_ref = float(sum(np.sum(sig._ref[m]) for m in modes))
        if not (n_ref > 0 and np.isfinite(n_ref)):
            raise NoSensitivityError(
                f"the prediction is zero in every MiniBooNE E_QE bin (200-3000 MeV) for modes "
                f"{','.join(modes)} at the reference coupling product {x_ref:.4g}: nothing to fit"
            )
        lo = x_ref * math.sqrt(_GRID_EVENTS[0] / n_ref)
        hi = x_ref * math.sqrt(_GRID_EVENTS[1] / n_ref)
        return _truncate(sig, modes, np.geomspace(lo, hi, _GRID_POINTS))
    if not x_ref > 0:
        raise NoSensitivityError("reference coupling product is 0: cannot place the scan")
    base = _total(sig, modes, x_ref * 10.0 ** -_PROBE_DECADES) or 0.0
    hi = x_ref * 10.0 ** _PROBE_DECADES
    for k in range(_PROBE_DECADES + 1):
        x = x_ref * 10.0 ** k
        n = _total(sig, modes, x)
        if n is None or n - base >= _PROBE_EVENTS[1]:
            hi = x
            break
    lo = x_ref * 10.0 ** -_PROBE_DECADES
    for k in range(1, _PROBE_DECADES + 1):
        x = x_ref * 10.0 ** -k
        n = _total(sig, modes, x)
        if n is not None and abs(n - base) <= _PROBE_EVENTS[0]:
            lo = x
            break
    npts = max(int(round(_POINTS_PER_DECADE * math.log10(hi / lo))) + 1, 41)
    return _truncate(sig, modes, np.geomspace(lo, hi, npts))


def _truncate(sig: _Signal, modes: Sequence[str], grid: np.ndarray) -> tuple[np.ndarray, float | None]:
    if all(sig.quadratic(m) for m in modes):
        return grid, None
    for i, x in enumerate(grid):
        try:
            sig.vector(modes, float(x))
        except ParameterError:
            if i < 2:
                raise
            return grid[:i], float(grid[i - 1])
    return grid, None


def model_at_coupling_product(model: Any, x: float) -> Any:
    """The model with its fitted coupling product set to ``x``.

    Conventions (the fit constrains only the product, so one must be chosen):

    * idm: :meth:`VectorInelasticDM.with_coupling_product` (rescales g′₂ or g′₁ at fixed ε, g);
    * scalar / pseudoscalar: g_μ, g_e and g_n kept at the reference, λ scaled by x / x_ref (the
      convention of :func:`mesonportal.analysis.predict.predict_signal`) — production BRs and the
      X lifetime (set by g_μ, g_e) stay fixed, the Primakoff rate scales as x², and PIENU
      (∝ g_μ²) does not change with x.  If |λ| would exceed its range (1 MeV⁻¹), λ is set to ±1
      and g_n carries the rest (ParameterError if g_n then exceeds 4π).
    """
    if hasattr(model, "with_coupling_product"):
        return model.with_coupling_product(x)
    x_ref = float(model.coupling_product)
    if x_ref == 0.0:
        raise ParameterError("cannot rescale a model whose coupling product g_mu g_n lam is 0")
    lam = model.lam * (x / x_ref)
    if abs(lam) <= _LAM_MAX:
        return dataclasses.replace(model, lam=lam)
    # beyond the λ range: λ at its bound, the rest in g_n (the weights do not change: the
    # Primakoff rate depends on g_n λ, the decays on g_μ only)
    lam = math.copysign(_LAM_MAX, lam)
    return dataclasses.replace(model, lam=lam, g_n=x / (model.g_mu * lam))


def _pienu(model: Any, x: float) -> dict[str, Any] | None:
    from mesonportal.production.limits import pion_branching_ratios

    out: dict[str, Any]
    try:
        m = model_at_coupling_product(model, x) if x > 0 else model
        out = dict(pion_branching_ratios(m))
        out["evaluated_at"] = "best fit" if x > 0 else "reference couplings (best fit is 0)"
    except MesonportalError as exc:
        try:
            out = dict(pion_branching_ratios(model))
        except Exception:  # noqa: BLE001 - a model without pion channels has no PIENU statement
            return None
        out["evaluated_at"] = f"reference couplings ({exc})"
    except Exception:  # noqa: BLE001
        return None
    out["convention"] = (
        "idm: g' rescaled at fixed eps, g (with_coupling_product)" if hasattr(model, "with_coupling_product")
        else "scalar/pseudoscalar: g_mu, g_n fixed at the reference, lam scaled by x/x_ref (as predict_signal); "
             "PIENU depends on g_mu only, so the verdict is independent of the fitted product"
    )
    return _jsonable(out)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def dump_consistency(dump: SignalSample, x: float, nu: SignalSample | None = None,
                     observed_nu_excess: float | None = None) -> dict[str, Any]:
    """Dump-mode events at coupling product ``x`` and the consistency verdict (module docstring).

    ``events``: expected events for ``dump.pot`` (all energies); ``consistent``: events ≤
    :data:`DUMP_UPPER_LIMIT_EVENTS`; ``ratio_to_scaled_nu_prediction``: dump events divided by the
    ν-mode prediction (200 < E_QE < 1250 MeV) scaled to the dump POT (per-POT ratio)."""
    if dump.mode != "dump":
        raise ParameterError(f"dump sample must have mode 'dump', got {dump.mode!r}")
    if not dump.pot > 0:
        raise ParameterError(f"dump sample pot = {dump.pot!r} must be > 0")
    t = dump.totals(x) if x > 0 else {"events_total": 0.0, "mc_stat_error": 0.0}
    n = float(t["events_total"])
    out: dict[str, Any] = {
        "pot": float(dump.pot),
        "events": n,
        "events_mc_stat_error": float(t["mc_stat_error"]),
        "upper_limit_events": DUMP_UPPER_LIMIT_EVENTS,
        "consistent": bool(n <= DUMP_UPPER_LIMIT_EVENTS),
        "signal_split": dump.signal_split(x) if x > 0 else None,
        "criterion": "events (all energies) <= 2.30 = 90% CL Poisson limit, 0 observed, no background "
                     "(proxy for MiniBooNE's null dump-mode result, arXiv:1807.06137)",
    }
    if nu is not None:
        n_nu = float(nu.totals(x)["events_200_1250"]) if x > 0 else 0.0
        scaled = n_nu * dump.pot / nu.pot
        out["nu_prediction_scaled_to_dump_pot"] = scaled
        out["ratio_to_scaled_nu_prediction"] = (n / scaled) if scaled > 0 else None
        if observed_nu_excess is not None:
            out["observed_nu_excess_scaled_to_dump_pot"] = observed_nu_excess * dump.pot / nu.pot
    return out


def fit_excess(
    samples: Mapping[str, SignalSample],
    modes: Sequence[str] = ("nu", "nubar"),
    dump: SignalSample | None = None,
    stat: str = "pearson",
    *,
    model: Any = None,
    benchmark: str | None = None,
    likelihoods: Mapping[str, MiniBooNECovarianceChi2] | None = None,
    per_mode: bool = True,
) -> FitResult:
    """Fit the coupling product to the MiniBooNE E_QE excess (see the module docstring).

    Parameters
    ----------
    samples : mode (``"nu"``/``"nubar"``) → :class:`SignalSample` with the MiniBooNE exposure
        of that mode (checked) and weights in events/POT at ``coupling_product_ref``.
    modes : modes of the main fit; both → ``combined`` analysis (signal [ν 11, ν̄ 11]).
    dump : optional dump-mode sample (``pot`` = 1.86e20 for MiniBooNE) for the dump verdict.
    stat : statistical diagonal of the χ² (``"pearson"``, ``"cnp"``, ``"none"``).
    model : optional model object; when given, ``pienu`` is evaluated at the best fit
        (:func:`model_at_coupling_product`).
    likelihoods : optional override analysis name → χ² object (e.g. :func:`asimov_likelihood`).
    per_mode : also fit ν alone and ν̄ alone (``fits_by_mode``) when both modes are fitted.

    Raises NoSensitivityError if the prediction is zero in every fitted bin, DataError if the
    covariance is not positive definite, ParameterError for inconsistent inputs.
    """
    if stat not in STAT_TREATMENTS:
        raise ParameterError(f"stat must be one of {STAT_TREATMENTS}, got {stat!r}")
    modes = _ordered(modes)
    _check_samples(samples, modes)
    sig = _Signal({m: samples[m] for m in MODES if m in samples})
    main = analysis_name(modes)

    def lk_for(name: str) -> MiniBooNECovarianceChi2:
        if likelihoods is not None and name in likelihoods:
            return likelihoods[name]
        return get_likelihood(name, stat)

    grid, x_max = _grid(sig, modes)
    fits: dict[str, AnalysisFit] = {}
    analyses: list[tuple[str, ...]] = [modes]
    if per_mode and len(modes) > 1:
        analyses += [(m,) for m in modes]
    notes: list[str] = []
    for ms in analyses:
        name = analysis_name(ms)
        try:
            fits[name] = _fit_one(sig, ms, lk_for(name), grid, x_max)
        except NoSensitivityError:
            if ms == modes:
                raise
            notes.append(f"no sensitivity in the {name}-only fit (prediction zero in all its bins)")
    best = fits[main]
    # extend upwards if the minimum sits at the top of the grid (non-quadratic predictions)
    n_ext = 0
    while best.at_scan_edge and x_max is None and n_ext < _MAX_EXTEND:
        step = grid[1] / grid[0]
        ext = grid[-1] * step ** np.arange(1, 1 + max(int(1.5 * math.log(10.0) / math.log(step)), 2))
        try:
            ext, x_max = _truncate(sig, modes, ext)
        except ParameterError:
            x_max = float(grid[-1])
            break
        grid = np.concatenate([grid, ext])
        fits = {k: _fit_one(sig, v.modes, lk_for(k), grid, x_max) for k, v in fits.items()}
        best = fits[main]
        n_ext += 1
    if best.at_scan_edge:
        notes.append("best fit at the upper end of the scanned/allowed coupling range")
    x = best.best_fit
    events: dict[str, float | None] = {}
    for m in MODES:
        events[m] = float(samples[m].totals(x)["events_200_1250"]) if (m in samples and x > 0) else (0.0 if m in samples else None)
    dump_info = None
    if dump is not None:
        from mesonportal.analysis.likelihood import background_summary

        obs = background_summary("nu", EXCESS_WINDOW_MEV).excess if "nu" in samples else None
        dump_info = dump_consistency(dump, x, samples.get("nu"), obs)
        events["dump"] = dump_info["events"]
    else:
        events["dump"] = None
    ref = next(iter(samples.values()))
    pienu = _pienu(model, x) if model is not None else None
    return FitResult(
        model=str(ref.model.get("model", "unknown")),
        params=_jsonable(dict(ref.model.get("params", {}))),
        units=ref.coupling_units,
        stat=stat,
        best=best,
        fits_by_mode=fits,
        events=events,
        dump=_jsonable(dump_info) if dump_info is not None else None,
        pienu=pienu,
        benchmark=benchmark,
        notes=notes,
    )
