"""Memoised forced-emission geometry (issue #10): the mass-independent per-meson cone, boost
and frame are computed once per meson block and reused across X masses.  Reference: the
uncached computation itself — the cached path must give BITWISE identical arrays (tolerance 0)."""

from __future__ import annotations

import numpy as np
import pytest

from mesonportal.analysis import allocation as al
from mesonportal.detection import signal
from mesonportal.experiments import load_experiment
from mesonportal.models.registry import load_benchmark
from mesonportal.propagation import forced
from mesonportal.sample import ParticleSample


def _block(rng, n, pdg, mass):
    """A toy meson block (allocation block dtype): forward boosted mesons near the target,
    one at rest."""
    b = np.zeros(n, al._BLOCK_DTYPE)
    p = rng.uniform(50.0, 3000.0, n)
    th = rng.uniform(0.0, 0.3, n)
    ph = rng.uniform(0.0, 2 * np.pi, n)
    p3 = p[:, None] * np.column_stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])
    p3[0] = 0.0
    b["p4"] = np.column_stack([np.sqrt(p * p * (np.arange(n) > 0) + mass * mass), p3])
    b["vertex"] = rng.normal(0.0, [20.0, 20.0, 2000.0], (n, 3))
    b["pdgid"] = pdg
    b["weight"] = 1e-3 / n
    b.flags.writeable = False
    return b


@pytest.fixture()
def blocks():
    rng = np.random.default_rng(7)
    return (_block(rng, 700, 211, 139.57039), _block(rng, 500, 321, 493.677), _block(rng, 300, -211, 139.57039))


def test_block_geometry_bitwise_equal_to_rows(blocks):
    det = load_experiment("miniboone").detector
    g_all = forced.blocks_geometry(blocks, det.center_cm, det.radius_cm)
    idx = np.flatnonzero(np.concatenate([b["pdgid"] for b in blocks]) != 321)
    p4 = np.concatenate([b["p4"] for b in blocks])[idx]
    vtx = np.concatenate([b["vertex"] for b in blocks])[idx]
    ref = forced.band_geometry(p4, vtx, det.center_cm, det.radius_cm)
    got = forced.take_geometry(g_all, idx)
    assert set(got) == set(ref)
    for k in ref:
        assert np.array_equal(got[k], ref[k]), k
    # memo hit: the same read-only arrays, no recomputation
    again = forced.block_geometry(blocks[0], det.center_cm, det.radius_cm)
    assert again is forced.block_geometry(blocks[0], det.center_cm, det.radius_cm)
    assert not again["beta"].flags.writeable


def test_memo_is_bounded(blocks, monkeypatch):
    monkeypatch.setattr(forced, "_GEOMETRY_MEMO", {})
    monkeypatch.setattr(forced, "GEOMETRY_MEMO_BYTES", 1)
    for b in blocks:
        forced.block_geometry(b, (0.0, 0.0, 54100.0), 500.0)
    assert len(forced._GEOMETRY_MEMO) == 1


@pytest.mark.parametrize("m_x", [1.0, 2.0])
def test_scalar_arrivals_cached_equals_uncached(blocks, m_x, monkeypatch):
    """X arrivals of the scalar benchmark from a sample with block provenance (as the
    importance allocation assembles it): memoised geometry on vs off, two X masses."""
    det = load_experiment("miniboone").detector
    parts = []
    for b in blocks:
        c = al._Columns((np.ascontiguousarray(b["p4"]), np.ascontiguousarray(b["vertex"]),
                         np.ascontiguousarray(b["pdgid"]), b["weight"] / 1, np.ascontiguousarray(b["parent"])))
        c.blocks = (b,)
        parts.append(c)
    mesons = al._join(parts)
    assert getattr(mesons, "source_blocks", None) == blocks
    model = load_benchmark("scalar", m_x=m_x)
    out = {}
    for memo in (False, True):
        monkeypatch.setattr(signal, "MEMOISE_GEOMETRY", memo)
        out[memo] = signal.scalar_arrivals(model, mesons, det, np.random.default_rng(3))
    a, b = out[False], out[True]
    assert len(a) > 0 and np.sum(a.weight) > 0
    for name in ("p4", "vertex", "direction", "weight", "entry", "chord", "survival"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    # a plain sample (no provenance) takes the uncached path
    plain = ParticleSample(mesons.p4, mesons.vertex, mesons.pdgid, mesons.weight)
    assert signal._sample_geometry(plain, det) is None
