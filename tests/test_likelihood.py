"""MiniBooNE covariance chi^2 and nu_mu-constrained background (arXiv:2006.16883 data release).

The chi^2 values are checked against an independent implementation written here: plain loops
over the full 30x30 (60x60) absolute covariance and a 0/1 projection matrix P (collapse =
P M P^T), raw tables read with ``load_table`` (not the package loader), and chi^2 from
``numpy.linalg.inv`` instead of the package's batched block sums + Cholesky.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mesonportal.analysis import likelihood as lk
from mesonportal.cli.main import main
from mesonportal.data import load_table
from mesonportal.exceptions import DataError, ParameterError


# ---------------------------------------------------------------- independent reference
def _raw(mode):
    nue = load_table(f"miniboone/{mode}_nue.txt")
    numu = load_table(f"miniboone/{mode}_numu.txt")
    return nue[:, 2], nue[:, 3], numu[:, 1], numu[:, 2]


def _ref_chi2(signals, modes, F, stat="pearson"):
    """chi^2 with the full covariance and a projection matrix; modes e.g. ["nu"] or
    ["nu", "nubar"] in the order of F's 30-blocks; signals one 11-vector per mode."""
    N, d_rows, m_rows = [], [], []
    for s, mode in zip(signals, modes):
        de, be, dm, bm = _raw(mode)
        N += list(s) + list(be) + list(bm)
        d_rows.append((de, s + be))
        m_rows.append((dm, bm))
    n = len(N)
    M = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            M[i, j] = N[i] * F[i, j] * N[j]
    # projection: output rows [e(mode0), mu(mode0), e(mode1), mu(mode1), ...]
    nout = 19 * len(modes)
    P = np.zeros((nout, n))
    data, pred = [], []
    for k in range(len(modes)):
        for i in range(11):
            P[19 * k + i, 30 * k + i] = 1.0       # signal
            P[19 * k + i, 30 * k + 11 + i] = 1.0  # nu_e background
        for j in range(8):
            P[19 * k + 11 + j, 30 * k + 22 + j] = 1.0
        data += list(d_rows[k][0]) + list(m_rows[k][0])
        pred += list(d_rows[k][1]) + list(m_rows[k][1])
    data, pred = np.array(data), np.array(pred)
    C = P @ M @ P.T
    for i in range(nout):
        if stat == "pearson":
            C[i, i] += pred[i]
        elif stat == "cnp":
            C[i, i] += 3.0 / (1.0 / data[i] + 2.0 / pred[i]) if data[i] > 0 else pred[i] / 2
    r = data - pred
    return float(r @ np.linalg.inv(C) @ r)


def _F(mode):
    return load_table(f"miniboone/{mode}_fractcov.txt")


# ---------------------------------------------------------------- chi2 vs independent
@pytest.mark.parametrize("mode", ["nu", "nubar"])
@pytest.mark.parametrize("stat", ["pearson", "cnp", "none"])
def test_chi2_background_only_and_excess_signal(mode, stat):
    de, be, _, _ = _raw(mode)
    zero = np.zeros(11)
    # reference: independent implementation above; tolerance 1e-9 relative (round-off only)
    assert lk.chi2(zero, mode, stat) == pytest.approx(_ref_chi2([zero], [mode], _F(mode), stat), rel=1e-9)
    exc = de - be
    assert lk.chi2(exc, mode, stat) == pytest.approx(_ref_chi2([exc], [mode], _F(mode), stat), rel=1e-9)


def test_chi2_generic_signal_exercises_signal_blocks():
    s = np.linspace(120.0, 5.0, 11)
    ref = _ref_chi2([s], ["nu"], _F("nu"))
    assert lk.chi2(s, "nu") == pytest.approx(ref, rel=1e-9)
    # dropping signal systematics changes the answer (the signal block is really used)
    no_sig = lk.get_likelihood("nu", "pearson", signal_systematics=False).chi2(s)
    assert abs(no_sig - ref) / ref > 1e-3


def test_background_only_values_pinned():
    # regression pins of the values computed with the independent reference (rel 1e-6)
    assert lk.chi2(np.zeros(11), "nu") == pytest.approx(24.1093031, rel=1e-6)
    assert lk.chi2(np.zeros(11), "nubar") == pytest.approx(14.9460208, rel=1e-6)


@pytest.mark.parametrize("mode", ["nu", "nubar"])
def test_excess_signal_leaves_only_numu_part(mode):
    # With s = d - b the nu_e residual vanishes; chi^2 is then the nu_mu residual measured
    # against the nu_mu covariance conditioned on the nu_e bins (Schur complement):
    # chi^2 = r_mu^T (C_mumu - C_mue C_ee^-1 C_emu)^-1 r_mu  (block-inverse identity, exact).
    de, be, dm, bm = _raw(mode)
    like = lk.get_likelihood(mode)
    C = like.covariance(de - be)
    Cee, Cem, Cmm = C[:11, :11], C[:11, 11:], C[11:, 11:]
    r = dm - bm
    schur = Cmm - Cem.T @ np.linalg.inv(Cee) @ Cem
    expected = r @ np.linalg.inv(schur) @ r
    got = lk.chi2(de - be, mode)
    assert got == pytest.approx(expected, rel=1e-8)
    # the e part carries essentially all of the background-only chi^2
    assert got < 0.4 * lk.chi2(np.zeros(11), mode)


def test_combined_against_independent_60x60():
    F60 = load_table("miniboone/combined_fractcov.txt")
    s_nu = np.linspace(100.0, 0.0, 11)
    s_nb = np.linspace(20.0, 0.0, 11)
    ref = _ref_chi2([s_nu, s_nb], ["nu", "nubar"], F60)
    assert lk.chi2(np.concatenate([s_nu, s_nb]), "combined") == pytest.approx(ref, rel=1e-9)
    ref0 = _ref_chi2([np.zeros(11)] * 2, ["nu", "nubar"], F60)
    assert lk.chi2(np.zeros(22), "combined") == pytest.approx(ref0, rel=1e-9)


def test_combined_equals_sum_when_modes_uncorrelated():
    # With the nu-nubar cross blocks of F set to zero, the combined chi^2 must be the sum of
    # the separate ones (exact, block-diagonal covariance).
    F60 = load_table("miniboone/combined_fractcov.txt").copy()
    F60[:30, 30:] = 0.0
    F60[30:, :30] = 0.0
    F60[:30, :30] = _F("nu")
    F60[30:, 30:] = _F("nubar")
    comb = lk.get_likelihood("combined")
    blockdiag = lk.MiniBooNECovarianceChi2(
        F60, np.r_[0:11, 30:41], np.r_[11:22, 41:52], np.r_[22:30, 52:60],
        comb.nue_data, comb.nue_background, comb.numu_data, comb.numu_prediction,
    )
    s = np.r_[np.linspace(80, 1, 11), np.linspace(15, 1, 11)]
    assert blockdiag.chi2(s) == pytest.approx(lk.chi2(s[:11], "nu") + lk.chi2(s[11:], "nubar"), rel=1e-9)
    # the real matrix correlates the modes: the combined chi^2 differs from the sum
    assert abs(lk.chi2(s, "combined") - blockdiag.chi2(s)) > 0.1


def test_chi2_many_matches_loop():
    rng = np.random.default_rng(7)
    S = rng.uniform(0.0, 150.0, size=(50, 11))
    many = lk.chi2_many(S, "nu")
    assert many.shape == (50,)
    np.testing.assert_allclose(many, [lk.chi2(s, "nu") for s in S], rtol=1e-12)
    S22 = rng.uniform(0.0, 50.0, size=(5, 22))
    np.testing.assert_allclose(
        lk.chi2_many(S22, "combined"), [lk.chi2(s, "combined") for s in S22], rtol=1e-12
    )


def test_not_positive_definite_raises():
    de, be, dm, bm = _raw("nu")
    F = _F("nu").copy()
    F[11:22, 11:22] -= 0.5 * np.eye(11)  # negative variances in the background block
    bad = lk.MiniBooNECovarianceChi2.from_arrays(F, de, be, dm, bm, stat="none")
    with pytest.raises(DataError, match="not positive definite"):
        bad.chi2(np.zeros(11))
    with pytest.raises(DataError, match="not positive definite"):
        bad.chi2_many(np.zeros((3, 11)))


def test_bad_inputs():
    with pytest.raises(ParameterError):
        lk.chi2(np.zeros(10), "nu")
    with pytest.raises(ParameterError):
        lk.chi2(np.full(11, np.nan), "nu")
    with pytest.raises(ParameterError):
        lk.chi2(np.zeros(11), "dump")
    with pytest.raises(ParameterError):
        lk.chi2(np.zeros(11), "nu", stat="poisson")
    with pytest.raises(ParameterError):
        lk.chi2(np.full(11, -1e4), "nu")  # s + b <= 0: no statistical variance


# ---------------------------------------------------------------- constrained background
# Published (arXiv:2006.16883, 200 < E_QE < 1250 MeV): the brief requires the unconstrained
# numbers within 1% and the constrained ones within 3%; we reproduce the constrained numbers to
# < 0.2%, so the tighter tolerances below guard the documented treatment.
PUBLISHED = {
    "nu": dict(data=2870, background=2322.6, background_error=258.3,
               constrained_background=2309.4, constrained_error=119.6, excess=560.6),
    "nubar": dict(data=478, background=398.2, background_error=49.7,
                  constrained_background=400.6, constrained_error=28.5, excess=77.4),
}


@pytest.mark.parametrize("mode", ["nu", "nubar"])
def test_constrained_background_reproduces_publication(mode):
    s = lk.background_summary(mode)
    p = PUBLISHED[mode]
    assert s.data == p["data"]
    assert s.background == pytest.approx(p["background"], rel=1e-4)
    assert s.background_error == pytest.approx(p["background_error"], rel=0.01)
    assert s.constrained_background == pytest.approx(p["constrained_background"], rel=0.002)
    assert s.constrained_error == pytest.approx(p["constrained_error"], rel=0.005)
    assert s.excess == pytest.approx(p["excess"], rel=0.005)
    assert s.excess_error == s.constrained_error


def test_combined_excess_reproduces_abstract():
    # arXiv:2006.16883 abstract: total excess 638.0 +- 132.8 events (nu + nubar)
    s = lk.background_summary("combined")
    assert s.data == 3348
    assert s.excess == pytest.approx(638.0, rel=0.002)
    assert s.excess_error == pytest.approx(132.8, rel=0.002)


def test_constrained_background_per_bin_vs_digitised_figure():
    # The E_QE figure of arXiv:2006.16883 (digitised) shows the constrained background per bin;
    # our per-bin constrained background agrees within 2% (digitisation accuracy) in bins 1-8.
    from mesonportal.analysis.miniboone_data import load_digitized

    fig = load_digitized().eqe
    edges = fig.edges
    counts = fig["constrained_background"] * np.diff(edges)
    for i in range(8):
        s = lk.background_summary("nu", (edges[i], edges[i + 1]))
        assert s.constrained_background == pytest.approx(counts[i], rel=0.02)


def test_own_mode_constraint_is_weaker():
    # Conditioning only on the mode's own nu_mu sample (30x30 matrix) does not reproduce the
    # publication: larger error (documented in docs/likelihood.md).
    own = lk.background_summary("nu", numu_constraint="own")
    both = lk.background_summary("nu")
    assert own.constrained_error > both.constrained_error + 3.0


def test_energy_range_must_be_bin_edges():
    with pytest.raises(ParameterError, match="energy_range_mev"):
        lk.background_summary("nu", (210.0, 1250.0))


# ---------------------------------------------------------------- shape-only chi2
def test_shape_chi2():
    from mesonportal.analysis.miniboone_data import load_digitized

    h = load_digitized().costheta
    excess = np.clip(h["data"] - h["background"], 0, None)
    # a signal with the shape of the observed (clipped) excess fits much better than a flat one
    good = lk.shape_chi2(excess, "costheta")
    flat = lk.shape_chi2(np.ones(20), "costheta")
    assert good < 0.5 * flat
    both = lk.shape_chi2(np.vstack([excess, np.ones(20)]), "costheta")
    np.testing.assert_allclose(both, [good, flat])
    with pytest.raises(ParameterError):
        lk.shape_chi2(np.ones(5), "evis")
    with pytest.raises(ParameterError):
        lk.shape_chi2(np.ones(23), "radius")


# ---------------------------------------------------------------- CLI
def test_cli_json(capsys):
    assert main(["data", "miniboone", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["experiment"] == "miniboone" and out["energy_range_mev"] == [200, 1250]
    for mode, p in PUBLISHED.items():
        v = out["modes"][mode]
        assert set(v) == {"data", "background", "background_error", "constrained_background",
                          "constrained_error", "excess", "excess_error"}
        assert v["constrained_background"] == pytest.approx(p["constrained_background"], rel=0.002)


def test_cli_table_and_unknown(capsys):
    assert main(["data", "miniboone"]) == 0
    assert "2309.4" in capsys.readouterr().out
    assert main(["data", "lsnd"]) == 2
    err = capsys.readouterr().err
    assert "lsnd" in err and err.count("\n") == 1
