"""Weighted events in the HepMC3 ASCII format (pyhepmc), for detector-simulation users.

Format and conventions
----------------------
* HepMC3 ASCII (``HepMC::Asciiv3``), written and read with ``pyhepmc``; file suffix
  ``.hepmc3`` (or ``.hepmc``).
* Units are declared in every event as ``U MEV CM``: momenta and energies in **MeV**, vertex
  positions in **cm** in **detector coordinates** (the caller states the origin; for the package's
  prediction columns see :func:`records_from_signal_columns`).  The vertex time component is c·t
  in cm; the package does not track times, so it is written as 0.
* One event weight named ``events``: the expected number of such events for the configured
  exposure (weight per POT × POT).  The run info carries the tool name/version and the attributes
  ``model``, ``experiment``, ``seed``, ``version``, ``exposure_pot`` plus ``mesonportal`` (all run
  metadata as one JSON object).
* Particle status codes (HepMC3 convention): 1 final state, 2 decayed/intermediate, 4 incoming
  beam-like particle (the dark particle arriving at the detector, the target at rest).

Records
-------
An :class:`EventRecord` is a list of particles (PDG id, four-momentum [MeV], status) and a list of
vertices (position [cm], indices of incoming and outgoing particles), so a particle can leave one
vertex and enter another (e.g. χ′ made by up-scattering decaying later to χ e⁺e⁻).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from mesonportal import __version__
from mesonportal.exceptions import DataError, ParameterError

__all__ = [
    "ParticleRecord", "VertexRecord", "EventRecord", "write_hepmc3", "read_hepmc3", "final_state_records",
    "records_from_signal_columns", "write_sample_hepmc3", "DARK_PDG", "WEIGHT_NAME", "SUFFIXES",
]

WEIGHT_NAME = "events"
SUFFIXES = (".hepmc3", ".hepmc")
#: PDG-style codes for the dark particles (outside the ranges the PDG assigns to known particles;
#: overridable in :func:`records_from_signal_columns`).
DARK_PDG: dict[str, int] = {"x": 9000006, "chi": 9000011, "chi_prime": 9000012}


@dataclass(frozen=True)
class ParticleRecord:
    """A particle: PDG id, four-momentum (E, px, py, pz) [MeV], HepMC3 status."""

    pdg: int
    p4: tuple[float, float, float, float]
    status: int = 1


@dataclass(frozen=True)
class VertexRecord:
    """A vertex at ``position`` (x, y, z) [cm, detector coordinates] with particle indices."""

    position: tuple[float, float, float]
    incoming: tuple[int, ...]
    outgoing: tuple[int, ...]


@dataclass(frozen=True)
class EventRecord:
    """One weighted event (``weight`` = expected events for the exposure)."""

    particles: tuple[ParticleRecord, ...]
    vertices: tuple[VertexRecord, ...]
    weight: float
    attributes: Mapping[str, str] = field(default_factory=dict)

    def final_state(self) -> list[ParticleRecord]:
        """Particles with status 1."""
        return [p for p in self.particles if p.status == 1]


def _check_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ParameterError(f"HepMC3 file {str(path)!r} must end in {' or '.join(SUFFIXES)}")
    return path


def _run_info(hp, meta: Mapping[str, Any]):
    ri = hp.GenRunInfo()
    ri.tools = [hp.GenRunInfo.ToolInfo("mesonportal", str(meta.get("version", __version__)),
                                        "light dark-sector particles from meson decays")]
    ri.weight_names = [WEIGHT_NAME]
    full = {"version": __version__, **{k: _jsonable(v) for k, v in meta.items()}}
    for key in ("model", "experiment", "seed", "version", "exposure_pot", "mode"):
        if key in full:
            v = full[key]
            ri.attributes[key] = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    ri.attributes["mesonportal"] = json.dumps(full, sort_keys=True)
    ri.attributes["units"] = "momentum MeV, length cm (detector coordinates); weight = events for exposure_pot"
    return ri


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        x = float(x)
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def write_hepmc3(path: str | Path, events: Iterable[EventRecord], run_metadata: Mapping[str, Any]) -> int:
    """Write ``events`` to a HepMC3 ASCII file; returns the number written.

    ``run_metadata`` should name at least ``model``, ``experiment``, ``seed`` and
    ``exposure_pot`` (all stored in the run info; ``version`` is added).  Raises
    :class:`~mesonportal.exceptions.ParameterError` for a bad suffix, a non-finite or negative
    weight or a particle index out of range.
    """
    import pyhepmc as hp

    path = _check_path(path)
    missing = [k for k in ("model", "experiment", "seed", "exposure_pot") if k not in run_metadata]
    if missing:
        raise ParameterError(f"run_metadata lacks {', '.join(missing)} (needed in the HepMC3 run info)")
    ri = _run_info(hp, run_metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with hp.open(str(path), "w") as f:
        for i, rec in enumerate(events):
            if not math.isfinite(rec.weight) or rec.weight < 0:
                raise ParameterError(f"event {i}: weight {rec.weight!r} must be finite and >= 0 [events]")
            ev = hp.GenEvent(hp.Units.MEV, hp.Units.CM)
            ev.run_info = ri
            ev.event_number = i
            parts = []
            for p in rec.particles:
                e, px, py, pz = (float(v) for v in p.p4)
                parts.append(hp.GenParticle((px, py, pz, e), int(p.pdg), int(p.status)))
            for v in rec.vertices:
                gv = hp.GenVertex((float(v.position[0]), float(v.position[1]), float(v.position[2]), 0.0))
                for j in v.incoming:
                    if not 0 <= j < len(parts):
                        raise ParameterError(f"event {i}: vertex particle index {j} out of range")
                    gv.add_particle_in(parts[j])
                for j in v.outgoing:
                    if not 0 <= j < len(parts):
                        raise ParameterError(f"event {i}: vertex particle index {j} out of range")
                    gv.add_particle_out(parts[j])
                ev.add_vertex(gv)
            for key, val in dict(rec.attributes).items():
                ev.attributes[str(key)] = str(val)
            ev.weights = [float(rec.weight)]
            f.write(ev)
            n += 1
    return n


def read_hepmc3(path: str | Path) -> tuple[list[EventRecord], dict[str, Any]]:
    """Read a file written by :func:`write_hepmc3`: (events, run metadata).

    Momenta are returned in MeV and positions in cm whatever units the file declares.
    """
    import pyhepmc as hp

    path = Path(path)
    if not path.is_file():
        raise DataError(f"HepMC3 file {str(path)!r} does not exist")
    out: list[EventRecord] = []
    meta: dict[str, Any] = {}
    try:
        with hp.open(str(path)) as f:
            for ev in f:
                # convert to MeV / cm
                ev.set_units(hp.Units.MEV, hp.Units.CM)
                if not meta and ev.run_info is not None:
                    attrs = ev.run_info.attributes
                    if "mesonportal" in attrs:
                        meta = json.loads(attrs["mesonportal"].astype(str))
                    meta["weight_names"] = list(ev.run_info.weight_names)
                index = {}
                particles = []
                for k, p in enumerate(ev.particles):
                    m = p.momentum
                    particles.append(ParticleRecord(int(p.pid), (float(m.e), float(m.px), float(m.py), float(m.pz)), int(p.status)))
                    index[p.id] = k
                vertices = []
                for v in ev.vertices:
                    pos = v.position
                    vertices.append(VertexRecord((float(pos.x), float(pos.y), float(pos.z)),
                                                 tuple(index[p.id] for p in v.particles_in),
                                                 tuple(index[p.id] for p in v.particles_out)))
                attrs = {k: ev.attributes[k] for k in ev.attributes}
                w = list(ev.weights)
                out.append(EventRecord(tuple(particles), tuple(vertices), float(w[0]) if w else 1.0,
                                       {k: (v.astype(str) if hasattr(v, "astype") else str(v)) for k, v in attrs.items()}))
    except (RuntimeError, OSError, ValueError) as exc:  # pragma: no cover - pyhepmc parse errors
        raise DataError(f"cannot read HepMC3 file {str(path)!r}: {exc}") from None
    return out, meta


# ====================================================================== builders


def final_state_records(
    vertex: NDArray[np.float64],
    pdg: NDArray[np.integer],
    p4: NDArray[np.float64],
    weight: NDArray[np.float64],
    incoming_pdg: NDArray[np.integer] | None = None,
    incoming_p4: NDArray[np.float64] | None = None,
) -> Iterator[EventRecord]:
    """One-vertex events from arrays: ``vertex`` (N, 3) [cm], final-state ``pdg`` (N, K) (0 = absent
    slot), ``p4`` (N, K, 4) [MeV], ``weight`` (N,) [events]; optional incoming particle per event
    (``incoming_pdg`` (N,), ``incoming_p4`` (N, 4), status 4)."""
    vertex = np.asarray(vertex, float)
    pdg = np.asarray(pdg)
    p4 = np.asarray(p4, float)
    weight = np.asarray(weight, float)
    n = len(vertex)
    if vertex.shape != (n, 3) or pdg.ndim != 2 or pdg.shape[0] != n or p4.shape != pdg.shape + (4,) or weight.shape != (n,):
        raise ParameterError("final_state_records: need vertex (N,3), pdg (N,K), p4 (N,K,4), weight (N,)")
    for i in range(n):
        parts: list[ParticleRecord] = []
        inc: tuple[int, ...] = ()
        if incoming_pdg is not None and incoming_p4 is not None and int(incoming_pdg[i]) != 0:
            parts.append(ParticleRecord(int(incoming_pdg[i]), tuple(map(float, incoming_p4[i])), 4))
            inc = (0,)
        for k in range(pdg.shape[1]):
            if int(pdg[i, k]) != 0:
                parts.append(ParticleRecord(int(pdg[i, k]), tuple(map(float, p4[i, k])), 1))
        out = tuple(range(len(inc), len(parts)))
        yield EventRecord(tuple(parts), (VertexRecord(tuple(map(float, vertex[i])), inc, out),), float(weight[i]))


def _target_pdg_and_mass(code: int) -> tuple[int, float]:
    """Target of the ``target`` column (Z of the scattering centre) → (PDG id, mass [MeV])."""
    from particle import Particle

    pdg = {1: 2212, 6: 1000060120, 18: 1000180400}.get(int(code))
    if pdg is None:
        # any other nucleus of the media table (e.g. O, Si of the dirt): its main isotope
        from mesonportal.experiments.media import elements

        iso = {el.Z: el.isotope for el in elements().values()}
        if int(code) not in iso:
            raise ParameterError(f"target code {code} unknown (known: 1 = p and the Z of the media table's elements)")
        pdg = 1000000000 + 10000 * int(code) + 10 * iso[int(code)]
    try:
        m = Particle.from_pdgid(pdg).mass
    except Exception:  # noqa: BLE001 - particle raises its own not-found errors
        m = None
    if m is None:  # nuclear masses: A u - Z m_e + binding is not tabulated by `particle`
        raise DataError(f"no PDG mass for target {pdg}")
    return pdg, float(m)


def records_from_signal_columns(
    columns: Mapping[str, NDArray[Any]],
    exposure_pot: float,
    *,
    detector_origin_cm: Sequence[float] = (0.0, 0.0, 0.0),
    weight_column: str = "weight_before_efficiency",
    dark_pdg: Mapping[str, int] | None = None,
) -> Iterator[EventRecord]:
    """HepMC3 records from the package's predicted event columns (``predict --events``).

    Builds, per ``process`` code (:data:`mesonportal.detection.signal.PROCESS_CODES`):

    * 0 Primakoff X A → γ A: vertex ``int_*``; in: X (``dark_*``), target at rest; out: γ (``p1_*``)
      and the recoil A = X + A − γ (exact for a target at rest).
    * 1/2 decays X → γγ / e⁺e⁻: vertex ``int_*``; in: X (status 2); out: ``p1_*``, ``p2_*``.
    * 3 up-scattering χ A → χ′ A, χ′ → χ e⁺e⁻: vertex ``int_*`` (χ, A → χ′, recoil) and vertex
      ``decay_*`` (χ′ → e⁻ ``p1_*``, e⁺ ``p2_*``, χ = χ′ − e⁻ − e⁺).

    Positions are converted to detector coordinates by subtracting ``detector_origin_cm`` (the
    detector-coordinate origin in the package's beam coordinates, cm).  The weight is
    ``columns[weight_column]`` [events/POT] × ``exposure_pot``; the default,
    ``weight_before_efficiency``, leaves the detector efficiency to the detector simulation.
    Event attributes: ``process`` code, and when the columns have them ``region`` (detector /
    dirt), ``topology`` (the package's LAr-TPC reconstruction) and ``weight_selected`` (events
    after the package's selection efficiency).

    What the columns cannot give (stated, not guessed): events the detector's response rejected
    inside the chain (MiniBooNE: single-shower criterion, 50 MeV efficiency threshold; LAr TPC:
    dark particles below the shower threshold) were never stored; the interaction times; the
    nuclear target is the main isotope of the element of Z = ``target``; the masses of the dark
    particles are taken from the four-vectors.
    """
    if not (isinstance(exposure_pot, (int, float)) and math.isfinite(exposure_pot) and exposure_pot > 0):
        raise ParameterError(f"exposure_pot = {exposure_pot!r} must be a finite number > 0 [POT]")
    codes = dict(DARK_PDG, **(dict(dark_pdg) if dark_pdg else {}))
    need = ["process", "dark_e", "dark_px", "dark_py", "dark_pz", "int_x", "int_y", "int_z", "p1_e", "p1_px",
            "p1_py", "p1_pz", weight_column]
    missing = [k for k in need if k not in columns]
    if missing:
        raise ParameterError(f"event columns lack {', '.join(missing)}")
    origin = np.asarray(detector_origin_cm, float).reshape(3)

    def p4(prefix: str, i: int) -> tuple[float, float, float, float]:
        return tuple(float(columns[f"{prefix}_{c}"][i]) for c in ("e", "px", "py", "pz"))  # type: ignore[return-value]

    def pos(prefix: str, i: int) -> tuple[float, float, float]:
        return tuple(float(columns[f"{prefix}_{c}"][i]) - origin[j] for j, c in enumerate("xyz"))  # type: ignore[return-value]

    proc = np.asarray(columns["process"]).astype(int)
    tgt = np.asarray(columns["target"]).astype(int) if "target" in columns else np.zeros(len(proc), int)
    w = np.asarray(columns[weight_column], float) * float(exposure_pot)
    # optional per-event attributes: region of the interaction, the package's own reconstructed
    # topology (LAr TPC) and its selected weight (events for the exposure after the efficiency)
    region = np.asarray(columns["region"]).astype(int) if "region" in columns else None
    topo = np.asarray(columns["topology"]).astype(int) if "topology" in columns else None
    w_sel = (np.asarray(columns["weight"], float) * float(exposure_pot)
             if "weight" in columns and weight_column != "weight" else None)
    if topo is not None:
        from mesonportal.responses.lartpc import LABELS
    for i in range(len(proc)):
        pr = int(proc[i])
        attrs = {"process": str(pr)}
        if region is not None:
            attrs["region"] = ("detector", "dirt")[int(region[i])] if region[i] in (0, 1) else str(int(region[i]))
        if topo is not None:
            attrs["topology"] = LABELS[int(topo[i])]
        if w_sel is not None:
            attrs["weight_selected"] = repr(float(w_sel[i]))
        if pr == 0:
            tpdg, m_t = _target_pdg_and_mass(tgt[i])
            x, g = np.array(p4("dark", i)), np.array(p4("p1", i))
            rec = np.array([m_t, 0.0, 0.0, 0.0]) + x - g
            parts = (ParticleRecord(codes["x"], tuple(x), 4), ParticleRecord(tpdg, (m_t, 0.0, 0.0, 0.0), 4),
                     ParticleRecord(22, tuple(g), 1), ParticleRecord(tpdg, tuple(rec), 1))
            verts = (VertexRecord(pos("int", i), (0, 1), (2, 3)),)
        elif pr in (1, 2):
            d = 22 if pr == 1 else 11
            parts = (ParticleRecord(codes["x"], p4("dark", i), 2), ParticleRecord(d, p4("p1", i), 1),
                     ParticleRecord(22 if pr == 1 else -11, p4("p2", i), 1))
            verts = (VertexRecord(pos("int", i), (0,), (1, 2)),)
        elif pr == 3:
            tpdg, m_t = _target_pdg_and_mass(tgt[i])
            chi, chip = np.array(p4("dark", i)), np.array(p4("chip", i))
            em, ep = np.array(p4("p1", i)), np.array(p4("p2", i))
            rec = np.array([m_t, 0.0, 0.0, 0.0]) + chi - chip
            parts = (ParticleRecord(codes["chi"], tuple(chi), 4), ParticleRecord(tpdg, (m_t, 0.0, 0.0, 0.0), 4),
                     ParticleRecord(codes["chi_prime"], tuple(chip), 2), ParticleRecord(tpdg, tuple(rec), 1),
                     ParticleRecord(11, tuple(em), 1), ParticleRecord(-11, tuple(ep), 1),
                     ParticleRecord(codes["chi"], tuple(chip - em - ep), 1))
            verts = (VertexRecord(pos("int", i), (0, 1), (2, 3)), VertexRecord(pos("decay", i), (2,), (4, 5, 6)))
        else:
            raise ParameterError(f"event {i}: unknown process code {pr}")
        yield EventRecord(tuple(ParticleRecord(p.pdg, tuple(map(float, p.p4)), p.status) for p in parts), verts,
                          float(w[i]), attrs)


def write_sample_hepmc3(sample: Any, path: str | Path, *, detector_origin_cm: Sequence[float],
                        weight_column: str = "weight_before_efficiency") -> int:
    """Write a prediction (:class:`~mesonportal.analysis.prediction.SignalSample`) to HepMC3.

    Weights are ``sample.columns[weight_column]`` × ``sample.pot`` (events for the mode's
    exposure); the run info names ``sample.model``, ``sample.experiment``, the mode, the seed
    and the package version.  ``detector_origin_cm`` is the origin of detector coordinates in
    the package's beam coordinates [cm] (e.g. the MiniBooNE sphere centre).  Returns the number
    of events written.
    """
    path = _check_path(path)
    meta = {
        "model": getattr(sample, "model", None), "experiment": getattr(sample, "experiment", None),
        "mode": getattr(sample, "mode", None), "seed": dict(getattr(sample, "info", {}) or {}).get("seed"),
        "samples": dict(getattr(sample, "info", {}) or {}).get("samples"), "exposure_pot": float(sample.pot),
        "coupling_product_ref": getattr(sample, "coupling_product_ref", None),
        "coupling_units": getattr(sample, "coupling_units", None), "weight_column": weight_column,
        "detector_origin_cm": [float(x) for x in detector_origin_cm],
    }
    recs = records_from_signal_columns(sample.columns, float(sample.pot), detector_origin_cm=detector_origin_cm,
                                       weight_column=weight_column)
    return write_hepmc3(path, recs, meta)
