"""The data that crosses the one rerank interface.

Every reranker, local or remote, takes a :class:`RerankRequest` and returns a
:class:`RerankResponse`. The harness only ever sees these types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class Document:
    """A candidate document: the text a reranker scores, its id, and optional structured fields.

    ``fields`` carries structured data (title, url, ...) for providers that rank on
    fields (``rank_fields``) or accept YAML-encoded objects.
    """

    text: str
    id: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def coerce(cls, value: Document | str | Mapping[str, Any]) -> Document:
        """Accept strings and ``{"text": ..., "id": ...}`` mappings at the edge."""
        if isinstance(value, Document):
            return value
        if isinstance(value, str):
            return cls(text=value)
        if isinstance(value, Mapping):
            if "text" not in value:
                raise ValueError(f"document mapping has no 'text' field: keys {sorted(value)}")
            extra = {k: v for k, v in value.items() if k not in ("text", "id")}
            doc_id = value.get("id")
            return cls(text=str(value["text"]), id=None if doc_id is None else str(doc_id),
                       fields=extra)
        raise TypeError(f"cannot make a Document from {type(value).__name__}")


@dataclass(frozen=True)
class RerankRequest:
    """One query and its candidates: only what every reranker understands.

    Provider knobs (``truncate``, ``max_tokens_per_document``, ``rank_fields``,
    ``return_documents``, ``metadata``, ``user``, ``extra_body``) are spec or suite
    options of the providers that support them, validated when the reranker is built.
    """

    query: str
    documents: Sequence[Document]
    top_n: int | None = None

    def __post_init__(self) -> None:
        docs = tuple(Document.coerce(d) for d in self.documents)
        object.__setattr__(self, "documents", docs)
        if self.top_n is not None and self.top_n < 1:
            raise ValueError(f"top_n must be >= 1, got {self.top_n}")


@dataclass(frozen=True)
class RankedResult:
    """A scored document: ``index`` points into ``RerankRequest.documents``."""

    index: int
    relevance_score: float


@dataclass(frozen=True)
class Usage:
    """What a call consumed, as reported by the provider or measured locally.

    ``None`` means "not reported" and is kept distinct from 0: a provider that reports
    no tokens must not look free. ``cost_usd`` is computed from reported usage and a
    dated price table, never invented.
    """

    requests: int = 0
    """Every HTTP request sent: successes, failures, retries and rejected answers."""
    tokens: int | None = None
    search_units: float | None = None
    cost_usd: float | None = None
    compute_s: float | None = None
    """Busy time of local hardware, the basis of a local reranker's cost."""
    retries: int = 0
    retry_wait_s: float = 0.0
    cache_hits: int = 0
    reused_documents: int = 0
    """Distinct documents of a call whose embeddings (or other per-document work) came
    from earlier calls of a local reranker (cross-query reuse, :class:`ReusesWork`)."""
    split_requests: int = 0
    """Requests beyond the first because the candidates exceeded a per-request maximum."""
    truncated_documents: int = 0
    requests_failed: int = 0
    """Of ``requests``, those that gave no result: error statuses, timeouts, connection
    failures, and answers rejected by validation."""
    requests_rejected: int = 0
    """Of ``requests_failed``, the 2xx answers rejected by validation (bad JSON, bad
    indices or scores): a provider bills these, so their reported tokens or search units
    (when readable) are in ``tokens`` / ``search_units`` and priced in ``cost_usd``."""

    def __add__(self, other: Usage) -> Usage:
        def add_optional(a: float | None, b: float | None) -> float | None:
            if a is None and b is None:
                return None
            return (a or 0) + (b or 0)

        merged: dict[str, Any] = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            merged[f.name] = add_optional(a, b) if f.name in _OPTIONAL_USAGE else a + b
        return Usage(**merged)

    def with_cost(self, cost_usd: float | None) -> Usage:
        return replace(self, cost_usd=cost_usd)


_OPTIONAL_USAGE = {"tokens", "search_units", "cost_usd", "compute_s"}

_USAGE_ATTRIBUTE = "_rerank_eval_usage"


def attach_usage(error: BaseException, usage: Usage) -> BaseException:
    """Record on a failed call's error what the call sent (and was billed) before failing."""
    setattr(error, _USAGE_ATTRIBUTE, usage)
    return error


def take_usage(error: BaseException) -> Usage | None:
    """The usage attached to ``error``, once: the error of a request shared by two callers
    (identical requests in flight) is raised to both, and its usage must count once."""
    usage = vars(error).pop(_USAGE_ATTRIBUTE, None)
    return usage if isinstance(usage, Usage) else None


@dataclass(frozen=True)
class RerankResponse:
    """Results best first, what the call used, and its wall time (retries and queueing included)."""

    results: Sequence[RankedResult]
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    score_kind: str | None = None
    """How scores are defined, e.g. 'cosine', 'logit', 'sigmoid', 'bm25', 'provider'."""
    server_ms: Mapping[str, float] | None = None
    """Time the server says it spent, by phase (``inference``, ``queue``, ``tokenization``,
    ``total``; ms), read from its response headers (TEI's ``x-*-time``, W3C
    ``Server-Timing``); None when it sent none. Summed over a call's split requests."""

    def scores_by_index(self) -> dict[int, float]:
        return {r.index: r.relevance_score for r in self.results}
