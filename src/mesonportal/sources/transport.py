"""Mesons from the BNB target (or the steel dump) transported to their decay points.

:func:`simulate_mesons` samples primary mesons (:mod:`~mesonportal.sources.beam`,
:mod:`~mesonportal.sources.spectra`), tracks charged ones through the horn
(:mod:`~mesonportal.sources.horn`) and the collimator / decay pipe, and returns them **at
their decay points** as a :class:`~mesonportal.sample.ParticleSample` whose weights are
expected decays per POT.

Forced decays: along each path the survival is S(s) = exp(−∫(μ_d + μ_a) ds) with decay rate
μ_d = m/(p cτ) and absorption rate μ_a = 1/λ of the traversed material (Be target, air, the
aluminium of the horn). Every meson gives one decay-in-flight record with weight w·P_dec,
P_dec = ∫ S μ_d ds, at a point drawn from S μ_d (one-pass weighted reservoir sampling over path
segments). A charged π/K that reaches the end of its path (50 m absorber, pipe wall, collimator,
shielding around the horn — all treated as steel) or, in dump mode, is born in the steel absorber
then meets the steel-fate model of :mod:`mesonportal.sources.fates`: decay in flight while slowing
down, nuclear interaction, or ranging out (π+/K+ decay at rest, π−/K− are captured; K+ survive
interactions except charge exchange). K0_L reaching the end is absorbed there. π0 and η decay
promptly at the production point. Weight in = decay in flight + at rest + captured + absorbed
(checked in the tests).
"""

from __future__ import annotations

import math

import numpy as np

from mesonportal.constants import ctau, mass
from mesonportal.exceptions import ConfigError, ParameterError
from mesonportal.experiments.config import check_mode
from mesonportal.kinematics import rotate_to_axis
from mesonportal.sample import ParticleSample
from mesonportal.sources import beam as _beam
from mesonportal.sources.fates import SteelInputs, steel_fates
from mesonportal.sources.horn import EXIT_DOWNSTREAM, STOPPED, HornGeometry, HornRequest, drive, rotate
from mesonportal.sources.spectra import SPECIES

ALL_SPECIES: tuple[int, ...] = (211, -211, 321, -321, 130, 111, 221)
CHARGE = {211: 1, -211: -1, 321: 1, -321: -1, 130: 0, 111: 0, 221: 0}
AT_REST = (211, 321)
CAPTURED = (-211, -321)
STEEL = AT_REST + CAPTURED  # charged mesons whose path ends in steel (sources/fates.py)
PROMPT = (111, 221)
FATES = ("prompt", "decay_in_flight", "decay_at_rest", "captured", "absorbed_target",
         "absorbed_conductor", "absorbed_air", "absorbed_end")
CHUNK = 100_000


class _ForcedDecay:
    """Per-track forced-decay bookkeeping over successive path segments."""

    def __init__(self, n: int, mu_d: np.ndarray, rates: dict[str, float], rng: np.random.Generator) -> None:
        self.mu_d = mu_d
        self.rates = rates
        self.rng = rng
        self.log_s = np.zeros(n)
        self.total = np.zeros(n)
        self.absorbed = {k: np.zeros(n) for k in ("target", "conductor", "air")}
        self.p0 = np.zeros((n, 3))
        self.p1 = np.zeros((n, 3))
        self.m0 = np.zeros((n, 3))
        self.axis = np.zeros((n, 3))
        self.axis[:, 2] = 1.0
        self.angle = np.zeros(n)
        self.length = np.zeros(n)
        self.mu = np.ones(n)

    def segment(self, idx, p0, p1, m0, axis, angle, length, category: str) -> None:
        a = self.rates[category]
        mu_d = self.mu_d[idx]
        mt = mu_d + a
        s_now = np.exp(self.log_s[idx])
        frac = -np.expm1(-mt * length)
        m_dec = s_now * mu_d / mt * frac
        m_abs = s_now * a / mt * frac
        t_new = self.total[idx] + m_dec
        take = (m_dec > 0) & (self._uniforms(idx) * t_new < m_dec)
        if take.any():  # (most calls, on the few tracks of a late tracking step, take none)
            j = idx[take]
            self.p0[j] = p0[take]
            self.p1[j] = p1[take]
            self.m0[j] = m0[take]
            if axis is None:
                self.angle[j] = 0.0
            else:
                self.axis[j] = axis[take]
                self.angle[j] = angle[take]
            self.length[j] = length[take]
            self.mu[j] = mt[take]
        self.total[idx] = t_new
        self.log_s[idx] -= mt * length
        self.absorbed[category][idx] += m_abs

    def _uniforms(self, idx) -> np.ndarray:
        """One uniform per track of ``idx`` (the draw of :meth:`segment`)."""
        return self.rng.random(len(idx))

    def scale(self, idx, survival, category: str) -> None:
        s_now = np.exp(self.log_s[idx])
        self.absorbed[category][idx] += s_now * (1.0 - survival)
        self.log_s[idx] += np.log(np.maximum(survival, 1e-300))

    def decay_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Sampled decay vertex (N,3) and momentum (N,3) within the chosen segments."""
        u = self.rng.random(len(self.total))
        frac = -np.expm1(-self.mu * self.length)
        s = -np.log1p(-u * frac) / self.mu
        f = np.where(self.length > 0, np.clip(s / np.where(self.length > 0, self.length, 1.0), 0.0, 1.0), 0.0)
        vtx = self.p0 + f[:, None] * (self.p1 - self.p0)
        mom = rotate(self.m0, self.axis, f * self.angle)
        return vtx, mom


def _cylinder_exit(pos, d, radius) -> np.ndarray:
    """Path length until r = radius along straight lines starting inside (inf if parallel)."""
    a = d[:, 0] ** 2 + d[:, 1] ** 2
    b = 2.0 * (pos[:, 0] * d[:, 0] + pos[:, 1] * d[:, 1])
    c = pos[:, 0] ** 2 + pos[:, 1] ** 2 - radius**2
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (-b + np.sqrt(np.clip(b * b - 4 * a * c, 0, None))) / (2 * a)
    return np.where(a > 1e-300, np.clip(s, 0.0, None), np.inf)


def _downstream_path(pos, d, z_horn_end, dr) -> np.ndarray:
    """Straight path length from the horn exit to the stop point: collimator aperture
    (radius ``dr.collimator_radius_cm``) up to ``dr.z_start_cm``, then the decay pipe
    (``dr.pipe_radius_cm``) up to the absorber at ``dr.absorber_z_cm``."""
    dz = d[:, 2]
    fwd = dz > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        s_coll_end = np.where(fwd, (dr.z_start_cm - pos[:, 2]) / dz, 0.0)
        s_abs = np.where(fwd, (dr.absorber_z_cm - pos[:, 2]) / dz, 0.0)
    s_coll_end = np.clip(s_coll_end, 0.0, None)
    rc = dr.collimator_radius_cm
    s_wall_c = _cylinder_exit(pos, d, rc) if np.isfinite(rc) else np.full(len(pos), np.inf)
    r_now = np.hypot(pos[:, 0], pos[:, 1])
    s_wall_c = np.where(r_now >= rc, 0.0, s_wall_c) if np.isfinite(rc) else s_wall_c
    stop_in_coll = s_wall_c < s_coll_end
    s_wall_p = _cylinder_exit(pos, d, dr.pipe_radius_cm)
    s = np.where(stop_in_coll, s_wall_c, np.minimum(s_wall_p, s_abs))
    return np.where(fwd, np.clip(s, 0.0, None), 0.0)


def _cone_exit(pos, d, z0, r0, slope) -> np.ndarray:
    """Path length (cm) along unit ``d`` from ``pos`` (inside) to the cone r = r0 + slope·(z − z0);
    inf if the line never reaches it (only the first positive crossing counts)."""
    x, y, z = pos[:, 0], pos[:, 1], pos[:, 2]
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    rz = r0 + slope * (z - z0)
    a = dx * dx + dy * dy - slope * slope * dz * dz
    b = 2.0 * (x * dx + y * dy - slope * dz * rz)
    c = x * x + y * y - rz * rz
    disc = b * b - 4.0 * a * c
    sq = np.sqrt(np.clip(disc, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        r1 = (-b - sq) / (2.0 * a)
        r2 = (-b + sq) / (2.0 * a)
        lin = np.where(b > 0, -c / b, np.inf)
    big = np.inf
    r1 = np.where((r1 > 0) & np.isfinite(r1), r1, big)
    r2 = np.where((r2 > 0) & np.isfinite(r2), r2, big)
    s = np.where(disc >= 0, np.minimum(r1, r2), big)
    s = np.where(np.abs(a) > 1e-14, s, np.where(lin > 0, lin, big))
    return np.where(c >= 0, 0.0, s)


def _official_downstream_path(pos, d, horn, dr) -> np.ndarray:
    """Straight path length (cm) from the horn exit (``pos``, target coordinates, unit ``d``) to the stop
    point with ``dr.apertures`` (G4BNB geometry): the horn's air cavity (``horn.cavity``) up to its
    downstream face, then the conical collimator apertures (steel outside), then the decay pipe
    (``dr.pipe_radius_cm``) from ``dr.z_start_cm`` to the absorber at ``dr.absorber_z_cm``."""
    dz = d[:, 2]
    fwd = dz > 0
    off = horn.z_offset_cm  # z_target = z_horn + off
    s = _cavity_path(pos, d, horn)
    p = pos + d * s[:, None]
    alive = fwd & (p[:, 2] >= horn.cavity[4] + off - 1e-6)  # left the cavity through its downstream face
    for z0h, z1h, r0, r1 in dr.apertures:
        z0, z1 = z0h + off, z1h + off
        slope = (r1 - r0) / (z1 - z0)
        alive &= np.hypot(p[:, 0], p[:, 1]) < r0 + slope * (p[:, 2] - z0)
        if not alive.any():
            break
        i = np.nonzero(alive)[0]
        s_z = np.clip((z1 - p[i, 2]) / dz[i], 0.0, None)
        s_w = _cone_exit(p[i], d[i], z0, r0, slope)
        step = np.minimum(s_z, s_w)
        s[i] += step
        p[i] += d[i] * step[:, None]
        alive[i[s_w < s_z]] = False
    i = np.nonzero(alive)[0]
    if len(i):
        s_abs = np.clip((dr.absorber_z_cm - p[i, 2]) / dz[i], 0.0, None)
        s[i] += np.minimum(_cylinder_exit(p[i], d[i], dr.pipe_radius_cm), s_abs)
    return s


def _cavity_path(pos, d, horn) -> np.ndarray:
    """Straight path length (cm) from ``pos`` (target coordinates) along unit ``d`` to the wall of the
    box-shaped air cavity ``horn.cavity`` around the horn (horn coordinates; G4BNB volume PICV)."""
    xh, y0, y1, z0, z1 = horn.cavity
    shift = horn.target_z_start_cm + horn.target_shift_cm  # z_target = z_horn - shift
    lo = np.array([-xh, y0, z0 - shift])
    hi = np.array([xh, y1, z1 - shift])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(d > 0, (hi - pos) / d, np.where(d < 0, (lo - pos) / d, np.inf))
    return np.clip(np.min(s, axis=1), 0.0, None)


def _empty_summary(species) -> dict:
    return {SPECIES[s]: {f: 0.0 for f in ("produced", "produced_tertiary") + FATES} for s in species}


def simulate_mesons(experiment, mode: str, n_samples: int, rng: np.random.Generator, *, species=None,
                    progress: bool = False) -> ParticleSample:
    """Mesons at their decay points for ``experiment`` in ``mode`` ("nu", "nubar", "dump").

    Parameters
    ----------
    n_samples : total number of primary mesons sampled, split evenly among ``species``
        (default: π±, K±, K0_L, π0, η = PDG 211, −211, 321, −321, 130, 111, 221).
    rng : the only source of randomness.

    Returns
    -------
    ParticleSample with ``vertex`` = decay point (cm), ``p4`` = four-momentum at decay (MeV;
    (m, 0, 0, 0) for decays at rest), ``pdgid``, ``weight`` = expected decays per POT,
    ``parent`` = 0. The attribute ``summary`` (dict species -> fate -> weight per POT) holds
    the produced weight and its split into prompt / decay_in_flight / decay_at_rest /
    captured / absorbed_{target, conductor, air, end}; nothing is dropped silently.
    ``produced`` includes the tertiary mesons made by re-interactions of secondary hadrons in the
    target (``produced_tertiary``, :mod:`mesonportal.sources.tertiary`) when the experiment's
    ``target.tertiary_production`` is on; they take ``target.tertiary_sample_fraction`` × the
    primary samples of each species (no K− tertiaries).
    """
    return drive(_simulate_gen(experiment, mode, n_samples, rng, species=species, progress=progress))


def _simulate_gen(experiment, mode: str, n_samples: int, rng: np.random.Generator, *, species=None,
                  progress: bool = False):
    """:func:`simulate_mesons` as a generator: it yields a :class:`HornRequest` where the
    meson sample needs the horn tracker, expects the tracker's (position, momentum, status) back
    and returns the sample. All random draws of the sample come from ``rng`` in the same order
    whoever tracks the requests (:func:`~mesonportal.sources.horn.drive` one by one, or
    :func:`mesonportal.sources.grouped.simulate_mesons_grouped` together with other samples)."""
    check_mode(experiment, mode)
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ParameterError(f"n_samples = {n_samples!r} must be an integer >= 1")
    if species is None:
        species = ALL_SPECIES
    species = tuple(int(s) for s in species)
    if getattr(experiment, "source_type", "horn") == "stopped":  # [source] type = "stopped"
        from mesonportal.sources.stopped import simulate_stopped

        return simulate_stopped(experiment, int(n_samples), rng, species=species)
    if getattr(experiment, "source", None) is not None:  # [source] type = "highenergy"
        from mesonportal.sources.highenergy import simulate_highenergy

        if not species:
            raise ParameterError("species must name at least one meson")
        return simulate_highenergy(experiment, mode, int(n_samples), rng, species)
    for s in species:
        if s not in ALL_SPECIES:
            raise ParameterError(f"species {s} not supported; allowed: {', '.join(map(str, ALL_SPECIES))}")
    if not species:
        raise ParameterError("species must name at least one meson")
    dump = mode == "dump"
    if dump and experiment.dump is None:
        raise ConfigError(f"experiment {experiment.name!r} has no [dump] section for mode 'dump'")
    if not dump and (experiment.horn is None or experiment.decay_region is None):
        raise ConfigError(f"experiment {experiment.name!r} needs [horn] and [decay_region] for mode {mode!r}")
    n_per = max(1, int(n_samples) // len(species))
    summary = _empty_summary(species)
    out: list[ParticleSample] = []
    jobs = []
    tert = (not dump) and experiment.target.tertiary_production
    n_tert = max(1, int(round(experiment.target.tertiary_sample_fraction * n_per))) if tert else 0
    for s in species:
        for kind, total in (("primary", n_per), ("tertiary", n_tert if s != -321 else 0)):
            left = total
            while left > 0:
                k = min(CHUNK, left)
                jobs.append((s, k, kind))
                left -= k
    from mesonportal._progress import transient_progress

    with transient_progress(f"mesons ({mode})", len(jobs), progress) as advance:
        for s, k, kind in jobs:
            if kind == "tertiary":
                out.append((yield from _tertiary_chunk(experiment, mode, s, k, n_tert, rng, summary[SPECIES[s]])))
                continue
            if dump:
                out.append(_dump_chunk(experiment, mode, s, k, n_per, rng, summary[SPECIES[s]]))
            else:
                out.append((yield from _target_chunk(experiment, mode, s, k, n_per, rng, summary[SPECIES[s]])))
            advance()
    sample = ParticleSample.concatenate(out)
    sample.summary = summary  # type: ignore[attr-defined]
    return sample


def _primary(experiment, pdgid, k, rng, p_beam):
    p, th, w = _beam.sample_production(rng, pdgid, k, p_beam, experiment.target.pi_minus_parametrisation)
    phi = rng.uniform(0.0, 2.0 * np.pi, k)
    st = np.sin(th)
    local = np.column_stack([st * np.cos(phi), st * np.sin(phi), np.cos(th)])
    xy, pdir = _beam.sample_beam(rng, k, experiment.beam)
    d = rotate_to_axis(local, pdir)
    return p, th, w, xy, pdir, d


def _records(pdgid, vtx, mom3, w, m):
    keep = w > 0
    if not np.any(keep):
        return None
    e = np.sqrt(np.sum(mom3[keep] ** 2, axis=1) + m * m)
    return ParticleSample(np.column_stack([e, mom3[keep]]), vtx[keep], pdgid, w[keep])


def _target_chunk(experiment, mode, pdgid, k, n_per, rng, summ):
    """Generator (see :func:`_simulate_gen`) of the sample of ``k`` primaries of ``pdgid``."""
    p_beam = _beam.beam_momentum_gev(experiment)
    p, th, w = _beam.sample_production(rng, pdgid, k, p_beam, experiment.target.pi_minus_parametrisation)
    # proton histories (quasi-elastic rescattering included): meson-producing vertices and directions
    pv, pd, n_int = _beam.proton_interactions(rng, k, experiment)
    if n_int == 0:
        summ["produced"] += 0.0
        return ParticleSample.empty()
    pick = rng.integers(0, n_int, k)
    vtx, pdir = pv[pick], pd[pick]
    phi = rng.uniform(0.0, 2.0 * np.pi, k)
    st = np.sin(th)
    d = rotate_to_axis(np.column_stack([st * np.cos(phi), st * np.sin(phi), np.cos(th)]), pdir)
    w = w * (n_int / k) / _beam.meson_multiplicity_norm_mb(experiment) / n_per
    return (yield from _target_transport(experiment, mode, pdgid, vtx, d, p, w, rng, summ))


def _tertiary_chunk(experiment, mode, pdgid, k, n_tert, rng, summ):
    """Generator (see :func:`_simulate_gen`): ``k`` of the ``n_tert`` tertiary samples of ``pdgid``
    (:mod:`mesonportal.sources.tertiary`)."""
    from mesonportal.sources.tertiary import _tertiary_gen

    t = experiment.target
    vtx, d, p, w, _ = yield from _tertiary_gen(experiment, pdgid, k, rng, t.tertiary_min_momentum_mev)
    keep = w > 0
    w = w[keep] / n_tert
    summ["produced_tertiary"] += float(w.sum())
    if not np.any(keep):
        return ParticleSample.empty()
    return (yield from _target_transport(experiment, mode, pdgid, vtx[keep], d[keep], p[keep], w, rng, summ))


def _target_transport(experiment, mode, pdgid, vtx, d, p, w, rng, summ):
    """Generator (see :func:`_simulate_gen`, one :class:`HornRequest`): mesons born at ``vtx`` (cm)
    in the target along unit ``d`` with momentum ``p`` (MeV) and weight ``w`` (per POT): target
    chord, horn, decay region, fates."""
    t = experiment.target
    k = len(p)
    m = mass(pdgid)
    mom = d * p[:, None]
    summ["produced"] += float(w.sum())
    if pdgid in PROMPT:
        summ["prompt"] += float(w.sum())
        return _records(pdgid, vtx, mom, w, m)
    horn, dr = experiment.horn, experiment.decay_region
    if dr.apertures is not None and horn.cavity is None:
        raise ConfigError("decay_region.apertures (decay_region.geometry) need horn.cavity: the apertures start at "
                          "the cavity's downstream face")
    mu_d = m / (p * ctau(pdgid))
    rates = {"target": 1.0 / t.absorption_length_cm, "air": 1.0 / dr.absorption_length_cm,
             "conductor": 1.0 / horn.inner_conductor_absorption_length_cm}
    acc = _ForcedDecay(k, mu_d, rates, rng)
    idx = np.arange(k)
    s_t = _beam.target_exit_length(vtx, d, t.length_cm, t.radius_cm)
    pos = vtx + d * s_t[:, None]
    acc.segment(idx, vtx, pos, mom, None, None, s_t, "target")
    geom = HornGeometry(horn)
    current = horn.current_ka.get(mode, 0.0)
    pos, mom, status = yield HornRequest(pos, mom, np.full(k, CHARGE[pdgid]), geom, current, acc, idx)
    if horn.cavity is not None:
        # tracks leaving the horn sideways fly on through the air cavity around it to its steel walls
        side = np.nonzero((status == STOPPED) & (np.hypot(pos[:, 0], pos[:, 1]) >= geom.r_envelope - 1e-6))[0]
        if len(side):
            ds = mom[side] / p[side, None]
            s_c = _cavity_path(pos[side], ds, horn)
            p1 = pos[side] + ds * s_c[:, None]
            acc.segment(side, pos[side], p1, mom[side], None, None, s_c, "air")
            pos[side] = p1
    ex = np.nonzero(status == EXIT_DOWNSTREAM)[0]
    if len(ex):
        de = mom[ex] / p[ex, None]
        if dr.apertures is not None:
            s_dn = _official_downstream_path(pos[ex], de, horn, dr)
        else:
            s_dn = _downstream_path(pos[ex], de, geom.z_end, dr)
        p1 = pos[ex] + de * s_dn[:, None]
        acc.segment(ex, pos[ex], p1, mom[ex], None, None, s_dn, "air")
        pos[ex] = p1
    s_end = np.exp(acc.log_s)
    dvtx, dmom = acc.decay_points()
    w_fl = w * acc.total
    summ["decay_in_flight"] += float(w_fl.sum())
    summ["absorbed_target"] += float((w * acc.absorbed["target"]).sum())
    summ["absorbed_conductor"] += float((w * acc.absorbed["conductor"]).sum())
    summ["absorbed_air"] += float((w * acc.absorbed["air"]).sum())
    w_end = w * s_end
    recs = [_records(pdgid, dvtx, dmom, w_fl, m)]
    if pdgid in STEEL:
        # the end of the path (absorber, pipe wall, collimator, shielding) is treated as steel
        recs += _steel(pdgid, pos, mom, w_end, rng, steel_inputs(experiment), summ)
    else:
        summ["absorbed_end"] += float(w_end.sum())
    return ParticleSample.concatenate([r for r in recs if r is not None])


def steel_inputs(experiment) -> SteelInputs:
    """Inputs of the steel-fate model from the experiment's [dump] section (defaults otherwise)."""
    d = experiment.dump
    if d is None:
        return SteelInputs()
    return SteelInputs(density_g_cm3=d.density_g_cm3, pion_interaction_length_cm=d.pion_interaction_length_cm,
                       kaon_interaction_length_cm=d.kaon_interaction_length_cm,
                       kplus_charge_exchange_fraction=d.kplus_charge_exchange_fraction)


def _steel(pdgid, start, mom, w, rng, inputs, summ) -> list:
    """Records of the steel fates of charged mesons (see :mod:`mesonportal.sources.fates`)."""
    m = mass(pdgid)
    f = steel_fates(pdgid, start, mom, w, rng, inputs)
    summ["decay_in_flight"] += float(f.dif_weight.sum())
    summ["decay_at_rest"] += float(f.dar_weight.sum())
    summ["captured"] += f.captured
    summ["absorbed_end"] += f.absorbed
    return [_records(pdgid, f.dif_vertex, f.dif_momentum, f.dif_weight, m),
            _records(pdgid, f.dar_vertex, np.zeros_like(f.dar_vertex), f.dar_weight, m)]


def _dump_chunk(experiment, mode, pdgid, k, n_per, rng, summ) -> ParticleSample:
    """Dump mode: protons on the Fe absorber; Be fits scaled by (A/A_Be)^α(x_F) and normalised
    by σ_inel(p-Fe); every proton interacts (absorber ≫ λ)."""
    dmp = experiment.dump
    p_beam = _beam.beam_momentum_gev(experiment)
    p, th, w, xy, pdir, d = _primary(experiment, pdgid, k, rng, p_beam)
    lam_p = _beam.dump_lambda_cm(dmp)
    depth = rng.exponential(lam_p, k)
    vtx = np.column_stack([xy[:, 0], xy[:, 1], dmp.absorber_z_cm + depth])
    scale = _beam.dump_weight_factor(pdgid, p, th, p_beam, dmp.mass_number, experiment.target.mass_number)
    w = w * scale / dmp.sigma_inel_mb / n_per
    m = mass(pdgid)
    mom = d * p[:, None]
    summ["produced"] += float(w.sum())
    if pdgid in PROMPT:
        summ["prompt"] += float(w.sum())
        return _records(pdgid, vtx, mom, w, m)
    if pdgid in STEEL:
        recs = _steel(pdgid, vtx, mom, w, rng, steel_inputs(experiment), summ)
        recs = [r for r in recs if r is not None]
        return ParticleSample.concatenate(recs) if recs else ParticleSample.empty()
    # K0_L: decay competes with absorption in steel
    mu_d = m / (p * ctau(pdgid))
    mu_a = 1.0 / dmp.absorption_length_cm
    p_dec = mu_d / (mu_d + mu_a)
    s = rng.exponential(1.0, k) / (mu_d + mu_a)
    summ["decay_in_flight"] += float((w * p_dec).sum())
    summ["absorbed_end"] += float((w * (1.0 - p_dec)).sum())
    return _records(pdgid, vtx + d * s[:, None], mom, w * p_dec, m)


def production_per_pot(experiment, mode: str, pdgid: int) -> float:
    """Expected primary mesons of ``pdgid`` per POT (numerical integral, no transport)."""
    from mesonportal.sources.spectra import total_cross_section_mb

    check_mode(experiment, mode)
    p_beam = _beam.beam_momentum_gev(experiment)
    if mode == "dump":
        raise ParameterError("production_per_pot is defined for target modes only (nu, nubar)")
    return (total_cross_section_mb(pdgid, p_beam, pi_minus=experiment.target.pi_minus_parametrisation)
            * _beam.target_yield_factor(experiment))


__all__ = ["simulate_mesons", "production_per_pot", "ALL_SPECIES", "FATES"]
_ = math
