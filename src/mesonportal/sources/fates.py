"""Fates of charged mesons in steel: decay in flight, nuclear interaction, or ranging out.

Applies to every charged π/K that enters steel: in dump mode (protons on the steel absorber, the
mesons are born in it) and in target mode at the end of its flight path (50 m absorber, decay-pipe
wall, collimator, shielding around the horn — all approximated as iron).

A meson of momentum p₀ slows down continuously along its CSDA range R₀ = R(p₀) (bundled table
``data/stopping/fe_csda_range.txt``, PDG method for iron) with its direction unchanged (multiple
scattering neglected). Along the way it competes between

* decay in flight with rate μ_d(R) = m / (p(R) cτ) per cm (PDG lifetime),
* a nuclear interaction with rate 1/λ (energy-independent interaction length λ, see
  :class:`SteelInputs`),

and if neither happens it stops. With E(R) = R/λ + ∫₀^R μ_d dR' (R counted from the stopping
point) the exact probabilities are P_stop = e^{−E(R₀)}, P_int = e^{−E(R₀)} ∫₀^{R₀} e^{E}/λ dR and
P_dif = 1 − P_stop − P_int (tabulated once per species on a fine grid).

What happens next (physics.md §1; arXiv:1801.03848 for the K+ decay-at-rest line):

* π+: stops → decays at rest; interacts → absorbed (secondary pions not followed).
* π−, K−: stop → captured by a nucleus (no decay); interact → absorbed.
* K+ (carries an s̄, cannot be absorbed): an interaction is either charge exchange K+ n → K0 p
  (fraction ``kplus_charge_exchange_fraction``; the K0 is not followed) or (quasi-)elastic /
  inelastic with a K+ in the final state, after which the degraded K+ is taken to range out and
  decay at rest (its further decay in flight while slowing down is neglected).

Decays in flight are returned with the momentum at the sampled decay point; decays at rest at the
end of the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mesonportal.constants import ctau, mass
from mesonportal.exceptions import ParameterError

#: PDG "Atomic and nuclear properties", iron: pion interaction length 160.8 g/cm² (20.42 cm at 7.874 g/cm³).
PION_INTERACTION_LENGTH_FE_CM = 20.42
#: Kaon interaction length in iron: no PDG value; assumption λ_K = λ_π (the K+N cross section at
#: 0.5–3 GeV/c, ≈ 17–18 mb, is below the πN one, so K+ may travel ~30% further: a conservative choice
#: for the stopped-K+ fraction, which only depends on it through the charge-exchange losses).
KAON_INTERACTION_LENGTH_FE_CM = 20.42
#: Fraction of K+ interactions in iron that are charge exchange K+ n → K0 p. Assumption from the PDG
#: K+ n charge-exchange cross section (≈ 6 mb at 0.6–1.5 GeV/c) over the K+ N total (≈ 18 mb),
#: times the neutron fraction of iron (30/56): ≈ 0.18, rounded to 0.2.
KPLUS_CHARGE_EXCHANGE_FRACTION = 0.2
IRON_DENSITY_G_CM3 = 7.874


@dataclass(frozen=True)
class SteelInputs:
    """Stated inputs of the steel-fate model (cm; dimensionless fraction)."""

    density_g_cm3: float = IRON_DENSITY_G_CM3
    pion_interaction_length_cm: float = PION_INTERACTION_LENGTH_FE_CM
    kaon_interaction_length_cm: float = KAON_INTERACTION_LENGTH_FE_CM
    kplus_charge_exchange_fraction: float = KPLUS_CHARGE_EXCHANGE_FRACTION

    def __post_init__(self) -> None:
        for name in ("density_g_cm3", "pion_interaction_length_cm", "kaon_interaction_length_cm"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ParameterError(f"{name} = {v!r} must be a finite number > 0")
        f = self.kplus_charge_exchange_fraction
        if not (0.0 <= f <= 1.0):
            raise ParameterError(f"kplus_charge_exchange_fraction = {f!r} must be in [0, 1]")


@lru_cache(maxsize=1)
def _range_table() -> tuple[np.ndarray, dict[int, np.ndarray]]:
    from mesonportal.data import read_text
    from mesonportal.exceptions import DataError

    rows = [ln.split() for ln in read_text("stopping/fe_csda_range.txt").splitlines()
            if ln.strip() and not ln.startswith("#")]
    arr = np.array(rows, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 4 or np.any(np.diff(arr[:, 0]) <= 0):
        raise DataError("data/stopping/fe_csda_range.txt: expected 4 columns with increasing momentum")
    return arr[:, 0], {211: arr[:, 1], 321: arr[:, 2], 13: arr[:, 3]}


def csda_range_cm(pdgid: int, p_mev, density_g_cm3: float = IRON_DENSITY_G_CM3) -> np.ndarray:
    """CSDA range (cm) in iron of a π± (|pdgid| = 211), K± (321) or μ± (13) of momentum p (MeV/c)."""
    p_tab, r_tab = _range_table()
    code = abs(int(pdgid))
    if code not in r_tab:
        raise ParameterError(f"no range table for pdgid {pdgid}; allowed: ±211, ±321, ±13")
    r = r_tab[code]
    ok = r > 0
    p = np.clip(np.asarray(p_mev, dtype=float), 0.0, p_tab[-1])
    lp, lr = np.log(p_tab[ok]), np.log(r[ok])
    with np.errstate(divide="ignore"):
        out = np.exp(np.interp(np.log(np.maximum(p, 1e-300)), lp, lr, left=-np.inf))
    # below the first tabulated point: R ∝ p^k with the slope of the first interval (→ 0 at p = 0)
    k = (lr[1] - lr[0]) / (lp[1] - lp[0])
    low = p < p_tab[ok][0]
    out = np.where(low, r[ok][0] * (p / p_tab[ok][0]) ** k, out)
    return out / density_g_cm3


class FateTable:
    """Tabulated fate probabilities of one charged meson species in steel (see module docstring)."""

    def __init__(self, pdgid: int, inputs: SteelInputs, n_grid: int = 4000) -> None:
        code = abs(int(pdgid))
        if code not in (211, 321):
            raise ParameterError(f"steel fates are defined for charged pions and kaons, not pdgid {pdgid}")
        self.pdgid = int(pdgid)
        self.inputs = inputs
        self.lam = inputs.pion_interaction_length_cm if code == 211 else inputs.kaon_interaction_length_cm
        m = mass(code)
        p_tab, _ = _range_table()
        self.p = np.concatenate([[0.0], np.geomspace(0.5, p_tab[-1], n_grid)])
        self.r = csda_range_cm(code, self.p, inputs.density_g_cm3)
        mu_d = m / (np.maximum(self.p, 1e-300) * ctau(code))
        # decay optical depth from the stopping point: ∫ μ_d dR (integrable: dR ∝ p^(k-1) dp, k > 1)
        dr = np.diff(self.r)
        seg_d = np.where(self.p[:-1] > 0, 0.5 * (mu_d[1:] + mu_d[:-1]), mu_d[1:]) * dr
        self.d = np.concatenate([[0.0], np.cumsum(seg_d)])
        self.e = self.r / self.lam + self.d
        ee = np.exp(self.e)
        self.fi = np.concatenate([[0.0], np.cumsum(0.5 * (ee[1:] + ee[:-1]) * dr / self.lam)])
        self.fd = np.maximum.accumulate(np.maximum(ee - 1.0 - self.fi, 0.0))

    def probabilities(self, p_mev) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(P_decay_in_flight, P_interaction, P_stop) for initial momenta p (MeV/c); they sum to 1."""
        p = np.clip(np.asarray(p_mev, dtype=float), 0.0, self.p[-1])
        e0 = np.interp(p, self.p, self.e)
        fi0 = np.interp(p, self.p, self.fi)
        p_stop = np.exp(-e0)
        p_int = np.clip(fi0 * p_stop, 0.0, 1.0 - p_stop)
        return 1.0 - p_stop - p_int, p_int, p_stop

    def sample_decay(self, rng: np.random.Generator, p_mev) -> tuple[np.ndarray, np.ndarray]:
        """Given a decay in flight, (distance travelled from the entry point [cm], momentum at
        decay [MeV/c]) drawn from the density S(R) μ_d(R)."""
        p = np.clip(np.asarray(p_mev, dtype=float), 0.0, self.p[-1])
        r0 = csda_range_cm(self.pdgid, p, self.inputs.density_g_cm3)
        fd0 = np.interp(p, self.p, self.fd)
        target = rng.random(len(p)) * fd0
        r_dec = np.interp(target, self.fd, self.r)
        r_dec = np.minimum(r_dec, r0)
        return r0 - r_dec, np.interp(r_dec, self.r, self.p)


_TABLES: dict[tuple[int, SteelInputs], FateTable] = {}


def fate_table(pdgid: int, inputs: SteelInputs) -> FateTable:
    key = (abs(int(pdgid)), inputs)
    if key not in _TABLES:
        _TABLES[key] = FateTable(abs(int(pdgid)), inputs)
    return _TABLES[key]


@dataclass
class SteelFates:
    """Result of :func:`steel_fates` for N mesons (weights in the caller's units, e.g. per POT)."""

    dif_vertex: np.ndarray  # (N,3) cm
    dif_momentum: np.ndarray  # (N,3) MeV
    dif_weight: np.ndarray  # (N,)
    dar_vertex: np.ndarray  # (N,3) cm
    dar_weight: np.ndarray  # (N,)
    captured: float
    absorbed: float  # nuclear interactions that remove the meson (π±, K−; K+ → K0 charge exchange)


def steel_fates(pdgid: int, start: np.ndarray, momentum: np.ndarray, weight: np.ndarray,
                rng: np.random.Generator, inputs: SteelInputs) -> SteelFates:
    """Fates of charged mesons of one species entering steel at ``start`` (cm) with ``momentum``
    (N,3) MeV and weights ``weight``: decay-in-flight records (sampled point and momentum),
    decay-at-rest records (π+, K+) at the end of the range, and the captured / absorbed totals."""
    code = int(pdgid)
    tab = fate_table(code, inputs)
    pmag = np.linalg.norm(momentum, axis=1)
    d = momentum / np.maximum(pmag, 1e-300)[:, None]
    p_dif, p_int, p_stop = tab.probabilities(pmag)
    travel, p_dec = tab.sample_decay(rng, pmag)
    dif_vertex = start + d * travel[:, None]
    dif_mom = d * p_dec[:, None]
    r0 = csda_range_cm(code, np.clip(pmag, 0.0, tab.p[-1]), inputs.density_g_cm3)
    dar_vertex = start + d * r0[:, None]
    w = np.asarray(weight, dtype=float)
    if code == 211:
        dar, captured, absorbed = w * p_stop, 0.0, float(np.sum(w * p_int))
    elif code == 321:
        f = inputs.kplus_charge_exchange_fraction
        dar, captured, absorbed = w * (p_stop + (1.0 - f) * p_int), 0.0, float(np.sum(w * f * p_int))
    else:  # π−, K−: captured at rest
        dar, captured, absorbed = np.zeros_like(w), float(np.sum(w * p_stop)), float(np.sum(w * p_int))
    return SteelFates(dif_vertex, dif_mom, w * p_dif, dar_vertex, dar, captured, absorbed)


__all__ = ["SteelInputs", "FateTable", "SteelFates", "steel_fates", "fate_table", "csda_range_cm",
           "PION_INTERACTION_LENGTH_FE_CM", "KAON_INTERACTION_LENGTH_FE_CM", "KPLUS_CHARGE_EXCHANGE_FRACTION"]
