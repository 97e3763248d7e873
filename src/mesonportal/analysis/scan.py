"""Parameter scans over (mass, coupling) grids: one work unit per mass point.

A scan is a :class:`ScanSpec`: an experiment, a model name, fixed model parameters and grid
axes (:func:`parse_axis`, ``NAME=LOG:start:stop:n`` / ``NAME=LIN:start:stop:n`` /
``NAME=v1,v2,...``).  At most one axis is the coupling axis ``coupling_product`` — the product
the fits report (scalar/pseudoscalar: g_μ g_n λ [MeV⁻¹]; idm: ε₁ε₂g′₂²/(4π) or ε₁²g′₁²/(4π));
every other axis is a model parameter ("mass axes").  A **mass point** fixes all the other
axes; it is the unit of work:

1. build the reference model ``make_model(model, **fixed, **mass_point)``;
2. predict the reconstructed signal for ν, ν̄ and dump mode with the same ``seed`` (the mesons
   come from the on-disk cache, so only the dark-sector stages run);
3. for every coupling value x, reweight (``SignalSample.weights(x)``: exact (x/x_ref)² for the
   long-lived (pseudo)scalar, ``weight_fn`` for idm) and evaluate the MiniBooNE covariance χ²
   (ν, ν̄, combined; vectorised with ``chi2_many``), the events per mode (ν/ν̄: 200 < E_QE <
   1250 MeV; dump: all) and the PIENU flag.

Which coupling absorbs the product (``rescale``) matters only for the PIENU flag (and for the
validity of the long-lived approximation, which the prediction assumes):

* scalar/pseudoscalar, ``rescale="lam"`` (default; the convention of ``predict_signal`` and of
  the fit, docs/fit.md): g_μ, g_e, g_n fixed, λ = x/(g_μ g_n).  The pion branching ratios and
  the X lifetime depend on g_μ, g_e only, so the PIENU flag is that of the reference model (a
  function of the mass and the fixed g_μ, g_e);
* ``rescale="g_n_lam"``: g_n and λ both scaled by √(x/x_ref) (same PIENU behaviour; keeps both
  within their ranges longer);
* ``rescale="g_n"``: g_n = x/(g_μ λ) (same PIENU behaviour).

  g_μ is never rescaled: it sets the production rate *and* the X lifetime, and
  ``predict_signal``'s reweighting (Primakoff events ∝ x², decays inside the detector fixed)
  holds only at fixed g_μ.  All three choices therefore give the same χ², events and PIENU flag;
  they differ only in the reported ``rescaled_value``;
* idm: always the inelastic coupling g′ (``VectorInelasticDM.with_coupling_product``); meson
  production (∝ ε₁²) and hence the PIENU flag do not change with x.

The value of the rescaled coupling at each point is stored in the output (column
``rescaled_value``: λ for ``g_n_lam``, whose g_n = x/(g_μ λ) follows; g′ for idm) so that points
outside a model's allowed coupling range (|λ| ≤ 1 MeV⁻¹, |g| ≤ 4π) can be recognised.

Determinism: every random number comes from ``seed`` inside the work unit (never from worker
state), so serial and Dask runs give bitwise identical rows.

Allocation reuse (``ScanSpec.allocation_reuse``, default ``every:4``;
:mod:`mesonportal.analysis.scan_reuse`): a mass point may take the meson allocation of an anchor
mass point (a function of the grid only, so determinism holds) instead of running its own pilot;
every point's achieved MC error is then verified and topped up if above the target.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from mesonportal import __version__
from mesonportal.analysis.prediction import EXCESS_WINDOW_MEV, HISTOGRAMS
from mesonportal.exceptions import ConfigError, ParameterError, ScanInterrupted

__all__ = [
    "COUPLING_AXIS",
    "MODES",
    "DELTA_CHI2_2DOF",
    "Axis",
    "MassPoint",
    "ScanSpec",
    "parse_axis",
    "model_coupling_product",
    "default_rescale",
    "evaluate_mass_point",
    "evaluate_couplings",
    "CouplingReweighter",
    "toy_predictor",
    "run_scan",
    "ScanSummary",
]

#: Name of the coupling axis (the fit's coupling product).
COUPLING_AXIS = "coupling_product"
#: Beam modes predicted per mass point.
MODES = ("nu", "nubar", "dump")
#: Δχ² levels of the 1σ, 2σ, 3σ (68.27, 95.45, 99.73 %) regions for 2 degrees of freedom.
DELTA_CHI2_2DOF = {"1sigma": 2.30, "2sigma": 6.18, "3sigma": 11.83}
_SCALAR_RESCALE = ("lam", "g_n_lam", "g_n")

Predictor = Callable[..., Any]


# ============================================================================== grid axes
@dataclass(frozen=True)
class Axis:
    """One grid axis: ``name``, its ``values`` (sorted as given) and ``scale`` ("log"/"lin")."""

    name: str
    values: tuple[float, ...]
    scale: str
    spec: str

    def __len__(self) -> int:
        return len(self.values)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "values": list(self.values), "scale": self.scale, "spec": self.spec}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Axis":
        return cls(d["name"], tuple(float(v) for v in d["values"]), d["scale"], d["spec"])


def _num(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ParameterError(f"grid axis {what}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise ParameterError(f"grid axis {what}: {text!r} must be finite")
    return v


def parse_axis(text: str) -> Axis:
    """Parse ``NAME=LOG:start:stop:n``, ``NAME=LIN:start:stop:n`` (n ≥ 1 points, both ends
    included, LOG needs 0 < start, stop) or ``NAME=v1,v2,...`` (explicit values; log scale if
    all > 0 and max/min ≥ 100)."""
    if not isinstance(text, str) or "=" not in text:
        raise ParameterError(f"grid axis {text!r} must have the form NAME=LOG:start:stop:n, "
                             "NAME=LIN:start:stop:n or NAME=v1,v2,...")
    name, _, rhs = text.partition("=")
    name, rhs = name.strip(), rhs.strip()
    if not name.isidentifier():
        raise ParameterError(f"grid axis {text!r}: {name!r} is not a valid parameter name")
    head = rhs.split(":")[0].upper()
    if head in ("LOG", "LIN"):
        parts = rhs.split(":")
        if len(parts) != 4:
            raise ParameterError(f"grid axis {text!r} must be {name}={head}:start:stop:n")
        start, stop = _num(parts[1], f"{name} start"), _num(parts[2], f"{name} stop")
        try:
            n = int(parts[3])
        except ValueError:
            raise ParameterError(f"grid axis {text!r}: n = {parts[3]!r} must be an integer >= 1") from None
        if n < 1 or n > 100_000:
            raise ParameterError(f"grid axis {text!r}: n = {n} out of range [1, 100000]")
        if n == 1 and start != stop:
            raise ParameterError(f"grid axis {text!r}: one point needs start == stop "
                                 f"(e.g. {name}={head}:{parts[1]}:{parts[1]}:1 or {name}={parts[1]})")
        if head == "LOG":
            if start <= 0 or stop <= 0:
                raise ParameterError(f"grid axis {text!r}: LOG needs start, stop > 0")
            vals = np.geomspace(start, stop, n) if n > 1 else np.array([start])
            scale = "log"
        else:
            vals = np.linspace(start, stop, n) if n > 1 else np.array([start])
            scale = "lin"
    else:
        items = [s for s in rhs.split(",") if s.strip()]
        if not items:
            raise ParameterError(f"grid axis {text!r} has no values")
        vals = np.array([_num(s.strip(), name) for s in items])
        scale = "log" if np.all(vals > 0) and vals.max() / vals.min() >= 100 else "lin"
    if len(np.unique(vals)) != len(vals):
        raise ParameterError(f"grid axis {text!r} has repeated values")
    return Axis(name, tuple(float(v) for v in vals), scale, text)


# ============================================================================== model helpers
def model_coupling_product(model) -> float:
    """The model's fit coupling product (property on scalar models, method on idm)."""
    cp = getattr(model, "coupling_product", None)
    if cp is None:
        raise ParameterError(f"model {getattr(model, 'name', model)!r} has no coupling_product")
    return float(cp() if callable(cp) else cp)


def default_rescale(model_name: str) -> str:
    """The coupling that absorbs the coupling product (module docstring)."""
    if model_name == "idm":
        return "g'"
    return "lam"


def _rescaled_value(model, model_name: str, rescale: str, x: np.ndarray) -> np.ndarray:
    """Value of the rescaled coupling at coupling products ``x`` (module docstring)."""
    if model_name == "idm":
        eps = model.eps1 * model.eps2 if model.is_double else model.eps1**2
        return np.sqrt(4.0 * math.pi * x / eps) if eps > 0 else np.full_like(x, np.inf)
    if rescale == "g_n_lam":
        xref = model_coupling_product(model)
        return model.lam * np.sqrt(x / xref) if xref != 0 else np.full_like(x, np.inf)
    g_n = getattr(model, "g_n", getattr(model, "g_phi_n", None))  # longlived-vector: g_phi_n
    others = {"lam": model.g_mu * g_n, "g_n": model.g_mu * model.lam}[rescale]
    return x / others if others != 0 else np.full_like(x, np.inf)


# ============================================================================== spec
@dataclass(frozen=True)
class MassPoint:
    """One work unit: ``index`` (mass-point id, row-major over the mass axes) and the values of
    the mass axes."""

    index: int
    params: dict[str, float]


@dataclass(frozen=True)
class ScanSpec:
    """Everything that defines a scan's results (and its output's identity on ``--resume``).

    ``fixed`` are model parameters held fixed (strings allowed, e.g. ``charge``); ``axes`` the
    grid axes (at most one named ``coupling_product``); ``samples`` the meson sample size per mode
    passed to the predictor (None: the predictor's default); ``stat`` the χ² statistical
    treatment (:mod:`mesonportal.analysis.likelihood`); ``rescale`` see the module docstring."""

    experiment: str
    model: str
    axes: tuple[Axis, ...]
    fixed: dict[str, Any] = field(default_factory=dict)
    seed: int = 12345
    samples: int | None = None
    stat: str = "pearson"
    rescale: str | None = None
    #: Allocation reuse across mass points (:mod:`mesonportal.analysis.scan_reuse`): ``"none"``
    #: or ``"every:K"``; None → :data:`~mesonportal.analysis.scan_reuse.DEFAULT_ALLOCATION_REUSE`.
    allocation_reuse: str | None = None
    #: ``strata`` of the predictions (``"species"``, ``"momentum-angle"``; None → the
    #: prediction's default, :data:`mesonportal.analysis.predict.DEFAULT_STRATA`).
    strata: str | None = None

    def __post_init__(self) -> None:
        from mesonportal.models.registry import MODEL_NAMES

        if self.model not in MODEL_NAMES:
            raise ParameterError(f"unknown model {self.model!r}; allowed: {', '.join(MODEL_NAMES)}")
        names = [a.name for a in self.axes]
        if not names:
            raise ParameterError("a scan needs at least one --grid axis")
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ParameterError(f"grid axis {sorted(dup)[0]!r} given more than once")
        clash = [n for n in names if n in self.fixed]
        if clash:
            raise ParameterError(f"parameter {clash[0]!r} is both a grid axis and fixed")
        if not self.mass_axes:
            raise ParameterError("a scan needs at least one grid axis besides coupling_product (e.g. m_x)")
        if self.samples is not None:
            from mesonportal.pipeline import SAMPLES_MAX, check_samples

            check_samples(self.samples, "samples", maximum=SAMPLES_MAX)
        from mesonportal.analysis.likelihood import STAT_TREATMENTS

        if self.stat not in STAT_TREATMENTS:
            raise ParameterError(f"stat must be one of {STAT_TREATMENTS}, got {self.stat!r}")
        rescale = self.rescale or default_rescale(self.model)
        allowed = ("g'",) if self.model == "idm" else _SCALAR_RESCALE
        if rescale not in allowed:
            raise ParameterError(f"rescale = {rescale!r} for model {self.model!r}; allowed: {', '.join(allowed)}")
        object.__setattr__(self, "rescale", rescale)
        from mesonportal.analysis.scan_reuse import check_allocation_reuse
        from mesonportal.analysis.strata import STRATA_METHODS

        object.__setattr__(self, "allocation_reuse", check_allocation_reuse(self.allocation_reuse))
        if self.strata is not None:
            if str(self.strata).strip() not in STRATA_METHODS:
                raise ParameterError(f"--strata = {self.strata!r}; allowed: {', '.join(STRATA_METHODS)}")
            object.__setattr__(self, "strata", str(self.strata).strip())
        ca = self.coupling_axis
        if ca is not None and min(ca.values) <= 0:
            raise ParameterError("coupling_product axis values must be > 0")

    # --------------------------------------------------------------------- axes
    @property
    def coupling_axis(self) -> Axis | None:
        return next((a for a in self.axes if a.name == COUPLING_AXIS), None)

    @property
    def mass_axes(self) -> tuple[Axis, ...]:
        return tuple(a for a in self.axes if a.name != COUPLING_AXIS)

    @property
    def n_couplings(self) -> int:
        ca = self.coupling_axis
        return 1 if ca is None else len(ca)

    @property
    def n_mass_points(self) -> int:
        return int(np.prod([len(a) for a in self.mass_axes]))

    @property
    def n_points(self) -> int:
        return self.n_mass_points * self.n_couplings

    def mass_points(self) -> list[MassPoint]:
        """All mass points, index = row-major position over :attr:`mass_axes` (in given order)."""
        axes = self.mass_axes
        return [MassPoint(i, {a.name: v for a, v in zip(axes, vals)})
                for i, vals in enumerate(itertools.product(*(a.values for a in axes)))]

    def model_params(self, point: MassPoint) -> dict[str, Any]:
        return {**self.fixed, **point.params}

    # --------------------------------------------------------------------- identity
    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment, "model": self.model,
            "axes": [a.to_json() for a in self.axes], "fixed": dict(sorted(self.fixed.items())),
            "seed": int(self.seed), "samples": self.samples, "stat": self.stat, "rescale": self.rescale,
            "allocation_reuse": self.allocation_reuse, "strata": self.strata,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ScanSpec":
        return cls(d["experiment"], d["model"], tuple(Axis.from_json(a) for a in d["axes"]), dict(d["fixed"]),
                   int(d["seed"]), d["samples"], d["stat"], d["rescale"],
                   # outputs written before the option existed: every point ran its own pilot
                   d.get("allocation_reuse", "none"), d.get("strata"))

    def fingerprint(self) -> str:
        """Hex hash of :meth:`to_json` and the package version: every part of a scan carries it,
        so that parts of another scan (or another mesonportal version) are never merged."""
        payload = {"spec": self.to_json(), "mesonportal_version": __version__}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def check_grid(self) -> None:
        """Build the model of every mass point (and, for idm, check the largest coupling on the
        grid) before any work starts: ParameterError naming the first invalid point."""
        from mesonportal.models.registry import make_model

        ca = self.coupling_axis
        for point in self.mass_points():
            try:
                model = make_model(self.model, **self.model_params(point))
                if self.model == "idm" and ca is not None:
                    model.with_coupling_product(float(max(ca.values)))
            except ParameterError as exc:
                where = ", ".join(f"{k}={v:g}" for k, v in point.params.items())
                raise ParameterError(f"grid point {where} is invalid: {exc}") from None


# ============================================================================== evaluation
@lru_cache(maxsize=8)
def _experiment(name: str):
    from mesonportal.experiments import load_experiment

    return load_experiment(name)


def _default_predictor() -> Predictor:
    try:
        from mesonportal.analysis.predict import predict_signal  # written by the prediction engineer
    except ImportError as exc:
        raise ConfigError(f"signal prediction unavailable (mesonportal.analysis.predict: {exc})") from None
    return predict_signal


class _ModeReweighter:
    """Per-coupling E_QE counts and event totals of one SignalSample, with everything that does
    not depend on the coupling computed once.

    * ``weight_fn`` None (exact (x/x_ref)²) or of the form A + B (x/x_ref)² per event (detected
      by :func:`_quadratic_split`; e.g. the scalar prediction: Primakoff ∝ x², decays fixed):
      histograms and sums of A and B once, any coupling is a linear combination;
    * any other ``weight_fn`` (idm): one ``weights(x)`` call per coupling, bin indices once.
    Binning convention as ``SignalSample.histogram`` / ``numpy.histogram``."""

    def __init__(self, sample) -> None:
        col, edges = HISTOGRAMS["enu_qe"]
        self.sample = sample
        self.xref = float(sample.coupling_product_ref)
        e = np.asarray(sample.columns[col], dtype=np.float64)
        nb = self.nb = len(edges) - 1
        idx = np.searchsorted(edges, e, side="right") - 1
        idx[e == edges[-1]] = nb - 1
        self.idx = np.where((idx >= 0) & (idx < nb) & np.isfinite(e), idx, nb)  # slot nb = dropped
        eqe = np.asarray(sample.columns["e_qe"], dtype=np.float64)
        self.win = (eqe >= EXCESS_WINDOW_MEV[0]) & (eqe < EXCESS_WINDOW_MEV[1])
        if sample.weight_fn is None:
            if not self.xref > 0:
                raise ParameterError(f"reference coupling product of the {sample.mode} prediction is {self.xref!r}; "
                                     "it must be > 0 to reweight (set non-zero couplings)")
            split: tuple[np.ndarray, np.ndarray] | None = (np.zeros(len(sample)), np.asarray(sample.weights(), float))
        else:
            split = _quadratic_split(sample)
        self.affine = split is not None
        if split is not None:
            A, B = (w * sample.pot for w in split)
            self.counts_ab = [self._hist(A), self._hist(B)]
            self.sums = [(float(np.sum(A[m])), float(np.sum(B[m]))) for m in (self.win, slice(None))]
            self.sq = [(float(np.sum(A[m] ** 2)), float(np.sum(A[m] * B[m])), float(np.sum(B[m] ** 2)))
                       for m in (self.win, slice(None))]

    def _hist(self, w: np.ndarray) -> np.ndarray:
        return np.bincount(self.idx, weights=w, minlength=self.nb + 1)[: self.nb]

    def at(self, xs: np.ndarray) -> tuple[np.ndarray, ...]:
        """(E_QE counts (K, 11), events in 200-1250 MeV (K,), all events (K,), MC stat. error of
        the window events (K,), of all events (K,)) at coupling products ``xs`` [events for the
        mode's exposure]."""
        xs = np.asarray(xs, dtype=np.float64)
        if self.affine:
            f = (xs / self.xref) ** 2
            (cA, cB), ((ea, eb), (ta, tb)) = self.counts_ab, self.sums
            errs = [np.sqrt(np.clip(a2 + 2 * f * ab + f * f * b2, 0.0, None)) for a2, ab, b2 in self.sq]
            return cA[None, :] + f[:, None] * cB[None, :], ea + f * eb, ta + f * tb, errs[0], errs[1]
        K, nb, win = len(xs), self.nb, self.win
        counts, ewin, etot, errw, err = (np.empty((K, nb)), np.empty(K), np.empty(K), np.empty(K), np.empty(K))
        for k, x in enumerate(xs):
            w = np.asarray(self.sample.weights(float(x)), dtype=np.float64) * self.sample.pot
            counts[k] = self._hist(w)
            ww = w[win]
            ewin[k], etot[k], errw[k], err[k] = np.sum(ww), np.sum(w), np.sqrt(np.sum(ww * ww)), np.sqrt(np.sum(w * w))
        return counts, ewin, etot, errw, err


def _quadratic_split(sample) -> tuple[np.ndarray, np.ndarray] | None:
    """(A, B) per-event weights [events/POT] with ``weights(x) == A + B (x/x_ref)²`` if the
    sample's ``weight_fn`` has that form — probed at x/x_ref = 0, 1 and checked at 2, 0.37 and
    3.1 (relative tolerance 1e-12); None otherwise (e.g. idm lifetimes)."""
    xref = float(sample.coupling_product_ref)
    if sample.weight_fn is None or not xref > 0:
        return None
    try:
        w0 = np.asarray(sample.weights(0.0), dtype=np.float64)
        w1 = np.asarray(sample.weights(xref), dtype=np.float64)
        B = w1 - w0
        scale = float(np.max(np.abs(w1), initial=0.0))
        for r in (2.0, 0.37, 3.1):
            w = np.asarray(sample.weights(r * xref), dtype=np.float64)
            if not np.allclose(w, w0 + r * r * B, rtol=1e-12, atol=1e-12 * r * r * scale + 1e-300):
                return None
    except Exception:  # noqa: BLE001 - any failure: fall back to the general path
        return None
    return w0, B


class CouplingReweighter:
    """χ² and events of one mass point as a function of the coupling product, from the mass
    point's predictions ``signals`` (mode → SignalSample; ``nu``, ``nubar``, optionally
    ``dump``).  Construction does all coupling-independent work; :meth:`evaluate` is then cheap
    (a new coupling costs ~1 ms for the scalar models)."""

    def __init__(self, signals: dict[str, Any], stat: str = "pearson") -> None:
        from mesonportal.analysis.likelihood import get_likelihood

        self.stat = stat
        self.modes = {m: _ModeReweighter(signals[m]) for m in ("nu", "nubar")}
        if signals.get("dump") is not None:
            self.modes["dump"] = _ModeReweighter(signals["dump"])
        self.lk = {a: get_likelihood(a, stat) for a in ("nu", "nubar", "combined")}

    def evaluate(self, xs) -> dict[str, np.ndarray]:
        """Columns of length len(xs): chi2_nu, chi2_nubar, chi2_combined, events_nu,
        events_nubar (200 < E_QE < 1250 MeV), events_dump (all), and ``events_*_mc_error`` (MC
        statistical error √Σw² of those same events)."""
        xs = np.atleast_1d(np.asarray(xs, dtype=np.float64))
        out: dict[str, np.ndarray] = {}
        counts = {}
        for mode in ("nu", "nubar"):
            c, ewin, _, err, _ = self.modes[mode].at(xs)
            counts[mode] = c
            out[f"events_{mode}"] = ewin
            out[f"events_{mode}_mc_error"] = err
        if "dump" in self.modes:
            _, _, etot, _, err = self.modes["dump"].at(xs)
            out["events_dump"], out["events_dump_mc_error"] = etot, err
        else:
            out["events_dump"] = np.zeros(len(xs))
            out["events_dump_mc_error"] = np.zeros(len(xs))
        out["chi2_nu"] = self.lk["nu"].chi2_many(counts["nu"])
        out["chi2_nubar"] = self.lk["nubar"].chi2_many(counts["nubar"])
        out["chi2_combined"] = self.lk["combined"].chi2_many(np.hstack([counts["nu"], counts["nubar"]]))
        return out


def evaluate_couplings(signals: dict[str, Any], xs: np.ndarray, stat: str = "pearson") -> dict[str, np.ndarray]:
    """χ² (ν, ν̄, combined) and events per mode for the predictions ``signals`` at coupling
    products ``xs`` (see :class:`CouplingReweighter`)."""
    return CouplingReweighter(signals, stat).evaluate(xs)


def _pienu(model, model_name: str, rescale: str, xs: np.ndarray, xref: float) -> dict[str, np.ndarray]:
    """R_e, R_μ and the PIENU (proxy) flag at coupling products ``xs``: with g_μ, g_e (scalar)
    or ε (idm) fixed they are those of the reference model (module docstring)."""
    from mesonportal.production.limits import pion_branching_ratios

    # the verdict is that of pion_branching_ratios (each pion channel against the bound at its
    # own dark mass), the same function the fit uses: scan and fit can never disagree
    ref = pion_branching_ratios(model)
    r_e = np.full(len(xs), ref["R_e"])
    r_mu = np.full(len(xs), ref["R_mu"])
    allowed = np.full(len(xs), bool(ref["allowed"]))
    return {"R_e": r_e, "R_mu": r_mu, "pienu_allowed": allowed}


@lru_cache(maxsize=4)
def _background_chi2(stat: str) -> dict[str, float]:
    from mesonportal.analysis.likelihood import get_likelihood

    return {a: float(get_likelihood(a, stat).chi2_many(np.zeros((1, get_likelihood(a, stat).n_signal)))[0])
            for a in ("nu", "nubar", "combined")}


def evaluate_mass_point(spec: ScanSpec, point: MassPoint, *, predictor: Predictor | None = None) -> dict[str, Any]:
    """Evaluate one mass point on all coupling values (the work unit of a scan).

    ``predictor(experiment, mode, model, *, samples, seed, progress[, strata])`` → SignalSample
    (default :func:`mesonportal.analysis.predict.predict_signal`; ``strata`` is passed only when
    ``spec.strata`` is set; allocation reuse, :mod:`mesonportal.analysis.scan_reuse`, applies to
    the default predictor only).  Returns the part's columns
    (equal-length arrays, one row per coupling value, see docs/scans.md)."""
    from mesonportal.experiments.config import check_mode
    from mesonportal.models.registry import make_model

    predictor = predictor or _default_predictor()
    model = make_model(spec.model, **spec.model_params(point))
    exp = _experiment(spec.experiment)
    xref = model_coupling_product(model)
    ca = spec.coupling_axis
    xs = np.asarray(ca.values if ca is not None else (xref,), dtype=np.float64)
    if spec.model == "idm" and ca is not None:
        model.with_coupling_product(float(xs.max()))  # ParameterError if g' would exceed 4π
    from mesonportal.analysis import scan_reuse

    # allocation reuse (module scan_reuse) needs predict_signal's allocations and a target MC error
    # (identified without importing the prediction module: workers of a toy/custom scan stay light)
    default_pred = (getattr(predictor, "__module__", None) == "mesonportal.analysis.predict"
                    and getattr(predictor, "__name__", None) == "predict_signal")
    reuse = spec.allocation_reuse != scan_reuse.REUSE_NONE and spec.samples is None and default_pred
    anchor = scan_reuse.anchor_point(spec, point) if reuse else None
    anchor_model = make_model(spec.model, **spec.model_params(anchor)) if anchor is not None else None
    kw = {} if spec.strata is None else {"strata": spec.strata}
    signals, checks = {}, {}
    for mode in MODES:
        if mode == "dump" and "dump" not in exp.modes:
            signals[mode] = None
            continue
        check_mode(exp, mode)
        if reuse:
            signals[mode], checks[mode] = scan_reuse.predict_mode(
                exp, mode, model, anchor_model, seed=spec.seed, strata=spec.strata, predictor=predictor,
                reused=anchor.index != point.index)
        else:
            signals[mode] = predictor(exp, mode, model, samples=spec.samples, seed=spec.seed, progress=False, **kw)
    cols = evaluate_couplings(signals, xs, spec.stat)
    cols.update(_pienu(model, spec.model, spec.rescale, xs, xref))
    k = len(xs)
    bkg = _background_chi2(spec.stat)
    out: dict[str, Any] = {}
    for a in spec.mass_axes:
        out[a.name] = np.full(k, point.params[a.name], dtype=np.float64)
    out[COUPLING_AXIS] = xs
    out["point_id"] = point.index * spec.n_couplings + np.arange(k, dtype=np.int64)
    out["mass_point_id"] = np.full(k, point.index, dtype=np.int64)
    out.update(cols)
    for a in ("nu", "nubar", "combined"):
        out[f"chi2_background_{a}"] = np.full(k, bkg[a])
    out["rescaled_coupling"] = [spec.rescale] * k
    out["rescaled_value"] = _rescaled_value(model, spec.model, spec.rescale, xs)
    out["coupling_product_ref"] = np.full(k, xref)
    out["seed"] = np.full(k, spec.seed, dtype=np.int64)
    out["samples"] = np.full(k, -1 if spec.samples is None else spec.samples, dtype=np.int64)
    # primaries actually simulated per mode and the target MC error that chose them (0: fixed
    # samples, as target_mc_error = 0 means "off"); predictors without this bookkeeping (toy)
    # give -1 / 0
    tgt = 0.0
    for mode in MODES:
        info = getattr(signals.get(mode), "info", None) or {}
        out[f"samples_{mode}"] = np.full(k, int(info.get("samples", -1)), dtype=np.int64)
        if info.get("target_mc_error") is not None:
            tgt = float(info["target_mc_error"])
    out["target_mc_error"] = np.full(k, tgt)
    # allocation reuse: the rule, the anchor, and per mode where the allocation came from and the
    # achieved relative MC error (largest component; None: not verified)
    out["strata"] = [spec.strata or (_default_strata() if default_pred else "predictor default")] * k
    out["allocation_reuse"] = [spec.allocation_reuse if reuse else scan_reuse.REUSE_NONE] * k
    out["allocation_anchor_id"] = np.full(k, anchor.index if anchor is not None else -1, dtype=np.int64)
    for mode in MODES:
        c = checks.get(mode, {})
        out[f"allocation_source_{mode}"] = [c.get("source", "predictor's own (no reuse)" if signals.get(mode)
                                                  is not None else "no such mode")] * k
        out[f"mc_error_achieved_{mode}"] = [c.get("rel_error")] * k
        out[f"mc_error_target_met_{mode}"] = [c.get("target_met")] * k
    out["version"] = [__version__] * k
    return out


def _default_strata() -> str:
    try:
        from mesonportal.analysis.predict import DEFAULT_STRATA
    except ImportError:  # pragma: no cover - prediction unavailable
        return "species"
    return DEFAULT_STRATA


# ============================================================================== toy predictor
def toy_predictor(experiment, mode: str, model, *, samples: int | None = None, seed: int = 12345,
                  progress: bool = False, delay: float = 0.0, strata: str | None = None):
    """Fast deterministic **synthetic** :class:`SignalSample` (no physics!) for tests and
    benchmarks of the scan machinery: ``samples or 2000`` events with E_QE, E_vis, cos θ drawn
    from a generator seeded by (seed, mode, model parameters), weights ∝ (coupling product)²
    with a mass-dependent normalisation that puts ≈ 100-1000 ν-mode events near product 1e-8
    for m_x ~ 1-30 MeV.  ``delay`` [s] sleeps to emulate an expensive prediction; ``strata``
    (a scan's ``--strata``) is accepted and has no effect (no meson sample)."""
    from mesonportal.analysis.prediction import SignalSample

    if delay > 0:
        time.sleep(delay)
    params = model.params()
    tag = hashlib.sha256(json.dumps([mode, sorted((k, repr(v)) for k, v in params.items())]).encode()).digest()
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int.from_bytes(tag[:8], "little")]))
    n = int(samples or 2000)
    m = float(params.get("m_x", params.get("m_v1", 1.0)))
    evis = rng.gamma(2.0, 150.0 + 10.0 * m, n) + 30.0
    cos = np.clip(1.0 - rng.exponential(0.2 + 0.01 * m, n), -1.0, 1.0)
    eqe = evis * (1.0 + 0.1 * (1.0 - cos))
    xref = model_coupling_product(model)
    pot = float(experiment.pot(mode))
    norm = {"nu": 1.0, "nubar": 0.4, "dump": 0.05}.get(mode, 1.0) * 500.0 / (1.0 + (m / 20.0) ** 2)
    w = rng.uniform(0.5, 1.5, n) * norm / n / pot * (xref / 1e-8) ** 2
    weight_fn = None
    if getattr(model, "name", "") == "idm":
        # non-quadratic toy reweighting (emulates a lifetime dependence)
        w0 = w.copy()

        def weight_fn(x: float, _w0=w0, _x0=xref) -> np.ndarray:
            r = x / _x0
            return _w0 * r * (1.0 - np.exp(-r)) / (1.0 - math.exp(-1.0))

    return SignalSample(getattr(experiment, "name", str(experiment)), mode, pot, {"model": "toy", "params": params},
                        xref, "toy", {"e_vis": evis, "cos_theta": cos, "e_qe": eqe, "weight": w}, weight_fn)


# ============================================================================== execution
@dataclass
class ScanSummary:
    """Outcome of :func:`run_scan`."""

    out: str
    total_points: int
    mass_points: int
    computed_mass_points: int
    skipped_mass_points: int
    seconds: float
    backend: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _progress_bar(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("scan"), BarColumn(), MofNCompleteColumn(), TextColumn("points"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), disable=not enabled, transient=False)


def run_scan(spec: ScanSpec, out, *, workers: int = 1, scheduler: str | None = None, client=None,
             resume: bool = False, overwrite: bool = False, predictor: Predictor | None = None,
             progress: bool = False, on_point: Callable[[int, int], None] | None = None) -> ScanSummary:
    """Run (or resume) a scan and write one Parquet part per mass point into the dataset
    directory ``out`` (:mod:`mesonportal.analysis.scan_io`).

    Backend: serial in this process when ``workers == 1`` and neither ``scheduler`` nor
    ``client`` is given; otherwise Dask — ``client`` (an existing ``distributed.Client``), a
    client connected to ``scheduler`` (``tcp://host:port``), or a
    ``LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)`` started here.
    One task per pending mass point; results are written by this process as they arrive, so
    an interruption loses at most the points in flight.  ``on_point(done, total)`` is called
    after each written part with grid-point counts (tests use it to interrupt)."""
    from mesonportal.analysis import scan_io

    import warnings

    t0 = time.perf_counter()
    if workers < 1:
        raise ParameterError(f"workers = {workers!r} must be >= 1")
    if predictor is None:
        predictor = _default_predictor()  # fail early (before starting a cluster) if unavailable
    spec.check_grid()  # the whole grid before any output is written
    ds = scan_io.prepare_output(out, spec, resume=resume, overwrite=overwrite)

    def bad_part(name: str, reason: str) -> None:
        warnings.warn(f"{ds / name}: {reason}; recomputing it", stacklevel=3)

    done = scan_io.completed_mass_points(ds, spec, report=bad_part)
    pending = [p for p in spec.mass_points() if p.index not in done]
    total = spec.n_points
    ndone = (spec.n_mass_points - len(pending)) * spec.n_couplings
    use_dask = client is not None or scheduler is not None or workers > 1
    backend = "serial"
    with _progress_bar(progress) as bar:
        task = bar.add_task("scan", total=total, completed=ndone)

        def record(point_index: int, cols: dict[str, Any]) -> None:
            nonlocal ndone
            scan_io.write_part(ds, point_index, cols, spec)
            ndone += spec.n_couplings
            bar.update(task, completed=ndone)
            if on_point is not None:
                on_point(ndone, total)

        try:
            if pending and not use_dask:
                for p in pending:
                    record(p.index, evaluate_mass_point(spec, p, predictor=predictor))
            elif pending:
                backend = _run_dask(spec, pending, predictor, record, workers=workers, scheduler=scheduler,
                                    client=client)
        except KeyboardInterrupt:
            raise ScanInterrupted(f"scan aborted: {ndone} of {total} points saved in {str(ds)!r}; "
                                  "rerun with --resume to complete it") from None
    return ScanSummary(str(ds), total, spec.n_mass_points, len(pending), spec.n_mass_points - len(pending),
                       time.perf_counter() - t0, backend)


def _quiet_local_cluster(LocalCluster, workers: int):
    """A LocalCluster whose worker processes ignore SIGINT (Ctrl-C reaches the whole process
    group; this process alone handles it and shuts the cluster down, so the user sees one
    "scan aborted" line instead of worker tracebacks) and log only errors."""
    import logging
    import signal
    import threading

    in_main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
    try:
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                            silence_logs=logging.ERROR)
    finally:
        if in_main:
            signal.signal(signal.SIGINT, old)


def _run_dask(spec: ScanSpec, pending: Iterable[MassPoint], predictor: Predictor, record, *, workers: int,
              scheduler: str | None, client) -> str:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ConfigError("Dask is not installed: pip install 'mesonportal[dask]' (or use --workers 1)") from None
    import uuid

    own_client = own_cluster = None
    if client is None:
        if scheduler is not None:
            try:
                client = own_client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ConfigError(f"cannot connect to Dask scheduler {scheduler!r}: {exc}") from None
            backend = f"dask:{scheduler}"
        else:
            own_cluster = _quiet_local_cluster(LocalCluster, workers)
            client = own_client = Client(own_cluster)
            backend = f"dask:local({workers})"
    else:
        backend = "dask:client"
    token = f"{spec.fingerprint()}-{uuid.uuid4().hex[:8]}"
    futures = []
    try:
        futures = [client.submit(evaluate_mass_point, spec, p, predictor=predictor, key=f"mpscan-{token}-{p.index}",
                                 pure=False, retries=2) for p in pending]
        index = {f.key: int(f.key.rsplit("-", 1)[1]) for f in futures}
        for fut in as_completed(futures):
            cols = fut.result()
            record(index[fut.key], cols)
            fut.release()
    finally:
        if futures:
            try:
                client.cancel(futures)
            except Exception:  # noqa: BLE001 - best effort on shutdown
                pass
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
    return backend
