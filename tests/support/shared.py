"""Where the shared test collections are (``$RERANK_EVAL_DATASETS``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


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
