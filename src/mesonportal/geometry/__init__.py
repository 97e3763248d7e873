"""Detector geometry: the :class:`Shape` protocol and its shapes (sphere, box, cylinder, union of
boxes) with exact ray chords, all in cm (beam coordinates).  See :mod:`mesonportal.geometry.shapes`."""

from mesonportal.geometry.shapes import (
    Box,
    Cylinder,
    Shape,
    Sphere,
    Union,
    decay_probability_in_segments,
    rotation_matrix,
    sample_decay_in_segments,
    sample_point_in_segments,
    segments_to_intersection,
)

__all__ = ["Shape", "Sphere", "Box", "Cylinder", "Union", "rotation_matrix", "segments_to_intersection",
           "decay_probability_in_segments", "sample_point_in_segments", "sample_decay_in_segments"]
