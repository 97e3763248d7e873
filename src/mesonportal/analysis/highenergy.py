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

__all__ = ["HE_EXPERIMENTS", "REFERENCE_FLUX", "selection_mask", "selected_events", "verdict_table", "flux_comparison"]

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


def selection_mask(cols: dict[str, np.ndarray], sel: Selection) -> tuple[np.ndarray, np.ndarray]:
    """(pass mask, per-event efficiency) of the selection for the event columns."""
    e, th = _em(cols)
    ok = (e >= sel.e_min_mev) & (e <= sel.e_max_mev) & (e * th * th <= sel.etheta2_max_mev)
    photon = cols["p2_e"] <= 0.0
    eff = np.where(photon, sel.efficiency * sel.photon_acceptance, sel.efficiency)
    return ok, eff


def _weights_without_miniboone_efficiency(signal, coupling_product):
    """Events/POT before the MiniBooNE Cherenkov efficiency that ``predict`` applies to every
    detector (``weight_before_efficiency``), rescaled to ``coupling_product`` with the sample's
    own per-event coupling dependence."""
    cols = signal.columns
    w_ref = cols["weight"]
    base = cols.get("weight_before_efficiency", w_ref)
    if coupling_product is None:
        return base
    w_x = signal.weights(coupling_product)
    fallback = (float(coupling_product) / signal.coupling_product_ref) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(w_ref > 0, w_x / np.where(w_ref > 0, w_ref, 1.0), fallback)
    return base * scale


def selected_events(signal, sel: Selection, coupling_product: float | None = None) -> dict[str, float]:
    """Selected signal events for the exposure: ``events``, ``mc_stat_error`` and the events
    before the selection (``events_all``), at ``coupling_product`` (reference if None)."""
    w = _weights_without_miniboone_efficiency(signal, coupling_product) * signal.pot
    if len(w) == 0:
        return {"events": 0.0, "mc_stat_error": 0.0, "events_all": 0.0}
    ok, eff = selection_mask(signal.columns, sel)
    ws = np.where(ok, w * eff, 0.0)
    return {"events": float(ws.sum()), "mc_stat_error": float(np.sqrt(np.sum(ws * ws))),
            "events_all": float(w.sum())}


def verdict_table(model, coupling_product: float | None = None, *, samples: int | None = None, seed: int = 12345,
                  experiments=None) -> list[dict[str, Any]]:
    """One row per high-energy experiment: predicted selected events of ``model`` at
    ``coupling_product`` (pass the MiniBooNE best fit; None = the model's own couplings), what
    the measurement allows at 90% CL and the verdict ("excluded", "allowed", "no counts" or
    "no measurement").  MC errors are statistical (sum of squared weights)."""
    from mesonportal.analysis.predict import predict_signal

    rows = []
    for exp_name in experiments or HE_EXPERIMENTS:
        meas_name = HE_EXPERIMENTS[exp_name]
        meas = get_measurement(meas_name) if meas_name else None
        sel = meas.selection if meas else DUNE_ND_PROJECTION
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the MiniBooNE-response warning: unused here
            sig = predict_signal(exp_name, "nu", model, samples=samples, seed=seed)
        ev = selected_events(sig, sel, coupling_product)
        allowed = meas.allowed_90 if meas else None
        verdict = meas.verdict(ev["events"]) if meas else "no measurement"
        if meas_name == "t2k_nd280_nc1gamma":
            allowed = t2k_allowed_interactions(seed=seed)
            verdict = "excluded" if ev["events"] > allowed else "allowed"
        row = {"experiment": exp_name, "measurement": meas_name, "reference": meas.reference if meas else None,
               "pot": sig.pot, "events_selected": ev["events"], "mc_stat_error": ev["mc_stat_error"],
               "events_before_selection": ev["events_all"],
               "observed_minus_expected": meas.observed_minus_expected if meas else None,
               "sigma": meas.sigma if meas else None, "allowed_90": allowed, "verdict": verdict,
               "assumptions": list(meas.assumptions) if meas else [DUNE_ND_PROJECTION.notes],
               "coupling_product": coupling_product if coupling_product is not None else sig.coupling_product_ref}
        rows.append(row)
    return rows


def t2k_allowed_interactions(samples: int = 200_000, seed: int = 1) -> float:
    """T2K ND280: single-photon interactions allowed at 90% CL, σ_lim × N_nucleons × Φ_νμ × POT
    (:mod:`mesonportal.datasets.t2k_nd280_nc1gamma`), with the package's ν_μ flux through the
    detector (integrated over 0–10 GeV) and N_nucleons = active mass × N_A (per gram)."""
    from mesonportal import api
    from mesonportal.constants import N_AVOGADRO
    from mesonportal.datasets.t2k_nd280_nc1gamma import MEASUREMENT, SIGMA_LIMIT_CM2
    from mesonportal.experiments import load_experiment

    exp = load_experiment("t2k-nd280")
    phi = float(np.sum(api.neutrino_flux(exp, "nu", samples=samples, seed=seed)["numu"]))
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
