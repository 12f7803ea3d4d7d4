"""First stage: the candidates each query hands to the rerankers.

Either BM25 top-k over the whole corpus, or a TREC run file the user supplies (their
own retriever's output). First-stage recall@k is recorded with every result: it is the
ceiling any reranker works under.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerank_eval.bm25_index import BM25Config, BM25Index
from rerank_eval.metrics import trec_eval_order

if TYPE_CHECKING:
    from rerank_eval.datasets import Dataset

log = logging.getLogger(__name__)


class CandidatesError(ValueError):
    """A run file is malformed or does not fit the dataset."""


@dataclass(frozen=True)
class Candidates:
    """Per query, the first-stage documents best first, with their first-stage scores."""

    method: str
    top_k: int
    by_query: dict[str, list[tuple[str, float]]]
    config: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_run(self) -> dict[str, dict[str, float]]:
        return {qid: dict(docs) for qid, docs in self.by_query.items()}

    def describe(self) -> dict[str, Any]:
        return {"method": self.method, "top_k": self.top_k, **self.config}


def bm25_candidates(dataset: Dataset, top_k: int, config: BM25Config | None = None) -> Candidates:
    """BM25 top-``top_k`` over the whole corpus for every query in the dataset."""
    config = config or BM25Config()
    doc_ids = list(dataset.corpus)
    index = BM25Index([dataset.corpus[d].full_text for d in doc_ids], config)
    query_ids = sorted(dataset.queries)
    hits = index.search([dataset.queries[q] for q in query_ids], top_k)
    by_query: dict[str, list[tuple[str, float]]] = {}
    nothing_to_search: list[str] = []
    for qid, query_hits in zip(query_ids, hits, strict=True):
        if not query_hits:  # no token to search for (top_k >= 1, the corpus is not empty)
            nothing_to_search.append(qid)
        else:
            by_query[qid] = [(doc_ids[pos], score) for pos, score in query_hits]
    warnings = []
    if nothing_to_search:
        shown = ", ".join(repr(q) for q in nothing_to_search[:10])
        more = f" and {len(nothing_to_search) - 10} more" if len(nothing_to_search) > 10 else ""
        warnings.append(f"{dataset.name}: {len(nothing_to_search)} queries have nothing to "
                        f"search for (blank, punctuation or stopwords only): {shown}{more}; "
                        "they get no candidates and, as in trec_eval, averages omit them")
    for warning in warnings:
        log.warning(warning)
    return Candidates(method="bm25", top_k=top_k, by_query=by_query,
                      config={"bm25": config.describe()}, warnings=warnings)


def run_file_candidates(path: Path, dataset: Dataset, top_k: int) -> Candidates:
    """Read a TREC run (``qid Q0 docid rank score tag``) and keep each query's top ``top_k``.

    The rank column is ignored and documents are ordered as trec_eval orders them
    (score descending, ties by doc id descending). Parsed here rather than with
    ``ir_measures.read_trec_run`` so that errors can name the line.
    """
    path = Path(path)
    if not path.is_file():
        raise CandidatesError(f"run file {path} does not exist")
    scores: dict[str, dict[str, float]] = {}
    unknown_docs: dict[str, int] = {}
    # utf-8-sig: a leading byte-order mark is dropped, not read into the first query id
    with path.open(encoding="utf-8-sig") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 6:
                raise CandidatesError(
                    f"{path} line {line_no}: expected 6 columns 'qid Q0 docid rank score tag', "
                    f"got {len(parts)} (ids cannot hold whitespace: a TREC line is split on it)"
                )
            qid, _, doc_id, _, raw_score, _ = parts
            try:
                score = float(raw_score)
            except ValueError:
                raise CandidatesError(
                    f"{path} line {line_no}: score {raw_score!r} is not a number"
                ) from None
            if doc_id not in dataset.corpus:
                unknown_docs[doc_id] = unknown_docs.get(doc_id, 0) + 1
                continue
            query_docs = scores.setdefault(qid, {})
            if doc_id in query_docs:
                raise CandidatesError(
                    f"{path} line {line_no}: document {doc_id!r} appears twice for query {qid!r}"
                )
            query_docs[doc_id] = score
    warnings = []
    if unknown_docs:
        example = next(iter(unknown_docs))
        warnings.append(f"{path}: {sum(unknown_docs.values())} lines name {len(unknown_docs)} "
                        f"documents not in the corpus (e.g. {example!r}); skipped")
    unknown_queries = sorted(set(scores) - set(dataset.queries))
    if unknown_queries:
        warnings.append(f"{path}: {len(unknown_queries)} queries are not in the dataset's "
                        f"{dataset.split} queries (e.g. {unknown_queries[0]!r}); skipped")
    missing = sorted(set(dataset.queries) - set(scores))
    if missing:
        warnings.append(f"{path}: {len(missing)} of {len(dataset.queries)} queries have no "
                        f"candidates (e.g. {missing[0]!r}); as in trec_eval, averages omit them")
    if not set(scores) & set(dataset.queries):
        raise CandidatesError(f"{path}: no query id matches the dataset {dataset.name!r}")
    for warning in warnings:
        log.warning(warning)
    by_query = {
        qid: trec_eval_order(docs)[:top_k]
        for qid, docs in sorted(scores.items()) if qid in dataset.queries
    }
    return Candidates(method="run", top_k=top_k, by_query=by_query,
                      config={"run_file": str(path)}, warnings=warnings)
