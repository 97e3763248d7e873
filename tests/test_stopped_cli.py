"""CLI contracts of the stopped-pion outputs: ``predict --experiment ccm --json`` and
``sensitivity`` (Parquet + metadata), and the Poisson limit they use."""

from __future__ import annotations

import json
import math

import pytest

from mesonportal.analysis.sensitivity import poisson_upper_limit
from mesonportal.cli.main import main


def test_poisson_upper_limit_reference_values():
    """Classical 90% CL Poisson upper limits on a mean (PDG Statistics review, table of upper
    limits for n observed events): n = 0 → 2.30, n = 3 → 6.68; with background b the signal limit
    is that minus b (n₀ = b = 3 → 3.68)."""
    assert poisson_upper_limit(0.0) == pytest.approx(2.3026, abs=1e-3)
    assert poisson_upper_limit(3.0) == pytest.approx(6.681 - 3.0, abs=2e-3)
    with pytest.raises(Exception, match="background"):
        poisson_upper_limit(-1.0)


def test_predict_ccm_json(capsys):
    rc = main(["predict", "--experiment", "ccm", "--benchmark", "scalar", "--samples", "5000", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "beam" and out["experiment"] == "ccm"
    for k in ("events_total", "mc_stat_error", "hist", "events_by_topology", "energy_spectrum", "events_by_process"):
        assert k in out
    assert out["events_by_topology"]["em"] == pytest.approx(out["events_total"])
    assert out["detector"]["response"]["window_mev"] == [0.1, 100.0]


def test_predict_bad_mode_for_stopped(capsys):
    rc = main(["predict", "--experiment", "ccm", "--benchmark", "scalar", "--mode", "nu", "--samples", "100"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "beam.pot.nu" in err and "Traceback" not in err


def test_sensitivity_writes_parquet(tmp_path, capsys):
    import pyarrow.parquet as pq

    out = tmp_path / "s.parquet"
    rc = main(["sensitivity", "-e", "ccm", "--model", "scalar", "--grid", "m_x=1,5", "--no-decays",
               "--samples", "5000", "--out", str(out), "--plot", str(tmp_path / "s.png"), "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    t = pq.read_table(out)
    meta = json.loads(t.schema.metadata[b"mesonportal_sensitivity"])
    assert meta["exposure_pot"] == 2.25e22 and meta["background_events"] == 0.0 and not meta["decays_in_signal"]
    x90 = t.column("x90").to_pylist()
    assert len(x90) == 2 and all(math.isfinite(x) and x > 0 for x in x90)
    # the reach reproduces s90 events by construction of the bisection (independent check: N ∝ x²)
    n_ref = t.column("events_at_ref").to_pylist()[0]
    x_ref = t.column("coupling_product_ref").to_pylist()[0]
    assert n_ref * (x90[0] / x_ref) ** 2 == pytest.approx(meta["s90_events"], rel=1e-4)
    assert (tmp_path / "s.png").stat().st_size > 0 and res["out"] == str(out)


def test_sensitivity_plot_over_a_scan_region(tmp_path, capsys):
    """--miniboone-scan draws the preferred region of a `mesonportal scan` output (toy predictor here)."""
    scan = tmp_path / "scan.parquet"
    assert main(["scan", "--model", "scalar", "--grid", "m_x=LOG:1:30:3", "--grid", "coupling_product=LOG:1e-10:1e-7:4",
                 "--predictor", "toy", "--out", str(scan)]) == 0
    png = tmp_path / "r.png"
    rc = main(["sensitivity", "-e", "ccm", "--model", "scalar", "--grid", "m_x=2", "--no-decays", "--samples", "3000",
               "--out", str(tmp_path / "r.parquet"), "--plot", str(png), "--miniboone-scan", str(scan)])
    assert rc == 0 and png.stat().st_size > 0


def test_sensitivity_rejects_coupling_axis(tmp_path, capsys):
    rc = main(["sensitivity", "-e", "ccm", "--model", "scalar", "--grid", "coupling_product=LOG:1e-9:1e-8:2",
               "--out", str(tmp_path / "x.parquet")])
    assert rc == 2 and "mass axis" in capsys.readouterr().err


def test_stopped_report_rows_and_section(tmp_path):
    """Report rows at a given coupling product equal the prediction reweighted there (N ∝ x² for
    Primakoff + fixed decays), and the Markdown section puts LSND next to its excess."""
    from mesonportal.analysis.predict import predict_signal
    from mesonportal.analysis.stopped_report import append_to_report, markdown_section, stopped_rows
    from mesonportal.models.registry import load_benchmark

    model = load_benchmark("scalar")
    rows = stopped_rows([("scalar", model, 3.2e-9)], experiments=("ccm", "lsnd"), samples=5000, seed=4)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    s = predict_signal("lsnd", "beam", model, samples=5000, seed=4)
    assert rows[1]["events"] == pytest.approx(float(s.weights(3.2e-9).sum() * s.pot), rel=1e-12)
    md = markdown_section(rows)
    assert "| scalar |" in md and "87.9 ± 22.4 ± 6.0" in md and "neutron tag" in md
    # X from π⁺ at rest cannot free a neutron (tests/test_knockout.py); the DIF share is tiny
    assert 0.0 <= rows[1]["neutron_knockout"]["fraction_of_incoherent"] < 1e-3
    (tmp_path / "report.md").write_text("# report\n")
    append_to_report(tmp_path, rows)
    assert "Stopped-pion experiments" in (tmp_path / "report.md").read_text()
    assert json.loads((tmp_path / "stopped_pion.json").read_text())["rows"][0]["experiment"] == "ccm"


def test_flux_ccm_json_defaults_to_beam_mode_and_mev_bins(capsys):
    """`flux -e ccm`: beam mode by default, 1 MeV bins to 300 MeV, the ν_μ line in the 29–30 MeV bin."""
    rc = main(["flux", "-e", "ccm", "-n", "4000", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "beam" and len(out["edges_gev"]) == 301 and out["edges_gev"][-1] == pytest.approx(0.3)
    numu = out["numu"]
    assert max(range(300), key=lambda i: numu[i]) == 29
