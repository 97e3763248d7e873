"""High-level Python API: one call per question a user asks.

Each function wires the pipeline stages together (experiments → sources → production →
propagation → detection → analysis) and returns plain dictionaries / arrays ready for JSON.
Randomness comes from one ``numpy.random.Generator`` built from ``seed``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mesonportal.exceptions import ParameterError
from mesonportal.experiments import Experiment, load_experiment
from mesonportal.experiments.config import check_mode
from mesonportal.pipeline import check_samples, resolve_experiment, stage_rng  # noqa: F401  (public re-exports)

#: Mesons whose SM decays feed the neutrino flux.
NEUTRINO_PARENTS = (211, -211, 321, -321, 130)
#: Default number of sampled primary mesons for the neutrino flux: gives ≈1.5% MC statistical
#: error on the integrated ν_μ flux at MiniBooNE in ν mode (a few seconds on one core).
DEFAULT_FLUX_SAMPLES = 300_000
#: Flux binning for stopped-pion sources: 1 MeV bins 0–300 MeV (29.8 MeV line, Michel end point 52.8 MeV).
STOPPED_FLUX_EDGES_MEV = np.arange(0.0, 301.0, 1.0)


def _experiment(experiment: str | Experiment) -> Experiment:
    return resolve_experiment(experiment)


def experiment_summary(experiment: str | Experiment) -> dict[str, Any]:
    """One experiment as a JSON-ready dict: ``name``, ``beam_line``, ``distance_m`` (target to
    the active-volume centre), ``shape``, ``medium``, ``density_g_cm3``, ``active_mass_t``
    (volume × density), ``mass_t`` (total, as configured), ``exposure_pot`` per mode,
    ``technology``, ``topologies``, ``dirt_medium`` (None without dirt), ``source``."""
    exp = _experiment(experiment)
    d = exp.detector
    return {"name": exp.name, "beam_line": exp.beam_line or exp.name, "description": exp.description,
            "distance_m": d.distance_cm / 100.0, "shape": d.shape, "medium": d.medium,
            "density_g_cm3": d.density_g_cm3, "active_mass_t": d.active_mass_t, "mass_t": d.mass_t,
            "exposure_pot": dict(exp.beam.pot), "technology": d.technology, "topologies": list(d.topologies),
            "dirt_medium": d.dirt.medium.name if d.dirt is not None else None, "source": exp.source_path}


def list_experiments() -> list[dict[str, Any]]:
    """:func:`experiment_summary` of every shipped experiment."""
    from mesonportal.experiments import available_experiments

    return [experiment_summary(n) for n in available_experiments()]


def absorber_z(exp: Experiment, mode: str) -> float:
    """z (cm) of the plane where muons and stopped mesons end: the decay-region absorber in
    target modes, the dump itself in dump mode."""
    if getattr(exp, "source_type", "horn") == "stopped":  # stopped-pion source: muons decay where they stop
        from mesonportal.sources.stopped import STOPPED_ABSORBER_Z_CM

        return STOPPED_ABSORBER_Z_CM
    if mode == "dump" and exp.dump is not None:
        return exp.dump.absorber_z_cm
    if exp.decay_region is None:
        raise ParameterError(f"experiment {exp.name!r} has no decay region")
    return exp.decay_region.absorber_z_cm


#: Conventions for neutrinos from decays at rest in :func:`neutrino_flux`.
DAR_CONVENTIONS = ("official", "all")
MUON_STOP_CONVENTIONS = ("pipe_wall", "absorber")


def neutrino_flux(
    experiment: str | Experiment = "miniboone",
    mode: str = "nu",
    samples: int = DEFAULT_FLUX_SAMPLES,
    seed: int = 12345,
    progress: bool = False,
    dar_neutrinos: str | None = None,
    edges_mev=None,
    muon_stop: str | None = None,
) -> dict[str, Any]:
    """Standard-Model neutrino flux through the detector (ν / cm² / POT per bin: 50 MeV bins
    0–10 GeV, or 1 MeV bins 0–300 MeV for a stopped-pion source; or ``edges_mev``).

    ``dar_neutrinos`` (convention, stated in the output): ``"official"`` leaves out the ν from π±
    and μ± that decay at rest, as the official MiniBooNE flux does (the BNB simulation records a
    neutrino only if its π or μ parent has momentum > 1 MeV/c at decay; K decays at rest are kept:
    G4BNB input/production.in, pionMomentumThr = muonMomentumThr = 1 MeV, kaonMomentumThr = −1);
    ``"all"`` keeps every decay. Default: ``"official"`` in the target modes (nu, nubar) of a horn
    beam, ``"all"`` otherwise (dump mode, stopped-pion and high-energy sources).

    ``muon_stop`` (convention, stated in the output): where muons from meson decays end their flight
    (and decay at rest, if they have not decayed in flight): ``"pipe_wall"`` — at the decay-pipe wall
    (radius ``decay_region.pipe_radius_cm``; muons born outside it, e.g. in the shielding around the
    horn, stop at once) or the absorber, whichever comes first: a muon entering steel, concrete or earth
    ranges out within centimetres to metres, as in the official simulation, which tracks it; ``"absorber"``
    — only at the absorber plane (muons fly through the shielding and earth; the earlier default, which
    overestimates low-energy muon decays in flight). Default: ``"pipe_wall"`` in the target modes of a
    horn beam, ``"absorber"`` otherwise.

    Returns the flux dictionary of :func:`mesonportal.analysis.flux.neutrino_flux` with
    ``experiment``, ``mode`` and ``conventions`` (``{"dar_neutrinos": ..., "muon_stop": ...}``; for the
    target modes of a horn beam also the beam-model keys ``tertiary_production``, ``tertiary_model``,
    ``pi_minus_parametrisation``, ``horn_cavity`` and ``decay_region_geometry`` (the collimator table's
    name, or ``"cylinder"`` for the z_start_cm/collimator_radius_cm approximation) of the experiment's TOML) added.
    """
    from mesonportal.analysis.flux import neutrino_flux as _flux
    from mesonportal.cache import cached_mesons

    exp = _experiment(experiment)
    check_mode(exp, mode)
    samples = check_samples(samples)
    horn_beam_mode = getattr(exp, "source_type", "horn") == "horn" and mode in ("nu", "nubar")
    if dar_neutrinos is None:
        dar_neutrinos = "official" if horn_beam_mode else "all"
    if dar_neutrinos not in DAR_CONVENTIONS:
        raise ParameterError(f"dar_neutrinos = {dar_neutrinos!r}; allowed: {', '.join(DAR_CONVENTIONS)}")
    if muon_stop is None:
        muon_stop = "pipe_wall" if (horn_beam_mode and exp.decay_region is not None) else "absorber"
    if muon_stop not in MUON_STOP_CONVENTIONS:
        raise ParameterError(f"muon_stop = {muon_stop!r}; allowed: {', '.join(MUON_STOP_CONVENTIONS)}")
    if muon_stop == "pipe_wall" and exp.decay_region is None:
        raise ParameterError(f"muon_stop = 'pipe_wall' needs a [decay_region] (experiment {exp.name!r} has none)")
    mesons = cached_mesons(exp, mode, samples, seed, species=NEUTRINO_PARENTS, progress=progress)
    opts = {}
    if dar_neutrinos == "official":
        pion_at_rest = (np.abs(mesons.pdgid) == 211) & (mesons.momentum < 1.0)
        mesons = mesons.select(~pion_at_rest)
        opts["include_muons_at_rest"] = False
    if muon_stop == "pipe_wall":
        opts["pipe_radius_cm"] = exp.decay_region.pipe_radius_cm
    rng = stage_rng(seed, "neutrino-decays")
    det = exp.detector
    if edges_mev is None:
        from mesonportal.analysis.flux import DEFAULT_EDGES_MEV

        edges_mev = STOPPED_FLUX_EDGES_MEV if getattr(exp, "source_type", "horn") == "stopped" else DEFAULT_EDGES_MEV
    flux = _flux(mesons, det.center_cm, det.radius_cm, absorber_z(exp, mode), rng, edges_mev=edges_mev, **opts)
    flux["experiment"] = exp.name
    flux["mode"] = mode
    flux["conventions"] = {"dar_neutrinos": dar_neutrinos, "muon_stop": muon_stop}
    if getattr(exp, "horn", None) is not None and mode in ("nu", "nubar"):
        # beam-model conventions of a horn beam (experiments/<name>.toml, docs/sources.md)
        flux["conventions"].update(tertiary_production=bool(exp.target.tertiary_production),
                                   tertiary_model=exp.target.tertiary_model,
                                   pi_minus_parametrisation=exp.target.pi_minus_parametrisation,
                                   horn_cavity=exp.horn.cavity is not None,
                                   decay_region_geometry=(exp.decay_region.geometry or "cylinder")
                                   if exp.decay_region is not None else None)
    return flux


def predict(
    experiment: str | Experiment = "miniboone",
    mode: str = "nu",
    model=None,
    *,
    samples: int | None = None,
    seed: int = 12345,
    progress: bool = False,
    criterion: str = "circle",
    dirt: bool = True,
    allocation: str | None = None,
    target_mc_error: float | None = None,
    strata: str | None = None,
):
    """Signal prediction (:func:`mesonportal.analysis.predict.predict_signal`): a
    :class:`~mesonportal.analysis.prediction.SignalSample` with weights in events/POT;
    ``.to_json()`` gives the ``predict --json`` layout.  The response follows the detector's
    technology (LAr TPCs add ``events_by_topology``); ``dirt`` includes up-scattering in the
    upstream dirt (inelastic DM), stated in ``info['conventions']``; ``allocation`` shares the
    meson samples between species (default per family, see docs/mc_errors.md);
    ``target_mc_error`` the relative MC error the sample size is chosen for when ``samples`` is
    not given (default 0.02 for long-lived X at horn beams; 0 = the fixed default samples);
    ``strata`` ("momentum-angle", the default with a target MC error, or "species") whether the
    meson rows are also thinned per species × momentum × angle-to-detector stratum
    (docs/mc_errors.md §6)."""
    from mesonportal.analysis.predict import predict_signal

    if model is None:
        raise ParameterError("predict needs a model (make_model(...) or load_benchmark(...))")
    return predict_signal(experiment, mode, model, samples=samples, seed=seed, progress=progress,
                          criterion=criterion, dirt=dirt, allocation=allocation, target_mc_error=target_mc_error,
                          strata=strata)


def dark_flux(
    experiment: str | Experiment = "miniboone",
    mode: str = "nu",
    model=None,
    samples: int | None = None,
    seed: int = 12345,
    progress: bool = False,
) -> dict[str, Any]:
    """Flux of the model's long-lived dark particle (φ / a, or χ for idm) through the detector,
    per POT, with the layout of the neutrino flux: ``edges_gev`` (0–10 GeV, 50 MeV bins), one
    list per species (``"phi"``, ``"a"`` or ``"chi"``: particles / cm² / POT / bin, volume
    averaged over the active volume V with the track-length estimator Σ w S ℓ / V, ℓ the exact
    chord, S = survival to the detector) and
    ``<species>_err`` (MC statistical error), plus ``species``, ``units``, ``model``, ``params``.
    Same meson samples and forced emission as :func:`predict`."""
    from mesonportal.analysis.flux import DEFAULT_EDGES_MEV
    from mesonportal.analysis.predict import DEFAULT_N_FORWARD, default_samples, meson_sample
    from mesonportal.detection.signal import idm_arrivals, is_idm_model, scalar_arrivals
    from mesonportal.propagation.geometry import sphere_volume

    if model is None:
        raise ParameterError("dark_flux needs a model (make_model(...) or load_benchmark(...))")
    exp = _experiment(experiment)
    check_mode(exp, mode)
    samples = check_samples(default_samples(model) if samples is None else samples)
    mesons = meson_sample(exp, mode, model, samples, seed, progress)
    rng = stage_rng(seed, "darkflux")
    det = exp.detector
    if is_idm_model(model):
        arr = idm_arrivals(model, mesons, det, rng, 1, DEFAULT_N_FORWARD)
    else:
        arr = scalar_arrivals(model, mesons, det, rng, 1)
    # chords are those of the exact active volume, so the volume is its volume too
    vol = float(det.geometry.volume) if getattr(det, "geometry", None) is not None else sphere_volume(det.radius_cm)
    h, err = arr.flux(vol, DEFAULT_EDGES_MEV)
    sp = arr.species
    return {"experiment": exp.name, "mode": mode, "edges_gev": DEFAULT_EDGES_MEV / 1000.0, sp: h,
            sp + "_err": err, "species": [sp], "units": f"{sp} / cm^2 / POT / bin",
            "model": model.name, "params": model.params()}


def fit(
    experiment: str | Experiment = "miniboone",
    model=None,
    modes: tuple[str, ...] = ("nu", "nubar"),
    *,
    samples: int | None = None,
    seed: int = 12345,
    stat: str = "pearson",
    benchmark: str | None = None,
    progress: bool = False,
    with_dump: bool = True,
    with_constraints: tuple[str, ...] = (),
    dirt: bool = True,
    status=None,
    retain=None,
):
    """Fit the model's coupling product to the experiment's bundled excess data (MiniBooNE:
    :func:`mesonportal.analysis.fit.fit_excess`), optionally testing constraints at each coupling.

    Predicts ν and ν̄ mode (both, so that events are reported for both), dump mode if the
    experiment has an exposure for it, and — for each name in ``with_constraints``
    (:data:`mesonportal.analysis.constraints.CONSTRAINT_EXPERIMENTS`, e.g. ``"microboone"``)
    — that experiment's prediction through its own detector response; the constraint's
    likelihood (:mod:`mesonportal.datasets`) is evaluated along the fit's coupling scan and at
    the best fit (``result.constraints[name]``), with the combined χ² (excess fit + constraint)
    minimised on the same scan.  ``dirt``: include up-scattering in the dirt (iDM), a
    convention stated in ``result.prediction_conventions``.  ``status``: optional
    callable(str) for progress messages.  ``retain``: optional column names — each prediction
    is cut down to them as soon as it is made (:func:`mesonportal.analysis.retention.slim`:
    same arrays, so the same numbers; a long job such as ``reproduce`` then never holds the
    generator-level columns, and freed memory is returned to the OS, :mod:`mesonportal._memory`);
    None keeps every column.

    Returns (FitResult, {mode: SignalSample}, dump SignalSample | None).
    """
    from mesonportal.analysis.constraints import CONSTRAINT_EXPERIMENTS, evaluate_constraint
    from mesonportal.analysis.fit import fit_excess
    from mesonportal.analysis.predict import predict_signal
    from mesonportal.datasets import excess_dataset

    if model is None:
        raise ParameterError("fit needs a model (make_model(...) or load_benchmark(...))")
    exp = _experiment(experiment)
    excess_dataset(exp.name)
    for name in with_constraints:
        if name not in CONSTRAINT_EXPERIMENTS:
            raise ParameterError(f"--with {name!r}: unknown constraint; allowed: {', '.join(CONSTRAINT_EXPERIMENTS)}")
    kw: dict[str, Any] = {"seed": seed, "progress": progress, "dirt": dirt}
    if samples is not None:
        kw["samples"] = samples
    if retain is None:
        keep = lambda s: s  # noqa: E731
    else:
        from mesonportal._memory import release
        from mesonportal.analysis.retention import slim

        def keep(sample):
            sample = slim(sample, retain)
            release()  # the dropped columns and the chain's temporaries go back to the OS
            return sample
    preds = {}
    for mode in ("nu", "nubar"):
        if status:
            status(f"predicting {mode} mode")
        preds[mode] = keep(predict_signal(exp, mode, model, **kw))
    dump = None
    if with_dump and "dump" in exp.modes:
        if status:
            status("predicting dump mode")
        dump = keep(predict_signal(exp, "dump", model, **kw))
    if status:
        status("fitting")
    result = fit_excess(preds, modes, dump, stat, model=model, benchmark=benchmark)
    result.prediction_conventions = dict(preds[modes[0]].info.get("conventions", {}))
    scan_x = np.asarray(result.best.scan_x, float)
    for name in with_constraints:
        cexp, cmode, cname = CONSTRAINT_EXPERIMENTS[name]
        if status:
            status(f"predicting {cexp} ({cmode} mode) for the {name} constraint")
        csample = keep(predict_signal(cexp, cmode, model, **kw))
        res = evaluate_constraint(cname, csample, result.coupling_product, scan_x)
        tot = np.asarray(result.best.scan_chi2, float) + np.asarray(res["scan"]["chi2"], float)
        if tot.size:
            i = int(np.argmin(tot))
            res["combined_with_excess_fit"] = {
                "coupling_product": float(scan_x[i]), "chi2": float(tot[i]),
                "chi2_excess_fit": float(result.best.scan_chi2[i]), "chi2_constraint": float(res["scan"]["chi2"][i]),
                "note": "minimum of (excess-fit chi2 + constraint chi2) on the excess fit's coupling scan grid",
            }
        res["prediction_seed"] = int(seed)
        result.constraints[name] = res
        result.constraint_samples[name] = csample
    return result, preds, dump


#: BNB detectors predicted by :func:`predictions_at` in the main job.
BNB_LAR_EXPERIMENTS: tuple[str, ...] = ("microboone", "sbnd", "icarus")


def predictions_at(
    model,
    coupling_product: float,
    experiments: tuple[str, ...] = BNB_LAR_EXPERIMENTS,
    mode: str = "nu",
    *,
    samples: int | None = None,
    seed: int = 12345,
    dirt: bool = True,
    reuse: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Predicted events of ``model`` at ``coupling_product`` in each of ``experiments`` (beam
    ``mode``, each experiment's own exposure and detector response): per experiment ``pot``,
    ``events_total`` and ``mc_stat_error``, and for topology-tagged (LAr-TPC) responses
    ``events_by_topology`` with ``events_by_topology_err``; ``events_by_region`` when dirt is
    configured.  ``reuse``: experiment name → an already computed SignalSample of this model
    (e.g. the MicroBooNE prediction of a ``fit --with microboone``)."""
    from mesonportal._memory import trim
    from mesonportal.analysis.predict import predict_signal

    if model is None:
        raise ParameterError("predictions_at needs a model")
    out: dict[str, dict[str, Any]] = {}
    for name in experiments:
        s = (reuse or {}).get(name)
        if s is None:
            kw: dict[str, Any] = {"seed": seed, "dirt": dirt}
            if samples is not None:
                kw["samples"] = samples
            s = predict_signal(name, mode, model, **kw)
        x = float(coupling_product)
        tot = s.totals(x)
        row: dict[str, Any] = {"experiment": s.experiment, "mode": mode, "pot": s.pot,
                               "events_total": tot["events_total"], "mc_stat_error": tot["mc_stat_error"],
                               "response": s.info.get("detector", {}).get("response")}
        ev = s.events_by_topology(x, with_errors=True)
        if ev is not None:
            row["events_by_topology"] = {k: v for k, v in ev.items() if not k.endswith("_err")}
            row["events_by_topology_err"] = {k[:-4]: v for k, v in ev.items() if k.endswith("_err")}
        if "region" in s.columns:
            w = s.weights(x) * s.pot
            reg = np.asarray(s.columns["region"])
            row["events_by_region"] = {"detector": float(np.sum(w[reg == 0])), "dirt": float(np.sum(w[reg == 1]))}
        out[name] = row
        # this experiment's sample is not held while the next one is predicted (peak memory, #10)
        s = w = reg = None
        if reuse is None or name not in reuse:
            trim()
    return out
