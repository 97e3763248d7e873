"""Official BNB horn/target geometry: read from the package's own data, region logic, straight-line
boundary crossings (chords), production normalisation, and malformed tables.

Reference for the numbers: SBNSoftware/G4BNB commit 7476727, geometry/BooNE_50m.gdml (polycones
HWL1/HRN1, target TARG placed at z = 390.525 mm) and input/production.in.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mesonportal.data import data_path
from mesonportal.exceptions import ConfigError
from mesonportal.experiments.bnb_geometry import load_horn_table, load_target_table, parse_horn_table
from mesonportal.experiments.config import load_experiment
from mesonportal.sources import beam
from mesonportal.sources.horn import R_AIR, R_AL, R_FIELD, EXIT_DOWNSTREAM, HornGeometry, field_tesla, track_horn


@pytest.fixture(scope="module")
def exp():
    return load_experiment("miniboone")


def test_tables_come_from_package_data(exp):
    # the default experiment names the bundled table; its origin is the package's data directory
    assert exp.horn.geometry == "bnb_official"
    assert exp.horn.table.source == "data/bnb_official/horn.txt"
    assert data_path("bnb_official/horn.txt").is_file()
    t = load_target_table("bnb_official")
    assert (t.radius_cm, t.length_cm, t.z_start_cm, t.z_end_cm) == (0.47625, 71.12, 3.49, 74.61)
    h = load_horn_table("bnb_official")
    assert h.conductor_z_range == (0.0, 180.4) and h.field_z_range == (3.5, 180.0)
    # HWL1 rmin / HRN1 rmin planes of the gdml (mm -> cm)
    assert h.radius("r_in", [8.6, 100.0, 160.6]) == pytest.approx([1.9, 4.74, 1.9])
    assert h.radius("r_out", [8.6, 100.0, 160.6]) == pytest.approx([2.2, 5.04, 2.2])
    assert h.radius("r_field_max", [100.0, 180.0]) == pytest.approx([30.0, 16.16])


def test_region_map(exp):
    g = HornGeometry(exp.horn)
    zt = lambda zh: zh - 3.49  # horn -> target coordinates  # noqa: E731
    pts = np.array([[0.0, 0.0, zt(40.0)],  # bore (target)
                    [2.0, 0.0, zt(40.0)],  # inner-conductor wall 1.9 < r < 2.2
                    [10.0, 0.0, zt(40.0)],  # field region
                    [31.0, 0.0, zt(40.0)],  # outer conductor 30 < r < 32.54
                    [5.0, 0.0, zt(1.0)],  # upstream flange (conductor, no field before z = 3.5)
                    [0.0, 0.0, zt(200.0)]])  # downstream of the horn
    assert list(g.region(pts)) == [R_AIR, R_AL, R_FIELD, R_AL, R_AL, R_AIR]
    b, _ = field_tesla(pts, exp.horn, 174.0)
    # Ampère: B = 2e-7 T m/A x 174 kA / 0.10 m = 0.348 T at r = 10 cm; zero elsewhere
    assert b == pytest.approx([0.0, 0.0, 0.348, 0.0, 0.0, 0.0], abs=1e-12)


def test_chord_through_the_neck_wall(exp):
    # A radial line at z_horn = 40 cm (cylindrical neck r_in = 1.9, r_out = 2.2 cm) meets r_in after
    # 1.9 cm and r_out after 2.2 cm: the aluminium chord is 0.3 cm; at 60 degrees to the axis the
    # chord through the wall is 0.3 / sin 60.
    g = HornGeometry(exp.horn)
    p0 = np.array([[0.0, 0.0, 40.0 - 3.49]])
    d = np.array([[1.0, 0.0, 0.0]])
    assert g.next_boundary(p0, d) == pytest.approx(1.9, abs=1e-9)
    p1 = p0 + d * (1.9 + 1e-6)
    assert g.next_boundary(p1, d) == pytest.approx(0.3 - 1e-6, abs=1e-9)
    th = np.radians(60.0)
    d2 = np.array([[np.sin(th), 0.0, np.cos(th)]])
    s_in = g.next_boundary(p0, d2)[0]
    s_out = g.next_boundary(p0 + d2 * (s_in + 1e-9), d2)[0]
    assert s_in == pytest.approx(1.9 / np.sin(th), rel=1e-9)
    assert s_out == pytest.approx(0.3 / np.sin(th), abs=1e-8)


def test_conical_section_crossing(exp):
    # Cone between z_horn = 87.7 (r_in = 3.0) and 100.0 (r_in = 4.74): a line parallel to the axis at
    # x = 4 cm meets r_in = 4 where 3.0 + 1.74 (z - 87.7)/12.3 = 4.
    g = HornGeometry(exp.horn)
    d = np.array([[0.0, 0.0, -1.0]])  # upstream: the cone narrows
    z_hit = 87.7 + (4.0 - 3.0) * 12.3 / 1.74
    # from inside the bore at z = 95 (r_in = 4.03) moving upstream the line x = 4 hits r_in at z_hit
    p0 = np.array([[4.0, 0.0, 95.0 - 3.49]])
    assert g.next_boundary(p0, d) == pytest.approx(95.0 - z_hit, rel=1e-9)


def test_tracks_through_wall_lose_weight_to_aluminium(exp):
    # With the current off, a π+ flying out radially through the neck wall crosses 0.3 cm of Al:
    # the forced-decay accumulator sees a "conductor" segment of that length.
    g = HornGeometry(exp.horn)

    class Acc:
        def __init__(self):
            self.al = 0.0

        def segment(self, idx, p0, p1, m0, axis, angle, length, cat):
            if cat == "conductor":
                self.al += float(np.sum(length))

    acc = Acc()
    pos = np.array([[0.0, 0.0, 40.0 - 3.49]])
    mom = np.array([[500.0, 0.0, 0.0]])
    track_horn(pos, mom, np.ones(1), g, 0.0, acc)
    # neck wall 0.3 cm, then the outer conductor 30 -> 32.54 cm = 2.54 cm
    assert acc.al == pytest.approx(0.3 + 2.54, abs=1e-4)


def test_forward_track_leaves_downstream(exp):
    g = HornGeometry(exp.horn)
    _, _, st = track_horn(np.array([[0.0, 0.0, 10.0]]), np.array([[0.0, 0.0, 2000.0]]), np.ones(1), g, 174.0)
    assert st[0] == EXIT_DOWNSTREAM


def test_quasi_elastic_normalisation(exp):
    # Without quasi-elastic scattering the non-QE interaction probability of a pencil beam is the
    # textbook 1 - exp(-L n sigma_inel) (binomial MC error, 4 sigma); with QE (G4BNB) it lies
    # between the "QE protons lost" and "QE protons always re-interact" limits.
    from dataclasses import replace

    t = exp.target
    noqe = replace(exp, target=replace(t, sigma_qel_mb=0.0))
    n = 200_000
    _, _, k = beam.proton_interactions(np.random.default_rng(1), n, noqe)
    p_ref = 1.0 - np.exp(-t.length_cm / t.interaction_length_cm)
    assert k / n == pytest.approx(p_ref, abs=4 * np.sqrt(p_ref * (1 - p_ref) / n) + 2e-3)
    _, _, k = beam.proton_interactions(np.random.default_rng(2), n, exp)
    f = t.sigma_qel_mb / t.sigma_inel_mb
    lo = (1 - f) * (1.0 - np.exp(-t.length_cm / t.interaction_length_cm))
    hi = 1.0 - np.exp(-t.length_cm * t.number_density_cm3 * (t.sigma_inel_mb - t.sigma_qel_mb) * 1e-27)
    assert lo < k / n < hi
    # G4BNB p-Be parametrisation at 8.89 GeV/c: sigma_inel - sigma_qe = 177.7 mb
    assert beam.meson_multiplicity_norm_mb(exp) == pytest.approx(177.7, abs=0.05)


def test_pbe_parametrisation_matches_config(exp):
    # sigma(p) = A + B p^n + C ln^2 p + D ln p of the bundled G4BNB table at 8.89 GeV/c vs the TOML values
    from mesonportal.data import read_text

    rows = {r.split()[0]: [float(x) for x in r.split()[1:]] for r in read_text("bnb_official/pbe_cross_sections.txt")
            .splitlines() if r.strip() and not r.startswith("#")}
    p = 8.89

    def sig(a, b, n, c, d):
        return a + b * p**n + c * np.log(p) ** 2 + d * np.log(p)

    assert sig(*rows["inelastic"]) == pytest.approx(exp.target.sigma_inel_mb, abs=0.05)
    assert sig(*rows["quasi_elastic"]) == pytest.approx(exp.target.sigma_qel_mb, abs=0.05)


# ---- malformed tables: one line naming file, row and rule --------------------------------------


def _geometry_dir(tmp_path, horn_text=None, target_text=None):
    d = tmp_path / "geo"
    d.mkdir()
    src = data_path("bnb_official/horn.txt").read_text()
    (d / "horn.txt").write_text(horn_text(src) if horn_text else src)
    tsrc = data_path("bnb_official/target.txt").read_text()
    (d / "target.txt").write_text(target_text(tsrc) if target_text else tsrc)
    return d


def _toml_with(tmp_path, geometry_dir, extra=""):
    from mesonportal.experiments.config import _shipped_dir

    text = (_shipped_dir() / "miniboone.toml").read_text()
    # the first occurrence is horn.geometry (decay_region.geometry stays the bundled collimator)
    text = text.replace('geometry = "bnb_official"', f'geometry = "{geometry_dir}"{extra}', 1)
    p = tmp_path / "exp.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("edit,match", [
    (lambda s: s.replace("   87.7        3", "   70.0        3"), r"horn\.txt: row \d+: z = 70 cm must increase strictly"),
    (lambda s: s.replace("  100     4.74     5.04", "  100     5.24     5.04"),
     r"horn\.txt: row \d+: at z = 100 cm r_out < r_in"),
    (lambda s: s.replace("  100     4.74     5.04", "  100     4.74     abc "), r"horn\.txt: row \d+: r_out = 'abc' is not a number"),
    (lambda s: s.replace("  100     4.74     5.04       30    32.54", "  100     4.74     5.04"),
     r"horn\.txt: row \d+: expected 5 columns"),
])
def test_malformed_horn_table(tmp_path, edit, match):
    d = _geometry_dir(tmp_path, horn_text=edit)
    with pytest.raises(ConfigError, match=match) as exc:
        load_experiment(_toml_with(tmp_path, d))
    msg = str(exc.value)
    assert "\n" not in msg and "exp.toml" in msg


def test_target_outside_the_horn(tmp_path):
    d = _geometry_dir(tmp_path)
    with pytest.raises(ConfigError, match="lies outside the horn conductor") as exc:
        load_experiment(_toml_with(tmp_path, d, "\ntarget_shift_cm = 150.0"))
    assert "\n" not in str(exc.value)
    d2 = tmp_path / "g2"
    shutil.copytree(d, d2)
    (d2 / "target.txt").write_text("Be 2.5 71.12 3.49 74.61 1.85\n")
    with pytest.raises(ConfigError, match="target radius 2.5 cm reaches the inner conductor"):
        load_experiment(_toml_with(tmp_path, d2))


def test_unknown_geometry_name(tmp_path):
    with pytest.raises(ConfigError, match="neither a bundled geometry"):
        load_experiment(_toml_with(tmp_path, "no_such_geometry"))


def test_parse_rejects_too_few_planes():
    with pytest.raises(ConfigError, match="surface r_in needs at least 2 planes"):
        parse_horn_table("0 2.2 - 30 32\n", "t.txt")


def test_cli_bad_geometry_exit_code_2(tmp_path, capsys):
    # CLI contract: bad input -> one-line error on stderr, exit code 2, no traceback
    from mesonportal.cli.main import main

    d = _geometry_dir(tmp_path, horn_text=lambda s: s.replace("  100     4.74     5.04", "  100     5.24     5.04"))
    code = main(["flux", "-e", str(_toml_with(tmp_path, d)), "--samples", "100", "--json"])
    err = capsys.readouterr().err
    assert code == 2
    assert "r_out < r_in" in err and "Traceback" not in err
    assert len([ln for ln in err.strip().splitlines() if ln.strip()]) == 1


def test_flux_finite_with_official_geometry():
    # no NaN fluxes: every bin finite and non-negative (small run, all modes)
    from mesonportal import api

    for mode in ("nu", "nubar", "dump"):
        f = api.neutrino_flux("miniboone", mode, samples=3000, seed=3)
        for fl in ("numu", "numubar", "nue", "nuebar"):
            v = np.asarray(f[fl])
            assert np.all(np.isfinite(v)) and np.all(v >= 0), (mode, fl)


def test_first_crossing_matches_brute_force(exp):
    # analytic first crossing of each surface vs a dense scan of r(s) - R(z(s)) along random lines
    g = HornGeometry(exp.horn)
    rng = np.random.default_rng(11)
    n = 150
    pos = np.column_stack([rng.uniform(-8, 8, n), rng.uniform(-8, 8, n), rng.uniform(-5, 180, n)])
    d = rng.normal(size=(n, 3))
    d[:, 2] += rng.choice([-1.0, 2.0], n)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    s_grid = np.linspace(0.0, 60.0, 30001)  # 2 mm
    for name, surf in g.surf.items():
        s_an = surf.first_crossing(pos, d)
        pts = pos[:, None, :] + s_grid[None, :, None] * d[:, None, :]
        f = np.hypot(pts[..., 0], pts[..., 1]) - surf(pts[..., 2])
        sign = np.sign(f)
        change = (sign[:, 1:] * sign[:, :-1] < 0) & np.isfinite(f[:, 1:]) & np.isfinite(f[:, :-1])
        first = np.where(change.any(axis=1), s_grid[np.argmax(change, axis=1)], np.inf)
        inside = first < 59.0
        assert np.allclose(s_an[inside], first[inside], atol=2.5e-3), name
        assert np.all(~np.isfinite(s_an[~inside]) | (s_an[~inside] > 58.0)), name
