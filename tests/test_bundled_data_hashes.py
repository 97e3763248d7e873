"""Bundled data equal their upstream sources (issue #17, 7e), checked by hashes so that the test
runs without the developers' reference folder: ``tests/regression/data_hashes.json`` holds the
hash of every upstream table's values (written by ``benchmarks/update_data_hashes.py`` from the
upstream files); here the package's bundled arrays are hashed the same way.  Tolerance: equality
at 9 significant digits (the sources carry at most 8)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent / "regression"
sys.path.insert(0, str(HERE))
from bundled_data import REFERENCES, canonical_hash, package_arrays  # noqa: E402

HASHES = json.loads((HERE / "data_hashes.json").read_text())["entries"]


def test_every_reference_has_a_hash_and_a_package_array():
    assert set(HASHES) == set(REFERENCES) == set(package_arrays())


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_bundled_table_matches_upstream_hash(name):
    assert canonical_hash(package_arrays()[name]()) == HASHES[name]["sha256_values"], \
        f"bundled {name} differs from {HASHES[name]['source']}"


def test_hash_detects_a_one_digit_change():
    a = package_arrays()["nu_nue_data"]().astype(float)
    b = a.copy()
    b[3] += 1.0
    assert canonical_hash(a) == HASHES["nu_nue_data"]["sha256_values"] != canonical_hash(b)
    assert canonical_hash(a * (1 + 1e-12)) == canonical_hash(a)  # conversion round-off is not a change
    assert canonical_hash(np.zeros(3)) != canonical_hash(np.zeros(4))
