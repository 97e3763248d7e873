"""Test-wide settings: an isolated on-disk cache so tests never touch the user's cache, and
Hypothesis profiles — ``ci`` (selected when the environment variable ``CI`` is ``true``/``1``)
is derandomised, so a CI failure is reproducible and the suite's outcome never depends on luck;
``dev`` (default) explores new random examples on every run."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else
                      os.environ.get("HYPOTHESIS_PROFILE", "dev"))


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
