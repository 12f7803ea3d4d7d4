"""The one rerank interface: what the harness talks to, and its explicit optional parts.

Spec parsing lives in :mod:`.spec`, the kinds and their factories in :mod:`.registry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from rerank_eval.types import Document, RerankRequest, RerankResponse


@runtime_checkable
class Reranker(Protocol):
    """What the harness talks to. Local models and remote APIs look the same from here."""

    name: str
    """Stable id used in results, e.g. ``cohere:rerank-v3.5``."""

    max_concurrency: int
    """How many ``rerank`` calls the harness may keep in flight at once."""

    async def rerank(self, request: RerankRequest) -> RerankResponse: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class CorpusAware(Protocol):
    """Optional: a reranker that can use whole-corpus statistics (e.g. BM25's IDF).

    The harness calls ``index_corpus`` once per dataset before reranking, when a
    reranker has it. Remote APIs never do; the interface above stays the contract.
    """

    def index_corpus(self, documents: Sequence[Document]) -> None: ...


@runtime_checkable
class SharesCorpusIndex(Protocol):
    """Optional, beside :class:`CorpusAware`: a reranker that scores with the dataset's
    BM25 corpus index instead of indexing the corpus itself.

    The harness calls ``use_corpus_index`` instead of ``index_corpus`` with the dataset's
    :class:`rerank_eval.corpus_index.CorpusIndexes`, which hold the first stage's index
    (built once per dataset and settings, kept in the artifact cache); the reranker takes
    the one for its own settings.
    """

    def use_corpus_index(self, indexes: Any) -> None: ...


@runtime_checkable
class PricedByUsage(Protocol):
    """Optional: a reranker whose ``usage.cost_usd`` comes from a dated price table entry.

    ``price`` (a :class:`rerank_eval.pricing.Price`, or None when no entry applies) is
    recorded beside the cost so every figure can be traced to its price and date.
    """

    price: Any


@runtime_checkable
class PricedByHardware(Protocol):
    """Optional: a local reranker; its busy time (``usage.compute_s``) is priced by the hour.

    ``device`` is where it runs (``cpu``, ``cuda``, ``cuda:1``, ``mps``); the harness
    prices the busy time at that hardware's hourly rate.
    """

    device: str


@runtime_checkable
class ReusesWork(Protocol):
    """Optional: a reranker that reuses work across calls (a bi-encoder's document
    embeddings), so a call's cost depends on the calls before it.

    ``cross_query_reuse`` is True by default; the harness sets it to False for its
    latency pass, where each call must do all its own work (de-duplicated within the
    call, nothing kept for the next one) so its wall time is what one request to a
    service costs. A reranker that does this reports the reuse in
    ``usage.reused_documents``. Preparation done once before a cell
    (``CorpusAware.index_corpus``) is not cross-query reuse.

    Scores must not depend on reuse beyond ``score_tolerance``: the largest score
    difference that computing the same input in another batch can cause (finite-precision
    matrix products depend on a batch's row count: about 1e-7 in fp32, 1e-3 in bf16).
    The harness checks the latency pass's scores against the main pass's with it.
    """

    cross_query_reuse: bool
    score_tolerance: float


@dataclass(frozen=True)
class Runtime:
    """How this process runs rerankers, as opposed to what a spec says about one.

    Passed to every factory; local kinds ignore what does not concern them.
    """

    response_cache: bool = True
    """False: remote rerankers neither read nor write the response cache (``--no-cache``)."""
    transport: Any = None
    """An ``httpx.AsyncBaseTransport`` for remote rerankers (tests: ``httpx.ASGITransport``)."""
    clock: Any = None
    """A clock for waits and timings (tests: a virtual clock); None is the system clock."""
    share_in_flight: bool = True
    """False: every call sends its own request, even while an identical one is in flight
    (a load test: each request must reach the endpoint). True saves paying twice when a
    dataset repeats a query."""

