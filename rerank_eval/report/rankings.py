"""The rankings a run folder keeps, read back as ordered lists of document ids.

``runs/<dataset>/<reranker>.trec`` (and ``first-stage.trec``), in trec_eval order: the
ranking the metrics saw (:mod:`rerank_eval.trec`).
"""

from __future__ import annotations

from pathlib import Path

from rerank_eval.store import run_path
from rerank_eval.trec import read_rankings


def system_rankings(run_dir: Path, dataset: str, system: str) -> dict[str, list[str]]:
    """The rankings of one system (a reranker, or ``first-stage``) on one dataset."""
    return read_rankings(run_path(run_dir, dataset, system))
