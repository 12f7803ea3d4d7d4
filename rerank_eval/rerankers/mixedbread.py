"""Mixedbread reranking: ``POST https://api.mixedbread.com/v1/reranking``.

- Body ``{model, query, input, top_k, rank_fields, return_input, rewrite_query}``:
  the documents field is ``input`` and the cut-off is ``top_k``.
- Documents with fields: with ``rank_fields`` they go as objects and Mixedbread ranks on
  those fields; without, as YAML strings.
- Answer ``data[].{index, score}`` (``score``, not ``relevance_score``); usage
  ``usage.prompt_tokens`` (``total_tokens`` if that is missing).
- At most 1,000 documents per request (split above that). Mixedbread truncates long
  documents itself, so ``truncate=false`` is refused.
- Env: ``MXBAI_API_KEY``, ``MXBAI_BASE_URL`` (or the SDK's ``MIXEDBREAD_BASE_URL``).

Options: ``rewrite_query`` (bool), plus the common remote options.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerank_eval.rerankers.base import RerankerSpec, option
from rerank_eval.rerankers.doc_encoding import as_object
from rerank_eval.rerankers.http import HttpResult
from rerank_eval.rerankers.remote import Parsed, RemoteReranker, with_extra_body
from rerank_eval.types import Document, RerankRequest


class MixedbreadReranker(RemoteReranker):
    kind = "mixedbread"
    price_provider = "mixedbread"
    api_key_env = ("MXBAI_API_KEY", "MIXEDBREAD_API_KEY")
    base_url_env = ("MXBAI_BASE_URL", "MIXEDBREAD_BASE_URL")
    default_base_url = "https://api.mixedbread.com"
    endpoint_path = "/v1/reranking"
    max_documents = 1000
    provider_options = frozenset({"rewrite_query"})

    def __init__(self, spec: RerankerSpec) -> None:
        self.rewrite_query = option(spec, "rewrite_query", bool, None)
        super().__init__(spec)

    def build_body(self, request: RerankRequest, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        self.unsupported(request, "max_tokens_per_document")
        if request.truncate is not None and request.truncate is not True:
            raise ValueError(f"{self.name}: Mixedbread always truncates long documents; "
                             f"truncate={request.truncate!r} cannot be honoured")
        if request.rank_fields is not None:
            inputs: list[Any] = [as_object(d) for d in documents]
        else:
            inputs = self.encode_documents(request, documents)
        body: dict[str, Any] = {"model": self.model, "query": request.query, "input": inputs}
        if request.rank_fields is not None:
            body["rank_fields"] = list(request.rank_fields)
        if top_n is not None:
            body["top_k"] = top_n
        if request.return_documents:
            body["return_input"] = True
        if self.rewrite_query is not None:
            body["rewrite_query"] = self.rewrite_query
        return with_extra_body(body, request)

    def parse(self, result: HttpResult) -> Parsed:
        pairs = self.pairs(result, self.items(result, result.data, "data"), "score")
        return Parsed(pairs=pairs,
                      tokens=self.usage_tokens(result, "prompt_tokens", "total_tokens"))


def create_mixedbread(spec: RerankerSpec) -> MixedbreadReranker:
    return MixedbreadReranker(spec)
