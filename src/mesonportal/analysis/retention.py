"""What a long job keeps of a prediction once it has been used (memory of the main job).

A :class:`~mesonportal.analysis.prediction.SignalSample` carries every generator-level and
reconstructed column of the chain (33 columns for the long-lived X chain; 900 000 rows, 230 MB,
for the pseudoscalar benchmark in ν mode).  ``mesonportal reproduce`` holds the ν, ν̄ and dump
predictions of every benchmark until the lens (:func:`mesonportal.analysis.compare.run_compare`)
has reused them, and the lens re-fits its systematic variations; neither needs the
generator-level columns.  :func:`slim` keeps only the columns a stage reads — the same arrays,
not copies, so every number computed from the slimmed sample is bit-for-bit the number computed
from the full one (the per-event ``weight_fn`` of the sample is kept as it is).

Column sets (missing ones are simply absent in the result):

* :data:`FIT_COLUMNS`: what :func:`mesonportal.analysis.fit.fit_excess` reads — E_QE histogram,
  totals with their meson-clustered stratified MC error (``meson_index``, ``parent_pdg``), the
  dump-mode signal split (``parent_at_rest``) and the dirt split (``region``);
* :data:`LENS_COLUMNS`: also the E_vis / cos θ shape histograms and the efficiency variation
  (``e_true``) of the lens, and the LAr-TPC ``topology``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from mesonportal.analysis.prediction import REQUIRED_COLUMNS, SignalSample

__all__ = ["FIT_COLUMNS", "LENS_COLUMNS", "slim"]

#: Columns read by the fit (besides :data:`~mesonportal.analysis.prediction.REQUIRED_COLUMNS`).
FIT_COLUMNS: tuple[str, ...] = ("e_qe", "weight", "meson_index", "parent_pdg", "parent_at_rest", "region")
#: Columns read by the lens: the fit's, the shape observables, ``e_true`` (efficiency variation).
LENS_COLUMNS: tuple[str, ...] = FIT_COLUMNS + ("e_vis", "cos_theta", "e_true", "topology")


def slim(sample: SignalSample | None, columns: Iterable[str] = LENS_COLUMNS) -> SignalSample | None:
    """``sample`` with only ``columns`` (and the required ones) kept — the same arrays, the same
    ``weight_fn``, ``info`` and metadata; None stays None."""
    if sample is None:
        return None
    keep = set(columns) | set(REQUIRED_COLUMNS)
    cols = {k: v for k, v in sample.columns.items() if k in keep}
    return dataclasses.replace(sample, columns=cols)
