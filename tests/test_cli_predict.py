"""CLI tests of ``mesonportal predict`` and ``mesonportal flux --model`` (small samples)."""

from __future__ import annotations

import json

import pytest

from mesonportal.cli.main import main


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cli-mesons"))


def test_predict_json_keys_and_events(capsys, tmp_path):
    # --json layout of the issue: events_total, events_200_1250, mc_stat_error, hist.{enu_qe,evis,costheta}
    # with edges/counts (11/23/20 MiniBooNE bins); --events writes Parquet with metadata
    ev = tmp_path / "ev.parquet"
    rc = main(["predict", "--experiment", "miniboone", "--mode", "nu", "--model", "scalar", "--param", "m_x=1",
               "--param", "m_zprime=49", "--samples", "8000", "--json", "--events", str(ev)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for k in ("events_total", "events_200_1250", "mc_stat_error", "hist"):
        assert k in out
    nbins = {"enu_qe": 11, "evis": 23, "costheta": 20}
    for name, n in nbins.items():
        assert len(out["hist"][name]["counts"]) == n and len(out["hist"][name]["edges"]) == n + 1
    assert out["events_total"] >= out["events_200_1250"] >= 0
    from mesonportal.analysis.events_io import read_events

    cols, meta = read_events(ev)
    assert "weight" in cols and meta["model"]["model"] == "scalar" and meta["seed"] == 12345


def test_predict_summary_and_plot(capsys, tmp_path):
    rc = main(["predict", "--benchmark", "idm-single", "--samples", "4000", "--plot", str(tmp_path / "plots")])
    assert rc == 0
    assert "events (total)" in capsys.readouterr().out
    assert len(list((tmp_path / "plots").glob("*.png"))) == 3


def test_predict_bad_input(capsys):
    # bad input: one-line error, exit 2; missing model; bad events suffix
    assert main(["predict", "--model", "scalar", "--param", "m_x=-1", "--param", "m_zprime=49"]) == 2
    assert main(["predict"]) == 2
    assert main(["predict", "--benchmark", "scalar", "--events", "x.csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("mesonportal: error:") == 3


def test_predict_zero_signal_is_warning(capsys):
    rc = main(["predict", "--model", "scalar", "--param", "m_x=400", "--param", "m_zprime=49", "--samples", "400",
               "--json"])
    assert rc == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)["events_total"] == 0.0 and "warning" in cap.err


def test_flux_with_model_json(capsys):
    rc = main(["flux", "--experiment", "miniboone", "--mode", "nu", "--model", "scalar", "--param", "m_x=1",
               "--param", "m_zprime=49", "--samples", "8000", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert "edges_gev" in out and "phi" in out and len(out["phi"]) == len(out["edges_gev"]) - 1
    assert sum(out["phi"]) > 0
