"""Tests of the Helm and nucleon form factors (mesonportal.detection.form_factors)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from mesonportal.detection import form_factors as ff
from mesonportal.exceptions import ParameterError

HBARC = 197.3269804  # MeV fm (physics.md §0)


def test_helm_normalisation_at_zero():
    # Analytic: F(0) = 1 for every A (3 j1(x)/x -> 1).  Tolerance: rounding (1e-14).
    for a in (1, 12, 40, 56, 208):
        assert ff.helm(0.0, a) == pytest.approx(1.0, abs=1e-14)
        assert ff.helm(1e-6, a) == pytest.approx(1.0, abs=1e-12)


def test_helm_r1_carbon_by_hand():
    # physics.md §2.1 formula evaluated by hand for A = 12 (s = 0.9 fm); rel. 1e-12.
    r1sq = (1.23 * 12 ** (1 / 3) - 0.6) ** 2 + 7 / 3 * math.pi**2 * 0.52**2 - 5 * 0.81
    assert ff.helm_r1_fm(12) == pytest.approx(math.sqrt(r1sq), rel=1e-12, abs=0.0)
    assert ff.helm_r1_fm(12) == pytest.approx(2.6624, abs=1e-3)  # quoted value, 1e-3 fm


@pytest.mark.parametrize("a", [12, 40, 56])
def test_helm_first_zero(a):
    # Analytic: first zero of j1(x) at x = 4.493409 (tan x = x), q0 = x/r1 * ħc.
    # Locate the zero numerically (brentq) and compare; tolerance 1e-9 relative.
    q0 = 4.493409457909064 / ff.helm_r1_fm(a) * HBARC
    root = brentq(lambda q: float(ff.helm(q, a)), 0.8 * q0, 1.2 * q0, xtol=1e-12)
    assert root == pytest.approx(q0, rel=1e-9, abs=0.0)
    assert ff.helm_first_zero_mev(a) == pytest.approx(q0, rel=1e-12, abs=0.0)
    # sign change through the zero (F > 0 before, < 0 after)
    assert ff.helm(0.99 * q0, a) > 0 > ff.helm(1.01 * q0, a)
    if a == 12:  # carbon: first zero near |q| ≈ 333 MeV
        assert q0 == pytest.approx(333.0, abs=1.0)


def test_helm_low_q_slope_is_rms_radius():
    # Analytic: F ≈ 1 − q²<r²>/6 with <r²> = (3/5) r1² + 3 s² for the Helm density
    # (box of radius r1 folded with a Gaussian of width s).  q = 2 MeV: next term O(q⁴) ~ 1e-8.
    a, q = 12, 2.0
    r1 = ff.helm_r1_fm(a)
    r2 = 0.6 * r1**2 + 3 * 0.9**2
    qfm = q / HBARC
    assert 1.0 - ff.helm(q, a) == pytest.approx(qfm**2 * r2 / 6.0, rel=1e-3, abs=0.0)


def test_helm_series_branch_continuous():
    # The small-x Taylor branch (x < 0.1) must join the closed form: compare both sides;
    # tolerance 1e-12 (closed-form cancellation at x = 0.1 is ~1e-13).
    r1 = ff.helm_r1_fm(12)
    q_edge = 0.1 / r1 * HBARC
    lo, hi = ff.helm(q_edge * (1 - 1e-13), 12), ff.helm(q_edge * (1 + 1e-13), 12)
    assert lo == pytest.approx(hi, abs=1e-12)
    # and the closed form at x = 0.1, 0.05 evaluated by hand
    for x in (0.1, 0.05):
        q = x / r1 * HBARC
        exact = 3 * (math.sin(x) - x * math.cos(x)) / x**3 * math.exp(-0.5 * (q / HBARC * 0.9) ** 2)
        assert ff.helm(q, 12) == pytest.approx(exact, abs=1e-12)


def test_helm_vectorised_and_t_version():
    q = np.array([0.0, 50.0, 200.0, 400.0])
    f = ff.helm(q, 12)
    assert f.shape == (4,)
    np.testing.assert_allclose(ff.helm_of_t(-(q**2), 12), f, rtol=1e-14)
    with pytest.raises(ParameterError):
        ff.helm_r1_fm(0.5)


def test_dipole_values():
    # Analytic dipole: G_D(0) = 1, G_D(Q² = Λ²) = 1/4, G_D(1 GeV²) = 1/(1 + 1/0.71)².
    assert ff.dipole(0.0) == 1.0
    assert ff.dipole(-0.71e6) == pytest.approx(0.25, rel=1e-14, abs=0.0)
    assert ff.dipole(-1.0e6) == pytest.approx(1.0 / (1.0 + 1.0 / 0.71) ** 2, rel=1e-14, abs=0.0)
    assert ff.dipole(-1.0e6) == pytest.approx(0.172395, rel=1e-5, abs=0.0)


def test_dirac_pauli_from_sachs():
    # Definitions: G_E = F1 − τ F2, G_M = F1 + F2 with G_E = G_D, G_M = μ_p G_D (κ = μ_p − 1).
    t = np.array([0.0, -1e4, -0.5e6, -2e6])
    f1, f2 = ff.nucleon_f1_f2(t, ff.KAPPA_P)
    tau = -t / (4 * 938.27208943**2)
    gd = 1 / (1 - t / 0.71e6) ** 2
    np.testing.assert_allclose(f1 - tau * f2, gd, rtol=1e-13)
    np.testing.assert_allclose(f1 + f2, ff.MU_P * gd, rtol=1e-13)
    assert f1[0] == 1.0 and f2[0] == pytest.approx(1.792847344, rel=1e-12, abs=0.0)
    # kappa = 0: pure Dirac proton, F1 = G_D, F2 = 0
    g1, g2 = ff.nucleon_f1_f2(t, 0.0)
    np.testing.assert_allclose(g1, gd, rtol=1e-13)
    np.testing.assert_allclose(g2, 0.0, atol=0)
