"""First stage: the candidates each query hands to the rerankers.

Either BM25 top-k over the whole corpus (kept in the artifact cache, so a second run of
the same dataset and settings reuses it), or a TREC run file the user supplies (their
own retriever's output). First-stage recall@k is recorded with every result: it is the
ceiling any reranker works under.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerank_eval import atomic
from rerank_eval.bm25_index import BM25Config
from rerank_eval.corpus_index import CorpusIndex, CorpusIndexes, describe_config, index_fields
from rerank_eval.metrics import trec_eval_order

if TYPE_CHECKING:
    from rerank_eval.datasets import Dataset

log = logging.getLogger(__name__)


CANDIDATES_KIND = "candidates"
CANDIDATES_FILE = "candidates.json"


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


def bm25_candidates(dataset: Dataset, top_k: int, config: BM25Config | None = None, *,
                    indexes: CorpusIndexes | None = None) -> Candidates:
    """BM25 top-``top_k`` over the whole corpus for every query in the dataset.

    Kept in the artifact cache (:mod:`rerank_eval.artifacts`) under the dataset's
    fingerprint, split, queries and settings: a second run reuses them. ``indexes``
    supplies the corpus index when they must be computed (and keeps it for a ``bm25``
    reranker with the same settings); by default one with the default cache."""
    config = config or BM25Config()
    indexes = indexes if indexes is not None else CorpusIndexes(dataset)
    query_ids = sorted(dataset.queries)
    fields = {**index_fields(dataset, config), "split": dataset.split, "top_k": top_k,
              "queries": _queries_digest(dataset.queries, query_ids)}

    def build(folder: Path | None) -> Candidates:
        candidates = _search(dataset, indexes.get(config), query_ids, top_k)
        if folder is not None:
            atomic.write_json(folder / CANDIDATES_FILE, _to_json(candidates))
        return candidates

    fetched = indexes.cache.fetch(
        CANDIDATES_KIND, fields, build=build,
        load=lambda entry: _from_json(entry.file(CANDIDATES_FILE)),
        label={"dataset": dataset.name,
               "settings": f"top-{top_k} {dataset.split} {describe_config(config)}"})
    candidates: Candidates = fetched.value
    for warning in candidates.warnings:
        log.warning(warning)
    return candidates


def _search(dataset: Dataset, corpus_index: CorpusIndex, query_ids: list[str],
            top_k: int) -> Candidates:
    hits = corpus_index.index.search([dataset.queries[q] for q in query_ids], top_k)
    doc_ids = corpus_index.doc_ids()
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
    return Candidates(method="bm25", top_k=top_k, by_query=by_query,
                      config={"bm25": corpus_index.config.describe()}, warnings=warnings)


def _queries_digest(queries: Mapping[str, str], query_ids: list[str]) -> str:
    """sha256 of the searched queries (ids and texts): the query set in a cache key."""
    canonical = json.dumps([[q, queries[q]] for q in query_ids], ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _to_json(candidates: Candidates) -> dict[str, Any]:
    return {"method": candidates.method, "top_k": candidates.top_k,
            "config": candidates.config, "warnings": candidates.warnings,
            "by_query": {q: [[d, s] for d, s in docs] for q, docs in candidates.by_query.items()}}


def _from_json(path: Path) -> Candidates:
    """Candidates a verified entry holds (its checksum passed; the shape is checked so
    that a file from another version fails here, not later)."""
    data = json.loads(path.read_text("utf-8"))
    by_query = {str(q): [(str(d), float(s)) for d, s in docs]
                for q, docs in data["by_query"].items()}
    return Candidates(method=str(data["method"]), top_k=int(data["top_k"]), by_query=by_query,
                      config=dict(data["config"]), warnings=[str(w) for w in data["warnings"]])


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


def file_candidates(dataset: Dataset, top_k: int) -> Candidates:
    """The candidates a dataset fixes itself (``Dataset.first_stage``, a candidates file),
    in the file's order, cut to ``top_k`` like a run file's (with a warning when a list
    was longer). Scores are ``n - rank`` (n, n-1, ..., 1 for a list of n), so trec_eval's
    order (score descending) is the file's order exactly."""
    assert dataset.first_stage is not None
    by_query: dict[str, list[tuple[str, float]]] = {}
    cut = 0
    for query_id, doc_ids in sorted(dataset.first_stage.items()):
        kept = doc_ids[:top_k]
        cut += len(kept) < len(doc_ids)
        by_query[query_id] = [(doc_id, float(len(kept) - rank))
                              for rank, doc_id in enumerate(kept)]
    warnings = []
    if cut:
        longest = max(len(docs) for docs in dataset.first_stage.values())
        warnings.append(f"{dataset.name}: {cut} queries have more than top_k = {top_k} "
                        f"candidates (up to {longest}); only the first {top_k} of each are "
                        f"reranked (raise --top-k to {longest} to keep them all)")
    for warning in warnings:
        log.warning(warning)
    where = dataset.path.name if dataset.path is not None else dataset.name
    return Candidates(method="file", top_k=top_k, by_query=by_query,
                      config={"candidates_file": where}, warnings=warnings)
