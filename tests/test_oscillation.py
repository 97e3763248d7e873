"""3+1 appearance fit on the bundled fully oscillated ntuples (MiniBooNE 2021 release,
arXiv:2006.16883).  Coarse grids: every test runs in well under a second or two."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mesonportal.analysis import oscillation as osc
from mesonportal.analysis.miniboone_data import load_miniboone
from mesonportal.cli.main import main
from mesonportal.exceptions import ParameterError


def test_phase_coefficient_is_1267():
    # Δm² L/(4E) with ħc = 197.3269804 MeV fm: the textbook 1.267 eV⁻² m⁻¹ MeV (PDG review of
    # neutrino mixing, "1.27 Δm²[eV²] L[km]/E[GeV]"); tolerance: the 4-digit textbook rounding
    assert osc.OSC_PHASE_COEFF == pytest.approx(1.267, abs=5e-4)


def test_contour_levels_2dof():
    # Wilks, 2 parameters: 2.30, 6.18, 11.83 (PDG statistics review, Table 40.2)
    lv = osc.CONTOUR_LEVELS_2DOF
    assert lv["1sigma"] == pytest.approx(2.30, abs=0.01)
    assert lv["2sigma"] == pytest.approx(6.18, abs=0.01)
    assert lv["3sigma"] == pytest.approx(11.83, abs=0.01)


def test_large_dm2_limit_is_half_the_full_transmutation():
    # analytic limit: for Δm² L/E ≫ 1 the phases are effectively random, sin² averages to 1/2,
    # so s = ½ · (full transmutation) per bin.  Tolerance: 4 standard deviations of the finite
    # ntuple (Var(sin² of a uniform phase) = 1/8 per event, σ_k = √(Σ_k w²/8))
    for mode in ("nu", "nubar"):
        nt = osc.load_oscillation_ntuple(mode)
        full = osc.full_transmutation_counts(mode)
        b = osc._bins(nt)
        ok = b >= 0
        sigma = np.sqrt(np.bincount(b[ok], weights=nt.events[ok] ** 2, minlength=11) / 8.0)
        s = osc.oscillation_signal(mode, 300.0, 1.0)
        assert np.all(np.abs(s - 0.5 * full) < 4.0 * sigma)
        assert s.sum() == pytest.approx(0.5 * full.sum(), rel=0.01)


def test_small_dm2_limit_scales_as_dm2_squared():
    # analytic limit: sin²x ≈ x² for x ≪ 1, so the signal ∝ sin²2θ Δm⁴; tolerance 1e-3
    a = osc.oscillation_signal("nu", 1e-3, 0.5)
    b = osc.oscillation_signal("nu", 2e-3, 0.5)
    np.testing.assert_allclose(b, 4.0 * a, rtol=1e-3)
    np.testing.assert_allclose(osc.oscillation_signal("nu", 2e-3, 0.25), 0.5 * b, rtol=1e-12)


def test_full_transmutation_normalisation():
    # weight/N_rows per event (release convention): 100 % ν_μ → ν_e transmutation in ν mode gives
    # a count of the order of the ν_μ CCQE sample of the same exposure (same flux × similar
    # cross section and efficiency): ratio 0.5-1.5 is the physical expectation; the bundled
    # weights give 2.60e5 vs 3.39e5.
    full = osc.full_transmutation_counts("nu")
    numu = load_miniboone("nu").numu_data.sum()
    assert 0.5 < full.sum() / numu < 1.5
    assert full[:9].sum() == pytest.approx(2.601e5, rel=1e-3)
    # the rhc-only subset: the rows flagged in_rhc_file are the whole rhc/ file, whose own
    # weight/N_rows is identical per event (file header); 86 403 of 117 949 rows
    nt_all = osc.load_oscillation_ntuple("nubar", "combined")
    nt_rhc = osc.load_oscillation_ntuple("nubar", "rhc")
    assert (nt_all.e_qe_mev.size, nt_rhc.e_qe_mev.size) == (117949, 86403)
    assert nt_rhc.events.sum() < nt_all.events.sum()


def test_fit_lands_near_miniboone_best_fit():
    # MiniBooNE 2021 (arXiv:2006.16883): ν+ν̄ best fit (Δm², sin²2θ) = (0.043 eV², 0.807).
    # Our χ² fit on the release must contain it in its 1σ (2 dof) region and find Δm² within
    # a factor 2 of 0.043 eV²; the excess is significant (Δχ² to no oscillation > 11.83, 3σ).
    fits = osc.fit_oscillation(("nu", "nubar"), n_dm2=25, n_s22=25)
    c = fits["combined"]
    assert 0.043 / 2 < c.best_dm2 < 0.043 * 2
    sig = np.concatenate([osc.oscillation_signal(m, 0.043, 0.807) for m in ("nu", "nubar")])
    from mesonportal.analysis.likelihood import get_likelihood

    assert get_likelihood("combined").chi2(sig) - c.chi2_min < osc.CONTOUR_LEVELS_2DOF["1sigma"]
    assert c.delta_chi2 > osc.CONTOUR_LEVELS_2DOF["3sigma"]
    assert c.ndof == 36 and fits["nu"].ndof == 17
    assert set(fits) == {"nu", "nubar", "combined"}


def test_fit_refinement_beats_grid():
    f = osc.fit_oscillation(("nu",), n_dm2=9, n_s22=9)["nu"]
    assert f.chi2_min <= f.chi2_grid.min() + 1e-9


@pytest.mark.parametrize("kw", [
    {"dm2_range": (0.0, 1.0)},
    {"dm2_range": (1.0, 0.1)},
    {"s22_range": (-1e-3, 1.0)},
    {"s22_range": (1e-3, 2.0)},
    {"n_dm2": 3},
    {"n_s22": 4},
])
def test_bad_grids(kw):
    with pytest.raises(ParameterError):
        osc.fit_oscillation(("nu",), **kw)


def test_mode_without_ntuple():
    with pytest.raises(ParameterError, match="no oscillation ntuple"):
        osc.fit_oscillation(("dump",))


def test_cli_json_and_plot(tmp_path, capsys):
    rc = main(["oscillation-fit", "--points", "9", "--json", "--plot", str(tmp_path)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["fits"]) == {"nu", "nubar", "combined"}
    for f in out["fits"].values():
        assert set(f["best_fit"]) == {"dm2_ev2", "sin2_2theta", "chi2"}
        assert f["delta_chi2"] == pytest.approx(f["chi2_no_oscillation"] - f["best_fit"]["chi2"])
        assert isinstance(f["ndof"], int)
    assert (tmp_path / "oscillation_combined.png").stat().st_size > 1000


@pytest.mark.parametrize("args", [
    ["--modes", "dump"], ["--modes", "nu,nu"], ["--dm2-range", "0:1"], ["--dm2-range", "abc"],
    ["--points", "3"], ["--points", "5x"], ["--s22-range", "1e-3:3"],
])
def test_cli_bad_input(args, capsys):
    assert main(["oscillation-fit", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mesonportal: error:") and "\n" not in err
