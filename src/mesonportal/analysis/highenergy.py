"""Do the high-energy beams exclude the MiniBooNE solutions?  Selections and verdicts (issue #16).

:func:`selected_events` applies a measurement's generator-level single-EM-shower selection
(:class:`mesonportal.datasets.highenergy.Selection`) to a predicted
:class:`~mesonportal.analysis.prediction.SignalSample`; :func:`verdict_table` predicts a model at
a given coupling product (its MiniBooNE best fit) in CHARM-II, T2K ND280, MINERvA and DUNE ND and
sets the predicted selected events next to what each measurement allows at 90% CL
(:attr:`~mesonportal.datasets.highenergy.Measurement.allowed_90`).  The rows are the columns
the lens table (``mesonportal compare``) can show.

EM object: p1 + p2 (photon of X A → γ A, or both decay products summed: pairs are not resolved
at these energies, a stated approximation); θ = angle between its momentum and the direction
from the target (origin) to the interaction point.  Units: MeV, rad, events for the exposure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mesonportal.datasets.highenergy import DUNE_ND_PROJECTION, Selection, get_measurement

__all__ = ["HE_EXPERIMENTS", "REFERENCE_FLUX", "CONVENTIONS", "selection_mask", "selected_events", "verdict_table",
           "flux_comparison", "published_flux_bins", "t2k_allowed_interactions"]

#: experiment -> measurement name (None: no measurement, projection with DUNE_ND_PROJECTION)
HE_EXPERIMENTS: dict[str, str | None] = {
    "charm-ii": "charm2_nue", "t2k-nd280": "t2k_nd280_nc1gamma", "minerva": "minerva_nue_me", "dune-nd": None,
}


def _em(cols: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    e = cols["p1_e"] + cols["p2_e"]
    p = np.column_stack([cols["p1_px"] + cols["p2_px"], cols["p1_py"] + cols["p2_py"], cols["p1_pz"] + cols["p2_pz"]])
    r = np.column_stack([cols["int_x"], cols["int_y"], cols["int_z"]])
    pn = np.linalg.norm(p, axis=1)
    rn = np.linalg.norm(r, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.sum(p * r, axis=1) / (pn * rn)
    theta = np.arccos(np.clip(np.nan_to_num(c, nan=-1.0), -1.0, 1.0))
    return e, theta


def selection_mask(cols: dict[str, np.ndarray], sel: Selection, which: str = "central") -> tuple[np.ndarray, np.ndarray]:
    """(pass mask, per-event efficiency) of the selection for the event columns.  Photons (no
    second particle) get ``sel.photon_acceptance`` and two-particle final states (an unresolved
    e⁺e⁻ pair; also the rare γγ of a decaying scalar, treated alike) ``sel.pair_acceptance``
    relative to an electron (dE/dx, :mod:`mesonportal.datasets.highenergy`); ``which`` = "low" /
    "high" takes the ends of their ranges instead of the central values."""
    e, th = _em(cols)
    ok = (e >= sel.e_min_mev) & (e <= sel.e_max_mev) & (e * th * th <= sel.etheta2_max_mev)
    photon = cols["p2_e"] <= 0.0
    if which == "central":
        a_g, a_p = sel.photon_acceptance, sel.pair_acceptance
    elif which in ("low", "high"):
        k = 0 if which == "low" else 1
        a_g, a_p = sel.photon_acceptance_range[k], sel.pair_acceptance_range[k]
    else:
        from mesonportal.exceptions import ParameterError

        raise ParameterError(f"which = {which!r}; allowed: central, low, high")
    eff = sel.efficiency * np.where(photon, a_g, a_p)
    return ok, eff


def _weights_without_miniboone_efficiency(signal, coupling_product):
    """Events/POT before the detector response's efficiency (``weight_before_efficiency``; the
    selection of this module replaces it), rescaled to ``coupling_product`` with the sample's own
    per-event coupling dependence w(x)/w(x_ref).  Rows the response rejected (w = 0) take the ratio
    of the rows of the same ``process`` (the dependence is one power law per process: e.g.
    Primakoff ∝ x², decays of a long-lived X fixed), or (x/x_ref)² if that process has no kept row."""
    cols = signal.columns
    w_ref = np.asarray(cols["weight"], float)
    base = np.asarray(cols.get("weight_before_efficiency", w_ref), float)
    if coupling_product is None:
        return base
    w_x = np.asarray(signal.weights(coupling_product), float)
    kept = w_ref > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(kept, w_x / np.where(kept, w_ref, 1.0), np.nan)
    fallback = (float(coupling_product) / signal.coupling_product_ref) ** 2
    proc = np.asarray(cols["process"]) if "process" in cols else np.zeros(len(w_ref), np.int64)
    for p in np.unique(proc[~kept]) if np.any(~kept) else ():
        same = (proc == p) & kept
        fill = float(np.sum(w_x[same]) / np.sum(w_ref[same])) if np.any(same) else fallback
        scale = np.where((proc == p) & ~kept, fill, scale)
    return base * scale


def selected_events(signal, sel: Selection, coupling_product: float | None = None) -> dict[str, float]:
    """Selected signal events for the exposure at ``coupling_product`` (reference if None):
    ``events`` (central photon / pair acceptance), ``events_low`` / ``events_high`` (ends of the
    acceptance ranges), ``mc_stat_error`` (meson-clustered like MiniBooNE's estimator,
    :func:`mesonportal.analysis.prediction.clustered_sum_w2`, when the sample has ``meson_index``),
    ``events_all`` (before the selection) and ``events_photon`` / ``events_pair`` (selected, by
    final state, before the photon / pair acceptance)."""
    w = _weights_without_miniboone_efficiency(signal, coupling_product) * signal.pot
    zero = {"events": 0.0, "mc_stat_error": 0.0, "events_all": 0.0, "events_low": 0.0, "events_high": 0.0,
            "events_photon": 0.0, "events_pair": 0.0}
    if len(w) == 0:
        return zero
    out = {"events_all": float(w.sum())}
    for which, key in (("central", "events"), ("low", "events_low"), ("high", "events_high")):
        ok, eff = selection_mask(signal.columns, sel, which)
        ws = np.where(ok, w * eff, 0.0)
        out[key] = float(ws.sum())
        if which == "central":
            out["mc_stat_error"] = float(np.sqrt(_clustered_w2(signal, ws)))
            photon = signal.columns["p2_e"] <= 0.0
            sel_w = np.where(ok, w * sel.efficiency, 0.0)
            out["events_photon"] = float(sel_w[photon].sum())
            out["events_pair"] = float(sel_w[~photon].sum())
    return out


def _clustered_w2(signal, w: np.ndarray) -> float:
    """MC variance of Σ w with the MiniBooNE predictions' estimator: meson-clustered (``meson_index``)
    and stratified by parent species when the sample records its primaries per species."""
    from mesonportal.analysis.prediction import (CLUSTER_COLUMN, STRATA_INFO, STRATUM_COLUMN,
                                                 clustered_sum_w2)

    cols = signal.columns
    cluster = cols.get(CLUSTER_COLUMN)
    info = getattr(signal, "info", None) or {}
    sizes = info.get(STRATA_INFO)
    if cluster is not None and sizes and STRATUM_COLUMN in cols:
        return clustered_sum_w2(w, cluster, cols[STRATUM_COLUMN], {int(k): int(v) for k, v in sizes.items()})
    return clustered_sum_w2(w, cluster)


def _verdict(events: float, low: float, high: float, allowed: float | None) -> str:
    if allowed is None:
        return "no counts"
    if low > allowed:
        return "excluded"
    if high <= allowed:
        return "allowed"
    return "excluded" if events > allowed else "allowed"


#: conventions stated with every verdict table (also in the CLI JSON)
CONVENTIONS = {
    "cl": "90% one-sided Gaussian: N_90 = max(observed - expected, 0) + 1.2816 sigma",
    "verdict": "excluded if predicted selected events > N_90 (central photon/pair acceptance); "
               "'excluded' / 'allowed' hold over the whole acceptance range unless 'verdict_range' says otherwise",
    "mode": "neutrino mode (FHC) only",
    "mc_error": "meson-clustered (rows of one sampled meson summed before squaring), statistical only",
    "em_object": "photon, or the e+e- pair summed (unresolved); theta to the target-vertex line",
    "flux": "each beam's focusing keys and flux_normalisation fitted to its published nu_mu flux (docs/highenergy.md)",
    "dune": "projection only: events for one year (no measurement)",
}


def verdict_table(model, coupling_product: float | None = None, *, samples: int | None = None, seed: int = 12345,
                  experiments=None) -> list[dict[str, Any]]:
    """One row per high-energy experiment: predicted selected events of ``model`` at
    ``coupling_product`` (pass the MiniBooNE best fit; None = the model's own couplings) with their
    meson-clustered MC error and the range from the photon / pair acceptance, what the measurement
    allows at 90% CL (N_90, with its source) and the verdict ("excluded", "allowed", "no counts"
    or "projection" for DUNE ND); ``verdict_range`` gives the verdicts at the ends of the
    acceptance range."""
    import warnings

    from mesonportal.analysis.predict import predict_signal

    from mesonportal.pipeline import resolve_experiment

    rows = []
    for exp_in in experiments or HE_EXPERIMENTS:
        exp = resolve_experiment(exp_in)
        exp_name = exp.name
        if exp_name not in HE_EXPERIMENTS:
            from mesonportal.exceptions import ParameterError

            raise ParameterError(f"experiment {exp_name!r} has no high-energy selection "
                                 f"(allowed: {', '.join(HE_EXPERIMENTS)})")
        meas_name = HE_EXPERIMENTS[exp_name]
        meas = get_measurement(meas_name) if meas_name else None
        sel = meas.selection if meas else DUNE_ND_PROJECTION
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the MiniBooNE-response warning: unused here
            sig = predict_signal(exp, "nu", model, samples=samples, seed=seed)
        ev = selected_events(sig, sel, coupling_product)
        allowed = meas.allowed_90 if meas else None
        allowed_source = (f"{meas.reference}: max(delta, 0) + 1.2816 sigma, delta = {meas.observed_minus_expected}, "
                          f"sigma = {meas.sigma:.4g}") if meas and allowed is not None else None
        if meas_name == "t2k_nd280_nc1gamma":
            allowed = t2k_allowed_interactions()
            allowed_source = ("arXiv:1902.03848 cross-section limit 0.114e-38 cm^2/nucleon x FGD nucleons x "
                              "published ND280 nu_mu flux (T2K 2016 release) x 5.738e20 POT")
        if meas:
            verdict = _verdict(ev["events"], ev["events_low"], ev["events_high"], allowed)
            vr = [("excluded" if x > allowed else "allowed") if allowed is not None else "no counts"
                  for x in (ev["events_low"], ev["events_high"])]
        else:
            verdict, vr = "projection", ["projection", "projection"]
        rows.append({
            "experiment": exp_name, "measurement": meas_name, "reference": meas.reference if meas else None,
            "pot": sig.pot, "events_selected": ev["events"], "mc_stat_error": ev["mc_stat_error"],
            "events_selected_range": [ev["events_low"], ev["events_high"]],
            "events_before_selection": ev["events_all"],
            "events_selected_photon": ev["events_photon"], "events_selected_pair": ev["events_pair"],
            "photon_acceptance": sel.photon_acceptance, "pair_acceptance": sel.pair_acceptance,
            "photon_acceptance_range": list(sel.photon_acceptance_range),
            "observed_minus_expected": meas.observed_minus_expected if meas else None,
            "sigma": meas.sigma if meas else None, "allowed_90": allowed, "allowed_90_source": allowed_source,
            "verdict": verdict, "verdict_range": vr,
            "flux_normalisation": float(exp.source.flux_normalisation),
            "assumptions": list(meas.assumptions) if meas else [DUNE_ND_PROJECTION.notes],
            "selection": sel.notes,
            "coupling_product": coupling_product if coupling_product is not None else sig.coupling_product_ref,
        })
    return rows


def t2k_allowed_interactions() -> float:
    """T2K ND280: single-photon interactions allowed at 90% CL, σ_lim × N_nucleons × Φ_νμ × POT
    (:mod:`mesonportal.datasets.t2k_nd280_nc1gamma`), with the *published* ND280 ν_μ flux
    (T2K 2016 release, bundled; 0–10 GeV) and N_nucleons = active mass × N_A (per gram)."""
    from mesonportal.constants import N_AVOGADRO
    from mesonportal.datasets.t2k_nd280_nc1gamma import MEASUREMENT, SIGMA_LIMIT_CM2
    from mesonportal.experiments import load_experiment

    exp = load_experiment("t2k-nd280")
    phi = float(published_flux_bins("t2k-nd280", np.arange(0.0, 10.0 + 1e-9, 0.05)).sum())
    nucleons = exp.detector.active_mass_t * 1e6 * N_AVOGADRO
    return SIGMA_LIMIT_CM2 * nucleons * phi * MEASUREMENT.pot


#: published ν_μ fluxes bundled for the comparison: experiment -> (data file, comparison range [GeV],
#: bin width [GeV]).  Ranges: where each table is defined and the flux is not negligible (MINERvA:
#: 2–20 GeV, the range of the ν–e flux constraint arXiv:1906.00111; T2K: 0–3 GeV, > 99% of the
#: ND280 ν_μ flux; CHARM-II: 4–100 GeV, where the digitised curve is > 1% of its peak; DUNE: 1–10 GeV).
REFERENCE_FLUX: dict[str, tuple[str, tuple[float, float], float]] = {
    "dune-nd": ("highenergy/dune_nd_numu_fhc_flux.txt", (1.0, 10.0), 1.0),
    "minerva": ("highenergy/minerva_me_numu_fhc_flux.txt", (2.0, 20.0), 1.0),
    "t2k-nd280": ("highenergy/t2k_nd280_numu_flux.txt", (0.0, 3.0), 0.25),
    "charm-ii": ("highenergy/charm2_numu_flux.txt", (4.0, 100.0), 8.0),
}


def published_flux_bins(experiment: str, edges_gev) -> np.ndarray:
    """The bundled published ν_μ flux of ``experiment`` integrated over the bins ``edges_gev``
    [ν / cm² / POT per bin] (linear interpolation of the tabulated density, zero outside it)."""
    from mesonportal.data import load_table

    ref = load_table(REFERENCE_FLUX[experiment][0])
    e_ref = ref[:, 0] * 1e-3  # GeV
    f_ref = ref[:, 1] * 1e-4  # per GeV per cm² per POT
    out = []
    for a, b in zip(edges_gev[:-1], edges_gev[1:]):
        x = np.linspace(a, b, 81)
        out.append(float(np.trapezoid(np.interp(x, e_ref, f_ref, left=0.0, right=0.0), x)))
    return np.array(out)


def flux_comparison(experiment="dune-nd", *, samples: int = 200_000, seed: int = 1,
                    e_range_gev: tuple[float, float] | None = None, bin_gev: float | None = None) -> dict[str, Any]:
    """The model's ν_μ flux through the detector vs the bundled published flux
    (:data:`REFERENCE_FLUX`; bins of ``bin_gev`` in ``e_range_gev``, defaults per experiment):
    integrals [ν/cm²/POT], their ratio (model/published), mean energies [GeV], the per-bin ratio
    and the model's MC error on the integral.  ``experiment`` is a name with an entry in
    :data:`REFERENCE_FLUX` or an :class:`~mesonportal.experiments.config.Experiment` whose
    ``name`` has one.  The model includes the experiment's ``source.flux_normalisation``."""
    from mesonportal import api
    from mesonportal.exceptions import ParameterError
    from mesonportal.pipeline import resolve_experiment

    exp = resolve_experiment(experiment)
    if exp.name not in REFERENCE_FLUX:
        raise ParameterError(f"no published flux bundled for experiment {exp.name!r} "
                             f"(allowed: {', '.join(REFERENCE_FLUX)})")
    path, rng_def, bin_def = REFERENCE_FLUX[exp.name]
    lo, hi = e_range_gev or rng_def
    width = bin_gev or bin_def
    edges = np.arange(lo, hi + 1e-9, width)
    ref_bins = published_flux_bins(exp.name, edges)
    fl = api.neutrino_flux(exp, "nu", samples=samples, seed=seed, edges_mev=edges * 1e3)
    mod_bins = np.asarray(fl["numu"], dtype=float)
    mod_err = np.asarray(fl.get("numu_err", np.zeros_like(mod_bins)), dtype=float)
    cen = 0.5 * (edges[1:] + edges[:-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        bin_ratio = np.where(ref_bins > 0, mod_bins / np.where(ref_bins > 0, ref_bins, 1.0), np.nan)
    return {"experiment": exp.name, "e_range_gev": [lo, hi], "bin_gev": width,
            "model_integral": float(mod_bins.sum()), "model_integral_mc_error": float(np.sqrt(np.sum(mod_err**2))),
            "published_integral": float(ref_bins.sum()), "ratio": float(mod_bins.sum() / ref_bins.sum()),
            "model_mean_gev": float((mod_bins * cen).sum() / mod_bins.sum()),
            "published_mean_gev": float((ref_bins * cen).sum() / ref_bins.sum()),
            "bin_ratio": bin_ratio.tolist(), "flux_normalisation": float(exp.source.flux_normalisation),
            "units": "nu_mu / cm^2 / POT", "source": path}


# --- best fits and the verdict report (``mesonportal highenergy``) --------------------------------------

DEFAULT_BENCHMARKS: tuple[str, ...] = ("scalar", "pseudoscalar", "idm-single", "idm-double")


def best_fits_from_summary(path) -> dict[str, float]:
    """{benchmark: best-fit coupling product} from a main-job ``summary.json``
    (``mesonportal reproduce``); rows without a finite best fit are left out."""
    import json
    import math
    from pathlib import Path

    from mesonportal.exceptions import ParameterError

    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        rows = data["fits"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ParameterError(f"--fits {p}: not a readable main-job summary.json ({type(exc).__name__})") from None
    out = {}
    for r in rows:
        x = r.get("best_fit")
        if isinstance(x, (int, float)) and math.isfinite(x) and x > 0:
            out[str(r["benchmark"])] = float(x)
    return out


def verdict_report(benchmarks=DEFAULT_BENCHMARKS, experiments=None, *, samples: int = 20_000, seed: int = 12345,
                   fits: dict[str, float] | None = None, fit_samples: int | None = None,
                   status=None) -> dict[str, Any]:
    """The verdicts of :func:`verdict_table` for each benchmark at its MiniBooNE best fit.

    ``fits`` {benchmark: coupling product} gives the best fits (e.g. :func:`best_fits_from_summary`);
    a benchmark missing from it is fitted here (combined ν + ν̄ MiniBooNE fit, ``fit_samples``,
    ``seed``; slow).  Returns a JSON-ready dict: ``rows`` (one per benchmark × experiment),
    ``best_fits`` with their source, ``conventions``, ``samples``, ``seed``, ``version``."""
    from mesonportal import __version__
    from mesonportal.exceptions import NoSensitivityError
    from mesonportal.models.registry import load_benchmark

    experiments = tuple(experiments or HE_EXPERIMENTS)
    for e in experiments:
        if isinstance(e, str) and e not in HE_EXPERIMENTS:
            from mesonportal.exceptions import ParameterError

            raise ParameterError(f"experiment {e!r} has no high-energy selection (allowed: {', '.join(HE_EXPERIMENTS)})")
    models = {b: load_benchmark(b) for b in benchmarks}  # validates the names before any long work
    fits = dict(fits or {})
    sources = {b: "given" for b in fits}
    rows: list[dict[str, Any]] = []
    for b, model in models.items():
        if b not in fits:
            if status:
                status(f"{b}: MiniBooNE fit (no best fit given)")
            from mesonportal import api

            try:
                res = api.fit("miniboone", model, ("nu", "nubar"), samples=fit_samples, seed=seed, benchmark=b,
                              with_dump=False)[0]
                fits[b] = float(res.best.best_fit)
                sources[b] = f"MiniBooNE fit (nu + nubar, seed {seed})"
            except NoSensitivityError as exc:
                rows.append({"benchmark": b, "status": "no best fit", "message": str(exc)})
                continue
        if status:
            status(f"{b}: predicting {', '.join(map(str, experiments))} at x = {fits[b]:.3g}")
        for r in verdict_table(model, fits[b], samples=samples, seed=seed, experiments=experiments):
            rows.append({"benchmark": b, "status": "ok", **r})
    return {"rows": rows, "best_fits": {b: {"coupling_product": fits[b], "source": sources.get(b)} for b in fits
                                        if b in models},
            "conventions": CONVENTIONS, "samples": samples, "seed": seed, "version": __version__,
            "units": {"events": "events for the experiment's exposure (pot)", "coupling_product": "model units"}}


def markdown_table(report: dict[str, Any]) -> str:
    """Markdown table (benchmark × experiment) of :func:`verdict_report`."""
    exps = list(dict.fromkeys(r["experiment"] for r in report["rows"] if r.get("status") == "ok"))
    names = list(dict.fromkeys(r["benchmark"] for r in report["rows"]))
    cell = {(r["benchmark"], r.get("experiment")): r for r in report["rows"]}
    head = "| benchmark (x) | " + " | ".join(
        f"{e} (N_90 = {_n90(cell, names, e)})" for e in exps) + " |"
    lines = [head, "|---" * (len(exps) + 1) + "|"]
    for b in names:
        x = report["best_fits"].get(b, {}).get("coupling_product")
        cells = []
        for e in exps:
            r = cell.get((b, e))
            if r is None:
                cells.append("–")
                continue
            lo, hi = r["events_selected_range"]
            rng = "" if abs(hi - lo) <= 1e-9 * max(hi, 1) else f" [{_fmt(lo)}–{_fmt(hi)}]"
            vr = r["verdict_range"]
            v = r["verdict"] if vr[0] == vr[1] or r["verdict"] == "projection" else f"{r['verdict']} (range: {vr[0]}–{vr[1]})"
            cells.append(f"{_fmt(r['events_selected'])} ± {_fmt(r['mc_stat_error'])}{rng} → {v}")
        if not cells or all(c == "–" for c in cells):
            msg = next((r.get("message", "") for r in report["rows"] if r["benchmark"] == b and r.get("status") != "ok"), "")
            lines.append(f"| {b} | " + " | ".join([f"no best fit: {msg}"] + ["–"] * (len(exps) - 1)) + " |")
            continue
        lines.append(f"| {b} ({x:.3g}) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _n90(cell, names, e) -> str:
    for b in names:
        r = cell.get((b, e))
        if r is not None:
            return "projection" if r["allowed_90"] is None else _fmt(r["allowed_90"])
    return "–"


def _fmt(v: float) -> str:
    if v is None:
        return "–"
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-2:
        return f"{v:.2e}"
    return f"{v:.3g}"
