"""Test-wide settings: an isolated on-disk cache so tests never touch the user's cache."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    d = tmp_path_factory.mktemp("mesonportal-cache")
    old = os.environ.get("MESONPORTAL_CACHE_DIR")
    os.environ["MESONPORTAL_CACHE_DIR"] = str(d)
    yield d
    if old is None:
        os.environ.pop("MESONPORTAL_CACHE_DIR", None)
    else:
        os.environ["MESONPORTAL_CACHE_DIR"] = old
