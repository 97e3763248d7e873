"""MiniBooNE detector response for electron-like showers: efficiency, resolution, the
single-shower criteria for e⁺e⁻ pairs, and the ν_e-CCQE-style reconstruction.

Everything is vectorised over event arrays (MeV, unit direction vectors, four-vectors
``(E, px, py, pz)``); random numbers come only from the :class:`numpy.random.Generator` passed in.

How to use the efficiency
-------------------------
:func:`efficiency` is the MiniBooNE 2012 data-release γ/e⁻ selection efficiency vs *true*
shower energy.  Its denominator is every shower whose vertex is **anywhere inside the 610.6 cm
detector sphere**; the fiducial cut (R < 500 cm, ≈ 0.55 of the volume) and all ν_e-CCQE cuts
are already inside it.  A caller therefore multiplies the weight of every event whose vertex lies
in the full sphere by ``efficiency(E_true)`` and applies **no separate fiducial factor**
(do not restrict vertices to R < 500 cm first).  :func:`radial_selection_weight` optionally
redistributes that efficiency over the vertex radius without changing its volume average.

References: physics.md §4; MiniBooNE 2012 data release; arXiv:2210.08021 (Table II); resolution
from R. B. Patterson's thesis as quoted in physics.md §4.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mesonportal.analysis.reconstruction import check_reco_mode, e_qe
from mesonportal.constants import M_E
from mesonportal.data import load_table
from mesonportal.exceptions import ParameterError
from mesonportal.kinematics import invariant_mass, rotate_to_axis

Array = NDArray[np.float64]

_DIR = "miniboone_response"
DETECTOR_RADIUS_CM = 610.6  # radius the efficiency tables refer to (physics.md §4)

#: Energy resolution σ_E = a √(E/GeV) GeV + b (physics.md §4): a = 0.12, b = 0.01 GeV.
SIGMA_E_STOCHASTIC = 0.12
SIGMA_E_CONSTANT_MEV = 10.0
#: Angular resolution σ_θ = (ln(1/E[GeV]) + 2.7)° (physics.md §4), floored at this value.
SIGMA_THETA_MIN_DEG = 1.0
#: Energy (MeV) below which σ_θ is evaluated at this energy (guards ln(1/E) for E → 0).
SIGMA_THETA_E_FLOOR_MEV = 1.0

#: Column names of the arXiv:2210.08021 Table II radii (bundled table columns 2…7).
CIRCLE_COLUMNS = {
    "diagonal/1C/100S": 2, "diagonal/100C/1S": 3,
    "1C/100S": 4, "100C/1S": 5,  # rCircle1 (the criterion used here)
    "circle0/1C/100S": 6, "circle0/100C/1S": 7,
}
#: Single-shower criteria: ``"circle"`` (default: Table II circle OR overlapping rings),
#: ``"angle"`` (opening angle or soft partner) and ``"circle-table"`` (Table II circle alone).
SHOWER_CRITERIA = ("circle", "angle", "circle-table")
#: Opening angle [deg] below which the two Cherenkov rings (half-angle ≈ 47° in mineral oil) overlap
#: into one: the same 13° as the angle criterion (physics.md §4).  The Table II circle was fitted on
#: π0 → γγ, whose opening angle is ≥ 2 arcsin(m_π0/E_π0) ≈ 12° even at 1.3 GeV, so it was never
#: calibrated on more collinear pairs; below this angle the pair is one ring whatever the energy split.
RING_OVERLAP_DEG = 13.0


# --------------------------------------------------------------------------------------------
# bundled tables
# --------------------------------------------------------------------------------------------
def _ro(a: np.ndarray) -> Array:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@lru_cache(maxsize=None)
def eg_efficiency_table() -> Array:
    """(N, 3): true energy [MeV], γ/e⁻ efficiency, systematic error (2012 data release)."""
    return _ro(load_table(f"{_DIR}/eg_efficiency_2012.txt"))


@lru_cache(maxsize=None)
def nue_ccqe_efficiency_table() -> Array:
    """(N, 2): neutrino energy [MeV], ν_e CCQE final efficiency (Patterson thesis)."""
    return _ro(load_table(f"{_DIR}/nue_ccqe_final_efficiency.txt"))


@lru_cache(maxsize=None)
def fiducial_profile_table() -> Array:
    """(N, 2): x = (R/610.6 cm)³, selected events per bin (as digitised, unsorted)."""
    return _ro(load_table(f"{_DIR}/fiducial_radial_profile.txt"))


@lru_cache(maxsize=None)
def pi0_misid_table() -> Array:
    """(10, 3): E_π0 low, high [MeV], ν_e PID efficiency of π0 events."""
    return _ro(load_table(f"{_DIR}/pi0_misid_efficiency.txt"))


@lru_cache(maxsize=None)
def single_shower_cut_table() -> Array:
    """(N, 8): E_vis min, max [MeV], then rDiagonal, rCircle1, rCircle0 radii (each 1C/100S,
    100C/1S) of arXiv:2210.08021 Table II."""
    return _ro(load_table(f"{_DIR}/single_shower_cuts_2210_08021.txt"))


def _energies(e_mev: ArrayLike, name: str) -> Array:
    e = np.asarray(e_mev, dtype=np.float64)
    if not np.all(np.isfinite(e)) or np.any(e < 0.0):
        raise ParameterError(f"{name} must be finite and >= 0 MeV")
    return e


# --------------------------------------------------------------------------------------------
# efficiencies
# --------------------------------------------------------------------------------------------
def efficiency(e_true_mev: ArrayLike) -> Array:
    """MiniBooNE γ/e⁻ selection efficiency at true shower energy ``e_true_mev`` (MeV).

    Linear interpolation between the nodes of the 2012 data-release table (50 … 2000 MeV,
    values reproduced exactly at the nodes); 0 below 50 MeV (the table's first node is 0);
    held at the last value (0.026) above 2000 MeV.  Applies to showers with vertex **anywhere
    in the 610.6 cm sphere**, fiducial cut included — see the module docstring.
    """
    e = _energies(e_true_mev, "e_true_mev")
    t = eg_efficiency_table()
    return np.interp(e, t[:, 0], t[:, 1], left=0.0, right=t[-1, 1])


def efficiency_uncertainty(e_true_mev: ArrayLike) -> Array:
    """Absolute systematic uncertainty of :func:`efficiency` (same interpolation)."""
    e = _energies(e_true_mev, "e_true_mev")
    t = eg_efficiency_table()
    return np.interp(e, t[:, 0], t[:, 2], left=0.0, right=t[-1, 2])


def nue_ccqe_efficiency(e_nu_mev: ArrayLike) -> Array:
    """ν_e CCQE final selection efficiency (Patterson thesis digitisation) at neutrino energy
    ``e_nu_mev`` (MeV): linear interpolation, held constant outside 102 … 2917 MeV.

    Its normalisation is that of the thesis figure (not the full sphere): do not combine it
    with :func:`efficiency`.
    """
    e = _energies(e_nu_mev, "e_nu_mev")
    t = nue_ccqe_efficiency_table()
    return np.interp(e, t[:, 0], t[:, 1])


def pi0_misid_efficiency(e_pi0_mev: ArrayLike) -> Array:
    """Probability that a π0 of energy ``e_pi0_mev`` (MeV) passes the ν_e PID cuts
    (piecewise constant in the thesis' 200 MeV bins; the last bin is held above 2 GeV)."""
    e = _energies(e_pi0_mev, "e_pi0_mev")
    t = pi0_misid_table()
    idx = np.clip(np.searchsorted(t[:, 0], e, side="right") - 1, 0, len(t) - 1)
    return t[idx, 2]


@lru_cache(maxsize=None)
def _radial_profile() -> tuple[Array, Array]:
    t = fiducial_profile_table()
    order = np.argsort(t[:, 0], kind="stable")
    x, f = t[order, 0], t[order, 1]
    # volume average over the sphere = ∫_0^1 f(x) dx (x uniform for uniform vertices),
    # with f held constant beyond the first/last digitised point
    xs = np.concatenate([[0.0], x, [1.0]])
    fs = np.concatenate([[f[0]], f, [f[-1]]])
    norm = float(np.sum(0.5 * (fs[1:] + fs[:-1]) * np.diff(xs)))
    return x, f / norm


def radial_selection_weight(r_cm: ArrayLike) -> Array:
    """Relative selection probability at vertex radius ``r_cm`` (cm from the detector centre),
    normalised to a volume average of 1 over the 610.6 cm sphere; 0 outside the sphere.

    Optional refinement: ``efficiency(E) * radial_selection_weight(R)`` has the same average as
    ``efficiency(E)`` for vertices uniform in the sphere, but follows the digitised MiniBooNE
    event-density profile vs (R/610.6 cm)³ (bundled ``fiducial_radial_profile.txt``).
    """
    r = np.asarray(r_cm, dtype=np.float64)
    if not np.all(np.isfinite(r)) or np.any(r < 0.0):
        raise ParameterError("r_cm must be finite and >= 0 cm")
    x_tab, f_tab = _radial_profile()
    x = (r / DETECTOR_RADIUS_CM) ** 3
    return np.where(x <= 1.0, np.interp(x, x_tab, f_tab), 0.0)


# --------------------------------------------------------------------------------------------
# resolution
# --------------------------------------------------------------------------------------------
def sigma_energy_mev(e_mev: ArrayLike, combine: str = "linear") -> Array:
    """Energy resolution (MeV) at shower energy ``e_mev`` (MeV).

    σ_E = 0.12 √(E/GeV) GeV ⊕ 0.01 GeV (physics.md §4).  ``combine="linear"`` (default) adds the
    constant term linearly, σ = 120 √(E/1000 MeV) + 10 MeV — the literal reading of physics.md
    and the conservative (larger) choice; ``combine="quadrature"`` adds it in quadrature.
    """
    e = _energies(e_mev, "e_mev")
    stoch = SIGMA_E_STOCHASTIC * np.sqrt(e * 1e-3) * 1e3
    if combine == "linear":
        return stoch + SIGMA_E_CONSTANT_MEV
    if combine == "quadrature":
        return np.hypot(stoch, SIGMA_E_CONSTANT_MEV)
    raise ParameterError(f"combine = {combine!r}; allowed: linear, quadrature")


def sigma_theta_deg(e_mev: ArrayLike) -> Array:
    """Angular resolution (degrees): σ_θ = ln(1 GeV / E) + 2.7 (physics.md §4), with E floored
    at 1 MeV and σ_θ floored at 1° (the formula reaches 1° at E ≈ 5.5 GeV and 0 at 14.9 GeV)."""
    e = np.maximum(_energies(e_mev, "e_mev"), SIGMA_THETA_E_FLOOR_MEV)
    return np.maximum(np.log(1e3 / e) + 2.7, SIGMA_THETA_MIN_DEG)


def smear_energy(rng: np.random.Generator, e_mev: ArrayLike, combine: str = "linear") -> Array:
    """Gaussian-smeared shower energies (MeV), σ from :func:`sigma_energy_mev`, clipped at 0.
    Draws one standard normal per event from ``rng``."""
    e = _energies(e_mev, "e_mev")
    sig = sigma_energy_mev(e, combine)
    return np.clip(e + sig * rng.standard_normal(e.shape), 0.0, None)


def _unit(v: ArrayLike, name: str) -> Array:
    v = np.asarray(v, dtype=np.float64).reshape(-1, 3)
    n = np.linalg.norm(v, axis=1)
    if not np.all(np.isfinite(v)) or np.any(n <= 0.0):
        raise ParameterError(f"{name} must be finite non-zero 3-vectors")
    return v / n[:, None]


def smear_direction(rng: np.random.Generator, dirs: ArrayLike, e_mev: ArrayLike) -> Array:
    """Smear directions ``dirs`` (N, 3) of showers of energy ``e_mev`` (N,) [MeV].

    The smeared direction makes a polar angle θ = |N(0, σ_θ)| (σ_θ from :func:`sigma_theta_deg`,
    so ⟨θ²⟩ = σ_θ²) with the true direction, at a uniformly random azimuth around it.  Draws N
    standard normals then N uniforms from ``rng``.  Returns unit vectors (N, 3).
    """
    d = _unit(dirs, "dirs")
    e = np.broadcast_to(_energies(e_mev, "e_mev"), (len(d),))
    theta = np.abs(np.radians(sigma_theta_deg(e)) * rng.standard_normal(len(d)))
    phi = rng.uniform(0.0, 2.0 * np.pi, len(d))
    s = np.sin(theta)
    local = np.column_stack([s * np.cos(phi), s * np.sin(phi), np.cos(theta)])
    out = rotate_to_axis(local, d)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# single-shower criteria for lepton (or photon) pairs
# --------------------------------------------------------------------------------------------
def circle_radius(e_vis_mev: ArrayLike, column: str = "1C/100S", extrapolate: bool = True) -> Array:
    """Radius r₁(E_vis) of the arXiv:2210.08021 Table II single-shower circle.

    Piecewise constant: the value of the 20 MeV E_vis bin of Table II containing ``e_vis_mev``
    (140 … 1280 MeV).  Outside the table: with ``extrapolate=True`` (default) the first / last
    bin value is held; with ``extrapolate=False`` the radius is 0 (no pair passes).
    ``column`` chooses the Table II variant: ``"1C/100S"`` (default) or ``"100C/1S"`` of rCircle1
    (the rDiagonal/rCircle0 columns are reachable as ``"diagonal/…"``/``"circle0/…"``).
    """
    if column not in CIRCLE_COLUMNS:
        raise ParameterError(f"column = {column!r}; allowed: {', '.join(CIRCLE_COLUMNS)}")
    e = _energies(e_vis_mev, "e_vis_mev")
    t = single_shower_cut_table()
    lo, hi, r = t[:, 0], t[:, 1], t[:, CIRCLE_COLUMNS[column]]
    idx = np.clip(np.searchsorted(lo, e, side="right") - 1, 0, len(t) - 1)
    out = r[idx]
    if not extrapolate:
        out = np.where((e >= lo[0]) & (e < hi[-1]), out, 0.0)
    return out


def single_shower(
    p_a: ArrayLike,
    p_b: ArrayLike,
    criterion: str = "circle",
    *,
    column: str = "1C/100S",
    extrapolate: bool = True,
    angle_max_deg: float = 13.0,
    soft_threshold_mev: float = 30.0,
    overlap_deg: float = RING_OVERLAP_DEG,
) -> tuple[NDArray[np.bool_], Array]:
    """Does a pair (e⁺e⁻ or γγ) of four-momenta ``p_a``, ``p_b`` (N, 4) [MeV] look like one
    electron-like shower in MiniBooNE?

    ``criterion="circle"`` (default, arXiv:2210.08021 Table II, physics.md §4): with Δ the
    opening angle, E_tot = E_a + E_b and E_max = max(E_a, E_b), pass if
    √[(1 − cosΔ)²/4 + (1 − E_max/E_tot)²] < r₁(E_tot)   (see :func:`circle_radius`)
    **or** the rings overlap, Δ < ``overlap_deg`` (13°, :data:`RING_OVERLAP_DEG`).  The origin of
    the Table II plane is "collinear and fully asymmetric": a collinear pair with equal energies
    sits at radius 0.5 and would pass the circle alone only where r₁ > 0.5 (E_tot < 160 MeV),
    although its two rings coincide.  The table was fitted on π0 → γγ, which never has
    Δ < ~12° at MiniBooNE energies, so below the overlap angle the pair is one ring
    (docs/response.md).  ``criterion="circle-table"``: the Table II circle alone.

    ``criterion="angle"``: pass if Δ < ``angle_max_deg`` (13°) or the softer particle's kinetic
    energy E − m < ``soft_threshold_mev`` (30 MeV).

    Returns ``(mask, shower_p4)``: the boolean pass mask (N,) and the combined shower
    four-vector (N, 4) = p_a + p_b, i.e. E_vis = E_a + E_b (both particles' light is collected,
    also for a soft partner) and direction = direction of the momentum sum.
    """
    a = np.asarray(p_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(p_b, dtype=np.float64).reshape(-1, 4)
    if a.shape != b.shape:
        raise ParameterError(f"p_a and p_b must have the same shape, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))) or np.any(a[:, 0] <= 0) or np.any(b[:, 0] <= 0):
        raise ParameterError("pair four-momenta must be finite with E > 0 MeV")
    if criterion not in SHOWER_CRITERIA:
        raise ParameterError(f"criterion = {criterion!r}; allowed: {', '.join(SHOWER_CRITERIA)}")
    na = np.linalg.norm(a[:, 1:], axis=1)
    nb = np.linalg.norm(b[:, 1:], axis=1)
    denom = na * nb
    cos_d = np.where(denom > 0, np.sum(a[:, 1:] * b[:, 1:], axis=1) / np.where(denom > 0, denom, 1.0), 1.0)
    cos_d = np.clip(cos_d, -1.0, 1.0)
    e_tot = a[:, 0] + b[:, 0]
    if criterion in ("circle", "circle-table"):
        e_max = np.maximum(a[:, 0], b[:, 0])
        r = np.sqrt(0.25 * (1.0 - cos_d) ** 2 + (1.0 - e_max / e_tot) ** 2)
        mask = r < circle_radius(e_tot, column=column, extrapolate=extrapolate)
        if criterion == "circle":
            if not (0.0 <= overlap_deg <= 180.0):
                raise ParameterError(f"overlap_deg must be in [0, 180] degrees, got {overlap_deg}")
            mask = mask | (cos_d > np.cos(np.radians(overlap_deg)))
    else:
        if not (0.0 < angle_max_deg <= 180.0) or soft_threshold_mev < 0.0:
            raise ParameterError("angle_max_deg must be in (0, 180] and soft_threshold_mev >= 0")
        t_a = a[:, 0] - invariant_mass(a)
        t_b = b[:, 0] - invariant_mass(b)
        mask = (cos_d > np.cos(np.radians(angle_max_deg))) | (np.minimum(t_a, t_b) < soft_threshold_mev)
    return mask, a + b


# --------------------------------------------------------------------------------------------
# reconstruction
# --------------------------------------------------------------------------------------------
def reconstruct(
    rng: np.random.Generator,
    showers_p4: ArrayLike,
    weights: ArrayLike,
    mode: str = "nu",
    *,
    efficiency_kind: str | None = "eg",
    smear: bool = True,
    combine: str = "linear",
    beam_axis: ArrayLike = (0.0, 0.0, 1.0),
) -> dict[str, Array]:
    """Reconstruct single electron-like showers as MiniBooNE does for ν_e CCQE candidates.

    Parameters
    ----------
    rng:
        Random generator (energy smearing first: N normals; then direction: N normals, N uniforms).
    showers_p4:
        (N, 4) shower four-vectors [MeV] (a photon, or ``single_shower(...)[1]`` of a pair);
        only E and the direction of p are used.  |p| must be > 0.
    weights:
        (N,) event weights [1/POT] of showers with vertex anywhere in the 610.6 cm sphere.
    mode:
        ``"nu"``, ``"nubar"`` or ``"dump"`` — chooses the E_QE convention
        (:func:`mesonportal.analysis.reconstruction.e_qe`).
    efficiency_kind:
        ``"eg"`` (default: 2012 γ/e⁻ table vs true shower energy, fiducial cut included),
        ``"nue_ccqe"`` (thesis ν_e CCQE efficiency vs true shower energy) or ``None`` (no factor).
    smear:
        Apply energy and angular smearing (default) or use the true values.
    combine:
        How the 0.01 GeV resolution term is added (see :func:`sigma_energy_mev`).
    beam_axis:
        Beam direction at the detector (default +z; the detector is on axis).

    Returns
    -------
    dict with (N,) arrays: ``e_true`` [MeV], ``e_vis`` [MeV] (smeared), ``cos_theta`` (smeared
    direction vs the beam axis), ``e_qe`` [MeV] (inf where the CCQE hypothesis has no solution),
    ``efficiency`` and ``weight`` = weights × efficiency.
    """
    check_reco_mode(mode)
    p4 = np.asarray(showers_p4, dtype=np.float64).reshape(-1, 4)
    n = len(p4)
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != (n,):
        raise ParameterError(f"weights must have one entry per shower ({n}), got {w.size}")
    if not np.all(np.isfinite(w)) or np.any(w < 0.0):
        raise ParameterError("weights must be finite and >= 0")
    e_true = _energies(p4[:, 0], "shower energy")
    axis = _unit(beam_axis, "beam_axis")[0]
    dirs = _unit(p4[:, 1:], "shower momentum") if n else np.zeros((0, 3))
    if smear:
        e_vis = smear_energy(rng, e_true, combine)
        dirs = smear_direction(rng, dirs, e_true) if n else dirs
    else:
        e_vis = e_true.copy()
    cos_t = np.clip(dirs @ axis, -1.0, 1.0)
    if efficiency_kind == "eg":
        eff = efficiency(e_true)
    elif efficiency_kind == "nue_ccqe":
        eff = nue_ccqe_efficiency(e_true)
    elif efficiency_kind is None:
        eff = np.ones(n)
    else:
        raise ParameterError(f"efficiency_kind = {efficiency_kind!r}; allowed: 'eg', 'nue_ccqe', None")
    return {
        "e_true": e_true,
        "e_vis": e_vis,
        "cos_theta": cos_t,
        "e_qe": e_qe(e_vis, cos_t, mode, lepton_mass_mev=M_E),
        "efficiency": eff,
        "weight": w * eff,
    }
