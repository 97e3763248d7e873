"""Tertiary meson production: secondary hadrons re-interacting in the beryllium target.

The BNB target is 71.12 cm of Be, ~1.7 proton interaction lengths, so the hadrons leaving a primary
p-Be interaction often interact again inside it. The official simulation (SBNSoftware/G4BNB) tracks
them: the protons, neutrons and K− of the primary interaction come from MARS-15 tables
(:mod:`mesonportal.sources.mars`), and every hadron re-interacting outside the 7.5–8.5 GeV window of the
p-Be model is handed to Geant4's Bertini/FTFP models (src/BooNEHadronInelasticProcess.cc). MiniBooNE
quotes that "~7% of our muon neutrinos from π+ come from re-scattered protons" and that "mesons also
interact with the horn, target, and concrete" (www-boone.fnal.gov flux page, arXiv:0806.1449).

Model (one generation, vectorised; every approximation is stated in docs/sources.md):

* **Parents.** (i) nucleons of the primary interaction: protons and neutrons drawn from the MARS
  tables (multiplicity 1.54 p and 1.34 n per interaction, G4BNB's normalisation);
  (ii) the primary π± (Sanford–Wang, as in :mod:`mesonportal.sources.beam`). Parents start at the
  primary vertices of :func:`mesonportal.sources.beam.proton_interactions` (quasi-elastic
  rescattering included), along the proton direction.
* **Re-interaction.** A parent crosses the Be along its straight chord to the target surface and
  interacts with probability 1 − exp(−s/λ): nucleons with λ = 1/(n (σ_inel − σ_qe)(p)) from the
  official p-Be parametrisation at their own momentum (quasi-elastic scattering treated as transparent),
  pions with the target's meson absorption length (the same λ that removes them in the transport, so
  absorbed weight and tertiary parents are consistent). The point is drawn from the truncated
  exponential; the weight carries the probability. Re-interactions in the horn aluminium are not
  included (see docs).
* **Tertiary yields.** At an interaction of a parent with momentum p_in the mesons follow the p-Be
  parametrisations of the package evaluated at beam momentum p_in (Sanford–Wang and Feynman scaling
  carry the beam momentum explicitly), divided by the official σ_inel − σ_qe at p_in: multiplicity
  per interaction = σ_meson(p_in)/(σ_inel − σ_qe)(p_in). Approximations: p-Be yields are used for
  n-Be and π-Be; for neutron and π− parents π+ ↔ π− are exchanged (isospin mirror); kaon yields of
  pion parents are those of protons of the same momentum; no K− tertiaries (the K− table exists only
  at 8.89 GeV/c). The fits behind SW cover p_B = 6.4–17.5 GeV/c (HARP, E910): below that the spectra
  are extrapolated; SW vanishes at p_B = 1 GeV/c. Parents below ``min_momentum_mev`` are ignored.
* **Low-energy table** (``target.tertiary_model = "urqmd_table"``). Parents below
  ``target.tertiary_table_max_momentum_mev`` (default 6.4 GeV/c, the lower end of the SW fit range) take
  their tertiary π±, K+ from the bundled UrQMD 3.4 hadron–Be table (:mod:`mesonportal.sources.lowenergy`;
  p, n, π+, π− parents tabulated separately, no isospin mirror; 0.5–8.89 GeV/c, nothing below 0.5 GeV/c).
  π0 = ½(π+ + π−) of the table (the package's π0 convention); η and K0_L (not tabulated) keep the SW
  extrapolation; no K− tertiaries (as before).
  The table is per hadron–nucleus event (quasi-elastic events included), identified with σ_inel: nucleon
  yields are multiplied by σ_inel/(σ_inel − σ_qe) of the official parametrisation at max(p_in, 1 GeV/c);
  for pion parents the events are identified with the absorption-length interactions (the scattered
  leading pion is part of the table, re-adding the pion the transport absorbed). The horn-aluminium
  entries scale these yields to Al as the SW ones. ``"sw_extrapolated"`` keeps the SW yields everywhere.
* **Sampling.** Tertiary (p, θ) are drawn from the primary proposal of the species rescaled in p by
  p_max(p_in)/p_max(8.89 GeV/c) (Jacobian in the weight); parent type with fixed probabilities
  (weights divided by them).

Units: MeV, cm; weights are tertiary mesons per POT. Same ``rng`` → identical output.
"""

from __future__ import annotations

import numpy as np

from mesonportal.constants import N_AVOGADRO
from mesonportal.constants import mass as _mass
from mesonportal.kinematics import rotate_to_axis
from mesonportal.sources import beam as _beam
from mesonportal.sources import spectra
from mesonportal.sources.mars import mars_tables

#: parent types and the fraction of samples spent on each (weights are divided by it)
PARENTS = ("proton", "neutron", "pi+", "pi-")
PARENT_FRACTIONS = (0.35, 0.25, 0.2, 0.2)
_MIRROR = {211: -211, -211: 211}
#: species the low-energy table provides (π0 as ½(π+ + π−)); η and K0_L keep the SW extrapolation
_TABLE_SPECIES = (211, -211, 111, 321)


def _meson_cross_section(pdgid: int, p_mev, theta, p_in_gev, mirror, pi_minus: str = "table_vi") -> np.ndarray:
    """d²σ/dpdΩ [mb/(GeV/c sr)] of ``pdgid`` for parents of momentum ``p_in_gev`` (array);
    ``mirror`` (bool array) exchanges π+ ↔ π−. Zero where the parametrisation is undefined."""
    out = np.zeros(len(p_mev))
    if pdgid == -321:
        return out  # no K− tertiaries (MARS table only at 8.89 GeV/c)
    codes = np.where(mirror, _MIRROR.get(pdgid, pdgid), pdgid)
    for c in np.unique(codes):
        sel = codes == c
        pin = p_in_gev[sel]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if c in (321,):
                # Feynman scaling needs p_in above the K+ Λ N threshold (~2.5 GeV/c)
                val = np.zeros(sel.sum())
                ok = pin > 2.6
                val[ok] = spectra.kplus_feynman(p_mev[sel][ok], theta[sel][ok], pin[ok])
            else:
                val = spectra.d2sigma_dp_domega(int(c), p_mev[sel], theta[sel], pin, pi_minus=pi_minus)
        out[sel] = np.nan_to_num(val, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(out, 0.0, None)


def _parents(rng, kind: str, n: int, experiment, p_beam_gev: float):
    """(p [MeV], θ [rad], weight) of ``n`` parents per meson-producing primary interaction."""
    if kind in ("proton", "neutron"):
        t = mars_tables()[kind]
        p, th = t.sample(rng, n)
        return p, th, np.full(n, t.multiplicity)
    code = 211 if kind == "pi+" else -211
    p, th, w = _beam.sample_production(rng, code, n, p_beam_gev, experiment.target.pi_minus_parametrisation)
    return p, th, w / _beam.meson_multiplicity_norm_mb(experiment)


def _table_yields(rng, pdgid: int, parent_codes, p_in_mev, nucleon):
    """(p [MeV], θ [rad], mesons per interaction) of ``pdgid`` from the UrQMD hadron-Be table
    (:mod:`mesonportal.sources.lowenergy`). The table is per hadron-nucleus event (quasi-elastic events
    included), identified with σ_inel; nucleon interactions are counted with σ_inel − σ_qe (λ above), so
    their yields are multiplied by σ_inel/(σ_inel − σ_qe) of the official p-Be parametrisation, evaluated
    at max(p_in, 1 GeV/c) (where it is meaningful). Pion parents interact with the meson absorption
    length λ_I of the transport, identified with the event rate (factor 1)."""
    from mesonportal.sources.lowenergy import SPECIES, lowenergy_table

    n = len(p_in_mev)
    tab = lowenergy_table()
    if pdgid == 111:
        # π0 = ½(π+ + π−), the package's convention for π0 (sources/spectra.py): each sample draws π+ or π−
        # with probability ½ (its weight is the drawn species' multiplicity, so the mean is ½(N+ + N−))
        p, th, w = np.zeros(n), np.zeros(n), np.zeros(n)
        plus = rng.random(n) < 0.5
        for code, sel in ((211, plus), (-211, ~plus)):
            i = np.nonzero(sel)[0]
            p[i], th[i], w[i] = tab.sample(rng, parent_codes[i], p_in_mev[i], code)
    else:
        p, th, w = tab.sample(rng, parent_codes, p_in_mev, pdgid)
    inel, qe = _beam.pbe_cross_sections_mb(np.maximum(p_in_mev * 1e-3, 1.0))
    ratio = inel / np.clip(inel - qe, 1e-6, None)
    return p, th, np.where(nucleon, w * ratio, w)


class _ConductorPath:
    """Accumulator for :func:`mesonportal.sources.horn.track_horn` recording the aluminium segments."""

    def __init__(self) -> None:
        self.segs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def segment(self, idx, p0, p1, m0, axis, angle, length, category: str) -> None:
        if category == "conductor":
            self.segs.append((np.array(idx), np.array(p0, dtype=float), np.array(p1, dtype=float),
                              np.array(length, dtype=float)))


def _sigma_ratio_al_be(experiment) -> float:
    """σ(p-Al)/σ(p-Be) of the nuclear interaction lengths configured for the conductor and the target
    (PDG λ_I: σ = 1/(n λ_I))."""
    t, horn = experiment.target, experiment.horn
    n_be = t.density_g_cm3 * N_AVOGADRO / t.mass_number
    n_al = horn.conductor_density_g_cm3 * N_AVOGADRO / horn.conductor_mass_number
    return (n_be * t.absorption_length_cm) / (n_al * horn.inner_conductor_absorption_length_cm)


def _horn_interactions(experiment, rng, v0, d, s_exit, lam_be, nucleon, p_in):
    """Parents leaving the target (survival exp(−s/λ_Be)) re-interacting in the horn aluminium along their
    straight line (no field: neutral tracking through the official horn geometry). Returns the interaction
    vertex (cm, target coordinates) and the weight factor survival × P(interaction in Al)."""
    from mesonportal.sources.horn import drive

    return drive(_horn_interactions_gen(experiment, rng, v0, d, s_exit, lam_be, nucleon, p_in))


def _horn_interactions_gen(experiment, rng, v0, d, s_exit, lam_be, nucleon, p_in):
    """:func:`_horn_interactions` as a generator that yields its neutral tracking as a
    :class:`~mesonportal.sources.horn.HornRequest` (see :func:`mesonportal.sources.horn.drive`)."""
    from mesonportal.sources.horn import HornGeometry, HornRequest

    t, horn = experiment.target, experiment.horn
    n = len(v0)
    surv = np.exp(-s_exit / lam_be)
    pe = v0 + d * s_exit[:, None]
    rec = _ConductorPath()
    yield HornRequest(pe, d * 1e3, np.zeros(n), HornGeometry(horn), 0.0, rec, np.arange(n))
    length = np.zeros(n)
    for idx, _, _, ln in rec.segs:
        np.add.at(length, idx, ln)
    # nucleons: official p-Be production cross section at p_in scaled to Al by the PDG λ_I ratio;
    # pions: the conductor's meson absorption length (as in the transport)
    lam_al_pdg = horn.inner_conductor_absorption_length_cm
    inel, qe = _beam.pbe_cross_sections_mb(np.maximum(p_in, 1.0) * 1e-3)
    n_be = t.density_g_cm3 * N_AVOGADRO / t.mass_number
    r_p = np.clip(inel - qe, 1e-6, None) * 1e-27 * n_be * t.absorption_length_cm  # σ_prod(p)/σ_I(Be)
    lam = np.where(nucleon, lam_al_pdg / r_p, lam_al_pdg)
    p_int = -np.expm1(-length / lam)
    u = rng.random(n)
    s = -lam * np.log1p(-u * p_int)
    vtx = pe.copy()
    cum = np.zeros(n)
    found = np.zeros(n, dtype=bool)
    for idx, p0, p1, ln in rec.segs:
        before = cum[idx]
        hit = (~found[idx]) & (s[idx] >= before) & (s[idx] <= before + ln) & (ln > 0)
        f = np.where(hit, (s[idx] - before) / np.where(ln > 0, ln, 1.0), 0.0)
        vtx[idx[hit]] = p0[hit] + f[hit, None] * (p1[hit] - p0[hit])
        found[idx[hit]] = True
        cum[idx] += ln
    return vtx, np.where(found, surv * p_int, 0.0)


def tertiary_mesons(experiment, pdgid: int, n: int, rng: np.random.Generator,
                    min_momentum_mev: float = 1000.0):
    """Sample ``n`` tertiary ``pdgid`` mesons made in the target.

    Returns (vertex (n,3) cm, direction (n,3), p [MeV], weight, parent PDG code) where the mean of
    the weights over the samples (sum / n) is the tertiary ``pdgid`` yield per POT. With
    ``target.tertiary_in_horn`` the arrays have 2n entries: the n target entries, then the n entries of the
    same parents re-interacting in the horn aluminium (the sum / n stays the yield per POT). Entries with zero weight are kept (callers drop them).
    """
    from mesonportal.sources.horn import drive

    return drive(_tertiary_gen(experiment, pdgid, n, rng, min_momentum_mev))


def _tertiary_gen(experiment, pdgid: int, n: int, rng: np.random.Generator, min_momentum_mev: float = 1000.0):
    """:func:`tertiary_mesons` as a generator yielding its horn tracking (if ``target.tertiary_in_horn``) as a
    :class:`~mesonportal.sources.horn.HornRequest` (see :func:`mesonportal.sources.horn.drive`)."""
    t = experiment.target
    p_beam = _beam.beam_momentum_gev(experiment)
    pv, pd, n_int = _beam.proton_interactions(rng, n, experiment)
    vtx = np.zeros((n, 3))
    d_out = np.tile([0.0, 0.0, 1.0], (n, 1))
    p_out = np.zeros(n)
    w_out = np.zeros(n)
    parent = np.zeros(n, dtype=np.int64)
    if n_int == 0 or n == 0:
        return vtx, d_out, p_out, w_out, parent
    kinds = rng.choice(len(PARENTS), size=n, p=np.array(PARENT_FRACTIONS))
    pick = rng.integers(0, n_int, n)
    v0, dir0 = pv[pick], pd[pick]
    rate = n_int / n  # meson-producing primary interactions per POT
    p_in = np.zeros(n)
    th_in = np.zeros(n)
    w = np.zeros(n)
    for k, name in enumerate(PARENTS):
        sel = np.nonzero(kinds == k)[0]
        if len(sel) == 0:
            continue
        pp, tt, ww = _parents(rng, name, len(sel), experiment, p_beam)
        p_in[sel], th_in[sel], w[sel] = pp, tt, ww / PARENT_FRACTIONS[k]
    parent_codes = np.array([2212, 2112, 211, -211])[kinds]
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    st = np.sin(th_in)
    d_par = rotate_to_axis(np.column_stack([st * np.cos(phi), st * np.sin(phi), np.cos(th_in)]), dir0)
    s_exit = _beam.target_exit_length(v0, d_par, t.length_cm, t.radius_cm)
    nucleon = kinds < 2
    inel, qe = _beam.pbe_cross_sections_mb(np.maximum(p_in, 1.0) * 1e-3)
    n_be = t.density_g_cm3 * N_AVOGADRO / t.mass_number
    lam_n = 1.0 / (n_be * np.clip(inel - qe, 1e-6, None) * 1e-27)
    lam = np.where(nucleon, lam_n, t.absorption_length_cm)
    p_int = -np.expm1(-s_exit / lam)
    u = rng.random(n)
    s = -lam * np.log1p(-u * p_int)
    v1 = v0 + d_par * s[:, None]
    # tertiary meson (p, θ) from the species' proposal rescaled to the parent momentum
    prop = _beam.proposal(pdgid, p_beam)
    pm, tm, q = prop.sample(rng, n)
    pin_gev = p_in * 1e-3
    scale = np.clip(pin_gev / p_beam, 1e-6, None)
    pm = pm * scale
    q = q / scale
    mirror = (kinds == 1) | (kinds == 3)
    f = _meson_cross_section(pdgid, pm, tm, pin_gev, mirror, t.pi_minus_parametrisation)
    inel_in, qe_in = _beam.pbe_cross_sections_mb(np.maximum(pin_gev, 1e-3))
    sig_norm = np.clip(inel_in - qe_in, 1e-6, None)
    w_m = 2.0 * np.pi * np.sin(tm) * f * 1e-3 / q / sig_norm
    if t.tertiary_model == "urqmd_table" and pdgid in _TABLE_SPECIES:
        tab = np.nonzero(p_in < t.tertiary_table_max_momentum_mev)[0]
        if len(tab):
            pm[tab], tm[tab], w_m[tab] = _table_yields(rng, pdgid, parent_codes[tab], p_in[tab], nucleon[tab])
    ok = (p_in >= min_momentum_mev) & (p_int > 0)
    w_tot = np.where(ok, rate * w * p_int * w_m, 0.0)
    phi2 = rng.uniform(0.0, 2.0 * np.pi, n)
    st2 = np.sin(tm)
    d_m = rotate_to_axis(np.column_stack([st2 * np.cos(phi2), st2 * np.sin(phi2), np.cos(tm)]), d_par)
    if not t.tertiary_in_horn:
        return v1, d_m, pm, w_tot, parent_codes
    # the same parent samples, if they leave the Be without interacting, may interact in the horn aluminium: a
    # second entry per sample with the same meson (p, θ) relative to the parent (the random numbers of the target
    # part above are untouched, so switching this on leaves it identical)
    v_al = v1.copy()
    w_al = np.zeros(n)
    h = np.nonzero(p_in >= min_momentum_mev)[0]
    if len(h):
        vh, wh = yield from _horn_interactions_gen(experiment, rng, v0[h], d_par[h], s_exit[h], lam[h], nucleon[h],
                                                   p_in[h])
        x_f = spectra.feynman_x(pm[h], tm[h], _mass(pdgid), pin_gev[h])
        scale_a = (experiment.horn.conductor_mass_number / t.mass_number) ** _beam.a_scaling_alpha(x_f)
        v_al[h] = vh
        w_al[h] = rate * w[h] * wh * w_m[h] * scale_a / _sigma_ratio_al_be(experiment)
    return (np.concatenate([v1, v_al]), np.concatenate([d_m, d_m]), np.concatenate([pm, pm]),
            np.concatenate([w_tot, w_al]), np.concatenate([parent_codes, parent_codes]))


__all__ = ["tertiary_mesons", "PARENTS", "PARENT_FRACTIONS"]
