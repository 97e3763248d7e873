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
  The rest-frame neutrino energy is sampled from the Dalitz density integrated over E_ℓ; the
  muon of K_μ3 (for the μ-decay neutrinos) from the density integrated over E_ν
  (:func:`kl3_lepton_spectrum`), isotropic in the kaon frame.
* μ decay (V−A, m_e neglected, x = 2E*/m_μ): the muon-flavour neutrino follows the Michel
  spectrum 2x²(3 − 2x) [1 ± (2x − 1)/(3 − 2x) cos θ], the electron-flavour one
  12x²(1 − x) [1 ∓ cos θ] (upper sign μ+, θ to the muon spin).  Muons from two-body π/K decays
  in flight are fully polarised (helicity −1 for μ+, +1 for μ− in the parent frame); the spin
  four-vector s is carried covariantly and cos θ* = −(k·s)/E* is exact (Lorentz invariant).  K_μ3 muons and muons
  decaying at rest are treated as unpolarised (stated approximation).

Implementation (speed, ~2 M meson decays/s on one core with NumPy): the driver works species
by species on chunks of mesons stored component-major; per decay point it computes the cone and
an orthonormal frame around its axis once (:func:`~mesonportal.propagation.geometry.cone_frame`)
and draws the directions of *all* channels (rows) at once from points of the unit disc
(:func:`~mesonportal.propagation.geometry.sample_unit_disc`).  The Doppler factor, the weight
and the chord through the sphere (closed form in the sampled cone angle,
:func:`~mesonportal.propagation.geometry.cone_sample_chords`) follow without building lab
vectors; four-vectors are only built for :func:`neutrinos_chunk`.  Every channel and every muon
decay still gets its own independent direction (the estimator is unchanged).

Branching ratios: the ``particle`` package carries no decay tables, so the PDG 2022 values
(R.L. Workman et al., PTEP 2022, 083C01) are stated in :data:`BRANCHING_RATIOS`.
Not included: π/K secondaries from K → ππ(π) decays, K0_S, hyperons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

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
from mesonportal.propagation.geometry import (
    Cone,
    ConeFrame,
    cone_frame,
    cone_frame_components,
    cone_sample_chords,
    cone_to_sphere,
    ray_sphere_intersection,
    sample_directions_in_cone,
    sample_unit_disc,
)
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
    "kl3_lepton_spectrum",
    "kl3_decay",
    "two_body_decay_with_spin",
    "muon_neutrino_spectrum",
    "muon_decay",
    "propagate_muons",
    "neutrinos_towards_sphere",
    "iter_neutrinos_towards_sphere",
    "neutrinos_chunk",
    "NeutrinoBlock",
    "iter_neutrino_blocks",
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


def _kl3_neutrino_range(e_l: Array, m_k: float, m_pi: float, m_l: float) -> tuple[Array, Array]:
    """Allowed E_ν for fixed E_ℓ: the (π ν) system of mass² s = m_K² + m_ℓ² − 2m_K E_ℓ recoils
    with momentum p_ℓ; E_ν = E'_ν (m_K − E_ℓ ∓ p_ℓ)/√s with E'_ν = (s − m_π²)/(2√s)."""
    s = m_k * m_k + m_l * m_l - 2.0 * m_k * e_l
    rs = np.sqrt(np.clip(s, 0.0, None))
    e_star = (s - m_pi**2) / (2.0 * np.where(rs > 0, rs, 1.0))
    p_l = np.sqrt(np.clip(e_l * e_l - m_l * m_l, 0.0, None))
    k = e_star / np.where(rs > 0, rs, 1.0)
    return k * (m_k - e_l - p_l), k * (m_k - e_l + p_l)


@lru_cache(maxsize=None)
def kl3_lepton_spectrum(
    m_k: float, m_pi: float, m_l: float, lambda_plus: float, lambda_zero: float, n_grid: int = 2001
) -> TabulatedSpectrum:
    """Rest-frame charged-lepton energy spectrum dΓ/dE_ℓ of K → π ℓ ν (MeV, from m_ℓ to
    (m_K² + m_ℓ² − m_π²)/2m_K): the Dalitz density of :func:`kl3_dalitz_density` integrated over
    E_ν (64-point Gauss–Legendre between the exact limits of :func:`_kl3_neutrino_range`).
    Used for the muons of K_μ3 decays (isotropic in the kaon frame, spin-0 parent)."""
    e_lo = m_l
    e_hi = (m_k**2 + m_l**2 - m_pi**2) / (2.0 * m_k)
    e_l = np.linspace(e_lo, e_hi, n_grid)
    lo, hi = _kl3_neutrino_range(e_l, m_k, m_pi, m_l)
    xg, wg = np.polynomial.legendre.leggauss(64)
    half = 0.5 * (hi - lo)
    en = 0.5 * (hi + lo)[:, None] + half[:, None] * xg[None, :]
    epi = m_k - e_l[:, None] - en
    rho = _kl3_density_unmasked(epi, e_l[:, None], m_k, m_pi, m_l, lambda_plus, lambda_zero)
    pdf = np.sum(rho * wg[None, :], axis=1) * half
    return TabulatedSpectrum(e_l, pdf)


def _channel_spectrum(ch: NeutrinoChannel) -> TabulatedSpectrum:
    return kl3_neutrino_spectrum(ch.parent_mass, ch.pion_mass, ch.lepton_mass, ch.lambda_plus, ch.lambda_zero)


def _channel_lepton_spectrum(ch: NeutrinoChannel) -> TabulatedSpectrum:
    return kl3_lepton_spectrum(ch.parent_mass, ch.pion_mass, ch.lepton_mass, ch.lambda_plus, ch.lambda_zero)


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
    dx, dy, dz, l_abs, p_flight, dist = _muon_paths(rng, p4[:, 1], p4[:, 2], p4[:, 3], vertex[:, 0], vertex[:, 1],
                                                   vertex[:, 2], absorber_z_cm, pipe_radius_cm)
    d = np.column_stack([dx, dy, dz])
    # in flight
    fl = p_flight > 0
    flight = MuonDecays(
        p4[fl], vertex[fl] + dist[fl, None] * d[fl], pdgid[fl], weight[fl] * p_flight[fl], spin[fl], polarised[fl]
    )
    # at rest
    p_rest = _rest_probability(p_flight, pdgid, mu_minus_capture_fraction)
    rs = (p_rest > 0) & np.isfinite(l_abs)
    end = vertex[rs] + np.where(l_abs[rs] > 0, l_abs[rs], 0.0)[:, None] * d[rs]
    m = int(rs.sum())
    rest_p4 = np.zeros((m, 4))
    rest_p4[:, 0] = M_MU
    rest = MuonDecays(rest_p4, end, pdgid[rs], weight[rs] * p_rest[rs], np.zeros((m, 4)), np.zeros(m, bool))
    return flight, rest


def _muon_paths(
    rng: np.random.Generator, px: Array, py: Array, pz: Array, x0: Array, y0: Array, z0: Array,
    absorber_z_cm: float, pipe_radius_cm: float | None,
) -> tuple[Array, Array, Array, Array, Array, Array]:
    """Per muon (momentum components, start point components, all (N,)): unit direction
    (dx, dy, dz), flight path L to the stopping point l_abs (cm; 0 if born at/after the
    absorber, ∞ if never stopped), decay probability in flight p = 1 − e^{−L/λ},
    λ = (|p|/m_μ) c τ_μ, and a decay distance drawn from the exponential truncated to [0, L]
    (one uniform per muon, also where p = 0 and it is unused).  See :func:`propagate_muons`."""
    pmag = np.sqrt(px * px + py * py + pz * pz)
    inv = 1.0 / np.where(pmag > 0, pmag, 1.0)
    dx, dy, dz = px * inv, py * inv, pz * inv
    lam = pmag * (TAU_MU * C_LIGHT / M_MU)
    with np.errstate(divide="ignore", invalid="ignore"):
        l_abs = np.where(z0 >= absorber_z_cm, 0.0, np.where(dz > 0, (absorber_z_cm - z0) / dz, np.inf))
    if pipe_radius_cm is not None:
        # forward distance to the cylinder wall (origin assumed inside; outside -> stop at once)
        a = dx * dx + dy * dy
        b = x0 * dx + y0 * dy
        c = x0 * x0 + y0 * y0 - pipe_radius_cm**2
        with np.errstate(divide="ignore", invalid="ignore"):
            t_wall = np.where(a > 0, (-b + np.sqrt(np.clip(b * b - a * c, 0.0, None))) / a, np.inf)
        t_wall = np.where(c >= 0, 0.0, t_wall)
        l_abs = np.minimum(l_abs, t_wall)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(lam > 0, l_abs / np.where(lam > 0, lam, 1.0), np.inf)
    p_flight = -np.expm1(-ratio)  # probability to decay before stopping
    u = rng.random(len(px))
    u *= p_flight
    dist = -lam * np.log1p(-u)
    return dx, dy, dz, l_abs, p_flight, dist


def _rest_probability(p_flight: Array, pdgid: NDArray[np.int64], capture: float) -> Array:
    """Probability to decay at rest: 1 − p_flight, times (1 − capture) for μ⁻ (PDG 13)."""
    p_rest = 1.0 - p_flight
    if capture != 0.0:
        p_rest = np.where(pdgid == 13, p_rest * (1.0 - capture), p_rest)
    return p_rest


# --- batched forced emission ---------------------------------------------------------------------
class NeutrinoBlock(NamedTuple):
    """``k × n`` forced neutrinos from ``n`` decays of one kind of parent (one row per decay
    channel and re-use), as yielded by :func:`iter_neutrino_blocks`.

    energy    : (k, n) lab energy (MeV)
    weight    : (k, n) ν per POT heading into the cone (the ``weight`` of
                :func:`neutrinos_chunk`)
    chord     : (k, n) path length (cm) through the detector sphere along the ν direction
    nu_pdg    : (k,) PDG code of the neutrinos of each row
    parent    : PDG code of the decaying particles (meson or ±13)
    direction : (k, n, 3) lab unit vectors, or None unless requested
    vertex    : (n, 3) emission points (cm), shared by all rows, or None unless requested
    """

    energy: Array
    weight: Array
    chord: Array
    nu_pdg: NDArray[np.int64]
    parent: int
    direction: Array | None
    vertex: Array | None


class _StackedSpectra:
    """Several :class:`TabulatedSpectrum` sampled at once: row i of the (k, n) result follows
    spectrum i (same inverse-CDF interpolation as :meth:`TabulatedSpectrum.sample`)."""

    def __init__(self, spectra: list[TabulatedSpectrum]) -> None:
        n = spectra[0]._n
        if any(s._n != n for s in spectra):
            raise ParameterError("stacked spectra need equal inverse-table sizes")
        self._n = n
        self._inv = np.concatenate([s._inv for s in spectra])
        self._dinv = np.concatenate([np.append(s._dinv, 0.0) for s in spectra])
        self._off = (np.arange(len(spectra)) * (n + 1))[:, None]

    def sample(self, rng: np.random.Generator, n: int) -> Array:
        k = len(self._off)
        if self._n == 1 << 14:
            # one 32-bit random integer per value: top 14 bits = table cell, low 18 bits = the
            # position inside it (the quantile resolution is 2^-32 either way)
            u = rng.bit_generator.random_raw((k * n + 1) // 2).view(np.uint32)[: k * n].reshape(k, n)
            i = (u >> np.uint32(18)).astype(np.intp)
            t = (u & np.uint32(0x3FFFF)) * 2.0**-18
        else:
            t = rng.random((k, n))
            t *= self._n
            i = t.astype(np.intp)
            t -= i
        i += self._off
        t *= self._dinv[i]
        t += self._inv[i]
        return t


@dataclass(frozen=True)
class _SpeciesPlan:
    """Rows of the forced emission for one parent species and ``n_nu_per_decay``."""

    nu_pdg: NDArray[np.int64]  # (k,)
    br: Array  # (k, 1) branching ratio / n_nu_per_decay
    e_star: Array  # (k, 1) two-body E* (0 for three-body rows)
    three_rows: NDArray[np.intp]  # rows with a sampled E*
    spectra: _StackedSpectra | None
    muon_channels: tuple[tuple[NeutrinoChannel, int], ...]  # (channel, signed lepton PDG)


@lru_cache(maxsize=None)
def _species_plan(parent_pdg: int, n_nu: int) -> _SpeciesPlan:
    sign = 1 if parent_pdg > 0 else -1
    chans = [ch for ch in SM_CHANNELS if ch.parent == abs(parent_pdg)]
    rows = [ch for ch in chans for _ in range(n_nu)]
    three = np.array([i for i, ch in enumerate(rows) if ch.three_body], dtype=np.intp)
    return _SpeciesPlan(
        nu_pdg=np.array([sign * ch.neutrino for ch in rows], dtype=np.int64),
        br=np.array([ch.branching_ratio / max(n_nu, 1) for ch in rows])[:, None],
        e_star=np.array([0.0 if ch.three_body else ch.neutrino_rest_energy for ch in rows])[:, None],
        three_rows=three,
        spectra=_StackedSpectra([_channel_spectrum(rows[i]) for i in three]) if len(three) else None,
        muon_channels=tuple((ch, sign * ch.lepton) for ch in chans if abs(ch.lepton) == 13),
    )


_MUON_SPECTRA = _StackedSpectra([_NUE_TYPE, _MICHEL])  # rows: e-flavour ν, μ-flavour ν


class _Emitter(NamedTuple):
    """Per-parent quantities for the Doppler factor along n̂ = e1 aS + e2 bS + axis (1 − ω):
    E − p·n̂ = mt + p (h + A3 ω − S (a A1 + b A2)), mt = E − |p| (= M²/(E + |p|)),
    A_i = p̂·e_i (A3 = p̂·axis), h = 1 − A3 = (A1² + A2²)/(1 + A3) for A3 > 0 (no cancellation)."""

    m: Array
    mt: Array
    p: Array
    a1: Array
    a2: Array
    a3: Array
    h: Array


def _mass_soa(P: Array) -> tuple[Array, Array]:
    """|p| and invariant mass of four-vectors stored component-major (4, N)."""
    p = np.sqrt(P[1] * P[1] + P[2] * P[2] + P[3] * P[3])
    return p, np.sqrt(np.clip((P[0] - p) * (P[0] + p), 0.0, None))


def _emitter(P: Array, p: Array, m: Array, fr: ConeFrame) -> _Emitter:
    inv = 1.0 / np.where(p > 0.0, p, 1.0)
    a1, a2, a3 = fr.project(P[1], P[2], P[3])
    a1 *= inv
    a2 *= inv
    a3 *= inv
    h = np.where(a3 > 0.0, (a1 * a1 + a2 * a2) / (1.0 + np.abs(a3)), 1.0 - a3)
    return _Emitter(m, np.maximum(P[0] - p, 0.0), p, a1, a2, a3, h)


def _directions(fr: ConeFrame, a: Array, b: Array, s: Array, omega: Array, cols=slice(None)) -> Array:
    """Lab unit vectors (k, n, 3) n̂ = e1 a S + e2 b S + axis (1 − ω) (columns ``cols``)."""
    a_s = a[:, cols] * s[:, cols]
    b_s = b[:, cols] * s[:, cols]
    cz = 1.0 - omega[:, cols]
    out = np.empty(a_s.shape + (3,))
    for c in range(3):
        v = a_s * fr.e1[c, cols]
        v += b_s * fr.e2[c, cols]
        v += cz * fr.axis[c, cols]
        out[..., c] = v
    return out


def _forced_rows(
    rng: np.random.Generator, fr: ConeFrame, vtx: Array, center: Array, radius: float, k: int,
    emitter: _Emitter | None,
):
    """Draw k directions per point, uniform in the cone (see
    :func:`~mesonportal.propagation.geometry.sample_unit_disc`); return the disc point (a, b),
    ω = 1 − cos θ, S, the chord (k, n) and the Doppler factor D = M/(E − p·n̂) (None for
    parents at rest, D = 1).  ``vtx`` (3, n) emission points."""
    n = len(fr.distance)
    a, b, r2 = sample_unit_disc(rng, (k, n))
    q = fr.one_minus_cos
    omega = r2 * q
    s = 2.0 - omega
    s *= q
    np.sqrt(s, out=s)
    chord = cone_sample_chords(fr, r2, omega)
    if fr.inside.any():
        cols = np.flatnonzero(fr.inside)
        dirs = _directions(fr, a, b, s, omega, cols).reshape(-1, 3)
        org = np.broadcast_to(vtx[:, cols].T, (k, len(cols), 3)).reshape(-1, 3)
        chord[:, cols] = ray_sphere_intersection(org, dirs, center, radius).chord.reshape(k, len(cols))
    dop = None
    if emitter is not None:
        dop = a * emitter.a1
        dop += b * emitter.a2
        dop *= s
        one_minus = omega * emitter.a3
        one_minus += emitter.h
        one_minus -= dop  # 1 − p̂·n̂
        one_minus *= emitter.p
        one_minus += emitter.mt  # E − p·n̂
        dop = np.divide(emitter.m, one_minus, out=one_minus)
    return a, b, omega, s, chord, dop


def _meson_block(
    rng: np.random.Generator, parent_pdg: int, plan: _SpeciesPlan, P: Array, p: Array, m: Array, vtx: Array,
    w: Array, center: Array, radius: float, with_dirs: bool,
) -> NeutrinoBlock:
    """All neutrino channels of n parents of one species: P (4, n) MeV, vtx (3, n) cm, w (n,)."""
    k = len(plan.nu_pdg)
    n = len(w)
    fr = cone_frame_components(vtx[0], vtx[1], vtx[2], center, radius)
    em = _emitter(P, p, m, fr)
    a, b, omega, s, chord, dop = _forced_rows(rng, fr, vtx, center, radius, k, em)
    if plan.spectra is None:
        energy = dop * plan.e_star
    else:
        e_star = np.empty((k, n))
        e_star[:] = plan.e_star
        e_star[plan.three_rows] = plan.spectra.sample(rng, n)
        energy = e_star * dop
    weight = dop * dop
    weight *= (0.5 * w) * fr.one_minus_cos  # Ω/4π = q/2
    weight *= plan.br
    dirs = _directions(fr, a, b, s, omega) if with_dirs else None
    return NeutrinoBlock(energy, weight, chord, plan.nu_pdg, parent_pdg, dirs, vtx.T if with_dirs else None)


def _muon_block(
    rng: np.random.Generator, P: Array | None, vtx: Array, w: Array, spin: Array | None, plus: bool,
    center: Array, radius: float, with_dirs: bool,
) -> NeutrinoBlock:
    """Both neutrinos of μ decays of one charge (row 0: e-flavour, row 1: μ-flavour), forced
    into the cone.  P (4, n) muon four-momenta, None for decays at rest; vtx (3, n) decay
    points; ``spin`` (4, n) lab spin four-vectors (zero for unpolarised muons) or None."""
    n = len(w)
    fr = cone_frame_components(vtx[0], vtx[1], vtx[2], center, radius)
    em = None
    if P is not None:
        p, m = _mass_soa(P)
        em = _emitter(P, p, m, fr)
    a, b, omega, s, chord, dop = _forced_rows(rng, fr, vtx, center, radius, 2, em)
    x = _MUON_SPECTRA.sample(rng, n)
    energy = x * (0.5 * M_MU)
    weight = np.empty((2, n))
    weight[:] = (0.5 * w) * fr.one_minus_cos  # Ω/4π = q/2
    if dop is not None:
        energy *= dop
        weight *= dop
        weight *= dop
        if spin is not None:
            # k·s/E_lab = s0 − n̂·s⃗ ; cos θ* = −(k·s)/E* = (n̂·s⃗ − s0) D ; a(x) as _mu_asymmetry
            s1, s2, s3 = fr.project(spin[1], spin[2], spin[3])
            ns = a * s1
            ns += b * s2
            ns *= s
            ns += s3
            ns -= omega * s3
            ns -= spin[0]
            ns *= dop
            np.clip(ns, -1.0, 1.0, out=ns)  # cos θ*
            sign = 1.0 if plus else -1.0
            ns[0] *= -sign
            ns[1] *= sign * (2.0 * x[1] - 1.0) / (3.0 - 2.0 * x[1])
            ns += 1.0
            weight *= ns
    nu_pdg = _MU_PLUS_NU if plus else _MU_MINUS_NU
    dirs = _directions(fr, a, b, s, omega) if with_dirs else None
    return NeutrinoBlock(energy, weight, chord, nu_pdg, -13 if plus else 13, dirs, vtx.T if with_dirs else None)


# μ+ -> ν_e, ν̄_μ ; μ− -> ν̄_e, ν_μ  (rows: e-flavour, μ-flavour)
_MU_PLUS_NU = np.array([12, -14], dtype=np.int64)
_MU_MINUS_NU = np.array([-12, 14], dtype=np.int64)


def _boost_from_rest(P: Array, m: Array, e_star: Array, kx: Array, ky: Array, kz: Array) -> Array:
    """Lab four-vectors (4, n) of daughters (E*, k⃗) given in the rest frame of parents P (4, n)
    of mass m: γ = E/M, γβ = p/M, written without 1 − β² (same transformation as
    :func:`mesonportal.kinematics.boost`)."""
    e, px, py, pz = P
    pk = px * kx + py * ky + pz * kz
    inv_m = 1.0 / m
    out = np.empty((4, len(m)))
    np.multiply(e, e_star, out=out[0])
    out[0] += pk
    out[0] *= inv_m
    c = pk / (e + m)
    c += e_star
    c *= inv_m
    np.multiply(c, px, out=out[1])
    out[1] += kx
    np.multiply(c, py, out=out[2])
    out[2] += ky
    np.multiply(c, pz, out=out[3])
    out[3] += kz
    return out


def _isotropic_momenta(rng: np.random.Generator, p_star: Array) -> tuple[Array, Array, Array]:
    """Momenta of magnitude p_star (n,) in isotropic directions (Marsaglia, Ann. Math. Stat. 43
    (1972) 645: a disc point (a, b) gives (2a√(1−r²), 2b√(1−r²), 1 − 2r²))."""
    a, b, r2 = sample_unit_disc(rng, len(p_star))
    f = np.sqrt(1.0 - r2)
    f *= 2.0 * p_star
    return a * f, b * f, (1.0 - 2.0 * r2) * p_star


def _two_body_muons(rng: np.random.Generator, P: Array, m: Array, helicity: float) -> tuple[Array, Array]:
    """Same physics as :func:`two_body_decay_with_spin` for P → μ ν, component-major:
    parents P (4, n) of mass m; returns the muon four-momenta and spin four-vectors (4, n)."""
    p_star = (m * m - M_MU**2) / (2.0 * m)
    e_star = np.sqrt(p_star * p_star + M_MU**2)
    lep = _boost_from_rest(P, m, e_star, *_isotropic_momenta(rng, p_star))
    c1 = helicity * e_star / (M_MU * p_star)
    c2 = helicity * M_MU / (m * p_star)
    spin = lep * c1
    spin -= P * c2
    return lep, spin


def _kl3_muons(rng: np.random.Generator, P: Array, m: Array, channel: NeutrinoChannel) -> Array:
    """Charged leptons (4, n) of unforced K → π ℓ ν decays of parents P (4, n): E_ℓ from the
    Dalitz density integrated over E_ν (:func:`kl3_lepton_spectrum`), direction isotropic in
    the kaon frame (spin-0 parent), boosted to the lab; the π and ν are not needed."""
    e_l = _channel_lepton_spectrum(channel).sample(rng, len(m))
    e_l *= m / channel.parent_mass  # = 1 up to rounding for PDG-mass parents (as kl3_decay)
    m_l = channel.lepton_mass * (m / channel.parent_mass)
    p_l = np.sqrt(np.clip(e_l * e_l - m_l * m_l, 0.0, None))
    return _boost_from_rest(P, m, e_l, *_isotropic_momenta(rng, p_l))


def _mask_index(mask: NDArray[np.bool_]):
    """``slice(None)`` when every entry is selected (no copy), else the indices."""
    return slice(None) if mask.all() else np.flatnonzero(mask)


def _species_blocks(
    rng: np.random.Generator,
    parent_pdg: int,
    P: Array,
    vtx: Array,
    w: Array,
    center: Array,
    radius: float,
    absorber_z_cm: float,
    with_dirs: bool,
    n_nu_per_decay: int = 1,
    n_mu_per_decay: int = 1,
    include_muon_decays: bool = True,
    polarised_muons: bool = True,
    mu_minus_capture_fraction: float = MU_MINUS_CAPTURE_FRACTION_FE,
    pipe_radius_cm: float | None = None,
    include_muons_at_rest: bool = True,
):
    """Generator of the :class:`NeutrinoBlock` of n parents of one species, P (4, n) MeV,
    vtx (3, n) cm, w (n,) (inputs already checked): the meson channels, then per muon channel
    the μ decays in flight and at rest."""
    n_nu, n_mu = int(n_nu_per_decay), int(n_mu_per_decay)
    if len(w) == 0:
        return
    plan = _species_plan(parent_pdg, max(n_nu, 1))
    p, m = _mass_soa(P)
    if n_nu > 0:
        yield _meson_block(rng, parent_pdg, plan, P, p, m, vtx, w, center, radius, with_dirs)
    if not (include_muon_decays and n_mu > 0):
        return
    if n_mu > 1:
        P, m, vtx, w = (np.repeat(x, n_mu, axis=-1) for x in (P, m, vtx, w))
    for ch, lep_pdg in plan.muon_channels:
        plus = lep_pdg < 0
        if ch.three_body:
            mu, spin = _kl3_muons(rng, P, m, ch), None
        else:
            helicity = -1.0 if plus else 1.0  # μ+: −1, μ−: +1 (V−A)
            mu, spin = _two_body_muons(rng, P, m, helicity)
            if not polarised_muons:
                spin = None
        mw = w * (ch.branching_ratio / n_mu)
        dx, dy, dz, l_abs, p_flight, dist = _muon_paths(rng, mu[1], mu[2], mu[3], vtx[0], vtx[1], vtx[2],
                                                       absorber_z_cm, pipe_radius_cm)
        # in flight: decay point drawn along the path, weight × p_flight
        fl = _mask_index(p_flight > 0)
        d_fl = dist[fl]
        if d_fl.size:
            dec = np.stack([vtx[0, fl] + d_fl * dx[fl], vtx[1, fl] + d_fl * dy[fl], vtx[2, fl] + d_fl * dz[fl]])
            yield _muon_block(rng, mu[:, fl], dec, mw[fl] * p_flight[fl], None if spin is None else spin[:, fl],
                              plus, center, radius, with_dirs)
        # at rest at the end of the path (unpolarised), weight × (1 − p_flight) (× (1 − capture) for μ−)
        if not include_muons_at_rest:
            continue
        p_rest = 1.0 - p_flight
        if not plus:
            p_rest *= 1.0 - mu_minus_capture_fraction
        rs = _mask_index((p_rest > 0) & np.isfinite(l_abs))
        la = l_abs[rs]
        if la.size:
            la = np.where(la > 0, la, 0.0)
            end = np.stack([vtx[0, rs] + la * dx[rs], vtx[1, rs] + la * dy[rs], vtx[2, rs] + la * dz[rs]])
            yield _muon_block(rng, None, end, mw[rs] * p_rest[rs], None, plus, center, radius, with_dirs)


_SPECIES_ORDER = (211, -211, 321, -321, 130)


def _species_chunks(mesons: ParticleSample, chunk_size: int):
    """(parent PDG, P (4, n), vertex (3, n), weight (n,)) for chunks of at most ``chunk_size``
    mesons of one species, species by species (π0/η give no neutrinos and are skipped)."""
    pdg = mesons.pdgid
    for code in _SPECIES_ORDER:
        idx = np.flatnonzero(pdg == code)
        for start in range(0, len(idx), chunk_size):
            sel = idx[start : start + chunk_size]
            # np.take along axis 0 + transposed copy: much faster than fancy indexing
            yield (code, np.take(mesons.p4, sel, axis=0).T.copy(), np.take(mesons.vertex, sel, axis=0).T.copy(),
                   np.take(mesons.weight, sel))


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
    cone_frame(np.zeros((0, 3)), center, radius)  # validates the sphere


DEFAULT_CHUNK_SIZE = 16384

_DEFAULT_OPTIONS = dict(
    n_nu_per_decay=1, n_mu_per_decay=1, include_muon_decays=True, polarised_muons=True,
    mu_minus_capture_fraction=MU_MINUS_CAPTURE_FRACTION_FE, pipe_radius_cm=None, include_muons_at_rest=True,
)


def _options(options: dict) -> dict:
    unknown = set(options) - set(_DEFAULT_OPTIONS)
    if unknown:
        raise TypeError(f"unexpected option(s): {', '.join(sorted(unknown))}")
    return {**_DEFAULT_OPTIONS, **options}


def _blocks_to_sample(blocks) -> ParticleSample:
    p4s, vtxs, pdgs, ws, pars = [], [], [], [], []
    for bl in blocks:
        k, n = bl.energy.shape
        p4 = np.empty((k, n, 4))
        p4[..., 0] = bl.energy
        np.multiply(bl.direction, bl.energy[..., None], out=p4[..., 1:])
        p4s.append(p4.reshape(-1, 4))
        vtxs.append(np.broadcast_to(bl.vertex, (k, n, 3)).reshape(-1, 3))
        pdgs.append(np.repeat(bl.nu_pdg, n))
        ws.append(bl.weight.reshape(-1))
        pars.append(np.full(k * n, bl.parent, dtype=np.int64))
    if not p4s:
        return ParticleSample.empty()
    return ParticleSample(np.concatenate(p4s), np.concatenate(vtxs), np.concatenate(pdgs), np.concatenate(ws),
                          np.concatenate(pars))


def _all_blocks(mesons, center, radius, absorber_z_cm, rng, chunk_size, with_dirs, opts):
    for code, P, vtx, w in _species_chunks(mesons, chunk_size):
        yield from _species_blocks(rng, code, P, vtx, w, center, radius, absorber_z_cm, with_dirs, **opts)


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


def _validated_options(mesons, detector_center, detector_radius, absorber_z_cm, chunk_size, options):
    """Check the inputs of the chunked drivers once (before the first chunk is produced) and
    return (completed options, detector centre (3,))."""
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ParameterError(f"chunk_size = {chunk_size!r} must be an integer >= 1")
    opts = _options(options)
    _check_inputs(mesons, detector_center, detector_radius, absorber_z_cm, opts["n_nu_per_decay"],
                  opts["n_mu_per_decay"], opts["mu_minus_capture_fraction"])
    return opts, np.asarray(detector_center, float).reshape(3)


def iter_neutrino_blocks(
    mesons: ParticleSample,
    detector_center: Array,
    detector_radius: float,
    absorber_z_cm: float,
    rng: np.random.Generator,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    with_directions: bool = False,
    **options,
):
    """The forced neutrinos of :func:`iter_neutrinos_towards_sphere` as :class:`NeutrinoBlock`
    (lab energy, weight and chord through the sphere, without building four-vectors unless
    ``with_directions``): the fast path of :func:`mesonportal.analysis.flux.neutrino_flux`.
    Same random stream as :func:`iter_neutrinos_towards_sphere` for the same ``rng`` state;
    ``options`` are those of :func:`neutrinos_chunk`."""
    opts, center = _validated_options(mesons, detector_center, detector_radius, absorber_z_cm, chunk_size,
                                      options)
    yield from _all_blocks(mesons, center, float(detector_radius), float(absorber_z_cm), rng, int(chunk_size),
                           bool(with_directions), opts)


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
    """Generator over chunks of at most ``chunk_size`` mesons of one species (cache-friendly;
    species by species: π+, π−, K+, K−, K0_L); yields one neutrino :class:`ParticleSample` per
    chunk.  ``options`` are those of :func:`neutrinos_chunk`."""
    opts, center = _validated_options(mesons, detector_center, detector_radius, absorber_z_cm, chunk_size,
                                      options)
    for code, P, vtx, w in _species_chunks(mesons, int(chunk_size)):
        yield _blocks_to_sample(_species_blocks(rng, code, P, vtx, w, center, float(detector_radius),
                                                float(absorber_z_cm), True, **opts))


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

    Implementation (batched): per parent species one cone + frame per decay point, all channels
    (and ``n_nu_per_decay`` re-uses) drawn together as a (channels × parents) array; the ν of
    both flavours of each μ decay likewise.  The output is ordered species by species (π+, π−,
    K+, K−, K0_L), then channel by channel and for muons in flight / at rest, not parent by
    parent.
    """
    opts = dict(n_nu_per_decay=n_nu_per_decay, n_mu_per_decay=n_mu_per_decay,
                include_muon_decays=include_muon_decays, polarised_muons=polarised_muons,
                mu_minus_capture_fraction=mu_minus_capture_fraction, pipe_radius_cm=pipe_radius_cm)
    _check_inputs(mesons, detector_center, detector_radius, absorber_z_cm, n_nu_per_decay, n_mu_per_decay,
                  mu_minus_capture_fraction)
    center = np.asarray(detector_center, float).reshape(3)
    return _blocks_to_sample(_all_blocks(mesons, center, float(detector_radius), float(absorber_z_cm), rng,
                                         max(len(mesons), 1), True, opts))
