"""Pins the public API (cf. pyhf tests/test_public_api.py): names users and other modules import.
A removal or rename must be deliberate (update this list and keep a re-export)."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "mesonportal.api": ["neutrino_flux", "predict", "dark_flux", "experiment_summary", "list_experiments",
                        "stage_rng", "check_samples", "absorber_z", "fit", "predictions_at"],
    "mesonportal.responses.technology": ["response_for", "RESPONSES", "LArTPCChainResponse"],
    "mesonportal.responses.cherenkov": ["CherenkovResponse"],
    "mesonportal.analysis.constraints": ["evaluate_constraint", "CONSTRAINT_EXPERIMENTS"],
    "mesonportal.datasets": ["constraint", "get_dataset", "excess_dataset", "constraints_of"],
    "mesonportal.experiments": ["Beam", "DecayRegion", "Detector", "Dump", "Experiment", "Horn", "Target",
                                "available_experiments", "load_experiment"],
    "mesonportal.experiments.config": ["MODES", "SHAPES", "TECHNOLOGIES", "Dirt", "check_mode", "parse_experiment"],
    "mesonportal.experiments.media": ["Medium", "Element", "ScatteringCentre", "materials", "elements",
                                      "get_medium", "scattering_centres"],
    "mesonportal.geometry": ["Shape", "Sphere", "Box", "Cylinder", "Union", "rotation_matrix",
                             "decay_probability_in_segments", "sample_point_in_segments", "sample_decay_in_segments"],
    "mesonportal.propagation.geometry": ["RayIntersection", "ray_sphere_intersection", "cone_to_sphere"],
    "mesonportal.detection.signal": ["ChainResult", "Arrivals", "scalar_chain", "idm_chain", "scalar_arrivals",
                                     "idm_arrivals", "idm_reweighter", "is_scalar_model", "is_idm_model",
                                     "REGION_CODES"],
    "mesonportal.analysis.predict": ["predict_signal", "default_samples", "SignalSample"],
    "mesonportal.models.base": ["DarkModel", "FAMILIES"],
    "mesonportal.pipeline": ["resolve_experiment", "stage_rng", "check_samples"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module):
    mod = importlib.import_module(module)
    missing = [n for n in PUBLIC[module] if not hasattr(mod, n)]
    assert not missing, f"{module} lost {missing}"


def test_model_families_declared():
    from mesonportal.models.base import FAMILIES
    from mesonportal.models.registry import load_benchmark

    for b, fam in (("scalar", "long-lived"), ("pseudoscalar", "long-lived"), ("idm-double", "inelastic")):
        m = load_benchmark(b)
        assert m.family == fam and fam in FAMILIES


def test_no_api_predict_import_cycle():
    import ast
    import inspect

    import mesonportal.analysis.predict as p

    tree = ast.parse(inspect.getsource(p))
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "mesonportal.api" not in mods
