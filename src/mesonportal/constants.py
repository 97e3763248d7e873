"""Physical constants and PDG particle properties in the package units (MeV, cm, s).

Masses and lifetimes come from the ``particle`` package (PDG) and are converted here from its
MeV/mm/ns convention; nothing else in the package should hand-type a PDG mass.
Electroweak inputs follow physics.md §0 (PDG 2022 conventions).
"""

from __future__ import annotations

import math
from functools import lru_cache

import hepunits as hu
from particle import Particle

# --- fundamental constants (PDG 2022) ---------------------------------------------------------
HBARC_MEV_FM = 197.3269804  # MeV fm
HBARC = HBARC_MEV_FM * 1e-13  # MeV cm
C_LIGHT = 2.99792458e10  # cm / s
HBAR = HBARC / C_LIGHT  # MeV s  (= 6.582e-22)
GEV2_TO_CM2 = HBARC**2 * 1e-6  # 1 GeV^-2 in cm^2  (MeV^-2 -> cm^2 is HBARC**2)
MEV2_TO_CM2 = HBARC**2  # 1 MeV^-2 in cm^2
MB_TO_CM2 = 1e-27  # millibarn in cm^2
ALPHA_EM = 1.0 / 137.035999
E_CHARGE = math.sqrt(4.0 * math.pi * ALPHA_EM)
G_FERMI = 1.1663788e-11  # MeV^-2
F_PI = 130.2  # MeV, normalisation Gamma = G_F^2 f^2 |V|^2 m_l^2 m_M (1 - m_l^2/m_M^2)^2 / (8 pi)
F_K = 155.7  # MeV
V_UD = 0.97373
V_US = 0.2243
N_AVOGADRO = 6.02214076e23  # 1 / mol

# PDG codes used throughout
PDG = {
    "e-": 11, "e+": -11, "nu_e": 12, "nu_e~": -12, "mu-": 13, "mu+": -13, "nu_mu": 14,
    "nu_mu~": -14, "gamma": 22, "pi0": 111, "pi+": 211, "pi-": -211, "K0L": 130, "K+": 321,
    "K-": -321, "eta": 221, "p": 2212, "n": 2112,
}


@lru_cache(maxsize=None)
def mass(pdgid: int) -> float:
    """PDG mass in MeV (particle package)."""
    m = Particle.from_pdgid(int(pdgid)).mass
    if m is None:  # pragma: no cover - all particles used here have masses
        raise ValueError(f"no PDG mass for {pdgid}")
    return float(m) * hu.MeV / hu.MeV


@lru_cache(maxsize=None)
def lifetime(pdgid: int) -> float:
    """PDG mean lifetime in s (particle gives ns); ``inf`` for stable particles."""
    tau = Particle.from_pdgid(int(pdgid)).lifetime
    if tau is None:
        return math.inf
    return float(tau) * hu.ns / hu.s


def ctau(pdgid: int) -> float:
    """c tau in cm."""
    return lifetime(pdgid) * C_LIGHT


M_E = mass(11)
M_MU = mass(13)
M_PI = mass(211)
M_PI0 = mass(111)
M_K = mass(321)
M_K0L = mass(130)
M_ETA = mass(221)
M_P = mass(2212)
M_N = mass(2112)
TAU_PI = lifetime(211)
TAU_K = lifetime(321)
TAU_K0L = lifetime(130)
TAU_MU = lifetime(13)
