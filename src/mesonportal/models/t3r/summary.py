"""One call from a U(1)_T3R point to all its predictions (the API behind ``mesonportal t3r``)."""

from __future__ import annotations

from typing import Any

from mesonportal.exceptions import ParameterError
from mesonportal.models.t3r.direct import sigma_si
from mesonportal.models.t3r.gminus2 import MEASURED_ANOMALY, delta_a_mu
from mesonportal.models.t3r.mapping import simplified_models
from mesonportal.models.t3r.model import CONVENTION, T3RPoint
from mesonportal.models.t3r.relic import (
    OMEGA_H2_PLANCK,
    channel_fractions,
    channel_thresholds,
    relic_density,
    solve_v_for_relic,
)

__all__ = ["evaluate"]


def evaluate(m_aprime: float, m_phiprime: float, m_dm: float, v_gev: float | None = None, delta: float = 0.0,
             m_nus: float = 10.0, m_nud: float = 1.0e-3, anomaly: str = "2021") -> dict[str, Any]:
    """Couplings, Δa_μ, relic abundance (V solved for Ω h² = 0.12 when ``v_gev`` is None), σ_SI and
    the simplified-model mapping of a T3R point.  Masses MeV, V GeV.  JSON-ready dict with keys
    ``couplings``, ``delta_a_mu`` (number) and ``delta_a_mu_detail``, ``relic: {v_gev, omega_h2,
    sigma_v_cm3_s, channels, ...}`` (``channels``: every annihilation channel with its threshold
    and share of ⟨σv⟩ at x_f), ``sigma_si_pb: {scalar, vector, ...}``, ``simplified_models``,
    ``params``, ``convention``."""
    if anomaly not in MEASURED_ANOMALY:
        raise ParameterError(f"parameter 'anomaly' = {anomaly!r}; allowed: {', '.join(MEASURED_ANOMALY)}")
    point = T3RPoint(m_aprime, m_phiprime, m_dm, delta, m_nus, m_nud, v_gev)
    if v_gev is None:
        v, rel = solve_v_for_relic(point)
        point = point.with_v(v)
        solved = True
    else:
        rel = relic_density(point)
        solved = False
    g2 = delta_a_mu(point.v_gev, m_aprime, m_phiprime)
    thr = channel_thresholds(point)
    x_f = rel.x_f if rel.x_f == rel.x_f else 20.0
    frac = channel_fractions(point, point.m_eta1, x_f)
    channels = [
        {"channel": k, "threshold_mev": thr[k], "open_at_rest": bool(thr[k] < 2 * point.m_eta1),
         "fraction_at_x_f": frac[k]}
        for k in sorted(frac, key=lambda k: -frac[k])
    ]
    meas = MEASURED_ANOMALY[anomaly]
    total = float(g2["total"])
    return {
        "params": point.params(),
        "convention": CONVENTION,
        "couplings": point.couplings(),
        "delta_a_mu": total,
        "delta_a_mu_detail": {
            "total": total, "phi_prime": float(g2["phi_prime"]), "aprime": float(g2["aprime"]),
            "prefactor_m_mu2_over_16pi2_v2": float(g2["prefactor"]), "c_phi_prime": float(g2["c_phi_prime"]),
            "c_aprime": float(g2["c_aprime"]), "m_mu_mev": g2["m_mu_mev"],
            "measured": meas["value"], "measured_error": meas["error"], "measured_source": meas["source"],
            "pull_sigma": (total - meas["value"]) / meas["error"],
        },
        "relic": {
            "v_gev": point.v_gev, "omega_h2": rel.omega_h2, "sigma_v_cm3_s": rel.sigma_v_xf_cm3_s,
            "x_f": rel.x_f, "y_inf": rel.y_inf, "v_solved_for_omega_h2": OMEGA_H2_PLANCK if solved else None,
            "sigma_v_definition": "<sigma_eff v> (Gondolo-Gelmini, eta1+eta2 coannihilation) at x_f, where Y = 2 Y_eq",
            "channels": channels,
            "channels_definition": ("eta1 eta1 -> X: sqrt(s) threshold [MeV], open for eta1 at rest (threshold < 2 m_eta1), "
                                    "share of the Gondolo-Gelmini <sigma v> of eta1 eta1 at x_f"),
        },
        "sigma_si_pb": sigma_si(point, "p"),
        "simplified_models": simplified_models(point),
        "units": {"masses": "MeV", "v": "GeV", "sigma_v": "cm^3/s", "sigma_si": "pb"},
    }
