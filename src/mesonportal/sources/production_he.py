"""Meson production by high-energy protons on a nuclear target: Pythia 8 and BMPT.

Two independent generators of primary mesons (π±, K±, K0_L, π0, η) per proton–nucleus
interaction, in the package units (MeV, rad, mb):

* **Pythia 8** (``pythia8mc`` wheels, Pythia 8.3; Bierlich et al., arXiv:2203.11601):
  inelastic p-p and p-n collisions (``SoftQCD:inelastic``) at the beam momentum on a nucleon at
  rest, mixed as Z/A p-p + (A−Z)/A p-n.  **Nuclear model: nucleon-nucleon collisions with the
  A-scaling of the invariant cross section** σ_A(x_F, p_T) = σ_NN(x_F, p_T) · A^α(x_F, p_T),
  α = (0.74 − 0.55 x_F + 0.26 x_F²)(0.98 + 0.21 p_T²/GeV²) (Barton et al., PRD 27 (1983) 2580,
  the p_T factor as quoted with the BMPT parametrisation, hep-ph/0101163).  Angantyr (Pythia's
  heavy-ion model) is not used: it is slower and its p-A soft physics at fixed-target energies
  is less tested than the NN tune.  Multiplicity per p-A inelastic interaction
  = σ_A(species)/σ_inel(p-A) with σ_inel(p-A) the target's ``sigma_inel_mb``.
  Pythia decays every particle with cτ < 10 mm (resonances ρ, ω, K*, η′ …, feeding the
  mesons), except π0 and η, which are kept.  K0_S, Λ, Σ are not decayed (their daughters are
  not counted).
* **BMPT** (Bonesini, Marchionni, Pietropaolo, Tabarelli de Fatis, hep-ph/0101163, Eur. Phys.
  J. C 20 (2001) 13): the fitted invariant cross section on Be

      E d³σ/dp³ = A (1 − x_R)^α (1 + B x_R) x_R^−β (1 + a′ p_T + b′ p_T²) exp(−a′ p_T),
      a′ = a / x_R^γ,  b′ = a² / (2 x_R^δ),

  x_R = E*/E*_max in the nucleon–nucleon centre-of-mass frame (E*_max = (s + m² − 4 m_p²)/(2√s),
  i.e. the recoil system has at least two nucleon masses), with π⁺/π⁻ = 1.05 (1 + x_R)^2.65 and
  K⁺/K⁻ = 1.15 (1 − x_R)^−3.17.  Not in BMPT, derived here (stated approximations):
  π0 = (π⁺ + π⁻)/2 (isospin), K0_L = (K⁺ + 3 K⁻)/4 (quark counting, the relation used for
  K0 in beam simulations at these energies).  BMPT has **no η**: asking for it is an error.
  Targets other than Be: × (A/9.012)^α(x_F, p_T) (same α as above).

The two are compared per species (yield per interaction, mean momentum) in
``tests/test_highenergy_production.py`` and docs/highenergy.md.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mesonportal.constants import M_P, mass
from mesonportal.exceptions import ConfigError, ParameterError

__all__ = [
    "HE_SPECIES", "BMPT_SPECIES", "bmpt_invariant", "bmpt_d2sigma_dp_dtheta", "a_alpha", "sqrt_s_mev",
    "check_threshold", "threshold_sqrt_s_mev", "pythia_table", "bmpt_table_sample", "PYTHIA_MIN_EVENTS",
    "pythia_available", "check_pythia_target",
]

HE_SPECIES: tuple[int, ...] = (211, -211, 321, -321, 130, 111, 221)
BMPT_SPECIES: tuple[int, ...] = (211, -211, 321, -321, 130, 111)
A_BE = 9.012182  # BMPT fits are p-Be

#: BMPT p-Be parameters (hep-ph/0101163, fits to NA56/SPY and Atherton et al. at 400-450 GeV):
#: (A [mb/GeV²], B, α, β, a [1/GeV], γ, δ)
BMPT_PION = (62.3, 1.57, 3.45, 0.517, 6.1, 0.153, 0.478)
BMPT_KAON = (7.74, 0.0, 2.45, 0.444, 5.04, 0.121, 2 * 0.121)
PYTHIA_MIN_EVENTS = 100


def sqrt_s_mev(p_beam_mev: float) -> float:
    """√s [MeV] of a proton of momentum ``p_beam_mev`` on a nucleon at rest."""
    e = math.hypot(p_beam_mev, M_P)
    return math.sqrt(2.0 * M_P * M_P + 2.0 * e * M_P)


def threshold_sqrt_s_mev(pdgid: int) -> float:
    """Lowest √s [MeV] at which p N → meson + X is allowed (baryon number and strangeness
    conserved): π: 2 m_p + m_π; η: 2 m_p + m_η; K⁺: m_p + m_Λ + m_K; K⁻, K0_L: 2 m_p + 2 m_K."""
    a = abs(int(pdgid))
    if a in (211, 111, 221):
        return 2 * M_P + mass(a)
    if int(pdgid) == 321:
        return M_P + mass(3122) + mass(321)
    if a in (321, 130):
        return 2 * M_P + 2 * mass(321)
    raise ParameterError(f"species {pdgid} not supported; allowed: {', '.join(map(str, HE_SPECIES))}")


def check_threshold(p_beam_mev: float, species, origin: str = "<config>") -> None:
    """ConfigError naming ``beam.momentum_mev`` if the beam is below a species' threshold."""
    rs = sqrt_s_mev(p_beam_mev)
    for s in species:
        thr = threshold_sqrt_s_mev(int(s))
        if rs <= thr:
            raise ConfigError(
                f"{origin}: key 'beam.momentum_mev' = {p_beam_mev:g} MeV is below the production threshold of "
                f"meson {int(s)} (sqrt(s) = {rs:.0f} MeV <= {thr:.0f} MeV)")


def _cm(p_mev, theta, m, p_beam_mev):
    """(x_R, x_F, p_T [GeV]) of mesons of mass m with lab momentum p, angle θ."""
    p = np.asarray(p_mev, float)
    th = np.asarray(theta, float)
    e = np.sqrt(p * p + m * m)
    eb = math.hypot(p_beam_mev, M_P)
    rs = sqrt_s_mev(p_beam_mev)
    beta = p_beam_mev / (eb + M_P)
    gam = 1.0 / math.sqrt(1.0 - beta * beta)
    pl = p * np.cos(th)
    pt = p * np.sin(th)
    e_star = gam * (e - beta * pl)
    pl_star = gam * (pl - beta * e)
    e_max = (rs * rs + m * m - 4.0 * M_P * M_P) / (2.0 * rs)
    p_max = np.sqrt(np.maximum(e_max * e_max - m * m, 1e-30))
    return e_star / e_max, pl_star / p_max, pt * 1e-3


def a_alpha(x_f, pt_gev):
    """Nuclear exponent α(x_F, p_T) of σ_A ∝ A^α (Barton et al. 1983; p_T factor as quoted in
    hep-ph/0101163).  x_F is clipped to [−1, 1] and p_T to ≤ 3 GeV (the range of the data the
    form was fitted to; beyond it the factor would grow without bound)."""
    x_f = np.clip(np.asarray(x_f, float), -1.0, 1.0)
    pt = np.clip(np.asarray(pt_gev, float), 0.0, 3.0)
    return (0.74 - 0.55 * x_f + 0.26 * x_f * x_f) * (0.98 + 0.21 * pt * pt)


def _bmpt_form(x_r, pt, par):
    a_, b_, al, be, a, ga, de = par
    x = np.clip(x_r, 1e-6, 1.0)
    ap = a / x**ga
    bp = a * a / (2.0 * x**de)
    f = a_ * (1.0 - x) ** al * (1.0 + b_ * x) * x ** (-be) * (1.0 + ap * pt + bp * pt * pt) * np.exp(-ap * pt)
    return np.where((x_r > 0) & (x_r < 1), f, 0.0)


def bmpt_invariant(pdgid: int, p_mev, theta, p_beam_mev: float, mass_number: float = A_BE) -> np.ndarray:
    """E d³σ/dp³ [mb GeV⁻² c³] on a nucleus of mass number ``mass_number`` (BMPT; module doc)."""
    pdgid = int(pdgid)
    if pdgid not in BMPT_SPECIES:
        raise ParameterError(f"BMPT has no parametrisation for meson {pdgid} (allowed: "
                             f"{', '.join(map(str, BMPT_SPECIES))}); use the pythia8 generator")
    a = abs(pdgid)
    m = mass(211) if a in (211, 111) else mass(321)
    x_r, x_f, pt = _cm(p_mev, theta, m, p_beam_mev)
    xr = np.clip(x_r, 0.0, 1.0)
    if a in (211, 111):
        plus = _bmpt_form(x_r, pt, BMPT_PION)
        minus = plus / (1.05 * (1.0 + xr) ** 2.65)
        f = {211: plus, -211: minus, 111: 0.5 * (plus + minus)}[pdgid]
    else:
        plus = _bmpt_form(x_r, pt, BMPT_KAON)
        minus = plus * 1.15**-1 * np.clip(1.0 - xr, 0.0, None) ** 3.17
        f = {321: plus, -321: minus, 130: 0.25 * (plus + 3.0 * minus)}[pdgid]
    if mass_number != A_BE:
        f = f * (mass_number / A_BE) ** a_alpha(x_f, pt)
    return f


def bmpt_d2sigma_dp_dtheta(pdgid: int, p_mev, theta, p_beam_mev: float, mass_number: float = A_BE) -> np.ndarray:
    """d²σ/dp dθ [mb / (MeV rad)] = 2π sinθ (p²/E) E d³σ/dp³ (azimuth integrated)."""
    a = abs(int(pdgid))
    m = mass(211) if a in (211, 111) else mass(321)
    p = np.asarray(p_mev, float) * 1e-3
    e = np.sqrt(p * p + (m * 1e-3) ** 2)
    inv = bmpt_invariant(pdgid, p_mev, theta, p_beam_mev, mass_number)
    return 2.0 * np.pi * np.sin(theta) * p * p / e * inv * 1e-3


def bmpt_table_sample(pdgid: int, n: int, p_beam_mev: float, mass_number: float, rng: np.random.Generator,
                      n_p: int = 240, n_t: int = 160) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Importance-sample ``n`` mesons from BMPT: (p [MeV], θ [rad], w [mb]) with E[Σ w 1_bin]
    = σ in the bin.  Proposal: cell-wise constant on a log-p × θ² grid (p from 50 MeV to the
    beam momentum, θ ≤ π/2), 5% uniform admixture; unbiased (w = f/q)."""
    p_edges = np.geomspace(50.0, p_beam_mev, n_p + 1)
    t_edges = np.linspace(0.0, math.sqrt(0.5 * math.pi), n_t + 1) ** 2
    pc = np.sqrt(p_edges[1:] * p_edges[:-1])
    tc = 0.5 * (t_edges[1:] + t_edges[:-1])
    f = bmpt_d2sigma_dp_dtheta(pdgid, pc[:, None], tc[None, :], p_beam_mev, mass_number)
    area = np.diff(p_edges)[:, None] * np.diff(t_edges)[None, :]
    m_cell = np.clip(f, 0.0, None) * area
    m_cell = 0.95 * m_cell / m_cell.sum() + 0.05 * area / area.sum()
    dens = (m_cell / area).ravel()
    cdf = np.cumsum(m_cell.ravel())
    k = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(dens) - 1)
    ip, it = np.divmod(k, n_t)
    p = p_edges[ip] + rng.random(n) * (p_edges[ip + 1] - p_edges[ip])
    t = t_edges[it] + rng.random(n) * (t_edges[it + 1] - t_edges[it])
    w = bmpt_d2sigma_dp_dtheta(pdgid, p, t, p_beam_mev, mass_number) / (dens[k] / cdf[-1]) / n
    return p, t, w


# ================================================================== Pythia 8
def pythia_available() -> bool:
    """Whether the ``pythia8mc`` module can be imported."""
    try:
        import pythia8mc  # noqa: F401
    except ImportError:
        return False
    return True


def check_pythia_target(atomic_number: float, mass_number: float, beam_particle: str, origin: str = "<config>") -> None:
    """ConfigError naming the key if the NN-scaling model cannot represent the target/beam:
    the beam must be a proton; the target one nucleus with 1 ≤ Z ≤ A ≤ 240."""
    if beam_particle != "proton":
        raise ConfigError(f"{origin}: key 'beam.particle' = {beam_particle!r}: the pythia8 source models proton beams only")
    if not (1 <= atomic_number <= mass_number <= 240):
        raise ConfigError(f"{origin}: key 'target.mass_number' = {mass_number:g} (Z = {atomic_number:g}): the pythia8 "
                          "source needs one nucleus with 1 <= Z <= A <= 240 (NN collisions scaled by A^alpha)")


def _run_pythia(id_target: int, p_beam_mev: float, n_events: int, seed: int):
    """(pdg, p [MeV], θ [rad], σ_gen [mb]) of the mesons of ``n_events`` inelastic collisions of a
    proton on nucleon ``id_target`` at rest."""
    import pythia8mc

    py = pythia8mc.Pythia("", False)
    e_beam = math.hypot(p_beam_mev, M_P) * 1e-3
    m_t = mass(id_target) * 1e-3
    for s in ("Beams:frameType = 2", "Beams:idA = 2212", f"Beams:idB = {id_target}", f"Beams:eA = {e_beam!r}",
              f"Beams:eB = {m_t!r}", "SoftQCD:inelastic = on", "Print:quiet = on", "Random:setSeed = on",
              f"Random:seed = {int(seed) % 900_000_000 + 1}", "ParticleDecays:limitTau0 = on",
              "ParticleDecays:tau0Max = 10.", "111:mayDecay = off", "221:mayDecay = off", "Next:numberCount = 0"):
        if not py.readString(s):
            raise ParameterError(f"Pythia 8 rejected the setting {s!r}")
    if not py.init():
        raise ConfigError(f"Pythia 8 could not initialise p + {id_target} at p = {p_beam_mev:g} MeV "
                          "(key 'beam.momentum_mev')")
    want = set(HE_SPECIES)
    pdg, px, py_, pz = [], [], [], []
    done = 0
    while done < n_events:
        if not py.next():
            continue
        done += 1
        ev = py.event
        for j in range(ev.size()):
            pa = ev[j]
            if pa.isFinal():
                i = pa.id()
                if i in want:
                    pdg.append(i)
                    px.append(pa.px())
                    py_.append(pa.py())
                    pz.append(pa.pz())
    sigma = float(py.infoPython().sigmaGen())
    pdg = np.array(pdg, np.int64)
    p3 = np.column_stack([px, py_, pz]) * 1e3 if pdg.size else np.zeros((0, 3))
    p = np.linalg.norm(p3, axis=1)
    theta = np.arccos(np.clip(p3[:, 2] / np.maximum(p, 1e-300), -1, 1)) if pdg.size else np.zeros(0)
    return pdg, p, theta, sigma


def pythia_table(p_beam_mev: float, atomic_number: float, mass_number: float, n_events: int, seed: int,
                 directory: str | Path | None = None) -> dict[str, np.ndarray]:
    """Mesons of ``n_events`` Pythia 8 nucleon collisions (Z/A p-p, rest p-n), cached on disk.

    Returns arrays ``pdg``, ``p`` [MeV], ``theta`` [rad], ``sigma_mb``: each meson's share of
    the p-A inclusive cross section (σ_NN,gen / n_events × A^α(x_F, p_T)), so that the sum over
    a species is σ_A(species) [mb]; plus ``sigma_pp_mb``, ``sigma_pn_mb`` and ``n_events``.
    The table depends only on the beam momentum, Z, A, the event count and the seed; it is
    stored once per beam in the cache directory (:mod:`mesonportal.cache`)."""
    from mesonportal import cache

    if isinstance(n_events, bool) or not isinstance(n_events, (int, np.integer)) or n_events < PYTHIA_MIN_EVENTS:
        raise ParameterError(f"pythia_events = {n_events!r} must be an integer >= {PYTHIA_MIN_EVENTS}")
    if not pythia_available():
        raise ConfigError("key 'source.generator' = 'pythia8' needs the pythia8mc package "
                          "(pip install 'mesonportal[pythia]'); use generator = 'bmpt' otherwise")
    import pythia8mc

    version = getattr(pythia8mc, "__version__", "8.3")
    key = cache.cache_key("pythia8-table", p_beam_mev=float(p_beam_mev), Z=float(atomic_number),
                          A=float(mass_number), n_events=int(n_events), seed=int(seed), pythia=str(version))
    path = cache.cache_dir(directory) / f"pythia8-{p_beam_mev / 1e3:.0f}GeV-A{mass_number:.0f}-{key}.npz"
    if cache.cache_enabled() and path.is_file():
        try:
            with np.load(path) as z:
                return {k: z[k] for k in z.files}
        except Exception:  # noqa: BLE001  corrupt entry: regenerate
            path.unlink(missing_ok=True)
    n_p = int(round(n_events * atomic_number / mass_number))
    n_n = int(n_events) - n_p
    parts = []
    sig = {}
    for idt, n in ((2212, n_p), (2112, n_n)):
        if n <= 0:
            sig[idt] = 0.0
            continue
        pdg, p, th, s = _run_pythia(idt, p_beam_mev, n, seed + idt)
        sig[idt] = s
        # each event stands for sigma_gen/n of the NN cross section; the Z/A, N/A mix is in n
        parts.append((pdg, p, th, np.full(len(pdg), s / n_events)))
    pdg = np.concatenate([q[0] for q in parts])
    p = np.concatenate([q[1] for q in parts])
    th = np.concatenate([q[2] for q in parts])
    w = np.concatenate([q[3] for q in parts])
    m = np.array([mass(abs(int(i))) if i != 130 else mass(130) for i in pdg]) if len(pdg) else np.zeros(0)
    _, x_f, pt = _cm(p, th, m, p_beam_mev)
    w = w * mass_number ** a_alpha(x_f, pt)
    out = {"pdg": pdg, "p": p, "theta": th, "sigma_mb": w, "sigma_pp_mb": np.array(sig[2212]),
           "sigma_pn_mb": np.array(sig[2112]), "n_events": np.array(int(n_events))}
    if cache.cache_enabled():
        cache.save_arrays(path, out)
    return out
