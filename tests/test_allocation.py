"""Importance allocation of meson samples (mesonportal.analysis.allocation) and the MC error
estimator it relies on.

References: the variance of a stratified estimator Σ_h (1/n_h) Σ_i Y_hi is Σ_h V_h / n_h and
the cost-optimal (Neyman) allocation is n_h ∝ sqrt(V_h / c_h) (Cochran, Sampling Techniques,
3rd ed., §5.5) — analytic; the toy ensembles below have known variances.  Tolerances are stated
per test (statistical ones at ≈ 3σ of the ensemble's own spread)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from mesonportal.analysis import allocation as al
from mesonportal.analysis.predict import _ALLOCATIONS, predict_signal, resolve_allocation
from mesonportal.analysis.prediction import SignalSample
from mesonportal.api import _experiment
from mesonportal.exceptions import ParameterError
from mesonportal.models.registry import load_benchmark

N = 40_000


@pytest.fixture(autouse=True, scope="module")
def _cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path_factory.mktemp("mesons")))
    yield
    mp.undo()


# ---------------------------------------------------------------------------- estimator (toy)

def _toy_replicas(rng, reps: int, n_mesons: int):
    """Replicas of a forced-emission-like sample: every meson gives 1 + Poisson(2) rows whose
    weights share the meson's factor (positively correlated rows), E_QE uniform."""
    out = []
    for _ in range(reps):
        k = 1 + rng.poisson(2.0, n_mesons)
        mi = np.repeat(np.arange(n_mesons), k)
        a = rng.exponential(1.0, n_mesons)
        w = a[mi] * rng.uniform(0.5, 1.5, mi.size) * 1e-22
        eqe = rng.uniform(100.0, 1500.0, mi.size)
        out.append((w, mi, eqe))
    return out


def _pull(reps, clustered: bool, strata: bool = True) -> float:
    est, err = [], []
    for w, mi, eqe in reps:
        cols = {"e_vis": eqe, "cos_theta": np.zeros_like(w), "e_qe": eqe, "weight": w,
                "parent_pdg": np.full(len(w), 211, np.int64)}
        info = {}
        if clustered:
            cols["meson_index"] = mi
            if strata:
                info["primaries_per_species"] = {211: int(mi.max()) + 1}
        t = SignalSample("miniboone", "nu", 1e20, {}, 1.0, "", cols, info=info).totals()
        est.append(t["events_200_1250"])
        err.append(t["mc_stat_error_200_1250"])
    return float(np.std(est, ddof=1) / np.mean(err))


def test_clustered_error_matches_ensemble_spread():
    # 400 replicas: the pull width (spread / mean quoted error) of the meson-clustered error
    # is 1 within 0.1 (3σ of the sample standard deviation of 400 estimates is ≈ 0.11); the
    # per-row error (no meson_index) underestimates it: per-meson rows are correlated, the
    # analytic pull is sqrt(E[(Σ_rows w)²] / E[Σ_rows w²]) ≈ 1.6 for this toy
    # (stratified estimator with the primaries per species); without the strata sizes the
    # plain Σ_i s_i² also counts the squared mean per primary and overestimates the error
    # (every toy meson contributes, like forced emission into a wide acceptance)
    reps = _toy_replicas(np.random.default_rng(7), 400, 400)
    assert _pull(reps, clustered=True) == pytest.approx(1.0, abs=0.1)
    assert _pull(reps, clustered=True, strata=False) < 0.85
    assert _pull(reps, clustered=False) > 1.3


# ---------------------------------------------------------------------------- allocation algebra

def test_neyman_shares_minimise_variance():
    # V = (9, 1, 0.25), equal costs: optimal shares ∝ (3, 1, 0.5); the variance Σ V/n at fixed
    # total is lower than for the even split and for perturbed allocations (analytic)
    var = {1: 9.0, 2: 1.0, 3: 0.25}
    sh = al.neyman_shares(var, {1: 1.0, 2: 1.0, 3: 1.0})
    tot = sum(sh.values())
    n = {s: 900 * v / tot for s, v in sh.items()}
    assert n[1] == pytest.approx(600.0) and n[2] == pytest.approx(200.0) and n[3] == pytest.approx(100.0)

    def v(alloc):
        return sum(var[s] / alloc[s] for s in var)

    assert v(n) < v({1: 300.0, 2: 300.0, 3: 300.0})
    for eps in (0.05, -0.05):  # moving samples between strata at fixed total increases the variance
        assert v(n) < v({1: n[1] + 900 * eps, 2: n[2] - 900 * eps, 3: n[3]})
        assert v(n) < v({1: n[1], 2: n[2] + 90 * eps, 3: n[3] - 90 * eps})
    # exact: Lagrange condition n_h² c_h / V_h = const at the optimum
    ratios = [n[s] ** 2 / var[s] for s in var]
    assert np.allclose(ratios, ratios[0], rtol=1e-12)
    # costs: n ∝ sqrt(V/c)
    sh_c = al.neyman_shares(var, {1: 4.0, 2: 1.0, 3: 1.0})
    assert sh_c[1] / sh_c[2] == pytest.approx(1.5, rel=1e-12)


def test_floor_and_blocks():
    # floor: a species whose optimal share is tiny keeps FLOOR_FRACTION of an even share, the
    # others shrink so that the total stays at `samples` (to block rounding)
    p = al.shares_to_primaries({1: 1.0, 2: 1e-9}, (1, 2, 3), 100_000, 1000, {1: 5000.0, 2: 5000.0})
    assert p == (95_000, 5000, 0)
    assert all(x % 1000 == 0 for x in p)


def test_stratified_toy_unbiased_and_efficient():
    # two strata with known means/variances, 2000 replicas: both allocations are unbiased
    # (mean within 4σ of the truth) and the Neyman one has the smaller spread, matching Σ V_h/n_h
    # within 10 % (sample-sd precision of 2000 replicas ≈ 1.6 %)
    rng = np.random.default_rng(3)
    mu = {1: 1.0, 2: 0.05}
    sd = {1: 3.0, 2: 0.3}
    truth = sum(mu.values())

    def draw(n1, n2, reps):
        e = []
        for n, s in ((n1, 1), (n2, 2)):
            y = rng.gamma((mu[s] / sd[s]) ** 2, sd[s] ** 2 / mu[s], (reps, n))
            e.append(y.mean(axis=1))
        return e[0] + e[1]

    sh = al.neyman_shares({1: sd[1] ** 2, 2: sd[2] ** 2}, {1: 1.0, 2: 1.0})
    n1 = int(round(1000 * sh[1] / (sh[1] + sh[2])))
    ney, even = draw(n1, 1000 - n1, 2000), draw(500, 500, 2000)
    for est, (a, b) in ((ney, (n1, 1000 - n1)), (even, (500, 500))):
        exp_sd = math.sqrt(sd[1] ** 2 / a + sd[2] ** 2 / b)
        assert abs(est.mean() - truth) < 4 * exp_sd / math.sqrt(len(est))
        assert est.std(ddof=1) == pytest.approx(exp_sd, rel=0.1)
    assert ney.std() < 0.8 * even.std()


# ---------------------------------------------------------------------------- bad input

def test_bad_allocation_specs():
    model = load_benchmark("scalar")
    sp = (211, -211, 321, -321)
    with pytest.raises(ParameterError, match="allocation"):
        al.parse_fractions("pi+=0.5,foo=0.5", sp)
    with pytest.raises(ParameterError, match="allocation"):
        al.parse_fractions("pi+=-1", sp)
    with pytest.raises(ParameterError, match="allocation"):
        al.parse_fractions("pi0=1", sp)
    # zero samples for contributing species: an error naming them, never a silent bias
    with pytest.raises(ParameterError, match="allocation.*K\\+"):
        al.fixed_allocation(model, sp, N, "pi+=0.8,pi-=0.2")
    with pytest.raises(ParameterError, match="allocation"):
        predict_signal("miniboone", "nu", model, samples=N, allocation="smart")


def test_too_few_samples_warn():
    with pytest.warns(UserWarning, match="samples = 40"):
        predict_signal("miniboone", "nu", load_benchmark("scalar"), samples=40)


def test_cli_bad_allocation_exit_2(capsys):
    from mesonportal.cli.main import main

    rc = main(["predict", "--benchmark", "scalar", "--allocation", "pi+=1", "-n", "2000"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "allocation" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------------- real predictions

@pytest.mark.parametrize("bench", ["scalar", "idm-double"])
def test_importance_unbiased_vs_even(bench):
    # same physics, different species allocation: events_200_1250 agree within 3σ of the
    # combined (meson-clustered) MC errors; both use independent meson samples
    model = load_benchmark(bench)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = predict_signal("miniboone", "nu", model, samples=N, allocation="importance").totals()
        b = predict_signal("miniboone", "nu", model, samples=N, allocation="even").totals()
    assert a["events_200_1250"] > 0
    diff = abs(a["events_200_1250"] - b["events_200_1250"])
    assert diff < 3 * math.hypot(a["mc_stat_error_200_1250"], b["mc_stat_error_200_1250"])


def test_importance_allocation_favours_pi_plus_for_scalar():
    # the scalar signal comes from π+ → μ ν φ in ν mode (the issue: K± are ~90 % of the
    # MC events but ~9 % of the signal); the pilot gives π+ the largest share, every
    # contributing species (π±, K±) ≥ 1 block, π⁰/η (no channel for the scalar) none
    model = load_benchmark("scalar")
    al_ = resolve_allocation(_experiment("miniboone"), "nu", model, 200_000, 12345)
    prim = dict(zip(al_.species, al_.primaries))
    assert prim[211] == max(prim.values()) and prim[211] > 200_000 / 4
    assert all(prim[s] >= al_.block for s in (211, -211, 321, -321))
    assert prim[111] == prim[221] == 0
    assert sum(prim.values()) == pytest.approx(200_000, rel=0.05)


def test_importance_deterministic_and_memo_independent():
    # same seed → bitwise-identical prediction, whether the allocation comes from the
    # in-memory memo, the disk cache or a fresh pilot
    model = load_benchmark("pseudoscalar")
    a = predict_signal("miniboone", "nu", model, samples=N, seed=5)
    _ALLOCATIONS.clear()
    b = predict_signal("miniboone", "nu", model, samples=N, seed=5)
    from mesonportal.cache import cache_dir

    for f in (cache_dir() / "allocations").glob("*.json"):
        f.unlink()
    _ALLOCATIONS.clear()
    c = predict_signal("miniboone", "nu", model, samples=N, seed=5)
    for k in ("weight", "e_qe", "meson_index"):
        np.testing.assert_array_equal(a.columns[k], b.columns[k])
        np.testing.assert_array_equal(a.columns[k], c.columns[k])
    assert a.info["allocation"] == c.info["allocation"]


def test_real_predictor_dask_equals_serial_bitwise(tmp_path):
    # determinism after the importance allocation: a scan with the real predictor (pilot runs,
    # block-assembled meson samples) gives bitwise-identical Parquet serially and on a
    # 2-process Dask LocalCluster (workers fill/read the same disk cache, own memo)
    distributed = pytest.importorskip("distributed")
    from mesonportal.analysis import scan_io
    from mesonportal.analysis.scan import ScanSpec, parse_axis, run_scan

    fixed = {"m_zprime": 49.0, "g_mu": 1e-4, "g_e": 0.0, "g_n": 1e-4, "lam": 1e-5, "charge": "up"}
    spec = ScanSpec("miniboone", "scalar", (parse_axis("m_x=1,5"), parse_axis("coupling_product=LOG:1e-10:1e-8:4")),
                    fixed, samples=8000)
    run_scan(spec, tmp_path / "serial.parquet", predictor=predict_signal)
    _ALLOCATIONS.clear()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  host="127.0.0.1") as cl, distributed.Client(cl) as c:
        run_scan(spec, tmp_path / "dask.parquet", client=c, predictor=predict_signal)
    a, b = scan_io.read_scan(tmp_path / "serial.parquet"), scan_io.read_scan(tmp_path / "dask.parquet")
    assert a.num_rows == 8 and a.equals(b)


# ---------------------------------------------------------------------------- bad input (issue #10)

@pytest.mark.parametrize("spec, match", [
    ("pi0=0.5,eta=0.3,pi+=0.05,pi-=0.05,K+=0.05,K-=0.01", "sum to 0.96"),   # not summing to one
    ("pi0=0.9,eta=0.05,pi+=0.05,pi-=0.05,K+=0.05,K-=0.05", "sum to 1.15"),
    ("pi0=0.5,pi0=0.5", "given twice"),
    ("pi0=nan,eta=1", "finite"),
    ("pi0=inf", "finite"),
    ("pi0=-0.1,eta=1.1", ">= 0"),
    ("pi0=0.9,rho=0.1", "unknown species"),
    ("pi0=", "not a number"),
    ("", "allowed: "),
    ("Importance", "allowed: "),
])
def test_bad_allocation_specs_api(spec, match):
    """Meaningless allocations are one-line ParameterErrors naming `allocation` (issue #10),
    raised before any meson is simulated."""
    with pytest.raises(ParameterError, match="allocation") as exc:
        predict_signal("miniboone", "nu", load_benchmark("idm-double"), samples=N, allocation=spec)
    assert match in str(exc.value) and "\n" not in str(exc.value)


def test_allocation_fractions_summing_to_one_accepted():
    """Fractions summing to 1 within the tolerance (0.7 + 0.2 + 0.1 = 0.9999999999999999) are fine."""
    fr = al.parse_fractions("pi+=0.7,K+=0.2,pi-=0.1", (211, -211, 321, -321))
    assert fr == {211: 0.7, 321: 0.2, -211: 0.1}


@pytest.mark.parametrize("samples", [0, -5, 2.5, float("nan"), True, "1000", 10**9])
def test_bad_samples_api(samples):
    with pytest.raises(ParameterError, match="samples"):
        predict_signal("miniboone", "nu", load_benchmark("scalar"), samples=samples)


def test_bad_samples_scan_spec():
    from mesonportal.analysis.scan import ScanSpec, parse_axis

    with pytest.raises(ParameterError, match="samples .* allowed: 1 to"):
        ScanSpec("miniboone", "scalar", (parse_axis("m_x=LIN:1:2:2"),), {}, 1, 10**9, "pearson", None)


@pytest.mark.parametrize("args, option", [
    (["predict", "--benchmark", "idm-double", "--allocation", "pi0=0.5,eta=0.2"], "allocation"),
    (["predict", "--benchmark", "idm-double", "--allocation", "pi0=nan"], "allocation"),
    (["predict", "--benchmark", "idm-double", "--allocation", "uniform"], "allocation"),
    (["predict", "--benchmark", "idm-double", "--samples", "0"], "--samples"),
    (["predict", "--benchmark", "idm-double", "--samples", "-10"], "--samples"),
    (["predict", "--benchmark", "idm-double", "--samples", "nan"], "--samples"),
    (["predict", "--benchmark", "idm-double", "--samples", "1000000000"], "samples"),
    (["fit", "--benchmark", "idm-double", "--samples", "1000000000"], "samples"),
])
def test_cli_bad_samples_allocation_exit_2(capsys, args, option):
    from mesonportal.cli.main import main

    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert option in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_cli_too_few_samples_warns(capsys):
    """`--samples` leaving a contributing species with < 100 primaries: a one-line warning naming
    --samples on stderr (the estimate stays unbiased, its error is unreliable)."""
    from mesonportal.cli.main import main

    rc = main(["predict", "--benchmark", "scalar", "--samples", "200", "--json"])
    err = capsys.readouterr().err
    assert rc == 0
    assert "warning" in err and "--samples" in err
