"""BNB experiments beyond MiniBooNE: configs, bad input, media, shared meson sample, Ar signal.

References: active masses against the collaborations' quoted values (MicroBooNE 85 t,
microboone.fnal.gov; SBND 112 t and ICARUS 476 t, DarkNews files — 3% tolerance for the
rounded numbers); distances sbn.fnal.gov / MICROBOONE-NOTE-1039-PUB (470 m, 600 m to the active
centre) and the SBN software for SBND (SBNSoftware/sbncode MeVPrtl bnb_kaon_sbnd.fcl: TPC-frame origin,
i.e. the upstream active face, at (73.78, 0, 11000) cm in beam coordinates); exposures arXiv:2110.00409 /
arXiv:1503.01520."""

from __future__ import annotations

import json
import tomllib
import warnings

import numpy as np
import pytest

from mesonportal.exceptions import ConfigError
from mesonportal.experiments import load_experiment
from mesonportal.experiments.config import _shipped_dir, parse_experiment


def raw(name: str) -> dict:
    return tomllib.loads((_shipped_dir() / f"{name}.toml").read_text())


@pytest.mark.parametrize("name,dist_m,active_t,pot", [
    ("microboone", 470.0, 85.0, 6.80e20), ("sbnd", float(np.hypot(0.7378, 112.5)), 112.0, 6.6e20),
    ("icarus", float(np.hypot(0.2345, 600.0)), 476.0, 6.6e20)])   # ICARUS active centre at y = -23.45 cm (GDML)
def test_shipped_lar_detectors(name, dist_m, active_t, pot):
    exp = load_experiment(name)
    d = exp.detector
    assert d.technology == "lartpc" and d.medium == "Ar"
    assert d.distance_cm / 100 == pytest.approx(dist_m, rel=1e-9)
    assert d.active_mass_t == pytest.approx(active_t, rel=0.03)
    assert exp.pot("nu") == pytest.approx(pot)
    assert exp.beam_line == "bnb" and d.dirt is not None


def test_sbnd_position_from_sbn_software():
    """sbncode bnb_kaon_sbnd.fcl: detector (0, 0, 0) = beam (73.78, 0, 11000) cm; active box 0 < z < 500."""
    d = load_experiment("sbnd").detector
    assert np.allclose(raw("sbnd")["detector"]["center_cm"], [73.78, 0.0, 11000.0])
    assert raw("sbnd")["detector"]["lo_cm"][2] == 0.0 and raw("sbnd")["detector"]["hi_cm"][2] == 500.0
    assert d.distance_cm == pytest.approx(np.hypot(73.78, 11250.0), rel=1e-9)


def test_one_meson_sample_for_all_bnb_detectors():
    from mesonportal.cache import mesons_cache_path

    paths = {mesons_cache_path(load_experiment(n), "nu", 1000, 1) for n in ("miniboone", "microboone", "sbnd", "icarus")}
    assert len(paths) == 1


def _bad(name, edit, match):
    r = raw(name)
    edit(r)
    with pytest.raises(ConfigError, match=match) as ei:
        parse_experiment(r, "bad.toml")
    assert "bad.toml" in str(ei.value) and "\n" not in str(ei.value)


def test_bad_inputs_name_file_and_key():
    _bad("microboone", lambda r: r["detector"].update(shape="torus"), "detector.shape")
    _bad("microboone", lambda r: r["detector"].update(medium="unobtainium"), "detector.medium")
    _bad("microboone", lambda r: r["detector"].update(technology="bubble"), "detector.technology")
    _bad("microboone", lambda r: r["detector"].update(topologies=["3g"]), "detector.topologies")
    _bad("microboone", lambda r: r["detector"]["dirt"].update(medium="cheese"), "detector.dirt.medium")
    _bad("microboone", lambda r: r["detector"].update(radius_cm=3.0), "detector.radius_cm")
    _bad("microboone", lambda r: r["detector"].pop("hi_cm"), "detector.hi_cm")
    _bad("icarus", lambda r: r["detector"]["modules"][1].update(lo_cm=[-100.0, -158.0, 0.0]), "overlap")
    _bad("microboone", lambda r: r["detector"].update(center_cm=[0.0, 0.0, 2000.0]), "decay pipe")
    _bad("sbnd", lambda r: r["beam"]["pot"].update(nubar=1e20) or r["horn"]["current_ka"].pop("nubar"),
         "horn.current_ka.nubar")
    _bad("microboone", lambda r: r["detector"].update(fiducial={"shape": "box", "lo_cm": [-10, 0, 0],
                                                                 "hi_cm": [10, 10, 10]}), "fiducial")


def test_missing_exposure_for_mode_names_file_and_key():
    exp = load_experiment("microboone")
    with pytest.raises(ConfigError, match=r"microboone.toml.*beam.pot.nubar"):
        exp.pot("nubar")


def test_argon_medium_targets():
    # LAr at 1.3954 g/cm3: n_Ar = rho N_A / 39.948 = 2.10e22 /cm3; bound protons 18 per nucleus
    cs = load_experiment("microboone").detector.scattering_centres()
    by = {c.kind: c for c in cs}
    assert by["coherent"].Z == 18 and by["coherent"].A == 40
    assert by["coherent"].density_cm3 == pytest.approx(1.3954 * 6.02214076e23 / 39.948, rel=1e-6)
    assert by["bound-proton"].density_cm3 == pytest.approx(18 * by["coherent"].density_cm3)


@pytest.mark.parametrize("bench", ["scalar", "idm-double"])
def test_argon_detector_gives_signal(bench):
    """medium = Ar can never silently give zero: MicroBooNE sees the benchmark (events > 0 in
    the detector, and argon / proton targets in the target column)."""
    from mesonportal import api
    from mesonportal.models.registry import load_benchmark

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = api.predict("microboone", "nu", load_benchmark(bench), samples=20_000, seed=5)
    w = s.columns["weight"]
    assert np.sum(w) > 0
    tg = set(np.unique(s.columns["target"]).tolist())
    assert tg & {18, 1}
    assert not tg & {6}


def test_experiments_cli_json(capsys):
    from mesonportal.cli.main import main

    assert main(["experiments", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["experiments"]}
    assert set(rows) >= {"miniboone", "microboone", "sbnd", "icarus"}
    for r in rows.values():
        assert {"distance_m", "medium", "mass_t", "exposure_pot", "technology"} <= set(r)
    assert rows["microboone"]["exposure_pot"] == {"nu": 6.8e20}
