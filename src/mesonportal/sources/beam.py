"""Proton beam on target and importance-sampled primary meson production.

Conventions: z along the beam, origin at the upstream target face (cm); momenta in MeV.

Target-mode normalisation, as in the official BNB simulation (SBNSoftware/G4BNB,
src/BooNEpBeInteraction.cc; cross sections of input/production.in): a proton interacts in the Be
with the inelastic cross section σ_inel (212.3 mb at 8.89 GeV/c), which contains the quasi-elastic
part σ_qe (34.6 mb). A fraction σ_qe/σ_inel of the interactions is quasi-elastic: the proton
scatters off one nucleon (q² drawn from exp(−β q²) with G4BNB's slope β(p)), produces no meson and
may interact again further down the target — or leave it sideways. The other interactions produce
mesons with multiplicity σ_meson/(σ_inel − σ_qe), the normalisation of G4BNB's production tables
(σ_inel − σ_qe = 177.7 mb). :func:`proton_interactions` simulates these proton histories; mesons per
POT = P(non-quasi-elastic interaction) × σ_meson/(σ_inel − σ_qe). Without quasi-elastic scattering
(σ_qe = 0) this is the textbook P_int σ_meson/σ_inel with P_int = 1 − exp(−L n σ_inel). Not modelled:
the momentum lost in quasi-elastic scattering (≈ q²/2m_N ≈ 60 MeV) and meson production by
secondary hadrons (MiniBooNE: ~7% of the ν_μ from π+ come from re-interactions).

Dump mode (arXiv:1807.06137): protons hit the steel absorber; P_int = 1 and the Be fits are
scaled to Fe with A^α(x_F) (see :func:`a_scaling_alpha`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mesonportal.constants import M_P, N_AVOGADRO, mass
from mesonportal.exceptions import ParameterError
from mesonportal.sources import spectra


def interaction_probability(length_cm: float, number_density_cm3: float, sigma_mb: float) -> float:
    """P_int = 1 − exp(−L n σ) for a proton crossing a slab of length L (cm)."""
    return float(-np.expm1(-length_cm * number_density_cm3 * sigma_mb * 1e-27))


def sample_interaction_depth(rng: np.random.Generator, n: int, length_cm: float, lambda_cm: float) -> np.ndarray:
    """Interaction depths z ∈ [0, L] (cm) from the truncated exponential exp(−z/λ)."""
    u = rng.random(n)
    return -lambda_cm * np.log1p(-u * (-np.expm1(-length_cm / lambda_cm)))


def sample_beam(rng: np.random.Generator, n: int, beam) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian beam spot (x, y) [cm] and unit direction vectors (n, 3) with Gaussian divergence."""
    x = rng.normal(0.0, 1.0, n) * beam.spot_sigma_x_cm
    y = rng.normal(0.0, 1.0, n) * beam.spot_sigma_y_cm
    tx = rng.normal(0.0, 1.0, n) * beam.divergence_sigma_x_rad
    ty = rng.normal(0.0, 1.0, n) * beam.divergence_sigma_y_rad
    d = np.column_stack([tx, ty, np.ones(n)])
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.column_stack([x, y]), d


def a_scaling_alpha(xf) -> np.ndarray:
    """Nuclear-dependence exponent α(x_F) = 0.74 − 0.55 x_F + 0.26 x_F² for inclusive pion/kaon
    production, σ_A ∝ A^α (Barton et al., PRD 27 (1983) 2580, as used in accelerator-ν flux
    work). Used only to scale the Be fits to the Fe dump."""
    xf = np.asarray(xf, dtype=float)
    return 0.74 - 0.55 * xf + 0.26 * xf * xf


@dataclass
class ProposalGrid:
    """Piecewise-constant proposal pdf on a (p, θ) grid following (d²σ/dpdθ)^power."""

    p_edges: np.ndarray  # MeV
    t_edges: np.ndarray  # rad
    cdf: np.ndarray
    density: np.ndarray  # proposal pdf per MeV per rad, cell-wise (flattened, p-major)

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(p [MeV], θ [rad], q(p, θ) [1/(MeV rad)])."""
        k = np.searchsorted(self.cdf, rng.random(n) * self.cdf[-1], side="right")
        k = np.minimum(k, len(self.density) - 1)
        nt = len(self.t_edges) - 1
        ip, it = np.divmod(k, nt)
        p = self.p_edges[ip] + rng.random(n) * (self.p_edges[ip + 1] - self.p_edges[ip])
        t = self.t_edges[it] + rng.random(n) * (self.t_edges[it + 1] - self.t_edges[it])
        return p, t, self.density[k] / self.cdf[-1]


def build_proposal(pdgid: int, p_beam_gev: float, n_p: int = 160, n_t: int = 120, power: float = 0.7) -> ProposalGrid:
    """Proposal following (2π sinθ d²σ/dpdΩ)^power (power < 1 flattens it so that the forward,
    high-momentum tail is populated); θ grid is finer at small angles; 5% uniform admixture
    keeps q > 0 wherever the spectrum is non-zero."""
    pmax = spectra.max_momentum_mev(pdgid, p_beam_gev)
    p_edges = np.linspace(0.0, pmax, n_p + 1)
    t_edges = np.linspace(0.0, np.sqrt(0.5 * np.pi), n_t + 1) ** 2
    pc = 0.5 * (p_edges[1:] + p_edges[:-1])
    tc = 0.5 * (t_edges[1:] + t_edges[:-1])
    f = spectra.d2sigma_dp_domega(pdgid, pc[:, None], tc[None, :], p_beam_gev) * np.sin(tc)[None, :]
    g = np.clip(f, 0.0, None) ** power
    area = np.diff(p_edges)[:, None] * np.diff(t_edges)[None, :]
    mass_ = g * area
    mass_ = mass_ / mass_.sum()
    mass_ = 0.95 * mass_ + 0.05 * area / area.sum()
    dens = (mass_ / area).ravel()
    return ProposalGrid(p_edges, t_edges, np.cumsum(mass_.ravel()), dens)


_PROPOSALS: dict[tuple[int, float], ProposalGrid] = {}


def proposal(pdgid: int, p_beam_gev: float) -> ProposalGrid:
    key = (int(pdgid), round(float(p_beam_gev), 6))
    if key not in _PROPOSALS:
        _PROPOSALS[key] = build_proposal(int(pdgid), float(p_beam_gev))
    return _PROPOSALS[key]


def sample_production(
    rng: np.random.Generator, pdgid: int, n: int, p_beam_gev: float, pi_minus: str = "table_vi"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Importance-sample n mesons: (p [MeV], θ [rad], w) with w = (2π sinθ d²σ/dpdΩ)/q in mb,
    so that mean(w · 1[bin]) estimates σ in that bin (mb). ``pi_minus``: the π− SW set
    (:data:`mesonportal.sources.spectra.PI_MINUS_SETS`; the proposal is the same for both)."""
    if n < 0:
        raise ParameterError(f"number of samples n = {n} must be >= 0")
    prop = proposal(pdgid, p_beam_gev)
    p, t, q = prop.sample(rng, n)
    f = spectra.d2sigma_dp_domega(pdgid, p, t, p_beam_gev, pi_minus=pi_minus)  # mb/(GeV/c sr)
    w = 2.0 * np.pi * np.sin(t) * f * 1e-3 / q  # 1e-3: per GeV/c -> per MeV/c
    return p, t, w


#: Slope β(p) = Σ c_i p^i [(GeV/c)^-2, p in GeV/c] of the quasi-elastic q² distribution for protons
#: and neutrons (G4BNB input/production.in, /boone/physics/quasielastic/{pro,neu}QuasiElasticPar);
#: G4BNB picks either set with probability 1/2 (isoscalar target).
QE_SLOPE_PROTON = (5.20996, 0.814526, -0.0376766, 0.0, 0.0, 0.0)
QE_SLOPE_NEUTRON = (2.56793, 2.87091, -0.535132, 0.0429920, -0.00126008, 0.0)


def target_exit_length(pos: np.ndarray, d: np.ndarray, length_cm: float, radius_cm: float) -> np.ndarray:
    """Straight-line path length (cm) from points inside the target cylinder (0 ≤ z ≤ L, r < R) to
    its surface along unit directions d; 0 for points outside."""
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    a = dx * dx + dy * dy
    b = 2.0 * (pos[:, 0] * dx + pos[:, 1] * dy)
    c = pos[:, 0] ** 2 + pos[:, 1] ** 2 - radius_cm**2
    with np.errstate(divide="ignore", invalid="ignore"):
        s_side = np.where(a > 0, (-b + np.sqrt(np.clip(b * b - 4 * a * c, 0, None))) / (2 * np.where(a > 0, a, 1)), np.inf)
        s_z = np.where(dz > 0, (length_cm - pos[:, 2]) / dz, np.where(dz < 0, -pos[:, 2] / dz, np.inf))
    s = np.minimum(np.clip(s_side, 0, None), np.clip(s_z, 0, None))
    return np.where(c > 0, 0.0, s)  # started outside (beam tail): no Be path


def _qe_lab_angle(rng: np.random.Generator, n: int, p_gev: float) -> np.ndarray:
    """Lab polar angle (rad) of a proton after quasi-elastic p N scattering (G4BNB
    BooNEHadronQuasiElasticModel: q² ~ exp(−β q²) below 4 p*², elastic kinematics on a nucleon
    at rest, boosted to the lab)."""
    mp = M_P * 1e-3
    e = np.sqrt(p_gev**2 + mp**2)
    s = 2.0 * mp * mp + 2.0 * e * mp
    p_cm = p_gev * mp / np.sqrt(s)
    beta_p = np.polyval(QE_SLOPE_PROTON[::-1], p_gev)
    beta_n = np.polyval(QE_SLOPE_NEUTRON[::-1], p_gev)
    slope = np.where(rng.random(n) < 0.5, beta_p, beta_n)
    q2max = 4.0 * p_cm * p_cm
    # exponential truncated at q2max (G4BNB redraws until q² < 4 p*²)
    u = rng.random(n)
    q2 = -np.log1p(-u * (-np.expm1(-slope * q2max))) / slope
    th_cm = 2.0 * np.arcsin(np.sqrt(np.clip(q2 / q2max, 0.0, 1.0)))
    bcm = p_gev / (e + mp)
    gcm = 1.0 / np.sqrt(1.0 - bcm * bcm)
    e_cm = np.sqrt(p_cm * p_cm + mp * mp)
    pz = gcm * (p_cm * np.cos(th_cm) + bcm * e_cm)
    pt = p_cm * np.sin(th_cm)
    return np.arctan2(pt, pz)


def proton_interactions(rng: np.random.Generator, n: int, experiment, max_generations: int = 20
                        ) -> tuple[np.ndarray, np.ndarray, int]:
    """Simulate ``n`` beam protons through the target (quasi-elastic rescattering included).

    Returns (vertex (k,3) cm, proton direction (k,3), k) for the k ≤ n protons that have a
    non-quasi-elastic (meson-producing) interaction in the target; k/n estimates its probability.
    """
    from mesonportal.kinematics import rotate_to_axis

    t = experiment.target
    lam = t.interaction_length_cm
    f_qe = t.sigma_qel_mb / t.sigma_inel_mb
    p_gev = beam_momentum_gev(experiment)
    xy, d = sample_beam(rng, n, experiment.beam)
    pos = np.column_stack([xy, np.zeros(n)])
    out_v, out_d = [], []
    for _ in range(max_generations):
        if len(pos) == 0:
            break
        s_exit = target_exit_length(pos, d, t.length_cm, t.radius_cm)
        s_int = rng.exponential(lam, len(pos))
        inter = s_int < s_exit
        pos = pos[inter] + d[inter] * s_int[inter, None]
        d = d[inter]
        qe = rng.random(len(pos)) < f_qe
        out_v.append(pos[~qe])
        out_d.append(d[~qe])
        pos, d = pos[qe], d[qe]
        m = len(pos)
        if m:
            th = _qe_lab_angle(rng, m, p_gev)
            ph = rng.uniform(0.0, 2.0 * np.pi, m)
            st = np.sin(th)
            d = rotate_to_axis(np.column_stack([st * np.cos(ph), st * np.sin(ph), np.cos(th)]), d)
    v = np.concatenate(out_v) if out_v else np.zeros((0, 3))
    dd = np.concatenate(out_d) if out_d else np.zeros((0, 3))
    return v, dd, len(v)


_PBE_XS: dict[str, tuple[float, ...]] = {}


def pbe_cross_sections_mb(p_gev) -> tuple[np.ndarray, np.ndarray]:
    """(σ_inel, σ_qe) of p + Be in mb at momentum ``p_gev`` (GeV/c) from the official simulation's
    parametrisation σ(p) = A + B pⁿ + C ln²p + D ln p (``data/bnb_official/pbe_cross_sections.txt``,
    G4BNB input/production.in); σ_inel contains σ_qe. Clipped at 0; meaningful for p ≳ 1 GeV/c."""
    if not _PBE_XS:
        from mesonportal.data import read_text

        for line in read_text("bnb_official/pbe_cross_sections.txt").splitlines():
            tok = line.split("#", 1)[0].split()
            if len(tok) == 6:
                _PBE_XS[tok[0]] = tuple(float(v) for v in tok[1:])
    p = np.asarray(p_gev, dtype=float)
    lp = np.log(np.clip(p, 1e-3, None))

    def f(name):
        a, b, n, c, d = _PBE_XS[name]
        return np.clip(a + b * np.clip(p, 1e-3, None) ** n + c * lp * lp + d * lp, 0.0, None)

    return f("inelastic"), f("quasi_elastic")


def meson_multiplicity_norm_mb(experiment) -> float:
    """σ_inel − σ_qe (mb): the normalisation of the meson yield per meson-producing interaction."""
    t = experiment.target
    return t.sigma_inel_mb - t.sigma_qel_mb


def target_yield_factor(experiment, rng: np.random.Generator | None = None, n: int = 400_000) -> float:
    """P(non-quasi-elastic interaction) / (σ_inel − σ_qe) [1/mb]: multiply σ_meson (mb) by it to get
    mesons per POT (target mode). The probability comes from :func:`proton_interactions` with ``n``
    protons (``rng`` defaults to ``default_rng(0)``, a fixed seed for this diagnostic; MC error
    ≈ 0.1% at the default n). Without a quasi-elastic part (σ_qe = 0) it is the analytic
    P_int/σ_inel, P_int = 1 − exp(−L n σ_inel)."""
    t = experiment.target
    if t.sigma_qel_mb == 0.0:  # no quasi-elastic part: the textbook P_int / σ_inel (on-axis beam)
        return interaction_probability(t.length_cm, t.number_density_cm3, t.sigma_inel_mb) / t.sigma_inel_mb
    rng = np.random.default_rng(0) if rng is None else rng
    _, _, k = proton_interactions(rng, n, experiment)
    return (k / n) / meson_multiplicity_norm_mb(experiment)


def target_interaction_probability(experiment) -> float:
    """Probability 1 − exp(−L n σ_inel) that an on-axis proton interacts (any interaction) in the target."""
    t = experiment.target
    return interaction_probability(t.length_cm, t.number_density_cm3, t.sigma_inel_mb)


def dump_lambda_cm(dump) -> float:
    """Proton inelastic interaction length in the dump material (cm)."""
    n = dump.density_g_cm3 * N_AVOGADRO / dump.mass_number
    return 1.0 / (n * dump.sigma_inel_mb * 1e-27)


def dump_weight_factor(pdgid: int, p_mev, theta, p_beam_gev: float, a_target: float, a_be: float) -> np.ndarray:
    """(A/A_Be)^α(x_F) factor scaling the Be fit to nucleus A (per meson)."""
    xf = spectra.feynman_x(p_mev, theta, mass(abs(int(pdgid))), p_beam_gev)
    return (a_target / a_be) ** a_scaling_alpha(xf)


def beam_momentum_gev(experiment) -> float:
    return experiment.beam.momentum_mev * 1e-3


__all__ = [
    "interaction_probability", "sample_interaction_depth", "sample_beam", "a_scaling_alpha",
    "build_proposal", "sample_production", "target_yield_factor", "target_interaction_probability",
    "proton_interactions", "target_exit_length", "meson_multiplicity_norm_mb",
    "dump_lambda_cm", "dump_weight_factor", "beam_momentum_gev", "M_P", "pbe_cross_sections_mb",
]
