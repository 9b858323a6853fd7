"""Hypothesis profiles for the suite, selected by one environment variable.

    pytest tests                          # profile "ci" (default): deterministic, fast
    HYPOTHESIS_PROFILE=deep pytest tests  # many more examples, random, with an example database

Hypothesis keeps its files (example database, constant caches) outside the repository, so that
no `.hypothesis/` folder lands in the book's source tree: under $HYPOTHESIS_STORAGE_DIRECTORY if
set, else ~/.cache/ce_lib-hypothesis. The "ci" profile uses no database at all.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

HYPOTHESIS_HOME = Path(
    os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY", Path.home() / ".cache" / "ce_lib-hypothesis")
)
set_hypothesis_home_dir(HYPOTHESIS_HOME)

_common = {
    "deadline": None,  # torch's first call in a process is slow; timing is not what we test
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
    "print_blob": True,
}
settings.register_profile("ci", max_examples=60, derandomize=True, database=None, **_common)
settings.register_profile(
    "deep",
    max_examples=2000,
    derandomize=False,
    database=DirectoryBasedExampleDatabase(HYPOTHESIS_HOME / "examples"),
    **_common,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _quiet_numpy():
    """inf/NaN are expected in edge cases: the tests build them on purpose."""
    with np.errstate(all="ignore"):
        yield
