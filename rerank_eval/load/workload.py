"""The requests of a load test: a dataset's real queries with their first-stage candidates.

The workload is built as ``run`` builds a cell's requests: the dataset resolved by
:func:`rerank_eval.datasets.load_dataset` (``quick``, the default, is the built-in
collection of the ``quick`` suite), BM25 top-k over the whole corpus
(:func:`rerank_eval.candidates.bm25_candidates`), and each document sent as its
``full_text``. Requests cycle through the queries in sorted id order.

``cache_bust`` prefixes each query with a token unique to the request and to the run
(``[1f3a9c02-17] ...``), so that no cache (the provider's, a proxy's, or this client's
merging of identical requests in flight) can answer a request without doing the work.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from rerank_eval.types import Document, RerankRequest

BUILTIN_DATASET = "quick"
"""The built-in offline collection (``suites/quick``), the default ``--dataset``."""


@dataclass(frozen=True)
class WorkItem:
    """One query and its candidates, as they are sent."""

    query_id: str
    query: str
    documents: tuple[Document, ...]


@dataclass(frozen=True)
class Workload:
    dataset: str
    top_k: int
    items: tuple[WorkItem, ...]
    corpus: tuple[Document, ...] = field(default=(), repr=False, compare=False)
    """Every corpus document, for a reranker that indexes the corpus first (bm25)."""

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError(f"dataset {self.dataset!r}: no query has candidates to rerank")

    def documents_per_request(self) -> dict[str, float | int]:
        """Mean, min and max documents per request over the workload's queries."""
        counts = [len(item.documents) for item in self.items]
        return {"mean": round(sum(counts) / len(counts), 3), "min": min(counts),
                "max": max(counts)}


class RequestSource:
    """Hands out the workload's requests in turn, cycling; numbers each one.

    One source serves a whole sweep (warm-up included), so every request of the run has
    its own number and, with ``cache_bust``, its own query text.
    """

    def __init__(self, workload: Workload, *, cache_bust: bool = False,
                 run_token: str | None = None) -> None:
        self.workload = workload
        self.cache_bust = cache_bust
        self.run_token = run_token or secrets.token_hex(4)
        """Unique per run (random, whatever the seed): a rerun busts the cache again."""
        self.issued = 0

    def next(self) -> RerankRequest:
        item = self.workload.items[self.issued % len(self.workload.items)]
        number = self.issued
        self.issued += 1
        query = f"[{self.run_token}-{number}] {item.query}" if self.cache_bust else item.query
        return RerankRequest(query=query, documents=item.documents)


def builtin_collection() -> Path | None:
    """The ``quick`` suite's collection: under ``./suites`` or beside the package (a
    source checkout); None when neither has it."""
    roots = (Path.cwd() / "suites", Path(__file__).resolve().parents[2] / "suites")
    for root in roots:
        folder = root / BUILTIN_DATASET
        if (folder / "corpus.jsonl").is_file():
            return folder
    return None


def resolve_dataset_path(name: str) -> str | Path:
    """What to hand :func:`rerank_eval.datasets.load_dataset`: the built-in collection for
    ``quick`` (unless a path, ``$RERANK_EVAL_DATASETS`` or the cache has one by that name),
    else ``name`` itself."""
    if name != BUILTIN_DATASET or Path(name).exists():
        return name
    from rerank_eval.datasets import load_dataset
    from rerank_eval.datasets.model import DatasetError

    try:
        load_dataset(name, download=False)
    except DatasetError:
        builtin = builtin_collection()
        if builtin is not None:
            return builtin
    return name


def build_workload(dataset_name: str, top_k: int) -> Workload:
    """Load ``dataset_name`` and take BM25 top-``top_k`` candidates for each of its queries.

    Raises :class:`rerank_eval.datasets.DatasetError` when the dataset cannot be loaded.
    """
    from rerank_eval.candidates import bm25_candidates
    from rerank_eval.datasets import load_dataset

    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    dataset = load_dataset(resolve_dataset_path(dataset_name))
    candidates = bm25_candidates(dataset, top_k)
    items = []
    for query_id in sorted(candidates.by_query):
        docs = tuple(Document(text=dataset.corpus[d].full_text, id=d)
                     for d, _ in candidates.by_query[query_id])
        items.append(WorkItem(query_id, dataset.queries[query_id], docs))
    corpus = tuple(Document(text=doc.full_text, id=doc_id)
                   for doc_id, doc in dataset.corpus.items())
    return Workload(dataset=dataset_name, top_k=top_k, items=tuple(items), corpus=corpus)

