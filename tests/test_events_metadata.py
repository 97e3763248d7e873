"""Every field of the ``predict --events`` Parquet metadata (issue #17, 7d), written through the
CLI: the exact key set (a new field must be added here with its check) and each value against an
independent source — the experiment file's exposure (arXiv:2006.16883: 18.75e20 POT in ν mode,
1.86e20 in dump mode, arXiv:1807.06137), the command line (seed, samples, criterion), the model
registry and the package version."""

from __future__ import annotations

import warnings

import pytest

from mesonportal import __version__
from mesonportal.analysis.events_io import read_events
from mesonportal.cli.main import main
from mesonportal.models.registry import load_benchmark

KEYS = {"experiment", "mode", "pot", "model", "coupling_product_ref", "coupling_units", "seed", "samples",
        "criterion", "version", "weight_units", "has_weight_fn"}


@pytest.mark.parametrize("bench,mode,pot,units_has", [
    ("scalar", "nu", 18.75e20, "MeV"),
    ("idm-double", "dump", 1.86e20, ""),
])
def test_every_events_metadata_field(tmp_path, capsys, bench, mode, pot, units_has):
    path = tmp_path / "ev.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["predict", "--benchmark", bench, "--mode", mode, "--samples", "5000", "--seed", "77",
                   "--criterion", "angle", "--events", str(path), "--json"])
    assert rc == 0
    capsys.readouterr()
    cols, meta = read_events(path)
    assert set(meta) == KEYS
    model = load_benchmark(bench)
    assert meta["experiment"] == "miniboone" and meta["mode"] == mode
    assert meta["pot"] == pytest.approx(pot, rel=1e-12)
    assert meta["model"]["model"] == model.name and meta["model"]["params"] == model.params()
    cp = model.coupling_product
    assert meta["coupling_product_ref"] == pytest.approx(cp() if callable(cp) else cp, rel=1e-12)
    assert units_has in meta["coupling_units"]
    assert (meta["seed"], meta["samples"], meta["criterion"]) == (77, 5000, "angle")
    assert meta["version"] == __version__
    assert meta["weight_units"].startswith("events / POT at coupling_product_ref")
    # both families reweight per event (scalar: decays in the detector do not scale with x²; idm:
    # lifetimes), so the file must say that weight_fn has to be rebuilt
    assert meta["has_weight_fn"] is True
    assert len(cols["weight"]) > 0 and set(cols) >= {"weight", "e_qe", "e_vis", "cos_theta"}
