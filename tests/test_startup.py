"""Fresh-process start-up of ``mesonportal predict`` (issue #10, docs/benchmarks.md): lazy
imports, meson blocks read straight from the cache files, cached quadrature nodes.  Each
speed-up must leave the results bitwise unchanged; the tests compare against the previous
(direct) computations, and the import guard fails if a heavy library enters the start-up path."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

#: Libraries `mesonportal predict` never needs (plots, tables, fits, Dask, event files,
#: flavour physics): importing any of them at start-up is a regression.
HEAVY = ("matplotlib", "scipy", "pandas", "pyarrow", "dask", "distributed", "rich", "iminuit", "pyhepmc",
         "flavio", "numba", "pydantic")


def test_predict_start_up_imports_stay_lean():
    """Reference: the lazy CLI registration (mesonportal.cli.commands.COMMAND_TABLE).  Resolving
    and importing everything the ``predict`` command runs, and loading the shipped MiniBooNE
    configuration, must not import another command's module nor a heavy library (pydantic
    included: the shipped files are pre-validated)."""
    code = (
        "import json, sys, click\n"
        "from mesonportal.cli.main import cli\n"
        "cmd = cli.get_command(click.Context(cli), 'predict')\n"
        "import mesonportal.api, mesonportal.analysis.predict, mesonportal.pipeline\n"
        "import mesonportal.responses.technology, mesonportal.analysis.allocation\n"
        "from mesonportal.experiments import load_experiment\n"
        "load_experiment('miniboone')  # pre-validated: no pydantic\n"
        "print(json.dumps([cmd.name, sorted(sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    name, mods = json.loads(out.stdout.strip().splitlines()[-1])
    assert name == "predict"
    heavy = sorted({m.split(".")[0] for m in mods} & set(HEAVY))
    assert not heavy, f"predict start-up imports {heavy}"
    other = [m for m in mods if m.startswith("mesonportal.cli.") and m.endswith("_cmd") and m != "mesonportal.cli.predict_cmd"]
    assert not other, f"predict start-up imports other commands: {other}"


def test_lazy_command_table_matches_commands():
    """Every lazily registered name resolves to a click command of that name (the table cannot
    drift from the commands' own names), and ``--help`` still lists them all."""
    import click

    from mesonportal.cli.commands import COMMAND_TABLE, COMMANDS
    from mesonportal.cli.main import cli

    ctx = click.Context(cli)
    for name in COMMAND_TABLE:
        cmd = cli.get_command(ctx, name)
        assert isinstance(cmd, click.Command) and cmd.name == name
    assert sorted(c.name for c in COMMANDS) == sorted(COMMAND_TABLE)
    assert cli.list_commands(ctx) == sorted(COMMAND_TABLE)
    assert cli.get_command(ctx, "no-such-command") is None


def test_prepared_cache_key_equals_cache_key():
    """cache_key_prepared (canonical fingerprint computed once) must give the very keys of
    cache_key, or every cached meson block would be simulated again."""
    from mesonportal import cache
    from mesonportal.experiments import load_experiment

    for name, mode in (("miniboone", "nu"), ("miniboone", "dump"), ("lsnd", "beam")):
        exp = load_experiment(name)
        if mode not in exp.modes:
            continue
        fp = cache.source_fingerprint(exp, mode)
        canon = cache.canonical(fp)
        for block in (0, 7, 1_000_000):
            ref = cache.cache_key("mesons-block", source=fp, mode=mode, samples=2500, seed=12345, species=[211],
                                  block=block)
            assert cache.cache_key_prepared("mesons-block", {"source": canon}, mode=mode, samples=2500, seed=12345,
                                            species=[211], block=block) == ref


def _clear_memos():
    from mesonportal.analysis import allocation as al

    al._BLOCK_MEMO.clear()
    al._SPECIES_MEMO.clear()


def test_species_sample_from_block_files_is_bitwise_the_blocks(tmp_path, monkeypatch):
    """Reference: the blocks as np.load reads them, concatenated, weights / number of blocks
    (the previous assembly).  Read back from memory-mapped files, and after a corrupted file
    (recomputed from its own random stream), the columns must be identical."""
    from mesonportal import cache
    from mesonportal.analysis import allocation as al
    from mesonportal.experiments import load_experiment

    monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path))
    exp = load_experiment("miniboone")
    fp = cache.source_fingerprint(exp, "nu")
    n, nb, seed, pdg = 300, 3, 11, 211
    _clear_memos()
    first = al._species_sample(exp, "nu", nb, n, seed, pdg, fp, False)  # simulated and stored
    files = sorted(tmp_path.glob("mesonblock-*.npy"))
    assert len(files) == nb
    blocks = [al.cached_block(exp, "nu", n, seed, pdg, j, fp) for j in range(nb)]
    a = np.concatenate(blocks)
    ref = (a["p4"], a["vertex"], a["pdgid"], a["weight"] / nb, a["parent"])
    _clear_memos()
    again = al._species_sample(exp, "nu", nb, n, seed, pdg, fp, False)  # memory-mapped files
    for x, y, z in zip(first, again, ref):
        assert x.dtype == z.dtype and np.array_equal(x, z) and np.array_equal(y, z)
        assert y.flags.c_contiguous
    # beyond the bound on memory maps held open at once, blocks are mapped again one at a time
    monkeypatch.setattr(al, "_MAX_HELD_MAPS", 1)
    _clear_memos()
    bounded = al._species_sample(exp, "nu", nb, n, seed, pdg, fp, False)
    for y, z in zip(bounded, ref):
        assert np.array_equal(y, z)
    # a truncated block file is recomputed (same stream), not read as garbage
    data = files[1].read_bytes()
    files[1].write_bytes(data[: len(data) // 2])
    _clear_memos()
    repaired = al._species_sample(exp, "nu", nb, n, seed, pdg, fp, False)
    for y, z in zip(repaired, ref):
        assert np.array_equal(y, z)
    assert files[1].stat().st_size == len(data)
    _clear_memos()


@pytest.mark.parametrize("n", [5, 96])
def test_cached_gauss_legendre_is_bitwise_leggauss(tmp_path, monkeypatch, n):
    """Reference: numpy.polynomial.legendre.leggauss (Σ w = 2, exact for degree 2n − 1 —
    checked on x^(2n−2)); the cached nodes are the same bits, and a corrupt entry is rebuilt."""
    from mesonportal.production.three_body import gauss_legendre

    monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path))
    x0, w0 = np.polynomial.legendre.leggauss(n)
    x1, w1 = gauss_legendre(n)  # computed and stored
    path = next(tmp_path.glob(f"tables/gauss-legendre-{n}-*.npy"))
    x2, w2 = gauss_legendre(n)  # from the file
    for x, w in ((x1, w1), (x2, w2)):
        assert np.array_equal(x, x0) and np.array_equal(w, w0)
    assert abs(w2.sum() - 2.0) < 1e-13
    k = 2 * n - 2
    assert abs(np.sum(w2 * x2**k) - 2.0 / (k + 1)) < 1e-12
    path.write_bytes(b"not a numpy file")
    x3, w3 = gauss_legendre(n)
    assert np.array_equal(x3, x0) and np.array_equal(w3, w0)


# ---- pre-validated shipped experiment files (experiments/prevalidated.json) ------------------


def _same(a, b, where="experiment"):
    """Deep identity of two built objects: same types, dataclass fields / attributes, dict keys
    in the same order, arrays with the same dtype, shape and bytes, floats with the same bits."""
    import dataclasses
    import struct

    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), where
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert struct.pack("<d", a) == struct.pack("<d", b), f"{where}: {a!r} != {b!r}"
    elif hasattr(a, "__dict__") and not callable(a):
        _same(vars(a), vars(b), where)
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _full(name):
    import tomllib

    from mesonportal.experiments.config import _shipped_dir, parse_experiment

    return parse_experiment(tomllib.loads((_shipped_dir() / f"{name}.toml").read_text(encoding="utf-8")),
                            f"{name}.toml")


def test_prevalidated_specs_are_the_schemas_own_result():
    """Reference: the pydantic schema (ExperimentSpec.model_validate) of each shipped file's
    current text.  Every stored entry must be that result, for that text's SHA-256, and every
    shipped file that can be pre-validated must have one (else: run
    benchmarks/update_prevalidated_experiments.py)."""
    import hashlib
    import tomllib

    from mesonportal.experiments.config import prevalidated_specs

    SPECS = prevalidated_specs()
    from mesonportal.experiments.config import (_shipped_dir, available_experiments, prevalidated_entry,
                                                spec_needs_schema)
    from mesonportal.experiments.schema import ExperimentSpec

    eligible = []
    for name in available_experiments():
        text = (_shipped_dir() / f"{name}.toml").read_text(encoding="utf-8")
        spec = ExperimentSpec.model_validate(tomllib.loads(text))
        if spec_needs_schema(spec):
            assert name not in SPECS, name
            continue
        eligible.append(name)
        msg = f"{name}.toml changed: run python benchmarks/update_prevalidated_experiments.py"
        assert name in SPECS, msg
        assert SPECS[name]["sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest(), msg
        assert SPECS[name]["spec"] == prevalidated_entry(spec, f"{name}.toml"), msg
    assert sorted(SPECS) == eligible
    assert {"miniboone", "microboone", "sbnd", "icarus", "ccm", "lsnd", "karmen", "jsns2"} <= set(SPECS)


def test_prevalidated_build_is_identical_to_full_validation():
    """Reference: parse_experiment (TOML → pydantic validation → build).  The experiment built
    from the pre-validated spec must be the same object graph, bit for bit, and give the same
    meson-cache fingerprint in every mode."""
    from mesonportal import cache
    from mesonportal.experiments import load_experiment
    from mesonportal.experiments.config import prevalidated_specs

    SPECS = prevalidated_specs()
    from mesonportal.experiments.config import _shipped_dir, prevalidated_spec

    for name in SPECS:
        assert prevalidated_spec(name, (_shipped_dir() / f"{name}.toml").read_text(encoding="utf-8")) is not None
        fast, full = load_experiment(name), _full(name)
        _same(fast, full, name)
        for mode in full.modes:
            assert cache.canonical(cache.source_fingerprint(fast, mode)) == \
                cache.canonical(cache.source_fingerprint(full, mode))


def test_changed_and_user_files_are_validated_in_full(tmp_path, monkeypatch):
    """A shipped file whose text no longer has the stored SHA-256, and any user file (even a
    copy of a shipped one), go through the full pydantic validation: a bad value in a user copy
    is the usual one-line ConfigError naming the key."""
    from mesonportal.exceptions import ConfigError
    from mesonportal.experiments import config, load_experiment

    full = _full("miniboone")
    calls = []
    real = config.parse_experiment
    monkeypatch.setattr(config, "parse_experiment", lambda raw, origin: calls.append(origin) or real(raw, origin))
    load_experiment("miniboone")
    assert calls == []  # pre-validated
    entry = dict(config.prevalidated_specs()["miniboone"], sha256="0" * 64)
    monkeypatch.setitem(config.prevalidated_specs(), "miniboone", entry)
    _same(load_experiment("miniboone"), full)
    assert calls == ["miniboone.toml"]
    text = (config._shipped_dir() / "miniboone.toml").read_text(encoding="utf-8")
    user = tmp_path / "mine.toml"
    user.write_text(text, encoding="utf-8")
    load_experiment(user)
    assert calls[-1] == str(user)
    assert "momentum_mev = 8890" in text
    user.write_text(text.replace("momentum_mev = 8890", "momentum_mev = -1", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="beam.momentum_mev"):
        load_experiment(user)


@pytest.mark.parametrize("name", ["particle", "numpy", "click", "hepunits"])
def test_dist_version_is_importlib_metadata_version(name):
    """Reference: importlib.metadata.version — the key of the cached PDG table
    (pdg-particle-<version>.json) must not change when read from the dist-info directly."""
    from importlib.metadata import version

    from mesonportal.constants import _dist_version

    assert _dist_version(name) == version(name)
