"""Shared test set-up: offline model loading, and the ../shared/datasets fixture."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing in the tests may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
QUICK_SUITE = REPO / "suites" / "quick.toml"


def shared_datasets_dir() -> Path:
    """``$RERANK_EVAL_DATASETS``, failing loudly under CI and skipping elsewhere when absent."""
    value = os.environ.get("RERANK_EVAL_DATASETS")
    path = Path(value) if value else REPO.parent / "shared" / "datasets"
    if not (path / "scifact" / "corpus.jsonl").is_file():
        reason = f"shared datasets not found at {path} (set RERANK_EVAL_DATASETS)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
def shared_datasets() -> Path:
    return shared_datasets_dir()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own cache folder, so no test sees another's cached responses."""
    monkeypatch.setenv("RERANK_EVAL_CACHE", str(tmp_path_factory.mktemp("cache")))
