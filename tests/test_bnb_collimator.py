"""The BNB downstream geometry of the official simulation: horn air cavity up to z_horn = 307 cm, the conical
collimator aperture in the steel pile, then the decay pipe (``decay_region.geometry = "bnb_official"``).

Reference: SBNSoftware/G4BNB ``geometry/BooNE_50m.gdml`` (commit 7476727): PICV air box (z = ±3070 mm around the
horn's upstream face), PIFD air polycone r = 300 -> 355 mm over 2133.6 mm starting at z = 3070 mm (placement chain
PIFD in PILE at z = 2643.2 mm, PILE in CAVI, CAVI in CAVE at z = 426.8 mm). Geometric checks are exact analytic
straight-line distances (tolerance 1e-9 relative).
"""

import dataclasses
import math

import numpy as np
import pytest

from mesonportal.exceptions import ConfigError
from mesonportal.experiments.bnb_geometry import parse_collimator_table
from mesonportal.experiments.config import _shipped_dir, load_experiment
from mesonportal.sources.transport import (
    FATES,
    _cavity_path,
    _cone_exit,
    _cylinder_exit,
    _official_downstream_path,
    simulate_mesons,
)


@pytest.fixture(scope="module")
def exp():
    return load_experiment("miniboone")


def test_collimator_from_package_data(exp):
    dr = exp.decay_region
    assert dr.geometry == "bnb_official"
    # G4BNB PIFD: z_horn = 307.0 .. 307.0 + 213.36 cm, r = 30.0 -> 35.5 cm
    assert dr.apertures == ((307.0, 520.36, 30.0, 35.5),)
    # pipe starts at the collimator's end, in target coordinates (target face at z_horn = 3.49 cm)
    assert dr.z_start_cm == pytest.approx(520.36 - 3.49, abs=1e-9)
    assert exp.horn.cavity[4] == 307.0


def test_cone_exit_analytic():
    # line from the axis at the cone's apex plane, polar angle th: r = s sin th meets r0 + k s cos th
    r0, k = 30.0, 5.5 / 213.36
    th = np.array([0.2, 0.5, 1.0])
    pos = np.zeros((3, 3))
    d = np.column_stack([np.sin(th), np.zeros(3), np.cos(th)])
    s = _cone_exit(pos, d, 0.0, r0, k)
    np.testing.assert_allclose(s, r0 / (np.sin(th) - k * np.cos(th)), rtol=1e-9)
    # parallel to the axis inside a widening cone: never reaches it
    assert np.isinf(_cone_exit(np.array([[20.0, 0, 0]]), np.array([[0, 0, 1.0]]), 0.0, r0, k))[0]
    # k = 0 is a cylinder
    rng = np.random.default_rng(3)
    p = np.column_stack([rng.uniform(-10, 10, (50, 2)), rng.uniform(0, 5, 50)])
    u = rng.normal(size=(50, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    np.testing.assert_allclose(_cone_exit(p, u, 0.0, 30.0, 0.0), _cylinder_exit(p, u, 30.0), rtol=1e-9)


def test_downstream_paths(exp):
    horn, dr = exp.horn, exp.decay_region
    off = horn.z_offset_cm
    z_exit = horn.table.conductor_z_range[1] + off  # horn end, target coordinates
    # 1) on axis: straight to the absorber plane
    pos = np.array([[0.0, 0.0, z_exit]])
    s = _official_downstream_path(pos, np.array([[0, 0, 1.0]]), horn, dr)
    assert s[0] == pytest.approx(dr.absorber_z_cm - z_exit, rel=1e-12)
    # 2) wide angle: leaves the cavity through its side wall (x = 68.54 cm) before z_horn = 307 cm
    d = np.array([[math.sin(0.6), 0.0, math.cos(0.6)]])
    s = _official_downstream_path(pos, d, horn, dr)
    assert s[0] == pytest.approx(68.54 / math.sin(0.6), rel=1e-9)
    assert s[0] == pytest.approx(_cavity_path(pos, d, horn)[0], rel=1e-12)
    # 3) reaches z_horn = 307 at r = 31 cm > 30 cm: stops on the collimator's upstream steel face
    dz = 307.0 + off - z_exit
    d = np.array([[31.0, 0.0, dz]]) / math.hypot(31.0, dz)
    s = _official_downstream_path(pos, d, horn, dr)
    assert s[0] == pytest.approx(math.hypot(31.0, dz), rel=1e-9)
    # 4) enters at r = 20 cm, meets the cone wall r = 30 + k (z - 307) inside the collimator
    k = 5.5 / 213.36
    t = 20.0 / dz  # dr/dz of the track
    u = (30.0 - 20.0) / (t - k)  # z beyond z_horn = 307 where 20 + t u = 30 + k u
    assert 0 < u < 213.36
    d = np.array([[t, 0.0, 1.0]]) / math.hypot(t, 1.0)
    s = _official_downstream_path(pos, d, horn, dr)
    assert s[0] == pytest.approx((dz + u) * math.hypot(t, 1.0), rel=1e-9)
    # 5) through the whole collimator, then the pipe wall r = 91 cm
    t = 10.0 / (520.36 + off - z_exit)
    d = np.array([[t, 0.0, 1.0]]) / math.hypot(t, 1.0)
    s = _official_downstream_path(pos, d, horn, dr)
    assert s[0] == pytest.approx(dr.pipe_radius_cm / t * math.hypot(t, 1.0), rel=1e-9)


def test_bookkeeping_and_old_approximation(exp, tmp_path):
    # every produced weight ends in one fate with the new geometry; the former cylinder approximation still loads
    s = simulate_mesons(exp, "nu", 6_000, np.random.default_rng(5), species=[211, -211])
    for name in ("pi+", "pi-"):
        d = s.summary[name]
        assert sum(d[f] for f in FATES) == pytest.approx(d["produced"], rel=1e-9)
        assert np.all(np.isfinite(s.weight)) and np.all(s.weight >= 0)
    text = (_shipped_dir() / "miniboone.toml").read_text()
    old = text.replace('geometry = "bnb_official"\npipe_radius_cm', 'z_start_cm = 259.0\ncollimator_radius_cm = 30.0\n'
                       'pipe_radius_cm')
    p = tmp_path / "old.toml"
    p.write_text(old)
    e = load_experiment(p)
    assert e.decay_region.apertures is None and e.decay_region.collimator_radius_cm == 30.0
    assert e.decay_region.z_start_cm == 259.0


@pytest.mark.parametrize("text,match", [
    ("307 520.36 30\n", r"row 1: expected 4 columns"),
    ("307 300 30 35.5\n", r"row 1: z_end_cm = 300 must exceed z_start_cm = 307"),
    ("307 520 0 35.5\n", r"row 1: radii must be > 0"),
    ("307 400 30 32\n401 520 32 35\n", r"row 2: z_start_cm = 401 must equal the previous row's z_end_cm = 400"),
    ("307 520 30 abc\n", r"row 1: r_end_cm = 'abc' is not a number"),
    ("# nothing\n", r"no collimator rows"),
])
def test_malformed_collimator_table(text, match):
    with pytest.raises(ConfigError, match=match) as exc:
        parse_collimator_table(text, "c.txt")
    assert "\n" not in str(exc.value) and "c.txt" in str(exc.value)


def _toml(tmp_path, old, new):
    text = (_shipped_dir() / "miniboone.toml").read_text()
    assert old in text
    p = tmp_path / "exp.toml"
    p.write_text(text.replace(old, new))
    return p


@pytest.mark.parametrize("old,new,match", [
    ('geometry = "bnb_official"\npipe_radius_cm', 'geometry = "bnb_official"\nz_start_cm = 259.0\npipe_radius_cm',
     "replaces decay_region.z_start_cm"),
    ("cavity = {", "#cavity = {", "needs \\[horn\\] with horn.cavity"),
    ("z_min_cm = -307.0, z_max_cm = 307.0", "z_min_cm = -307.0, z_max_cm = 300.0", "must equal horn.cavity z_max_cm"),
    ('geometry = "bnb_official"\npipe_radius_cm', 'pipe_radius_cm', "missing key 'decay_region.z_start_cm'"),
])
def test_bad_decay_region_config(tmp_path, old, new, match):
    with pytest.raises(ConfigError, match=match) as exc:
        load_experiment(_toml(tmp_path, old, new))
    assert "\n" not in str(exc.value) and "exp.toml" in str(exc.value)


def test_cli_bad_collimator_exit_code_2(tmp_path, capsys):
    from mesonportal.cli.main import main

    d = tmp_path / "geo"
    d.mkdir()
    (d / "collimator.txt").write_text("307 300 30 35.5\n")
    p = _toml(tmp_path, 'geometry = "bnb_official"\npipe_radius_cm', f'geometry = "{d}"\npipe_radius_cm')
    code = main(["flux", "-e", str(p), "--samples", "100", "--json"])
    err = capsys.readouterr().err
    assert code == 2 and "collimator.txt: row 1" in err and "Traceback" not in err
    assert len([ln for ln in err.strip().splitlines() if ln.strip()]) == 1


def test_dataclass_replace_keeps_key(exp):
    # the apertures are part of the decay region and so of the meson-cache key (cache.source_fingerprint)
    from mesonportal.cache import source_fingerprint

    e2 = dataclasses.replace(exp, decay_region=dataclasses.replace(exp.decay_region, apertures=((307.0, 520.36, 30.0, 40.0),)))
    assert source_fingerprint(exp, "nu") != source_fingerprint(e2, "nu")
