"""Mixedbread reranking: ``POST https://api.mixedbread.com/v1/reranking``.

- Body ``{model, query, input, top_k, rank_fields, return_input, rewrite_query}``:
  the documents field is ``input`` and the cut-off is ``top_k``.
- Documents with fields: with ``rank_fields`` they go as objects and Mixedbread ranks on
  those fields; without, as YAML strings.
- Answer ``data[].{index, score}`` (``score``, not ``relevance_score``); usage
  ``usage.prompt_tokens`` (``total_tokens`` if that is missing).
- At most 1,000 documents per request (split above that). Mixedbread truncates long
  documents itself, so ``truncate=false`` is refused.
- Env: ``MXBAI_API_KEY`` (or the SDK's ``MIXEDBREAD_API_KEY``), ``MXBAI_BASE_URL`` (or
  the SDK's ``MIXEDBREAD_BASE_URL``).

Options: ``rewrite_query`` (bool), ``rank_fields``, ``return_documents`` (sent as
``return_input``), ``truncate`` (true only), ``extra_body``, plus the common remote
options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    kind="mixedbread",
    summary="Mixedbread /v1/reranking (input, top_k, rank_fields); usage.prompt_tokens",
    arg_help="MODEL, e.g. mixedbread-ai/mxbai-rerank-large-v2; max 1,000 per request",
    api_key_env=("MXBAI_API_KEY", "MIXEDBREAD_API_KEY"),
    base_url_env=("MXBAI_BASE_URL", "MIXEDBREAD_BASE_URL"),
    default_base_url="https://api.mixedbread.com",
    endpoint_path="/v1/reranking",
    max_documents=1000,
    price_provider="mixedbread",
    options=frozenset({"rewrite_query", "rank_fields", "return_documents", "truncate",
                       "extra_body"}),
)


@dataclass(frozen=True)
class MixedbreadDialect:
    model: str | None
    rewrite_query: bool | None = None
    rank_fields: tuple[str, ...] | None = None
    return_documents: bool = False
    extra_body: Mapping[str, Any] | None = None
    sends_top_n: bool = True

    @classmethod
    def from_spec(cls, spec: RerankerSpec) -> MixedbreadDialect:
        if option(spec, "truncate", bool, None) is False:
            raise RerankerSpecError(f"reranker {spec.text!r}: Mixedbread always truncates "
                                    "long documents; truncate=false cannot be honoured")
        return cls(model=spec.arg, rewrite_query=option(spec, "rewrite_query", bool, None),
                   rank_fields=option(spec, "rank_fields", names_list, None),
                   return_documents=option(spec, "return_documents", bool, False),
                   extra_body=object_option(spec, "extra_body"))

    def build_body(self, query: str, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        if self.rank_fields is not None:
            inputs: list[Any] = [as_object(d) for d in documents]
        else:
            inputs = encode(documents, "string")
        body: dict[str, Any] = {"model": self.model, "query": query, "input": inputs}
        if self.rank_fields is not None:
            body["rank_fields"] = list(self.rank_fields)
        if top_n is not None:
            body["top_k"] = top_n
        if self.return_documents:
            body["return_input"] = True
        if self.rewrite_query is not None:
            body["rewrite_query"] = self.rewrite_query
        return with_extra_body(body, self.extra_body)

    def parse(self, answer: Answer) -> Parsed:
        pairs = read.pairs(read.items(answer.data, "data"), "score")
        return Parsed(pairs=pairs,
                      tokens=read.usage_tokens(answer.data, "prompt_tokens", "total_tokens"),
                      server_ms=read.server_timing(answer.headers))


def create_mixedbread(spec: RerankerSpec, runtime: Runtime | None = None) -> RemoteReranker:
    from rerank_eval.rerankers.remote.reranker import RemoteReranker, check_remote_options

    check_remote_options(spec, PROFILE)
    return RemoteReranker(spec, PROFILE, MixedbreadDialect.from_spec(spec), runtime)


register(PROFILE.kind_entry(
    "rerank_eval.rerankers.remote.providers.mixedbread:create_mixedbread"))
