"""One real Infinity server for the serving tests: its own virtual env (built once, cached
across runs), the MiniLM-L6 cross-encoder built here, started once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rerank_eval.testing.infinity import InfinityServer, InfinityUnavailable, ensure_env
from rerank_eval.testing.models import build_cross_encoder


@pytest.fixture(scope="session")
def infinity_env() -> Path:
    """The env, or a skip (a failure under CI) that says why it could not be built."""
    try:
        return ensure_env()
    except InfinityUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(str(error), pytrace=False)
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cross_encoder(tmp_path_factory.mktemp("serving") / "minilm-ce")


@pytest.fixture(scope="session")
def infinity_server(infinity_env: Path, cross_encoder_dir: Path) -> Iterator[InfinityServer]:
    """Serving ``cross_encoder_dir``; a server that will not start fails (with its log)."""
    with InfinityServer(cross_encoder_dir, env=infinity_env) as server:
        yield server
