"""Which simplified model of the package a U(1)_T3R point realises (docs/t3r.md §5).

* **scalar** (physics.md §2.1, :class:`~mesonportal.models.scalar.ScalarZprime`): φ′ is the long-
  lived scalar X, A′ the Z′.  g_μ = m_μ/(√2V), g_e = m_e/(√2V); the Z′ quark couplings are the
  vector parts of the RH A′ couplings, g_u = −g_T3R, g_d = +g_T3R (``charge = "custom"``,
  c_u = −1, c_d = +1, g_n = g_T3R), so the coherent nuclear charge is g_T3R (N − Z) — zero for
  ¹²C: only the hydrogen of CH₂ scatters (proton charge −g_T3R).  The φ′ F′F coupling is the
  fermion-loop (low-energy-theorem) value
      λ = Σ_{f = e, μ} √2 e Q_f g_V^f / (6π² V) · (3/4) A_S(τ_f),  A_S(τ) = 2τ[1 + (1 − τ) f(τ)],
  τ_f = 4m_f²/m_φ′² (A_S → 4/3 for heavy fermions; quark loops omitted, as in Γ(φ′ → γγ)).
  The invisible φ′ widths of the UV model (ν_s ν_s, active νν, η η, A′A′) and φ′ → ππ are added
  to the scalar model's widths (they shorten the φ′ lifetime and dilute its visible branching
  ratios).  Valid for m_φ′ < m_A′ (otherwise φ′ → A′γ opens, which the scalar chain lacks).
* **pseudoscalar**: not realised — φ′ is CP-even and the would-be pseudoscalar is eaten by A′.
* **idm** (physics.md §2.2): not realised — A′ couples to the U(1)_T3R current of RH fermions,
  not to ε J_EM, and η₁, η₂ have only diagonal axial A′ couplings (no η₁ → η₂ up-scattering).
* **longlived-vector** (physics.md §2.3, :mod:`mesonportal.models.longlived_vector`): not
  realised.  A′ would be the long-lived χ only for m_A′ < 2m_e (and < 2m_νs), where g_T3R =
  m_A′/(2√2V) is tiny; its meson production is then dominated by the *axial* (Goldstone-
  equivalent, ∝ g_A² m_μ²/m_A′² = m_μ²/(8V²)) part of the right-handed coupling, while the
  longlived-vector model has pure vector couplings (and a vector π⁰/η → γχ anomaly factor).
  Dropping the axial parts would underestimate the production by orders of magnitude.

``make_model("t3r", m_aprime=..., m_phiprime=..., m_dm=..., v_gev=...)`` (hence
``mesonportal predict --model t3r --param ...``) returns the scalar realisation, or raises a
ParameterError naming the reason when no mapping exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from mesonportal import constants as C
from mesonportal.exceptions import ParameterError
from mesonportal.models.scalar import ScalarZprime, loop_function_f
from mesonportal.models.t3r.model import SM_FERMIONS, T3RPoint, fermion_mass
from mesonportal.models.t3r.widths import phi_widths

__all__ = ["T3RScalar", "make_t3r_model", "simplified_models", "phi_aprime_photon_coupling"]

_EXTRA = ("nu_s nu_s", "nu nu (active)", "eta1 eta1", "eta2 eta2", "A' A'", "pi+ pi-", "pi0 pi0")


def phi_aprime_photon_coupling(point: T3RPoint) -> float:
    """λ [MeV⁻¹] of (λ/4) φ′ F′_{μν} F^{μν} from e and μ loops (module docstring)."""
    lam = 0.0
    for name in ("e", "mu"):
        mf = fermion_mass(name)
        q_em = SM_FERMIONS[name][1]
        gv, _ = point.aprime_fermion(name)
        tau = 4 * mf * mf / point.m_phiprime**2
        f = complex(loop_function_f(tau))
        a_s = 2 * tau * (1 + (1 - tau) * f)
        lam += math.sqrt(2) * C.E_CHARGE * q_em * gv / (6 * math.pi**2 * point.v_gev * 1e3) * 0.75 * a_s.real
    return lam


@dataclass(frozen=True)
class T3RScalar(ScalarZprime):
    """The scalar simplified model realised by a T3R point (registry name ``"t3r"``); the
    extra fields carry the UV parameters and the invisible/hadronic φ′ widths of the UV model."""

    uv: tuple = ()
    extra_widths: tuple = ()
    name: ClassVar[str] = "t3r"  # type: ignore[misc]

    def partial_widths(self) -> dict[str, float]:
        out = super().partial_widths()
        out.update(dict(self.extra_widths))
        return out

    def params(self) -> dict[str, Any]:
        return dict(self.uv)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["model"] = "t3r"
        d["params"] = self.params()
        d["realised_as"] = "scalar"
        d["scalar_params"] = {k: getattr(self, k) for k in ("m_x", "m_zprime", "g_mu", "g_e", "g_n", "lam",
                                                             "charge", "c_u", "c_d")}
        from mesonportal.models.t3r.model import CONVENTION

        d["conventions"]["t3r"] = CONVENTION
        d["conventions"]["lam"] = "e and mu loops (low-energy theorem x (3/4) A_S(tau)); quark loops omitted"
        return d


def _scalar_point(point: T3RPoint) -> T3RScalar:
    if not point.m_phiprime < point.m_aprime:
        raise ParameterError(
            f"no simplified-model mapping for m_phiprime = {point.m_phiprime:g} MeV >= m_aprime = "
            f"{point.m_aprime:g} MeV (phi' -> A' gamma is open; the scalar chain needs m_phiprime < m_aprime)"
        )
    w = phi_widths(point, point.m_phiprime)
    extra = tuple((k, float(w[k][0])) for k in _EXTRA)
    return T3RScalar(
        m_x=point.m_phiprime, m_zprime=point.m_aprime,
        g_mu=point.yukawa(C.M_MU), g_e=point.yukawa(C.M_E), g_n=point.g_t3r,
        lam=phi_aprime_photon_coupling(point), charge="custom", c_u=-1.0, c_d=1.0,
        uv=tuple(point.params().items()), extra_widths=extra,
    )


def make_t3r_model(**params: Any) -> T3RScalar:
    """Registry factory for ``"t3r"``: UV parameters (m_aprime, m_phiprime, m_dm, delta, m_nus,
    m_nud [MeV], v_gev [GeV]; v_gev is required here — solve it first with ``mesonportal t3r``)."""
    allowed = ("m_aprime", "m_phiprime", "m_dm", "delta", "m_nus", "m_nud", "v_gev")
    unknown = [k for k in params if k not in allowed]
    if unknown:
        raise ParameterError(f"unknown parameter {unknown[0]!r} for model 't3r'; allowed: {', '.join(allowed)}")
    for k in ("m_aprime", "m_phiprime", "m_dm", "v_gev"):
        if params.get(k) is None:
            raise ParameterError(f"model 't3r' needs parameter {k!r}; required: m_aprime, m_phiprime, m_dm, v_gev")
    return _scalar_point(T3RPoint(**params))


def simplified_models(point: T3RPoint) -> dict[str, Any]:
    """JSON description of the mappings (module docstring) for a point with V set."""
    out: dict[str, Any] = {}
    try:
        s = _scalar_point(point)
        gamma_ctau = s.ctau
        out["scalar"] = {
            "realised": True,
            "params": {k: getattr(s, k) for k in ("m_x", "m_zprime", "g_mu", "g_e", "g_n", "lam", "charge",
                                                  "c_u", "c_d")},
            "coupling_product_g_mu_g_n_lam": s.coupling_product,
            "phi_prime_ctau_cm": gamma_ctau,
            "phi_prime_branching_ratios": s.branching_ratios(),
            "nuclear_charge_C12": s.nuclear_charge(6, 12),
            "proton_charge": s.proton_charge(),
            "predict": "mesonportal predict --model t3r " + " ".join(
                f"--param {k}={v}" for k, v in point.params().items() if v is not None),
        }
    except ParameterError as exc:
        out["scalar"] = {"realised": False, "reason": str(exc)}
    out["pseudoscalar"] = {"realised": False, "reason": "phi' is CP-even; the pseudoscalar is eaten by A'"}
    out["idm"] = {"realised": False,
                  "reason": "A' couples to the T3R current (not eps J_EM) and eta_1,2 have only diagonal axial "
                            "A' couplings: no eta_1 -> eta_2 up-scattering"}
    out["longlived-vector"] = {
        "realised": False,
        "reason": "A' couples to right-handed currents; where it is long-lived (m_A' < 2 m_e) its production is "
                  "dominated by the axial (Goldstone) part, which the vector-coupled longlived-vector model lacks"}
    return out
