"""One local Ray for every Ray test of the session (starting one takes seconds)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

RAY_CPUS = 2
"""CPUs of the test Ray: two actors of one CPU each, so one torch thread each."""


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """The GCS address of a local Ray this test process started (and stops at the end)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed; `make test-ray` runs "
                                            "the --executor ray tests")
    ray.init(address="local", num_cpus=RAY_CPUS, object_store_memory=100 << 20,
             include_dashboard=False, logging_level=logging.WARNING)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
