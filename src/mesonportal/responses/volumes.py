"""Detector volumes for detector responses: axis-aligned boxes (or unions of boxes).

A response needs only one thing from a volume: ``contains(points) -> bool array``.  Any object
with that method can be passed instead of a :class:`BoxVolume` (e.g. the experiment's own shape
objects).  Coordinates are detector coordinates in **cm**.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from mesonportal.exceptions import ParameterError

__all__ = ["VolumeLike", "BoxVolume", "as_volume"]


@runtime_checkable
class VolumeLike(Protocol):
    """Anything that can tell whether points (N, 3) [cm] lie inside it."""

    def contains(self, points: NDArray[np.float64]) -> NDArray[np.bool_]:  # pragma: no cover - protocol
        ...


@dataclass(frozen=True)
class BoxVolume:
    """Union of axis-aligned boxes, each given by its low and high corners [cm].

    Several boxes describe multi-module detectors (e.g. ICARUS's two TPC modules).  Boxes must
    not overlap (a point is inside the union if it is inside any box).
    """

    lo: tuple[tuple[float, float, float], ...]
    hi: tuple[tuple[float, float, float], ...]

    @classmethod
    def from_pairs(cls, boxes: Sequence[Any], name: str = "volume") -> "BoxVolume":
        """Build from ``[(lo, hi), ...]`` with ``lo``/``hi`` three coordinates in cm.

        Raises :class:`~mesonportal.exceptions.ParameterError` (one line, naming ``name``) for a
        malformed pair, non-finite corners, ``lo >= hi`` on an axis or overlapping boxes.
        """
        try:
            arr = np.asarray(boxes, dtype=float)
        except (TypeError, ValueError):
            raise ParameterError(f"{name}: expected a list of (lo, hi) corner pairs of 3 numbers [cm]") from None
        if arr.ndim == 2 and arr.shape == (2, 3):
            arr = arr[None]
        if arr.ndim != 3 or arr.shape[1:] != (2, 3) or arr.shape[0] == 0:
            raise ParameterError(f"{name}: expected a list of (lo, hi) corner pairs of 3 numbers [cm], got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ParameterError(f"{name}: box corners must be finite numbers [cm]")
        lo, hi = arr[:, 0, :], arr[:, 1, :]
        bad = np.flatnonzero(np.any(lo >= hi, axis=1))
        if bad.size:
            raise ParameterError(f"{name}: box {int(bad[0])} has lo >= hi on some axis (need lo < hi in x, y, z)")
        for i in range(len(lo)):
            for j in range(i + 1, len(lo)):
                if np.all(np.minimum(hi[i], hi[j]) > np.maximum(lo[i], lo[j])):
                    raise ParameterError(f"{name}: boxes {i} and {j} overlap (module boxes must be disjoint)")
        return cls(tuple(map(tuple, lo.tolist())), tuple(map(tuple, hi.tolist())))

    def contains(self, points: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Boolean mask of the points (N, 3) [cm] inside any of the boxes (faces included)."""
        p = np.asarray(points, dtype=float).reshape(-1, 3)
        inside = np.zeros(len(p), dtype=bool)
        for lo, hi in zip(self.lo, self.hi):
            inside |= np.all((p >= np.asarray(lo)) & (p <= np.asarray(hi)), axis=1)
        return inside

    @property
    def volume_cm3(self) -> float:
        """Total volume [cm³]."""
        return float(sum(np.prod(np.subtract(h, l)) for l, h in zip(self.lo, self.hi)))


def as_volume(obj: Any, name: str = "volume") -> VolumeLike:
    """Return ``obj`` if it has a ``contains`` method, else build a :class:`BoxVolume` from a
    list of (lo, hi) corner pairs [cm]."""
    if callable(getattr(obj, "contains", None)):
        return obj
    return BoxVolume.from_pairs(obj, name=name)
