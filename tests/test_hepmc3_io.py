"""HepMC3 writer/reader (pyhepmc): round trip, units, run info, conversion of predicted columns.

References: HepMC3 ASCII format with declared units (``U MEV CM``); four-momentum conservation
at every vertex (exact for the records built from the columns: the target is at rest and the
recoil/outgoing χ are built by conservation, so a violation means a mis-assigned particle); the
event weights must add up to the prediction's events for the exposure (same numbers as
``SignalSample``'s columns × POT).
"""

from __future__ import annotations

import numpy as np
import pytest

from mesonportal import __version__
from mesonportal.exceptions import DataError, ParameterError
from mesonportal.io.hepmc3 import (
    DARK_PDG,
    EventRecord,
    ParticleRecord,
    VertexRecord,
    final_state_records,
    read_hepmc3,
    records_from_signal_columns,
    write_hepmc3,
    write_sample_hepmc3,
)

META = {"model": {"model": "scalar", "m_x": 1.0}, "experiment": "microboone", "seed": 12345, "exposure_pot": 6.8e20,
        "mode": "nu", "note": 'quotes " and braces {} survive'}


def _conserved(ev: EventRecord, atol=1e-6):
    for v in ev.vertices:
        pin = sum(np.array(ev.particles[i].p4) for i in v.incoming)
        pout = sum(np.array(ev.particles[i].p4) for i in v.outgoing)
        np.testing.assert_allclose(pin, pout, atol=atol * max(1.0, float(np.abs(pin).max())))


def test_round_trip_final_state_records(tmp_path):
    rng = np.random.default_rng(1)
    n = 25
    vtx = rng.uniform((0, -116.5, 0), (256.35, 116.5, 1036.8), size=(n, 3))
    pdg = rng.choice([22, 11, -11, 0], size=(n, 2))
    pdg[:, 0] = 22
    p4 = rng.uniform(1, 900, size=(n, 2, 4))
    w = rng.uniform(0, 3, n)
    recs = list(final_state_records(vtx, pdg, p4, w, incoming_pdg=np.full(n, DARK_PDG["x"]), incoming_p4=p4[:, 0] * 1.5))
    path = tmp_path / "ev.hepmc3"
    assert write_hepmc3(path, recs, META) == n
    text = path.read_text()
    assert "U MEV CM" in text and "W events" in text
    back, meta = read_hepmc3(path)
    assert len(back) == n
    assert meta["experiment"] == "microboone" and meta["seed"] == 12345 and meta["exposure_pot"] == 6.8e20
    assert meta["model"] == META["model"] and meta["version"] == __version__ and meta["note"] == META["note"]
    assert meta["weight_names"] == ["events"]
    for a, b in zip(recs, back):
        assert a.weight == pytest.approx(b.weight, rel=1e-15)
        assert [(p.pdg, p.status) for p in a.particles] == [(p.pdg, p.status) for p in b.particles]
        np.testing.assert_allclose([p.p4 for p in a.particles], [p.p4 for p in b.particles], rtol=1e-15)
        np.testing.assert_allclose(a.vertices[0].position, b.vertices[0].position, rtol=1e-15)
        assert a.vertices[0].incoming == b.vertices[0].incoming and a.vertices[0].outgoing == b.vertices[0].outgoing
    # final-state multiplicities per event
    assert [len(b.final_state()) for b in back] == [int(np.count_nonzero(r)) for r in pdg]


def test_reader_converts_units(tmp_path):
    import pyhepmc as hp

    # a file written in GeV / mm must come back in MeV / cm
    path = tmp_path / "gev.hepmc3"
    ev = hp.GenEvent(hp.Units.GEV, hp.Units.MM)
    v = hp.GenVertex((10.0, 20.0, 30.0, 0.0))
    v.add_particle_in(hp.GenParticle((0, 0, 0.5, 0.5), 22, 4))
    v.add_particle_out(hp.GenParticle((0, 0, 0.5, 0.5), 22, 1))
    ev.add_vertex(v)
    ev.weights = [2.0]
    with hp.open(str(path), "w") as f:
        f.write(ev)
    back, _ = read_hepmc3(path)
    assert back[0].particles[0].p4 == pytest.approx((500.0, 0.0, 0.0, 500.0))
    assert back[0].vertices[0].position == pytest.approx((1.0, 2.0, 3.0))


def test_bad_input(tmp_path):
    with pytest.raises(ParameterError, match=".hepmc3"):
        write_hepmc3(tmp_path / "x.txt", [], META)
    with pytest.raises(ParameterError, match="seed"):
        write_hepmc3(tmp_path / "x.hepmc3", [], {"model": "m", "experiment": "e", "exposure_pot": 1.0})
    bad = EventRecord((ParticleRecord(22, (1, 0, 0, 1)),), (VertexRecord((0, 0, 0), (), (0,)),), float("nan"))
    with pytest.raises(ParameterError, match="weight"):
        write_hepmc3(tmp_path / "x.hepmc3", [bad], META)
    with pytest.raises(DataError, match="does not exist"):
        read_hepmc3(tmp_path / "missing.hepmc3")
    with pytest.raises(ParameterError, match="exposure_pot"):
        list(records_from_signal_columns({}, -1.0))
    with pytest.raises(ParameterError, match="lack"):
        list(records_from_signal_columns({"process": np.zeros(1)}, 1e20))


def test_predicted_columns_to_hepmc3(tmp_path):
    # real prediction (scalar benchmark, MiniBooNE nu mode, small sample): processes 0 and 1
    from mesonportal.analysis.predict import predict_signal
    from mesonportal.models.registry import load_benchmark

    s = predict_signal("miniboone", "nu", load_benchmark("scalar"), samples=3000)
    cols = s.columns
    origin = (0.0, 0.0, 54100.0)  # MiniBooNE sphere centre in beam coordinates (experiment TOML)
    recs = list(records_from_signal_columns(cols, s.pot, detector_origin_cm=origin))
    assert len(recs) == len(cols["weight"]) > 0
    total = sum(r.weight for r in recs)
    assert total == pytest.approx(float(np.sum(cols["weight_before_efficiency"])) * s.pot, rel=1e-12)
    for r in recs:
        _conserved(r)
        r_vtx = np.linalg.norm(r.vertices[0].position)
        assert r_vtx <= 610.6 + 1e-6  # inside the MiniBooNE sphere, detector coordinates
    path = tmp_path / "scalar.hepmc3"
    write_hepmc3(path, recs, {"model": s.model, "experiment": s.experiment, "seed": s.info.get("seed"),
                              "exposure_pot": s.pot, "mode": s.mode})
    back, meta = read_hepmc3(path)
    assert meta["seed"] == s.info.get("seed") and meta["experiment"] == "miniboone"
    assert sum(b.weight for b in back) == pytest.approx(total, rel=1e-12)
    # the SignalSample convenience writes the same events and metadata
    n = write_sample_hepmc3(s, tmp_path / "sample.hepmc3", detector_origin_cm=origin)
    back2, meta2 = read_hepmc3(tmp_path / "sample.hepmc3")
    assert n == len(back2) == len(back) and meta2["exposure_pot"] == s.pot and meta2["mode"] == "nu"
    assert [b.weight for b in back2] == [b.weight for b in back]
    procs = {r.attributes["process"] for r in back}
    assert procs <= {"0", "1", "2"} and "0" in procs
    for b in back:
        _conserved(b)


def test_upscattering_record_structure():
    # process 3 (chi A -> chi' A, chi' -> chi e+ e-): two vertices sharing chi'
    m_p = 938.27208943
    cols = {
        "process": np.array([3]), "target": np.array([1]),
        "dark_e": np.array([800.0]), "dark_px": np.array([0.0]), "dark_py": np.array([0.0]), "dark_pz": np.array([799.9]),
        "chip_e": np.array([790.0]), "chip_px": np.array([30.0]), "chip_py": np.array([0.0]), "chip_pz": np.array([789.0]),
        "p1_e": np.array([300.0]), "p1_px": np.array([10.0]), "p1_py": np.array([1.0]), "p1_pz": np.array([299.8]),
        "p2_e": np.array([200.0]), "p2_px": np.array([5.0]), "p2_py": np.array([-1.0]), "p2_pz": np.array([199.9]),
        "int_x": np.array([1.0]), "int_y": np.array([2.0]), "int_z": np.array([47000.0]),
        "decay_x": np.array([1.5]), "decay_y": np.array([2.0]), "decay_z": np.array([47030.0]),
        "weight_before_efficiency": np.array([1e-22]),
    }
    (rec,) = records_from_signal_columns(cols, 6.8e20, detector_origin_cm=(0, 0, 47000.0))
    _conserved(rec)
    assert rec.weight == pytest.approx(1e-22 * 6.8e20)
    v1, v2 = rec.vertices
    assert v1.position == (1.0, 2.0, 0.0) and v2.position == (1.5, 2.0, 30.0)
    shared = set(v1.outgoing) & set(v2.incoming)
    assert len(shared) == 1 and rec.particles[shared.pop()].pdg == DARK_PDG["chi_prime"]
    fs = sorted(p.pdg for p in rec.final_state())
    assert fs == sorted([2212, 11, -11, DARK_PDG["chi"]])
    recoil = [p for p in rec.final_state() if p.pdg == 2212][0]
    assert recoil.p4[0] == pytest.approx(m_p + 800.0 - 790.0)
