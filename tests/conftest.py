"""Shared test set-up: offline model loading, and the ../shared/datasets fixture."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.shared import shared_datasets_dir

# Nothing in the tests may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
QUICK_SUITE = REPO / "suites" / "quick.toml"


@pytest.fixture
def shared_datasets() -> Path:
    return shared_datasets_dir()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own cache folder, so no test sees another's cached responses."""
    monkeypatch.setenv("RERANK_EVAL_CACHE", str(tmp_path_factory.mktemp("cache")))
