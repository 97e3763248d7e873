"""Several meson samples simulated together: their horn tracking shared (issue #10).

:func:`simulate_mesons_grouped` runs the samples of several independent random streams (e.g. the
cached blocks of :func:`mesonportal.analysis.allocation.cached_block`) side by side and tracks
the tracks of all of them through the horn in ONE :func:`~mesonportal.sources.horn.track_horn`
call per horn pass, so the tracker's fixed per-iteration cost (≈ 150 iterations per pass, most on
a few live tracks; docs/benchmarks.md) is paid once per group instead of once per sample.

Every sample is **bitwise identical** to :func:`~mesonportal.sources.transport.simulate_mesons`
with the same stream:

* everything outside the horn (production, proton histories, target chord, cavity and decay-pipe
  paths, decay points, steel fates, tertiary sampling) runs per sample, in its own order, from its
  own generator (:func:`mesonportal.sources.transport._simulate_gen` suspended at each horn
  request: the transport's horn passes of primaries and tertiaries, and the tertiaries' neutral
  tracking of their parents through the horn aluminium);
* in the horn the tracks do not interact: a track's path depends only on its own state, so in
  every tracker iteration each sample has exactly the tracks it would have alone, and all
  arithmetic is element-wise (the same operations per track, whatever else is in the array);
* the only random draw in the horn, the one uniform per track of the forced-decay accumulator
  (:meth:`~mesonportal.sources.transport._ForcedDecay.segment`), is taken per sample from its own
  generator, in the sample's order (its tracks in index order; a sample with no track in a call
  draws nothing, as ``rng.random(0)`` would not advance it either), and concatenated.

Units as in :mod:`mesonportal.sources.transport` (cm, MeV, weights per POT).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mesonportal.sample import ParticleSample
from mesonportal.sources.horn import HornRequest, track_horn
from mesonportal.sources.tertiary import _ConductorPath
from mesonportal.sources.transport import _ForcedDecay, _simulate_gen

_STATE_1D = ("mu_d", "log_s", "total", "angle", "length", "mu")
_STATE_3D = ("p0", "p1", "m0", "axis")


class _GroupForcedDecay(_ForcedDecay):
    """The forced-decay accumulators of several samples as one (concatenated state, the samples'
    tracks in consecutive ranges); the per-track uniforms come from each sample's own generator."""

    def __init__(self, accs: Sequence[_ForcedDecay]) -> None:  # noqa: D107 - no super(): state concatenated
        self.accs = list(accs)
        rates = self.accs[0].rates
        if any(a.rates != rates for a in self.accs):
            raise ValueError("grouped samples must share the absorption rates (same experiment)")
        self.rates = rates
        self.rng = None
        sizes = [len(a.mu_d) for a in self.accs]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        for name in _STATE_1D + _STATE_3D:
            setattr(self, name, np.concatenate([getattr(a, name) for a in self.accs]))
        self.absorbed = {k: np.concatenate([a.absorbed[k] for a in self.accs]) for k in self.accs[0].absorbed}

    def _uniforms(self, idx) -> np.ndarray:
        # idx ascending (track_horn passes its tracks in index order): sample b owns the slice
        # between the first positions of offsets[b] and offsets[b + 1]
        if len(idx) > 1 and not bool(np.all(idx[1:] > idx[:-1])):
            raise RuntimeError("grouped horn tracking needs track indices in increasing order")
        cuts = np.searchsorted(idx, self.offsets).tolist()
        parts = [a.rng.random(hi - lo) for a, lo, hi in zip(self.accs, cuts[:-1], cuts[1:]) if hi > lo]
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.empty(0)

    def scatter(self) -> None:
        """Copy the concatenated state back into the samples' own accumulators."""
        for b, a in enumerate(self.accs):
            lo, hi = int(self.offsets[b]), int(self.offsets[b + 1])
            for name in _STATE_1D + _STATE_3D:
                getattr(a, name)[...] = getattr(self, name)[lo:hi]
            for k in a.absorbed:
                a.absorbed[k][...] = self.absorbed[k][lo:hi]


class _GroupConductorPath:
    """The aluminium-path recorders (:class:`~mesonportal.sources.tertiary._ConductorPath`) of
    several samples as one: each segment call is split into the samples' own calls (a sample with
    no track in it gets none, as when tracked alone)."""

    def __init__(self, recs: Sequence[_ConductorPath], offsets: np.ndarray) -> None:
        self.recs = list(recs)
        self.offsets = offsets

    def segment(self, idx, p0, p1, m0, axis, angle, length, category: str) -> None:
        if category != "conductor":
            return
        cuts = np.searchsorted(idx, self.offsets).tolist()
        for b, rec in enumerate(self.recs):
            lo, hi = cuts[b], cuts[b + 1]
            if hi > lo:
                rec.segment(idx[lo:hi] - self.offsets[b], p0[lo:hi], p1[lo:hi], None, None, None, length[lo:hi],
                            category)


def _group_key(r: HornRequest) -> tuple:
    """Requests with the same key can be tracked in one call."""
    return id(r.geom.horn), float(r.current_ka), type(r.acc)


def track_horn_group(requests: Sequence[HornRequest]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Track the horn requests of several samples in one :func:`track_horn` call; returns each
    request's (position cm, momentum MeV, status), bitwise equal to tracking it alone (and the
    same segments reported to each request's accumulator, the same draws from its generator).

    All requests must share the horn (the same experiment's geometry), the current and the kind
    of accumulator (:class:`~mesonportal.sources.transport._ForcedDecay` or
    :class:`~mesonportal.sources.tertiary._ConductorPath`), and each must hand over all its
    tracks in index order (``idx = arange(n)``, as the transport and the tertiaries do)."""
    if len(requests) == 1:
        r = requests[0]
        return [track_horn(r.pos, r.mom, r.charge, r.geom, r.current_ka, r.acc, r.idx)]
    first = requests[0]
    key = _group_key(first)
    for r in requests:
        if _group_key(r) != key:
            raise ValueError("grouped horn requests must share the horn, its current and the accumulator kind")
        if not np.array_equal(r.idx, np.arange(len(r.pos))):
            raise ValueError("a grouped horn request must hand over its tracks as idx = arange(n)")
    offsets = np.concatenate([[0], np.cumsum([len(r.pos) for r in requests])]).astype(np.int64)
    if isinstance(first.acc, _ForcedDecay):
        if any(len(r.acc.mu_d) != len(r.pos) for r in requests):
            raise ValueError("a grouped horn request must hand over all tracks of its accumulator")
        gacc = _GroupForcedDecay([r.acc for r in requests])
    elif isinstance(first.acc, _ConductorPath):
        gacc = _GroupConductorPath([r.acc for r in requests], offsets)
    else:
        raise TypeError(f"no grouped form of the accumulator {type(first.acc).__name__}")
    n = int(offsets[-1])
    pos, mom, status = track_horn(np.concatenate([r.pos for r in requests]), np.concatenate([r.mom for r in requests]),
                                  np.concatenate([np.asarray(r.charge, dtype=float) for r in requests]), first.geom,
                                  first.current_ka, gacc, np.arange(n))
    if isinstance(gacc, _GroupForcedDecay):
        gacc.scatter()
    off = offsets.tolist()
    return [(pos[lo:hi].copy(), mom[lo:hi].copy(), status[lo:hi].copy()) for lo, hi in zip(off[:-1], off[1:])]


def simulate_mesons_grouped(experiment, mode: str, jobs: Sequence[tuple[int, np.random.Generator, Sequence[int]]]
                            ) -> list[ParticleSample]:
    """:func:`~mesonportal.sources.transport.simulate_mesons` of several samples of one
    experiment and mode, ``jobs`` = [(n_samples, rng, species), ...], their horn passes tracked
    together (:func:`track_horn_group`); returns the samples in the order of ``jobs``, each
    bitwise equal (rows, weights and ``summary``) to ``simulate_mesons(experiment, mode, n, rng,
    species=species)``."""
    gens = [_simulate_gen(experiment, mode, n, rng, species=species) for n, rng, species in jobs]
    out: list[ParticleSample | None] = [None] * len(gens)
    pending: dict[int, HornRequest] = {}

    def advance(i: int, value) -> None:
        try:
            pending[i] = gens[i].send(value)
        except StopIteration as stop:
            out[i] = stop.value

    for i in range(len(gens)):
        advance(i, None)
    while pending:
        batch = sorted(pending.items())
        pending.clear()
        # one group per horn, current and accumulator kind (the transport's forced decays, the
        # tertiaries' aluminium paths)
        groups: dict[tuple, list[tuple[int, HornRequest]]] = {}
        for i, r in batch:
            groups.setdefault(_group_key(r), []).append((i, r))
        results = {}
        for members in groups.values():
            for (i, _), res in zip(members, track_horn_group([r for _, r in members])):
                results[i] = res
        for i, _ in batch:
            advance(i, results[i])
    return out  # type: ignore[return-value]


__all__ = ["simulate_mesons_grouped", "track_horn_group"]
