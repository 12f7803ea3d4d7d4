"""Hugging Face text-embeddings-inference: ``POST {URL}/rerank``.

- ``tei:URL`` (or ``TEI_BASE_URL``); the key (``TEI_API_KEY``) only if the server was
  started with ``--api-key``.
- Body ``{query, texts, truncate, truncation_direction, raw_scores}``; structured
  documents go as YAML strings. ``truncate`` is sent only when set (the server's
  ``--auto-truncate`` decides otherwise).
- Answer: a bare JSON array ``[{index, score}]``.
- Usage: TEI puts none in the body. The ``x-compute-tokens`` response header is read
  when present; without it tokens stay ``None`` (unreported, not estimated). A
  self-hosted server has no per-call price: cost is ``None``.
- Server timing: ``x-total-time``, ``x-tokenization-time``, ``x-queue-time`` and
  ``x-inference-time`` (whole ms) go to ``RerankResponse.server_ms`` as ``total``,
  ``tokenization``, ``queue`` and ``inference`` (``dialect.server_timing``).
- At most 32 texts per request by default (``--max-client-batch-size``): larger
  candidate lists are split; raise ``max_documents_per_request`` to match your server.
- TEI scores every text; ``top_n`` is applied after merging.

Options: ``truncate`` (bool), ``raw_scores`` (bool), ``truncation_direction``
(left/right), ``rank_fields``, ``extra_body``, plus the common remote options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rerank_eval.rerankers.base import Runtime
from rerank_eval.rerankers.registry import register
from rerank_eval.rerankers.remote import dialect as read
from rerank_eval.rerankers.remote.dialect import Answer, MalformedAnswer, Parsed, with_extra_body
from rerank_eval.rerankers.remote.documents import encode
from rerank_eval.rerankers.remote.profile import ProviderProfile
from rerank_eval.rerankers.spec import (
    RerankerSpec,
    RerankerSpecError,
    names_list,
    object_option,
    option,
)
from rerank_eval.secrets import safe_url
from rerank_eval.types import Document

if TYPE_CHECKING:
    from rerank_eval.rerankers.remote.reranker import RemoteReranker

PROFILE = ProviderProfile(
    kind="tei",
    summary="Hugging Face text-embeddings-inference /rerank (self-hosted); "
            "tokens from x-compute-tokens when sent",
    arg_help="URL of the server, e.g. http://localhost:8080; 32 texts per request by default",
    api_key_env=("TEI_API_KEY",),
    base_url_env=("TEI_BASE_URL",),
    default_base_url=None,
    endpoint_path="/rerank",
    api_key_required=False,
    model_required=False,
    arg_is_model=False,
    max_documents=32,
    options=frozenset({"truncate", "raw_scores", "truncation_direction", "rank_fields",
                       "extra_body"}),
)


@dataclass(frozen=True)
class TeiDialect:
    truncate: bool | None = None
    raw_scores: bool | None = None
    truncation_direction: str | None = None
    rank_fields: tuple[str, ...] | None = None
    extra_body: Mapping[str, Any] | None = None
    sends_top_n: bool = False

    @classmethod
    def from_spec(cls, spec: RerankerSpec) -> TeiDialect:
        direction = option(spec, "truncation_direction", str, None)
        if direction is not None and direction.lower() not in ("left", "right"):
            raise RerankerSpecError(f"reranker {spec.text!r}: truncation_direction must be "
                                    "left or right")
        return cls(truncate=option(spec, "truncate", bool, None),
                   raw_scores=option(spec, "raw_scores", bool, None),
                   truncation_direction=direction,
                   rank_fields=option(spec, "rank_fields", names_list, None),
                   extra_body=object_option(spec, "extra_body"))

    def build_body(self, query: str, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query,
                                "texts": encode(documents, "string", self.rank_fields)}
        if self.truncate is not None:
            body["truncate"] = self.truncate
        if self.truncation_direction is not None:
            body["truncation_direction"] = self.truncation_direction
        if self.raw_scores is not None:
            body["raw_scores"] = self.raw_scores
        return with_extra_body(body, self.extra_body)

    def parse(self, answer: Answer) -> Parsed:
        pairs = read.pairs(read.items(answer.data, None), "score")
        raw = answer.headers.get("x-compute-tokens")
        tokens = None
        if raw is not None:
            try:
                tokens = int(raw)
            except ValueError:
                raise MalformedAnswer(f"x-compute-tokens is not an integer: {raw!r}") from None
        return Parsed(pairs=pairs, tokens=tokens,
                      server_ms=read.server_timing(answer.headers, tei=True))


def create_tei(spec: RerankerSpec, runtime: Runtime | None = None) -> RemoteReranker:
    from rerank_eval.rerankers.remote.reranker import RemoteReranker, check_remote_options

    check_remote_options(spec, PROFILE)
    name = f"tei:{safe_url(spec.arg)}" if spec.arg else "tei"
    return RemoteReranker(spec, PROFILE, TeiDialect.from_spec(spec), runtime,
                          base_url=spec.arg, name=name)


register(PROFILE.kind_entry("rerank_eval.rerankers.remote.providers.tei:create_tei"))
