"""Parameter scans: grid parsing, the mass-point work unit, the resumable Parquet dataset, the
CLI (`scan`, `plot-scan`) and the chunked cache access.

The physics prediction is replaced by the deterministic synthetic ``toy_predictor`` (the scan
machinery must not depend on it); χ² values are checked against an independent evaluation through
``SignalSample.weights(x)`` + ``likelihood.chi2`` (MiniBooNE 2021 release, arXiv:2006.16883).
"""

from __future__ import annotations

import functools
import os
import tracemalloc

import numpy as np
import pyarrow.parquet as pq
import pytest

from mesonportal.analysis import scan_io
from mesonportal.analysis.likelihood import chi2 as lk_chi2
from mesonportal.analysis.scan import (
    COUPLING_AXIS,
    ScanSpec,
    evaluate_mass_point,
    parse_axis,
    run_scan,
    toy_predictor,
)
from mesonportal.cli.main import main
from mesonportal.exceptions import ConfigError, ParameterError, ScanInterrupted
from mesonportal.experiments import load_experiment
from mesonportal.models.registry import load_benchmark, make_model
from mesonportal.production.limits import pion_branching_ratios

SCALAR_FIXED = {"m_zprime": 49.0, "g_mu": 1e-4, "g_e": 0.0, "g_n": 1e-4, "lam": 1e-5, "charge": "up"}


def _spec(n_mass=3, n_c=6, model="scalar", fixed=None, **kw) -> ScanSpec:
    axes = (parse_axis(f"m_x=LOG:1:20:{n_mass}"), parse_axis(f"coupling_product=LOG:1e-10:1e-7:{n_c}"))
    return ScanSpec("miniboone", model, axes, dict(SCALAR_FIXED if fixed is None else fixed), **kw)


# ----------------------------------------------------------------------------- axes / spec
def test_parse_axis_log_lin_list():
    a = parse_axis("m_x=LOG:1:30:20")
    assert a.name == "m_x" and a.scale == "log" and len(a) == 20
    assert a.values[0] == 1.0 and a.values[-1] == pytest.approx(30.0, rel=1e-14)
    assert np.allclose(np.diff(np.log(a.values)), np.log(30) / 19)  # equal log steps
    b = parse_axis("m_zprime=LIN:10:50:5")
    assert b.values == (10.0, 20.0, 30.0, 40.0, 50.0) and b.scale == "lin"
    c = parse_axis("m_x=1,5,17")
    assert c.values == (1.0, 5.0, 17.0) and c.scale == "lin"


@pytest.mark.parametrize("bad", ["m_x", "m_x=LOG:0:10:5", "m_x=LOG:1:10", "m_x=LIN:1:2:0", "m_x=LIN:a:2:3",
                                 "1x=LIN:1:2:3", "m_x=1,1", "m_x=LOG:1:nan:3"])
def test_parse_axis_rejects_bad_input(bad):
    with pytest.raises(ParameterError):
        parse_axis(bad)


def test_spec_validation():
    ax = (parse_axis("m_x=1,2"), parse_axis("coupling_product=1e-9,1e-8"))
    with pytest.raises(ParameterError, match="both a grid axis and fixed"):
        ScanSpec("miniboone", "scalar", ax, {"m_x": 1.0})
    with pytest.raises(ParameterError, match="more than once"):
        ScanSpec("miniboone", "scalar", (ax[0], ax[0]))
    with pytest.raises(ParameterError, match="besides coupling_product"):
        ScanSpec("miniboone", "scalar", (ax[1],))
    with pytest.raises(ParameterError, match="rescale"):
        ScanSpec("miniboone", "scalar", ax, rescale="g_e")
    with pytest.raises(ParameterError, match="unknown model"):
        ScanSpec("miniboone", "vector", ax)
    s = _spec(3, 4)
    assert s.n_points == 12 and [p.index for p in s.mass_points()] == [0, 1, 2]
    assert ScanSpec.from_json(s.to_json()) == s and s.rescale == "lam"


# ----------------------------------------------------------------------------- work unit
def test_mass_point_matches_independent_chi2_and_events():
    """Vectorised χ²/events of a mass point == per-coupling evaluation through
    SignalSample.weights(x) and likelihood.chi2 (tolerance 1e-10 relative: float reassociation)."""
    spec = _spec(2, 5)
    p = spec.mass_points()[1]
    cols = evaluate_mass_point(spec, p, predictor=toy_predictor)
    exp = load_experiment("miniboone")
    model = make_model("scalar", **spec.model_params(p))
    sig = {m: toy_predictor(exp, m, model, seed=spec.seed) for m in ("nu", "nubar", "dump")}
    for k, x in enumerate(spec.coupling_axis.values):
        snu, snb = sig["nu"].enu_qe_counts(x), sig["nubar"].enu_qe_counts(x)
        assert cols["chi2_nu"][k] == pytest.approx(lk_chi2(snu, "nu"), rel=1e-10)
        assert cols["chi2_nubar"][k] == pytest.approx(lk_chi2(snb, "nubar"), rel=1e-10)
        assert cols["chi2_combined"][k] == pytest.approx(lk_chi2(np.concatenate([snu, snb]), "combined"), rel=1e-10)
        assert cols["events_nu"][k] == pytest.approx(sig["nu"].totals(x)["events_200_1250"], rel=1e-12)
        assert cols["events_dump"][k] == pytest.approx(sig["dump"].totals(x)["events_total"], rel=1e-12)
        assert cols["events_dump_mc_error"][k] == pytest.approx(sig["dump"].totals(x)["mc_stat_error"], rel=1e-12)
        w = sig["nubar"].weights(x) * sig["nubar"].pot
        win = (sig["nubar"].columns["e_qe"] >= 200.0) & (sig["nubar"].columns["e_qe"] < 1250.0)
        assert cols["events_nubar_mc_error"][k] == pytest.approx(np.sqrt(np.sum(w[win] ** 2)), rel=1e-10)
    assert list(cols["point_id"]) == [5, 6, 7, 8, 9] and set(cols["mass_point_id"]) == {1}
    # background-only χ² of the 2021 release (docs/likelihood.md: 24.11, 14.95, 44.31)
    assert cols["chi2_background_nu"][0] == pytest.approx(24.11, abs=0.01)
    assert cols["chi2_background_combined"][0] == pytest.approx(44.31, abs=0.01)
    assert np.all(np.isfinite(cols["chi2_combined"]))


def test_mass_point_weight_fn_path_idm():
    """idm: coupling changes go through weight_fn (non-quadratic), checked per coupling."""
    info = load_benchmark("idm-double").params()
    fixed = {k: v for k, v in info.items() if k != "m_chi"}
    spec = ScanSpec("miniboone", "idm", (parse_axis("m_chi=6,8"), parse_axis("coupling_product=LOG:1e-9:1e-6:4")), fixed)
    cols = evaluate_mass_point(spec, spec.mass_points()[0], predictor=toy_predictor)
    model = make_model("idm", **spec.model_params(spec.mass_points()[0]))
    nu = toy_predictor(load_experiment("miniboone"), "nu", model, seed=spec.seed)
    assert nu.weight_fn is not None
    for k, x in enumerate(spec.coupling_axis.values):
        assert cols["chi2_nu"][k] == pytest.approx(lk_chi2(nu.enu_qe_counts(x), "nu"), rel=1e-10)
        t = nu.totals(x)
        assert cols["events_nu"][k] == pytest.approx(t["events_200_1250"], rel=1e-10)
        w = nu.weights(x) * nu.pot
        win = (nu.columns["e_qe"] >= 200.0) & (nu.columns["e_qe"] < 1250.0)
        assert cols["events_nu_mc_error"][k] == pytest.approx(np.sqrt(np.sum(w[win] ** 2)), rel=1e-10)
    # rescaled g'2 reproduces the product: eps1 eps2 g'^2 / (4 pi) = x
    x = np.asarray(spec.coupling_axis.values)
    assert np.allclose(fixed["eps1"] * fixed["eps2"] * cols["rescaled_value"] ** 2 / (4 * np.pi), x, rtol=1e-12)
    assert cols["rescaled_coupling"][0] == "g'"


def test_weight_fn_affine_in_x2_fast_path_and_general_path_agree():
    """A weight_fn of the form A + B (x/x_ref)² (scalar: Primakoff ∝ x², decays fixed, as
    predict_signal) takes the histogram-once fast path; it must equal per-coupling evaluation via
    SignalSample.weights(x) (rel. 1e-10), and an idm-like weight_fn must not take it."""
    import dataclasses

    from mesonportal.analysis.scan import _quadratic_split, evaluate_couplings

    exp = load_experiment("miniboone")
    model = make_model("scalar", m_x=3.0, **SCALAR_FIXED)
    sig = {m: toy_predictor(exp, m, model, samples=3000) for m in ("nu", "nubar", "dump")}
    for m, s in sig.items():
        w, xr = s.columns["weight"].copy(), s.coupling_product_ref
        prim = np.arange(len(w)) % 3 != 0  # one third "decays" that do not scale

        def fn(x, w=w, prim=prim, xr=xr):
            return np.where(prim, w * (x / xr) ** 2, w)

        sig[m] = dataclasses.replace(s, weight_fn=fn)
    assert _quadratic_split(sig["nu"]) is not None
    xs = np.geomspace(1e-10, 1e-7, 7)
    cols = evaluate_couplings(sig, xs)
    for k, x in enumerate(xs):
        snu, snb = sig["nu"].enu_qe_counts(x), sig["nubar"].enu_qe_counts(x)
        assert cols["chi2_combined"][k] == pytest.approx(lk_chi2(np.concatenate([snu, snb]), "combined"), rel=1e-10)
        assert cols["events_nu"][k] == pytest.approx(sig["nu"].totals(x)["events_200_1250"], rel=1e-10)
        assert cols["events_dump_mc_error"][k] == pytest.approx(sig["dump"].totals(x)["mc_stat_error"], rel=1e-10)
        w = sig["nu"].weights(x) * sig["nu"].pot
        win = (sig["nu"].columns["e_qe"] >= 200.0) & (sig["nu"].columns["e_qe"] < 1250.0)
        assert cols["events_nu_mc_error"][k] == pytest.approx(np.sqrt(np.sum(w[win] ** 2)), rel=1e-10)
    idm = make_model("idm", **load_benchmark("idm-double").params())
    assert _quadratic_split(toy_predictor(exp, "nu", idm)) is None


@pytest.mark.parametrize("rescale", ["g_n", "lam", "g_n_lam"])
def test_pienu_flag_matches_rebuilt_model(rescale):
    """PIENU flag/ratios of a scan == pion_branching_ratios of the model rebuilt at each coupling
    with the documented convention (g_mu fixed; rel. tol. 1e-9), and the rebuilt model has the
    scanned product.  Reference: limits.pion_branching_ratios (PIENU proxy)."""
    fixed = dict(SCALAR_FIXED)
    spec = ScanSpec("miniboone", "scalar", (parse_axis("m_x=5"), parse_axis("coupling_product=LOG:1e-14:1e-10:5")),
                    fixed, rescale=rescale)
    cols = evaluate_mass_point(spec, spec.mass_points()[0], predictor=toy_predictor)
    for k, x in enumerate(spec.coupling_axis.values):
        p = {**fixed, "m_x": 5.0}
        if rescale == "g_n":
            p["g_n"] = x / (fixed["g_mu"] * fixed["lam"])
        elif rescale == "g_n_lam":  # g_n, lam × sqrt(x / x_ref), g_mu fixed
            f = np.sqrt(x / (fixed["g_mu"] * fixed["g_n"] * fixed["lam"]))
            p["g_n"], p["lam"] = fixed["g_n"] * f, fixed["lam"] * f
            assert p["g_mu"] * p["g_n"] * p["lam"] == pytest.approx(x, rel=1e-12)
        else:
            p["lam"] = x / (fixed["g_mu"] * fixed["g_n"])
        assert cols["rescaled_value"][k] == pytest.approx(p["lam" if rescale == "g_n_lam" else rescale], rel=1e-12)
        ref = pion_branching_ratios(make_model("scalar", **p))
        assert cols["R_mu"][k] == pytest.approx(ref["R_mu"], rel=1e-9)
        assert bool(cols["pienu_allowed"][k]) == ref["allowed"]
    assert len(set(cols["pienu_allowed"])) == 1
    # a g_mu above the PIENU proxy bound (BR/g² = 1.5e-2 at 5 MeV, physics.md table: g_mu = 0.1
    # gives R_mu ≈ 1.5e-4 > 8.6e-6) is flagged at every coupling
    spec2 = ScanSpec("miniboone", "scalar", spec.axes, {**fixed, "g_mu": 0.1}, rescale=rescale)
    cols2 = evaluate_mass_point(spec2, spec2.mass_points()[0], predictor=toy_predictor)
    assert not np.any(cols2["pienu_allowed"]) and cols["pienu_allowed"][0]
    assert cols2["R_mu"][0] == pytest.approx(1.5e-2 * 0.1**2, rel=0.05)


# ----------------------------------------------------------------------------- dataset / resume
def test_output_exists_overwrite_and_resume_mismatch(tmp_path):
    out = tmp_path / "s.parquet"
    spec = _spec(2, 3)
    run_scan(spec, out, predictor=toy_predictor)
    with pytest.raises(ConfigError, match="already exists"):
        run_scan(spec, out, predictor=toy_predictor)
    with pytest.raises(ConfigError, match="different 'seed'"):
        run_scan(_spec(2, 3, seed=1), out, predictor=toy_predictor, resume=True)
    s = run_scan(_spec(2, 3, seed=1), out, predictor=toy_predictor, overwrite=True)
    assert s.computed_mass_points == 2 and scan_io.read_scan(out).column("seed").to_pylist() == [1] * 6
    other = tmp_path / "notascan"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(ConfigError, match="refuses"):
        run_scan(spec, other, predictor=toy_predictor, overwrite=True)
    assert (other / "keep.txt").exists()


def test_serial_interrupt_and_resume_recomputes_nothing(tmp_path):
    out = tmp_path / "s.parquet"
    spec = _spec(5, 4)
    calls = []

    def stop_after_two(done, total):
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(ScanInterrupted, match="8 of 20 points saved"):
        run_scan(spec, out, predictor=toy_predictor, on_point=stop_after_two)
    parts = {f.name: f.stat() for f in out.iterdir() if f.name.startswith("part-")}
    assert len(parts) == 2 and not [f for f in out.iterdir() if f.name.startswith(".tmp")]
    s = run_scan(spec, out, predictor=toy_predictor, resume=True)
    assert (s.computed_mass_points, s.skipped_mass_points) == (3, 2)
    for name, st in parts.items():  # finished parts untouched
        st2 = (out / name).stat()
        assert (st2.st_mtime_ns, st2.st_ino) == (st.st_mtime_ns, st.st_ino)
    t = scan_io.read_scan(out)
    assert t.column("point_id").to_pylist() == list(range(20))
    ref = tmp_path / "ref.parquet"
    run_scan(spec, ref, predictor=toy_predictor)
    assert t.equals(scan_io.read_scan(ref))  # bitwise identical to an uninterrupted run


def test_read_scan_dedupes_and_corrupt_part_is_recomputed(tmp_path):
    out = tmp_path / "s.parquet"
    spec = _spec(3, 2)
    run_scan(spec, out, predictor=toy_predictor)
    # a duplicate of part 1 under another name (e.g. a retry writing elsewhere)
    (out / "part-000099.parquet").write_bytes((out / "part-000001.parquet").read_bytes())
    with pytest.warns(scan_io.IncompleteScanWarning, match="part-000099.parquet mass point 99 is outside"):
        t = scan_io.read_scan(out)
    assert t.num_rows == 6 and len(set(t.column("point_id").to_pylist())) == 6
    # pyarrow reads the directory as a dataset (metadata / hidden files ignored)
    assert pq.read_table(out).num_rows == 8
    (out / "part-000099.parquet").unlink()
    (out / "part-000002.parquet").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="part-000002.parquet: unreadable"):
        s = run_scan(spec, out, predictor=toy_predictor, resume=True)
    assert s.computed_mass_points == 1 and scan_io.read_scan(out).num_rows == 6


# ----------------------------------------------------------------------------- CLI
def test_cli_scan_resume_and_plot(tmp_path, capsys):
    out = tmp_path / "cli.parquet"
    args = ["scan", "--model", "scalar", "--grid", "m_x=LOG:1:30:4", "--grid", "coupling_product=LOG:1e-10:1e-7:6",
            "--out", str(out), "--predictor", "toy", "--no-progress", "--json"]
    assert main(args) == 0
    import json

    res = json.loads(capsys.readouterr().out)
    assert res["rows"] == 24 and res["computed_mass_points"] == 4
    assert scan_io.read_metadata(out)["spec"]["fixed"]["m_zprime"] == 49.0  # from the 'scalar' benchmark
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped_mass_points"] == 4
    png = tmp_path / "map.png"
    assert main(["plot-scan", str(out), "--out", str(png), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert png.stat().st_size > 10_000
    assert info["best_fit"]["chi2_combined"] == pytest.approx(res["best_fit"]["chi2_combined"])
    assert main(["plot-scan", str(out), "--chi2", "nu", "--out", str(tmp_path / "m.pdf")]) == 0
    assert (tmp_path / "m.pdf").read_bytes()[:4] == b"%PDF"


@pytest.mark.parametrize("extra", [["--grid", "m_x=LOG:0:1:3"], ["--grid", "m_x=1,2", "--fixed", "m_x=3"],
                                   ["--grid", "m_x=1,2", "--fixed", "bogus=1"]])
def test_cli_bad_input_exit_2(tmp_path, capsys, extra):
    rc = main(["scan", "--model", "scalar", "--grid", "coupling_product=1e-9,1e-8", *extra,
               "--out", str(tmp_path / "x.parquet"), "--predictor", "toy", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("mesonportal: error:") and err.count("\n") == 1


def test_delta_chi2_map_profiles_and_contours(tmp_path):
    from mesonportal.analysis.scan_plots import delta_chi2_map

    out = tmp_path / "s.parquet"
    fixed = {k: v for k, v in SCALAR_FIXED.items() if k != "m_zprime"}
    spec = ScanSpec("miniboone", "scalar", (parse_axis("m_x=LOG:1:20:3"), parse_axis("m_zprime=30,49"),
                                            parse_axis("coupling_product=LOG:1e-10:1e-7:7")), fixed)
    run_scan(spec, out, predictor=toy_predictor)
    with pytest.raises(ParameterError, match="--x"):
        delta_chi2_map(out)
    m = delta_chi2_map(out, x_axis="m_x")
    cols = scan_io.scan_columns(out)
    assert m["chi2"].shape == (7, 3)
    assert np.nanmin(m["delta_chi2"]) == 0.0
    assert m["best_fit"]["chi2_combined"] == pytest.approx(cols["chi2_combined"].min(), rel=0)
    sel = (cols["m_x"] == 1.0) & (cols[COUPLING_AXIS] == m["y"][3])  # profiled over m_zprime
    assert m["chi2"][3, 0] == cols["chi2_combined"][sel].min()


# ----------------------------------------------------------------------------- cache streaming
def _fake_sample(n, seed=0):
    from mesonportal.sample import ParticleSample

    r = np.random.default_rng(seed)
    return ParticleSample(r.normal(size=(n, 4)), r.normal(size=(n, 3)), r.integers(-400, 400, n), r.random(n),
                          r.integers(0, 9, n))


def test_chunked_cache_roundtrip_and_bounded_memory(tmp_path):
    from mesonportal.cache import iter_sample_chunks, load_sample, sample_length, save_sample_chunks
    from mesonportal.sample import ParticleSample

    path = tmp_path / "big.npz"
    chunks = [_fake_sample(50_000, s) for s in range(8)]  # 400k particles, 32 MB of columns
    assert save_sample_chunks(path, iter(chunks), {"k": 1}) == 400_000
    full = ParticleSample.concatenate(chunks)
    loaded = load_sample(path)
    for c in ("p4", "vertex", "pdgid", "weight", "parent"):
        assert np.array_equal(getattr(loaded, c), getattr(full, c))
    del loaded, chunks
    assert sample_length(path) == 400_000
    tracemalloc.start()
    tot, n = 0.0, 0
    for ch in iter_sample_chunks(path, 20_000):
        tot += ch.weight.sum()
        n += len(ch)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == 400_000 and tot == pytest.approx(full.weight.sum(), rel=1e-12)
    assert peak < 6e6, peak  # ≈ 20k × 80 B × (chunk + copies) ≪ 32 MB of the whole sample
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]


def test_mesons_cache_path_matches_cached_mesons(tmp_path, monkeypatch):
    import mesonportal.sources.transport as transport
    from mesonportal.cache import cached_mesons, iter_sample_chunks, mesons_cache_path

    monkeypatch.setattr(transport, "simulate_mesons", lambda exp, mode, n, rng, species=None, progress=False:
                        _fake_sample(n, 3))
    exp = load_experiment("miniboone")
    s = cached_mesons(exp, "nu", 1234, 7, directory=tmp_path)
    p = mesons_cache_path(exp, "nu", 1234, 7, directory=tmp_path)
    assert p.is_file()
    got = np.concatenate([c.weight for c in iter_sample_chunks(p, 500)])
    assert np.array_equal(got, s.weight)


def test_run_scan_rejects_bad_workers(tmp_path):
    with pytest.raises(ParameterError):
        run_scan(_spec(1, 1), tmp_path / "x", workers=0, predictor=functools.partial(toy_predictor))


def test_real_predict_signal_mass_point(tmp_path, monkeypatch):
    """Integration with the real predict_signal (small sample, private cache): the scan's
    reweighted χ² and events equal those of SignalSample.weights(x) per coupling (rel. 1e-9)."""
    import warnings

    from mesonportal.analysis import predict

    monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path / "cache"))
    spec = ScanSpec("miniboone", "scalar", (parse_axis("m_x=5"), parse_axis("coupling_product=LOG:1e-11:1e-8:4")),
                    SCALAR_FIXED, samples=20_000, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cols = evaluate_mass_point(spec, spec.mass_points()[0])
        model = make_model("scalar", m_x=5.0, **SCALAR_FIXED)
        nu = predict.predict_signal("miniboone", "nu", model, samples=20_000, seed=7)
        nb = predict.predict_signal("miniboone", "nubar", model, samples=20_000, seed=7)
    assert nu.totals()["events_total"] > 0
    for k, x in enumerate(spec.coupling_axis.values):
        s = np.concatenate([nu.enu_qe_counts(x), nb.enu_qe_counts(x)])
        assert cols["chi2_combined"][k] == pytest.approx(lk_chi2(s, "combined"), rel=1e-9)
        assert cols["events_nu"][k] == pytest.approx(nu.totals(x)["events_200_1250"], rel=1e-9)


def test_auto_workers_default():
    # Serial by default on small machines (measured: a 2-worker LocalCluster spends 3.5x the CPU
    # of a serial scan on 2 cores, docs/scans.md); Dask only from AUTO_DASK_MIN_CORES cores.
    from mesonportal.cli.scan_cmd import AUTO_DASK_MIN_CORES, AUTO_DASK_MIN_MASS_POINTS, auto_workers

    assert auto_workers(100, None, cores=2) == 1
    assert auto_workers(100, None, cores=AUTO_DASK_MIN_CORES - 1) == 1
    assert auto_workers(AUTO_DASK_MIN_MASS_POINTS - 1, None, cores=64) == 1
    assert auto_workers(100, "tcp://127.0.0.1:8786", cores=64) == 1
    assert auto_workers(100, None, cores=64) == 16 and auto_workers(10, None, cores=64) == 10
