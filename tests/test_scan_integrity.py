"""Scan integrity (issue #17, deliverable 1): every part is validated against the scan's
fingerprint before it is trusted; corrupt, foreign or truncated parts are reported and recomputed
under ``--resume`` and never merged; readers warn "k of n mass points present"; ``--overwrite``
deletes only recognisable scan files; the whole grid is checked before any output is written.

The synthetic ``toy_predictor`` stands in for the physics (the machinery is under test).
Reference for every check: an uninterrupted scan of the same spec (bitwise equality).
"""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest

from mesonportal.analysis import scan_io
from mesonportal.analysis.scan import ScanSpec, parse_axis, run_scan, toy_predictor
from mesonportal.cli.main import main
from mesonportal.exceptions import ConfigError, ParameterError

FIXED = {"m_zprime": 49.0, "g_mu": 1e-4, "g_e": 0.0, "g_n": 1e-4, "lam": 1e-5, "charge": "up"}


def _spec(n_mass=3, n_c=4, seed=12345) -> ScanSpec:
    axes = (parse_axis(f"m_x=LOG:1:20:{n_mass}"), parse_axis(f"coupling_product=LOG:1e-10:1e-7:{n_c}"))
    return ScanSpec("miniboone", "scalar", axes, dict(FIXED), seed=seed)


@pytest.fixture()
def reference(tmp_path):
    out = tmp_path / "ref.parquet"
    run_scan(_spec(), out, predictor=toy_predictor)
    return out


def test_part_carries_fingerprint_and_validates(reference):
    spec = _spec()
    part = scan_io.part_path(reference, 1)
    info = json.loads(pq.read_schema(part).metadata[scan_io.PART_METADATA_KEY])
    assert info["fingerprint"] == spec.fingerprint() == scan_io.read_metadata(reference)["fingerprint"]
    assert (info["mass_point_id"], info["n_rows"]) == (1, 4)
    assert scan_io.validate_part(part, spec.fingerprint(), 4, 3) is None
    assert "another scan" in scan_io.validate_part(part, _spec(seed=1).fingerprint(), 4, 3)
    assert scan_io.scan_status(reference).complete


def test_fingerprint_changes_with_every_identity_field():
    base = _spec()
    variants = [_spec(seed=2), _spec(n_mass=4), _spec(n_c=5),
                ScanSpec("miniboone", "scalar", base.axes, {**FIXED, "g_mu": 2e-4}),
                ScanSpec("miniboone", "scalar", base.axes, dict(FIXED), stat="cnp"),
                ScanSpec("miniboone", "scalar", base.axes, dict(FIXED), samples=1000)]
    fps = {v.fingerprint() for v in variants}
    assert base.fingerprint() not in fps and len(fps) == len(variants)


def test_foreign_part_is_never_merged_and_is_recomputed(tmp_path, reference):
    other = tmp_path / "other.parquet"
    run_scan(_spec(seed=7), other, predictor=toy_predictor)  # same grid, another seed
    out = tmp_path / "s.parquet"
    shutil.copytree(reference, out)
    shutil.copy(scan_io.part_path(other, 2), scan_io.part_path(out, 2))
    with pytest.warns(scan_io.IncompleteScanWarning, match="2 of 3 mass points present.*another scan"):
        t = scan_io.read_scan(out)
    assert t.num_rows == 8 and set(t.column("mass_point_id").to_pylist()) == {0, 1}
    with pytest.raises(ConfigError, match="2 of 3 mass points"):
        scan_io.read_scan(out, require_complete=True)
    with pytest.warns(UserWarning, match="part-000002.parquet: belongs to another scan"):
        s = run_scan(_spec(), out, predictor=toy_predictor, resume=True)
    assert (s.computed_mass_points, s.skipped_mass_points) == (1, 2)
    assert scan_io.read_scan(out).equals(scan_io.read_scan(reference))


@pytest.mark.parametrize("damage", ["truncated_rows", "wrong_name", "no_fingerprint", "garbage"])
def test_damaged_part_reported_not_fatal_for_others(tmp_path, reference, damage):
    out = tmp_path / "s.parquet"
    shutil.copytree(reference, out)
    p0, p1 = scan_io.part_path(out, 0), scan_io.part_path(out, 1)
    if damage == "truncated_rows":
        t = pq.read_table(p1)
        pq.write_table(t.slice(0, 2).replace_schema_metadata(t.schema.metadata), p1)
        reason = "has 2 rows, expected 4"
    elif damage == "wrong_name":
        shutil.copy(p0, p1)  # part 0's rows under part 1's name
        reason = "holds mass point 0, not 1"
    elif damage == "no_fingerprint":
        t = pq.read_table(p1)
        pq.write_table(t.replace_schema_metadata(None), p1)
        reason = "no scan fingerprint"
    else:
        p1.write_bytes(b"PAR1 not a parquet file PAR1")
        reason = "unreadable"
    st = scan_io.scan_status(out)
    assert st.valid == [0, 2] and st.missing == [1] and reason in st.invalid["part-000001.parquet"]
    with pytest.warns(scan_io.IncompleteScanWarning, match="2 of 3"):
        assert sorted(set(scan_io.read_scan(out).column("mass_point_id").to_pylist())) == [0, 2]
    with pytest.warns(UserWarning, match=reason):
        s = run_scan(_spec(), out, predictor=toy_predictor, resume=True)
    assert s.computed_mass_points == 1
    assert scan_io.read_scan(out).equals(scan_io.read_scan(reference))


def test_resume_refuses_another_version(tmp_path, reference):
    meta = json.loads((reference / "_scan.json").read_text())
    meta["mesonportal_version"] = "0.0.0-old"
    (reference / "_scan.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="made with mesonportal '0.0.0-old'"):
        run_scan(_spec(), reference, predictor=toy_predictor, resume=True)


def test_overwrite_removes_only_scan_files(tmp_path, reference):
    (reference / "notes.txt").write_text("my notes")
    s = run_scan(_spec(seed=3), reference, predictor=toy_predictor, overwrite=True)
    assert s.computed_mass_points == 3 and (reference / "notes.txt").read_text() == "my notes"
    assert scan_io.read_scan(reference).column("seed").to_pylist() == [3] * 12
    plain = tmp_path / "results.parquet"
    plain.write_bytes(b"an ordinary file the user cares about")
    with pytest.raises(ConfigError, match="refuses to delete .*ordinary file"):
        run_scan(_spec(), plain, predictor=toy_predictor, overwrite=True)
    assert plain.read_bytes() == b"an ordinary file the user cares about"
    unrelated = tmp_path / "dir"
    (unrelated / "sub").mkdir(parents=True)
    with pytest.raises(ConfigError, match="not a scan"):
        run_scan(_spec(), unrelated, predictor=toy_predictor, overwrite=True)
    assert (unrelated / "sub").is_dir()


def test_invalid_grid_point_is_found_before_any_output(tmp_path):
    # m_x = 200 MeV > m_pi - m_mu: the scalar model is still valid (closed channel, zero rate),
    # but a negative mass is not: it must fail before the output directory is created.
    axes = (parse_axis("m_x=1,5,-3"), parse_axis("coupling_product=LOG:1e-10:1e-7:3"))
    with pytest.raises(ParameterError, match="grid point m_x=-3 is invalid"):
        run_scan(ScanSpec("miniboone", "scalar", axes, dict(FIXED)), tmp_path / "s.parquet", predictor=toy_predictor)
    assert not (tmp_path / "s.parquet").exists()


def test_plot_scan_of_incomplete_scan_warns_and_marks_figure(tmp_path, reference, capsys):
    scan_io.part_path(reference, 2).unlink()
    png = tmp_path / "map.png"
    with pytest.warns(scan_io.IncompleteScanWarning, match="2 of 3 mass points present"):
        rc = main(["plot-scan", str(reference), "--out", str(png), "--json"])
    assert rc == 0
    info = json.loads(capsys.readouterr().out)
    assert info["complete"] is False and (info["mass_points_present"], info["mass_points_total"]) == (2, 3)
    assert png.stat().st_size > 10_000


def test_serial_ctrl_c_gives_resume_message(tmp_path, capsys, monkeypatch):
    from mesonportal.analysis import scan as scan_mod

    calls = []
    real = scan_mod.evaluate_mass_point

    def interrupt_second(spec, point, *, predictor=None):
        calls.append(point.index)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(spec, point, predictor=predictor)

    monkeypatch.setattr(scan_mod, "evaluate_mass_point", interrupt_second)
    out = tmp_path / "s.parquet"
    rc = main(["scan", "--model", "scalar", "--grid", "m_x=LOG:1:20:3", "--grid", "coupling_product=LOG:1e-10:1e-7:4",
               "--out", str(out), "--predictor", "toy", "--workers", "1", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 130 and len(err) == 1
    assert err[0] == f"mesonportal: scan aborted: 4 of 12 points saved in {str(out)!r}; rerun with --resume to complete it"
    assert scan_io.scan_status(out).valid == [0]
