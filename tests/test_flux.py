"""Tests of mesonportal.analysis.flux (track-length flux at a sphere, official MiniBooNE flux)."""

from __future__ import annotations

import numpy as np
import pytest

from mesonportal.analysis.flux import (
    DEFAULT_EDGES_MEV,
    compare_fluxes,
    flux_from_neutrinos,
    integrated_flux,
    mean_energy_gev,
    neutrino_flux,
    official_flux,
    plot_flux,
    rebin_flux,
)
from mesonportal.constants import M_K, M_MU, M_PI
from mesonportal.data import header
from mesonportal.exceptions import ParameterError
from mesonportal.kinematics import four_vector, two_body_decay
from mesonportal.production.sm_decays import SM_CHANNELS, kl3_decay, neutrinos_towards_sphere
from mesonportal.propagation.geometry import ray_sphere_intersection, sphere_volume
from mesonportal.sample import ParticleSample

CH = {c.label: c for c in SM_CHANNELS}


def test_official_flux_loader():
    # MiniBooNE flux release april07_baseline_rgen610.6 (arXiv:0806.1449): integrated ν_μ
    # 5.19e-10 /cm²/POT (0.1% rounding tolerance), mean ν_μ energy 0.81 GeV (±0.01),
    # ν̄_μ 3.3e-11 (physics.md, ±2%); 200 bins of 50 MeV from 0 to 10 GeV.
    f = official_flux()
    assert integrated_flux(f, "numu") == pytest.approx(5.19e-10, rel=1e-3)
    assert mean_energy_gev(f, "numu") == pytest.approx(0.81, abs=0.01)
    assert integrated_flux(f, "numubar") == pytest.approx(3.3e-11, rel=0.02)
    assert len(f["numu"]) == 200 and f["edges_gev"][0] == 0 and f["edges_gev"][-1] == pytest.approx(10.0)
    np.testing.assert_allclose(np.diff(f["edges_gev"]), 0.05, atol=1e-9)
    assert integrated_flux(f, "nue") < 0.01 * integrated_flux(f, "numu")
    assert any("0806.1449" in h for h in header("bnb_flux/miniboone_nu_mode_flux.txt"))


def test_rebin_and_compare():
    f = official_flux()
    coarse = rebin_flux(f, np.linspace(0, 10, 51))  # 200 MeV bins
    for k in ("numu", "numubar", "nue", "nuebar"):
        assert coarse[k].sum() == pytest.approx(f[k].sum(), rel=1e-12)
    assert coarse["numu"][0] == pytest.approx(f["numu"][:4].sum(), rel=1e-12)
    sub = rebin_flux(f, [0.0, 1.0, 5.0])  # a sub-range: nothing above 5 GeV leaks in
    assert sub["numu"][1] == pytest.approx(f["numu"][20:100].sum(), rel=1e-12)
    # prediction = 1.1 × official with 5% per-bin errors -> ratio 1.1 ± 0.055 where defined
    pred = {k: 1.1 * f[k] for k in ("numu", "numubar", "nue", "nuebar")}
    pred.update({k + "_err": 0.05 * 1.1 * f[k] for k in ("numu", "numubar", "nue", "nuebar")})
    pred["edges_gev"] = f["edges_gev"]
    cmp = compare_fluxes(pred, f, edges_gev=np.linspace(0, 10, 51))
    r = cmp["numu"]
    ok = r["official"] > 0
    np.testing.assert_allclose(r["ratio"][ok], 1.1, rtol=1e-12)
    assert np.all(r["ratio_err"][ok] > 0) and np.all(r["ratio"][~ok] == 0)
    assert r["integral_ratio"] == pytest.approx(1.1, rel=1e-12)
    with pytest.raises(ParameterError):
        rebin_flux(f, [0.0, 0.07, 1.0])


def test_on_axis_pencil_beam_analytic():
    # π+ with p = 2 GeV along z, decaying at z = 0; small sphere (R = 50 cm) on axis at 500 m.
    # Analytic (point-detector limit): Φ = BR D² / (4π L²), D = 1/(γ(1 − β)), E_ν = E* D
    # (two-body kinematics).  Finite size: ⟨D²⟩ over the sphere differs by O(γ²R²/L²) ≈ 2e-3;
    # tolerance 0.5%.  MC error must be tiny here (all ν in one narrow energy range).
    rng = np.random.default_rng(1)
    n = 50_000
    p = 2000.0
    mes = ParticleSample(four_vector(M_PI, np.tile([0, 0, p], (n, 1))), np.zeros((n, 3)), 211, 1.0 / n)
    L = 50_000.0
    f = neutrino_flux(mes, [0, 0, L], 50.0, 1e9, rng, include_muon_decays=False)
    e = np.hypot(p, M_PI)
    gamma, beta = e / M_PI, p / e
    d = 1 / (gamma * (1 - beta))
    br = CH["pi+ -> mu+ nu_mu"].branching_ratio
    assert f["numu"].sum() == pytest.approx(br * d**2 / (4 * np.pi * L**2), rel=5e-3)
    e_nu = (M_PI**2 - M_MU**2) / (2 * M_PI) * d
    ib = int(e_nu // 50)
    assert f["numu"][ib - 1: ib + 2].sum() == pytest.approx(f["numu"].sum(), rel=1e-6)
    assert np.all(np.isfinite(f["numu_err"])) and f["numu_err"].sum() < 0.01 * f["numu"].sum()
    assert f["edges_gev"][-1] == pytest.approx(10.0) and len(f["numu"]) == len(DEFAULT_EDGES_MEV) - 1


def _brute_force_flux(nu_p4, vtx, center, radius, weight, edges):
    res = ray_sphere_intersection(vtx, nu_p4[:, 1:] / nu_p4[:, :1], center, radius)
    w = weight * res.chord / sphere_volume(radius)
    return np.histogram(nu_p4[:, 0], edges, weights=w)[0], np.histogram(nu_p4[:, 0], edges, weights=w**2)[0]


@pytest.mark.parametrize("kind", ["pi_mu2", "k_e3"])
def test_forced_direction_vs_brute_force(kind):
    # Nearby large sphere (R = 3 m at 8 m, Ω/4π ≈ 3.6%): forced-direction estimator
    # Σ w (Ω/4π)(E/E*)² ℓ / V vs brute force (isotropic rest-frame decays boosted to the lab,
    # keep ν crossing the sphere, Σ w ℓ / V).  Statistical agreement per bin (40 MeV π, 100 MeV K):
    # all pulls |z| < 5 and χ²/ndf < 2; totals agree within 4σ.
    rng = np.random.default_rng(21 if kind == "pi_mu2" else 22)
    n = 20_000
    mass, pdg = (M_PI, 211) if kind == "pi_mu2" else (M_K, 321)
    p3 = np.column_stack([rng.normal(0, 100, n), rng.normal(0, 100, n), rng.uniform(0, 1500, n)])
    vtx = np.column_stack([rng.normal(0, 30, n), rng.normal(0, 30, n), rng.uniform(0, 300, n)])
    mes = ParticleSample(four_vector(mass, p3), vtx, pdg, 1.0 / n)
    center, radius = np.array([50.0, 0.0, 800.0]), 300.0
    edges = np.linspace(0, 800, 21) if kind == "pi_mu2" else np.linspace(0, 2000, 21)
    f = neutrino_flux(mes, center, radius, 1e9, rng, edges_mev=edges, include_muon_decays=False, n_nu_per_decay=4)
    reps = 100
    big_p4, big_vtx = np.repeat(mes.p4, reps, 0), np.repeat(vtx, reps, 0)
    if kind == "pi_mu2":
        ch = CH["pi+ -> mu+ nu_mu"]
        nu, _ = two_body_decay(rng, big_p4, 0.0, M_MU)
        hb, hb2 = _brute_force_flux(nu, big_vtx, center, radius, ch.branching_ratio / n / reps, edges)
        pred, err = f["numu_by_parent"][211], f["numu_err"]
    else:
        ch = CH["K+ -> pi0 e+ nu_e"]
        _, _, nu = kl3_decay(rng, big_p4, ch)
        hb, hb2 = _brute_force_flux(nu, big_vtx, center, radius, ch.branching_ratio / n / reps, edges)
        # K+ -> e+ ν_e (BR 1.6e-5) also feeds ν_e; subtract nothing, it is < 1e-3 of K_e3 here
        pred, err = f["nue"], f["nue_err"]
    # Gaussian pulls need enough effective entries: use bins where the brute-force relative
    # error is < 10% (the sparse kinematic tail has heavy-tailed weights in both methods).
    ok = (hb > 0) & (np.sqrt(hb2) < 0.1 * hb)
    assert ok.sum() >= 10, ok
    z = (pred - hb)[ok] / np.sqrt(err**2 + hb2)[ok]
    assert np.max(np.abs(z)) < 5 and np.mean(z**2) < 2, z
    assert abs(pred.sum() - hb.sum()) < 4 * np.sqrt(np.sum(err**2) + hb2.sum())


def test_flux_with_muons_and_kaons_sane():
    # Mixed synthetic beam: all four flavours appear, no NaN, errors ≥ 0; μ-decay ν_e present.
    rng = np.random.default_rng(30)
    n = 20_000
    pdg = rng.choice([211, -211, 321, -321, 130, 111], n, p=[0.5, 0.2, 0.1, 0.05, 0.1, 0.05])
    from mesonportal.constants import mass

    masses = np.array([mass(int(p)) for p in pdg])
    p3 = np.column_stack([rng.normal(0, 50, n), rng.normal(0, 50, n), rng.uniform(300, 4000, n)])
    vtx = np.column_stack([np.zeros(n), np.zeros(n), rng.uniform(300, 5000, n)])
    mes = ParticleSample(four_vector(masses, p3), vtx, pdg, 1e-3)
    f = neutrino_flux(mes, [0, 0, 54100.0], 610.6, 5000.0, rng)
    for k in ("numu", "numubar", "nue", "nuebar"):
        assert np.all(np.isfinite(f[k])) and f[k].sum() > 0 and np.all(f[k + "_err"] >= 0)
    assert -13 in f["nue_by_parent"] and 13 in f["nuebar_by_parent"]


def test_plot_flux(tmp_path):
    f = official_flux()
    pred = {k: f[k] * 1.05 for k in ("numu", "numubar", "nue", "nuebar")}
    pred.update({k + "_err": f[k] * 0.03 for k in ("numu", "numubar", "nue", "nuebar")})
    pred["edges_gev"] = f["edges_gev"]
    out = plot_flux(pred, f, tmp_path / "flux.png", edges_gev=np.linspace(0, 5, 51))
    assert out.exists() and out.stat().st_size > 10_000


@pytest.mark.parametrize("edges", [DEFAULT_EDGES_MEV, np.array([0.0, 80.0, 200.0, 450.0, 1000.0, 2500.0, 6000.0])])
def test_fast_flux_equals_histogram_of_neutrino_sample(edges):
    # neutrino_flux (fast path: chords from the sampled cone angle, bincount on precomputed bin
    # indices) must equal flux_from_neutrinos(neutrinos_towards_sphere(...)) (four-vectors,
    # ray–sphere chords, per-flavour histograms) for the same seed: same random stream, so
    # agreement to 1e-9 per bin, errors and per-parent histograms included; uniform and
    # non-uniform edges; the non-uniform case is also checked against np.histogram.
    rng = np.random.default_rng(35)
    n = 6000
    from mesonportal.constants import mass

    pdg = rng.choice([211, -211, 321, -321, 130, 221], n, p=[0.5, 0.15, 0.15, 0.05, 0.1, 0.05])
    masses = np.array([mass(int(p)) for p in pdg])
    p3 = np.column_stack([rng.normal(0, 60, n), rng.normal(0, 60, n), rng.uniform(100, 4000, n)])
    vtx = np.column_stack([rng.normal(0, 20, n), rng.normal(0, 20, n), rng.uniform(0, 5000, n)])
    mes = ParticleSample(four_vector(masses, p3), vtx, pdg, 1e-3)
    center, radius = [0.0, 0.0, 54100.0], 610.6
    opts = dict(chunk_size=1000, n_nu_per_decay=2, pipe_radius_cm=100.0)
    fast = neutrino_flux(mes, center, radius, 5000.0, np.random.default_rng(8), edges_mev=edges, **opts)
    nus = neutrinos_towards_sphere(mes, center, radius, 5000.0, np.random.default_rng(8), **opts)
    slow = flux_from_neutrinos(nus, center, radius, edges_mev=edges)
    for k in ("numu", "numubar", "nue", "nuebar"):
        assert fast[k].sum() > 0
        np.testing.assert_allclose(fast[k], slow[k], rtol=1e-9, atol=1e-12 * fast[k].max())
        np.testing.assert_allclose(fast[k + "_err"], slow[k + "_err"], rtol=1e-9, atol=1e-12 * fast[k].max())
        assert fast[k + "_by_parent"].keys() == slow[k + "_by_parent"].keys()
        for par, h in fast[k + "_by_parent"].items():
            np.testing.assert_allclose(h, slow[k + "_by_parent"][par], rtol=1e-9, atol=1e-12 * fast[k].max())
    sel = nus.pdgid == 14
    res = ray_sphere_intersection(nus.vertex[sel], nus.p4[sel, 1:] / nus.p4[sel, :1], center, radius)
    ref = np.histogram(nus.p4[sel, 0], edges, weights=nus.weight[sel] * res.chord / sphere_volume(radius))[0]
    np.testing.assert_allclose(slow["numu"], ref, rtol=1e-9, atol=1e-12 * ref.max())
