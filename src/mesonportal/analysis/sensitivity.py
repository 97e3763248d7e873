"""Expected 90% CL reach of a counting experiment (stopped-pion detectors such as CCM200) in the
coupling product vs a mass, for a stated exposure and background.

Per mass point one prediction (:func:`mesonportal.analysis.predict.predict_signal`) gives the
signal N(x) = POT × Σ w_i(x) at any coupling product x through the sample's reweighting (scalar
family: Primakoff events ∝ x², decays of X inside the detector fixed; iDM: per-event
reweighting).  The reach x₉₀ solves N(x₉₀) = s₉₀, where s₉₀ is the classical Poisson 90% CL
upper limit on the signal for the median background-only outcome n = ⌊B + ½⌋ (counting, no
background uncertainty): P(n' ≤ n | s₉₀ + B) = 0.10.  B = 0 gives s₉₀ = 2.303.  If the x-independent
part (decays) alone exceeds s₉₀ the point is excluded at every x (``x90`` = 0, flag
``excluded_at_any_coupling``); if N(x) never reaches s₉₀ below ``x_max`` the reach is NaN.

Units: masses MeV, coupling product in the model's units (stated in the output).
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np

from mesonportal.exceptions import ParameterError

__all__ = ["poisson_upper_limit", "reach_for_sample", "sensitivity_scan", "plot_sensitivity", "CL"]

CL = 0.90


def poisson_upper_limit(background: float, cl: float = CL) -> float:
    """Signal s with P(n ≤ n₀ | s + B) = 1 − cl for the median background-only count
    n₀ = ⌊B + ½⌋ (classical upper limit; 2.303 events at 90% CL for B = 0)."""
    from scipy.optimize import brentq
    from scipy.stats import poisson

    if not (math.isfinite(background) and background >= 0.0):
        raise ParameterError(f"background = {background!r} must be a finite number >= 0 (events)")
    if not (0.0 < cl < 1.0):
        raise ParameterError(f"cl = {cl!r} must be in (0, 1)")
    n0 = math.floor(background + 0.5)
    f = lambda s: poisson.cdf(n0, s + background) - (1.0 - cl)  # noqa: E731
    hi = 10.0 + 10.0 * math.sqrt(background + 1.0) + n0
    return float(brentq(f, 0.0, hi)) if f(0.0) > 0 else 0.0


def reach_for_sample(sample, exposure_pot: float, s90: float, x_max: float | None = None) -> dict[str, Any]:
    """x₉₀ of one :class:`~mesonportal.analysis.prediction.SignalSample` (see module docstring)."""
    x_ref = float(sample.coupling_product_ref)

    def n_of(x: float) -> float:
        return float(np.sum(sample.weights(x)) * exposure_pot)

    n_ref = n_of(x_ref)
    n0 = n_of(x_ref * 1e-12)  # the x-independent part (decays of a long-lived X; ~0 for iDM)
    out: dict[str, Any] = {"events_at_ref": n_ref, "events_x_independent": n0, "excluded_at_any_coupling": False}
    if n0 >= s90:
        out.update(x90=0.0, excluded_at_any_coupling=True)
        return out
    if n_ref <= 0.0:
        out["x90"] = math.nan
        return out
    x_max = x_max if x_max is not None else x_ref * 1e6
    lo, hi = 0.0, x_ref
    while n_of(hi) < s90:
        lo, hi = hi, hi * 10.0
        if hi > x_max:
            out["x90"] = math.nan
            return out
    for _ in range(80):  # bisection in x (N monotone in x)
        mid = 0.5 * (lo + hi) if lo == 0.0 else math.sqrt(lo * hi)
        if n_of(mid) < s90:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-6 * hi:
            break
    out["x90"] = hi
    return out


def sensitivity_scan(experiment, model_name: str, axis, fixed: dict[str, Any], *, background: float = 0.0,
                     exposure_pot: float | None = None, mode: str | None = None, samples: int | None = None,
                     seed: int = 12345, cl: float = CL, decays: bool = True) -> dict[str, Any]:
    """Reach x₉₀ at every value of the mass ``axis`` (:class:`mesonportal.analysis.scan.Axis`).

    Returns ``{"columns": {axis.name, "x90", "events_at_ref", "events_x_independent",
    "excluded_at_any_coupling", "coupling_product_ref", "time_s"}, "meta": {...}}`` with the
    experiment, mode, exposure, background, s₉₀, CL, statistical treatment and model.
    ``decays=False`` drops the decays of a long-lived X inside the detector from the signal (the
    reach of the scattering signal alone, which alone depends on the coupling product)."""
    from mesonportal.analysis.predict import predict_signal
    from mesonportal.models.registry import make_model
    from mesonportal.pipeline import resolve_experiment

    exp = resolve_experiment(experiment)
    mode = mode or (exp.modes[0] if len(exp.modes) == 1 else "nu")
    pot = float(exp.pot(mode) if exposure_pot is None else exposure_pot)
    if not (math.isfinite(pot) and pot > 0):
        raise ParameterError(f"exposure_pot = {exposure_pot!r} must be a positive number of POT")
    s90 = poisson_upper_limit(background, cl)
    cols: dict[str, list] = {axis.name: [], "x90": [], "events_at_ref": [], "events_x_independent": [],
                             "excluded_at_any_coupling": [], "coupling_product_ref": [], "time_s": []}
    units = None
    for v in axis.values:
        t0 = time.perf_counter()
        model = make_model(model_name, **{**fixed, axis.name: float(v)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            s = predict_signal(exp, mode, model, samples=samples, seed=seed, decays=decays)
        r = reach_for_sample(s, pot, s90)
        units = s.coupling_units
        cols[axis.name].append(float(v))
        for k in ("x90", "events_at_ref", "events_x_independent", "excluded_at_any_coupling"):
            cols[k].append(r[k])
        cols["coupling_product_ref"].append(float(s.coupling_product_ref))
        cols["time_s"].append(time.perf_counter() - t0)
    meta = {"experiment": exp.name, "mode": mode, "exposure_pot": pot, "background_events": float(background),
            "s90_events": s90, "cl": cl, "model": model_name, "fixed": {k: v for k, v in fixed.items()},
            "mass_axis": axis.name, "coupling_units": units, "seed": int(seed), "decays_in_signal": bool(decays),
            "statistics": "classical Poisson upper limit at the median background-only count, no background "
                          "uncertainty",
            "detector_response": exp.detector.response.describe() if exp.detector.response is not None else None}
    return {"columns": cols, "meta": meta}


def write_sensitivity(result: dict[str, Any], path) -> None:
    """Parquet file of ``result["columns"]`` with ``result["meta"]`` (JSON) in the file metadata."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({k: pa.array(v) for k, v in result["columns"].items()})
    table = table.replace_schema_metadata({b"mesonportal_sensitivity": json.dumps(result["meta"]).encode()})
    pq.write_table(table, str(path))


def plot_sensitivity(result: dict[str, Any], out, miniboone_scan=None) -> str:
    """x₉₀ vs mass; with ``miniboone_scan`` (a ``mesonportal scan`` output of the same model on
    MiniBooNE) its 1σ/2σ preferred region (Δχ² < 2.30 / 6.18, 2 dof) drawn underneath."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta, cols = result["meta"], result["columns"]
    x, y = np.asarray(cols[meta["mass_axis"]]), np.asarray(cols["x90"], float)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    if miniboone_scan is not None:
        from mesonportal.analysis.scan_plots import DELTA_CHI2_2DOF, delta_chi2_map

        m = delta_chi2_map(miniboone_scan, "combined")
        if len(m["x"]) > 1 and len(m["y"]) > 1:
            lv = [DELTA_CHI2_2DOF["1sigma"], DELTA_CHI2_2DOF["2sigma"]]
            ax.contourf(m["x"], m["y"], np.ma.masked_invalid(m["delta_chi2"]), levels=[-1.0, *lv],
                        colors=["#1f77b4", "#9ecae1"], alpha=0.6)
            ax.plot([], [], color="#1f77b4", lw=8, alpha=0.6, label="MiniBooNE 1σ/2σ preferred (scan)")
    ok = np.isfinite(y) & (y > 0)
    lab = f"{meta['experiment']} 90% CL reach ({meta['exposure_pot']:.3g} POT, B = {meta['background_events']:g})"
    if np.any(ok):
        ax.plot(x[ok], y[ok], "k-o", ms=3, label=lab)
    excl = np.asarray(cols["excluded_at_any_coupling"], bool)
    for xv in x[excl]:
        ax.axvline(xv, color="r", ls=":", lw=1)
    if np.any(excl):
        ax.plot([], [], "r:", label="excluded at any coupling product (X decays alone)")
    ax.set_xscale("log")
    if np.any(ok) or miniboone_scan is not None:
        ax.set_yscale("log")
    ax.set_xlabel(f"{meta['mass_axis']} [MeV]")
    ax.set_ylabel(f"coupling product [{meta['coupling_units']}]")
    ax.set_title(f"{meta['experiment']}: expected reach, {meta['model']}")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return str(out)
