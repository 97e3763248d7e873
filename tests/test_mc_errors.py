"""Meson-clustered Monte Carlo errors of signal predictions (mesonportal.analysis.prediction).

Rows from the same sampled meson are correlated; the variance of a weighted sum is then
Σ_i (Σ_{rows of meson i} w)² (the variance of a sum of i.i.d. per-primary totals: the meson
histories are independent, the rows within one are not; analytic).  The synthetic checks are
exact algebraic identities (rel 1e-12)."""

from __future__ import annotations

import numpy as np
import pytest

from mesonportal.analysis.predict import meson_sample, predict_signal
from mesonportal.analysis.prediction import HISTOGRAMS, SignalSample, clustered_histogram_w2
from mesonportal.analysis.binning import bin_index
from mesonportal.api import _experiment
from mesonportal.models.registry import load_benchmark

N = 20_000


@pytest.fixture(autouse=True, scope="module")
def _cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path_factory.mktemp("mesons")))
    yield
    mp.undo()


def _sample(n: int, rng, meson_index=None, weight_fn=None) -> SignalSample:
    eqe = rng.uniform(150.0, 1400.0, n)
    cols = {"e_vis": rng.uniform(100.0, 1200.0, n), "cos_theta": rng.uniform(-1.0, 1.0, n), "e_qe": eqe,
            "weight": rng.exponential(1e-20, n)}
    if meson_index is not None:
        cols["meson_index"] = np.asarray(meson_index, np.int64)
    return SignalSample("miniboone", "nu", 1.0e20, {}, 1.0, "", cols, weight_fn=weight_fn)


def _split(s: SignalSample, with_index: bool = True) -> SignalSample:
    """Every row split into two half-weight rows of the same meson (same observables)."""
    cols = {k: np.repeat(v, 2) for k, v in s.columns.items()}
    cols["weight"] = cols["weight"] / 2.0
    if with_index:
        cols["meson_index"] = np.repeat(np.arange(len(s), dtype=np.int64) * 7 + 3, 2)  # non-contiguous ids
    else:
        cols.pop("meson_index", None)
    return SignalSample(s.experiment, s.mode, s.pot, s.model, 1.0, "", cols)


def test_one_row_per_meson_equals_per_row():
    rng = np.random.default_rng(1)
    n = 500
    plain = _sample(n, rng)
    cols = dict(plain.columns)
    cols["meson_index"] = rng.permutation(n) + 10_000  # unique, unordered
    clus = SignalSample("miniboone", "nu", plain.pot, {}, 1.0, "", cols)
    w = plain.weights() * plain.pot
    assert plain.totals()["mc_stat_error"] == pytest.approx(np.sqrt(np.sum(w * w)), rel=1e-12)
    assert clus.totals()["mc_stat_error"] == pytest.approx(plain.totals()["mc_stat_error"], rel=1e-12)
    for name in HISTOGRAMS:
        np.testing.assert_allclose(clus.histogram(name)[2], plain.histogram(name)[2], rtol=1e-12)


def test_split_rows_sqrt2():
    # each row split into two halves of the same meson: per-row error drops by √2 (Σ2(w/2)² =
    # Σw²/2), the clustered one equals the error of the unsplit sample, i.e. √2 × per-row.
    rng = np.random.default_rng(2)
    base = _sample(400, rng, meson_index=np.arange(400))
    split = _split(base)
    split_rows = _split(base, with_index=False)
    e_base = base.totals()["mc_stat_error"]
    e_clus = split.totals()["mc_stat_error"]
    e_row = split_rows.totals()["mc_stat_error"]
    assert e_clus == pytest.approx(e_base, rel=1e-12)
    assert e_clus == pytest.approx(np.sqrt(2.0) * e_row, rel=1e-12)
    assert split.totals()["events_total"] == pytest.approx(base.totals()["events_total"], rel=1e-12)
    for name in HISTOGRAMS:
        _, c1, v1 = split.histogram(name)
        _, c2, v2 = split_rows.histogram(name)
        np.testing.assert_allclose(c1, c2, rtol=1e-12)
        np.testing.assert_allclose(v1, 2.0 * v2, rtol=1e-12)
        np.testing.assert_allclose(v1, base.histogram(name)[2], rtol=1e-12)


def test_histogram_variance_brute_force_and_reweighting():
    # several rows per meson spread over different bins: per-bin variance = Σ_i (Σ_{rows of i in
    # bin} w)², checked against an explicit loop; with weight_fn the reweighted weights are used.
    rng = np.random.default_rng(3)
    n = 300
    idx = rng.integers(0, 60, n)
    scale = rng.uniform(0.5, 2.0, n)
    holder: dict = {}

    def wfn(x: float) -> np.ndarray:
        return holder["w"] * scale * x

    s = _sample(n, rng, meson_index=idx, weight_fn=wfn)
    holder["w"] = s.columns["weight"]
    for x in (None, 3.0):
        w = s.weights(x) * s.pot
        col, edges = HISTOGRAMS["enu_qe"]
        b = bin_index(s.columns[col], edges)
        expect = np.zeros(len(edges) - 1)
        for i in np.unique(idx):
            for k in range(len(edges) - 1):
                expect[k] += np.sum(w[(idx == i) & (b == k)]) ** 2
        np.testing.assert_allclose(s.histogram("enu_qe", x)[2], expect, rtol=1e-12)
        tot = sum(np.sum(w[idx == i]) ** 2 for i in np.unique(idx))
        assert s.totals(x)["mc_stat_error"] == pytest.approx(np.sqrt(tot), rel=1e-12)
    # one bin covering everything: the histogram variance is the total variance
    one = clustered_histogram_w2(w, np.zeros(n, np.int64), 1, idx)
    assert one[0] == pytest.approx(tot, rel=1e-12)


@pytest.fixture(scope="module")
def idm_double():
    return predict_signal("miniboone", "nu", load_benchmark("idm-double"), samples=N)


def test_meson_index_points_at_parent():
    # the index is the row of the originating meson: parent PDG code and production vertex of
    # every event equal those of that meson (exact), for both chains and all iDM meson groups
    exp = _experiment("miniboone")
    for bench in ("scalar", "idm-double"):
        model = load_benchmark(bench)
        s = predict_signal(exp, "nu", model, samples=N)
        mes = meson_sample(exp, "nu", model, N, 12345)
        mi = s.columns["meson_index"]
        assert mi.dtype == np.int64 and len(mi) == len(s) > 0
        assert np.all((mi >= 0) & (mi < len(mes)))
        np.testing.assert_array_equal(mes.pdgid[mi], s.columns["parent_pdg"])
        np.testing.assert_array_equal(mes.vertex[mi, 0], s.columns["prod_x"])
        np.testing.assert_array_equal(mes.vertex[mi, 2], s.columns["prod_z"])
        if bench == "idm-double":
            assert len(np.unique(mi)) < len(mi)  # several events per meson do occur
            assert {111, 221} <= set(np.unique(s.columns["parent_pdg"]).tolist())


def test_idm_double_clustered_vs_per_row(idm_double):
    # the iDM rows of one meson are positively correlated (common meson, several V/χ draws):
    # clustered ≥ per-row, strictly here; bin variances bracketed by per-row (lower) and the
    # clustered variance of the in-range total (upper), since all weights are ≥ 0.
    s = idm_double
    w = s.weights() * s.pot
    assert np.all(w >= 0)
    per_row = float(np.sqrt(np.sum(w * w)))
    clus = s.totals()["mc_stat_error"]
    assert clus > per_row * 1.01
    # reweighting (weight_fn) path: same ordering at another coupling
    x = 2.0 * s.coupling_product_ref
    w2 = s.weights(x) * s.pot
    assert s.totals(x)["mc_stat_error"] >= np.sqrt(np.sum(w2 * w2))
    sizes = s.info["primaries_per_species"]
    cl, st = s.columns["meson_index"], s.columns["parent_pdg"]
    for name in HISTOGRAMS:
        col, edges = HISTOGRAMS[name]
        nb = len(edges) - 1
        _, counts, var = s.histogram(name)
        b = bin_index(s.columns[col], edges)
        ok = b >= 0
        row_var = np.bincount(b[ok], weights=w[ok] ** 2, minlength=nb)
        # plain clustered Σ_i s_i² (no strata sizes): bracketed by per-row and the in-range total
        plain = clustered_histogram_w2(w, b, nb, cl)
        assert np.all(plain >= row_var * (1 - 1e-12))
        sub = SignalSample(s.experiment, s.mode, s.pot, s.model, s.coupling_product_ref, "",
                           {k: v[ok] for k, v in s.columns.items()})
        assert np.sum(plain) <= sub.totals()["mc_stat_error"] ** 2 * (1 + 1e-12)
        assert np.sum(counts) == pytest.approx(sub.totals()["events_total"], rel=1e-12)
        # quoted (stratified) variance: Σ_h n_h/(n_h−1) [A_h − T_h²/n_h] per bin (exact identity)
        expect = np.zeros(nb)
        for h, n in sizes.items():
            m = st == int(h)
            a_h = clustered_histogram_w2(w[m], b[m], nb, cl[m])
            t_h = np.bincount(b[m & ok], weights=w[m & ok], minlength=nb)
            expect += (n / (n - 1.0)) * (a_h - t_h * t_h / n) if n > 1 else a_h
        np.testing.assert_allclose(var, np.clip(expect, 0.0, None), rtol=1e-9)
        # ... which is below the plain estimator up to its n/(n−1) factor
        assert np.all(var <= plain * (1 + 1.0 / (min(sizes.values()) - 1) + 1e-12))
