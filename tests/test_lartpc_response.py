"""LAr-TPC response: conversion, containment, separation, thresholds, topologies.

References: photon mean free path 9/7 X0 with X0(LAr) = 14.0 cm (PDG) -> 18.0 cm; the escape
probability of a photon from a slab is exp(-h / (lambda cos theta)) (exponential attenuation);
all other expectations follow from the response definition.  Statistical tolerances are 4 sigma
(binomial or sample-mean errors) at fixed seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mesonportal.exceptions import ConfigError, ParameterError
from mesonportal.responses import BoxVolume, LArTPCResponse, respond, sum_by_topology
from mesonportal.responses.lartpc import LABELS

HUGE = [((-1e7, -1e7, -1e7), (1e7, 1e7, 1e7))]
DETERMINISTIC = dict(dedx_gamma_id=1.0, dedx_electron_id=1.0)


def _events(n, pdg0, e0, dir0=(0, 0, 1), pdg1=0, e1=0.0, dir1=(0, 0, 1), vertex=(0, 0, 0)):
    p4 = np.zeros((n, 2, 4))
    for slot, (pdg, e, d) in enumerate(((pdg0, e0, dir0), (pdg1, e1, dir1))):
        if pdg:
            m = 0.0 if pdg == 22 else 0.51099895
            p = math.sqrt(max(e * e - m * m, 0.0))
            d = np.asarray(d, float) / np.linalg.norm(d)
            p4[:, slot] = [e, *(p * d)]
    pdg = np.zeros((n, 2), np.int64)
    pdg[:, 0], pdg[:, 1] = pdg0, pdg1
    return np.tile(np.asarray(vertex, float), (n, 1)), p4, pdg


def test_default_conversion_length_is_18cm():
    # 9/7 * 14.0 cm (PDG); exact arithmetic
    assert LArTPCResponse().conversion_length_cm == pytest.approx(18.0, rel=1e-12)


def test_conversion_distance_distribution_matches_exponential():
    n = 100_000
    v, p4, pdg = _events(n, 22, 500.0)
    res = respond(LArTPCResponse(), v, p4, pdg, None, None, active=HUGE, fiducial=HUGE, rng=np.random.default_rng(3))
    d = res.conversion_distance_cm[:, 0]
    # sample mean vs 18 cm within 4 sigma (sigma = 18/sqrt(n))
    assert abs(d.mean() - 18.0) < 4 * 18.0 / math.sqrt(n)
    # full shape: Kolmogorov-Smirnov against Exp(18 cm)
    assert stats.kstest(d, "expon", args=(0, 18.0)).pvalue > 1e-3
    assert np.all(np.isnan(res.conversion_distance_cm[:, 1]))  # absent slot


@pytest.mark.parametrize("h,cos_t", [(10.0, 1.0), (25.0, 1.0), (10.0, 0.5)])
def test_photons_escape_slab_at_analytic_rate(h, cos_t):
    # slab 0 < z < h (infinite in x, y); vertex at z = 0+ , photon at angle theta to the normal:
    # P(convert inside) = 1 - exp(-h / (lambda cos theta))
    n = 40_000
    slab = [((-1e7, -1e7, 0.0), (1e7, 1e7, h))]
    d = (math.sqrt(1 - cos_t**2), 0.0, cos_t)
    v, p4, pdg = _events(n, 22, 500.0, dir0=d, vertex=(0, 0, 1e-9))
    res = respond(LArTPCResponse(), v, p4, pdg, None, None, active=slab, fiducial=slab, rng=np.random.default_rng(4))
    p = 1.0 - math.exp(-h / (18.0 * cos_t))
    frac = res.converts_inside[:, 0].mean()
    assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / n)
    # lost photons leave no shower
    assert np.all(res.n_showers[~res.converts_inside[:, 0]] == 0)
    assert np.all(res.topology[~res.converts_inside[:, 0]] == "none")


@pytest.mark.parametrize("angle,expect_ee", [(3.0, False), (4.9, False), (5.1, True), (20.0, True)])
def test_pair_opening_angle_separation(angle, expect_ee):
    n = 4000
    a = math.radians(angle / 2)
    v, p4, pdg = _events(n, 11, 200.0, (math.sin(a), 0, math.cos(a)), -11, 150.0, (-math.sin(a), 0, math.cos(a)))
    res = respond(LArTPCResponse(), v, p4, pdg, None, None, active=HUGE, fiducial=HUGE, rng=np.random.default_rng(5))
    if expect_ee:
        assert np.all(res.topology == "ee0p") and np.all(res.n_showers == 2)
    else:
        # merged pair from the vertex starts with 2 MIP: photon-like with prob dedx_gamma_id (0.8)
        assert np.all(res.n_showers == 1) and not np.any(res.topology == "ee0p")
        f = np.mean(res.topology == "1g0p")
        assert abs(f - 0.8) < 4 * math.sqrt(0.16 / n)
        assert np.all(np.isin(res.topology, ["1g0p", "1e0p"]))


def test_shower_and_proton_thresholds():
    r = LArTPCResponse(shower_threshold_mev=30.0, proton_ke_threshold_mev=40.0, **DETERMINISTIC)
    rng = np.random.default_rng(6)
    for e, expect in ((29.0, 0), (31.0, 1)):
        v, p4, pdg = _events(200, 11, e + 0.51099895)  # kinetic energy e
        res = respond(r, v, p4, pdg, None, None, active=HUGE, fiducial=HUGE, rng=rng)
        assert np.all(res.n_showers == expect)
    for ke, visible in ((39.0, False), (41.0, True)):
        v, p4, pdg = _events(200, 22, 300.0)
        res = respond(r, v, p4, pdg, np.full(200, ke), None, active=HUGE, fiducial=HUGE, rng=rng)
        assert np.all(res.proton_visible == visible)
        assert np.all(res.topology == ("1g1p" if visible else "1g0p"))


def test_topology_classification_hand_made():
    r = LArTPCResponse(**DETERMINISTIC)
    box = [((0, -100, 0), (200, 100, 1000))]
    fid = [((20, -80, 20), (180, 80, 900))]
    rng = np.random.default_rng(7)
    inside = (100, 0, 500)
    cases = [
        (dict(pdg0=22, e0=300.0), 0.0, inside, "1g0p"),
        (dict(pdg0=22, e0=300.0), 100.0, inside, "1g1p"),
        (dict(pdg0=11, e0=300.0), 0.0, inside, "1e0p"),
        (dict(pdg0=11, e0=300.0), 100.0, inside, "none"),  # 1e1p is not a target topology
        (dict(pdg0=11, e0=300.0, dir0=(0.3, 0, 1), pdg1=-11, e1=200.0, dir1=(-0.3, 0, 1)), 0.0, inside, "ee0p"),
        (dict(pdg0=11, e0=300.0, dir0=(0.3, 0, 1), pdg1=-11, e1=200.0, dir1=(-0.3, 0, 1)), 100.0, inside, "none"),
        (dict(pdg0=22, e0=300.0, dir0=(0.5, 0, 1), pdg1=22, e1=200.0, dir1=(-0.5, 0, 1)), 0.0, inside, "none"),
        (dict(pdg0=22, e0=300.0, dir0=(0.5, 0, 1), pdg1=11, e1=200.0, dir1=(-0.5, 0, 1)), 0.0, inside, "none"),
        (dict(pdg0=22, e0=300.0), 0.0, (10, 0, 500), "none"),  # outside fiducial, inside active
        (dict(pdg0=0, e0=0.0), 0.0, inside, "none"),
        (dict(pdg0=11, e0=300.0, pdg1=-11, e1=10.0), 0.0, inside, "1e0p"),  # soft positron invisible
    ]
    for kw, ke, vtx, expect in cases:
        v, p4, pdg = _events(50, vertex=vtx, **kw)
        res = respond(r, v, p4, pdg, np.full(50, ke), None, active=box, fiducial=fid, rng=rng)
        assert np.all(res.topology == expect), (kw, ke, vtx, expect, set(res.topology))


def test_gap_and_dedx_tagging():
    v, p4, pdg = _events(500, 22, 300.0)
    ke = np.full(500, 100.0)
    # vertex known (proton) and gap cut at 0: always photon-like, even with a useless dE/dx
    r = LArTPCResponse(gap_min_cm=0.0, dedx_gamma_id=0.0)
    res = respond(r, v, p4, pdg, ke, None, active=HUGE, fiducial=HUGE, rng=np.random.default_rng(8))
    assert np.all(res.topology == "1g1p")
    # gap unusable (cut huge) and dE/dx always wrong: photon looks like an electron -> 1e1p -> none
    r = LArTPCResponse(gap_min_cm=1e9, dedx_gamma_id=0.0)
    res = respond(r, v, p4, pdg, ke, None, active=HUGE, fiducial=HUGE, rng=np.random.default_rng(8))
    assert np.all(res.topology == "none")
    # without a proton the gap is never used: dE/dx only -> fraction 1g0p = dedx_gamma_id
    r = LArTPCResponse(gap_min_cm=0.0, dedx_gamma_id=0.6)
    res = respond(r, v, p4, pdg, None, None, active=HUGE, fiducial=HUGE, rng=np.random.default_rng(8))
    f = np.mean(res.topology == "1g0p")
    assert abs(f - 0.6) < 4 * math.sqrt(0.24 / 500)
    assert set(res.topology) <= {"1g0p", "1e0p"}
    # gap tagging with a proton: photon-like fraction = P(gap > g) + P(gap <= g) * dedx_gamma_id
    g = 10.0
    r = LArTPCResponse(gap_min_cm=g, dedx_gamma_id=0.0)
    n = 20_000
    v, p4, pdg = _events(n, 22, 300.0)
    res = respond(r, v, p4, pdg, np.full(n, 100.0), None, active=HUGE, fiducial=HUGE, rng=np.random.default_rng(9))
    p = math.exp(-g / 18.0)
    assert abs(np.mean(res.topology == "1g1p") - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_resolution_smearing_matches_parameters():
    n = 50_000
    r = LArTPCResponse(energy_resolution_stochastic=0.15, energy_resolution_constant=0.05, angular_resolution_deg=3.0)
    v, p4, pdg = _events(n, 11, 500.0)
    res = respond(r, v, p4, pdg, None, None, active=HUGE, fiducial=HUGE, rng=np.random.default_rng(10))
    rel = math.sqrt((0.15 / math.sqrt(0.5)) ** 2 + 0.05**2)
    e = res.shower_energy_mev
    assert abs(e.mean() / 500.0 - 1.0) < 4 * rel / math.sqrt(n)
    assert abs(e.std() / 500.0 / rel - 1.0) < 0.03
    # 2-D Gaussian of width sigma per projection: <theta^2> = 2 sigma^2
    th = np.arccos(np.clip(res.cos_theta_beam, -1, 1))
    s = math.radians(3.0)
    assert abs(np.mean(th**2) / (2 * s * s) - 1.0) < 0.03


def test_reproducible_with_seed_and_efficiency_weights():
    rng0 = np.random.default_rng(0)
    n = 3000
    v = rng0.uniform((0, -100, 0), (200, 100, 1000), size=(n, 3))
    pdg = rng0.choice([0, 22, 11, -11], size=(n, 2))
    d = rng0.normal(size=(n, 2, 3)) + [0, 0, 3]
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    e = rng0.uniform(10, 800, size=(n, 2))
    p4 = np.concatenate([e[..., None], e[..., None] * d], axis=-1)
    p4[pdg == 0] = 0.0
    ke = rng0.uniform(0, 100, n)
    w = rng0.uniform(0, 1e-20, n)
    box = [((0, -100, 0), (200, 100, 1000))]
    fid = [((10, -90, 10), (190, 90, 990))]
    r = LArTPCResponse()
    a = respond(r, v, p4, pdg, ke, w, active=box, fiducial=fid, rng=np.random.default_rng(42))
    b = respond(r, v, p4, pdg, ke, w, active=box, fiducial=fid, rng=np.random.default_rng(42))
    c = respond(r, v, p4, pdg, ke, w, active=box, fiducial=fid, rng=np.random.default_rng(43))
    for field in ("topology_code", "shower_energy_mev", "cos_theta_beam", "weight_selected"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.shower_energy_mev, c.shower_energy_mev)
    assert len(set(a.topology)) == 5  # every label occurs in this mixed sample
    eff = np.array([r.efficiency(t) for t in LABELS])[a.topology_code]
    np.testing.assert_allclose(a.weight_selected, w * eff)
    tot = a.events_by_topology(exposure_pot=6.8e20)
    for t in ("1g0p", "1g1p", "ee0p", "1e0p"):
        assert tot[t] == pytest.approx(np.sum(w[a.topology == t]) * r.efficiency(t) * 6.8e20)
    # labels and codes give the same sums; errors are sqrt(sum w^2)
    s1 = sum_by_topology(a.topology, a.weight_selected, with_errors=True)
    s2 = sum_by_topology(a.topology_code, a.weight_selected, with_errors=True)
    assert s1 == s2
    assert s1["1g0p_err"] == pytest.approx(math.sqrt(np.sum(a.weight_selected[a.topology == "1g0p"] ** 2)))


def test_from_mapping_and_errors():
    r = LArTPCResponse.from_mapping({"shower_threshold_mev": 50, "efficiency": {"ee0p": 0.2}})
    assert r.shower_threshold_mev == 50.0 and r.efficiency("ee0p") == 0.2
    assert LArTPCResponse.from_mapping(None) == LArTPCResponse()
    bad = [
        ({"shower_threshold_mev": -1}, "shower_threshold_mev"),
        ({"photon_threshold": 3}, "unknown"),
        ({"efficiency": {"2g0p": 0.1}}, "unknown topology"),
        ({"efficiency": {"1g0p": 1.5}}, "efficiency_1g0p"),
        ({"dedx_gamma_id": "high"}, "expected a number"),
        ({"radiation_length_cm": 0}, "radiation_length_cm"),
        ({"pair_separation_deg": 200}, "pair_separation_deg"),
    ]
    for mapping, needle in bad:
        with pytest.raises(ConfigError) as exc:
            LArTPCResponse.from_mapping(mapping, where="microboone.toml:detector.response")
        msg = str(exc.value)
        assert needle in msg and "\n" not in msg and "microboone.toml" in msg
    with pytest.raises(ParameterError):
        LArTPCResponse(proton_ke_threshold_mev=float("nan"))


def test_bad_inputs_raise_one_line_errors():
    r = LArTPCResponse()
    v, p4, pdg = _events(3, 22, 300.0)
    rng = np.random.default_rng(0)
    with pytest.raises(ParameterError, match="22, 11, -11"):
        respond(r, v, p4, np.full((3, 2), 13), None, None, active=HUGE, fiducial=HUGE, rng=rng)
    with pytest.raises(ParameterError, match="vertex"):
        respond(r, v[:, :2], p4, pdg, None, None, active=HUGE, fiducial=HUGE, rng=rng)
    with pytest.raises(ParameterError, match="weight"):
        respond(r, v, p4, pdg, None, -np.ones(3), active=HUGE, fiducial=HUGE, rng=rng)
    with pytest.raises(ParameterError, match="NaN"):
        respond(r, v, p4 * np.nan, pdg, None, None, active=HUGE, fiducial=HUGE, rng=rng)
    with pytest.raises(ParameterError, match="active volume"):
        respond(r, v, p4, pdg, None, None, active=[((0, 0, 0), (-1, 1, 1))], fiducial=HUGE, rng=rng)
    with pytest.raises(ParameterError, match="beam_direction"):
        respond(r, v, p4, pdg, None, None, active=HUGE, fiducial=HUGE, rng=rng, beam_direction=(0, 0, 0))
    with pytest.raises(ParameterError, match="unknown topology"):
        sum_by_topology(np.array(["2g"]), np.ones(1))


def test_box_volume_union_and_overlap():
    icarus_like = BoxVolume.from_pairs([((-400, -180, -900), (-100, 130, 900)), ((100, -180, -900), (400, 130, 900))])
    inside = icarus_like.contains(np.array([[-200, 0, 0], [200, 0, 0], [0, 0, 0], [200, 0, 950]]))
    assert inside.tolist() == [True, True, False, False]
    assert icarus_like.volume_cm3 == pytest.approx(2 * 300 * 310 * 1800)
    with pytest.raises(ParameterError, match="overlap"):
        BoxVolume.from_pairs([((0, 0, 0), (2, 2, 2)), ((1, 1, 1), (3, 3, 3))])
    with pytest.raises(ParameterError, match="corner pairs"):
        BoxVolume.from_pairs([[1, 2, 3]])
    # a photon leaving one module and converting in the other still makes a shower (gap tag)
    n = 20_000
    v, p4, pdg = _events(n, 22, 300.0, dir0=(1, 0, 0), vertex=(-101, 0, 0))
    res = respond(LArTPCResponse(), v, p4, pdg, None, None, active=icarus_like, fiducial=icarus_like, rng=np.random.default_rng(2))
    # converts inside if d < 1 cm (first module) or d > 201 cm and < 501 cm (second module)
    p = (1 - math.exp(-1 / 18)) + (math.exp(-201 / 18) - math.exp(-501 / 18))
    assert abs(res.converts_inside[:, 0].mean() - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-4


def test_histograms_sum_to_selected_events():
    rng0 = np.random.default_rng(11)
    n = 2000
    v = np.zeros((n, 3))
    pdg = rng0.choice([22, 11], size=(n, 2))
    pdg[:, 1] = 0
    e = rng0.uniform(50, 2500, n)
    p4 = np.zeros((n, 2, 4))
    p4[:, 0] = np.column_stack([e, np.zeros(n), np.zeros(n), e])
    w = rng0.uniform(0, 1, n)
    res = respond(LArTPCResponse(), v, p4, pdg, None, w, active=HUGE, fiducial=HUGE, rng=np.random.default_rng(12))
    h = res.histograms(exposure_pot=2.0)
    tot = sum(res.events_by_topology(exposure_pot=2.0).values())
    for key in ("shower_energy", "costheta"):
        assert sum(h[key]["counts"]) + h[key]["outside"] == pytest.approx(tot)
        for i in range(len(h[key]["counts"])):
            assert sum(h[key]["by_topology"][t][i] for t in ("1g0p", "1g1p", "ee0p", "1e0p")) == pytest.approx(h[key]["counts"][i])
    assert len(h["shower_energy"]["edges"]) == 31 and len(h["costheta"]["counts"]) == 20
    with pytest.raises(ParameterError, match="energy_edges_mev"):
        res.histograms(energy_edges_mev=[3.0, 1.0])
