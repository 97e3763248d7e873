"""Per-model detection chains: dark particles at the detector → MiniBooNE-like events.

Two chains (physics.md §2–§4; formulas and approximations in docs/prediction.md):

* :func:`scalar_chain` — long-lived φ / a from π±, K± → ℓ ν X.  X is emitted towards the
  detector with the forced-direction weight (:mod:`mesonportal.propagation.forced`), survives to
  the sphere with exp(−L_in/(γβcτ)), and either
  (i) scatters, X A → γ A (dark Primakoff, C-12 coherent with Helm form factor and free protons),
  with the thin-target probability ℓ Σ_i n_i σ_i(E_X), or
  (ii) decays inside, X → γγ / e⁺e⁻, with probability e^{−L_in/L}(1 − e^{−ℓ/L}) × BR.
* :func:`idm_chain` — π±, K± → ℓ ν V, π⁰/η → γ V (no prompt decays), then V → χχ̄ (and
  V → χχ̄′ + h.c.) with the forced χ direction, χ A → χ′ A up-scattering (C-12 coherent + protons),
  χ′ decaying inside the sphere (truncated exponential) to χ e⁺e⁻ (on-shell χ′ → χV, V → e⁺e⁻
  or off-shell three-body), the pair passing the single-shower criterion.

Every chain returns a :class:`ChainResult`: flat per-event columns (generator level and
reconstructed, all 1-D, units MeV / cm / MeV²) with ``weight`` in events per POT, and an ``info``
dict with the weight bookkeeping of each stage (what was removed and why — nothing is dropped
silently).
"""

from __future__ import annotations

import contextlib
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from mesonportal import constants as C
from mesonportal.detection import primakoff as pk
from mesonportal.detection import upscattering as up
from mesonportal.detection.form_factors import KAPPA_P
from mesonportal.kinematics import two_body_decay, two_body_momentum
from mesonportal.production.meson_decays import produce_channel
from mesonportal.production.three_body import ThreeBodyTable
from mesonportal.propagation.forced import (draw_from_band, force_towards_sphere, force_towards_sphere_restframe,
                                             rest_band)
from mesonportal.geometry import (decay_probability_in_segments, sample_decay_in_segments,
                                  sample_point_in_segments)
from mesonportal.sample import DARK_PDG, ParticleSample

Array = NDArray[np.float64]

__all__ = [
    "ChainResult",
    "Arrivals",
    "PROCESS_CODES",
    "EFFICIENCY_THRESHOLD_MEV",
    "is_scalar_model",
    "is_idm_model",
    "conversion_interface",
    "scalar_arrivals",
    "idm_arrivals",
    "scalar_chain",
    "idm_chain",
    "idm_reweighter",
    "idm_arrival_memo",
]

#: Process codes stored in the ``process`` column.
PROCESS_CODES = {"primakoff": 0, "decay_gamma_gamma": 1, "decay_ee": 2, "upscatter_chi_ee": 3}
#: The ``target`` column holds the Z of the scattering centre (6 = C-12, 18 = Ar-40, 1 = proton,
#: ...; 0 = decay, no target).
#: The MiniBooNE γ/e efficiency is exactly 0 below this true shower energy (first table node):
#: dark particles below it cannot give a detected shower and are not processed further (their
#: weight is reported in ``info``).  Kept for compatibility: the chains take the threshold of
#: the detector's response (``response.min_energy_mev``, :mod:`mesonportal.responses`).
EFFICIENCY_THRESHOLD_MEV = 50.0


def _default_response(response, criterion: str):
    """``response`` or, if None, the MiniBooNE Cherenkov response with ``criterion``."""
    if response is not None:
        return response
    from mesonportal.responses.cherenkov import CherenkovResponse

    return CherenkovResponse(criterion)

SCALAR_MESONS = (211, -211, 321, -321)
IDM_MESONS = (211, -211, 321, -321, 111, 221)


def is_scalar_model(model) -> bool:
    """Long-lived-X family (declared ``family = "long-lived"``, :mod:`mesonportal.models.base`):
    the (pseudo)scalars and any model declaring the conversion interface of
    :func:`conversion_interface` (e.g. the long-lived vector)."""
    return getattr(model, "family", "") == "long-lived"


def conversion_interface(model):
    """``(sigma, sample)`` of the X T → γ T conversion used by :func:`scalar_chain`.

    The declared interface of a long-lived-X model: besides ``production_channels()``, ``m_x``
    [MeV], ``ctau`` [cm], ``branching_ratios()`` (visible keys 'gamma gamma', 'e+ e-') and
    ``_dark_key``, either ``conversion_cross_section(e, target) -> σ [cm²]`` and
    ``sample_conversion(rng, p4, target) -> (p4_γ, t)`` (e.g.
    :class:`~mesonportal.models.longlived_vector.LongLivedVector`), or — for the
    (pseudo)scalars — the Z′ dark Primakoff of :mod:`mesonportal.detection.primakoff` with
    ``m_zprime``, ``lam_eff``, ``nuclear_charge`` and ``proton_charge``."""
    if hasattr(model, "conversion_cross_section") and hasattr(model, "sample_conversion"):
        return model.conversion_cross_section, model.sample_conversion
    m_x, m_zp, lam = float(model.m_x), float(model.m_zprime), float(model.lam_eff)

    def sigma(e, target):
        q = model.proton_charge() if target.is_fermion else model.nuclear_charge(target.Z, target.A)
        return pk.total_cross_section(e, m_x, m_zp, lam, q, target)

    def sample(rng, p4, target):
        return pk.sample_photon(rng, p4, m_x, m_zp, target)

    return sigma, sample


def is_idm_model(model) -> bool:
    """Inelastic-DM family (declared ``family = "inelastic"``, :mod:`mesonportal.models.base`)."""
    return getattr(model, "family", "") == "inelastic"


@dataclass
class ChainResult:
    """Flat per-event columns (1-D arrays, ``weight`` in events/POT) and stage bookkeeping."""

    columns: dict[str, np.ndarray]
    info: dict[str, Any] = field(default_factory=dict)
    weight_fn: Any = None

    def __len__(self) -> int:
        return len(self.columns["weight"])


@dataclass
class Arrivals:
    """Dark particles emitted towards the detector sphere (one row per forced emission).

    ``p4`` (N, 4) MeV lab, ``vertex`` (N, 3) cm production point, ``direction`` (N, 3),
    ``weight`` (N,) per POT = parent weight × BR × forced-direction factor (× multiplicity),
    ``parent`` meson PDG code, ``channel`` index, ``entry``/``chord`` cm along the direction,
    ``survival`` probability to reach the sphere, ``extra`` per-row arrays of the chain
    (from :func:`scalar_arrivals` / :func:`idm_arrivals` always ``meson_index``: int64 row of
    the originating meson in the meson sample, for meson-clustered MC errors)."""

    p4: Array
    vertex: Array
    direction: Array
    weight: Array
    parent: NDArray[np.int64]
    channel: NDArray[np.int64]
    entry: Array
    chord: Array
    survival: Array
    mass: float
    species: str
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.weight)

    def select(self, mask) -> "Arrivals":
        return Arrivals(self.p4[mask], self.vertex[mask], self.direction[mask], self.weight[mask],
                        self.parent[mask], self.channel[mask], self.entry[mask], self.chord[mask],
                        self.survival[mask], self.mass, self.species,
                        {k: v[mask] for k, v in self.extra.items()}, self.info)

    def flux(self, volume_cm3: float, edges_mev: Array) -> tuple[Array, Array]:
        """Track-length flux Σ w S ℓ / V per energy bin [1/cm²/POT/bin] and its MC error."""
        c = self.weight * self.survival * self.chord / volume_cm3
        h, _ = np.histogram(self.p4[:, 0], edges_mev, weights=c)
        h2, _ = np.histogram(self.p4[:, 0], edges_mev, weights=c * c)
        return h, np.sqrt(h2)


def _survival(p4: Array, mass: float, ctau_cm: float, entry: Array) -> Array:
    """exp(−L_in/(γβcτ)), γβ = p/m; 1 for a stable particle."""
    if not math.isfinite(ctau_cm):
        return np.ones(len(p4))
    p = np.linalg.norm(p4[:, 1:], axis=1)
    lam = np.where(p > 0, p / mass * ctau_cm, 1e-300)
    return np.exp(-entry / lam)


def _decay_length(p4: Array, mass: float, ctau_cm: float) -> Array:
    p = np.linalg.norm(p4[:, 1:], axis=1)
    return p / mass * ctau_cm


#: Forced-emission method of the chains: "restframe" (bounded weights, default) or "lab"
#: (lab direction uniform in the cone, Ω dN/dΩ weight); both unbiased (tests/test_forced.py).
FORCED_METHOD = "restframe"


def _force_emission(rng, parents_p4, vertex, rest_p4, m, det, method: str | None = None):
    """Daughters forced towards ``det``'s bounding sphere (``FORCED_METHOD`` unless ``method``)."""
    method = FORCED_METHOD if method is None else method
    fn = force_towards_sphere_restframe if method == "restframe" else force_towards_sphere
    return fn(rng, parents_p4, vertex, rest_p4, m, det.center_cm, det.radius_cm)


def _force(rng, parents_p4, vertex, rest_p4, m, det, method: str | None = None) -> tuple:
    fe = _force_emission(rng, parents_p4, vertex, rest_p4, m, det, method)
    inter = _shape_of(det).intersect(vertex, fe.direction)
    return fe, inter


def _shape_of(det):
    """The exact active volume of ``det`` (a :class:`mesonportal.geometry.Shape`); forced
    emission aims at its bounding sphere (``det.center_cm``, ``det.radius_cm``)."""
    geom = getattr(det, "geometry", None)
    if geom is None:
        from mesonportal.geometry import Sphere

        geom = Sphere(det.center_cm, det.radius_cm)
    return geom


def _centres(det, medium=None, bound_nucleons=None) -> list[tuple[str, Any, float, float]]:
    """Interaction targets of a detector's medium (or of ``medium``): (name, NuclearTarget,
    number density [1/cm³], Z, A) per distinct target, bound and free protons merged (same
    cross section per proton).  Raises ParameterError if the medium offers no target, so an
    unsupported medium can never silently give zero signal."""
    from mesonportal.detection.targets import nucleus_target
    from mesonportal.exceptions import ParameterError
    from mesonportal.experiments.media import scattering_centres

    if medium is None:
        cs = det.scattering_centres()
    else:
        cs = scattering_centres(medium, det.bound_nucleons if bound_nucleons is None else bound_nucleons)
    out: dict[str, list] = {}
    for c in cs:
        tgt = nucleus_target(c.Z, c.A)
        if tgt.name in out:
            out[tgt.name][2] += c.density_cm3
        else:
            out[tgt.name] = [tgt.name, tgt, c.density_cm3]
    if not out or not all(v[2] > 0 for v in out.values()):
        raise ParameterError(f"medium of detector has no interaction target with positive density: {cs}")
    return [tuple(v) for v in out.values()]


def _choose_target(rng, macs: list[Array]) -> tuple[Array, NDArray[np.intp]]:
    """Total macroscopic cross section Σ_k n_k σ_k [1/cm] and the per-event target index k
    drawn with probability n_k σ_k / Σ (one uniform per event)."""
    mac = np.zeros_like(macs[0])
    for m in macs:
        mac = mac + m
    r = rng.random(len(mac)) * mac
    k = np.zeros(len(mac), np.intp)
    cum = np.zeros_like(mac)
    for i, m in enumerate(macs[:-1]):
        cum = cum + m
        k = np.where((k == i) & ~(r < cum), i + 1, k)
    return mac, k


# ============================================================================ rest-frame spectra

_ENERGY_NODES = 257
_ENERGY_GL = 16


def _energy_icdf(table: ThreeBodyTable) -> tuple[Array, Array] | None:
    """Inverse CDF (cdf values, E_X nodes [MeV]) of the rest-frame dΓ/dE_X of ``table``
    (trapezoid on ``_ENERGY_NODES`` cosine-spaced nodes, ``_ENERGY_GL``-point Gauss–Legendre in
    m²₂₃); None for a vanishing spectrum.  Kept on the table and in the on-disk cache
    (:mod:`mesonportal.cache`, content-addressed by the table arrays — masses, width and the
    |M|² envelope — and the node counts): for the radiative P → ℓνV tables (4×4 Dirac traces)
    the ~4000 |M|² evaluations per table cost ~0.05–0.1 s in every fresh process."""
    icdf = getattr(table, "_energy_icdf", None)
    if icdf is not None:
        return icdf if len(icdf[0]) else None
    from mesonportal import cache

    path = None
    if cache.cache_enabled():
        import hashlib

        st = table.table_state()
        h = hashlib.sha256()
        for k in sorted(st):
            h.update(k.encode())
            h.update(np.ascontiguousarray(st[k], dtype=np.float64).tobytes())
        ck = cache.cache_key("three-body-energy-icdf", table=h.hexdigest(), nodes=_ENERGY_NODES, gl=_ENERGY_GL)
        path = cache.cache_dir() / "tables" / f"energy-icdf-{ck}.npz"
        if path.is_file():
            try:
                with np.load(path) as z:
                    icdf = (np.asarray(z["cdf"], float), np.asarray(z["e"], float))
            except Exception:  # corrupt entry: rebuild  # noqa: BLE001
                path.unlink(missing_ok=True)
                icdf = None
    if icdf is None:
        lo, hi = table.e3_range
        x = 0.5 * (1.0 - np.cos(np.linspace(0.0, np.pi, _ENERGY_NODES)))
        e = lo + (hi - lo) * x
        d = np.clip(table.dgamma_dex(e, n=_ENERGY_GL), 0.0, None)
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(e))])
        if cdf[-1] > 0:
            c, idx = np.unique(cdf / cdf[-1], return_index=True)
            icdf = (c, e[idx])
        else:
            icdf = (np.zeros(0), np.zeros(0))
        if path is not None:
            cache.save_arrays(path, {"cdf": icdf[0], "e": icdf[1]})
    table._energy_icdf = icdf
    return icdf if len(icdf[0]) else None


def rest_energy_sampler(channel):
    """Fast rest-frame sampler for a production channel: for a three-body channel (sampler =
    ``ThreeBodyTable.sample_dark``) the dark-particle energy is drawn by inverse CDF from
    dΓ/dE_X tabulated once per table (``_ENERGY_NODES`` cosine-spaced nodes, Gauss–Legendre in
    m²₂₃), with an isotropic direction; only E0 and |p0| matter for the forced emission.  This
    replaces the exact accept–reject sampler, whose |M|² (4×4 Dirac traces for P → ℓνV) costs
    ~25 s per 1e5 decays.  Accuracy of the tabulated spectrum: tests/test_predict.py.
    Two-body samplers are returned unchanged."""
    fn = channel.sample_rest_frame
    table = getattr(fn, "__self__", None)
    if not isinstance(table, ThreeBodyTable) or not table.is_open:
        return fn
    icdf = _energy_icdf(table)
    if icdf is None:
        return fn
    m3 = table.m3

    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        from mesonportal.kinematics import isotropic_directions

        en = np.interp(rng.random(int(n)), icdf[0], icdf[1])
        q = np.sqrt(np.clip(en * en - m3 * m3, 0.0, None))
        return np.column_stack([en, q[:, None] * isotropic_directions(rng, int(n))])

    return sample


# ============================================================================ long-lived X


def scalar_arrivals(model, mesons: ParticleSample, detector, rng: np.random.Generator,
                    n_per_meson: int = 1) -> Arrivals:
    """X from every open π±/K± → ℓ ν X channel of ``model``, forced towards the detector.

    Per meson and channel ``n_per_meson`` emissions, each of weight
    w_meson × BR / n_per_meson × Ω_cone dN/dΩ.  Survival uses the model lifetime."""
    species = str(model._dark_key)
    m = float(model.m_x)
    parts = []
    info: dict[str, Any] = {"channels": {}}
    for ic, ch in enumerate(model.production_channels()):
        if not ch.is_open or ch.branching_ratio <= 0.0 or ch.sample_rest_frame is None:
            info["channels"][ch.label] = {"branching_ratio": ch.branching_ratio, "open": bool(ch.is_open),
                                          "produced_per_pot": 0.0}
            continue
        idx = np.flatnonzero(ch.applies_to(mesons.pdgid))
        idx = np.repeat(idx, n_per_meson)
        if idx.size == 0:
            continue
        rest = np.asarray(rest_energy_sampler(ch)(rng, idx.size), float)
        par = mesons.p4[idx]
        vtx = mesons.vertex[idx]
        w0 = mesons.weight[idx] * (ch.branching_ratio / n_per_meson)
        fe = _force_emission(rng, par, vtx, rest, m, detector)
        del par, rest  # not held while the detector's segments are computed (peak memory)
        inter = _shape_of(detector).intersect(vtx, fe.direction)
        w = w0 * fe.weight
        info["channels"][ch.label] = {"branching_ratio": ch.branching_ratio, "open": True,
                                      "produced_per_pot": float(np.sum(w0)),
                                      "towards_detector_per_pot": float(np.sum(w))}
        # keep only the rows _pack keeps (w > 0), channel by channel, so the zero-weight rows of
        # one channel are not held while the next is forced (same rows and order: identical)
        del w0
        keep = w > 0.0
        sub = _Inter(inter.entry[keep], inter.chord[keep])
        del inter
        parts.append((fe.p4[keep], vtx[keep], fe.direction[keep], w[keep], mesons.pdgid[idx[keep]],
                      np.full(int(np.count_nonzero(keep)), ic), sub,
                      {"meson_index": idx[keep].astype(np.int64)}))
        del fe, vtx, w, keep, sub
    return _pack(parts, m, species, model.ctau, info, extra_keys=("meson_index",))


class _Inter(NamedTuple):
    """The two columns of a :class:`RayIntersection` that :func:`_pack` reads (entry, chord [cm])."""

    entry: Array
    chord: Array


#: Integer-valued ``Arrivals.extra`` keys.
_INT_EXTRAS = ("meson_index",)


def _pack(parts, m, species, ctau, info, extra_keys=()) -> Arrivals:
    if not parts:
        z = np.zeros(0)
        return Arrivals(np.zeros((0, 4)), np.zeros((0, 3)), np.zeros((0, 3)), z, np.zeros(0, np.int64),
                        np.zeros(0, np.int64), z, z, z, m, species,
                        {k: np.zeros(0, np.int64 if k in _INT_EXTRAS else np.float64) for k in extra_keys}, info)
    # rows with zero forced weight (no kinematic solution along the sampled direction) carry no
    # probability: removing them changes nothing.  Rows are selected part by part before the
    # one concatenation (a single copy of every column; same rows and order as select-after).
    # The caller's list is emptied and each part's column released as soon as it is joined
    # (peak memory: the parts and the joined arrays are not all held at once).
    cols = [[p[0], p[1], p[2], p[3], p[4], p[5], p[6].entry, p[6].chord, dict(p[7])] for p in parts]
    parts.clear()
    keeps = [np.asarray(c[3]) > 0.0 for c in cols]

    def cat(j, dtype=None, key=None):
        out = []
        for c, k in zip(cols, keeps):
            a = c[j].pop(key) if key is not None else c[j]
            if key is None:
                c[j] = None
            out.append(np.asarray(a)[k])
            del a
        out = np.concatenate(out)
        return out if dtype is None else out.astype(dtype, copy=False)

    p4 = cat(0)
    entry = cat(6)
    extra = {k: cat(8, key=k) for k in extra_keys} if extra_keys else {}
    vertex, direction, weight = cat(1), cat(2), cat(3)
    parent, channel, chord = cat(4, np.int64), cat(5, np.int64), cat(7)
    return Arrivals(p4, vertex, direction, weight, parent, channel, entry, chord,
                    _survival(p4, m, ctau, entry), m, species, extra, info)


def _truncated_exponential(rng, length: Array, lam: Array) -> Array:
    """Distance in [0, ℓ] drawn from exp(−s/λ) truncated at ℓ (stable for λ ≫ ℓ and λ ≪ ℓ);
    the one-segment case of :func:`mesonportal.geometry.sample_decay_in_segments`."""
    u = rng.random(len(length))
    lam = np.where(lam > 0, lam, 1e-300)
    x = -np.expm1(-length / lam)
    return np.clip(-lam * np.log1p(-u * x), 0.0, length)


def _flat_columns(prefix: str, a: Array) -> dict[str, Array]:
    names = ("e", "px", "py", "pz") if a.shape[1] == 4 else ("x", "y", "z")
    return {f"{prefix}_{n}": np.ascontiguousarray(a[:, i]) for i, n in enumerate(names)}


def scalar_chain(exp, mode: str, model, mesons: ParticleSample, rng: np.random.Generator, *,
                 n_per_meson: int = 1, criterion: str = "circle", decays: bool = True,
                 smear: bool = True, response=None) -> ChainResult:
    """Long-lived φ / a: Primakoff scattering (and decays) inside the detector → events.

    Returns the per-event columns (see docs/prediction.md) with ``weight`` [events/POT],
    ``process`` (0 Primakoff, 1 X → γγ, 2 X → e⁺e⁻) and the stage bookkeeping in ``info``.
    The chain itself is technology-neutral: ``response`` (default: the MiniBooNE Cherenkov
    response with ``criterion``; see :mod:`mesonportal.responses.technology`) sets the energy
    below which X is not followed, which pairs are kept, and reconstructs the events."""
    det = exp.detector
    resp = _default_response(response, criterion)
    arr = scalar_arrivals(model, mesons, det, rng, n_per_meson)
    info: dict[str, Any] = {"chain": "long-lived X", **arr.info}
    hit = arr.chord > 0.0
    info["at_detector_per_pot"] = float(np.sum(arr.weight[hit] * arr.survival[hit]))
    low = arr.p4[:, 0] <= resp.min_energy_mev
    info["min_energy_mev"] = float(resp.min_energy_mev)
    info["below_efficiency_threshold_per_pot"] = float(np.sum(arr.weight[hit & low] * arr.survival[hit & low]))
    arr = arr.select(hit & ~low)
    centres = _centres(det)
    info["targets"] = {name: {"Z": tgt.Z, "A": tgt.A, "density_cm3": n} for name, tgt, n in centres}
    info["bound_nucleons"] = bool(getattr(det, "bound_nucleons", False))
    m_x = float(model.m_x)
    conv_sigma, conv_sample = conversion_interface(model)
    e = arr.p4[:, 0]
    cols_list = []
    # ---------------------------------------------------------------- (i) dark Primakoff
    macs = [n * conv_sigma(e, tgt) for _, tgt, n in centres]
    mac, k_t = _choose_target(rng, macs)
    p_int = arr.chord * mac
    w = arr.weight * arr.survival * p_int
    info["primakoff_interactions_per_pot"] = float(np.sum(w))
    gam = np.zeros_like(arr.p4)
    t = np.zeros(len(arr))
    for k, (_, tgt, _) in enumerate(centres):
        sel = k_t == k
        if np.any(sel):
            gam[sel], t[sel] = conv_sample(rng, arr.p4[sel], tgt)
    z_of = np.array([tgt.Z for _, tgt, _ in centres], np.int64)
    ok = (w > 0) & (gam[:, 0] > 0)
    seg_a, seg_b = _shape_of(det).segments(arr.vertex, arr.direction)
    vtx = arr.vertex + arr.direction * sample_point_in_segments(rng, seg_a, seg_b)[:, None]
    if np.any(ok):
        cols = _event_columns(arr, ok, vtx, w, PROCESS_CODES["primakoff"])
        cols["target"] = z_of[k_t[ok]]
        cols["t"] = t[ok]
        cols.update(_flat_columns("p1", gam[ok]))
        cols.update(_flat_columns("p2", np.zeros((int(ok.sum()), 4))))
        cols["shower_e"] = gam[ok, 0]
        cols["_shower_p4"] = gam[ok]
        cols_list.append(cols)
    # ---------------------------------------------------------------- (ii) decays inside
    brs = model.branching_ratios()
    br_vis = {"gamma gamma": brs.get("gamma gamma", 0.0), "e+ e-": brs.get("e+ e-", 0.0)}
    br_tot_vis = sum(br_vis.values())
    info["decay_branching_ratios"] = brs
    info["decays_included"] = bool(decays)
    ctau = model.ctau
    if decays and br_tot_vis > 0.0 and math.isfinite(ctau) and len(arr):
        lam_d = _decay_length(arr.p4, m_x, ctau)
        p_dec = decay_probability_in_segments(seg_a, seg_b, lam_d)
        wd = arr.weight * p_dec * br_tot_vis
        info["decays_inside_visible_per_pot"] = float(np.sum(wd))
        info["decays_inside_mumu_per_pot"] = float(np.sum(arr.weight * p_dec) * brs.get("mu+ mu-", 0.0))
        s = sample_decay_in_segments(rng, seg_a, seg_b, lam_d)
        dvtx = arr.vertex + arr.direction * s[:, None]
        is_gg = rng.random(len(arr)) * br_tot_vis < br_vis["gamma gamma"]
        a = np.zeros_like(arr.p4)
        b = np.zeros_like(arr.p4)
        for sel, md in ((is_gg, 0.0), (~is_gg, C.M_E)):
            if np.any(sel):
                a[sel], b[sel] = two_body_decay(rng, arr.p4[sel], md, md)
        okd = wd > 0
        if np.any(okd):
            passed, shower = resp.select_pairs(a[okd], b[okd])
            info["decays_failing_single_shower_per_pot"] = float(np.sum(wd[okd][~passed]))
            keep = np.flatnonzero(okd)[passed]
            if keep.size:
                mask = np.zeros(len(arr), bool)
                mask[keep] = True
                cols = _event_columns(arr, mask, dvtx, wd, 0)
                cols["process"] = np.where(is_gg[mask], PROCESS_CODES["decay_gamma_gamma"],
                                           PROCESS_CODES["decay_ee"]).astype(np.int64)
                cols["target"] = np.zeros(keep.size, np.int64)
                cols["t"] = np.zeros(keep.size)
                cols.update(_flat_columns("p1", a[mask]))
                cols.update(_flat_columns("p2", b[mask]))
                cols["shower_e"] = shower[passed][:, 0]
                cols["_shower_p4"] = shower[passed]
                cols_list.append(cols)
    else:
        info["decays_inside_visible_per_pot"] = 0.0
    columns = _finish(cols_list, rng, mode, smear, info, resp)
    return ChainResult(columns, info)


def _event_columns(arr: Arrivals, mask, vtx: Array, w: Array, process: int) -> dict[str, Array]:
    n = int(np.count_nonzero(mask))
    cols: dict[str, Array] = {
        "process": np.full(n, process, np.int64),
        "parent_pdg": arr.parent[mask],
        "channel": arr.channel[mask],
    }
    if "meson_index" in arr.extra:
        cols["meson_index"] = np.asarray(arr.extra["meson_index"][mask], np.int64)
    cols.update(_flat_columns("dark", arr.p4[mask]))
    cols.update(_flat_columns("prod", arr.vertex[mask]))
    cols.update(_flat_columns("int", vtx[mask]))
    cols["_w"] = w[mask]
    return cols


def _finish(cols_list: list[dict], rng, mode: str, smear: bool, info: dict, response) -> dict[str, Array]:
    """Concatenate event blocks and apply ``response.reconstruct`` (efficiency, smearing,
    reconstructed energy and angle; technology-specific columns)."""
    if not cols_list:
        return _empty_columns()
    keys = [k for k in cols_list[0]]
    allk = set().union(*[c.keys() for c in cols_list])
    for c in cols_list:
        n = len(c["_w"])
        for k in allk:
            if k not in c:
                c[k] = np.zeros(n)
    keys = list(cols_list[0].keys()) + [k for k in sorted(allk) if k not in cols_list[0]]
    # pop each block column as it is joined: the blocks are freed column by column (peak memory)
    cols = {k: np.concatenate([c.pop(k) for c in cols_list]) for k in keys}
    shower = cols.pop("_shower_p4")
    w = cols.pop("_w")
    reco = response.reconstruct(rng, cols, shower, w, mode, smear=smear)
    cols["weight_before_efficiency"] = w
    for k, v in reco.items():
        cols[k] = v
    info["detected_per_pot"] = float(np.sum(reco["weight"]))
    return cols


def _empty_columns() -> dict[str, Array]:
    cols = {k: np.zeros(0) for k in ("e_true", "e_vis", "cos_theta", "e_qe", "efficiency", "weight")}
    cols["meson_index"] = np.zeros(0, np.int64)
    return cols


# ============================================================================ inelastic DM


def _idm_mediator_split(model) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Mediator (coupling ε_i e g′_i, m_Vi) pairs split into those fixed and those rescaled by
    :meth:`~mesonportal.models.idm.VectorInelasticDM.with_coupling_product` (g′₂ for two
    mediators, g′₁ for one)."""
    scaled_label = "V2" if model.is_double else "V1"
    fixed, scaled = [], []
    for lab, m, eps, g, gp in model._mediators():
        c = eps * C.E_CHARGE * gp
        (scaled if lab == scaled_label else fixed).append((c, m))
    return fixed, scaled


def _reachable(v_p4: Array, vertex: Array, m_v: float, e0: float, p0: float, m: float, detector) -> NDArray[np.bool_]:
    """Cheap exact pre-selection: False where no daughter direction of the V (rest-frame
    energy e0, momentum p0, mass m) can point into the detector cone, i.e. where the angle
    between the V direction and the cone axis exceeds θ_max(V) + α (θ_max: the maximal lab
    angle of the daughter; π when the daughter is faster in the V frame than the V)."""
    rel = np.asarray(detector.center_cm, float)[None, :] - vertex
    dist = np.linalg.norm(rel, axis=1)
    r = float(detector.radius_cm)
    inside = dist <= r
    alpha = np.where(inside, np.pi, np.arcsin(np.clip(r / np.where(dist > 0, dist, 1.0), 0.0, 1.0)))
    p = np.linalg.norm(v_p4[:, 1:], axis=1)
    e = v_p4[:, 0]
    cos_psi = np.einsum("ij,ij->i", v_p4[:, 1:], rel) / np.where(p * dist > 0, p * dist, 1.0)
    psi = np.arccos(np.clip(cos_psi, -1.0, 1.0))
    # daughter faster than the parent: all angles reachable; else sin θ_max = γ0β0/(γβ)
    g0b0 = p0 / m if m > 0 else np.inf
    gb = p / m_v
    th_max = np.where(gb > g0b0, np.arcsin(np.clip(g0b0 / np.where(gb > 0, gb, 1.0), 0.0, 1.0)), np.pi)
    return inside | (p <= 0) | (psi <= th_max + alpha + 1e-9) | ~np.isfinite(e)


#: Half-angle added to the detector cone to define the "forward" region of mediator
#: directions that is sampled with forced emission (stratified sampling of V, see
#: :func:`_stratified_mediators`).
V_FORWARD_HALF_ANGLE = 0.03
#: Nested forward strata of mediator directions (:func:`_stratified_mediators`): (half-angle
#: added to the detector cone [rad], draws per meson relative to ``n_fwd``).  The inner stratum
#: is the detector cone itself: a fast V (θ_max(V → χ) ≲ α) reaches the detector with its χ
#: only when it points at it, so these V's carry most of the signal.
V_STRATA: tuple[tuple[float, float], ...] = ((0.0, 1.0), (V_FORWARD_HALF_ANGLE, 1.0))
#: Share of the two-body forward draws allocated in proportion to w_meson × (probability of the
#: stratum cone); the rest is spread evenly over the mesons (defensive mixture, bounded weights).
V_IMPORTANCE_MIX = 0.8


def _stratified_mediators(rng, ch, mesons: ParticleSample, detector, n_back: int, n_fwd: float,
                          strata: tuple[tuple[float, float], ...] | None = None,
                          importance_mix: float | None = None,
                          return_index: bool = False) -> ParticleSample | tuple[ParticleSample, NDArray[np.int64]]:
    """Mediators V of one channel, sampled in exclusive strata of lab direction:

    * nested forward strata k = 1..K (``strata`` = ((a_k, r_k), ...), a_k increasing, default
      :data:`V_STRATA`): directions inside the cone of half-angle α + a_k around the detector
      direction (α: half-angle of the detector cone; a virtual sphere with the detector's
      centre) and outside the cone α + a_{k−1} of the previous stratum; n_k = r_k × ``n_fwd``
      draws per meson with the rest-frame forced emission towards cone k (weight = probability
      of that cone, estimated by the band share × in-cone indicator); draws inside the inner
      cone get weight 0 (they belong to the inner stratum);
    * backward: ``n_back`` isotropic decays per meson, keeping those outside the outermost cone
      (weight 1/n_back each).

    Two-body channels (π⁰/η → γV: one rest-frame band per meson): the number of draws of meson
    i is random, k_i = ⌊n_i + u⌋ with expectation
    n_i = n_k N (λ q_i/Σq + (1 − λ)/N), q_i = w_i × band share_i (the probability that its V
    flies into the cone, up to the in-cone acceptance), λ = ``importance_mix``
    (:data:`V_IMPORTANCE_MIX`); each draw is weighted by 1/n_i.  E[Σ_j X_j / n_i] = E[X], so
    the estimator stays unbiased for any λ < 1 (λ = 1 also: a meson with q_i = 0 has an empty
    band); the draws go to the mesons that point at the detector.  Three-body channels:
    n_k draws per meson (integer), one band each.

    Unbiased (the strata partition the sphere of directions; brute-force test in
    tests/test_propagation_dark.py).  Weights: w_meson × BR × stratum weight / n.
    With ``return_index`` also the (N,) int64 row in ``mesons`` of each mediator's parent
    (no extra random draws: the returned sample is the same)."""
    if strata is None:
        strata = V_STRATA
    lam = V_IMPORTANCE_MIX if importance_mix is None else float(importance_mix)
    idx0 = np.flatnonzero(ch.applies_to(mesons.pdgid))
    sampler = rest_energy_sampler(ch)
    out = []
    out_idx: list[NDArray[np.int64]] = []
    if idx0.size == 0:
        return (ParticleSample.empty(), np.zeros(0, np.int64)) if return_index else ParticleSample.empty()
    center = np.asarray(detector.center_cm, float)
    vtx0 = mesons.vertex[idx0]
    rel0 = center[None, :] - vtx0
    dist0 = np.linalg.norm(rel0, axis=1)
    alpha0 = np.arcsin(np.clip(detector.radius_cm / dist0, 0.0, 1.0))
    two_body = sampler is ch.sample_rest_frame and abs(ch.parent) in (111, 221)
    cos_prev = None
    for a_k, r_k in strata:
        n_k = float(r_k) * n_fwd if two_body else int(round(float(r_k) * n_fwd))
        big = np.clip(alpha0 + a_k, 0.0, 0.5 * np.pi)
        if n_k > 0:
            r_big = dist0 * np.sin(big)
            if two_body:
                # one band per meson; draws allocated by importance w_meson × band share
                rest = np.asarray(sampler(rng, idx0.size), float)
                band = rest_band(mesons.p4[idx0], center[None, :] - rel0 / r_big[:, None], rest, ch.dark_mass,
                                 center, 1.0)
                q = mesons.weight[idx0] * band["ltot"] * band["dphi"]
                qs = float(np.sum(q))
                nexp = n_k * idx0.size * ((lam * q / qs if qs > 0 else 0.0) + (1.0 - lam) / idx0.size)
                cnt = np.floor(nexp + rng.random(idx0.size)).astype(np.int64)
                rows = np.repeat(np.arange(idx0.size), cnt)
                fe = draw_from_band(rng, band, rows, ch.dark_mass)
                idx = idx0[rows]
                fe = fe._replace(weight=fe.weight * (n_k / nexp[rows]))
            else:
                idx = np.repeat(idx0, n_k)
                rest = np.asarray(sampler(rng, idx.size), float)
                fe = _force_var_radius(rng, mesons.p4[idx], mesons.vertex[idx], rest, ch.dark_mass, center,
                                       np.repeat(r_big, n_k))
                rows = np.repeat(np.arange(idx0.size), n_k)
            w = fe.weight
            if cos_prev is not None:
                # directions of the inner strata carry no weight here
                cosang = np.einsum("ij,ij->i", fe.direction, rel0[rows] / dist0[rows, None])
                w = np.where(cosang < cos_prev[rows], w, 0.0)
            ok = np.flatnonzero(w > 0)
            idx = idx[ok]
            w = mesons.weight[idx] * (ch.branching_ratio / n_k) * w[ok]
            out.append(ParticleSample(fe.p4[ok], mesons.vertex[idx], ch.dark_pdgid, w, mesons.pdgid[idx]))
            out_idx.append(idx.astype(np.int64))
        cos_prev = np.cos(big)
    # backward stratum
    idx = np.repeat(idx0, n_back)
    rest = np.asarray(sampler(rng, idx.size), float)
    from mesonportal.kinematics import beta_of, boost

    lab = boost(rest, beta_of(mesons.p4[idx]))
    vtx = mesons.vertex[idx]
    p = np.linalg.norm(lab[:, 1:], axis=1)
    cosang = np.einsum("ij,ij->i", lab[:, 1:], np.repeat(rel0 / dist0[:, None], n_back, axis=0)) / np.where(p > 0, p, 1.0)
    outside = cosang < np.repeat(cos_prev, n_back)
    w = mesons.weight[idx] * (ch.branching_ratio / n_back)
    out.append(ParticleSample(lab[outside], vtx[outside], ch.dark_pdgid, w[outside], mesons.pdgid[idx][outside]))
    out_idx.append(idx[outside].astype(np.int64))
    if return_index:
        return ParticleSample.concatenate(out), np.concatenate(out_idx)
    return ParticleSample.concatenate(out)


def _force_var_radius(rng, parent_p4, vertex, rest_p4, m, center, radii, repeat: int = 1) -> Any:
    """:func:`force_towards_sphere_restframe` towards per-row virtual spheres (same centre,
    radius ``radii`` (N,)): rows are grouped by nothing — the sphere enters only through the
    cone, so it is evaluated with a unit-distance-equivalent trick: each row's sphere is
    replaced by the one of the same angular size."""
    from mesonportal.propagation.forced import force_towards_sphere_restframe as f

    # same angular radius: shift each vertex to distance D from a common sphere is not needed
    # — use the per-row radius by scaling: a sphere of radius r at distance D subtends the same
    # cone as a sphere of radius 1 at distance D / r along the same direction.
    rel = np.asarray(center, float)[None, :] - vertex
    scaled_vertex = np.asarray(center, float)[None, :] - rel / radii[:, None]
    return f(rng, parent_p4, scaled_vertex, rest_p4, m, center, 1.0, repeat=repeat)


def idm_arrivals(model, mesons: ParticleSample, detector, rng: np.random.Generator,
                 n_per_meson: int = 1, n_two_body: float = 1.0, region_rows_only: bool = False) -> Arrivals:
    """χ (and χ̄) from V → χχ̄ and V → χχ̄′ + h.c., V from the model's meson channels
    (without prompt decays), forced towards the detector.

    Weight = w_meson × BR(M → V) × (V stratum weight, :func:`_stratified_mediators`) ×
    BR(V → χ·) × multiplicity × forced factor, with multiplicity 2 for χχ̄ (both can reach the
    detector; C-symmetric rates) and 1 for χχ̄′ + h.c. (one χ-type particle per final state).
    Draws per meson and forward stratum: ``n_per_meson`` for the three-body π±/K± channels,
    ``n_two_body`` on average (importance-allocated) for the rate-dominating π⁰/η → γV decays,
    whose V direction spread (~1/γ_π) is much wider than the detector cone; ``n_per_meson``
    isotropic decays per meson for the backward stratum.  V's
    that cannot send a χ into the detector cone are removed by the exact test of
    :func:`_reachable` (their forced weight would be 0).  The χ′ made directly in V → χχ̄′ is
    not followed (its lab decay length is far below the 541 m baseline; the largest survival
    probability over 500 m is reported in ``info['prompt_chi_prime_survival_max']``).
    ``extra`` keeps ``v_label`` (1 or 2), ``v_kind`` (0 = χχ̄, 1 = χχ̄′) and ``br_v``.

    The kinematics (everything but BR(V → χ·)) come from :func:`_idm_kinematics`, memoised
    within :func:`idm_arrival_memo` (same numbers, same generator state afterwards).
    ``region_rows_only``: drop the rows whose direction misses the target's shape (chord 0;
    they carry no probability for the chain, which removes them first) — the chain's choice,
    to hold less memory; the other rows are the same, in the same order."""
    m_chi = float(model.m_chi)
    mcp = float(model.m_chi_prime)
    brs_by = {}
    open_kinds: list[tuple[str, tuple[int, ...]]] = []
    for lab in _idm_v_labels(model):
        brs = model.v_branching_ratios(lab)
        brs_by[lab] = brs
        open_kinds.append((lab, tuple(kind for kind, key in enumerate(_V_KIND_KEYS)
                                      if not brs.get(key, 0.0) <= 0.0)))
    kin = _memoised_kinematics(model, mesons, detector, rng, n_per_meson, n_two_body, tuple(open_kinds),
                               region_rows_only)
    info: dict[str, Any] = {"channels": {k: dict(v) for k, v in kin["channels"].items()}, "v_decays": {}}
    parts = []
    chi_prime_surv = 0.0
    for lab, _ in open_kinds:
        if lab in kin["labels"]:
            info["v_decays"][lab] = brs_by[lab]
    for lab, kind, mult, p4, vertex, direction, v_w, fe_w, parent, chan, inter, midx in kin["parts"]:
        br = brs_by[lab].get(_V_KIND_KEYS[kind], 0.0)
        w = v_w * br * mult * fe_w
        extra = {"v_label": np.full(len(v_w), 1 if lab == "V1" else 2, np.int64),
                 "v_kind": np.full(len(v_w), kind, np.int64), "br_v": np.full(len(v_w), br),
                 "meson_index": midx}
        parts.append((p4, vertex, direction, w, parent, chan, inter, extra))
    for lab, gb_v in kin["gb_chi_prime"]:  # (label, max γβ of the V's) of each V → χχ̄′ + h.c. part
        tau = model.chi_prime_lifetime()
        if math.isfinite(tau):
            gb = gb_v / mcp
            chi_prime_surv = max(chi_prime_surv, math.exp(-5.0e4 / max(gb * tau * C.C_LIGHT, 1e-300)))
        else:
            chi_prime_surv = 1.0
    info["prompt_chi_prime_survival_max"] = chi_prime_surv
    return _pack(parts, m_chi, "chi", math.inf, info, extra_keys=("v_label", "v_kind", "br_v", "meson_index"))


#: Keys of :meth:`VectorInelasticDM.v_branching_ratios` of the two χ-producing V decays, by
#: ``v_kind`` (0 = χχ̄, 1 = χχ̄′ + h.c.).
_V_KIND_KEYS = ("chi chibar", "chi chibar_prime + h.c.")


def _idm_v_labels(model) -> list[str]:
    """Labels of the mediators made by the model's open channels, in channel order."""
    out: list[str] = []
    for ch in model.production_channels():
        if not ch.is_open or ch.branching_ratio <= 0.0 or ch.sample_rest_frame is None:
            continue
        lab = "V1" if ch.dark_pdgid == DARK_PDG["V1"] else "V2"
        if lab not in out:
            out.append(lab)
    return out


class _Inter:
    """Entry / chord [cm] of stored arrival rows (the two fields of an intersection that
    :func:`_pack` reads)."""

    __slots__ = ("entry", "chord")

    def __init__(self, entry: Array, chord: Array) -> None:
        self.entry, self.chord = entry, chord


def _idm_kinematics(model, mesons: ParticleSample, detector, rng: np.random.Generator, n_per_meson: int,
                    n_two_body: float, open_kinds: tuple[tuple[str, tuple[int, ...]], ...],
                    region_rows_only: bool = False) -> dict[str, Any]:
    """The part of :func:`idm_arrivals` that does not depend on BR(V → χ·) (i.e. on g₁, g′):
    V's of every open channel (stratified, :func:`_stratified_mediators`), and for each mediator
    label and V decay kind of ``open_kinds`` the χ forced towards ``detector``.  Returns
    ``parts`` = [(label, kind, multiplicity, χ p4, V vertex, χ direction, V weight, forced
    factor, parent, channel, intersection, meson index)], the channel bookkeeping and the
    largest V momentum of each χχ̄′ part.  Rows with a zero V weight or forced factor (never
    kept by :func:`_pack`) are not returned; with ``region_rows_only`` neither are the rows
    that miss the target's shape.  Draws exactly the random numbers of :func:`idm_arrivals`."""
    m_chi = float(model.m_chi)
    chans = model.production_channels()
    channels: dict[str, Any] = {}
    vs: dict[str, list] = {}
    for ic, ch in enumerate(chans):
        if not ch.is_open or ch.branching_ratio <= 0.0 or ch.sample_rest_frame is None:
            channels[ch.label] = {"branching_ratio": ch.branching_ratio, "open": bool(ch.is_open),
                                  "produced_per_pot": 0.0}
            continue
        two_body = abs(ch.parent) in (111, 221)
        v, v_idx = _stratified_mediators(rng, ch, mesons, detector, n_per_meson,
                                         n_two_body if two_body else n_per_meson, return_index=True)
        sel = ch.applies_to(mesons.pdgid)
        channels[ch.label] = {"branching_ratio": ch.branching_ratio, "open": True,
                              "produced_per_pot": float(np.sum(mesons.weight[sel]) * ch.branching_ratio)}
        lab = "V1" if ch.dark_pdgid == DARK_PDG["V1"] else "V2"
        vs.setdefault(lab, []).append((v, ic, v_idx))
    kinds_of = dict(open_kinds)
    parts = []
    gb_chi_prime = []
    labels = tuple(vs)
    for lab in labels:
        lst = vs.pop(lab)  # the per-channel V's are freed once joined (peak memory)
        m_v = float(model._mediator(lab)[1])
        v_all = ParticleSample.concatenate([x[0] for x in lst])
        chan_all = np.concatenate([np.full(len(x[0]), x[1]) for x in lst])
        idx_all = np.concatenate([x[2] for x in lst]).astype(np.int64)
        del lst
        for kind, m_other, mult in ((0, m_chi, 2.0), (1, float(model.m_chi_prime), 1.0)):
            if kind not in kinds_of.get(lab, ()) or m_v <= m_chi + m_other or len(v_all) == 0:
                continue
            p0 = float(two_body_momentum(m_v, m_chi, m_other))
            e0 = (m_v * m_v + m_chi * m_chi - m_other * m_other) / (2.0 * m_v)
            keep = _reachable(v_all.p4, v_all.vertex, m_v, e0, p0, m_chi, detector)
            v = v_all.select(keep)
            chan = chan_all[keep]
            midx = idx_all[keep]
            rest = np.zeros((len(v), 4))
            rest[:, 0] = e0
            rest[:, 3] = p0  # only |p0| is used by the forced emission
            fe, inter = _force(rng, v.p4, v.vertex, rest, m_chi, detector)
            del rest
            ok = (v.weight != 0.0) & (fe.weight != 0.0)
            if region_rows_only:
                ok &= np.asarray(inter.chord) > 0.0
            r = np.flatnonzero(ok)
            parts.append((lab, kind, mult, fe.p4[r], v.vertex[r], fe.direction[r], v.weight[r], fe.weight[r],
                          v.parent[r], chan[r], _Inter(np.asarray(inter.entry)[r], np.asarray(inter.chord)[r]),
                          midx[r]))
            del fe, inter, v
            if kind == 1:
                gb_chi_prime.append((lab, float(np.max(np.linalg.norm(v_all.p4[:, 1:], axis=1)))))
    return {"parts": parts, "channels": channels, "labels": labels, "gb_chi_prime": gb_chi_prime}


# ---------------------------------------------------------------- memo of the iDM kinematics
#: Active memo of :func:`_idm_kinematics` (None outside :func:`idm_arrival_memo`).
_KIN_MEMO: OrderedDict[tuple, tuple[dict, dict]] | None = None
_KIN_MEMO_MAX = 0


@contextlib.contextmanager
def idm_arrival_memo(max_entries: int = 2):
    """Within the block, :func:`idm_arrivals` memoises its coupling-independent kinematics
    (:func:`_idm_kinematics`: the V's and the forced χ emission, ≈ 75 % of an iDM prediction)
    for the ``max_entries`` most recent (meson sample, generator state, target, model masses and
    production channels) — predictions of the same mode and seed that differ only in g₁, g′ or
    the single-shower criterion then share them.  On a hit the generator is set to the state the
    computation would have left, and the weights are recomputed from the stored factors in the
    same order of operations: every number is bitwise the same as without the memo.  The
    entries are dropped when the block ends."""
    global _KIN_MEMO, _KIN_MEMO_MAX
    old = _KIN_MEMO, _KIN_MEMO_MAX
    _KIN_MEMO, _KIN_MEMO_MAX = OrderedDict(), max(int(max_entries), 0)
    try:
        yield
    finally:
        _KIN_MEMO, _KIN_MEMO_MAX = old


def _sample_digest(s: ParticleSample) -> str:
    import hashlib

    h = hashlib.blake2b(digest_size=20)
    for a in (s.p4, s.vertex, s.pdgid, s.weight, s.parent):
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.data)
    return h.hexdigest()


def _kinematics_key(model, mesons, detector, rng, n_per_meson, n_two_body, open_kinds, region_rows_only) -> tuple:
    shape = _shape_of(detector)
    chans = tuple((ch.parent, ch.label, float(ch.branching_ratio), int(ch.dark_pdgid), float(ch.dark_mass),
                   bool(ch.is_open), ch.sample_rest_frame is None) for ch in model.production_channels())
    meds = tuple((lab, float(m)) for lab, m, *_ in model._mediators())
    return (type(model).__name__, float(model.m_chi), float(model.m_chi_prime), meds, chans,
            getattr(model, "n_grid", None), _sample_digest(mesons), repr(rng.bit_generator.state),
            type(detector).__name__, tuple(np.asarray(detector.center_cm, float).tolist()),
            float(detector.radius_cm), repr(shape), int(n_per_meson), float(n_two_body), open_kinds,
            bool(region_rows_only), V_STRATA, float(V_IMPORTANCE_MIX), FORCED_METHOD)


def _memoised_kinematics(model, mesons, detector, rng, n_per_meson, n_two_body, open_kinds,
                         region_rows_only) -> dict[str, Any]:
    memo = _KIN_MEMO
    if memo is None or _KIN_MEMO_MAX <= 0:
        return _idm_kinematics(model, mesons, detector, rng, n_per_meson, n_two_body, open_kinds, region_rows_only)
    key = _kinematics_key(model, mesons, detector, rng, n_per_meson, n_two_body, open_kinds, region_rows_only)
    if key in memo:
        memo.move_to_end(key)
        kin, state = memo[key]
        rng.bit_generator.state = state
        return kin
    kin = _idm_kinematics(model, mesons, detector, rng, n_per_meson, n_two_body, open_kinds, region_rows_only)
    memo[key] = (kin, rng.bit_generator.state)
    while len(memo) > _KIN_MEMO_MAX:
        memo.popitem(last=False)
    return kin


def _with_sampler(ch, sampler):
    from dataclasses import replace

    return replace(ch, sample_rest_frame=sampler)


def _unit_sigmas(e: Array, model, fixed, scaled, centres) -> dict[str, dict[str, Array]]:
    """Up-scattering cross sections for unit couplings, split into the quadratic form
    σ = Σ_ab c_a c_b σ_ab of the fixed (f) and rescaled (s) mediator couplings, per target of
    ``centres`` (see :func:`_centres`; proton targets with the anomalous magnetic moment)."""
    out: dict[str, dict[str, Array]] = {}
    mc, mcp = float(model.m_chi), float(model.m_chi_prime)
    for tname, tgt, _ in centres:
        kappa = KAPPA_P if tgt.is_fermion else 0.0

        def sig(meds):
            return up.total_cross_section(e, mc, mcp, meds, tgt, kappa=kappa)

        d: dict[str, Array] = {}
        mf = [m for c, m in fixed if c != 0.0]
        ms = [m for c, m in scaled if c != 0.0] or [m for c, m in scaled]
        zero = np.zeros(len(e))
        d["ss"] = sig([(1.0, m) for m in ms]) if ms else zero
        d["ff"] = sig([(1.0, m) for m in mf]) if mf else zero
        if mf and ms:
            both = sig([(1.0, m) for m in mf + ms])
            d["fs"] = 0.5 * (both - d["ff"] - d["ss"])
        else:
            d["fs"] = zero
        out[tname] = d
    return out


def _coupling_pair(fixed, scaled) -> tuple[float, float]:
    """(c_f, c_s): the common coupling of the fixed / rescaled mediator group (at most one
    mediator per group in this model)."""
    cf = sum(c for c, _ in fixed)
    cs = sum(c for c, _ in scaled)
    return cf, cs


def russian_roulette(rng: np.random.Generator, importance: Array, target: int) -> tuple[NDArray[np.bool_], Array, dict]:
    """Unbiased thinning of low-importance rows: with w_thr = Σ importance / ``target``, a row
    with importance w < w_thr survives with probability w/w_thr and has its weight multiplied
    by w_thr/w; rows above w_thr are kept unchanged.  Expectation of every weighted sum is
    unchanged; the added variance is ≤ w_thr Σ w, i.e. a relative MC error ≤ 1/√target.
    Returns (keep mask, weight factor of the kept rows, info).  Draws N uniforms."""
    w = np.asarray(importance, float)
    tot = float(np.sum(w))
    u = rng.random(len(w))
    if tot <= 0.0:
        keep = w > 0
        return keep, np.ones(int(keep.sum())), {"rows_in": int(len(w)), "rows_out": int(keep.sum())}
    thr = tot / float(target)
    low = w < thr
    keep = (~low & (w > 0)) | (low & (u * thr < w))
    factor = np.where(low[keep], thr / np.where(w[keep] > 0, w[keep], 1.0), 1.0)
    return keep, factor, {"rows_in": int(len(w)), "rows_out": int(keep.sum()), "threshold_per_pot": thr}


def _chi_prime_decay_setup(model) -> tuple[float, float, list[tuple[str, float, Any]]]:
    """(Γ_total [MeV], BR(χ′→χe⁺e⁻), visible components [(kind, partial width, data)])."""
    tot = model.chi_prime_width()
    comps = []
    w = model.chi_prime_partial_widths()
    for lab, m, eps, g, gp in model._mediators():
        on = w.get(f"chi {lab} (on-shell)", 0.0)
        if on > 0.0:
            bree = model.v_branching_ratios(lab)["e+ e-"]
            if bree > 0:
                comps.append(("onshell", on * bree, m))
    off = w.get("chi e+ e- (off-shell)", 0.0)
    if off > 0.0:
        comps.append(("offshell", off, None))
    vis = sum(c[1] for c in comps)
    return tot, (vis / tot if tot > 0 else 0.0), comps


def _chi_prime_to_chi_ee(rng, model, p4: Array, comps) -> tuple[Array, Array, Array]:
    """Lab (e⁻, e⁺, χ) four-momenta of χ′ → χ e⁺e⁻ for each χ′ (components chosen by their
    partial widths): on shell χ′ → χV (isotropic), V → e⁺e⁻ (isotropic); off shell by the
    three-body |M|² (``model.chi_prime_msq``) with ThreeBodyTable."""
    n = len(p4)
    em, ep, chi = np.zeros((n, 4)), np.zeros((n, 4)), np.zeros((n, 4))
    if n == 0 or not comps:
        return em, ep, chi
    widths = np.array([c[1] for c in comps])
    cdf = np.cumsum(widths) / widths.sum()
    k = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(comps) - 1)
    mcp, mc = float(model.m_chi_prime), float(model.m_chi)
    for i, (kind, _, m_v) in enumerate(comps):
        sel = k == i
        if not np.any(sel):
            continue
        if kind == "onshell":
            c4, v4 = two_body_decay(rng, p4[sel], mc, m_v)
            a, b = two_body_decay(rng, v4, C.M_E, C.M_E)
            em[sel], ep[sel], chi[sel] = a, b, c4
        else:
            def msq(x, y):
                return model.chi_prime_msq(x, y, "e")

            a, b, c4 = up.sample_three_body_decay(rng, p4[sel], mcp, C.M_E, C.M_E, mc, msq, msq_args="13,23")
            em[sel], ep[sel], chi[sel] = a, b, c4
    return em, ep, chi


#: Region codes of the ``region`` column: where the interaction happened.
REGION_CODES = {"detector": 0, "dirt": 1}


class _DirtTarget:
    """Forced-emission target for up-scattering in the dirt: aims at the bounding sphere of
    the dirt and the detector together; ``geometry`` (exact chords) is the dirt volume."""

    def __init__(self, det):
        from mesonportal.geometry.shapes import Union  # noqa: F401  (documented type)

        g = det.dirt.geometry
        c1, r1 = g.bounding_sphere
        c2, r2 = _shape_of(det).bounding_sphere
        d = float(np.linalg.norm(c2 - c1))
        if d + r2 <= r1:
            c, r = c1, r1
        elif d + r1 <= r2:
            c, r = c2, r2
        else:
            r = 0.5 * (d + r1 + r2)
            c = c1 + (c2 - c1) * ((r - r1) / d)
        self.center_cm = np.asarray(c, float)
        self.radius_cm = float(r)
        self.geometry = g


def idm_chain(exp, mode: str, model, mesons: ParticleSample, rng: np.random.Generator, *,
              n_per_meson: int = 1, n_two_body: float = 1.0, criterion: str = "circle",
              smear: bool = True, roulette_target: int | None = 40_000, dirt: bool = True,
              response=None, dirt_points: str = "importance") -> ChainResult:
    """Inelastic DM: χ up-scattering in the detector (and, with ``dirt`` and a configured
    ``detector.dirt``, in the upstream dirt) and χ′ → χ e⁺e⁻ inside the detector → events.

    Weight = w(χ at the region) × ℓ Σ_i n_i σ_i × P(χ′ decays inside the detector) ×
    BR(χ′→χee) × efficiency, for pairs passing the single-shower ``criterion``; the region's
    targets follow from its medium (:func:`_centres`).  ``region`` column: 0 detector, 1 dirt;
    ``info`` keeps the detector-region bookkeeping at top level and the dirt one under
    ``info['dirt']``.  The dirt stage uses an independent generator spawned from ``rng`` (the
    detector-region events do not depend on whether dirt is included).  ``weight_fn``
    recomputes the coupling-dependent factors per event (:func:`idm_reweighter`).
    ``response``: as in :func:`scalar_chain` (pairs kept and reconstruction).
    ``dirt_points``: sampling of the dirt interaction points, ``"importance"`` (default:
    :func:`dirt_interaction_points`, :data:`DIRT_DRAWS_PER_ARRIVAL` up-scatterings per arrival)
    or ``"uniform"`` (the previous implementation: one uniform point along the chord); both
    estimate the same expectation (docs/mc_errors.md)."""
    if dirt_points not in DIRT_POINT_METHODS:
        from mesonportal.exceptions import ParameterError

        raise ParameterError(f"dirt_points = {dirt_points!r}; allowed: {', '.join(DIRT_POINT_METHODS)}")
    det = exp.detector
    resp = _default_response(response, criterion)
    dirt_rng = rng.spawn(1)[0]
    arr = idm_arrivals(model, mesons, det, rng, n_per_meson, n_two_body, region_rows_only=True)
    info: dict[str, Any] = {"chain": "inelastic DM", **arr.info}
    fixed, scaled = _idm_mediator_split(model)
    blocks = _idm_region(rng, model, arr, det, _centres(det), "detector", roulette_target, resp,
                         fixed, scaled, info)
    info["dirt_included"] = bool(dirt and getattr(det, "dirt", None) is not None)
    if info["dirt_included"]:
        tgt = _DirtTarget(det)
        arr_d = idm_arrivals(model, mesons, tgt, dirt_rng, n_per_meson, n_two_body, region_rows_only=True)
        dinfo: dict[str, Any] = {"forced_emission_sphere_cm": {"center": tgt.center_cm.tolist(),
                                                               "radius": tgt.radius_cm}}
        blocks += _idm_region(dirt_rng, model, arr_d, det, _centres(det, det.dirt.medium), "dirt",
                              roulette_target, resp, fixed, scaled, dinfo, points=dirt_points)
        info["dirt"] = dinfo
    columns = _finish(blocks, rng, mode, smear, info, resp)
    if len(columns["weight"]) and "region" in columns:
        reg = columns["region"]
        info["detected_per_pot_by_region"] = {k: float(np.sum(columns["weight"][reg == c]))
                                              for k, c in REGION_CODES.items()}
    result = ChainResult(columns, info)
    if len(columns["weight"]):
        result.weight_fn = idm_reweighter(model, columns)
    return result


#: Decay-length scales of the importance density of dirt interaction points
#: (:func:`dirt_interaction_points`): mixture components e^{κ_j s} with κ_j = (û·û′)/(f_j λ′)
#: (λ′ = γβcτ′ of the χ′ at the reference couplings); f = ∞ is the uniform component.  The
#: larger scales keep the weights bounded when a fit or scan reweights to smaller couplings
#: (longer χ′ decay lengths: x → x/50 makes λ′ 50× longer at fixed kinematics).
DIRT_DECAY_SCALES: tuple[float, ...] = (1.0, 8.0, 64.0, math.inf)
#: Up-scatterings drawn per χ arrival in the dirt (kinematics and interaction point redrawn,
#: weight 1/n each): most χ′ lines miss the detector, so several draws per (expensive) arrival.
DIRT_DRAWS_PER_ARRIVAL = 4
#: Samplings of the dirt interaction points (:func:`idm_chain` ``dirt_points``).
DIRT_POINT_METHODS = ("importance", "uniform")


def dirt_interaction_points(rng: np.random.Generator, vertex: Array, direction: Array, seg_a: Array, seg_b: Array,
                            dir_prime: Array, lam_prime: Array, target_sphere: tuple[Array, float],
                            scales: tuple[float, ...] = DIRT_DECAY_SCALES) -> tuple[Array, Array]:
    """Importance-sampled interaction points along the χ chords through the dirt.

    χ row i moves from ``vertex`` [cm] along ``direction`` û; the dirt occupies the segments
    [``seg_a``, ``seg_b``] (N, K) cm along û.  The χ′ made at distance s leaves along
    ``dir_prime`` û′ (drawn before the point: the up-scattering kinematics do not depend on
    it) and decays inside the detector with probability P(s), which is zero unless the χ′ line
    passes within R of the centre c of ``target_sphere`` = (c, R) (the detector's bounding
    sphere) and otherwise grows like e^{s (û·û′)/λ′} towards the detector (``lam_prime`` λ′ [cm],
    the χ′ lab decay length).  The thin-target estimate of ∫_chord nσ P(s) ds is nσ P(s)/q(s)
    for any density q that is positive where P is; here q lives on the sub-segments where the
    χ′ line reaches the sphere (|(c − x(s))_⊥û′| ≤ R: a quadratic in s, solved exactly) and is
    the equal mixture over ``scales`` f_j of the truncated exponentials e^{κ_j s},
    κ_j = (û·û′)/(f_j λ′) (f_j = ∞: uniform).  A uniform point over the whole chord
    (path weight = chord) is the special case of the previous implementation; both estimate the
    same integral, this one without the orders-of-magnitude spread of P over the 50 m of dirt.

    Returns (s (N,) cm along û, path weight 1/q(s) (N,) cm); rows whose χ′ line cannot reach the
    sphere from any point of their chord get weight 0 (their P is 0 everywhere) and s = the
    chord's entry.  Draws 3 N uniforms."""
    v = np.asarray(vertex, float)
    u = np.asarray(direction, float)
    up_ = np.asarray(dir_prime, float)
    c, r = target_sphere
    n = len(v)
    # χ′ line from x(s) = v + s û: perpendicular offset of the centre = A − s B (⊥ to û′)
    r0 = np.asarray(c, float)[None, :] - v
    cos_uu = np.einsum("ij,ij->i", u, up_)
    a_vec = r0 - np.einsum("ij,ij->i", r0, up_)[:, None] * up_
    b_vec = u - cos_uu[:, None] * up_
    b2 = np.einsum("ij,ij->i", b_vec, b_vec)
    ab = np.einsum("ij,ij->i", a_vec, b_vec)
    c0 = np.einsum("ij,ij->i", a_vec, a_vec) - float(r) ** 2
    par = b2 <= 1e-24
    b2s = np.where(par, 1.0, b2)
    disc = ab * ab - b2 * c0
    root = np.sqrt(np.clip(disc, 0.0, None))
    s_lo = np.where(par, np.where(c0 <= 0, -np.inf, np.inf), (ab - root) / b2s)
    s_hi = np.where(par, np.where(c0 <= 0, np.inf, -np.inf), (ab + root) / b2s)
    empty = ~par & (disc < 0)
    s_lo = np.where(empty, np.inf, s_lo)
    s_hi = np.where(empty, -np.inf, s_hi)
    lo = np.maximum(np.asarray(seg_a, float), s_lo[:, None])
    hi = np.minimum(np.asarray(seg_b, float), s_hi[:, None])
    length = np.where(hi > lo, hi - lo, 0.0)  # (N, K)
    ok = length.sum(axis=1) > 0.0
    top = np.where(length > 0, hi, -np.inf).max(axis=1)
    top = np.where(ok, top, 0.0)
    lam = np.asarray(lam_prime, float)
    kap_ref = np.where(np.isfinite(lam) & (lam > 0), np.clip(cos_uu, 0.0, None) / np.where(lam > 0, lam, 1.0), 0.0)
    kappas = np.stack([kap_ref / f if math.isfinite(f) else np.zeros(n) for f in scales], axis=1)  # (N, J)
    n_comp = kappas.shape[1]

    def shrink(x):  # −expm1(−x)/x, 1 at x = 0
        xs = np.where(x > 1e-12, x, 1.0)
        return np.where(x > 1e-12, -np.expm1(-xs) / xs, 1.0)

    hi_rel = np.where(length > 0, hi - top[:, None], 0.0)  # ≤ 0
    # masses M_jk = ∫_{lo_k}^{hi_k} e^{κ_j (s − top)} ds  (N, J, K)
    kl = kappas[:, :, None] * length[:, None, :]
    mass = np.exp(kappas[:, :, None] * hi_rel[:, None, :]) * length[:, None, :] * shrink(kl)
    mass = np.where(length[:, None, :] > 0, mass, 0.0)
    z = mass.sum(axis=2)  # (N, J)
    u1, u2, u3 = rng.random(n), rng.random(n), rng.random(n)
    j = np.minimum((u1 * n_comp).astype(np.intp), n_comp - 1)
    rows = np.arange(n)
    mj = mass[rows, j, :]
    cdf = np.cumsum(mj, axis=1) / np.where(z[rows, j] > 0, z[rows, j], 1.0)[:, None]
    k = np.minimum((cdf < u2[:, None]).sum(axis=1), length.shape[1] - 1)
    lk, hk, kj = length[rows, k], hi[rows, k], kappas[rows, j]
    x = kj * lk
    t = np.where(x > 1e-12, -np.log1p(-u3 * -np.expm1(-np.where(x > 1e-12, x, 1.0))) / np.where(kj > 0, kj, 1.0),
                 u3 * lk)
    s = np.where(ok, hk - np.clip(t, 0.0, lk), np.asarray(seg_a, float)[:, 0])
    dens = np.where(z > 0, np.exp(kappas * np.minimum(s - top, 0.0)[:, None]) / np.where(z > 0, z, 1.0), 0.0)
    q = dens.mean(axis=1)
    path_w = np.where(ok & (q > 0), 1.0 / np.where(q > 0, q, 1.0), 0.0)
    return s, path_w


def _idm_region(rng, model, arr: Arrivals, det, centres, region: str, roulette_target, response,
                fixed, scaled, info: dict, points: str = "uniform") -> list[dict]:
    """Up-scattering along the χ chords through one region (``arr.chord``: exact chord of the
    region's shape) on the region's targets ``centres``, χ′ decays inside the detector's exact
    shape (sum over its segments).  Fills ``info`` (weights per POT at each stage) and returns
    the event blocks for :func:`_finish`."""
    hit = arr.chord > 0.0
    info["at_detector_per_pot" if region == "detector" else "at_region_per_pot"] = float(np.sum(arr.weight[hit]))
    info["targets"] = {name: {"Z": tgt.Z, "A": tgt.A, "density_cm3": n} for name, tgt, n in centres}
    cf, cs = _coupling_pair(fixed, scaled)
    mc, mcp = float(model.m_chi), float(model.m_chi_prime)
    e_th = min(up.threshold(mc, mcp, tgt) for _, tgt, _ in centres)
    below = hit & (arr.p4[:, 0] <= e_th)
    info["below_upscattering_threshold_per_pot"] = float(np.sum(arr.weight[below]))
    arr = arr.select(hit & ~below)
    e = arr.p4[:, 0]
    us = _unit_sigmas(e, model, fixed, scaled, centres)
    macs = [n * (cf * cf * us[name]["ff"] + 2 * cf * cs * us[name]["fs"] + cs * cs * us[name]["ss"])
            for name, _, n in centres]
    mac, k_t = _choose_target(rng, macs)
    p_int = arr.chord * mac
    w_int = arr.weight * p_int
    if roulette_target and len(arr) > roulette_target:
        # importance without BR(V → χ·): its per-mediator dependence on the coupling would make
        # the thinning (and hence the event set) differ between coupling points
        keep, factor, rinfo = russian_roulette(rng, w_int / arr.extra["br_v"], roulette_target)
        info["roulette"] = rinfo
        arr = arr.select(keep)
        arr.weight = arr.weight * factor
        mac, k_t, p_int = mac[keep], k_t[keep], p_int[keep]
        w_int = arr.weight * p_int
        e = arr.p4[:, 0]
        us = {t: {ab: v[keep] for ab, v in d.items()} for t, d in us.items()}
    info["upscatterings_per_pot"] = float(np.sum(w_int))
    if points == "importance" and DIRT_DRAWS_PER_ARRIVAL > 1:
        # several up-scatterings (kinematics and point) per χ arrival, each with 1/n of its weight
        nrep = int(DIRT_DRAWS_PER_ARRIVAL)
        rep = np.repeat(np.arange(len(arr)), nrep)
        arr = arr.select(rep)
        arr.weight = arr.weight / nrep
        mac, k_t = mac[rep], k_t[rep]
        us = {t: {ab: v[rep] for ab, v in d.items()} for t, d in us.items()}
    meds = [(c, m) for c, m in fixed + scaled if c != 0.0]
    chip = np.zeros_like(arr.p4)
    t = np.zeros(len(arr))
    if meds:
        for k, (_, tgt, _) in enumerate(centres):
            sel = k_t == k
            if np.any(sel):
                kappa = KAPPA_P if tgt.is_fermion else 0.0
                chip[sel], t[sel] = up.sample_upscatter(rng, arr.p4[sel], mc, mcp, meds, tgt, kappa=kappa)
    # χ′ direction and lab decay length (no random draws)
    p_chip = np.linalg.norm(chip[:, 1:], axis=1)
    dirp = chip[:, 1:] / np.where(p_chip > 0, p_chip, 1.0)[:, None]
    dirp[p_chip <= 0] = np.array([0.0, 0.0, 1.0])
    tau = model.chi_prime_lifetime()
    ctau = tau * C.C_LIGHT if math.isfinite(tau) else math.inf
    lam_d = p_chip / mcp * ctau if math.isfinite(ctau) else np.full(len(arr), np.inf)
    reg_shape = _shape_of(det) if region == "detector" else det.dirt.geometry
    ra, rb = reg_shape.segments(arr.vertex, arr.direction)
    if points == "uniform":
        # uniform interaction point along the chord: path-length weight = the chord
        vtx = arr.vertex + arr.direction * sample_point_in_segments(rng, ra, rb)[:, None]
        path_w = arr.chord
    else:
        # importance-sampled point along the dirt chord (:func:`dirt_interaction_points`)
        s_pt, path_w = dirt_interaction_points(rng, arr.vertex, arr.direction, ra, rb, dirp, lam_d,
                                               _shape_of(det).bounding_sphere, DIRT_DECAY_SCALES)
        reach = path_w > 0.0
        info["interaction_points"] = {"method": "importance (exponential mixture on the chi' line's reach)",
                                      "decay_length_scales": [str(f) for f in DIRT_DECAY_SCALES],
                                      "draws_per_arrival": int(DIRT_DRAWS_PER_ARRIVAL),
                                      "rows_without_reach": int(np.count_nonzero(~reach)),
                                      "rows": int(len(path_w))}
        # rows whose χ′ line cannot reach the detector carry exactly zero weight: not followed
        arr = arr.select(reach)
        mac, k_t, chip, t = mac[reach], k_t[reach], chip[reach], t[reach]
        us = {tn: {ab: v[reach] for ab, v in d.items()} for tn, d in us.items()}
        p_chip, dirp, lam_d, s_pt, path_w = p_chip[reach], dirp[reach], lam_d[reach], s_pt[reach], path_w[reach]
        vtx = arr.vertex + arr.direction * s_pt[:, None]
    # χ′ propagation: decays inside the detector's exact shape (all its segments)
    seg_a, seg_b = _shape_of(det).segments(vtx, dirp)
    ell = seg_b.max(axis=1)
    p_in = decay_probability_in_segments(seg_a, seg_b, lam_d) if math.isfinite(ctau) else np.zeros(len(arr))
    gam_tot, br_ee, comps = _chi_prime_decay_setup(model)
    info["chi_prime"] = {"ctau_cm": ctau, "br_chi_ee": br_ee, "lifetime_s": tau}
    # w_int = w_χ ℓ Σnσ; the decay-inside estimate uses the path-length weight of the sampled
    # point (the chord for a uniform point, 1/q(s) for the importance-sampled dirt point)
    w_dec = arr.weight * (path_w * mac) * p_in
    w = w_dec * br_ee
    info["chi_prime_decays_inside_per_pot"] = float(np.sum(w_dec))
    info["visible_chi_prime_decays_per_pot"] = float(np.sum(w))
    s = sample_decay_in_segments(rng, seg_a, seg_b, lam_d)
    dvtx = vtx + dirp * s[:, None]
    em, ep, chi_out = _chi_prime_to_chi_ee(rng, model, chip, comps)
    ok = (w > 0) & (em[:, 0] > 0) & (ep[:, 0] > 0)
    cols_list = []
    z_of = np.array([tgt.Z for _, tgt, _ in centres], np.int64)
    if np.any(ok):
        passed, shower = response.select_pairs(em[ok], ep[ok])
        info["failing_single_shower_per_pot"] = float(np.sum(w[ok][~passed]))
        keep = np.flatnonzero(ok)[passed]
        mask = np.zeros(len(arr), bool)
        mask[keep] = True
        if keep.size:
            cols = _event_columns(arr, mask, vtx, w, PROCESS_CODES["upscatter_chi_ee"])
            cols["target"] = z_of[k_t[mask]]
            cols["region"] = np.full(keep.size, REGION_CODES[region], np.int64)
            cols["t"] = t[mask]
            cols.update(_flat_columns("chip", chip[mask]))
            cols.update(_flat_columns("decay", dvtx[mask]))
            cols.update(_flat_columns("p1", em[mask]))
            cols.update(_flat_columns("p2", ep[mask]))
            cols["shower_e"] = shower[passed][:, 0]
            cols["_shower_p4"] = shower[passed]
            # reweighting inputs
            cols["v_label"] = arr.extra["v_label"][mask]
            cols["v_kind"] = arr.extra["v_kind"][mask]
            cols["br_v"] = arr.extra["br_v"][mask]
            cols["w_chi"] = arr.weight[mask] / arr.extra["br_v"][mask]  # χ weight without BR(V→χ·)
            for ab in ("ff", "fs", "ss"):  # Σ_targets n σ_ab [1/cm] for unit couplings
                cols[f"mac_{ab}"] = sum(n * us[name][ab][mask] for name, _, n in centres)
            cols["chord_chi"] = arr.chord[mask]
            cols["path_weight_chi"] = path_w[mask]
            cols["ell_chi_prime"] = ell[mask]
            for k in range(seg_a.shape[1]):
                cols[f"chip_seg_a{k}"] = seg_a[mask, k]
                cols[f"chip_seg_b{k}"] = seg_b[mask, k]
            cols["p_chi_prime"] = p_chip[mask]
            cols["p_decay_inside"] = p_in[mask]
            cols_list.append(cols)
    else:
        info["failing_single_shower_per_pot"] = 0.0
    return cols_list


#: Per-event weight arrays an :func:`idm_reweighter` keeps (most recent coupling products).
REWEIGHT_CACHE_ENTRIES = 4


def idm_reweighter(model, columns: dict[str, Array]):
    """``f(x) -> weights`` [events/POT] of the iDM events at coupling product ``x``
    (``model.with_coupling_product(x)``: g′₂ or g′₁ rescaled).  Per event it recomputes
    BR(V → χ·), the up-scattering probability ℓ Σ_i n_i σ_i(c_f, c_s) from the stored
    unit-coupling cross sections, the χ′ decay-inside probability 1 − exp(−ℓ′/(γβcτ′(x))) and
    BR(χ′ → χe⁺e⁻)(x).  Kinematics (t distribution, target choice, decay point) stay those
    sampled at the reference point: exact when one mediator carries all the up-scattering
    (both benchmarks), otherwise the t-shape change with the mediator mix is neglected."""
    # only the arrays the weights read are referenced (not the sample's other columns: memory)
    nseg = sum(1 for k in columns if k.startswith("chip_seg_a"))
    need = ["mac_ff", "mac_fs", "mac_ss", "v_label", "v_kind", "p_chi_prime"]
    cols = {k: np.asarray(columns[k]) for k in need}
    base = np.asarray(columns["w_chi"]) * np.asarray(columns["efficiency"])
    # path-length weight of the interaction point [cm] (the chord for uniform points; older
    # event files without the column: the chord)
    chord = np.asarray(columns["path_weight_chi"] if "path_weight_chi" in columns else columns["chord_chi"])
    mcp = float(model.m_chi_prime)
    seg_a = np.column_stack([columns[f"chip_seg_a{k}"] for k in range(nseg)])
    seg_b = np.column_stack([columns[f"chip_seg_b{k}"] for k in range(nseg)])
    # the most recent coupling products (a fit caches its own histograms per x: a longer
    # cache of per-event weights only held memory, ≈ 0.1 GB per prediction)
    cache: OrderedDict[float, np.ndarray] = OrderedDict()

    def weights(x: float) -> np.ndarray:
        x = float(x)
        if x in cache:
            cache.move_to_end(x)
            return cache[x]
        m2 = model.with_coupling_product(x)
        fixed, scaled = _idm_mediator_split(m2)
        cf, cs = _coupling_pair(fixed, scaled)
        mac = cf * cf * cols["mac_ff"] + 2 * cf * cs * cols["mac_fs"] + cs * cs * cols["mac_ss"]
        br_v = np.zeros(len(base))
        for lab, code in (("V1", 1), ("V2", 2)):
            sel = cols["v_label"] == code
            if not np.any(sel):
                continue
            brs = m2.v_branching_ratios(lab)
            br_v[sel] = np.where(cols["v_kind"][sel] == 0, brs["chi chibar"], brs["chi chibar_prime + h.c."])
        tau = m2.chi_prime_lifetime()
        if math.isfinite(tau) and tau > 0:
            lam_d = cols["p_chi_prime"] / mcp * tau * C.C_LIGHT
            p_in = decay_probability_in_segments(seg_a, seg_b, lam_d)
        else:
            p_in = np.zeros(len(base))
        _, br_ee, _ = _chi_prime_decay_setup(m2)
        out = base * br_v * chord * mac * p_in * br_ee
        cache[x] = out
        while len(cache) > REWEIGHT_CACHE_ENTRIES:
            cache.popitem(last=False)
        return out

    return weights
