"""The PIENU flag end to end (issue #17, 7c): through ``fit`` (API and CLI, JSON and text) for a
model the proxy bound excludes, and one verdict shared by fit and scan.

Reference: PIENU proxy bounds (arXiv:2006.00389, 90 % CL) R_μ = Γ(π→μνX)/Γ(π→μν) < 8.6e-6 for
m_X < 33.9 MeV.  Γ(π→μνφ) ∝ g_μ² exactly (one emission vertex), so g_μ = 0.1 gives 10⁶ × the
benchmark's R_μ (g_μ = 1e-4: 4.8e-10, allowed) = 4.8e-4, excluded by a factor ~56.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mesonportal.analysis.scan import ScanSpec, evaluate_mass_point, parse_axis, toy_predictor
from mesonportal.cli.main import main
from mesonportal.models.registry import load_benchmark, make_model
from mesonportal.production.limits import pion_branching_ratios

SAMPLES = "20000"


def test_excluded_scalar_through_fit_json_and_text(capsys):
    args = ["fit", "--benchmark", "scalar", "--param", "g_mu=0.1", "--param", "lam=1e-9", "--samples", SAMPLES]
    assert main([*args, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["pienu_allowed"] is False
    assert res["pienu"]["pienu_mu"]["allowed"] is False
    r_bench = pion_branching_ratios(load_benchmark("scalar"))["R_mu"]
    assert res["pienu"]["R_mu"] == pytest.approx(1e6 * r_bench, rel=1e-9)
    assert res["pienu"]["R_mu"] > res["pienu"]["pienu_mu"]["bound"] == pytest.approx(8.6e-6)
    assert main(args) == 0
    assert "PIENU (proxy bounds): EXCLUDED" in capsys.readouterr().out


def test_benchmark_scalar_allowed_through_fit_json(capsys):
    assert main(["fit", "--benchmark", "scalar", "--samples", SAMPLES, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["pienu_allowed"] is True and res["pienu"]["R_mu"] < 1e-8


@pytest.mark.parametrize("params", [
    {"g_mu": 0.1},        # excluded through π → μνφ
    {"g_mu": 1e-4},       # allowed
    {"g_mu": 1e-4, "g_e": 0.05},   # excluded through π → eνφ (R_e bound 1.6e-7)
])
def test_scan_flag_equals_fit_verdict(params):
    fixed = {"m_zprime": 49.0, "g_mu": 1e-4, "g_e": 0.0, "g_n": 1e-4, "lam": 1e-5, "charge": "up", **params}
    spec = ScanSpec("miniboone", "scalar", (parse_axis("m_x=2"), parse_axis("coupling_product=LOG:1e-10:1e-8:3")),
                    fixed)
    cols = evaluate_mass_point(spec, spec.mass_points()[0], predictor=toy_predictor)
    verdict = pion_branching_ratios(make_model("scalar", m_x=2.0, **fixed))["allowed"]
    assert np.all(cols["pienu_allowed"] == verdict)


def test_scan_uses_per_channel_bounds_like_the_fit():
    # idm-double has two dark vectors: its pion channels are judged each at its own mass (the
    # fit's logic); the scan must give the same verdict rather than summing R against one bound.
    model = load_benchmark("idm-double")
    p = model.params()
    axes = (parse_axis(f"m_v1={p['m_v1']}"), parse_axis("coupling_product=LOG:1e-9:1e-7:2"))
    spec = ScanSpec("miniboone", "idm", axes, {k: v for k, v in p.items() if k != "m_v1"})
    cols = evaluate_mass_point(spec, spec.mass_points()[0], predictor=toy_predictor)
    assert np.all(cols["pienu_allowed"] == pion_branching_ratios(model)["allowed"])
