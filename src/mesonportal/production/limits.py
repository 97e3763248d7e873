"""Laboratory bounds on the production channels: PIENU π⁺ → ℓ⁺ ν + invisible.

PIENU searched for π⁺ → ℓ⁺ ν X with X invisible (arXiv:2101.07381, PRD 103 (2021) 052006) and
quotes 90% C.L. upper limits on R_ℓ(m_X) = Γ(π⁺ → ℓ⁺ ν X)/Γ(π⁺ → μ⁺ ν_μ) as *curves* in m_X
(e: 0 < m_X < 120 MeV; μ: 0 < m_X < 33.9 MeV).  The numerical curves were not available in the
reference material at hand, so this module uses, as a documented **proxy**, the single numbers of
the same experiment for four-body invisible final states with the same visible lepton and the
same normalisation (arXiv:2006.00389, PRD 102 (2020) 012001, 90% C.L.):

    Γ(π⁺ → e⁺ ν_e ν ν̄)/Γ(π⁺ → μ⁺ ν_μ) < 1.6 × 10⁻⁷,
    Γ(π⁺ → μ⁺ ν_μ ν ν̄)/Γ(π⁺ → μ⁺ ν_μ) < 8.6 × 10⁻⁶,

applied mass-independently within the m_X ranges of arXiv:2101.07381.  Replace
:data:`PIENU_PROXY` by the digitised m_X-dependent curves when they are available; the lepton
spectrum of a three-body decay differs from the four-body one, so the proxy is indicative only
(every output carries ``"status": "proxy"``).  The bound applies only if X escapes PIENU
(long-lived and invisible), which holds for the benchmark lifetimes (cτ ≳ 10 km).
"""

from __future__ import annotations

from typing import Any

from mesonportal import constants as C
from mesonportal.exceptions import ParameterError

__all__ = ["BR_PI_MUNU", "PIENU_PROXY", "pienu_bound", "pion_branching_ratios"]

# PDG 2022: BR(π⁺ → μ⁺ ν_μ) = 0.9998770 (± 0.0000004); PIENU normalises to Γ(π⁺ → μ⁺ ν_μ).
BR_PI_MUNU = 0.9998770

PIENU_PROXY: dict[str, dict[str, Any]] = {
    "e": {
        "bound": 1.6e-7,
        "quantity": "Gamma(pi+ -> e+ nu X)/Gamma(pi+ -> mu+ nu_mu)",
        "m_x_range_mev": (0.0, 120.0),
        "cl": 0.90,
        "reference": "PIENU arXiv:2101.07381 (m_X range); value: arXiv:2006.00389, pi+ -> e+ nu_e nu nubar",
        "status": "proxy",
    },
    "mu": {
        "bound": 8.6e-6,
        "quantity": "Gamma(pi+ -> mu+ nu X)/Gamma(pi+ -> mu+ nu_mu)",
        "m_x_range_mev": (0.0, 33.9),
        "cl": 0.90,
        "reference": "PIENU arXiv:2101.07381 (m_X range); value: arXiv:2006.00389, pi+ -> mu+ nu_mu nu nubar",
        "status": "proxy",
    },
}


def pienu_bound(lepton: str = "e", m_x: float | None = None) -> dict[str, Any]:
    """PIENU 90% C.L. bound on R_ℓ = Γ(π⁺ → ℓ⁺ ν X)/Γ(π⁺ → μ⁺ ν_μ) (dimensionless) for
    ``lepton`` "e" or "mu" at dark mass ``m_x`` [MeV] (module docstring: proxy values).

    Returns a dict with "bound" (None outside the searched m_X range), "quantity", "cl",
    "m_x_range_mev", "reference", "status"."""
    if lepton not in PIENU_PROXY:
        raise ParameterError(f"lepton {lepton!r} unknown; allowed: {', '.join(PIENU_PROXY)}")
    info = dict(PIENU_PROXY[lepton])
    if m_x is not None:
        lo, hi = info["m_x_range_mev"]
        if not (m_x >= 0):
            raise ParameterError(f"m_x = {m_x!r} must be >= 0 MeV")
        if not (lo <= m_x < hi):
            info["bound"] = None
    return info


def pion_branching_ratios(model) -> dict[str, Any]:
    """BR(π⁺ → e⁺ ν X), BR(π⁺ → μ⁺ ν X) of ``model`` (PDG total width), the PIENU ratios
    R_ℓ = Γ(π → ℓ ν X)/Γ(π → μ ν_μ) = BR_X / BR(π → μν) (PDG) and whether the point
    is allowed by the (proxy) PIENU bounds.  Needs a model with ``production_channels()`` whose
    pion channels are labelled "pi+ -> e+ ..." / "pi+ -> mu+ ..." and a ``dark_mass``."""
    # Each pion channel is checked against the bound at its own dark mass (a model may produce
    # several dark states, e.g. V1 and V2); R_ℓ reports the sum over channels.
    br = {"e": 0.0, "mu": 0.0}
    per_channel: list[tuple[str, float, float]] = []  # (lepton, m_x, BR)
    for ch in model.production_channels():
        if abs(ch.parent) != C.PDG["pi+"] or "->" not in ch.label:
            continue
        lep = ch.label.split("->")[1].split()[0].rstrip("+-")
        if lep in br:
            br[lep] += ch.branching_ratio
            per_channel.append((lep, float(ch.dark_mass), float(ch.branching_ratio)))
    out: dict[str, Any] = {"BR(pi -> e nu X)": br["e"], "BR(pi -> mu nu X)": br["mu"]}
    allowed = True
    for lep in ("e", "mu"):
        chans = [(m, b) for (l_, m, b) in per_channel if l_ == lep]
        ok = True
        bound = pienu_bound(lep, chans[0][0] if chans else None)
        for m_x, b in chans:
            bnd = pienu_bound(lep, m_x)
            if bnd["bound"] is not None and b / BR_PI_MUNU >= bnd["bound"]:
                ok, bound = False, bnd
        allowed = allowed and ok
        out[f"R_{lep}"] = br[lep] / BR_PI_MUNU
        out[f"pienu_{lep}"] = {**bound, "allowed": ok}
    out["allowed"] = allowed
    return out
