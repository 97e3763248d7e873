"""Reference data shipped inside the package, read with :mod:`importlib.resources`.

Format: plain-text tables (``*.txt``), whitespace-separated columns, with a ``#`` header that
states the source (paper / arXiv number / data-release name), the columns and their units.
The package never reads the developers' ``shared/`` folder at run time.
"""

from __future__ import annotations

import io
from importlib import resources

import numpy as np

from mesonportal.exceptions import DataError


def data_path(relpath: str):
    """Traversable for a file below ``mesonportal/data`` (e.g. ``"bnb_flux/nu_mode_flux.txt"``)."""
    node = resources.files("mesonportal.data")
    for part in relpath.split("/"):
        node = node / part
    if not node.is_file():
        raise DataError(f"bundled data file {relpath!r} is missing from the package")
    return node


def read_text(relpath: str) -> str:
    return data_path(relpath).read_text(encoding="utf-8")


def load_table(relpath: str, ndmin: int = 2) -> np.ndarray:
    """Load a whitespace-separated numeric table (``#`` comments) as float64."""
    return np.loadtxt(io.StringIO(read_text(relpath)), comments="#", ndmin=ndmin)


def header(relpath: str) -> list[str]:
    """The ``#`` header lines of a bundled table (source, columns, units)."""
    return [ln[1:].strip() for ln in read_text(relpath).splitlines() if ln.startswith("#")]
