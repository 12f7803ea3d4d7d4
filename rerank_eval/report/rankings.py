"""The rankings a run folder keeps, read back as ordered lists of document ids.

``runs/<dataset>/<reranker>.trec`` (and ``first-stage.trec``) are written in trec_eval
order with ranks 1..n (:func:`rerank_eval.store.write_trec`), so a query's documents sorted
by the rank column are the ranking the metrics saw.
"""

from __future__ import annotations

from pathlib import Path

from rerank_eval.store import run_path


class RankingFileError(ValueError):
    """A TREC run file of the run folder cannot be read; the message names file and line."""


def read_rankings(path: Path) -> dict[str, list[str]]:
    """query id -> doc ids, best first; empty when the file does not exist."""
    path = Path(path)
    if not path.is_file():
        return {}
    rows: dict[str, list[tuple[int, str]]] = {}
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 5:
                raise RankingFileError(f"{path}:{line_no}: expected 'query Q0 doc rank score "
                                       f"tag', got {len(parts)} fields")
            try:
                rank = int(parts[3])
            except ValueError:
                raise RankingFileError(f"{path}:{line_no}: rank {parts[3]!r} is not an "
                                       "integer") from None
            rows.setdefault(parts[0], []).append((rank, parts[2]))
    return {query_id: [doc_id for _, doc_id in sorted(ranked)]
            for query_id, ranked in rows.items()}


def system_rankings(run_dir: Path, dataset: str, system: str) -> dict[str, list[str]]:
    """The rankings of one system (a reranker, or ``first-stage``) on one dataset."""
    return read_rankings(run_path(run_dir, dataset, system))
