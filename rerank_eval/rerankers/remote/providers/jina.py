"""Jina AI Reranker: ``POST https://api.jina.ai/v1/rerank``.

- Body ``{model, query, documents, top_n, return_documents}``. ``return_documents`` is
  **always sent**: its default is disputed (documented true, reported changed to
  false), and we never rely on echoed text anyway.
- Structured documents go as YAML strings (``rank_fields``: only those fields).
- Usage: ``usage.total_tokens``. No price in ``pricing.toml`` (unconfirmed), so
  ``cost_usd`` is ``None`` unless a price is given in the suite.
- Per-request maximum unconfirmed: no splitting by default (listwise models such as
  jina-reranker-v3 score a list jointly, so split scores would not be comparable);
  set ``max_documents_per_request`` if your account needs it.
- Env: ``JINA_API_KEY``, ``JINA_BASE_URL``.

Options: ``return_documents``, ``rank_fields``, ``extra_body``, plus the common remote
options. ``truncate`` and ``max_tokens_per_document`` are refused (no such field).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rerank_eval.rerankers.base import Runtime
from rerank_eval.rerankers.registry import register
from rerank_eval.rerankers.remote import dialect as read
from rerank_eval.rerankers.remote.dialect import Answer, Parsed, with_extra_body
from rerank_eval.rerankers.remote.documents import encode
from rerank_eval.rerankers.remote.profile import ProviderProfile
from rerank_eval.rerankers.spec import RerankerSpec, names_list, object_option, option
from rerank_eval.types import Document

if TYPE_CHECKING:
    from rerank_eval.rerankers.remote.reranker import RemoteReranker

PROFILE = ProviderProfile(
    kind="jina",
    summary="Jina AI /v1/rerank; usage.total_tokens; price unconfirmed (cost null)",
    arg_help="MODEL, e.g. jina-reranker-v2-base-multilingual; no split by default",
    api_key_env=("JINA_API_KEY",),
    base_url_env=("JINA_BASE_URL",),
    default_base_url="https://api.jina.ai",
    max_documents=None,
    price_provider="jina",
    options=frozenset({"return_documents", "rank_fields", "extra_body"}),
)


@dataclass(frozen=True)
class JinaDialect:
    model: str | None
    return_documents: bool = False
    rank_fields: tuple[str, ...] | None = None
    extra_body: Mapping[str, Any] | None = None
    sends_top_n: bool = True

    @classmethod
    def from_spec(cls, spec: RerankerSpec) -> JinaDialect:
        return cls(model=spec.arg,
                   return_documents=option(spec, "return_documents", bool, False),
                   rank_fields=option(spec, "rank_fields", names_list, None),
                   extra_body=object_option(spec, "extra_body"))

    def build_body(self, query: str, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "query": query,
                                "documents": encode(documents, "string", self.rank_fields)}
        if top_n is not None:
            body["top_n"] = top_n
        body["return_documents"] = bool(self.return_documents)
        return with_extra_body(body, self.extra_body)

    def parse(self, answer: Answer) -> Parsed:
        pairs = read.pairs(read.items(answer.data, "results"), "relevance_score")
        return Parsed(pairs=pairs, tokens=read.usage_tokens(answer.data, "total_tokens"),
                      server_ms=read.server_timing(answer.headers))


def create_jina(spec: RerankerSpec, runtime: Runtime | None = None) -> RemoteReranker:
    from rerank_eval.rerankers.remote.reranker import RemoteReranker, check_remote_options

    check_remote_options(spec, PROFILE)
    return RemoteReranker(spec, PROFILE, JinaDialect.from_spec(spec), runtime)


register(PROFILE.kind_entry("rerank_eval.rerankers.remote.providers.jina:create_jina"))
