"""Voyage AI rerank: ``POST https://api.voyageai.com/v1/rerank``.

- Body ``{query, documents, model, top_k, truncation}``; documents are strings only
  (structured documents go as YAML). ``return_documents`` is sent only when asked for.
- ``truncation`` (default true at Voyage): the option ``truncation`` (true/false), sent
  only when given.
- Answer ``data[].{index, relevance_score}``; usage ``usage.total_tokens`` (Voyage counts
  query tokens × documents + document tokens).
- At most 1,000 documents per request (split above that).
- Env: ``VOYAGE_API_KEY``, ``VOYAGE_BASE_URL``. Keys issued by MongoDB (``al-...``) go
  to ``https://ai.mongodb.com/v1`` unless a base URL is given, as the SDK does.

Options: ``truncation``, ``return_documents``, ``rank_fields``, ``extra_body``, plus the
common remote options. ``max_tokens_per_document`` is refused (no such field).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from rerank_eval.rerankers.base import Runtime
from rerank_eval.rerankers.registry import register
from rerank_eval.rerankers.remote import dialect as read
from rerank_eval.rerankers.remote.dialect import Answer, Parsed, with_extra_body
from rerank_eval.rerankers.remote.documents import encode
from rerank_eval.rerankers.remote.profile import ProviderProfile, first_env
from rerank_eval.rerankers.spec import RerankerSpec, names_list, object_option, option
from rerank_eval.types import Document

if TYPE_CHECKING:
    from rerank_eval.rerankers.remote.reranker import RemoteReranker

MONGODB_BASE_URL = "https://ai.mongodb.com/v1"

PROFILE = ProviderProfile(
    kind="voyage",
    summary="Voyage AI /v1/rerank (top_k, truncation); usage.total_tokens",
    arg_help="MODEL, e.g. rerank-2.5; max 1,000 documents per request (split above)",
    api_key_env=("VOYAGE_API_KEY",),
    base_url_env=("VOYAGE_BASE_URL",),
    default_base_url="https://api.voyageai.com",
    max_documents=1000,
    price_provider="voyage",
    options=frozenset({"truncation", "return_documents", "rank_fields", "extra_body"}),
    option_hints=(("truncate", "truncation=true|false"),),
)


@dataclass(frozen=True)
class VoyageDialect:
    model: str | None
    truncation: bool | None = None
    return_documents: bool = False
    rank_fields: tuple[str, ...] | None = None
    extra_body: Mapping[str, Any] | None = None
    sends_top_n: bool = True

    @classmethod
    def from_spec(cls, spec: RerankerSpec) -> VoyageDialect:
        return cls(model=spec.arg, truncation=option(spec, "truncation", bool, None),
                   return_documents=option(spec, "return_documents", bool, False),
                   rank_fields=option(spec, "rank_fields", names_list, None),
                   extra_body=object_option(spec, "extra_body"))

    def build_body(self, query: str, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query,
                                "documents": encode(documents, "string", self.rank_fields),
                                "model": self.model}
        if top_n is not None:
            body["top_k"] = top_n
        if self.truncation is not None:
            body["truncation"] = self.truncation
        if self.return_documents:
            body["return_documents"] = True
        return with_extra_body(body, self.extra_body)

    def parse(self, answer: Answer) -> Parsed:
        pairs = read.pairs(read.items(answer.data, "data"), "relevance_score")
        return Parsed(pairs=pairs, tokens=read.usage_tokens(answer.data, "total_tokens"),
                      server_ms=read.server_timing(answer.headers))


def create_voyage(spec: RerankerSpec, runtime: Runtime | None = None) -> RemoteReranker:
    from rerank_eval.rerankers.remote.reranker import RemoteReranker, check_remote_options

    check_remote_options(spec, PROFILE)
    profile = PROFILE
    key = option(spec, "api_key", str, None) or first_env(PROFILE.api_key_env)[0] or ""
    if key.startswith("al-"):
        profile = replace(PROFILE, default_base_url=MONGODB_BASE_URL)
    return RemoteReranker(spec, profile, VoyageDialect.from_spec(spec), runtime)


register(PROFILE.kind_entry("rerank_eval.rerankers.remote.providers.voyage:create_voyage"))
