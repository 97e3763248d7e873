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
    if mode == "dump" and exp.dump is not None:
        return exp.dump.absorber_z_cm
    if exp.decay_region is None:
        raise ParameterError(f"experiment {exp.name!r} has no decay region")
    return exp.decay_region.absorber_z_cm


def neutrino_flux(
    experiment: str | Experiment = "miniboone",
    mode: str = "nu",
    samples: int = DEFAULT_FLUX_SAMPLES,
    seed: int = 12345,
    progress: bool = False,
) -> dict[str, Any]:
    """Standard-Model neutrino flux through the detector (ν / cm² / POT per 50 MeV bin).

    Returns the flux dictionary of :func:`mesonportal.analysis.flux.neutrino_flux` with
    ``experiment`` and ``mode`` added.
    """
    from mesonportal.analysis.flux import neutrino_flux as _flux
    from mesonportal.cache import cached_mesons

    exp = _experiment(experiment)
    check_mode(exp, mode)
    samples = check_samples(samples)
    mesons = cached_mesons(exp, mode, samples, seed, species=NEUTRINO_PARENTS, progress=progress)
    rng = stage_rng(seed, "neutrino-decays")
    det = exp.detector
    flux = _flux(mesons, det.center_cm, det.radius_cm, absorber_z(exp, mode), rng)
    flux["experiment"] = exp.name
    flux["mode"] = mode
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
):
    """Signal prediction (:func:`mesonportal.analysis.predict.predict_signal`): a
    :class:`~mesonportal.analysis.prediction.SignalSample` with weights in events/POT;
    ``.to_json()`` gives the ``predict --json`` layout."""
    from mesonportal.analysis.predict import predict_signal

    if model is None:
        raise ParameterError("predict needs a model (make_model(...) or load_benchmark(...))")
    return predict_signal(experiment, mode, model, samples=samples, seed=seed, progress=progress,
                          criterion=criterion)


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
    averaged with the track-length estimator Σ w S ℓ / V, S = survival to the sphere) and
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
    h, err = arr.flux(sphere_volume(det.radius_cm), DEFAULT_EDGES_MEV)
    sp = arr.species
    return {"experiment": exp.name, "mode": mode, "edges_gev": DEFAULT_EDGES_MEV / 1000.0, sp: h,
            sp + "_err": err, "species": [sp], "units": f"{sp} / cm^2 / POT / bin",
            "model": model.name, "params": model.params()}
