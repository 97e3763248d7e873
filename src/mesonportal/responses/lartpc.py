"""Liquid-argon TPC response (MicroBooNE, SBND, ICARUS): visible final state → topology.

A pure, vectorised function of per-event visible final states.  Units: MeV (energies,
four-momenta), cm (positions, lengths), degrees only where a key says ``_deg``; weights in
events per POT (or any unit: they are only multiplied by the efficiency).

Physics (every number is a field of :class:`LArTPCResponse`, with its source)
------------------------------------------------------------------------------
* **Photon conversion.**  A photon converts after an exponential distance with mean
  λ = (9/7) X₀ (high-energy pair-production mean free path, PDG Review "Passage of particles
  through matter", Eq. 34.31), X₀(LAr) = 19.55 g cm⁻² / 1.396 g cm⁻³ = 14.0 cm (PDG atomic and
  nuclear properties) → λ = 18.0 cm.  It makes a shower only if the conversion point lies in the
  active volume and its energy exceeds the shower threshold.
* **e/γ separation.**  Electrons start showering at the interaction vertex; a converted photon
  leaves a gap.  The gap is usable only when the vertex is known, i.e. when a proton is visible
  (1p); then a gap > ``gap_min_cm`` tags the shower as a photon.  Otherwise the first centimetres'
  dE/dx decide: a shower starting as a pair (photon conversion, or an unresolved e⁺e⁻ pair from
  the vertex) has ≈ 2 MIP, a single electron ≈ 1 MIP; the dE/dx tag is correct with
  probabilities ``dedx_gamma_id`` / ``dedx_electron_id``.
* **e⁺e⁻ pairs.**  Two showers are resolved when their opening angle exceeds
  ``pair_separation_deg`` and both are above threshold; two resolved showers from the vertex,
  both from e±, form the ``ee0p`` topology.  Unresolved pairs merge into one shower (energy
  sum, direction of the summed momentum).  Two resolved photon showers (π⁰-like) or a photon
  plus an electron are not selected (``none``).
* **Protons** are visible above ``proton_ke_threshold_mev`` kinetic energy.
* **Fiducial volume.**  The event vertex must lie in the fiducial volume.
* **Reconstruction.**  Shower energy smeared with σ_E/E = a/√(E/GeV) ⊕ b; the shower direction
  is smeared by a two-dimensional Gaussian of width ``angular_resolution_deg`` per projection.
* **Selection efficiency** per topology multiplies the weight of events of that topology (it
  stands for everything the truth-level topology definition does not model: reconstruction,
  cosmic rejection, BDT cuts).  Where MicroBooNE publishes a number it is used; otherwise it is
  a stated assumption.

Topologies: ``1g0p``, ``1g1p``, ``ee0p``, ``1e0p`` and ``none`` (everything else, including
events outside the fiducial volume and 1e with a visible proton).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from mesonportal import constants as C
from mesonportal.exceptions import ConfigError, ParameterError
from mesonportal.kinematics import rotate_to_axis
from mesonportal.responses.volumes import VolumeLike, as_volume

__all__ = [
    "TOPOLOGIES",
    "LABELS",
    "NONE",
    "LArTPCResponse",
    "LArTPCResult",
    "respond",
    "sum_by_topology",
]

Array = NDArray[np.float64]

TOPOLOGIES: tuple[str, ...] = ("1g0p", "1g1p", "ee0p", "1e0p")
"""Selected topologies, in the order of their integer codes 0..3."""
NONE = "none"
LABELS: tuple[str, ...] = TOPOLOGIES + (NONE,)
"""All labels; ``LABELS[code]`` is the label of integer code ``code`` (``none`` = 4)."""
_CODE = {lab: i for i, lab in enumerate(LABELS)}
_EM_PDG = (22, 11, -11)


@dataclass(frozen=True)
class LArTPCResponse:
    """Parameters of the LAr-TPC response (units in the names; sources below).

    Attributes
    ----------
    radiation_length_cm
        X₀ of liquid argon, 14.0 cm (PDG atomic and nuclear properties: 19.55 g cm⁻² at
        1.396 g cm⁻³).
    conversion_length_factor
        Photon mean free path in units of X₀, 9/7 (PDG review, high-energy limit of pair
        production).  Mean conversion distance = 18.0 cm.
    shower_threshold_mev
        Minimum energy [MeV] of a photon or electron to count as a reconstructed shower.
        Default 30 MeV: an assumption (physics.md: "tens of MeV"); MicroBooNE's single-photon
        selections reconstruct showers down to a few tens of MeV — the exact per-analysis cut
        could not be confirmed from the abstracts available; uncertainty ±20 MeV.
    proton_ke_threshold_mev
        Minimum proton kinetic energy [MeV] for a visible proton.  Default 40 MeV: MicroBooNE
        analyses use 35–50 MeV (Wire-Cell ≈ 35 MeV, Pandora eLEE 1eNp ≈ 40 MeV, NC Δ 1γ1p ≈ 50 MeV);
        not confirmed from the paper text with the tools available — stated assumption, ±10 MeV.
    gap_min_cm
        Vertex–shower-start distance [cm] above which a shower is photon-like when the vertex is
        known (visible proton).  Default 2 cm (physics.md: "a few cm"; vertex resolution ≲ 1 cm);
        assumption, range 1–5 cm.
    dedx_gamma_id, dedx_electron_id
        Probability that the dE/dx of the shower start identifies a pair-start (photon-like) /
        single-electron (electron-like) shower correctly.  Default 0.8 each: assumption
        (order of MicroBooNE's published dE/dx separation), uncertainty ±0.1.
    pair_separation_deg
        Opening angle [deg] above which two showers are resolved.  Default 5°: assumption
        ("a few degrees", physics.md §6), range 2–10°.
    energy_resolution_stochastic, energy_resolution_constant
        σ_E/E = a/√(E/GeV) ⊕ b.  Defaults a = 0.15, b = 0.05: assumption representative of
        reconstructed LAr-TPC showers (including clustering losses), uncertainty ±50%.
    angular_resolution_deg
        Gaussian width [deg] per projection of the shower direction.  Default 3°: assumption
        ("a few degrees"), range 1–5°.
    efficiency_1g0p, efficiency_1g1p
        Selection efficiency of single-photon events that pass the truth-level topology.
        Default 0.07: the final efficiency of MicroBooNE's inclusive single-photon selection,
        7.0% (arXiv:2502.06064 abstract; signal: inclusive single-photon final states, Wire-Cell).
        The NC Δ radiative 1γ1p/1γ0p efficiencies of arXiv:2110.00409 (the Pandora selections
        whose counts are bundled) could not be confirmed with the tools available, so they are
        not used; applying the Wire-Cell number to those counts is an assumption (docs/lartpc.md §5).
        Note: the published efficiency includes acceptance losses also modelled here (threshold,
        fiducial volume), so this slightly under-estimates; uncertainty ±50% (relative).
    efficiency_ee0p, efficiency_1e0p
        Default 1.0, i.e. **no selection efficiency applied** (truth-level acceptance only): no
        MicroBooNE number could be confirmed for these selections (arXiv:2502.10900 gives none in
        its abstract; the ν_e-CC efficiencies of the eLEE analyses do not transfer).  Results for these topologies are upper estimates; set the efficiency of
        the analysis you compare with.
    efficiency_uncertainty_*
        Absolute uncertainties of the efficiencies (documentation; propagated by the caller).
    """

    radiation_length_cm: float = 14.0
    conversion_length_factor: float = 9.0 / 7.0
    shower_threshold_mev: float = 30.0
    proton_ke_threshold_mev: float = 40.0
    gap_min_cm: float = 2.0
    dedx_gamma_id: float = 0.8
    dedx_electron_id: float = 0.8
    pair_separation_deg: float = 5.0
    energy_resolution_stochastic: float = 0.15
    energy_resolution_constant: float = 0.05
    angular_resolution_deg: float = 3.0
    efficiency_1g0p: float = 0.07
    efficiency_1g1p: float = 0.07
    efficiency_ee0p: float = 1.0
    efficiency_1e0p: float = 1.0
    efficiency_uncertainty_1g0p: float = 0.035
    efficiency_uncertainty_1g1p: float = 0.035
    efficiency_uncertainty_ee0p: float = 0.0
    efficiency_uncertainty_1e0p: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            _check_value(f.name, getattr(self, f.name))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None, where: str = "response") -> "LArTPCResponse":
        """Build from a mapping (e.g. the ``[detector.response]`` table of an experiment TOML).

        Keys are the field names; additionally ``efficiency = {1g0p = .., ...}`` and
        ``efficiency_uncertainty = {...}`` sub-tables are accepted.  Missing keys take the
        defaults.  Raises :class:`~mesonportal.exceptions.ConfigError` with a one-line message
        naming ``where`` and the key for an unknown key, unknown topology or a value out of
        range.
        """
        if mapping is None:
            return cls()
        if not isinstance(mapping, Mapping):
            raise ConfigError(f"{where}: expected a table of LAr-TPC response parameters")
        names = {f.name for f in fields(cls)}
        kw: dict[str, float] = {}
        for key, value in mapping.items():
            if key in ("efficiency", "efficiency_uncertainty"):
                if not isinstance(value, Mapping):
                    raise ConfigError(f"{where}.{key}: expected a table {{topology = value}} with topologies {', '.join(TOPOLOGIES)}")
                for topo, v in value.items():
                    if topo not in TOPOLOGIES:
                        raise ConfigError(f"{where}.{key}.{topo}: unknown topology (allowed: {', '.join(TOPOLOGIES)})")
                    kw[f"{key}_{topo}"] = v
            elif key in names:
                kw[key] = value
            else:
                raise ConfigError(f"{where}.{key}: unknown LAr-TPC response key (allowed: {', '.join(sorted(names | {'efficiency', 'efficiency_uncertainty'}))})")
        for k, v in kw.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"{where}.{k}: expected a number, got {v!r}")
            try:
                _check_value(k, float(v))
            except ParameterError as exc:
                raise ConfigError(f"{where}.{exc}") from None
        return cls(**{k: float(v) for k, v in kw.items()})

    # ------------------------------------------------------------------ derived
    @property
    def conversion_length_cm(self) -> float:
        """Mean photon conversion distance [cm] = factor × X₀ (18.0 cm by default)."""
        return self.conversion_length_factor * self.radiation_length_cm

    def efficiency(self, topology: str) -> float:
        """Selection efficiency of ``topology`` (0 for ``none``)."""
        if topology == NONE:
            return 0.0
        if topology not in TOPOLOGIES:
            raise ParameterError(f"topology {topology!r} unknown (allowed: {', '.join(LABELS)})")
        return float(getattr(self, f"efficiency_{topology}"))

    def efficiency_uncertainty(self, topology: str) -> float:
        """Absolute uncertainty of the selection efficiency of ``topology``."""
        if topology not in TOPOLOGIES:
            raise ParameterError(f"topology {topology!r} unknown (allowed: {', '.join(TOPOLOGIES)})")
        return float(getattr(self, f"efficiency_uncertainty_{topology}"))

    def describe(self) -> dict[str, float]:
        """All parameters as a plain dict (for run metadata / JSON output)."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


_POSITIVE = {"radiation_length_cm", "conversion_length_factor"}
_PROB = {"dedx_gamma_id", "dedx_electron_id"} | {f"efficiency_{t}" for t in TOPOLOGIES} | {
    f"efficiency_uncertainty_{t}" for t in TOPOLOGIES}


def _check_value(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"{name} = {value!r} must be a finite number")
    if name in _POSITIVE:
        if value <= 0:
            raise ParameterError(f"{name} = {value} must be > 0")
    elif name in _PROB:
        if not 0.0 <= value <= 1.0:
            raise ParameterError(f"{name} = {value} must be in [0, 1]")
    elif name in ("pair_separation_deg", "angular_resolution_deg"):
        if not 0.0 <= value < 180.0:
            raise ParameterError(f"{name} = {value} must be in [0, 180) degrees")
    elif value < 0:
        raise ParameterError(f"{name} = {value} must be >= 0")


# ====================================================================== result


@dataclass(frozen=True)
class LArTPCResult:
    """Per-event output of :func:`respond` (arrays of length N).

    Attributes
    ----------
    topology_code : int array, ``LABELS[code]`` is the label.
    shower_energy_mev : reconstructed (smeared) total shower energy [MeV]; 0 if no shower.
    cos_theta_beam : cosine of the reconstructed shower direction to the beam; NaN if no shower.
    opening_angle_deg : true opening angle of the two EM particles [deg]; NaN if fewer than two
        visible.
    efficiency : selection efficiency applied (0 for ``none``).
    weight : input weights [events/POT].
    weight_selected : weight × efficiency for selected topologies, 0 otherwise.
    n_showers : number of reconstructed showers (0, 1, 2).
    proton_visible, in_fiducial : bool arrays.
    conversion_distance_cm : (N, 2) sampled conversion distances of photons (NaN for non-photons).
    converts_inside : (N, 2) photon converted inside the active volume (False for non-photons).
    """

    topology_code: NDArray[np.int64]
    shower_energy_mev: Array
    cos_theta_beam: Array
    opening_angle_deg: Array
    efficiency: Array
    weight: Array
    weight_selected: Array
    n_showers: NDArray[np.int64]
    proton_visible: NDArray[np.bool_]
    in_fiducial: NDArray[np.bool_]
    conversion_distance_cm: Array
    converts_inside: NDArray[np.bool_]

    @property
    def topology(self) -> NDArray[np.str_]:
        """Topology labels (``LABELS[topology_code]``)."""
        return np.asarray(LABELS)[self.topology_code]

    def events_by_topology(self, exposure_pot: float = 1.0) -> dict[str, float]:
        """Selected events per topology (weight × efficiency × ``exposure_pot``)."""
        return sum_by_topology(self.topology_code, self.weight_selected * exposure_pot)

    def histograms(
        self,
        exposure_pot: float = 1.0,
        energy_edges_mev: Sequence[float] | None = None,
        costheta_edges: Sequence[float] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Histograms of selected events (weight × efficiency × ``exposure_pot``).

        Returns ``{"shower_energy": {...}, "costheta": {...}}``, each with ``edges`` (MeV or
        cos θ to the beam), ``counts`` and ``mc_stat_error`` (√Σw²) summed over the selected
        topologies, ``by_topology`` ({label: counts}) and ``outside`` (events outside the
        edges).  Defaults: shower energy 0–3000 MeV in 100 MeV bins; cos θ −1…1 in 20 bins.
        """
        e_edges = np.arange(0.0, 3000.0 + 1e-9, 100.0) if energy_edges_mev is None else np.asarray(energy_edges_mev, float)
        c_edges = np.linspace(-1.0, 1.0, 21) if costheta_edges is None else np.asarray(costheta_edges, float)
        for name, edges in (("energy_edges_mev", e_edges), ("costheta_edges", c_edges)):
            if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0) or not np.all(np.isfinite(edges)):
                raise ParameterError(f"{name} must be at least two strictly increasing finite numbers")
        w = self.weight_selected * float(exposure_pot)
        sel = self.topology_code != _CODE[NONE]
        out: dict[str, dict[str, Any]] = {}
        for key, x, edges in (("shower_energy", self.shower_energy_mev, e_edges), ("costheta", self.cos_theta_beam, c_edges)):
            xs, ws, codes = x[sel], w[sel], self.topology_code[sel]
            counts, _ = np.histogram(xs, bins=edges, weights=ws)
            sq, _ = np.histogram(xs, bins=edges, weights=ws**2)
            inside = (xs >= edges[0]) & (xs <= edges[-1])
            out[key] = {
                "edges": edges.tolist(),
                "counts": counts.tolist(),
                "mc_stat_error": np.sqrt(sq).tolist(),
                "by_topology": {lab: np.histogram(xs[codes == i], bins=edges, weights=ws[codes == i])[0].tolist()
                                for i, lab in enumerate(TOPOLOGIES)},
                "outside": float(np.sum(ws[~inside])),
            }
        return out

    def __len__(self) -> int:
        return len(self.topology_code)


def sum_by_topology(topology: NDArray[Any], weights: NDArray[np.float64], with_errors: bool = False) -> dict[str, Any]:
    """Sum ``weights`` per topology.

    ``topology`` holds integer codes or labels.  Returns ``{label: sum}`` for every selected
    topology (``none`` excluded, zero if absent); with ``with_errors`` also
    ``{label + "_err": sqrt(sum w²)}`` (MC statistical error of independent weighted events).
    """
    t = np.asarray(topology)
    w = np.asarray(weights, dtype=float)
    if t.shape != w.shape:
        raise ParameterError(f"topology shape {t.shape} and weights shape {w.shape} differ")
    if t.dtype.kind in "US":
        unknown = set(np.unique(t).tolist()) - set(LABELS)
        if unknown:
            raise ParameterError(f"unknown topology label(s) {sorted(unknown)} (allowed: {', '.join(LABELS)})")
        codes = np.array([_CODE[x] for x in t.tolist()], dtype=np.int64) if t.size else np.zeros(0, np.int64)
    else:
        codes = t.astype(np.int64)
    out: dict[str, Any] = {}
    for i, lab in enumerate(TOPOLOGIES):
        sel = codes == i
        out[lab] = float(np.sum(w[sel]))
        if with_errors:
            out[lab + "_err"] = float(np.sqrt(np.sum(w[sel] ** 2)))
    return out


# ====================================================================== response


def _validate_inputs(vertex, p4, pdg, proton_ke, weight, beam_direction):
    vertex = np.asarray(vertex, dtype=float)
    if vertex.ndim != 2 or vertex.shape[1] != 3:
        raise ParameterError(f"vertex must have shape (N, 3) [cm], got {vertex.shape}")
    n = len(vertex)
    p4 = np.asarray(p4, dtype=float)
    if p4.shape != (n, 2, 4):
        raise ParameterError(f"em_p4 must have shape (N, 2, 4) = ({n}, 2, 4) [MeV], got {p4.shape}")
    pdg = np.asarray(pdg)
    if pdg.shape != (n, 2):
        raise ParameterError(f"em_pdg must have shape (N, 2) = ({n}, 2), got {pdg.shape}")
    if pdg.size and not np.all(np.isin(pdg, (0,) + _EM_PDG)):
        bad = pdg[~np.isin(pdg, (0,) + _EM_PDG)][0]
        raise ParameterError(f"em_pdg contains {int(bad)}; allowed PDG codes are 22, 11, -11 and 0 (absent)")
    pdg = pdg.astype(np.int64)
    proton_ke = np.zeros(n) if proton_ke is None else np.asarray(proton_ke, dtype=float)
    if proton_ke.shape != (n,):
        raise ParameterError(f"proton_ke must have shape (N,) = ({n},) [MeV], got {proton_ke.shape}")
    weight = np.ones(n) if weight is None else np.asarray(weight, dtype=float)
    if weight.shape != (n,):
        raise ParameterError(f"weight must have shape (N,) = ({n},) [events/POT], got {weight.shape}")
    for name, arr in (("vertex", vertex), ("em_p4", p4), ("proton_ke", proton_ke), ("weight", weight)):
        if not np.all(np.isfinite(arr)):
            raise ParameterError(f"{name} contains NaN or infinite values")
    if np.any(weight < 0):
        raise ParameterError("weight must be >= 0 [events/POT]")
    if np.any(proton_ke < 0):
        raise ParameterError("proton_ke must be >= 0 [MeV]")
    present = pdg != 0
    if np.any(p4[present][:, 0] <= 0):
        raise ParameterError("em_p4 energy must be > 0 for present particles [MeV]")
    b = np.asarray(beam_direction, dtype=float).reshape(-1)
    if b.shape != (3,) or not np.all(np.isfinite(b)) or np.linalg.norm(b) == 0:
        raise ParameterError("beam_direction must be a non-zero 3-vector")
    return vertex, p4, pdg, proton_ke, weight, b / np.linalg.norm(b)


def _unit(v: Array) -> Array:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)


def respond(
    params: LArTPCResponse,
    vertex: Array,
    em_p4: Array,
    em_pdg: NDArray[np.integer],
    proton_ke: Array | None,
    weight: Array | None,
    *,
    active: VolumeLike | Sequence[Any],
    fiducial: VolumeLike | Sequence[Any],
    rng: np.random.Generator,
    beam_direction: Sequence[float] = (0.0, 0.0, 1.0),
) -> LArTPCResult:
    """Apply the LAr-TPC response to N events.

    Parameters
    ----------
    params : the response parameters.
    vertex : (N, 3) interaction (or decay) vertex in detector coordinates [cm].
    em_p4 : (N, 2, 4) four-momenta (E, px, py, pz) [MeV] of up to two EM particles.
    em_pdg : (N, 2) PDG codes in {22, 11, -11, 0 (absent)}.
    proton_ke : (N,) recoil-proton kinetic energy [MeV], 0 if none (``None`` = no protons).
    weight : (N,) event weights [events/POT] (``None`` = 1).
    active, fiducial : the active and fiducial volumes: lists of (lo, hi) box corners [cm]
        (several boxes for multi-module detectors) or objects with ``contains(points)``.
    rng : seeded generator; same seed and inputs → identical output.  Random numbers are
        drawn for every event and slot in a fixed order, so the draw for one event does not
        depend on the content of the others.
    beam_direction : beam axis in detector coordinates (normalised here).

    Returns
    -------
    :class:`LArTPCResult`.
    """
    if not isinstance(params, LArTPCResponse):
        raise ParameterError("params must be a LArTPCResponse")
    vertex, p4, pdg, proton_ke, weight, beam = _validate_inputs(vertex, em_p4, em_pdg, proton_ke, weight, beam_direction)
    active_v = as_volume(active, "active volume")
    fid_v = as_volume(fiducial, "fiducial volume")
    n = len(vertex)

    # ---- all random numbers, fixed order and shapes --------------------------------------
    u_conv = rng.exponential(params.conversion_length_cm, size=(n, 2))
    u_dedx = rng.random(n)
    z_energy = rng.standard_normal(n)
    z_angle = rng.standard_normal((n, 2))

    present = pdg != 0
    is_gamma = pdg == 22
    is_lep = present & ~is_gamma
    energy = p4[..., 0]
    direction = _unit(p4[..., 1:])
    kinetic = np.where(is_lep, energy - C.M_E, energy)

    # ---- photon conversion ----------------------------------------------------------------
    dist = np.where(is_gamma, u_conv, np.nan)
    conv_point = vertex[:, None, :] + np.where(is_gamma, u_conv, 0.0)[..., None] * direction
    conv_inside = active_v.contains(conv_point.reshape(-1, 3)).reshape(n, 2) & is_gamma
    start_gap = np.where(is_gamma, u_conv, 0.0)
    # temporaries are released as soon as they are used (peak memory of the main job, #10)
    del conv_point, u_conv

    in_fid = fid_v.contains(vertex)
    visible = present & (kinetic > params.shower_threshold_mev) & (~is_gamma | conv_inside)
    del kinetic
    n_vis = visible.sum(axis=1)
    proton_vis = proton_ke > params.proton_ke_threshold_mev

    # ---- two visible: resolved or merged -------------------------------------------------
    cos_open = np.clip(np.sum(direction[:, 0] * direction[:, 1], axis=1), -1.0, 1.0)
    del direction
    open_deg = np.where(n_vis == 2, np.degrees(np.arccos(cos_open)), np.nan)
    resolved = (n_vis == 2) & (open_deg > params.pair_separation_deg)
    n_showers = np.where(resolved, 2, np.minimum(n_vis, 1)).astype(np.int64)

    # the single (possibly merged) shower: energy, momentum, start
    vis_f = visible.astype(float)
    shower_e = np.sum(energy * vis_f, axis=1)
    shower_p3 = np.sum(p4[..., 1:] * vis_f[..., None], axis=1)
    del vis_f
    n_lep_vis = np.sum(visible & is_lep, axis=1)
    n_gam_vis = np.sum(visible & is_gamma, axis=1)
    # dE/dx of the start: 2 MIP if it starts as a pair (photon conversion or e+e- from the
    # vertex), 1 MIP if a single electron starts it
    two_mip = np.where(n_lep_vis >= 2, True, n_lep_vis == 0)
    gap = np.where(n_lep_vis > 0, 0.0, np.min(np.where(visible & is_gamma, start_gap, np.inf), axis=1))
    gap = np.where(n_gam_vis + n_lep_vis > 0, gap, 0.0)
    del start_gap

    dedx_photon_like = np.where(two_mip, u_dedx < params.dedx_gamma_id, u_dedx >= params.dedx_electron_id)
    photon_like = np.where(proton_vis & (gap > params.gap_min_cm), True, dedx_photon_like)

    code = np.full(n, _CODE[NONE], dtype=np.int64)
    single = n_showers == 1
    code[single & photon_like & ~proton_vis] = _CODE["1g0p"]
    code[single & photon_like & proton_vis] = _CODE["1g1p"]
    code[single & ~photon_like & ~proton_vis] = _CODE["1e0p"]
    both_lep = np.all(is_lep, axis=1)
    code[resolved & both_lep & ~proton_vis] = _CODE["ee0p"]
    code[~in_fid] = _CODE[NONE]

    # ---- reconstruction: energy and direction smearing ------------------------------------
    has_shower = n_showers > 0
    e_gev = np.maximum(shower_e, 1e-12) / 1000.0
    rel = np.sqrt((params.energy_resolution_stochastic / np.sqrt(e_gev)) ** 2 + params.energy_resolution_constant**2)
    e_reco = np.where(has_shower, np.maximum(shower_e * (1.0 + rel * z_energy), 0.0), 0.0)
    sig = math.radians(params.angular_resolution_deg)
    tx, ty = sig * z_angle[:, 0], sig * z_angle[:, 1]
    local = _unit(np.column_stack([tx, ty, np.ones(n)]))
    axis = _unit(shower_p3)
    axis[~has_shower] = (0.0, 0.0, 1.0)
    dir_reco = rotate_to_axis(local, axis)
    del local, axis, tx, ty
    cos_beam = np.where(has_shower, dir_reco @ beam, np.nan)

    eff_table = np.array([params.efficiency(t) for t in LABELS])
    eff = eff_table[code]
    return LArTPCResult(
        topology_code=code,
        shower_energy_mev=e_reco,
        cos_theta_beam=cos_beam,
        opening_angle_deg=open_deg,
        efficiency=eff,
        weight=weight,
        weight_selected=weight * eff,
        n_showers=n_showers,
        proton_visible=proton_vis,
        in_fiducial=in_fid,
        conversion_distance_cm=dist,
        converts_inside=conv_inside,
    )
