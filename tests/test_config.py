"""Experiment configuration loader: shipped MiniBooNE values and malformed-input handling."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesonportal.exceptions import ConfigError, UnknownExperimentError
from mesonportal.experiments import available_experiments, load_experiment
from mesonportal.experiments.config import _shipped_dir, parse_experiment


def shipped_raw() -> dict:
    return tomllib.loads((_shipped_dir() / "miniboone.toml").read_text())


def test_miniboone_shipped_values():
    exp = load_experiment("miniboone")
    assert "miniboone" in available_experiments()
    # arXiv:0806.1449: 8.89 GeV/c protons; official target (G4BNB BooNE_50m.gdml, bundled
    # data/bnb_official/target.txt): Be rod 71.12 cm long, radius 0.47625 cm, 1.85 g/cm3
    assert exp.beam.momentum_mev == pytest.approx(8890.0)
    assert exp.target.length_cm == pytest.approx(71.12)
    assert exp.target.radius_cm == pytest.approx(0.47625)
    assert exp.target.density_g_cm3 == pytest.approx(1.85)
    # G4BNB input/production.in p-Be cross sections at 8.89 GeV/c
    assert exp.target.sigma_inel_mb == pytest.approx(212.3)
    assert exp.target.sigma_qel_mb == pytest.approx(34.6)
    # arXiv:2006.16883 / 1807.06137 exposures
    assert exp.pot("nu") == pytest.approx(18.75e20)
    assert exp.pot("nubar") == pytest.approx(11.27e20)
    assert exp.pot("dump") == pytest.approx(1.86e20)
    assert exp.horn.current_ka == {"nu": 174.0, "nubar": -174.0, "dump": 0.0}
    # detector: 610.6 cm sphere at 541 m, CH2 at 0.845 g/cm3 -> 818 t total (physics.md §4), 2% tolerance
    det = exp.detector
    mass_t = 4.0 / 3.0 * math.pi * det.radius_cm**3 * det.density_g_cm3 / 1e6
    assert mass_t == pytest.approx(det.mass_t, rel=0.02)
    assert det.center_cm[2] == pytest.approx(54100.0)
    n = det.number_densities_cm3()
    assert n["H"] == pytest.approx(2 * n["C"])


def test_target_interaction_probability_is_about_80_percent():
    # physics.md §1: 1 - exp(-L n sigma_inel) ~ 0.8 for the 71.1 cm Be target
    t = load_experiment("miniboone").target
    p_int = 1.0 - math.exp(-t.length_cm / t.interaction_length_cm)
    assert 0.75 < p_int < 0.85


def test_horn_profile_interpolation():
    # Official geometry (G4BNB BooNE_50m.gdml): target face at z_horn = 3.49 cm; at z_horn = 100 cm the
    # inner conductor spans r = 4.74..5.04 cm; halfway to 110.6 cm it is linear: 5.49..5.79 cm.
    h = load_experiment("miniboone").horn
    assert h.z_offset_cm == pytest.approx(-3.49)
    z0, z1 = h.z_range_cm
    assert (z0, z1) == pytest.approx((-3.49, 180.4 - 3.49))
    z = np.array([100.0, 105.3]) - 3.49
    assert h.inner_radius(z) == pytest.approx([4.74, 5.49], abs=1e-9)
    assert h.field_inner_radius(z) == pytest.approx([5.04, 5.79], abs=1e-9)
    assert np.isnan(h.inner_radius(np.array([z1 + 1.0]))[0])
    assert h.outer_radius_cm == pytest.approx(30.0)


def test_unknown_experiment_message():
    with pytest.raises(UnknownExperimentError, match="allowed: .*miniboone"):
        load_experiment("nosuchexp")


def test_missing_file(tmp_path):
    with pytest.raises(UnknownExperimentError, match="does not exist"):
        load_experiment(tmp_path / "missing.toml")


def test_user_toml_roundtrip(tmp_path):
    text = (_shipped_dir() / "miniboone.toml").read_text().replace('name = "miniboone"', 'name = "mine"')
    p = tmp_path / "mine.toml"
    p.write_text(text)
    assert load_experiment(p).name == "mine"


@pytest.mark.parametrize(
    "section,key,value,match",
    [
        ("beam", "momentum_mev", -5.0, "beam.momentum_mev"),
        ("beam", "momentum_mev", "fast", "must be a number"),
        ("target", "length_cm", 0.0, "target.length_cm"),
        ("detector", "shape", "cube", "detector.shape"),
        ("detector", "medium", "water", "detector.medium"),
        ("detector", "center_cm", [1.0, 2.0], "detector.center_cm"),
        ("beam", "colour", "red", "unknown key 'beam.colour'"),
        ("beam", "pot", {"sideways": 1.0}, "not a mode"),
        ("detector", "fiducial_radius_cm", 1e5, "fiducial_radius_cm"),
    ],
)
def test_bad_values_name_the_key(section, key, value, match):
    raw = shipped_raw()
    raw[section][key] = value
    with pytest.raises(ConfigError, match=match):
        parse_experiment(raw, "test.toml")


def test_invalid_toml_syntax(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[beam\nmomentum_mev = 3")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_experiment(p)


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5), st.lists(st.floats(allow_nan=False), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    section=st.sampled_from(["beam", "target", "horn", "decay_region", "dump", "detector", "experiment", "bogus"]),
    key=st.one_of(st.text(min_size=1, max_size=12), st.sampled_from(["momentum_mev", "radius_cm", "pot", "center_cm",
                                                                      "geometry", "target_shift_cm", "current_ka", "length_cm"])),
    value=_scalars,
    drop=st.booleans(),
)
def test_fuzz_config_always_clean_error(section, key, value, drop):
    """Random malformed values/keys: either a valid Experiment or a ConfigError — never anything else."""
    raw = shipped_raw()
    if drop and section in raw:
        raw[section].pop(key, None)
    else:
        raw.setdefault(section, {})
        if isinstance(raw[section], dict):
            raw[section][key] = value
    try:
        exp = parse_experiment(raw, "fuzz.toml")
    except ConfigError as exc:
        assert "fuzz.toml" in str(exc)
    else:
        assert exp.name


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_random_toml_text(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("fz") / "x.toml"
    p.write_text(text, encoding="utf-8")
    try:
        load_experiment(p)
    except ConfigError:
        pass
