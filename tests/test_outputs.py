"""Outputs are never stale or lost (issue #17, deliverables 2 and 6): ``reproduce`` deletes the
outputs of its previous run (and nothing else), ``fit --json`` is printed even if the plots
cannot be written, and ``mesonportal cache info|clear`` report and delete only cache entries.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mesonportal import cache
from mesonportal.cli.main import main
from mesonportal.cli.reproduce_cmd import MANIFEST, reproduce

SAMPLES = 20_000  # small: these tests check files, not physics


def test_reproduce_removes_only_its_previous_outputs(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "my_notes.md").write_text("mine")
    reproduce(out, ("scalar", "pseudoscalar"), samples=SAMPLES, plots=False, lens=False)  # lens: test_compare.py
    first = json.loads((out / MANIFEST).read_text())["files"]
    assert set(first) == {"scalar/fit.json", "pseudoscalar/fit.json", "report.md", "summary.json", "stopped_pion.json"}
    reproduce(out, ("scalar",), samples=SAMPLES, plots=False, lens=False)
    assert not (out / "pseudoscalar").exists()  # not described by the new report: gone
    assert (out / "scalar" / "fit.json").is_file() and (out / "my_notes.md").read_text() == "mine"
    summary = json.loads((out / "summary.json").read_text())
    assert [r["benchmark"] for r in summary["fits"]] == ["scalar"]
    assert "pseudoscalar" not in (out / "report.md").read_text()


def test_reproduce_manifest_never_deletes_outside_out(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (out / MANIFEST).write_text(json.dumps({"files": ["../victim.txt", "/etc/hostname"]}))
    from mesonportal.cli.reproduce_cmd import clean_previous_outputs

    assert clean_previous_outputs(out) == []
    assert victim.read_text() == "keep"


def test_fit_json_printed_when_plots_fail(tmp_path, capsys, monkeypatch):
    from mesonportal.analysis import fit_plots

    def broken(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fit_plots, "plot_fit", broken)
    rc = main(["fit", "--benchmark", "scalar", "--samples", str(SAMPLES), "--json", "--plot", str(tmp_path / "p")])
    out, err = capsys.readouterr()
    assert rc == 2
    res = json.loads(out)  # the complete result is on stdout
    assert res["best_fit"]["coupling_product"] > 0
    assert res["best_fit"]["ndof_background"] == res["best_fit"]["ndof"] + 1 == 38
    assert err.strip().splitlines() == [
        f"mesonportal: error: --plot {str(tmp_path / 'p')!r}: cannot write the plots (No space left on device); "
        "the fit result above is complete"]


def test_cache_info_and_clear_touch_only_cache_entries(tmp_path, capsys):
    d = tmp_path / "cache"
    (d / "tables").mkdir(parents=True)
    (d / "mesons-miniboone-nu-0123456789abcdef01234567.npz").write_bytes(b"x" * 1000)
    (d / "mesons-miniboone-dump-0123456789abcdef01234568.npz").write_bytes(b"x" * 500)
    (d / "tables" / "three-body-abc.npz").write_bytes(b"x" * 10)
    (d / "leftover.tmp").write_bytes(b"x" * 3)
    (d / "README.txt").write_text("not a cache entry")
    info = cache.cache_info(d)
    assert info["total_files"] == 4 and info["total_bytes"] == 1513
    assert info["mesons_by_experiment_mode"] == {"miniboone-nu": {"files": 1, "bytes": 1000},
                                                 "miniboone-dump": {"files": 1, "bytes": 500}}
    assert cache.clear_cache(d, kinds=("tables",), dry_run=True)["removed_files"] == 1
    assert (d / "tables" / "three-body-abc.npz").exists()
    old = d / "mesons-miniboone-dump-0123456789abcdef01234568.npz"
    t = old.stat().st_mtime - 10 * 86400
    os.utime(old, (t, t))
    assert cache.clear_cache(d, older_than_days=5)["removed_files"] == 1 and not old.exists()
    env = os.environ.get("MESONPORTAL_CACHE_DIR")
    os.environ["MESONPORTAL_CACHE_DIR"] = str(d)
    try:
        assert main(["cache", "clear", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["removed_files"] == 3
        assert main(["cache", "info"]) == 0
        assert "total: 0 files" in capsys.readouterr().out
    finally:
        os.environ["MESONPORTAL_CACHE_DIR"] = env
    assert sorted(p.name for p in d.rglob("*")) == ["README.txt", "tables"]


def test_cache_info_does_not_create_directory(tmp_path):
    d = tmp_path / "nope"
    assert cache.cache_info(d)["exists"] is False and not d.exists()
    assert cache.clear_cache(d)["removed_files"] == 0 and not d.exists()


def test_format_p_never_rounds_to_one():
    from mesonportal.analysis.report import format_p

    assert format_p(0.9971) == "0.997" and format_p(0.99999) == "> 0.999"
    assert format_p(0.5) == "0.5" and format_p(1.2e-5) == "1.2e-05" and format_p(float("nan")) == "–"
    assert np.isclose(float(format_p(0.962)), 0.962)


@pytest.mark.parametrize("argv", [["cache", "info", "--json"], ["cache", "clear", "--dry-run", "--json"]])
def test_cache_commands_json_keys(argv, capsys):
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    keys = {"directory", "exists", "enabled", "total_files", "total_bytes", "kinds"} if argv[1] == "info" else \
        {"directory", "removed_files", "removed_bytes", "dry_run"}
    assert keys <= set(res)
    assert Path(res["directory"]) == Path(os.environ["MESONPORTAL_CACHE_DIR"])


def test_flux_plot_without_official_has_no_ratio_panel(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mesonportal.analysis.flux import official_flux, plot_flux

    made = []
    real = plt.subplots

    def spy(*a, **k):
        fig, axes = real(*a, **k)
        made.append(fig)
        return fig, axes

    plt.subplots = spy
    try:
        off = official_flux()
        plot_flux(off, None, tmp_path / "dump.png")
        plot_flux(off, off, tmp_path / "nu.png")
    finally:
        plt.subplots = real
    assert [len(f.axes) for f in made] == [1, 2]
    assert (tmp_path / "dump.png").stat().st_size > 10_000


def test_terminal_tables_fit_80_columns(tmp_path, capsys, monkeypatch):
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", "80")
    assert main(["fit", "--benchmark", "scalar", "--samples", str(SAMPLES)]) == 0
    fit_out = capsys.readouterr().out
    assert main(["reproduce", "--benchmarks", "scalar,pseudoscalar", "--samples", str(SAMPLES), "--no-plots",
                 "--out", str(tmp_path / "r")]) == 0
    rep_out = capsys.readouterr().out
    for text in (fit_out, rep_out):
        assert max(cell_len(line) for line in text.splitlines()) <= 80, text
    assert "44.3/38" in fit_out and "pseudoscalar" in rep_out and "…" not in rep_out + fit_out


def test_reproduce_in_two_processes_gives_identical_outputs(tmp_path):
    """``workers=2`` (long-lived-X and iDM benchmarks side by side, the second group in a spawned
    worker process) writes exactly the numbers of the serial job: same seeds, same samples — the
    fits, the lens rows and systematic variations, byte for byte (issue #10: determinism)."""
    kw = dict(samples=4_000, plots=False, stopped=False, constraints=(), other_experiments=())
    names = ("scalar", "idm-double")
    reproduce(tmp_path / "serial", names, workers=1, **kw)
    reproduce(tmp_path / "parallel", names, workers=2, **kw)
    for rel in ("scalar/fit.json", "idm-double/fit.json", "compare/lens.json", "compare/idm-double/systematics.json"):
        assert (tmp_path / "serial" / rel).read_bytes() == (tmp_path / "parallel" / rel).read_bytes(), rel
    fits = [json.loads((tmp_path / d / "summary.json").read_text())["fits"] for d in ("serial", "parallel")]
    for a, b in zip(*fits):
        a.pop("seconds", None)
        b.pop("seconds", None)
        assert a == b
    assert sorted(json.loads((tmp_path / "serial" / MANIFEST).read_text())["files"]) == \
        sorted(json.loads((tmp_path / "parallel" / MANIFEST).read_text())["files"])
