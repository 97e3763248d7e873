"""CLI contract: exit codes, one-line errors, and the `flux --json` layout."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mesonportal.cli.main import main


def run(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(
    "args,needle",
    [
        (["flux", "--mode", "sideways"], "--mode"),
        (["flux", "--samples", "-3"], "--samples"),
        (["flux", "--experiment", "nosuch"], "unknown experiment 'nosuch'"),
        (["flux", "--bogus"], "--bogus"),
        (["nosuchcommand"], "nosuchcommand"),
        (["data", "nosuchexp"], "nosuchexp"),
    ],
)
def test_bad_input_one_line_exit_2(capsys, args, needle):
    rc, out, err = run(capsys, *args)
    assert rc == 2
    assert needle in err
    assert err.strip().count("\n") == 0, err  # one line
    assert "Traceback" not in err


def test_bad_experiment_file(capsys, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[beam]\nmomentum_mev = -1\n")
    rc, _, err = run(capsys, "flux", "--experiment", str(p))
    assert rc == 2 and "bad.toml" in err


def test_flux_json_layout(capsys):
    rc, out, _ = run(capsys, "flux", "--mode", "nu", "--samples", "20000", "--seed", "3", "--json")
    assert rc == 0
    d = json.loads(out)
    for key in ("experiment", "mode", "edges_gev", "numu", "numubar", "nue", "nuebar", "units"):
        assert key in d
    assert d["experiment"] == "miniboone" and d["mode"] == "nu"
    # official binning: 0-10 GeV in 50 MeV bins
    assert len(d["edges_gev"]) == 201 and d["edges_gev"][0] == 0.0 and d["edges_gev"][-1] == pytest.approx(10.0)
    assert len(d["numu"]) == 200 and sum(d["numu"]) > 0
    assert d["units"] == "neutrinos / cm^2 / POT / bin"


def test_flux_reproducible_with_seed(capsys):
    a = json.loads(run(capsys, "flux", "-n", "5000", "--seed", "9", "--json")[1])
    b = json.loads(run(capsys, "flux", "-n", "5000", "--seed", "9", "--json")[1])
    assert a["numu"] == b["numu"]


def test_flux_plot(capsys, tmp_path):
    path = tmp_path / "flux.png"
    rc, _, _ = run(capsys, "flux", "-n", "5000", "--plot", str(path))
    assert rc == 0 and path.stat().st_size > 10_000


def test_console_script_exit_code():
    proc = subprocess.run([sys.executable, "-m", "mesonportal.cli.main", "flux", "--mode", "x"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
