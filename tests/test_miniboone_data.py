"""Bundled MiniBooNE 2021 data release (arXiv:2006.16883) and its loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mesonportal.analysis.miniboone_data import (
    MiniBooNEData,
    load_combined_fractional_covariance,
    load_digitized,
    load_miniboone,
)
from mesonportal.data import header, load_table
from mesonportal.exceptions import ParameterError

SHARED = Path("/work/shared/data/miniboone/data_release_2021")


@pytest.mark.parametrize("mode", ["nu", "nubar"])
def test_shapes_and_readonly(mode):
    d = load_miniboone(mode)
    assert isinstance(d, MiniBooNEData) and d.mode == mode
    assert d.eqe_edges_mev.shape == (12,)
    assert d.nue_data.shape == d.nue_background.shape == (11,)
    assert d.numu_data.shape == d.numu_prediction.shape == (8,)
    assert d.fractional_covariance.shape == (30, 30)
    # physics.md §5: E_QE edges 200 ... 3000 MeV
    np.testing.assert_array_equal(
        d.eqe_edges_mev, [200, 300, 375, 475, 550, 675, 800, 950, 1100, 1250, 1500, 3000]
    )
    with pytest.raises(ValueError):
        d.nue_data[0] = 0.0  # cached arrays are read-only


def test_pot_and_published_data_counts():
    # arXiv:2006.16883: 18.75e20 POT (nu), 11.27e20 POT (nubar); 2870 and 478 nu_e-like events
    # for 200 < E_QE < 1250 MeV (exact integers).
    nu, nb = load_miniboone("nu"), load_miniboone("nubar")
    assert nu.pot == pytest.approx(18.75e20, rel=1e-12)
    assert nb.pot == pytest.approx(11.27e20, rel=1e-12)
    assert nu.nue_data[:9].sum() == 2870
    assert nb.nue_data[:9].sum() == 478
    # unconstrained background, arXiv:2006.16883: 2322.6 and 398.2 (rounding of the release)
    assert nu.nue_background[:9].sum() == pytest.approx(2322.6, abs=0.1)
    assert nb.nue_background[:9].sum() == pytest.approx(398.2, abs=0.05)


def test_combined_matrix_ordering():
    # The 60x60 matrix is [nu 30, nubar 30]; its diagonal blocks equal the per-mode matrices
    # (nubar to the 5e-7 rounding of the release), and the two modes are correlated.
    C = load_combined_fractional_covariance()
    np.testing.assert_allclose(C[:30, :30], load_miniboone("nu").fractional_covariance, atol=0)
    np.testing.assert_allclose(C[30:, 30:], load_miniboone("nubar").fractional_covariance, atol=1e-6)
    assert np.abs(C[:30, 30:]).max() > 0.01
    # an interleaved ordering [sig nu, sig nubar, bkg nu, ...] would put the nubar signal block
    # at [11:22, 11:22]; it is the nu background block instead
    nb = load_miniboone("nubar").fractional_covariance
    assert np.abs(C[11:22, 11:22] - nb[:11, :11]).max() > 0.01


def test_headers_name_source():
    for name in ["nu_nue", "nubar_nue", "nu_numu", "nubar_numu", "nu_fractcov", "nubar_fractcov",
                 "combined_fractcov", "eqe_bin_edges", "digitized_2021/evis",
                 "digitized_2021/costheta", "digitized_2021/eqe"]:
        h = " ".join(header(f"miniboone/{name}.txt"))
        assert "2006.16883" in h and ("columns" in h or "order" in h)


@pytest.mark.skipif(not SHARED.is_dir(), reason="developer reference data not available")
def test_bundled_equals_release():
    # verbatim conversion of the official release files
    pairs = {
        ("nu", "fhc"): ("miniboone_nuedata_lowe", "miniboone_nuebgr_lowe", "miniboone_numudata",
                        "miniboone_numu", "miniboone_full_fractcovmatrix_nu_lowe"),
        ("nubar", "rhc"): ("miniboone_nuebardata_lowe", "miniboone_nuebarbgr_lowe",
                           "miniboone_numubardata", "miniboone_numubar",
                           "miniboone_full_fractcovmatrix_nubar_lowe"),
    }
    for (mode, sub), files in pairs.items():
        d = load_miniboone(mode)
        ref = [np.loadtxt(SHARED / sub / f"{f}.txt") for f in files]
        for got, want in zip(
            (d.nue_data, d.nue_background, d.numu_data, d.numu_prediction, d.fractional_covariance),
            ref,
        ):
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        load_combined_fractional_covariance(),
        np.loadtxt(SHARED / "combined/miniboone_full_fractcovmatrix_combined_lowe.txt"),
    )


def test_digitized_figures_consistent_with_release():
    f = load_digitized()
    nu = load_miniboone("nu")
    # E_vis: 23 bins of 50 MeV, 100-1250 MeV (converted from GeV)
    np.testing.assert_allclose(f.evis.edges, np.arange(100.0, 1251.0, 50.0))
    assert f.costheta.edges.shape == (21,) and f.costheta.edges[0] == -1 and f.costheta.edges[-1] == 1
    # The E_vis and cos(theta) figures show the 200<E_QE<1250 MeV nu-mode sample: totals must
    # match the release (2870 data, 2322.7 bkg) within the 1% digitisation accuracy.
    for h in (f.evis, f.costheta):
        assert h["data"].sum() == pytest.approx(2870, rel=0.01)
        assert h["background"].sum() == pytest.approx(nu.nue_background[:9].sum(), rel=0.01)
    # E_QE figure (events/MeV): first 8 bins share the release edges; counts within 1%.
    w = np.diff(f.eqe.edges)
    np.testing.assert_allclose(f.eqe.edges[:9], nu.eqe_edges_mev[:9])
    np.testing.assert_allclose((f.eqe["data"] * w)[:8], nu.nue_data[:8], rtol=0.01)
    assert f.eqe.edges[9] == 1300.0  # the figure's older binning (documented in the header)
    with pytest.raises(ParameterError):
        f.evis["signal"]


def test_bad_mode():
    with pytest.raises(ParameterError, match="mode"):
        load_miniboone("dump")


def test_numu_table_has_index_column():
    t = load_table("miniboone/nu_numu.txt")
    np.testing.assert_array_equal(t[:, 0], np.arange(8))
