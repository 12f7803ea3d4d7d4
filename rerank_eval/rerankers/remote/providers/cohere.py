"""Cohere Rerank: ``POST /v2/rerank`` (default) or ``/v1/rerank`` (``api_version=1``).

- v2: ``model``, ``query``, ``documents`` (strings only: structured documents go as
  YAML), ``top_n``, ``max_tokens_per_doc``, ``priority``.
- v1: with ``rank_fields``, documents go as objects (``{"text", **fields}``) and Cohere
  ranks on those fields; without, as strings like v2. Also ``return_documents``,
  ``max_chunks_per_doc``.
- Usage: ``meta.billed_units.search_units`` (a number; about one per 100 documents).
  Cohere reports no tokens for rerank.
- Env: ``COHERE_API_KEY`` (or the SDK's ``CO_API_KEY``), ``COHERE_BASE_URL``.
- Cohere truncates long documents itself (``max_tokens_per_doc``, default 4096), so
  ``truncate=false`` cannot be honoured and is refused.

Options: ``api_version`` (1 or 2), ``max_tokens_per_doc`` (v2), ``max_chunks_per_doc``
(v1), ``priority`` (v2), ``rank_fields`` (v1: ranked on; v2: the fields put in the YAML),
``return_documents`` (v1), ``truncate`` (true only), ``extra_body`` (merged into the
body), plus the common remote options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from rerank_eval.rerankers.base import Runtime
from rerank_eval.rerankers.registry import register
from rerank_eval.rerankers.remote import dialect as read
from rerank_eval.rerankers.remote.dialect import Answer, Parsed, with_extra_body
from rerank_eval.rerankers.remote.documents import as_object, encode
from rerank_eval.rerankers.remote.profile import ProviderProfile
from rerank_eval.rerankers.spec import (
    RerankerSpec,
    RerankerSpecError,
    names_list,
    object_option,
    option,
)
from rerank_eval.types import Document

if TYPE_CHECKING:
    from rerank_eval.rerankers.remote.reranker import RemoteReranker

PROFILE = ProviderProfile(
    kind="cohere",
    summary="Cohere Rerank /v2/rerank (v1 with api_version=1); billed in search units",
    arg_help="MODEL, e.g. rerank-v3.5; max 1,000 documents per request (split above)",
    api_key_env=("COHERE_API_KEY", "CO_API_KEY"),
    base_url_env=("COHERE_BASE_URL",),
    default_base_url="https://api.cohere.com",
    endpoint_path="/v2/rerank",
    max_documents=1000,
    price_provider="cohere",
    options=frozenset({"api_version", "max_tokens_per_doc", "max_chunks_per_doc", "priority",
                       "truncate", "rank_fields", "return_documents", "extra_body"}),
    option_hints=(("max_tokens_per_document", "max_tokens_per_doc (v2)"),),
)


@dataclass(frozen=True)
class CohereDialect:
    model: str | None
    api_version: int = 2
    max_tokens_per_doc: int | None = None
    max_chunks_per_doc: int | None = None
    priority: int | None = None
    rank_fields: tuple[str, ...] | None = None
    return_documents: bool = False
    extra_body: Mapping[str, Any] | None = None
    sends_top_n: bool = True

    @classmethod
    def from_spec(cls, spec: RerankerSpec) -> CohereDialect:
        api_version = option(spec, "api_version", int, 2)
        if api_version not in (1, 2):
            raise RerankerSpecError(f"reranker {spec.text!r}: api_version must be 1 or 2")
        max_tokens = option(spec, "max_tokens_per_doc", int, None)
        max_chunks = option(spec, "max_chunks_per_doc", int, None)
        priority = option(spec, "priority", int, None)
        if api_version == 2 and max_chunks is not None:
            raise RerankerSpecError(f"reranker {spec.text!r}: max_chunks_per_doc is v1 only; "
                                    "use max_tokens_per_doc")
        if api_version == 1 and (max_tokens or priority is not None):
            raise RerankerSpecError(f"reranker {spec.text!r}: max_tokens_per_doc and priority "
                                    "are v2 only")
        truncate = option(spec, "truncate", bool, None)
        if truncate is False:
            raise RerankerSpecError(f"reranker {spec.text!r}: Cohere always truncates long "
                                    "documents; truncate=false cannot be honoured")
        return_documents = option(spec, "return_documents", bool, False)
        if api_version == 2 and return_documents:
            raise RerankerSpecError(f"reranker {spec.text!r}: return_documents is v1 only")
        return cls(model=spec.arg, api_version=api_version, max_tokens_per_doc=max_tokens,
                   max_chunks_per_doc=max_chunks, priority=priority,
                   rank_fields=option(spec, "rank_fields", names_list, None),
                   return_documents=return_documents,
                   extra_body=object_option(spec, "extra_body"))

    def build_body(self, query: str, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        if self.api_version == 1 and self.rank_fields is not None:
            docs: list[Any] = [as_object(d) for d in documents]
        else:
            docs = encode(documents, "string", self.rank_fields)
        body: dict[str, Any] = {"model": self.model, "query": query, "documents": docs}
        if top_n is not None:
            body["top_n"] = top_n
        if self.api_version == 2:
            if self.max_tokens_per_doc is not None:
                body["max_tokens_per_doc"] = self.max_tokens_per_doc
            if self.priority is not None:
                body["priority"] = self.priority
        else:
            if self.rank_fields is not None:
                body["rank_fields"] = list(self.rank_fields)
            if self.return_documents:
                body["return_documents"] = True
            if self.max_chunks_per_doc is not None:
                body["max_chunks_per_doc"] = self.max_chunks_per_doc
        return with_extra_body(body, self.extra_body)

    def parse(self, answer: Answer) -> Parsed:
        data = answer.data
        pairs = read.pairs(read.items(data, "results"), "relevance_score")
        meta = data.get("meta")
        billed = meta.get("billed_units") if isinstance(meta, dict) else None
        units = billed.get("search_units") if isinstance(billed, dict) else None
        return Parsed(pairs=pairs, search_units=read.number(units, "search_units"),
                      server_ms=read.server_timing(answer.headers))


def create_cohere(spec: RerankerSpec, runtime: Runtime | None = None) -> RemoteReranker:
    from rerank_eval.rerankers.remote.reranker import RemoteReranker, check_remote_options

    check_remote_options(spec, PROFILE)
    dialect = CohereDialect.from_spec(spec)
    profile = replace(PROFILE, endpoint_path=f"/v{dialect.api_version}/rerank")
    if dialect.api_version == 1:
        # v1: len(documents) * max_chunks_per_doc (default 10) must stay below 10,000
        profile = replace(profile, max_documents=min(1000, 9999 //
                                                     (dialect.max_chunks_per_doc or 10)))
    return RemoteReranker(spec, profile, dialect, runtime)


register(PROFILE.kind_entry("rerank_eval.rerankers.remote.providers.cohere:create_cohere"))
