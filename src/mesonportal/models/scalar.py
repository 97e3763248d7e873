"""Long-lived scalar φ / pseudoscalar a coupled to muons and, through a Z′, to nuclei
("inverse/dark Primakoff" scenario, physics.md §2.1).

    L ⊃ g_n Z′_α ū γ^α u + g_μ φ μ̄μ     + (λ/4) φ F′_{μν} F^{μν}          (ScalarZprime)
    L ⊃ g_n Z′_α ū γ^α u + i g_μ a μ̄γ⁵μ + (λ/4) a F′_{μν} F̃^{μν}          (PseudoscalarZprime)

plus an optional electron coupling g_e with the same structure.  Units: masses MeV, λ MeV⁻¹,
widths MeV, lifetimes s.

Production: π±, K± → ℓ± ν X with X radiated off the charged lepton; the spin-summed amplitude
squared (physics.md §2.1, re-derived in docs/models.md and checked against an explicit
Dirac-trace computation in tests/test_scalar_models.py) is

    |M|² = 2 g² G_F² |V|² f² B_± / (q² − m_ℓ²)²,   q² = (p_ℓ + p_X)² = m²₁₃,
    B_± = 2 m_M E_ℓ q² (q² − m_ℓ²) − (q⁴ − m_ℓ² m_M²)(q² + m_ℓ² − m_X²) ± 2 q² m_ℓ² (m_M² − q²),

(+ scalar, − pseudoscalar; E_ℓ the lepton energy in the meson rest frame), with the same
normalisation in which the SM amplitude gives Γ(M → ℓν) = G_F² f² |V|² m_ℓ² m_M (1 − m_ℓ²/m_M²)²/(8π).
Branching ratios use the PDG total widths ħ/τ (``particle`` lifetimes).

Quark charges of the Z′ (a model *convention*, stated in every output): the Z′ couples to quark
currents with g_u = c_u g_n, g_d = c_d g_n; a nucleus (Z, A) has the coherent vector charge
g_n [c_u (2Z + N) + c_d (Z + 2N)].  Presets: ``"up"`` (c_u, c_d) = (1, 0) — physics.md default,
charge g_n(2Z + N); ``"proton"`` (2/3, −1/3) — charge g_n Z; ``"baryonic"`` (1/3, 1/3) — charge
g_n A; ``"custom"`` with explicit c_u, c_d.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from mesonportal import constants as C
from mesonportal.exceptions import ParameterError
from mesonportal.models.base import MASS_MIN_MEV, DarkModel, DecayingDarkParticle, check_real
from mesonportal.production.channels import ProductionChannel
from mesonportal.production.three_body import ThreeBodyTable
from mesonportal.sample import DARK_PDG

__all__ = [
    "ScalarZprime",
    "PseudoscalarZprime",
    "CHARGE_PRESETS",
    "lepton_emission_msq",
    "sm_two_body_width",
    "loop_function_f",
    "width_gamma_gamma",
    "width_lepton_pair",
]

CHARGE_PRESETS: dict[str, tuple[float, float]] = {
    "up": (1.0, 0.0),
    "proton": (2.0 / 3.0, -1.0 / 3.0),
    "baryonic": (1.0 / 3.0, 1.0 / 3.0),
}

# mesons: name -> (pdgid, mass, decay constant, CKM element)
_MESONS = {
    "pi": (C.PDG["pi+"], C.M_PI, C.F_PI, C.V_UD),
    "K": (C.PDG["K+"], C.M_K, C.F_K, C.V_US),
}
_LEPTONS = {"mu": (C.M_MU, "mu+", "nu_mu"), "e": (C.M_E, "e+", "nu_e")}

_COUPLING_MAX = 4.0 * math.pi
_LAM_MAX = 1.0  # MeV^-1
_MASS_MAX = 1.0e5  # MeV


# ---------------------------------------------------------------------------------- physics
def sm_two_body_width(m_meson: float, m_lepton: float, f_meson: float, v_ckm: float) -> float:
    """Γ(M → ℓ ν) [MeV] = G_F² f² |V|² m_ℓ² m_M (1 − m_ℓ²/m_M²)² / (8π) (tree level,
    physics.md §0 normalisation of f), from the same spin sum
    Σ|M|² = 2 G_F² |V|² f² m_ℓ² (m_M² − m_ℓ²) used for the three-body amplitudes."""
    if m_lepton >= m_meson:
        return 0.0
    msq = 2.0 * C.G_FERMI**2 * v_ckm**2 * f_meson**2 * m_lepton**2 * (m_meson**2 - m_lepton**2)
    p = (m_meson**2 - m_lepton**2) / (2.0 * m_meson)
    return p * msq / (8.0 * math.pi * m_meson**2)


def lepton_emission_msq(m_meson: float, m_lepton: float, m_x: float, coupling: float,
                        f_meson: float, v_ckm: float, parity: int):
    """|M|²(m²₁₃, m²₂₃) of M⁺ → ℓ⁺ ν X with X (spin 0) radiated off the charged lepton.

    ``parity`` = +1 scalar (Yukawa g φ ℓ̄ℓ), −1 pseudoscalar (i g a ℓ̄γ⁵ℓ).  Particle labels as in
    :mod:`mesonportal.production.three_body` (1 = ℓ, 2 = ν, 3 = X).  Formula: physics.md §2.1
    (see module docstring); returns a vectorised callable (dimensionless |M|²)."""
    if parity not in (1, -1):
        raise ParameterError(f"parity = {parity!r} must be +1 (scalar) or -1 (pseudoscalar)")
    M2, ml2, mx2 = m_meson**2, m_lepton**2, m_x**2
    pref = 2.0 * coupling**2 * C.G_FERMI**2 * v_ckm**2 * f_meson**2
    sign = float(parity)

    def msq(m2_13, m2_23):
        q2 = np.asarray(m2_13, float)
        e_l = (M2 + ml2 - np.asarray(m2_23, float)) / (2.0 * m_meson)
        b = (2.0 * m_meson * e_l * q2 * (q2 - ml2) - (q2 * q2 - ml2 * M2) * (q2 + ml2 - mx2)
             + sign * 2.0 * q2 * ml2 * (M2 - q2))
        return pref * b / (q2 - ml2) ** 2

    return msq


def loop_function_f(tau) -> np.ndarray:
    """f(τ) of the fermion-loop γγ amplitudes (complex): arcsin²(τ^−½) for τ ≥ 1,
    −¼[ln((1+√(1−τ))/(1−√(1−τ))) − iπ]² for τ < 1 (Djouadi, hep-ph/0503172, eq. 2.22)."""
    t = np.asarray(tau, float)
    out = np.empty(t.shape, complex)
    hi = t >= 1.0
    out[hi] = np.arcsin(1.0 / np.sqrt(t[hi])) ** 2
    lo = ~hi
    if np.any(lo):
        r = np.sqrt(1.0 - t[lo])
        out[lo] = -0.25 * (np.log((1.0 + r) / (1.0 - r)) - 1j * np.pi) ** 2
    return out


def _amp_scalar(tau: float) -> complex:
    f = complex(loop_function_f(tau))
    return 2.0 * tau * (1.0 + (1.0 - tau) * f)


def _amp_pseudo(tau: float) -> complex:
    return 2.0 * tau * complex(loop_function_f(tau))


def width_gamma_gamma(m_x: float, couplings: dict[float, float], parity: int) -> float:
    """Γ(X → γγ) [MeV] through charged-lepton loops, ``couplings`` = {m_ℓ [MeV]: g_ℓ}.

    Scalar: Γ = α² m³ |Σ_ℓ (g_ℓ/m_ℓ) 2τ[1 + (1−τ) f(τ)]|² / (256 π³);
    pseudoscalar: Γ = α² m³ |Σ_ℓ (g_ℓ/m_ℓ) 2τ f(τ)|² / (256 π³); τ = 4 m_ℓ²/m_X².
    For a single muon loop these are physics.md §2.1 (α² g² m³ |2τ[1+(1−τ)f]|²/(256π³m_μ²) and
    α² g² m³ |τ f|²/(64π³m_μ²)).  Limits: m_X ≪ 2m_ℓ → scalar α² g² m³/(144 π³ m_ℓ²)
    (A → 4/3), pseudoscalar α² g² m³/(64 π³ m_ℓ²) (τ f → 1)."""
    if m_x <= 0.0:
        return 0.0
    amp = 0j
    for m_l, g in couplings.items():
        if g == 0.0:
            continue
        tau = 4.0 * m_l * m_l / (m_x * m_x)
        a = _amp_scalar(tau) if parity > 0 else _amp_pseudo(tau)
        amp += g / m_l * a
    return C.ALPHA_EM**2 * m_x**3 * abs(amp) ** 2 / (256.0 * math.pi**3)


def width_lepton_pair(m_x: float, m_l: float, g: float, parity: int) -> float:
    """Γ(X → ℓ⁺ℓ⁻) [MeV] = g² m_X β^p/(8π), β = √(1 − 4m_ℓ²/m_X²), p = 3 (scalar) or 1
    (pseudoscalar); 0 below threshold."""
    if g == 0.0 or m_x <= 2.0 * m_l:
        return 0.0
    beta = math.sqrt(1.0 - 4.0 * m_l * m_l / (m_x * m_x))
    return g * g * m_x * beta ** (3 if parity > 0 else 1) / (8.0 * math.pi)


# ---------------------------------------------------------------------------------- models
@dataclass(frozen=True)
class _SpinZeroZprime(DecayingDarkParticle, DarkModel):
    """Common implementation of :class:`ScalarZprime` and :class:`PseudoscalarZprime`.

    Parameters (validated; ParameterError names the parameter and its range):
    m_x [1e-6, 1e5] MeV, m_zprime [1e-6, 1e5] MeV, g_mu, g_e, g_n in [−4π, 4π], lam in [−1, 1] MeV⁻¹,
    charge ∈ {"up", "proton", "baryonic", "custom"}; c_u, c_d (only with charge="custom")
    in [−10, 10].
    """

    family = "long-lived"

    m_x: float
    m_zprime: float
    g_mu: float = 1.0e-4
    g_e: float = 0.0
    g_n: float = 1.0e-4
    lam: float = 1.0e-5
    charge: str = "up"
    c_u: float | None = None
    c_d: float | None = None
    _parity: ClassVar[int] = 1
    _dark_key: ClassVar[str] = "phi"
    _lagrangian: ClassVar[str] = ""
    _fields: ClassVar[tuple[str, ...]] = ("m_x", "m_zprime", "g_mu", "g_e", "g_n", "lam", "charge", "c_u", "c_d")
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "m_x", check_real("m_x", self.m_x, MASS_MIN_MEV, _MASS_MAX))
        set_(self, "m_zprime", check_real("m_zprime", self.m_zprime, MASS_MIN_MEV, _MASS_MAX))
        for name in ("g_mu", "g_e", "g_n"):
            set_(self, name, check_real(name, getattr(self, name), -_COUPLING_MAX, _COUPLING_MAX))
        set_(self, "lam", check_real("lam", self.lam, -_LAM_MAX, _LAM_MAX))
        allowed = (*CHARGE_PRESETS, "custom")
        if not isinstance(self.charge, str) or self.charge not in allowed:
            raise ParameterError(f"parameter 'charge' = {self.charge!r}; allowed: {', '.join(allowed)}")
        if self.charge == "custom":
            if self.c_u is None or self.c_d is None:
                raise ParameterError("charge = 'custom' needs both parameters 'c_u' and 'c_d' (reals in [-10, 10])")
            set_(self, "c_u", check_real("c_u", self.c_u, -10.0, 10.0))
            set_(self, "c_d", check_real("c_d", self.c_d, -10.0, 10.0))
        elif self.c_u is not None or self.c_d is not None:
            raise ParameterError(
                f"parameters 'c_u'/'c_d' are only allowed with charge = 'custom' (got charge = {self.charge!r})"
            )

    # ------------------------------------------------------------------ couplings
    @property
    def quark_fractions(self) -> tuple[float, float]:
        """(c_u, c_d): Z′ couplings to u and d quarks in units of g_n."""
        if self.charge == "custom":
            return float(self.c_u), float(self.c_d)  # type: ignore[arg-type]
        return CHARGE_PRESETS[self.charge]

    def nuclear_charge(self, Z: float, A: float) -> float:
        """Coherent Z′ vector charge of a nucleus (Z protons, A nucleons):
        g_n [c_u (2Z + N) + c_d (Z + 2N)], N = A − Z (dimensionless)."""
        Z = check_real("Z", Z, 0.0, 200.0)
        A = check_real("A", A, 1.0, 400.0)
        if Z > A:
            raise ParameterError(f"parameter 'Z' = {Z} must not exceed A = {A}")
        cu, cd = self.quark_fractions
        n = A - Z
        return self.g_n * (cu * (2.0 * Z + n) + cd * (Z + 2.0 * n))

    def proton_charge(self) -> float:
        """Z′ charge of a free proton, g_n (2 c_u + c_d)."""
        cu, cd = self.quark_fractions
        return self.g_n * (2.0 * cu + cd)

    def neutron_charge(self) -> float:
        """Z′ charge of a free neutron, g_n (c_u + 2 c_d)."""
        cu, cd = self.quark_fractions
        return self.g_n * (cu + 2.0 * cd)

    @property
    def lam_eff(self) -> float:
        """Effective X–Z′–γ vertex coupling [MeV⁻¹]: λ/2 for the (λ/4) X F′F (F̃) normalisation
        with two distinct vector fields (physics.md §2.1; derivation in docs/models.md)."""
        return 0.5 * self.lam

    @property
    def coupling_product(self) -> float:
        """g_μ g_n λ [MeV⁻¹]: for a long-lived X the signal scales as its square."""
        return self.g_mu * self.g_n * self.lam

    # ------------------------------------------------------------------ decays of X
    def _lepton_couplings(self) -> dict[float, float]:
        return {C.M_MU: self.g_mu, C.M_E: self.g_e}

    def partial_widths(self) -> dict[str, float]:
        """Partial widths of X [MeV]: γγ (lepton loops), e⁺e⁻, μ⁺μ⁻ (0 if closed/uncoupled).
        The invisible X → Z′γ (m_X > m_Z′) is not included (the model assumes m_X < m_Z′)."""
        p = self._parity
        return {
            "gamma gamma": width_gamma_gamma(self.m_x, self._lepton_couplings(), p),
            "e+ e-": width_lepton_pair(self.m_x, C.M_E, self.g_e, p),
            "mu+ mu-": width_lepton_pair(self.m_x, C.M_MU, self.g_mu, p),
        }


    # ------------------------------------------------------------------ production
    def _lepton_coupling(self, lepton: str) -> float:
        return self.g_mu if lepton == "mu" else self.g_e

    def three_body_table(self, meson: str, lepton: str) -> ThreeBodyTable:
        """Cached :class:`ThreeBodyTable` of M⁺ → ℓ⁺ ν X (meson "pi"/"K", lepton "mu"/"e")."""
        key = (meson, lepton)
        if key not in self._cache:
            if meson not in _MESONS or lepton not in _LEPTONS:
                raise ParameterError(f"unknown channel {meson!r}/{lepton!r}; allowed mesons pi, K and leptons mu, e")
            _, m_m, f_m, v = _MESONS[meson]
            m_l = _LEPTONS[lepton][0]
            msq = lepton_emission_msq(m_m, m_l, self.m_x, self._lepton_coupling(lepton), f_m, v, self._parity)
            self._cache[key] = ThreeBodyTable(m_m, m_l, 0.0, self.m_x, msq)
        return self._cache[key]

    def production_width(self, meson: str, lepton: str) -> float:
        """Γ(M⁺ → ℓ⁺ ν X) [MeV]; 0 if closed or the lepton coupling vanishes."""
        if self._lepton_coupling(lepton) == 0.0:
            return 0.0
        return self.three_body_table(meson, lepton).width

    def production_branching_ratio(self, meson: str, lepton: str) -> float:
        """BR(M⁺ → ℓ⁺ ν X) = Γ / (ħ/τ_M) with the PDG lifetime τ_M."""
        pdg = _MESONS[meson][0] if meson in _MESONS else None
        if pdg is None:
            raise ParameterError(f"unknown meson {meson!r}; allowed: {', '.join(_MESONS)}")
        return self.production_width(meson, lepton) * C.lifetime(pdg) / C.HBAR

    def production_channels(self) -> list[ProductionChannel]:
        """π±, K± → μ± ν X, and → e± ν X when g_e ≠ 0 (closed ones with BR 0, is_open False)."""
        out: list[ProductionChannel] = []
        dark = DARK_PDG[self._dark_key]
        for meson, (pdg, m_m, _, _) in _MESONS.items():
            for lepton, (m_l, lname, nuname) in _LEPTONS.items():
                g = self._lepton_coupling(lepton)
                if lepton == "e" and g == 0.0:
                    continue
                mname = "pi+" if meson == "pi" else "K+"
                label = f"{mname} -> {lname} {nuname} {self._dark_key}"
                is_open = m_m > m_l + self.m_x
                if not is_open or g == 0.0:
                    out.append(ProductionChannel(pdg, label, 0.0, dark, self.m_x, None, True, is_open))
                    continue
                table = self.three_body_table(meson, lepton)
                br = self.production_branching_ratio(meson, lepton)
                out.append(ProductionChannel(pdg, label, br, dark, self.m_x, table.sample_dark, True, True))
        return out

    # ------------------------------------------------------------------ bookkeeping
    def params(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self._fields}
        if self.charge != "custom":
            out.pop("c_u")
            out.pop("c_d")
        return out

    def describe(self) -> dict[str, Any]:
        cu, cd = self.quark_fractions
        chans = [
            {"label": ch.label, "parent": ch.parent, "branching_ratio": ch.branching_ratio, "is_open": ch.is_open}
            for ch in self.production_channels()
        ]
        return {
            "model": self.name,
            "params": self.params(),
            "units": {"masses": "MeV", "lam": "MeV^-1", "widths": "MeV", "lifetime": "s", "ctau": "cm"},
            "lagrangian": self._lagrangian,
            "conventions": {
                "zprime_quark_couplings": f"g_u = {cu:.6g} g_n, g_d = {cd:.6g} g_n (preset {self.charge!r})",
                "nuclear_charge": "g_n [c_u (2Z + N) + c_d (Z + 2N)]",
                "proton_charge": self.proton_charge(),
                "neutron_charge": self.neutron_charge(),
                "lam_eff": "lam / 2 (vertex coupling for the (lam/4) X F'F normalisation)",
                "production_msq": "physics.md 2.1 B_+-; BR = Gamma / (hbar / tau_PDG)",
                "signal_scaling": "long-lived X: signal proportional to (g_mu g_n lam)^2",
            },
            "coupling_product_g_mu_g_n_lam": self.coupling_product,
            "widths": self.partial_widths(),
            "total_width": self.total_width,
            "branching_ratios": self.branching_ratios(),
            "lifetime_s": self.lifetime,
            "ctau_cm": self.ctau,
            "production_channels": chans,
        }


@dataclass(frozen=True)
class ScalarZprime(_SpinZeroZprime):
    """Scalar φ: L ⊃ g_n Z′ūγu + g_μ φ μ̄μ (+ g_e φ ēe) + (λ/4) φ F′F (physics.md §2.1)."""

    name: ClassVar[str] = "scalar"  # type: ignore[misc]
    _parity: ClassVar[int] = 1
    _dark_key: ClassVar[str] = "phi"
    _lagrangian: ClassVar[str] = "g_n Z'_a u~ g^a u + g_mu phi mu~ mu + g_e phi e~ e + (lam/4) phi F'_{mn} F^{mn}"


@dataclass(frozen=True)
class PseudoscalarZprime(_SpinZeroZprime):
    """Pseudoscalar a: L ⊃ g_n Z′ūγu + i g_μ a μ̄γ⁵μ (+ i g_e a ēγ⁵e) + (λ/4) a F′F̃ (physics.md §2.1)."""

    name: ClassVar[str] = "pseudoscalar"  # type: ignore[misc]
    _parity: ClassVar[int] = -1
    _dark_key: ClassVar[str] = "a"
    _lagrangian: ClassVar[str] = (
        "g_n Z'_a u~ g^a u + i g_mu a mu~ g5 mu + i g_e a e~ g5 e + (lam/4) a F'_{mn} F~^{mn}"
    )
