"""Columnar weighted Monte Carlo samples of particles.

A :class:`ParticleSample` holds N particles as NumPy columns:

=============  ===========  ===========================================================
column         shape/unit   meaning
=============  ===========  ===========================================================
``p4``         (N, 4) MeV   four-momentum (E, px, py, pz) in the lab
``vertex``     (N, 3) cm    production (or decay) point, z along the proton beam,
                            origin at the upstream face of the target
``pdgid``      (N,) int     PDG code (dark states use the codes in ``DARK_PDG``)
``weight``     (N,) 1/POT   expected number of such particles per proton on target
``parent``     (N,) int     PDG code of the parent (0 if none)
=============  ===========  ===========================================================

Stages never drop normalisation silently: selecting a subset keeps the weights of the
selected particles; the removed weight is what the selection rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Private PDG-like codes for dark states (PDG reserves 51-60 for "generic" dark matter particles).
DARK_PDG = {"phi": 54, "a": 55, "V1": 56, "V2": 57, "chi": 52, "chi_prime": 53}


@dataclass
class ParticleSample:
    """Weighted particles; see the module docstring for the column schema."""

    p4: np.ndarray
    vertex: np.ndarray
    pdgid: np.ndarray
    weight: np.ndarray
    parent: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.p4 = np.asarray(self.p4, dtype=np.float64).reshape(-1, 4)
        n = len(self.p4)
        self.vertex = np.asarray(self.vertex, dtype=np.float64).reshape(n, 3)
        self.pdgid = np.broadcast_to(np.asarray(self.pdgid, dtype=np.int64), (n,)).copy()
        self.weight = np.broadcast_to(np.asarray(self.weight, dtype=np.float64), (n,)).copy()
        if self.parent is None:
            self.parent = np.zeros(n, dtype=np.int64)
        self.parent = np.broadcast_to(np.asarray(self.parent, dtype=np.int64), (n,)).copy()

    def __len__(self) -> int:
        return len(self.p4)

    @property
    def energy(self) -> np.ndarray:
        return self.p4[:, 0]

    @property
    def momentum(self) -> np.ndarray:
        """|p| in MeV."""
        return np.linalg.norm(self.p4[:, 1:], axis=1)

    @property
    def mass(self) -> np.ndarray:
        m2 = self.p4[:, 0] ** 2 - np.sum(self.p4[:, 1:] ** 2, axis=1)
        return np.sqrt(np.clip(m2, 0.0, None))

    @property
    def direction(self) -> np.ndarray:
        p = self.p4[:, 1:]
        return p / np.clip(np.linalg.norm(p, axis=1, keepdims=True), 1e-300, None)

    @property
    def total_weight(self) -> float:
        return float(np.sum(self.weight))

    def select(self, mask: np.ndarray) -> "ParticleSample":
        return ParticleSample(self.p4[mask], self.vertex[mask], self.pdgid[mask], self.weight[mask], self.parent[mask])

    def with_weight(self, weight: np.ndarray) -> "ParticleSample":
        return ParticleSample(self.p4, self.vertex, self.pdgid, weight, self.parent)

    @staticmethod
    def concatenate(samples: list["ParticleSample"]) -> "ParticleSample":
        samples = [s for s in samples if s is not None]
        if not samples:
            return ParticleSample.empty()
        return ParticleSample(
            np.concatenate([s.p4 for s in samples]),
            np.concatenate([s.vertex for s in samples]),
            np.concatenate([s.pdgid for s in samples]),
            np.concatenate([s.weight for s in samples]),
            np.concatenate([s.parent for s in samples]),
        )

    @staticmethod
    def empty() -> "ParticleSample":
        return ParticleSample(np.zeros((0, 4)), np.zeros((0, 3)), np.zeros(0, int), np.zeros(0), np.zeros(0, int))
