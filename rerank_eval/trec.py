"""Reading TREC files: runs (``qid Q0 docid rank score tag``) and qrels (``qid 0 docid grade``).

The one reader of the run folder's TREC files for every module that needs them (the
report's drill-down and agreement, ``pool``, ``check --recheck``); writing is
:func:`rerank_eval.store.write_trec`. Rankings come back in trec_eval order (score
descending, ties by doc id descending: :func:`rerank_eval.metrics.trec_eval_order`), the
order the metrics saw, whatever the rank column says.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rerank_eval.metrics import trec_eval_order


class TrecFileError(ValueError):
    """A TREC file cannot be read; the message names the file and line."""


def read_trec_run(path: Path) -> dict[str, dict[str, float]]:
    """query id -> doc id -> score; {} when the file does not exist."""
    run: dict[str, dict[str, float]] = {}
    for line_no, parts in _lines(path):
        if len(parts) != 6:
            raise TrecFileError(f"{path}:{line_no}: expected 6 columns 'qid Q0 docid rank "
                                f"score tag', got {len(parts)}")
        try:
            score = float(parts[4])
        except ValueError:
            raise TrecFileError(f"{path}:{line_no}: score {parts[4]!r} is not a "
                                "number") from None
        run.setdefault(parts[0], {})[parts[2]] = score
    return run


def rankings(run: dict[str, dict[str, float]]) -> dict[str, list[str]]:
    """query id (sorted) -> doc ids in trec_eval order."""
    return {query_id: [doc_id for doc_id, _ in trec_eval_order(run[query_id])]
            for query_id in sorted(run)}


def read_rankings(path: Path) -> dict[str, list[str]]:
    """query id -> doc ids of a TREC run file, best first (trec_eval order); {} when absent."""
    return rankings(read_trec_run(path))


def read_trec_qrels(path: Path) -> dict[str, dict[str, int]]:
    """query id -> doc id -> grade; {} when the file does not exist."""
    qrels: dict[str, dict[str, int]] = {}
    for line_no, parts in _lines(path):
        if len(parts) != 4:
            raise TrecFileError(f"{path}:{line_no}: expected 'query_id 0 doc_id grade', "
                                f"got {len(parts)} fields")
        try:
            grade = int(parts[3])
        except ValueError:
            raise TrecFileError(f"{path}:{line_no}: grade {parts[3]!r} is not an "
                                "integer") from None
        qrels.setdefault(parts[0], {})[parts[2]] = grade
    return qrels


def _lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    path = Path(path)
    if not path.is_file():
        return
    with path.open(encoding="utf-8-sig") as handle:
        for line_no, line in enumerate(handle, start=1):
            parts = line.split()
            if parts:
                yield line_no, parts
