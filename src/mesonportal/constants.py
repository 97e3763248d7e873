"""Physical constants and PDG particle properties in the package units (MeV, cm, s).

Masses and lifetimes come from the ``particle`` package (PDG) and are converted here from its
MeV/mm/ns convention; nothing else in the package should hand-type a PDG mass.
Electroweak inputs follow physics.md §0 (PDG 2022 conventions).
"""

from __future__ import annotations

import json
import math
import os
from functools import lru_cache

import hepunits as hu

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


# --- PDG properties from the ``particle`` package -------------------------------------------
# Importing ``particle`` and loading its PDG table costs ~0.3–0.7 s per process; the values it
# returns (mass [MeV], lifetime [ns], None when absent) are kept in a small JSON in the cache
# directory, keyed by the installed ``particle`` version (a new version re-reads the table).
_PDG_PROPS: dict[int, tuple[float | None, float | None]] | None = None


def _dist_version(name: str) -> str:
    """Installed version of the distribution ``name`` (a top-level package of the same name), as
    :func:`importlib.metadata.version` gives it: the ``Version:`` field of the one
    ``<name>-*.dist-info/METADATA`` beside the package, read directly (importing
    ``importlib.metadata`` costs ≈ 0.02 s of a fresh process); any other layout (eggs, several
    dist-infos) asks ``importlib.metadata``."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec(name)
    if spec is not None and spec.origin:
        found = list(Path(spec.origin).parent.parent.glob(f"{name}-*.dist-info"))
        if len(found) == 1:
            try:
                with open(found[0] / "METADATA", encoding="utf-8") as f:
                    for line in f:
                        if line.startswith("Version:"):
                            return line[len("Version:"):].strip()
                        if not line.strip():  # end of the header
                            break
            except OSError:
                pass
    from importlib.metadata import version

    return version(name)


def _props_path():
    try:
        from mesonportal.cache import cache_dir, cache_enabled

        if not cache_enabled():
            return None
        return cache_dir() / "tables" / f"pdg-particle-{_dist_version('particle')}.json"
    except Exception:  # noqa: BLE001 - no cache location: read the table every time
        return None


def _pdg_props(pdgid: int) -> tuple[float | None, float | None]:
    """(mass [MeV], lifetime [ns]) of ``pdgid`` as given by ``particle`` (None where absent)."""
    global _PDG_PROPS
    path = None
    if _PDG_PROPS is None:
        _PDG_PROPS = {}
        path = _props_path()
        if path is not None and path.is_file():
            try:
                _PDG_PROPS = {int(k): (v[0], v[1]) for k, v in json.loads(path.read_text()).items()}
            except Exception:  # noqa: BLE001 - corrupt entry: rebuilt below
                _PDG_PROPS = {}
    if pdgid not in _PDG_PROPS:
        from particle import Particle

        want = set(PDG.values()) | {int(pdgid)}
        for code in want - set(_PDG_PROPS):
            p = Particle.from_pdgid(code)
            _PDG_PROPS[code] = (None if p.mass is None else float(p.mass),
                                None if p.lifetime is None else float(p.lifetime))
        path = path or _props_path()
        if path is not None:
            import tempfile

            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "w") as fh:
                    json.dump({str(k): list(v) for k, v in _PDG_PROPS.items()}, fh)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    return _PDG_PROPS[pdgid]


@lru_cache(maxsize=None)
def mass(pdgid: int) -> float:
    """PDG mass in MeV (particle package)."""
    m = _pdg_props(int(pdgid))[0]
    if m is None:  # pragma: no cover - all particles used here have masses
        raise ValueError(f"no PDG mass for {pdgid}")
    return float(m) * hu.MeV / hu.MeV


@lru_cache(maxsize=None)
def lifetime(pdgid: int) -> float:
    """PDG mean lifetime in s (particle gives ns); ``inf`` for stable particles."""
    tau = _pdg_props(int(pdgid))[1]
    if tau is None:
        return math.inf
    return float(tau) * hu.ns / hu.s


def ctau(pdgid: int) -> float:
    """c tau in cm."""
    return lifetime(pdgid) * C_LIGHT


@lru_cache(maxsize=None)
def name(pdgid: int) -> str:
    """PDG name of ``pdgid`` as the ``particle`` package gives it (e.g. ``"O16"`` for the ¹⁶O
    nucleus 1000080160), kept in a JSON beside the masses (``pdg-names-<particle version>.json``)
    so that a fresh process does not import ``particle`` for it."""
    path = _props_path()
    names_path = None if path is None else path.with_name(path.name.replace("pdg-particle-", "pdg-names-"))
    names: dict[str, str] = {}
    if names_path is not None and names_path.is_file():
        try:
            names = {str(k): str(v) for k, v in json.loads(names_path.read_text()).items()}
        except Exception:  # noqa: BLE001 - corrupt entry: rebuilt below
            names = {}
    key = str(int(pdgid))
    if key not in names:
        from particle import Particle

        names[key] = str(Particle.from_pdgid(int(pdgid)).name)
        if names_path is not None:
            import tempfile

            names_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=names_path.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "w") as fh:
                    json.dump(names, fh)
                os.replace(tmp, names_path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    return names[key]


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
