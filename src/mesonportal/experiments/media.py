"""Media (materials) and the scattering centres they offer to dark particles.

A :class:`Medium` is a list of elements with mass fractions and a density (from the bundled
``materials.toml``, sources stated there).  :func:`scattering_centres` turns it into the list of
interaction targets every detection chain loops over:

* hydrogen → free protons (spin ½, dipole form factors);
* every other element → its nucleus scattered coherently (Helm form factor, Z and the mass
  number of its main isotope), and — if ``bound_nucleons`` is set — its Z bound protons as
  incoherent proton targets (free-proton cross section per proton; Pauli blocking and Fermi
  motion neglected, an approximation stated in docs/experiments.md).

Units: g/cm³, atoms per cm³.  Nothing here knows about dark-sector models.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from mesonportal.constants import N_AVOGADRO
from mesonportal.exceptions import ConfigError

__all__ = ["Element", "Medium", "ScatteringCentre", "elements", "materials", "get_medium", "scattering_centres"]


@dataclass(frozen=True)
class Element:
    """A chemical element: symbol, Z, standard atomic weight A_r [g/mol], main isotope's A."""

    symbol: str
    Z: int
    A_r: float
    isotope: int


@dataclass(frozen=True)
class Medium:
    """A material: name, (element, mass fraction) pairs and density [g/cm³]."""

    name: str
    elements: tuple[tuple[Element, float], ...]
    density_g_cm3: float
    description: str = ""

    def number_densities_cm3(self) -> dict[str, float]:
        """Atoms of each element per cm³: n_i = ρ N_A w_i / A_r,i."""
        return {el.symbol: self.density_g_cm3 * N_AVOGADRO * w / el.A_r for el, w in self.elements}

    def with_density(self, density_g_cm3: float) -> "Medium":
        return Medium(self.name, self.elements, float(density_g_cm3), self.description)


@dataclass(frozen=True)
class ScatteringCentre:
    """One interaction target of a medium: ``target`` name in
    :data:`mesonportal.detection.targets.TARGETS` form (``"C12"``, ``"Ar40"``, ``"p"``), its
    ``Z``/``A``, ``kind`` (``"coherent"``, ``"free-proton"``, ``"bound-proton"``) and the number
    density of such centres [1/cm³]."""

    name: str
    Z: int
    A: int
    kind: str
    density_cm3: float

    @property
    def is_proton(self) -> bool:
        return self.kind != "coherent"


@lru_cache(maxsize=1)
def _table() -> dict:
    text = (resources.files("mesonportal.data") / "materials.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@lru_cache(maxsize=1)
def elements() -> dict[str, Element]:
    """The bundled element table (``materials.toml``)."""
    return {s: Element(s, int(v["Z"]), float(v["A_r"]), int(v["isotope"])) for s, v in _table()["elements"].items()}


@lru_cache(maxsize=None)
def materials() -> dict[str, Medium]:
    """The bundled materials (``materials.toml``), element mass fractions normalised to 1."""
    els = elements()
    out = {}
    for name, v in _table()["materials"].items():
        if "composition" in v:
            mass = {s: k * els[s].A_r for s, k in v["composition"].items()}
        else:
            mass = dict(v["mass_fractions"])
        tot = sum(mass.values())
        out[name] = Medium(name, tuple((els[s], m / tot) for s, m in mass.items()), float(v["density_g_cm3"]),
                           v.get("description", ""))
    return out


def get_medium(name: str, origin: str = "<config>", key: str = "medium") -> Medium:
    """The bundled material ``name``; ConfigError naming ``origin`` and ``key`` otherwise."""
    mats = materials()
    if name not in mats:
        raise ConfigError(f"{origin}: key '{key}' = {name!r} is not a known material; allowed: {', '.join(mats)}")
    return mats[name]


def scattering_centres(medium: Medium, bound_nucleons: bool = False) -> list[ScatteringCentre]:
    """Interaction targets of ``medium`` with their number densities (see the module docstring)."""
    out = []
    for sym, n in medium.number_densities_cm3().items():
        el = elements()[sym]
        if el.Z == 1:
            out.append(ScatteringCentre("p", 1, 1, "free-proton", n))
            continue
        out.append(ScatteringCentre(f"{sym}{el.isotope}", el.Z, el.isotope, "coherent", n))
        if bound_nucleons:
            out.append(ScatteringCentre("p", 1, 1, "bound-proton", n * el.Z))
    return out
