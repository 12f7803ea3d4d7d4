"""Hugging Face text-embeddings-inference: ``POST {URL}/rerank``.

- ``tei:URL`` (or ``TEI_BASE_URL``); the key (``TEI_API_KEY``) only if the server was
  started with ``--api-key``.
- Body ``{query, texts, truncate, truncation_direction, raw_scores, return_text}``;
  structured documents go as YAML strings. ``truncate`` is sent only when set (the
  server's ``--auto-truncate`` decides otherwise).
- Answer: a bare JSON array ``[{index, score}]``.
- Usage: TEI puts none in the body. The ``x-compute-tokens`` response header is read
  when present; without it tokens stay ``None`` (unreported, not estimated). A
  self-hosted server has no per-call price: cost is ``None``.
- At most 32 texts per request by default (``--max-client-batch-size``): larger
  candidate lists are split; raise ``max_documents_per_request`` to match your server.

Options: ``raw_scores`` (bool), ``truncation_direction`` (left/right), plus the common
remote options.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerank_eval.rerankers.base import RerankerSpec, RerankerSpecError, option
from rerank_eval.rerankers.http import HttpResult
from rerank_eval.rerankers.remote import Parsed, RemoteReranker, with_extra_body
from rerank_eval.secrets import safe_url
from rerank_eval.types import Document, RerankRequest


class TeiReranker(RemoteReranker):
    kind = "tei"
    api_key_env = ("TEI_API_KEY",)
    base_url_env = ("TEI_BASE_URL",)
    default_base_url = None
    endpoint_path = "/rerank"
    api_key_required = False
    model_required = False
    max_documents = 32
    supports_top_n = False  # TEI scores every text; top_n is cut after merging
    provider_options = frozenset({"raw_scores", "truncation_direction"})

    def __init__(self, spec: RerankerSpec) -> None:
        self.raw_scores = option(spec, "raw_scores", bool, None)
        direction = option(spec, "truncation_direction", str, None)
        if direction is not None and direction.lower() not in ("left", "right"):
            raise RerankerSpecError(f"reranker {spec.text!r}: truncation_direction must be "
                                    "left or right")
        self.truncation_direction = direction
        if spec.arg and "base_url" not in spec.options:
            spec = type(spec)(kind=spec.kind, arg=spec.arg,
                              options={**spec.options, "base_url": spec.arg})
        super().__init__(spec)
        self.name = f"tei:{safe_url(spec.arg)}" if spec.arg else "tei"

    def _model_from(self, spec: RerankerSpec) -> str | None:
        return None  # TEI serves one model; the URL names it

    def build_body(self, request: RerankRequest, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        self.unsupported(request, "max_tokens_per_document")
        body: dict[str, Any] = {"query": request.query,
                                "texts": self.encode_documents(request, documents)}
        if request.truncate is not None:
            if not isinstance(request.truncate, bool):
                raise ValueError(f"{self.name}: truncate must be true or false for TEI")
            body["truncate"] = request.truncate
        if self.truncation_direction is not None:
            body["truncation_direction"] = self.truncation_direction
        if self.raw_scores is not None:
            body["raw_scores"] = self.raw_scores
        return with_extra_body(body, request)

    def parse(self, result: HttpResult) -> Parsed:
        items = self.items(result, result.data, None)
        pairs = self.pairs(result, items, "score")
        raw = result.headers.get("x-compute-tokens")
        tokens = None
        if raw is not None:
            try:
                tokens = int(raw)
            except ValueError:
                raise self.http.malformed(result, f"x-compute-tokens is not an integer: "
                                                  f"{raw!r}") from None
        return Parsed(pairs=pairs, tokens=tokens)


def create_tei(spec: RerankerSpec) -> TeiReranker:
    return TeiReranker(spec)
