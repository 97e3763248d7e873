"""High-energy beam lines (CERN WANF, J-PARC, NuMI, LBNF): mesons to their decay points.

``[source] type = "highenergy"`` in an experiment TOML selects this source instead of the BNB
Sanford–Wang + horn-tracking model.  Steps (units MeV, cm, rad; weights = decays per POT):

1. **Production** — per species, mesons from Pythia 8 or BMPT
   (:mod:`mesonportal.sources.production_he`), normalised per POT as
   P_int · σ_A(species)/σ_inel(p-A) with P_int = 1 − exp(−L n σ_inel) of the target; the
   interaction depth follows exp(−z/λ) in the target, the beam spot and divergence come from
   ``[beam]``.  Re-interactions of secondaries in the target and absorption in it are neglected
   (tertiary production adds ≈ 10–20% of the ν flux in long graphite targets; stated).
2. **Focusing** — an acceptance-and-focusing model, not a horn-field tracking: a meson of the
   focused sign (+ in mode ``nu``, − in ``nubar``) with p_min ≤ p ≤ p_max and θ ≤ θ_max is,
   with probability ε (``focus_efficiency``), made parallel to the beam axis up to a Gaussian
   residual angle σ = ``focus_residual_mrad``/1000 · (p_ref/p) with p_ref = 1 GeV/c (the
   kick-limited divergence); wrong-sign mesons in the same acceptance are swept out and absorbed
   (fate ``defocused``).  Every other meson flies straight.  The parameters of each beam are in
   its TOML with their source; their uncertainty is discussed in docs/highenergy.md.
   ``flux_normalisation`` multiplies every meson weight: the ratio of a published ν_μ flux to
   the model's (LBNF: 1.24, docs/highenergy.md), i.e. what the model misses (tertiary
   production, focusing details).
3. **Decay pipe** — π±, K±, K0_L fly from the production point along their (focused) direction;
   they decay in flight with the exact exponential law until they leave the pipe (radius
   ``decay_region.pipe_radius_cm``) or reach the absorber (``decay_region.absorber_z_cm``);
   the decay point is drawn from the truncated exponential and the record carries
   w · P_decay.  Survivors are absorbed (fate ``absorbed_end``; at these momenta mesons
   interact in the absorber rather than stop: no decays at rest).  π0 and η decay promptly at
   the production point.

Weight in = prompt + decay in flight + defocused + absorbed_end (``summary``; tested).
"""

from __future__ import annotations

import numpy as np

from mesonportal.constants import ctau, mass
from mesonportal.exceptions import ConfigError, ParameterError
from mesonportal.kinematics import rotate_to_axis
from mesonportal.sample import ParticleSample
from mesonportal.sources import beam as _beam
from mesonportal.sources import production_he as he
from mesonportal.sources.spectra import SPECIES

__all__ = ["simulate_highenergy", "HE_FATES", "primary_mesons", "production_per_pot_he"]

HE_FATES = ("prompt", "decay_in_flight", "defocused", "absorbed_end")
CHARGE = {211: 1, -211: -1, 321: 1, -321: -1, 130: 0, 111: 0, 221: 0}
PROMPT = (111, 221)
FOCUS_SIGN = {"nu": 1, "nubar": -1, "dump": 0}


def _table(experiment):
    src = experiment.source
    t = experiment.target
    return he.pythia_table(experiment.beam.momentum_mev, t.atomic_number, t.mass_number,
                           int(src.pythia_events), int(src.pythia_seed))


def primary_mesons(experiment, pdgid: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` primary mesons of ``pdgid``: (p [MeV], θ [rad], w [mesons per POT]); Σw estimates
    the yield per POT × ``source.flux_normalisation`` (see the module doc)."""
    src = experiment.source
    t = experiment.target
    pb = experiment.beam.momentum_mev
    if src.generator == "bmpt":
        p, th, w_mb = he.bmpt_table_sample(pdgid, n, pb, t.mass_number, rng)
    else:
        tab = _table(experiment)
        m = tab["pdg"] == pdgid
        if not np.any(m):
            return np.zeros(0), np.zeros(0), np.zeros(0)
        sig = tab["sigma_mb"][m]
        cdf = np.cumsum(sig)
        k = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(sig) - 1)
        p, th = tab["p"][m][k], tab["theta"][m][k]
        w_mb = np.full(n, cdf[-1] / n)
    return p, th, w_mb * _beam.target_yield_factor(experiment) * src.flux_normalisation


def production_per_pot_he(experiment, pdgid: int, n: int = 200_000, seed: int = 1) -> float:
    """Primary mesons of ``pdgid`` per POT (MC estimate with ``n`` samples)."""
    _, _, w = primary_mesons(experiment, int(pdgid), n, np.random.default_rng(seed))
    return float(w.sum())


def _cyl_exit(pos, d, radius):
    a = d[:, 0] ** 2 + d[:, 1] ** 2
    b = 2.0 * (pos[:, 0] * d[:, 0] + pos[:, 1] * d[:, 1])
    c = pos[:, 0] ** 2 + pos[:, 1] ** 2 - radius**2
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (-b + np.sqrt(np.clip(b * b - 4 * a * c, 0, None))) / (2 * a)
    s = np.where(a > 1e-300, np.clip(s, 0.0, None), np.inf)
    return np.where(c > 0, 0.0, s)


def simulate_highenergy(experiment, mode: str, n_samples: int, rng: np.random.Generator, species) -> ParticleSample:
    """Mesons at their decay points (``ParticleSample``, weights = decays per POT) for an
    experiment with ``[source] type = "highenergy"``; ``n_samples`` primaries split evenly
    among ``species``.  ``summary`` holds species → fate → weight per POT (:data:`HE_FATES`)."""
    src = experiment.source
    dr = experiment.decay_region
    if dr is None:
        raise ConfigError(f"experiment {experiment.name!r}: a [source] of type 'highenergy' needs [decay_region]")
    if mode == "dump":
        raise ConfigError(f"experiment {experiment.name!r}: mode 'dump' is not modelled for a high-energy source")
    species = tuple(int(s) for s in species)
    for s in species:
        if s not in he.HE_SPECIES:
            raise ParameterError(f"species {s} not supported; allowed: {', '.join(map(str, he.HE_SPECIES))}")
    if src.generator == "bmpt" and 221 in species:
        raise ConfigError(f"{experiment.source_path}: key 'source.generator' = 'bmpt' has no eta (221) "
                          "parametrisation; use 'pythia8'")
    he.check_threshold(experiment.beam.momentum_mev, species, experiment.source_path)
    n_per = max(1, int(n_samples) // len(species))
    summary = {SPECIES[s]: {f: 0.0 for f in ("produced",) + HE_FATES} for s in species}
    sign = FOCUS_SIGN[mode]
    out = []
    t = experiment.target
    for s in species:
        summ = summary[SPECIES[s]]
        p, th, w = primary_mesons(experiment, s, n_per, rng)
        k = len(p)
        if k == 0:
            continue
        phi = rng.uniform(0.0, 2 * np.pi, k)
        st = np.sin(th)
        local = np.column_stack([st * np.cos(phi), st * np.sin(phi), np.cos(th)])
        xy, pdir = _beam.sample_beam(rng, k, experiment.beam)
        d = rotate_to_axis(local, pdir)
        z = _beam.sample_interaction_depth(rng, k, t.length_cm, t.interaction_length_cm)
        vtx = np.column_stack([xy[:, 0] + pdir[:, 0] / pdir[:, 2] * z, xy[:, 1] + pdir[:, 1] / pdir[:, 2] * z, z])
        m = mass(s)
        summ["produced"] += float(w.sum())
        if s in PROMPT:
            summ["prompt"] += float(w.sum())
            out.append(_records(s, vtx, d * p[:, None], w, m))
            continue
        q = CHARGE[s]
        acc = (p >= src.focus_p_min_mev) & (p <= src.focus_p_max_mev) & (th <= src.focus_theta_max_mrad * 1e-3)
        if q != 0 and sign != 0:
            if q == sign:
                foc = acc & (rng.random(k) < src.focus_efficiency)
                nf = int(foc.sum())
                if nf:
                    sig = src.focus_residual_mrad * 1e-3 * (1000.0 / p[foc])
                    tx, ty = rng.normal(0, 1, nf) * sig, rng.normal(0, 1, nf) * sig
                    dn = np.column_stack([tx, ty, np.ones(nf)])
                    d[foc] = dn / np.linalg.norm(dn, axis=1, keepdims=True)
            else:
                gone = acc
                summ["defocused"] += float(w[gone].sum())
                w = np.where(gone, 0.0, w)
        s_end = np.minimum(_cyl_exit(vtx, d, dr.pipe_radius_cm),
                           np.where(d[:, 2] > 0, (dr.absorber_z_cm - vtx[:, 2]) / np.maximum(d[:, 2], 1e-300), 0.0))
        s_end = np.clip(s_end, 0.0, None)
        mu = m / (p * ctau(s))
        p_dec = -np.expm1(-mu * s_end)
        u = rng.random(k)
        s_dec = -np.log1p(-u * p_dec) / mu
        w_dec = w * p_dec
        summ["decay_in_flight"] += float(w_dec.sum())
        summ["absorbed_end"] += float((w * (1.0 - p_dec)).sum())
        out.append(_records(s, vtx + d * s_dec[:, None], d * p[:, None], w_dec, m))
    sample = ParticleSample.concatenate([r for r in out if r is not None])
    sample.summary = summary  # type: ignore[attr-defined]
    return sample


def _records(pdgid, vtx, mom3, w, m):
    keep = w > 0
    if not np.any(keep):
        return None
    e = np.sqrt(np.sum(mom3[keep] ** 2, axis=1) + m * m)
    return ParticleSample(np.column_stack([e, mom3[keep]]), vtx[keep], pdgid, w[keep])
