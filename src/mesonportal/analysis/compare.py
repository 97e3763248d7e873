"""The "MiniBooNE lens": every explanation of the excess scored on the same release.

One row per hypothesis — background only, the 3+1 oscillation best fit
(:mod:`mesonportal.analysis.oscillation`) and every registered benchmark
(:func:`mesonportal.models.registry.available_benchmarks`, so models added later join
automatically) at its own best fit (:func:`mesonportal.analysis.fit.fit_excess`) — with:

* ``eqe_chi2`` / ``eqe_ndof``: MiniBooNE covariance χ² of the combined ν+ν̄ E_QE fit
  (arXiv:2006.16883 release, 38 bins; ndof = 38 − fitted parameters: 0 background, 2 for 3+1,
  1 for a benchmark's coupling product) and ``significance_sigma`` vs background only (√Δχ² for
  one parameter on its boundary; Δχ² → Z with 2 dof for 3+1);
* ``costheta_chi2`` / ``evis_chi2``: **shape** χ² against the digitised ν-mode cos θ and E_vis
  figures of arXiv:2006.16883 (200 < E_QE < 1250 MeV): the predicted distribution is normalised
  to the observed excess Σ(d − b) and added to the background, χ² = Σ (d − μ)²/μ
  (:func:`~mesonportal.analysis.likelihood.shape_chi2`; Pearson, statistical only — the figures
  carry no covariance, so no systematic uncertainty is assumed; ndof = bins − 1 = 19 and 22).
  For background only μ = b (ndof = bins).  ``*_chi2_absolute``: the same with the prediction at
  its best-fit normalisation instead;
* ``nubar_over_nu``: predicted ν̄/ν events (200 < E_QE < 1250 MeV) at the best fit, vs the
  observed 77.4/560.6 = 0.138 (ν_μ-constrained excesses of the release);
* ``dump_ok``: predicted beam-dump events ≤ 2.30 (proxy for arXiv:1807.06137, docs/fit.md).
  For 3+1 the ν-mode oscillation signal is scaled by the package's own ν_μ flux ratio
  dump/ν mode (same seed) and by the POT ratio;
* ``pienu_allowed``: PIENU proxy bounds (production.limits) at the best fit; None when the
  hypothesis has no π → ℓ ν X decay (background, 3+1);
* ``microboone_ok``: MicroBooNE verdict — a constraint registered with
  :func:`register_constraint`, else the fit's own MicroBooNE constraint (``fit --with
  microboone``, :mod:`mesonportal.analysis.constraints`): True unless excluded at 90 % CL;
  None when not evaluated;
* ``highenergy`` (only with ``run_compare(highenergy=True)`` / ``compare --highenergy``): per
  high-energy experiment (``charm-ii``, ``t2k-nd280``, ``minerva``, ``dune-nd``) the selected
  events at the best fit ± meson-clustered MC error (small samples, stated as ``samples``), N_90
  and the verdict of :func:`mesonportal.analysis.highenergy.verdict_table` (docs/highenergy.md).

3+1 cos θ and E_vis: each ntuple event (weight × P_osc at the best fit) gets an electron from
free-nucleon CCQE kinematics (:mod:`mesonportal.detection.ccqe`, Llewellyn Smith), smeared with
the package's MiniBooNE resolution; E_QE is recomputed and 200 < E_QE < 1250 MeV selected; the
ntuple weight already includes MiniBooNE's selection efficiency (no efficiency applied).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mesonportal.analysis.fit import DUMP_UPPER_LIMIT_EVENTS, FitResult, fit_excess
from mesonportal.analysis.likelihood import background_summary, get_likelihood, shape_chi2
from mesonportal.analysis.miniboone_data import load_digitized
from mesonportal.analysis.prediction import EXCESS_WINDOW_MEV, SignalSample
from mesonportal.exceptions import MesonportalError, ParameterError

__all__ = [
    "LENS_KEYS",
    "OBSERVED_NUBAR_OVER_NU",
    "register_constraint",
    "constraint_verdict",
    "shape_chi2s",
    "oscillation_distributions",
    "oscillation_dump_events",
    "background_row",
    "oscillation_row",
    "benchmark_row",
    "efficiency_variation",
    "detector_only",
    "systematic_variations",
    "run_compare",
    "benchmark_entry",
    "lens_markdown",
    "highenergy_columns",
]

#: Keys every row of ``lens.json`` carries (issue #13 contract).
LENS_KEYS = ("hypothesis", "eqe_chi2", "eqe_ndof", "costheta_chi2", "evis_chi2", "nubar_over_nu",
             "dump_ok", "pienu_allowed")


#: g₁ values of the idm-single profile, as multiples of the benchmark's g₁ (= 1): from ~ε₁e
#: (the case BR(V₁ → χχ̄) ~ BR(V₁ → e⁺e⁻), physics.md §2.2) up to 10 (capped at 4π).
G1_FACTORS: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 0.1, 1.0, 10.0)


def _observed_ratio() -> tuple[float, float, float]:
    nu = background_summary("nu").excess
    nb = background_summary("nubar").excess
    return nb / nu, nu, nb


_r, _, _ = _observed_ratio()
#: Observed ν̄/ν excess ratio, 200 < E_QE < 1250 MeV (77.4 / 560.6, arXiv:2006.16883 release).
OBSERVED_NUBAR_OVER_NU: float = _r

# ---------------------------------------------------------------------------- external constraints
_CONSTRAINTS: dict[str, Callable[[str, Mapping[str, Any]], bool | None]] = {}


def register_constraint(name: str, verdict: Callable[[str, Mapping[str, Any]], bool | None]) -> None:
    """Register an external constraint for the lens, e.g. ``"microboone"``.

    ``verdict(hypothesis, context)`` returns True (allowed), False (excluded) or None (cannot
    say); ``context`` holds ``model`` (None for background / 3+1), ``fit`` (FitResult or
    OscillationFit or None), ``samples`` ({mode: SignalSample} at the reference point) and
    ``coupling_product``.  The lens column ``<name>_ok`` shows it.
    """
    if not callable(verdict):
        raise ParameterError(f"constraint {name!r}: verdict must be callable")
    _CONSTRAINTS[str(name)] = verdict


def _fit_constraint_verdict(name: str) -> Callable[[str, Mapping[str, Any]], bool | None]:
    """Built-in verdict from a fit evaluated ``with_constraints`` (FitResult.constraints[name],
    :func:`mesonportal.analysis.constraints.evaluate_constraint` at the MiniBooNE best fit):
    True = not excluded at 90 % CL, False = excluded at 90 % CL, None = not evaluated."""

    def verdict(_hypothesis: str, context: Mapping[str, Any]) -> bool | None:
        fit = context.get("fit")
        con = getattr(fit, "constraints", None) or {}
        v = (con.get(name) or {}).get("verdict")
        return None if v is None else not bool(v.get("excluded_90"))

    return verdict


def constraint_verdict(name: str, hypothesis: str, context: Mapping[str, Any]) -> bool | None:
    """Verdict of a registered constraint; for ``"microboone"`` without a registered one, the
    fit's own MicroBooNE constraint (``fit --with microboone``) if it was evaluated; else None."""
    fn = _CONSTRAINTS.get(name)
    if fn is None and name == "microboone":
        fn = _fit_constraint_verdict(name)
    if fn is None:
        return None
    try:
        v = fn(hypothesis, context)
    except MesonportalError:
        return None
    return None if v is None else bool(v)


# ---------------------------------------------------------------------------- shape tests
def shape_chi2s(evis: np.ndarray | None, costheta: np.ndarray | None) -> dict[str, float | None]:
    """Shape and absolute χ² of predicted E_vis / cos θ histograms (events in the digitised bins)
    against the digitised ν-mode figures; None inputs mean "background only"."""
    figs = load_digitized()
    out: dict[str, float | None] = {}
    for name, h, pred in (("evis", figs.evis, evis), ("costheta", figs.costheta, costheta)):
        d, b = h["data"], h["background"]
        if pred is None or not np.sum(pred) > 0:
            out[f"{name}_chi2"] = float(np.sum((d - b) ** 2 / b)) if pred is None else None
            out[f"{name}_chi2_absolute"] = float(np.sum((d - b) ** 2 / b))
            out[f"{name}_ndof"] = int(d.size) if pred is None else None
            continue
        p = np.asarray(pred, float)
        out[f"{name}_chi2"] = float(shape_chi2(p, name))
        mu = b + p
        out[f"{name}_chi2_absolute"] = float(np.sum((d - mu) ** 2 / mu))
        out[f"{name}_ndof"] = int(d.size - 1)
    return out


def _digitised_edges() -> dict[str, np.ndarray]:
    figs = load_digitized()
    return {"evis": np.asarray(figs.evis.edges), "costheta": np.asarray(figs.costheta.edges)}


def _sample_hist(sample: SignalSample, x: float) -> dict[str, np.ndarray]:
    """E_vis / cos θ histograms (digitised bins, 200 < E_QE < 1250 MeV) of a sample at x."""
    w = sample.weights(x) * sample.pot
    c = sample.columns
    win = (c["e_qe"] >= EXCESS_WINDOW_MEV[0]) & (c["e_qe"] < EXCESS_WINDOW_MEV[1])
    edges = _digitised_edges()
    return {"evis": np.histogram(c["e_vis"][win], edges["evis"], weights=w[win])[0],
            "costheta": np.histogram(c["cos_theta"][win], edges["costheta"], weights=w[win])[0]}


def oscillation_distributions(dm2_ev2: float, sin2_2theta: float, seed: int = 12345,
                              replicas: int = 4) -> dict[str, np.ndarray]:
    """ν-mode E_vis / cos θ histograms (digitised bins, events) of the 3+1 signal at
    (Δm², sin²2θ), 200 < E_QE < 1250 MeV (module docstring).  ``replicas`` CCQE draws per ntuple
    event (weights divided accordingly)."""
    from mesonportal.analysis.oscillation import appearance_probability, load_oscillation_ntuple
    from mesonportal.analysis.reconstruction import e_qe
    from mesonportal.detection import ccqe
    from mesonportal.detection.response import smear_direction, smear_energy

    if int(replicas) < 1:
        raise ParameterError(f"replicas must be >= 1, got {replicas}")
    nt = load_oscillation_ntuple("nu")
    rng = np.random.default_rng([int(seed), 13013])
    w = np.tile(nt.events * appearance_probability(dm2_ev2, sin2_2theta, nt.baseline_cm, nt.e_true_mev),
                replicas) / replicas
    el, ct = ccqe.sample_electron(rng, nt.e_true_mev, n_grid=129, draws=replicas)
    enu = np.tile(nt.e_true_mev, replicas)
    st = np.sqrt(np.clip(1 - ct * ct, 0, None))
    phi = rng.uniform(0, 2 * np.pi, enu.size)
    dirs = np.column_stack([st * np.cos(phi), st * np.sin(phi), ct])
    ev = smear_energy(rng, el)
    d2 = smear_direction(rng, dirs, el)
    cos_r = np.clip(d2[:, 2], -1, 1)
    eq = e_qe(ev, cos_r, "nu")
    win = (eq >= EXCESS_WINDOW_MEV[0]) & (eq < EXCESS_WINDOW_MEV[1])
    edges = _digitised_edges()
    return {"evis": np.histogram(ev[win], edges["evis"], weights=w[win])[0],
            "costheta": np.histogram(cos_r[win], edges["costheta"], weights=w[win])[0]}


def oscillation_dump_events(nu_events_all: float, seed: int = 12345, samples: int = 200_000) -> dict[str, float]:
    """3+1 beam-dump prediction: ν-mode oscillation events (all E_QE) × [ν_μ + ν̄_μ flux per POT
    in dump mode / in ν mode] (package flux, same seed) × POT_dump / POT_ν (spectral shape
    differences between the two modes neglected)."""
    from mesonportal import api
    from mesonportal.experiments import load_experiment

    exp = load_experiment("miniboone")
    fn = api.neutrino_flux("miniboone", "nu", samples=samples, seed=seed)
    fd = api.neutrino_flux("miniboone", "dump", samples=samples, seed=seed)
    def tot(f):
        t = float(np.sum(f["numu"]) + np.sum(f["numubar"]))
        e = math.sqrt(float(np.sum(np.square(f["numu_err"])) + np.sum(np.square(f["numubar_err"]))))
        return t, e

    (tn, en), (td, ed) = tot(fn), tot(fd)
    ratio = td / tn
    rel = math.hypot(en / tn, ed / td)
    pot_ratio = exp.pot("dump") / exp.pot("nu")
    ev = nu_events_all * ratio * pot_ratio
    return {"events": ev, "events_mc_error": ev * rel, "numu_flux_ratio_dump_over_nu": ratio,
            "flux_samples": samples, "pot_ratio": pot_ratio}


# ---------------------------------------------------------------------------- rows
def _row(hypothesis: str, kind: str, eqe_chi2: float, ndof: int, signif: float, shapes: Mapping[str, Any],
         ratio: float | None, dump_ok: bool | None, pienu: bool | None, context: Mapping[str, Any],
         **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "hypothesis": hypothesis,
        "kind": kind,
        "eqe_chi2": float(eqe_chi2),
        "eqe_ndof": int(ndof),
        "significance_sigma": float(signif),
        "costheta_chi2": shapes.get("costheta_chi2"),
        "evis_chi2": shapes.get("evis_chi2"),
        "costheta_ndof": shapes.get("costheta_ndof"),
        "evis_ndof": shapes.get("evis_ndof"),
        "costheta_chi2_absolute": shapes.get("costheta_chi2_absolute"),
        "evis_chi2_absolute": shapes.get("evis_chi2_absolute"),
        "nubar_over_nu": ratio,
        "nubar_over_nu_observed": OBSERVED_NUBAR_OVER_NU,
        "dump_ok": dump_ok,
        "pienu_allowed": pienu,
        "microboone_ok": constraint_verdict("microboone", hypothesis, context),
    }
    row.update(extra)
    return row


def background_row() -> dict[str, Any]:
    """Background only: χ² of the release with s = 0."""
    lk = get_likelihood("combined")
    chi = lk.chi2(np.zeros(lk.n_e))
    return _row("background only", "background", chi, lk.n_e + lk.n_mu, 0.0, shape_chi2s(None, None),
                None, True, None, {"model": None, "fit": None, "samples": None, "coupling_product": 0.0},
                best_fit=None)


def oscillation_row(fits: Mapping[str, Any], seed: int = 12345, dump_samples: int = 200_000) -> tuple[dict[str, Any], dict]:
    """3+1 row from :func:`~mesonportal.analysis.oscillation.fit_oscillation` output (combined)."""
    from mesonportal.analysis.oscillation import oscillation_signal

    c = fits["combined"]
    hist = oscillation_distributions(c.best_dm2, c.best_s22, seed)
    nu_all = float(np.sum(oscillation_signal("nu", c.best_dm2, c.best_s22)))
    dump = oscillation_dump_events(nu_all, seed, dump_samples)
    ev_nu, ev_nb = c.events("nu"), c.events("nubar")
    row = _row("3+1 oscillation", "oscillation", c.chi2_min, c.ndof, c.significance_sigma,
               shape_chi2s(hist["evis"], hist["costheta"]), ev_nb / ev_nu if ev_nu > 0 else None,
               bool(dump["events"] <= DUMP_UPPER_LIMIT_EVENTS), None,
               {"model": None, "fit": c, "samples": None, "coupling_product": None},
               best_fit={"dm2_ev2": c.best_dm2, "sin2_2theta": c.best_s22},
               events={"nu": ev_nu, "nubar": ev_nb, "dump": dump["events"]},
               dump_detail=dump)
    return row, hist


def benchmark_row(name: str, result: FitResult, preds: Mapping[str, SignalSample], model: Any = None) -> tuple[dict[str, Any], dict]:
    """Row of a fitted benchmark (combined fit) and its E_vis / cos θ histograms at the best fit."""
    b = result.best
    x = b.best_fit
    hist = _sample_hist(preds["nu"], x) if x > 0 else {"evis": None, "costheta": None}
    ev = result.events
    ratio = (ev["nubar"] / ev["nu"]) if (ev.get("nu") and ev.get("nubar") is not None and ev["nu"] > 0) else None
    dump_ok = None if result.dump is None else bool(result.dump.get("consistent"))
    row = _row(name, "benchmark", b.chi2_min, b.ndof, b.significance_sigma,
               shape_chi2s(hist["evis"], hist["costheta"]) if x > 0 else shape_chi2s(None, None),
               ratio, dump_ok, result.pienu_allowed,
               {"model": model, "fit": result, "samples": dict(preds), "coupling_product": x},
               best_fit={"coupling_product": x, "units": result.units},
               events=dict(ev), notes=list(result.notes))
    return row, hist


# ---------------------------------------------------------------------------- systematics
def efficiency_variation(sample: SignalSample, n_sigma: float) -> SignalSample:
    """The sample with the γ/e⁻ efficiency table shifted by ``n_sigma`` × its systematic error
    (2012 data release table, :func:`~mesonportal.detection.response.efficiency_uncertainty`),
    evaluated at each event's true shower energy: weights × max(ε + kσ_ε, 0)/ε."""
    from mesonportal.detection.response import efficiency, efficiency_uncertainty

    c = sample.columns
    if "e_true" not in c:
        raise ParameterError("sample has no 'e_true' column: cannot vary the efficiency")
    eff = efficiency(np.clip(c["e_true"], 0, None))
    unc = efficiency_uncertainty(np.clip(c["e_true"], 0, None))
    f = np.where(eff > 0, np.clip(eff + n_sigma * unc, 0, None) / np.where(eff > 0, eff, 1.0), 0.0)
    return _scaled(sample, f)


def _scaled(sample: SignalSample, factor: np.ndarray) -> SignalSample:
    """``sample`` with every event's weight multiplied by ``factor`` (per event), at the
    reference coupling and in its ``weight_fn`` (so reweighting to other couplings keeps it)."""
    cols = dict(sample.columns)
    cols["weight"] = sample.columns["weight"] * factor
    wf = None
    if sample.weight_fn is not None:
        base = sample.weight_fn
        wf = lambda x, _b=base, _f=factor: _b(x) * _f  # noqa: E731
    return dataclasses.replace(sample, columns=cols, weight_fn=wf)


def detector_only(sample: SignalSample) -> SignalSample:
    """The sample without the events that up-scatter in the dirt (column ``region`` = 1, idm chain
    with a configured dirt volume, docs/experiments.md); unchanged if there is no such column."""
    c = sample.columns
    if "region" not in c:
        return sample
    return _scaled(sample, (np.asarray(c["region"]) != 1).astype(float))


def _fit_summary(r: FitResult) -> dict[str, Any]:
    b = r.best
    return {"coupling_product": b.best_fit, "chi2": b.chi2_min, "delta_chi2": b.delta_chi2,
            "significance_sigma": b.significance_sigma, "at_scan_edge": b.at_scan_edge,
            "events_nu": r.events.get("nu"), "events_nubar": r.events.get("nubar"),
            "events_dump": r.events.get("dump")}


def systematic_variations(name: str, model: Any, result: FitResult, preds: Mapping[str, SignalSample],
                          dump: SignalSample | None, *, samples: int | None = None, seed: int = 12345,
                          g1_factors: Sequence[float] = G1_FACTORS,
                          status: Callable[[str], None] | None = None, dirt: bool = True) -> dict[str, Any]:
    """Best fit of one benchmark under the systematic variations of issue #13:

    * single-shower criterion ``"circle-table"`` (Table II circle alone) and ``"angle"``
      (instead of the default circle-or-overlap), by re-predicting all modes;
    * efficiency table ±1σ (reweighting, :func:`efficiency_variation`);
    * idm with one mediator: the fit profiled over g₁ (V₁ → χχ̄ coupling) on
      ``g1_factors`` × the reference value (capped at 4π): best case and reference side by side;
      the point equal to the reference model is the reference fit itself (not re-predicted).

    ``dirt``: the dirt convention of the reference fit, used for every re-prediction.
    """
    from mesonportal.models.registry import load_benchmark

    out: dict[str, Any] = {"benchmark": name, "reference": _fit_summary(result), "criterion": {}, "efficiency": {}}
    # the re-predicted variants: (kind, label, model, criterion); for the g1 profile the point
    # equal to the reference model is the reference fit itself (not re-predicted)
    variants: list[tuple[str, Any, Any, str]] = [("criterion", crit, model, crit) for crit in ("circle-table", "angle")]
    params = dict(model.describe().get("params", {})) if hasattr(model, "describe") else {}
    is_single_idm = hasattr(model, "with_coupling_product") and getattr(model, "m_v2", None) is None and hasattr(model, "g1")
    g1_rows: list[tuple[float, Any]] = []  # (g1, FitResult | model variant index | error message)
    if is_single_idm:
        g_ref = float(model.g1)
        for fac in g1_factors:
            g = min(g_ref * float(fac), 4.0 * math.pi)
            try:
                m = load_benchmark(name, g1=g)
            except MesonportalError as exc:
                g1_rows.append((g, str(exc)))
                continue
            if m.describe() == model.describe():
                g1_rows.append((g, result))
            else:
                g1_rows.append((g, len(variants)))
                variants.append(("g1", g, m, "circle"))
    fits = _fit_variants(name, variants, samples=samples, seed=seed, dirt=dirt, status=status)
    for (kind, crit, _, _), r in zip(variants, fits):
        if kind == "criterion":
            if isinstance(r, MesonportalError):  # a failing criterion prediction stops the lens
                raise r
            out["criterion"][crit] = _fit_summary(r) if r is not None else None
    for k, label in ((1.0, "+1sigma"), (-1.0, "-1sigma")):
        pv = {m: efficiency_variation(s, k) for m, s in preds.items()}
        dv = efficiency_variation(dump, k) if dump is not None else None
        try:
            r = fit_excess(pv, ("nu", "nubar"), dv, result.stat, model=model, benchmark=name)
            out["efficiency"][label] = _fit_summary(r)
        except MesonportalError as exc:
            out["efficiency"][label] = {"error": str(exc)}
    if is_single_idm:
        rows = []
        for g, r in g1_rows:
            if isinstance(r, int):
                r = fits[r]
            if isinstance(r, FitResult):
                rows.append({"g1": g, **_fit_summary(r)})
            else:
                rows.append({"g1": g, "error": str(r)})
        ok = [r for r in rows if "chi2" in r]
        best = min(ok, key=lambda r: r["chi2"]) if ok else None
        flat = [r["g1"] for r in ok if best is not None and r["chi2"] - best["chi2"] < 0.01]
        out["g1_profile"] = {"reference_g1": g_ref, "reference": {"g1": g_ref, **_fit_summary(result)},
                             "best": best, "scan": rows, "g1_flat_range": [min(flat), max(flat)] if flat else None,
                             "note": "fit of eps1^2 gp1^2/(4 pi) repeated at each g1 (other couplings at the benchmark values)"}
    out["params"] = params
    return out


def _fit_variants(name: str, variants: Sequence[tuple[str, Any, Any, str]], *, samples: int | None, seed: int,
                  dirt: bool, status: Callable[[str], None] | None = None) -> list[Any]:
    """The MiniBooNE fits (ν+ν̄, dump) of the systematic ``variants`` = [(kind, label, model,
    criterion)], each exactly as a separate ``run_fit`` with that criterion would make it.

    The predictions are made mode by mode over all variants, inside
    :func:`mesonportal.detection.signal.idm_arrival_memo`: iDM variants that differ only in g₁
    or the single-shower criterion share the V's and forced χ emissions of their mode (the same
    numbers, computed once per mode instead of once per variant); each prediction keeps only the
    fit's columns (:data:`mesonportal.analysis.retention.FIT_COLUMNS`).  Returns per variant the
    FitResult, None (the fit raised a MesonportalError, e.g. no sensitivity) or the
    MesonportalError of its first failing prediction."""
    import importlib

    _predict = importlib.import_module("mesonportal.analysis.predict")
    from mesonportal._memory import release, trim
    from mesonportal.analysis.retention import FIT_COLUMNS, slim
    from mesonportal.detection.signal import idm_arrival_memo
    from mesonportal.experiments import load_experiment

    exp = load_experiment("miniboone")
    kw: dict[str, Any] = {"seed": seed, "dirt": dirt}
    if samples is not None:
        kw["samples"] = samples
    preds: list[dict[str, Any]] = [{} for _ in variants]
    failed: list[MesonportalError | None] = [None for _ in variants]
    with idm_arrival_memo(2):  # one mode at a time: its detector and dirt kinematics
        for mode in ("nu", "nubar", "dump"):
            if status:
                status(f"systematics: {mode} mode, " + ", ".join(
                    f"criterion {lab}" if kind == "criterion" else f"g1 = {lab:.3g}" for kind, lab, _, _ in variants))
            for i, (_, _, m, crit) in enumerate(variants):
                if failed[i] is not None:
                    continue
                try:
                    preds[i][mode] = slim(_predict.predict_signal(exp, mode, m, criterion=crit, **kw), FIT_COLUMNS)
                    trim()  # the chain's temporaries go back to the OS (peak memory)
                except MesonportalError as exc:
                    failed[i] = exc
                    preds[i] = {}
    release()
    out: list[Any] = []
    for i, (_, _, m, _) in enumerate(variants):
        if failed[i] is not None:
            out.append(failed[i])
            continue
        p = preds[i]
        dump = p.pop("dump")
        try:
            out.append(fit_excess(p, ("nu", "nubar"), dump, model=m, benchmark=name))
        except MesonportalError:
            out.append(None)
        preds[i] = {}
        del p, dump
    return out


# ---------------------------------------------------------------------------- output
def _fmt(v: Any, f: str = ".2f") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and not math.isfinite(v):
        return "–"
    return format(v, f)


def lens_markdown(rows: Sequence[Mapping[str, Any]], systematics: Mapping[str, Any] | None = None,
                  meta: Mapping[str, Any] | None = None) -> str:
    """The lens table (Markdown) with definitions and, if given, the systematic variations."""
    figs = load_digitized()
    nd_c, nd_e = figs.costheta["data"].size, figs.evis["data"].size
    L = ["# The MiniBooNE lens: explanations of the excess on the 2021 release", ""]
    for k, v in (meta or {}).items():
        L.append(f"- {k}: {v}")
    he_exps = list(dict.fromkeys(e for r in rows for e in (r.get("highenergy") or {})))
    L += ["", "| hypothesis | best fit | E_QE χ²/ndof | signif. vs bkg | cosθ χ² (shape) | E_vis χ² (shape) "
              "| ν̄/ν excess (obs. 0.138) | dump OK | PIENU | MicroBooNE |" + "".join(f" {e} |" for e in he_exps),
          "|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(he_exps)]
    for r in rows:
        bf = r.get("best_fit")
        if bf is None:
            bfs = "–"
        elif "dm2_ev2" in bf:
            bfs = f"Δm² = {bf['dm2_ev2']:.3g} eV², sin²2θ = {bf['sin2_2theta']:.3g}"
        else:
            bfs = f"{bf['coupling_product']:.3g} {bf.get('units', '')}".strip()
        L.append(f"| {r['hypothesis']} | {bfs} | {_fmt(r['eqe_chi2'], '.1f')}/{r['eqe_ndof']} | "
                 f"{_fmt(r['significance_sigma'], '.1f')}σ | {_fmt(r['costheta_chi2'], '.1f')} | "
                 f"{_fmt(r['evis_chi2'], '.1f')} | {_fmt(r['nubar_over_nu'], '.3f')} | {_fmt(r['dump_ok'])} | "
                 f"{_fmt(r['pienu_allowed'])} | {_fmt(r.get('microboone_ok'))} |"
                 + "".join(f" {_he_cell((r.get('highenergy') or {}).get(e))} |" for e in he_exps))
    L += ["",
          "Definitions:",
          "",
          "- E_QE χ²: MiniBooNE covariance χ² of the combined ν+ν̄ fit (60×60 release matrix, 38 bins, "
          "arXiv:2006.16883); ndof = 38 − fitted parameters (0 background, 2 for 3+1, 1 coupling product). "
          "Significance: √Δχ² (1 parameter on a boundary); 3+1: Δχ² converted with 2 dof.",
          f"- cosθ ({nd_c} bins) and E_vis ({nd_e} bins) χ²: digitised ν-mode figures of arXiv:2006.16883 "
          "(200 < E_QE < 1250 MeV). Shape test: prediction normalised to the observed excess, μ = b + A·s/Σs, "
          f"χ² = Σ(d − μ)²/μ, statistical only (no covariance is published for the figures, no systematic "
          f"assumed), ndof = bins − 1 ({nd_c - 1}, {nd_e - 1}); background only: μ = b, ndof = bins. "
          "`lens.json` also has the χ² at the best-fit normalisation (`*_chi2_absolute`).",
          "- 3+1 cosθ/E_vis: free-nucleon CCQE (Llewellyn Smith, M_A = 1.026 GeV) on the release's "
          "fully oscillated ntuple at the best fit, smeared with the package's resolution (no Fermi motion).",
          "- ν̄/ν: predicted events 200 < E_QE < 1250 MeV at the best fit; observed 77.4/560.6 = "
          f"{OBSERVED_NUBAR_OVER_NU:.3f} (ν_μ-constrained excesses).",
          f"- dump OK: predicted beam-dump events ≤ {DUMP_UPPER_LIMIT_EVENTS:.2f} (90% CL, 0 observed; proxy for "
          "arXiv:1807.06137). 3+1: ν-mode oscillation events × package ν_μ flux ratio dump/ν × POT ratio.",
          "- PIENU: proxy bounds on π → ℓνX (production.limits); n/a without such a decay.",
          "- MicroBooNE: 'yes' unless the MicroBooNE constraint evaluated at the MiniBooNE best fit "
          "(`fit --with microboone`, LAr-TPC response) excludes it at 90% CL; a constraint registered with "
          "`analysis.compare.register_constraint` takes precedence; n/a when not evaluated."]
    if he_exps:
        L.append("- High-energy columns (" + ", ".join(he_exps) + "): selected events at the best fit ± meson-clustered "
                 "MC error (small samples), → verdict at 90% CL against N_90 of the measurement (DUNE ND: projection, "
                 "no measurement); '*' = the verdict flips within the photon / e⁺e⁻-pair acceptance range. "
                 "`mesonportal highenergy` prints the full table with its assumptions (docs/highenergy.md).")
    if systematics:
        L += ["", "## Systematic variations of the benchmark fits", "",
              "Best-fit coupling product (χ²_min, significance) under each variation; reference = default "
              "(single-shower criterion `circle`: Table II circle or rings overlapping below 13°; "
              "efficiency table central values).", "",
              "| benchmark | reference | criterion circle-table | criterion angle | efficiency +1σ | efficiency −1σ |",
              "|---|---|---|---|---|---|"]

        def cell(s: Mapping[str, Any] | None) -> str:
            if not s:
                return "no sensitivity"
            if "error" in s:
                return f"error: {s['error']}"
            edge = " (edge)" if s.get("at_scan_edge") else ""
            return f"{s['coupling_product']:.3g}{edge} (χ² {s['chi2']:.1f}, {s['significance_sigma']:.1f}σ)"

        for name, s in systematics.items():
            L.append(f"| {name} | {cell(s['reference'])} | {cell(s['criterion'].get('circle-table'))} | "
                     f"{cell(s['criterion'].get('angle'))} | {cell(s['efficiency'].get('+1sigma'))} | "
                     f"{cell(s['efficiency'].get('-1sigma'))} |")
        for name, s in systematics.items():
            g = s.get("g1_profile")
            if not g:
                continue
            L += ["", f"### {name}: fit profiled over g₁ (V₁ → χχ̄ coupling)", "",
                  "| g₁ | best-fit product | χ²_min | significance | events ν / ν̄ | dump events |", "|---|---|---|---|---|---|"]
            for r in g["scan"]:
                if "chi2" not in r:
                    L.append(f"| {r['g1']:.3g} | error: {r.get('error')} | | | | |")
                    continue
                tag = " (reference)" if abs(r["g1"] - g["reference_g1"]) < 1e-12 * max(1, g["reference_g1"]) else ""
                tag += " (best)" if g["best"] is not None and r is g["best"] else ""
                L.append(f"| {r['g1']:.3g}{tag} | {r['coupling_product']:.3g}{' (edge)' if r['at_scan_edge'] else ''} | "
                         f"{r['chi2']:.2f} | {r['significance_sigma']:.2f}σ | {_fmt(r['events_nu'], '.1f')} / "
                         f"{_fmt(r['events_nubar'], '.1f')} | {_fmt(r['events_dump'], '.3g')} |")
            if g["best"] is not None:
                fr = g.get("g1_flat_range")
                L += ["", f"Best case g₁ = {g['best']['g1']:.3g} (χ² {g['best']['chi2']:.2f}) vs reference "
                          f"g₁ = {g['reference_g1']:.3g} (χ² {g['reference']['chi2']:.2f})"
                          + (f"; χ²_min is flat (within 0.01) for g₁ in [{fr[0]:.3g}, {fr[1]:.3g}]." if fr and fr[0] < fr[1] else ".")]
    return "\n".join(L) + "\n"


def _he_cell(c: Mapping[str, Any] | None) -> str:
    if not c:
        return "n/a"
    if "error" in c:
        return f"error: {c['error']}"
    ev, err = c["events"], c["mc_stat_error"]
    flip = "*" if c.get("verdict_range") and len(set(c["verdict_range"])) > 1 else ""
    return f"{ev:.3g} ± {err:.2g} → {c['verdict']}{flip}"


def highenergy_columns(model: Any, coupling_product: float, *, samples: int = 5_000, seed: int = 12345,
                       experiments: Sequence[str] | None = None) -> dict[str, Any]:
    """The lens's high-energy columns for one benchmark at its best fit: {experiment: {events,
    mc_stat_error, allowed_90, verdict, verdict_range, samples}} from
    :func:`mesonportal.analysis.highenergy.verdict_table`; a failing experiment gives {error}."""
    from mesonportal.analysis.highenergy import HE_EXPERIMENTS, verdict_table

    out: dict[str, Any] = {}
    for e in experiments or HE_EXPERIMENTS:
        try:
            r = verdict_table(model, coupling_product, samples=samples, seed=seed, experiments=[e])[0]
        except MesonportalError as exc:
            out[e] = {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
            continue
        out[e] = {"events": r["events_selected"], "mc_stat_error": r["mc_stat_error"],
                  "events_range": r["events_selected_range"], "allowed_90": r["allowed_90"],
                  "verdict": r["verdict"], "verdict_range": r["verdict_range"], "samples": samples}
    return out


def plot_shapes(name: str, hist: Mapping[str, np.ndarray | None], path: str | Path) -> Path:
    """E_vis and cos θ: digitised data and background with the hypothesis normalised to the
    observed excess (shape test) stacked on the background."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figs = load_digitized()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    for ax, key, h, xl in ((axes[0], "evis", figs.evis, "E_vis [MeV]"), (axes[1], "costheta", figs.costheta, "cos θ")):
        e = np.asarray(h.edges)
        d, b = h["data"], h["background"]
        c = 0.5 * (e[1:] + e[:-1])
        ax.stairs(b, e, color="#3182bd", label="background (digitised)")
        p = hist.get(key)
        if p is not None and np.sum(p) > 0:
            s = (d - b).sum() * np.asarray(p) / np.sum(p)
            ax.stairs(b + s, e, color="#e6550d", lw=1.8, label=f"bkg + {name} (shape, excess-normalised)")
        ax.errorbar(c, d, yerr=np.sqrt(d), fmt="o", ms=3, color="black", label="data, arXiv:2006.16883")
        ax.set_xlabel(xl)
        ax.set_ylabel("events / bin")
        ax.legend(fontsize=7)
    fig.suptitle(f"MiniBooNE ν mode, 200 < E_QE < 1250 MeV: {name}", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name).strip("_")


def benchmark_entry(
    name: str,
    *,
    fit: tuple[FitResult, Mapping[str, SignalSample], SignalSample | None] | None = None,
    samples: int | None = None,
    seed: int = 12345,
    systematics: bool = True,
    dirt: bool = True,
    status: Callable[[str], None] | None = None,
    highenergy: bool = False,
    highenergy_samples: int = 5_000,
) -> dict[str, Any]:
    """The lens entry of one benchmark: ``row`` (:func:`benchmark_row`), ``hist`` (its E_vis /
    cos θ histograms at the best fit) and ``systematics`` (:func:`systematic_variations`, None
    without ``systematics``); a benchmark without sensitivity gives only a ``row`` with
    ``status``.  ``fit``: an already computed ``run_fit`` output (reused), else the fit is made
    here (with the MicroBooNE constraint where the model has a MicroBooNE prediction);
    ``highenergy``: add the high-energy columns to the row (as :func:`run_compare`).  Plain
    data only (picklable), so that entries can be computed in other processes."""
    from mesonportal.cli.fit_cmd import run_fit
    from mesonportal.exceptions import NoSensitivityError
    from mesonportal.models.registry import load_benchmark

    say = status or (lambda _m: None)
    model = load_benchmark(name)
    if fit is not None:
        result, preds, dump = fit
    else:
        say(f"{name}: fit")
        try:
            try:
                result, preds, dump = run_fit("miniboone", model, ("nu", "nubar"), samples=samples, seed=seed,
                                              benchmark=name, with_constraints=("microboone",), dirt=dirt)
            except NoSensitivityError:
                raise
            except MesonportalError:  # no MicroBooNE prediction for this model: fit without it
                result, preds, dump = run_fit("miniboone", model, ("nu", "nubar"), samples=samples, seed=seed,
                                              benchmark=name, dirt=dirt)
        except NoSensitivityError as exc:
            return {"row": {"hypothesis": name, "kind": "benchmark", "status": "no sensitivity", "message": str(exc),
                            **{k: None for k in LENS_KEYS if k != "hypothesis"}}}
    row, hist = benchmark_row(name, result, preds, model)
    if highenergy and result.best.best_fit is not None and result.best.best_fit > 0:
        say(f"{name}: high-energy experiments")
        row["highenergy"] = highenergy_columns(model, float(result.best.best_fit), samples=highenergy_samples,
                                               seed=seed)
    entry: dict[str, Any] = {"row": row, "hist": hist, "systematics": None}
    if systematics:
        entry["systematics"] = systematic_variations(name, model, result, preds, dump, samples=samples, seed=seed,
                                                     status=lambda m, _n=name: say(f"{name}: {m}"), dirt=dirt)
    return entry


def run_compare(
    out: str | Path = "compare",
    benchmarks: Sequence[str] | None = None,
    *,
    samples: int | None = None,
    seed: int = 12345,
    systematics: bool = True,
    plots: bool = True,
    fits: Mapping[str, tuple[FitResult, Mapping[str, SignalSample], SignalSample | None]] | None = None,
    osc_points: int = 61,
    flux_samples: int = 200_000,
    status: Callable[[str], None] | None = None,
    dirt: bool = True,
    precomputed: Mapping[str, Mapping[str, Any]] | None = None,
    highenergy: bool = False,
    highenergy_samples: int = 5_000,
) -> list[dict[str, Any]]:
    """Compute the lens and write ``out/lens.json`` (list of rows), ``out/compare.md``,
    ``out/compare.json`` (rows, systematics, conventions), per-hypothesis shape plots
    ``out/shapes_<hypothesis>.png``, the 3+1 contours and ``out/<benchmark>/systematics.json``.

    ``benchmarks``: default every registered benchmark; ``fits``: already computed
    ``run_fit`` outputs by benchmark name (reused, e.g. by ``mesonportal reproduce``);
    ``flux_samples``: mesons for the ν flux ratio of the 3+1 dump estimate; ``dirt``: the dirt
    convention (iDM) of the benchmark fits and their systematic variations; ``precomputed``:
    :func:`benchmark_entry` outputs by benchmark name (e.g. computed in worker processes by
    ``mesonportal reproduce``), used as they are; ``highenergy``: add the
    CHARM-II / T2K ND280 / MINERvA / DUNE ND columns (:func:`highenergy_columns`,
    ``highenergy_samples`` mesons per prediction; off by default: a cold run generates the four
    Pythia 8 tables first, docs/highenergy.md).
    """
    from mesonportal.analysis.oscillation import conventions as osc_conv
    from mesonportal.analysis.oscillation import fit_oscillation
    from mesonportal.models.registry import available_benchmarks

    names = list(available_benchmarks() if benchmarks is None else benchmarks)
    known = available_benchmarks()
    bad = [n for n in names if n not in known]
    if bad:
        raise ParameterError(f"unknown benchmark(s) {bad}; allowed: {', '.join(known)}")
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    say = status or (lambda _m: None)
    rows: list[dict[str, Any]] = [background_row()]
    hists: dict[str, Any] = {"background only": {"evis": None, "costheta": None}}
    say("3+1 oscillation fit")
    ofits = fit_oscillation(("nu", "nubar"), n_dm2=osc_points, n_s22=osc_points)
    orow, ohist = oscillation_row(ofits, seed, flux_samples)
    rows.append(orow)
    hists[orow["hypothesis"]] = ohist
    syst: dict[str, Any] = {}
    for name in names:
        if precomputed is not None and name in precomputed:
            entry = precomputed[name]
        else:
            entry = benchmark_entry(name, fit=None if fits is None else fits.get(name), samples=samples, seed=seed,
                                    systematics=systematics, dirt=dirt, status=say, highenergy=highenergy,
                                    highenergy_samples=highenergy_samples)
        rows.append(entry["row"])
        if "hist" in entry:
            hists[name] = entry["hist"]
        if entry.get("systematics") is not None:
            s = entry["systematics"]
            syst[name] = s
            (outdir / name).mkdir(parents=True, exist_ok=True)
            (outdir / name / "systematics.json").write_text(json.dumps(_jsonable(s), indent=2, allow_nan=False),
                                                            encoding="utf-8")
    meta = {"release": "MiniBooNE 2021 (arXiv:2006.16883), 18.75e20 POT nu / 11.27e20 POT nubar",
            "seed": seed, "samples": samples if samples is not None else "prediction default",
            "benchmarks": ", ".join(names)}
    if highenergy:
        meta["high-energy columns"] = f"{highenergy_samples} mesons per prediction (MC errors stated per cell)"
    (outdir / "lens.json").write_text(json.dumps(_jsonable(rows), indent=2, allow_nan=False), encoding="utf-8")
    (outdir / "compare.json").write_text(json.dumps(_jsonable({
        "meta": meta, "rows": rows, "systematics": syst,
        "oscillation": {k: f.to_json() for k, f in ofits.items()},
        "conventions": {"oscillation": osc_conv()},
        "observed": {"nubar_over_nu": OBSERVED_NUBAR_OVER_NU},
    }), indent=2, allow_nan=False), encoding="utf-8")
    (outdir / "compare.md").write_text(lens_markdown(rows, syst if systematics else None, meta), encoding="utf-8")
    if plots:
        say("plots")
        from mesonportal.analysis.oscillation_plots import plot_oscillation_fits

        plot_oscillation_fits(ofits, outdir)
        for name, h in hists.items():
            plot_shapes(name, h, outdir / f"shapes_{_slug(name)}.png")
    return rows


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
