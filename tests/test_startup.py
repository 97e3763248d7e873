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
         "flavio", "numba")


def test_predict_start_up_imports_stay_lean():
    """Reference: the lazy CLI registration (mesonportal.cli.commands.COMMAND_TABLE).  Resolving
    and importing everything the ``predict`` command runs must not import another command's
    module nor a heavy library."""
    code = (
        "import json, sys, click\n"
        "from mesonportal.cli.main import cli\n"
        "cmd = cli.get_command(click.Context(cli), 'predict')\n"
        "import mesonportal.api, mesonportal.analysis.predict, mesonportal.pipeline\n"
        "import mesonportal.responses.technology, mesonportal.analysis.allocation\n"
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
