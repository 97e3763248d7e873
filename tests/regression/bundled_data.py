"""Bundled reference data vs their upstream sources, by hashes (no ``shared/`` needed at test time).

Each entry pairs an array the package loads from ``src/mesonportal/data/`` with the upstream
file it was converted from (path relative to the developers' reference-data folder, with the unit
conversion applied during bundling).  ``benchmarks/update_data_hashes.py`` hashes the *upstream*
arrays into ``tests/regression/data_hashes.json``; ``tests/test_bundled_data_hashes.py`` hashes the
*package's* arrays and compares.  Arrays are canonicalised to 9 significant digits (the sources
carry at most 8) so that a GeV → MeV conversion does not change the hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

#: name -> (upstream file relative to the reference-data folder, loadtxt kwargs, factor applied when bundling)
REFERENCES: dict[str, tuple[str, dict, float]] = {
    "nu_nue_data": ("miniboone/data_release_2021/fhc/miniboone_nuedata_lowe.txt", {}, 1.0),
    "nu_nue_background": ("miniboone/data_release_2021/fhc/miniboone_nuebgr_lowe.txt", {}, 1.0),
    "nu_numu_data": ("miniboone/data_release_2021/fhc/miniboone_numudata.txt", {}, 1.0),
    "nu_numu_prediction": ("miniboone/data_release_2021/fhc/miniboone_numu.txt", {}, 1.0),
    "nu_fractcov": ("miniboone/data_release_2021/fhc/miniboone_full_fractcovmatrix_nu_lowe.txt", {}, 1.0),
    "nubar_nue_data": ("miniboone/data_release_2021/rhc/miniboone_nuebardata_lowe.txt", {}, 1.0),
    "nubar_nue_background": ("miniboone/data_release_2021/rhc/miniboone_nuebarbgr_lowe.txt", {}, 1.0),
    "nubar_numu_data": ("miniboone/data_release_2021/rhc/miniboone_numubardata.txt", {}, 1.0),
    "nubar_numu_prediction": ("miniboone/data_release_2021/rhc/miniboone_numubar.txt", {}, 1.0),
    "nubar_fractcov": ("miniboone/data_release_2021/rhc/miniboone_full_fractcovmatrix_nubar_lowe.txt", {}, 1.0),
    "combined_fractcov": ("miniboone/data_release_2021/combined/miniboone_full_fractcovmatrix_combined_lowe.txt",
                          {}, 1.0),
    "eqe_edges_mev": ("miniboone/data_release_2021/fhc/miniboone_binboundaries_nue_lowe.txt", {}, 1.0),
    "evis_edges_mev": ("miniboone/digitized_2021/Evis_bin_edges.dat", {}, 1e3),
    "costheta_edges": ("miniboone/digitized_2021/Costheta_bin_edges.dat", {}, 1.0),
    "eg_efficiency": ("miniboone/efficiency/eg_effs.dat", {"comments": "#"}, 1.0),
    "nue_ccqe_efficiency": ("miniboone/efficiency/nueCCQE_final_eff.dat", {}, 1.0),
    "fiducial_profile": ("miniboone/efficiency/fiducial_cut.dat", {}, 1.0),
    "pi0_misid_efficiency": ("miniboone/efficiency/pi0_nueCCQE_eff.dat", {}, 1.0),
    "official_flux_nu_mode": ("bnb_flux/miniboone_nu_mode_flux.dat", {"comments": "#"}, 1.0),
    # official BNB simulation inputs (G4BNB): numeric columns only
    "bnb_target": ("bnb_official/target.txt", {"usecols": (1, 2, 3, 4, 5), "ndmin": 2}, 1.0),
    "bnb_pbe_cross_section_parameters": ("bnb_official/pbe_cross_sections.txt", {"usecols": (1, 2, 3, 4, 5)}, 1.0),
    "bnb_sw_coefficients": ("bnb_official/meson_production.txt", {"usecols": tuple(range(2, 11)), "max_rows": 3},
                            1.0),
}


def canonical_hash(a) -> str:
    """SHA-256 of the array's shape and values at 9 significant digits."""
    a = np.asarray(a, dtype=np.float64)
    text = repr(a.shape) + "\n" + "\n".join(f"{v:.8e}" for v in a.ravel())
    return hashlib.sha256(text.replace("-0.00000000e+00", "0.00000000e+00").encode()).hexdigest()


def package_arrays() -> dict[str, Callable[[], np.ndarray]]:
    """name -> loader of the package's bundled array (the same quantity as :data:`REFERENCES`)."""
    from mesonportal.analysis import binning
    from mesonportal.analysis.flux import OFFICIAL_FLUX_FILE
    from mesonportal.analysis.miniboone_data import load_combined_fractional_covariance, load_miniboone
    from mesonportal.data import load_table
    from mesonportal.detection import response as R

    def mb(mode, attr):
        return lambda: getattr(load_miniboone(mode), attr)

    out: dict[str, Callable[[], np.ndarray]] = {}
    for mode in ("nu", "nubar"):
        out[f"{mode}_nue_data"] = mb(mode, "nue_data")
        out[f"{mode}_nue_background"] = mb(mode, "nue_background")
        out[f"{mode}_numu_data"] = mb(mode, "numu_data")
        out[f"{mode}_numu_prediction"] = mb(mode, "numu_prediction")
        out[f"{mode}_fractcov"] = mb(mode, "fractional_covariance")
    out["combined_fractcov"] = load_combined_fractional_covariance
    out["eqe_edges_mev"] = lambda: binning.EQE_EDGES_MEV
    out["evis_edges_mev"] = lambda: binning.EVIS_EDGES_MEV
    out["costheta_edges"] = lambda: binning.COSTHETA_EDGES
    out["eg_efficiency"] = R.eg_efficiency_table
    out["nue_ccqe_efficiency"] = R.nue_ccqe_efficiency_table
    out["fiducial_profile"] = R.fiducial_profile_table
    out["pi0_misid_efficiency"] = lambda: R.pi0_misid_table()[:, 2]
    out["official_flux_nu_mode"] = lambda: load_table(OFFICIAL_FLUX_FILE)

    def target():
        from mesonportal.experiments.bnb_geometry import load_target_table

        t = load_target_table("bnb_official")
        return np.array([[t.radius_cm, t.length_cm, t.z_start_cm, t.z_end_cm, t.density_g_cm3]])

    def pbe():
        from mesonportal.sources import beam

        beam.pbe_cross_sections_mb(8.89)  # loads the table
        return np.array([beam._PBE_XS[k] for k in ("total", "inelastic", "quasi_elastic")])

    def sw():
        from mesonportal.sources.spectra import SW_PARAMS

        return np.array([SW_PARAMS[k] for k in ("pi+", "pi-", "K0")])

    out["bnb_target"] = target
    out["bnb_pbe_cross_section_parameters"] = pbe
    out["bnb_sw_coefficients"] = sw
    return out
