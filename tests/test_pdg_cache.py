"""PDG properties cached from the ``particle`` package (mesonportal.constants): the cached
values equal the package's exactly (reference: particle's PDG table, MeV and ns), survive a
JSON round trip bit for bit, and a corrupt cache entry is rebuilt."""

from __future__ import annotations

import math

import hepunits as hu
import pytest

from mesonportal import constants as C


@pytest.fixture()
def fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(C, "_PDG_PROPS", None)
    C.mass.cache_clear()
    C.lifetime.cache_clear()
    yield tmp_path
    C.mass.cache_clear()
    C.lifetime.cache_clear()


def test_cached_values_equal_particle(fresh):
    from particle import Particle

    for code in (211, -211, 321, 130, 111, 221, 13, 11, 2212, 22):
        p = Particle.from_pdgid(code)
        assert C.mass(code) == float(p.mass)
        assert C.lifetime(code) == (math.inf if p.lifetime is None else float(p.lifetime) * hu.ns / hu.s)
    path = next((fresh / "tables").glob("pdg-particle-*.json"))
    # a new process state reads the file (no particle lookup needed) and gets identical values
    C._PDG_PROPS = None
    C.mass.cache_clear()
    assert C.mass(211) == float(Particle.from_pdgid(211).mass)
    path.write_text("{not json")
    C._PDG_PROPS = None
    C.mass.cache_clear()
    assert C.mass(321) == float(Particle.from_pdgid(321).mass)


def test_cached_names_equal_particle_and_need_no_import(fresh, monkeypatch):
    """Nucleus names (the dirt targets' labels, e.g. O16, Si28) equal particle's; once cached, a
    new process state reads them without importing ``particle`` (fresh-process start-up)."""
    import sys

    from particle import Particle

    C.name.cache_clear()
    codes = (1000080160, 1000140280, 1000060120)
    assert [C.name(c) for c in codes] == [Particle.from_pdgid(c).name for c in codes] == ["O16", "Si28", "C12"]
    assert next((fresh / "tables").glob("pdg-names-*.json")).is_file()
    C.name.cache_clear()
    monkeypatch.setitem(sys.modules, "particle", None)  # any import of particle now fails
    assert C.name(1000140280) == "Si28"
    C.name.cache_clear()
