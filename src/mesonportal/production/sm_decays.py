"""Standard-Model decays of π±, K±, K0_L and μ± into neutrinos, aimed at a spherical detector.

Units: MeV, cm, s.  Input mesons are a :class:`~mesonportal.sample.ParticleSample` *at their decay
points* (``vertex`` = decay point, ``p4`` = lab four-momentum at decay, ``weight`` = decays/POT).

Method ("forced direction", track-length flux estimator)
---------------------------------------------------------
For every parent decay the neutrino direction is forced into the cone subtended by the detector
sphere (uniform in solid angle, :func:`mesonportal.propagation.geometry.sample_directions_in_cone`).
With E* the rest-frame neutrino energy (fixed for two-body decays, sampled from the decay
spectrum for three-body decays) the lab energy of the massless neutrino along the lab direction n̂
is ``E = E* M / (E_P − p_P·n̂)`` (for π→μν: ``E = (M² − m_μ²) / (2 (E_P − p_P cos θ))``) and the
weight factor is ``(Ω_cone / 4π) · (dΩ*/dΩ_lab)`` with ``dΩ*/dΩ_lab = (E/E*)²``, times the
rest-frame angular factor ``1 + a(E*) cos θ*_spin`` for polarised muons.  The flux averaged over
the detector volume is then ``Φ = Σ w ℓ / V`` (ℓ = chord along n̂, V = 4/3 π R³), in ν/cm²/POT.

Muons (from π_μ2, K_μ2, K_μ3, K0_L μ3) are generated with *unforced*, isotropic decays of the
parent (a separate, independent sample), start at the parent decay point, and decay

* in flight with the exponential law before they reach the absorber plane ``z = absorber_z_cm``
  (or, optionally, the decay-pipe wall): the decay distance is drawn from the exponential
  truncated to the flight path and the weight carries the probability ``1 − exp(−L/γβcτ)``;
* at rest at the point where they reach the absorber with the remaining weight
  ``exp(−L/γβcτ)`` (energy loss before the absorber and the ~1 m range in steel are neglected).
  Muons born at or beyond the absorber plane (parents decaying in the dump) stop at once.
  μ⁻ at rest are captured with probability ``mu_minus_capture_fraction``
  (default 0.906 for iron: τ(μ⁻ Fe) = 206.0 ns, Suzuki, Measday & Roalsvig, PRC 35 (1987) 2212,
  vs τ_μ free from PDG; for carbon it would be 0.078).  Bound-muon (decay-in-orbit) spectral
  distortions are neglected: free Michel spectra are used.

Spectra and polarisation
------------------------
* Two-body π/K → ℓν: exact (isotropic in the parent frame).
* K_ℓ3 (K± → π0 ℓ± ν, K0_L → π∓ ℓ± ν): Dalitz density of the PDG review "K_ℓ3 form factors"
  (Chounet, Gaillard & Gaillard, Phys. Rep. 4 (1972) 199)
  ρ(E_π, E_ℓ) ∝ f+²(t) [A + B ξ(t) + C ξ²(t)] with linear f+ and f0 slopes λ+, λ0
  (t normalised to m_π±², PDG convention); values in :data:`KL3_FORM_FACTORS`.
  The rest-frame neutrino energy is sampled from the Dalitz density integrated over E_ℓ.
* μ decay (V−A, m_e neglected, x = 2E*/m_μ): the muon-flavour neutrino follows the Michel
  spectrum 2x²(3 − 2x) [1 ± (2x − 1)/(3 − 2x) cos θ], the electron-flavour one
  12x²(1 − x) [1 ∓ cos θ] (upper sign μ+, θ to the muon spin).  Muons from two-body π/K decays
  in flight are fully polarised (helicity −1 for μ+, +1 for μ− in the parent frame); the spin
  four-vector s is carried covariantly and cos θ* = −(k·s)/E* is exact (Lorentz invariant).  K_μ3 muons and muons
  decaying at rest are treated as unpolarised (stated approximation).

Branching ratios: the ``particle`` package carries no decay tables, so the PDG 2022 values
(R.L. Workman et al., PTEP 2022, 083C01) are stated in :data:`BRANCHING_RATIOS`.
Not included: π/K secondaries from K → ππ(π) decays, K0_S, hyperons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from mesonportal.constants import (
    C_LIGHT,
    M_E,
    M_K,
    M_K0L,
    M_MU,
    M_PI,
    M_PI0,
    TAU_MU,
)
from mesonportal.exceptions import ParameterError
from mesonportal.kinematics import boost, isotropic_directions, rotate_to_axis
from mesonportal.propagation.geometry import Cone, cone_to_sphere, sample_directions_in_cone
from mesonportal.sample import ParticleSample

Array = NDArray[np.float64]

__all__ = [
    "BRANCHING_RATIOS",
    "KL3_FORM_FACTORS",
    "MU_MINUS_CAPTURE_FRACTION_FE",
    "NeutrinoChannel",
    "SM_CHANNELS",
    "MESON_PDG_ALLOWED",
    "TabulatedSpectrum",
    "two_body_massless_energy",
    "forced_massless_emission",
    "kl3_dalitz_density",
    "kl3_neutrino_spectrum",
    "kl3_decay",
    "two_body_decay_with_spin",
    "muon_neutrino_spectrum",
    "muon_decay",
    "propagate_muons",
    "neutrinos_towards_sphere",
    "iter_neutrinos_towards_sphere",
    "neutrinos_chunk",
]

# --- PDG inputs ---------------------------------------------------------------------------------
#: PDG 2022 branching fractions (PTEP 2022 083C01).  K0_L semileptonic values are the sums over
#: both charge states (each charge state gets one half, CP violation of 3e-3 neglected).
BRANCHING_RATIOS: dict[str, float] = {
    "pi+ -> mu+ nu_mu": 0.9998770,
    "pi+ -> e+ nu_e": 1.230e-4,
    "K+ -> mu+ nu_mu": 0.6356,
    "K+ -> e+ nu_e": 1.582e-5,
    "K+ -> pi0 e+ nu_e": 0.0507,
    "K+ -> pi0 mu+ nu_mu": 0.03352,
    "K0L -> pi e nu": 0.4055,
    "K0L -> pi mu nu": 0.2704,
}

#: Linear K_ℓ3 form-factor slopes (PDG 2022 averages): f+(t) = f+(0)(1 + λ+ t/m_π+²),
#: f0(t) = f+(0)(1 + λ0 t/m_π+²).
KL3_FORM_FACTORS: dict[str, tuple[float, float]] = {
    "K+": (0.0297, 0.0195),  # λ+ (K±_e3 linear), λ0 (K±_μ3 linear)
    "K0L": (0.0282, 0.0138),  # λ+ (K0_e3 linear), λ0 (K0_μ3 linear)
}

#: Fraction of stopped μ⁻ captured in iron: 1 − τ(μ⁻ in Fe)/τ_μ, τ(μ⁻ Fe) = 206.0 ns
#: (Suzuki, Measday & Roalsvig, PRC 35 (1987) 2212).
MU_MINUS_CAPTURE_FRACTION_FE: float = 1.0 - 206.0e-9 / TAU_MU

MESON_PDG_ALLOWED = (211, -211, 321, -321, 130, 111, 221)

_FOUR_PI = 4.0 * math.pi


@dataclass(frozen=True)
class NeutrinoChannel:
    """One SM decay of a meson that yields a neutrino (defined for the positive parent).

    parent      : PDG code (211, 321 or 130); for 211/321 the charge conjugate applies to the
                  negative parent with the same BR and conjugated leptons.
    label       : human-readable process
    branching_ratio : BR (dimensionless)
    lepton      : PDG code of the charged lepton (−13 = μ+, −11 = e+)
    neutrino    : PDG code of the neutrino
    pion_mass   : MeV, 0 for two-body decays (no pion)
    lambda_plus, lambda_zero : K_ℓ3 form-factor slopes (three-body only)
    """

    parent: int
    label: str
    branching_ratio: float
    lepton: int
    neutrino: int
    pion_mass: float = 0.0
    lambda_plus: float = 0.0
    lambda_zero: float = 0.0

    @property
    def three_body(self) -> bool:
        return self.pion_mass > 0.0

    @property
    def parent_mass(self) -> float:
        return {211: M_PI, 321: M_K, 130: M_K0L}[self.parent]

    @property
    def lepton_mass(self) -> float:
        return M_MU if abs(self.lepton) == 13 else M_E

    @property
    def neutrino_rest_energy(self) -> float:
        """E* of the neutrino for two-body decays (MeV)."""
        m = self.parent_mass
        return (m * m - self.lepton_mass**2) / (2.0 * m)


_BR = BRANCHING_RATIOS
_LPK, _L0K = KL3_FORM_FACTORS["K+"]
_LPL, _L0L = KL3_FORM_FACTORS["K0L"]
#: Every SM channel with a neutrino used by :func:`neutrinos_towards_sphere`.
SM_CHANNELS: tuple[NeutrinoChannel, ...] = (
    NeutrinoChannel(211, "pi+ -> mu+ nu_mu", _BR["pi+ -> mu+ nu_mu"], -13, 14),
    NeutrinoChannel(211, "pi+ -> e+ nu_e", _BR["pi+ -> e+ nu_e"], -11, 12),
    NeutrinoChannel(321, "K+ -> mu+ nu_mu", _BR["K+ -> mu+ nu_mu"], -13, 14),
    NeutrinoChannel(321, "K+ -> e+ nu_e", _BR["K+ -> e+ nu_e"], -11, 12),
    NeutrinoChannel(321, "K+ -> pi0 e+ nu_e", _BR["K+ -> pi0 e+ nu_e"], -11, 12, M_PI0, _LPK, _L0K),
    NeutrinoChannel(321, "K+ -> pi0 mu+ nu_mu", _BR["K+ -> pi0 mu+ nu_mu"], -13, 14, M_PI0, _LPK, _L0K),
    NeutrinoChannel(130, "K0L -> pi- e+ nu_e", 0.5 * _BR["K0L -> pi e nu"], -11, 12, M_PI, _LPL, _L0L),
    NeutrinoChannel(130, "K0L -> pi+ e- nu_e~", 0.5 * _BR["K0L -> pi e nu"], 11, -12, M_PI, _LPL, _L0L),
    NeutrinoChannel(130, "K0L -> pi- mu+ nu_mu", 0.5 * _BR["K0L -> pi mu nu"], -13, 14, M_PI, _LPL, _L0L),
    NeutrinoChannel(130, "K0L -> pi+ mu- nu_mu~", 0.5 * _BR["K0L -> pi mu nu"], 13, -14, M_PI, _LPL, _L0L),
)


# --- tabulated 1-D spectra ----------------------------------------------------------------------
class TabulatedSpectrum:
    """A 1-D probability density on a grid, sampled by inverse-CDF interpolation.

    ``x`` (increasing) and ``pdf`` (≥ 0, any normalisation).  The CDF is the cumulative
    trapezoid.  For speed the inverse CDF is tabulated once on ``n_inverse`` + 1 equidistant
    quantiles and sampled by linear interpolation with direct indexing (no search).
    """

    def __init__(self, x: Array, pdf: Array, n_inverse: int = 16384) -> None:
        x = np.asarray(x, float)
        pdf = np.clip(np.asarray(pdf, float), 0.0, None)
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(x))])
        total = cdf[-1]
        if not total > 0.0:
            raise ParameterError("spectrum must have a positive integral")
        self.x = x
        self.pdf = pdf / total
        cdf = cdf / total
        keep = np.concatenate([[True], np.diff(cdf) > 0.0])
        self._n = int(n_inverse)
        self._inv = np.interp(np.linspace(0.0, 1.0, self._n + 1), cdf[keep], x[keep])
        self._dinv = np.diff(self._inv)

    def sample(self, rng: np.random.Generator, n: int) -> Array:
        """``n`` values distributed as the density."""
        t = rng.random(n) * self._n
        i = t.astype(np.intp)
        return self._inv[i] + (t - i) * self._dinv[i]

    def mean(self) -> float:
        return float(np.trapezoid(self.x * self.pdf, self.x))


# --- two-body kinematics -------------------------------------------------------------------------
def _parent_frame(parent_p4: Array) -> tuple[Array, Array, Array, Array]:
    """E, |p|, p̂ and invariant mass of parents (N, 4)."""
    e = parent_p4[:, 0]
    p3 = parent_p4[:, 1:]
    p = np.sqrt(np.einsum("ij,ij->i", p3, p3))
    phat = p3 / np.where(p > 0.0, p, 1.0)[:, None]
    m = np.sqrt(np.clip((e - p) * (e + p), 0.0, None))
    return e, p, phat, m


def _doppler(parent_p4: Array, directions: Array) -> tuple[Array, Array]:
    """D = M / (E − p·n̂) = E_lab/E* for a massless daughter along ``directions``; also M.

    Written as (E − |p|) + |p|(1 − cos θ) with E − |p| = M²/(E + |p|) and
    1 − cos θ = |p̂ − n̂|²/2, free of cancellations for ultra-relativistic parents."""
    e, p, phat, m = _parent_frame(parent_p4)
    diff = phat - directions
    one_minus_cos = 0.5 * np.einsum("ij,ij->i", diff, diff)
    one_minus_cos = np.where(p > 0.0, one_minus_cos, 0.0)
    denom = m * m / (e + p) + p * one_minus_cos
    return m / denom, m


def two_body_massless_energy(parent_p4: Array, m_other: float, directions: Array) -> Array:
    """Lab energy (MeV) of the massless daughter of P → ν X emitted along unit ``directions``.

    E = (M² − m_X²) / (2 (E_P − p_P·n̂)) (exact; M from the parent four-momentum).
    """
    parent_p4 = np.asarray(parent_p4, float).reshape(-1, 4)
    d, m = _doppler(parent_p4, np.asarray(directions, float).reshape(-1, 3))
    e_star = (m * m - m_other**2) / (2.0 * m)
    return e_star * d


def forced_massless_emission(
    rng: np.random.Generator,
    parent_p4: Array,
    vertex: Array,
    e_star: Array | float,
    center: Array,
    radius: float,
    spin_lab: Array | None = None,
    asymmetry: Array | float | None = None,
    cone: Cone | None = None,
) -> tuple[Array, Array]:
    """Emit one massless particle per parent, forced into the cone towards a sphere.

    Parameters
    ----------
    parent_p4 : (N, 4) MeV lab four-momenta of the decaying parents
    vertex : (N, 3) cm decay points
    e_star : (N,) or scalar, MeV, energy of the massless daughter in the parent rest frame
    center, radius : detector sphere (cm)
    spin_lab, asymmetry : optional polarisation — ``spin_lab`` (N, 4) the parent's spin
        four-vector in the lab (s·p = 0, s² = −1) and ``asymmetry`` a(E*) so that the rest-frame
        angular density is (1 + a cos θ*)/4π, θ* between the daughter and the spin in the
        parent rest frame.  cos θ* = −(k·s)/E* is evaluated with lab four-products.
    cone : precomputed :func:`cone_to_sphere` of ``vertex`` (optional, saves time)

    Returns
    -------
    p4 : (N, 4) lab four-momenta of the massless daughters (MeV)
    factor : (N,) weight factor (Ω_cone/4π)·(E/E*)²·(1 + a cos θ*) — multiply by the parent
        weight × BR.  Averaging ``factor`` over many parents gives the probability to hit.
    """
    if cone is None:
        cone = cone_to_sphere(vertex, center, radius)
    n_hat = sample_directions_in_cone(rng, cone)
    dop, _ = _doppler(parent_p4, n_hat)
    e_star = np.asarray(e_star, float)
    e_lab = e_star * dop
    factor = cone.solid_angle * (1.0 / _FOUR_PI) * dop * dop
    p4 = np.empty((len(n_hat), 4))
    p4[:, 0] = e_lab
    p4[:, 1:] = n_hat * e_lab[:, None]
    if spin_lab is not None and asymmetry is not None:
        # k·s = E (s0 − n̂·s⃗);  in the parent rest frame k·s = −E* cos θ*
        ks_over_e = spin_lab[:, 0] - np.einsum("ij,ij->i", n_hat, spin_lab[:, 1:])
        cos_t = np.clip(-ks_over_e * dop, -1.0, 1.0)  # (k·s)/E* = (k·s)/E_lab · D
        factor = factor * (1.0 + np.asarray(asymmetry, float) * cos_t)
    return p4, factor


def two_body_decay_with_spin(
    rng: np.random.Generator, parent_p4: Array, m_lepton: float, helicity: Array | float
) -> tuple[Array, Array]:
    """Isotropic P → ℓ ν decays (unforced) of spin-0 parents; returns the lepton lab
    four-momentum (N, 4) and its spin four-vector (N, 4) for helicity h (±1) defined in the
    parent rest frame, s = h (|p*|/m, (E*/m) p̂*), written covariantly as
    s = h (E* p_ℓ − (m²/M) P) / (m |p*|)  (s·p_ℓ = 0, s² = −1), so no extra boost is needed."""
    n = len(parent_p4)
    _, _, _, m = _parent_frame(parent_p4)
    p_star = (m * m - m_lepton**2) / (2.0 * m)
    e_star = np.sqrt(p_star**2 + m_lepton**2)
    u = isotropic_directions(rng, n)
    lep = np.empty((n, 4))
    lep[:, 0] = e_star
    lep[:, 1:] = u * p_star[:, None]
    beta = parent_p4[:, 1:] / parent_p4[:, :1]
    lep = boost(lep, beta)
    h = np.broadcast_to(np.asarray(helicity, float), (n,))
    c1 = h * e_star / (m_lepton * p_star)
    c2 = h * m_lepton / (m * p_star)
    spin = lep * c1[:, None] - parent_p4 * c2[:, None]
    return lep, spin


# --- K_l3 ----------------------------------------------------------------------------------------
def kl3_dalitz_density(
    e_pi: Array, e_l: Array, m_k: float, m_pi: float, m_l: float, lambda_plus: float, lambda_zero: float
) -> Array:
    """K_ℓ3 Dalitz-plot density ρ(E_π, E_ℓ) in the kaon rest frame (arbitrary normalisation).

    PDG review "K_ℓ3 form factors" / Chounet, Gaillard & Gaillard, Phys. Rep. 4 (1972) 199:
    ρ ∝ f+²(t)[A + B ξ + C ξ²],  A = m_K(2E_ℓE_ν − m_K E'_π) + m_ℓ²(E'_π/4 − E_ν),
    B = m_ℓ²(E_ν − E'_π/2),  C = m_ℓ² E'_π/4,  E'_π = E_π^max − E_π,
    E_π^max = (m_K² + m_π² − m_ℓ²)/(2m_K),  t = m_K² + m_π² − 2 m_K E_π,
    f+ = 1 + λ+ t/m_π+²,  ξ = f−/f+ = (λ0 − λ+)(m_K² − m_π²)/(m_π+² (1 + λ+ t/m_π+²)).
    Zero outside the physical region.  Energies in MeV.
    """
    e_pi = np.asarray(e_pi, float)
    e_l = np.asarray(e_l, float)
    e_nu = m_k - e_pi - e_l
    e_pi_max = (m_k**2 + m_pi**2 - m_l**2) / (2.0 * m_k)
    ep = e_pi_max - e_pi
    t = m_k**2 + m_pi**2 - 2.0 * m_k * e_pi
    fp = 1.0 + lambda_plus * t / M_PI**2
    xi = (lambda_zero - lambda_plus) * (m_k**2 - m_pi**2) / (M_PI**2 * fp)
    a = m_k * (2.0 * e_l * e_nu - m_k * ep) + m_l**2 * (0.25 * ep - e_nu)
    b = m_l**2 * (e_nu - 0.5 * ep)
    c = 0.25 * m_l**2 * ep
    rho = fp * fp * (a + b * xi + c * xi * xi)
    # physical region: momenta close a triangle
    p_pi = np.sqrt(np.clip(e_pi**2 - m_pi**2, 0.0, None))
    p_l = np.sqrt(np.clip(e_l**2 - m_l**2, 0.0, None))
    inside = (e_pi >= m_pi) & (e_l >= m_l) & (e_nu >= 0.0) & (np.abs(p_l - e_nu) <= p_pi) & (p_pi <= p_l + e_nu)
    return np.where(inside, np.clip(rho, 0.0, None), 0.0)


def _kl3_lepton_range(e_nu: Array, m_k: float, m_pi: float, m_l: float) -> tuple[Array, Array]:
    """Allowed E_ℓ for fixed E_ν: the (π ℓ) system of mass² s = m_K² − 2m_K E_ν recoils with
    momentum E_ν; E_ℓ = [(m_K − E_ν) E'_ℓ ∓ E_ν p'] / √s with E'_ℓ, p' its two-body values."""
    s = m_k * m_k - 2.0 * m_k * e_nu
    rs = np.sqrt(s)
    el_star = (s + m_l**2 - m_pi**2) / (2.0 * rs)
    lam = (s - (m_l + m_pi) ** 2) * (s - (m_l - m_pi) ** 2)
    p_star = np.sqrt(np.clip(lam, 0.0, None)) / (2.0 * rs)
    lo = ((m_k - e_nu) * el_star - e_nu * p_star) / rs
    hi = ((m_k - e_nu) * el_star + e_nu * p_star) / rs
    return lo, hi


@lru_cache(maxsize=None)
def kl3_neutrino_spectrum(
    m_k: float, m_pi: float, m_l: float, lambda_plus: float, lambda_zero: float, n_grid: int = 2001
) -> TabulatedSpectrum:
    """Rest-frame neutrino-energy spectrum dΓ/dE_ν of K → π ℓ ν (MeV), the Dalitz density of
    :func:`kl3_dalitz_density` integrated over E_ℓ (64-point Gauss–Legendre between the exact
    limits of :func:`_kl3_lepton_range`)."""
    e_max = (m_k**2 - (m_l + m_pi) ** 2) / (2.0 * m_k)
    e_nu = np.linspace(0.0, e_max, n_grid)
    lo, hi = _kl3_lepton_range(e_nu, m_k, m_pi, m_l)
    xg, wg = np.polynomial.legendre.leggauss(64)
    half = 0.5 * (hi - lo)
    el = 0.5 * (hi + lo)[:, None] + half[:, None] * xg[None, :]
    epi = m_k - el - e_nu[:, None]
    rho = _kl3_density_unmasked(epi, el, m_k, m_pi, m_l, lambda_plus, lambda_zero)
    pdf = np.sum(rho * wg[None, :], axis=1) * half
    return TabulatedSpectrum(e_nu, pdf)


def _kl3_density_unmasked(e_pi, e_l, m_k, m_pi, m_l, lambda_plus, lambda_zero):
    """Dalitz density without the region mask (caller guarantees physical points)."""
    e_nu = m_k - e_pi - e_l
    ep = (m_k**2 + m_pi**2 - m_l**2) / (2.0 * m_k) - e_pi
    t = m_k**2 + m_pi**2 - 2.0 * m_k * e_pi
    fp = 1.0 + lambda_plus * t / M_PI**2
    xi = (lambda_zero - lambda_plus) * (m_k**2 - m_pi**2) / (M_PI**2 * fp)
    a = m_k * (2.0 * e_l * e_nu - m_k * ep) + m_l**2 * (0.25 * ep - e_nu)
    b = m_l**2 * (e_nu - 0.5 * ep)
    c = 0.25 * m_l**2 * ep
    return np.clip(fp * fp * (a + b * xi + c * xi * xi), 0.0, None)


def _channel_spectrum(ch: NeutrinoChannel) -> TabulatedSpectrum:
    return kl3_neutrino_spectrum(ch.parent_mass, ch.pion_mass, ch.lepton_mass, ch.lambda_plus, ch.lambda_zero)


@lru_cache(maxsize=None)
def _kl3_rho_max(m_k, m_pi, m_l, lambda_plus, lambda_zero) -> float:
    e_max = (m_k**2 - (m_l + m_pi) ** 2) / (2.0 * m_k)
    e_nu = np.linspace(0.0, e_max, 801)
    lo, hi = _kl3_lepton_range(e_nu, m_k, m_pi, m_l)
    f = np.linspace(0.0, 1.0, 801)
    el = lo[:, None] + (hi - lo)[:, None] * f[None, :]
    rho = _kl3_density_unmasked(m_k - el - e_nu[:, None], el, m_k, m_pi, m_l, lambda_plus, lambda_zero)
    return float(rho.max()) * 1.05


def kl3_decay(
    rng: np.random.Generator, parent_p4: Array, channel: NeutrinoChannel
) -> tuple[Array, Array, Array]:
    """Full, unforced K → π ℓ ν decays of every parent (N, 4) (MeV).

    (E_ℓ, E_ν) are drawn from the Dalitz density by vectorised accept–reject in the bounding
    box, the lepton direction is isotropic, the ν is placed at the opening angle fixed by
    momentum conservation with a uniform azimuth, and the pion balances the momentum.
    Returns the lab four-momenta (π, ℓ, ν), each (N, 4); their sum equals ``parent_p4``.
    """
    if not channel.three_body:
        raise ParameterError(f"channel {channel.label!r} is not a K_l3 decay")
    m_k, m_pi, m_l = channel.parent_mass, channel.pion_mass, channel.lepton_mass
    args = (m_k, m_pi, m_l, channel.lambda_plus, channel.lambda_zero)
    rho_max = _kl3_rho_max(*args)
    n = len(parent_p4)
    e_nu_max = (m_k**2 - (m_l + m_pi) ** 2) / (2.0 * m_k)
    e_l_max = (m_k**2 + m_l**2 - m_pi**2) / (2.0 * m_k)
    el = np.empty(n)
    en = np.empty(n)
    filled = 0
    while filled < n:
        k = max(int(1.6 * (n - filled) / 0.25), 1024)
        a = m_l + rng.random(k) * (e_l_max - m_l)
        b = rng.random(k) * e_nu_max
        rho = kl3_dalitz_density(m_k - a - b, a, *args)
        ok = rng.random(k) * rho_max < rho
        take = min(int(ok.sum()), n - filled)
        el[filled : filled + take] = a[ok][:take]
        en[filled : filled + take] = b[ok][:take]
        filled += take
    ep = m_k - el - en
    p_l = np.sqrt(np.clip(el**2 - m_l**2, 0.0, None))
    p_pi2 = np.clip(ep**2 - m_pi**2, 0.0, None)
    cos_ln = np.clip((p_pi2 - p_l**2 - en**2) / (2.0 * p_l * np.where(en > 0, en, 1.0)), -1.0, 1.0)
    u_l = isotropic_directions(rng, n)
    phi = rng.random(n) * 2.0 * np.pi
    sin_ln = np.sqrt(1.0 - cos_ln**2)
    local = np.column_stack([sin_ln * np.cos(phi), sin_ln * np.sin(phi), cos_ln])
    u_nu = rotate_to_axis(local, u_l)
    lep = np.column_stack([el, u_l * p_l[:, None]])
    nu = np.column_stack([en, u_nu * en[:, None]])
    pi = np.column_stack([ep, -(lep[:, 1:] + nu[:, 1:])])
    beta = parent_p4[:, 1:] / parent_p4[:, :1]
    # rest-frame mass of the parent from its four-momentum keeps conservation exact
    _, _, _, m_par = _parent_frame(parent_p4)
    scale = m_par / m_k  # = 1 up to rounding for PDG-mass parents
    out = tuple(boost(v * scale[:, None], beta) for v in (pi, lep, nu))
    return out  # type: ignore[return-value]


# --- muon decay ----------------------------------------------------------------------------------
_X = np.linspace(0.0, 1.0, 8193)
_MICHEL = TabulatedSpectrum(_X, 2.0 * _X**2 * (3.0 - 2.0 * _X))  # μ-flavour ν (and e)
_NUE_TYPE = TabulatedSpectrum(_X, 12.0 * _X**2 * (1.0 - _X))  # e-flavour ν


def muon_neutrino_spectrum(flavour: str) -> TabulatedSpectrum:
    """Rest-frame spectrum in x = 2E*/m_μ of the neutrinos of μ decay (V−A, m_e = 0):
    ``"mu"`` → Michel 2x²(3 − 2x) (ν̄_μ in μ+, ν_μ in μ−; mean x = 7/10),
    ``"e"`` → 12x²(1 − x) (ν_e in μ+, ν̄_e in μ−; mean x = 3/5)."""
    if flavour == "mu":
        return _MICHEL
    if flavour == "e":
        return _NUE_TYPE
    raise ParameterError(f"flavour = {flavour!r}; allowed: 'mu', 'e'")


def _mu_asymmetry(x: Array, muon_pdg: Array, flavour: str) -> Array:
    """a(x) of the rest-frame density (1 + a cos θ_spin) for P = 1 (see module docstring)."""
    sign = np.where(muon_pdg < 0, 1.0, -1.0)  # +1 for μ+ (pdg −13)
    if flavour == "mu":
        return sign * (2.0 * x - 1.0) / (3.0 - 2.0 * x)
    return -sign * np.ones_like(x)


def muon_decay(rng: np.random.Generator, muon_p4: Array) -> tuple[Array, Array, Array]:
    """Full unpolarised μ → e ν ν decays (m_e neglected) of muons (N, 4) in the lab.

    |M|² ∝ (p_μ·p_a)(p_e·p_b) with a the electron-flavour neutrino: E_a is drawn from
    12x²(1 − x), E_e is then uniform on [m/2 − E_a, m/2] (flat Dalitz density at fixed E_a),
    orientation isotropic.  Returns lab four-momenta (electron, e-flavour ν, μ-flavour ν).
    """
    n = len(muon_p4)
    _, _, _, m = _parent_frame(muon_p4)
    ea = _NUE_TYPE.sample(rng, n) * 0.5 * m
    ee = 0.5 * m - ea + rng.random(n) * ea
    eb = m - ea - ee
    # angle between e and a from |p_b|² = |p_e + p_a|²
    cos_ea = np.clip((eb**2 - ee**2 - ea**2) / (2.0 * ee * np.where(ea > 0, ea, 1.0)), -1.0, 1.0)
    u_e = isotropic_directions(rng, n)
    phi = rng.random(n) * 2.0 * np.pi
    s = np.sqrt(1.0 - cos_ea**2)
    u_a = rotate_to_axis(np.column_stack([s * np.cos(phi), s * np.sin(phi), cos_ea]), u_e)
    pe = np.column_stack([ee, u_e * ee[:, None]])
    pa = np.column_stack([ea, u_a * ea[:, None]])
    pb = np.column_stack([eb, -(pe[:, 1:] + pa[:, 1:])])
    beta = muon_p4[:, 1:] / muon_p4[:, :1]
    return boost(pe, beta), boost(pa, beta), boost(pb, beta)


@dataclass
class MuonDecays:
    """Muon decay points (weights per POT) produced by :func:`propagate_muons`.

    p4 (N, 4) MeV at decay ((m_μ, 0, 0, 0) at rest), vertex (N, 3) cm, pdgid ±13, weight (N,),
    spin (N, 4) lab spin four-vector or None, polarised (N,) bool.
    """

    p4: Array
    vertex: Array
    pdgid: NDArray[np.int64]
    weight: Array
    spin: Array
    polarised: NDArray[np.bool_]


def propagate_muons(
    rng: np.random.Generator,
    p4: Array,
    vertex: Array,
    pdgid: NDArray[np.int64],
    weight: Array,
    spin: Array,
    polarised: NDArray[np.bool_],
    absorber_z_cm: float,
    mu_minus_capture_fraction: float = MU_MINUS_CAPTURE_FRACTION_FE,
    pipe_radius_cm: float | None = None,
) -> tuple[MuonDecays, MuonDecays]:
    """Split each muon into an in-flight decay and a decay at rest (weights add up to the
    muon weight, minus μ⁻ capture).

    The flight path L ends at the absorber plane z = ``absorber_z_cm`` (L = 0 if the muon is
    born at or beyond it, ∞ if it moves away from it) or, if ``pipe_radius_cm`` is given, at the
    pipe wall x² + y² = R² when that comes first.  With λ = (|p|/m) c τ_μ:
    in flight: weight × (1 − e^{−L/λ}), decay distance from the exponential truncated to [0, L];
    at rest at the end point: weight × e^{−L/λ} (× (1 − capture) for μ⁻).
    Returns (in_flight, at_rest), entries of zero weight removed.
    """
    p3 = p4[:, 1:]
    pmag = np.sqrt(np.einsum("ij,ij->i", p3, p3))
    d = p3 / np.where(pmag > 0, pmag, 1.0)[:, None]
    lam = pmag / M_MU * (TAU_MU * C_LIGHT)
    z0 = vertex[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        l_abs = np.where(z0 >= absorber_z_cm, 0.0, np.where(d[:, 2] > 0, (absorber_z_cm - z0) / d[:, 2], np.inf))
    if pipe_radius_cm is not None:
        # forward distance to the cylinder wall (origin assumed inside; outside -> stop at once)
        ox, oy, dx, dy = vertex[:, 0], vertex[:, 1], d[:, 0], d[:, 1]
        a = dx * dx + dy * dy
        b = ox * dx + oy * dy
        c = ox * ox + oy * oy - pipe_radius_cm**2
        with np.errstate(divide="ignore", invalid="ignore"):
            t_wall = np.where(a > 0, (-b + np.sqrt(np.clip(b * b - a * c, 0.0, None))) / a, np.inf)
        t_wall = np.where(c >= 0, 0.0, t_wall)
        l_abs = np.minimum(l_abs, t_wall)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(lam > 0, l_abs / np.where(lam > 0, lam, 1.0), np.inf)
    p_flight = -np.expm1(-ratio)  # probability to decay before stopping
    # in flight
    fl = p_flight > 0
    u = rng.random(int(fl.sum()))
    dist = -lam[fl] * np.log1p(-u * p_flight[fl])
    flight = MuonDecays(
        p4[fl], vertex[fl] + dist[:, None] * d[fl], pdgid[fl], weight[fl] * p_flight[fl], spin[fl], polarised[fl]
    )
    # at rest
    p_rest = 1.0 - p_flight
    p_rest = np.where(pdgid == 13, p_rest * (1.0 - mu_minus_capture_fraction), p_rest)
    rs = (p_rest > 0) & np.isfinite(l_abs)
    end = vertex[rs] + np.where(l_abs[rs] > 0, l_abs[rs], 0.0)[:, None] * d[rs]
    m = int(rs.sum())
    rest_p4 = np.zeros((m, 4))
    rest_p4[:, 0] = M_MU
    rest = MuonDecays(rest_p4, end, pdgid[rs], weight[rs] * p_rest[rs], np.zeros((m, 4)), np.zeros(m, bool))
    return flight, rest


# --- driver --------------------------------------------------------------------------------------
def _check_inputs(mesons: ParticleSample, center, radius, absorber_z_cm, n_nu, n_mu, capture) -> None:
    bad = ~np.isin(mesons.pdgid, MESON_PDG_ALLOWED)
    if np.any(bad):
        raise ParameterError(
            f"meson pdgid {int(mesons.pdgid[bad][0])} not supported; allowed: {MESON_PDG_ALLOWED}"
        )
    if not np.isfinite(float(absorber_z_cm)):
        raise ParameterError(f"absorber_z_cm = {absorber_z_cm!r} must be a finite number (cm)")
    for name, v in (("n_nu_per_decay", n_nu), ("n_mu_per_decay", n_mu)):
        if int(v) != v or v < 0:
            raise ParameterError(f"{name} = {v!r} must be an integer >= 0")
    if not 0.0 <= capture <= 1.0:
        raise ParameterError(f"mu_minus_capture_fraction = {capture!r} must be in [0, 1]")
    if not (np.all(np.isfinite(mesons.p4)) and np.all(np.isfinite(mesons.vertex)) and np.all(np.isfinite(mesons.weight))):
        raise ParameterError("meson sample contains non-finite p4, vertex or weight")


def _repeat(k: int, *arrays):
    if k == 1:
        return arrays
    return tuple(np.repeat(a, k, axis=0) for a in arrays)


DEFAULT_CHUNK_SIZE = 16384


def neutrinos_towards_sphere(
    mesons: ParticleSample,
    detector_center: Array,
    detector_radius: float,
    absorber_z_cm: float,
    rng: np.random.Generator,
    **options,
) -> ParticleSample:
    """All SM neutrinos from a meson sample, forced towards a detector sphere, as one
    :class:`ParticleSample` (concatenation of :func:`iter_neutrinos_towards_sphere`; see there
    for the parameters and the meaning of the columns)."""
    parts = list(iter_neutrinos_towards_sphere(mesons, detector_center, detector_radius, absorber_z_cm, rng,
                                               **options))
    return ParticleSample.concatenate(parts) if parts else ParticleSample.empty()


def iter_neutrinos_towards_sphere(
    mesons: ParticleSample,
    detector_center: Array,
    detector_radius: float,
    absorber_z_cm: float,
    rng: np.random.Generator,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    **options,
):
    """Generator over chunks of ``chunk_size`` mesons (cache-friendly: ~3x faster than one
    huge array); yields one neutrino :class:`ParticleSample` per chunk.  ``options`` are those
    of :func:`neutrinos_chunk`."""
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ParameterError(f"chunk_size = {chunk_size!r} must be an integer >= 1")
    n = len(mesons)
    for start in range(0, n, int(chunk_size)):
        stop = min(start + int(chunk_size), n)
        part = mesons if (start == 0 and stop == n) else mesons.select(slice(start, stop))
        yield neutrinos_chunk(part, detector_center, detector_radius, absorber_z_cm, rng, **options)


def neutrinos_chunk(
    mesons: ParticleSample,
    detector_center: Array,
    detector_radius: float,
    absorber_z_cm: float,
    rng: np.random.Generator,
    *,
    n_nu_per_decay: int = 1,
    n_mu_per_decay: int = 1,
    include_muon_decays: bool = True,
    polarised_muons: bool = True,
    mu_minus_capture_fraction: float = MU_MINUS_CAPTURE_FRACTION_FE,
    pipe_radius_cm: float | None = None,
) -> ParticleSample:
    """All SM neutrinos from a (modest-size) meson sample, forced towards a detector sphere.

    Parameters
    ----------
    mesons : ParticleSample at decay points (pdgid ∈ ±211, ±321, 130, 111, 221; π0/η give no ν)
    detector_center : (3,) cm; detector_radius : cm
    absorber_z_cm : z (cm) of the absorber plane where surviving muons stop
    rng : the generator
    n_nu_per_decay, n_mu_per_decay : independent re-uses of each parent decay (weights divided)
    include_muon_decays : add the ν from μ decays in flight and at rest
    polarised_muons : use the V−A polarisation of muons from two-body π/K decays in flight
    mu_minus_capture_fraction : fraction of stopped μ⁻ captured (no ν); default Fe
    pipe_radius_cm : if given, muons also stop at this decay-pipe radius

    Returns
    -------
    ParticleSample of neutrinos: ``p4`` lab (MeV), ``vertex`` emission point (cm), ``pdgid``
    (±12, ±14), ``weight`` = ν per POT heading into the cone (see module docstring),
    ``parent`` = PDG code of the decaying particle (meson or ±13).
    The detector-averaged flux is Σ weight·chord / (4/3 π R³) (see
    :func:`mesonportal.analysis.flux.neutrino_flux`).
    """
    _check_inputs(mesons, detector_center, detector_radius, absorber_z_cm, n_nu_per_decay, n_mu_per_decay,
                  mu_minus_capture_fraction)
    center = np.asarray(detector_center, float)
    radius = float(detector_radius)
    out_p4, out_vtx, out_pdg, out_w, out_par = [], [], [], [], []
    mu_p4, mu_vtx, mu_pdg, mu_w, mu_spin, mu_pol = [], [], [], [], [], []

    def emit(p4, vtx, pdg, w, par):
        n = len(p4)
        out_p4.append(p4)
        out_vtx.append(vtx)
        out_pdg.append(np.full(n, pdg, dtype=np.int64) if np.ndim(pdg) == 0 else pdg)
        out_w.append(w)
        out_par.append(np.full(n, par, dtype=np.int64) if np.ndim(par) == 0 else par)

    for parent_pdg in (211, -211, 321, -321, 130):
        sel = mesons.pdgid == parent_pdg
        if not np.any(sel):
            continue
        sign = 1 if parent_pdg > 0 else -1
        pp4, vtx, w = mesons.p4[sel], mesons.vertex[sel], mesons.weight[sel]
        if n_nu_per_decay > 0:
            rp4, rvtx, rw = _repeat(n_nu_per_decay, pp4, vtx, w)
            cone = cone_to_sphere(rvtx, center, radius)
        for ch in SM_CHANNELS:
            if ch.parent != abs(parent_pdg):
                continue
            nu_pdg, lep_pdg = sign * ch.neutrino, sign * ch.lepton
            if n_nu_per_decay > 0:
                if ch.three_body:
                    e_star = _channel_spectrum(ch).sample(rng, len(rp4))
                else:
                    e_star = ch.neutrino_rest_energy
                nu_p4, fac = forced_massless_emission(rng, rp4, rvtx, e_star, center, radius, cone=cone)
                emit(nu_p4, rvtx, nu_pdg, rw * ((ch.branching_ratio / n_nu_per_decay) * fac), parent_pdg)
            if include_muon_decays and abs(ch.lepton) == 13 and n_mu_per_decay > 0:
                mp4, mvtx, mw = _repeat(n_mu_per_decay, pp4, vtx, w)
                if ch.three_body:
                    _, lep, _ = kl3_decay(rng, mp4, ch)
                    spin = np.zeros_like(lep)
                    pol = np.zeros(len(lep), bool)
                else:
                    helicity = -1.0 if lep_pdg < 0 else 1.0  # μ+: −1, μ−: +1 (V−A)
                    lep, spin = two_body_decay_with_spin(rng, mp4, M_MU, helicity)
                    pol = np.full(len(lep), bool(polarised_muons))
                mu_p4.append(lep)
                mu_vtx.append(mvtx)
                mu_pdg.append(np.full(len(lep), lep_pdg, dtype=np.int64))
                mu_w.append(mw * (ch.branching_ratio / n_mu_per_decay))
                mu_spin.append(spin)
                mu_pol.append(pol)

    if mu_p4:
        cat = (lambda xs: xs[0]) if len(mu_p4) == 1 else np.concatenate
        flight, rest = propagate_muons(
            rng, cat(mu_p4), cat(mu_vtx), cat(mu_pdg), cat(mu_w), cat(mu_spin), cat(mu_pol),
            float(absorber_z_cm), mu_minus_capture_fraction, pipe_radius_cm,
        )
        for dec, polarised in ((flight, True), (rest, False)):
            if len(dec.p4) == 0:
                continue
            cone = cone_to_sphere(dec.vertex, center, radius)
            plus = dec.pdgid < 0  # μ+ has PDG −13
            for flavour, spec in (("e", _NUE_TYPE), ("mu", _MICHEL)):
                x = spec.sample(rng, len(dec.p4))
                e_star = (0.5 * M_MU) * x
                use_pol = polarised and bool(np.any(dec.polarised))
                asym = np.where(dec.polarised, _mu_asymmetry(x, dec.pdgid, flavour), 0.0) if use_pol else None
                nu_p4, fac = forced_massless_emission(
                    rng, dec.p4, dec.vertex, e_star, center, radius,
                    spin_lab=dec.spin if use_pol else None, asymmetry=asym, cone=cone,
                )
                # μ+ -> ν_e, ν̄_μ ; μ− -> ν̄_e, ν_μ
                if flavour == "e":
                    nu_pdg = np.where(plus, 12, -12)
                else:
                    nu_pdg = np.where(plus, -14, 14)
                emit(nu_p4, dec.vertex, nu_pdg, dec.weight * fac, dec.pdgid)

    if not out_p4:
        return ParticleSample.empty()
    return ParticleSample(
        np.concatenate(out_p4), np.concatenate(out_vtx), np.concatenate(out_pdg), np.concatenate(out_w),
        np.concatenate(out_par),
    )
