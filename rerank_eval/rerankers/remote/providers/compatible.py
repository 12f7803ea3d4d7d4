"""Any Cohere-shaped ``/v1/rerank``: routers, gateways and self-hosted servers.

Request ``{model, query, documents, top_n}``; answer ``results[].{index,
relevance_score}``. Each platform is a :class:`ProviderProfile` (where it lives, its env
vars, limits) plus a :class:`Wire` (what its body and answer look like):

- ``compatible:MODEL`` (no preset): the generic platform. ``RERANK_API_KEY``,
  ``RERANK_BASE_URL`` (required). Strings, or objects for documents with fields.
  Usage ``usage.total_tokens`` (else ``prompt_tokens``). ``truncate`` (none/start/end),
  ``max_tokens_per_document``, ``metadata``, ``user`` and ``extra_body`` are sent as
  fields: the platform itself merges ``extra_body`` into the backend request.
- ``mixroute``: ``https://console.mixroute.io``, ``MIXROUTE_*``; strings or objects;
  ``usage.total_tokens``.
- ``searchrouter``: ``https://searchrouter.ai/api``, ``SEARCHROUTER_API_KEY`` (or the
  page's ``SR_API_KEY``); strings (YAML); models are slugs ``provider/model``;
  ``return_documents`` defaults to true there, so false is sent; usage
  ``{total_tokens, search_units, cost}`` and the reported ``cost`` (USD) is the cost.
- ``onerouter`` / ``infron``: ``https://llm.onerouter.pro``, ``ONEROUTER_*`` /
  ``INFRON_*`` (then ``ONEROUTER_*``); strings, structured documents as YAML as the page
  advises; no usage is reported (and none is estimated).
- ``vllm``: ``http://localhost:8000``, ``VLLM_*``, key optional; strings;
  ``usage.{prompt_tokens,total_tokens}``; ``truncate=true`` → ``truncate_prompt_tokens=-1``.
- ``infinity``: ``http://localhost:7997`` with path ``/rerank``, ``INFINITY_*``, key
  optional; strings; at most 2,048 documents per request. Its usage counts
  *characters* by default, so it is not read: characters must not pass for tokens.

Every preset also falls back to ``RERANK_API_KEY`` / ``RERANK_BASE_URL``. Outside the
generic platform, ``extra_body`` is merged into the top level of the request body;
``metadata`` and ``user`` are dropped (they do not change results); ``truncate`` and
``max_tokens_per_document`` are refused where the platform has no such field, because
ignoring them would change results silently.

Options: ``preset`` (``compatible`` only; a preset kind accepts only its own name),
``path`` (endpoint path), ``truncate``, ``max_tokens_per_document``, ``user``,
``metadata`` and ``extra_body`` (JSON objects inline, tables in a suite),
``return_documents``, ``rank_fields``, plus the common remote options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from rerank_eval.rerankers.base import Runtime
from rerank_eval.rerankers.registry import register
from rerank_eval.rerankers.remote import dialect as read
from rerank_eval.rerankers.remote.dialect import Answer, Parsed
from rerank_eval.rerankers.remote.documents import encode
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

_OPTIONS = frozenset({"preset", "path", "truncate", "max_tokens_per_document", "user",
                      "metadata", "extra_body", "return_documents", "rank_fields"})
_FALLBACK_KEY = ("RERANK_API_KEY",)
_FALLBACK_URL = ("RERANK_BASE_URL",)


def _profile(kind: str, summary: str, arg_help: str, **fields: Any) -> ProviderProfile:
    return ProviderProfile(kind=kind, summary=summary, arg_help=arg_help, options=_OPTIONS,
                           **fields)


GENERIC = _profile(
    "compatible",
    "any Cohere-shaped /v1/rerank (gateways, routers); option preset=mixroute|"
    "searchrouter|onerouter|infron|vllm|infinity; truncate, max_tokens_per_document, "
    "metadata, user, extra_body",
    "MODEL (or deployment id); usage from usage.total_tokens",
    api_key_env=_FALLBACK_KEY, base_url_env=_FALLBACK_URL, document_style="object")

PRESETS: dict[str, ProviderProfile] = {p.kind: p for p in (
    _profile("mixroute", "MixRoute /v1/rerank (Cohere-shaped router); usage.total_tokens",
             "MODEL, e.g. rerank-v3",
             default_base_url="https://console.mixroute.io",
             api_key_env=("MIXROUTE_API_KEY", *_FALLBACK_KEY),
             base_url_env=("MIXROUTE_BASE_URL", *_FALLBACK_URL), document_style="object"),
    _profile("searchrouter", "SearchRouter /api/v1/rerank; reports usage.cost (USD) and "
             "search_units", "PROVIDER/MODEL slug, e.g. cohere/rerank-v3.5",
             default_base_url="https://searchrouter.ai/api",
             api_key_env=("SEARCHROUTER_API_KEY", "SR_API_KEY", *_FALLBACK_KEY),
             base_url_env=("SEARCHROUTER_BASE_URL", *_FALLBACK_URL)),
    _profile("onerouter", "OneRouter /v1/rerank (structured documents as YAML strings); "
             "reports no usage", "MODEL, e.g. voyage-rerank-2.5",
             default_base_url="https://llm.onerouter.pro",
             api_key_env=("ONEROUTER_API_KEY", *_FALLBACK_KEY),
             base_url_env=("ONEROUTER_BASE_URL", *_FALLBACK_URL)),
    _profile("infron", "Infron AI (OneRouter API) /v1/rerank; reports no usage",
             "MODEL, e.g. voyage-rerank-2.5",
             default_base_url="https://llm.onerouter.pro",
             api_key_env=("INFRON_API_KEY", "ONEROUTER_API_KEY", *_FALLBACK_KEY),
             base_url_env=("INFRON_BASE_URL", "ONEROUTER_BASE_URL", *_FALLBACK_URL)),
    _profile("vllm", "self-hosted vLLM /v1/rerank; key only if the server has --api-key",
             "MODEL (optional: the served model)",
             default_base_url="http://localhost:8000",
             api_key_env=("VLLM_API_KEY", *_FALLBACK_KEY),
             base_url_env=("VLLM_BASE_URL", *_FALLBACK_URL), api_key_required=False,
             model_required=False, max_documents=None),
    _profile("infinity", "self-hosted Infinity /rerank; its usage counts characters, so "
             "tokens stay unreported", "MODEL (optional); at most 2,048 documents per "
             "request (split above)",
             default_base_url="http://localhost:7997", endpoint_path="/rerank",
             api_key_env=("INFINITY_API_KEY", *_FALLBACK_KEY),
             base_url_env=("INFINITY_BASE_URL", *_FALLBACK_URL), api_key_required=False,
             model_required=False, max_documents=2048),
)}


@dataclass(frozen=True)
class Wire:
    """What differs in the body and the answer between the Cohere-shaped platforms."""

    usage: Literal["tokens", "router", "none"] = "tokens"
    """``tokens`` (total_tokens, else prompt_tokens), ``router`` (tokens, search_units,
    cost) or ``none``."""
    generic_fields: bool = False
    """Send truncate / max_tokens_per_document / metadata / user / extra_body as fields."""
    return_documents_default: bool = False
    """The platform's default; when true we send ``return_documents: false`` explicitly."""
    slug_models: bool = False
    truncate: Literal["field", "vllm", "implicit", "none"] = "none"
    """``field``: sent as ``truncate``; ``vllm``: ``truncate_prompt_tokens=-1``;
    ``implicit``: the server always truncates (only none is refused); ``none``: refused."""


WIRES: dict[str, Wire] = {
    "compatible": Wire(generic_fields=True, truncate="field"),
    "mixroute": Wire(),
    "searchrouter": Wire(usage="router", return_documents_default=True, slug_models=True),
    "onerouter": Wire(usage="none"),
    "infron": Wire(usage="none"),
    "vllm": Wire(truncate="vllm"),
    "infinity": Wire(usage="none", truncate="implicit"),
}


@dataclass(frozen=True)
class CompatibleDialect:
    wire: Wire
    model: str | None
    document_style: Literal["string", "object"] = "string"
    truncate: str | None = None
    """``none`` / ``start`` / ``end`` (true is ``end``, false ``none``)."""
    max_tokens_per_document: int | None = None
    metadata: Mapping[str, Any] | None = None
    user: str | None = None
    extra_body: Mapping[str, Any] | None = None
    return_documents: bool = False
    rank_fields: tuple[str, ...] | None = None
    sends_top_n: bool = True

    @classmethod
    def from_spec(cls, spec: RerankerSpec, profile: ProviderProfile) -> CompatibleDialect:
        wire = WIRES[profile.kind]
        if wire.slug_models and spec.arg and "/" not in spec.arg:
            raise RerankerSpecError(f"reranker {spec.text!r}: {profile.kind} models are slugs "
                                    "like cohere/rerank-v3.5")
        raw_truncate = option(spec, "truncate", str, None)
        truncate = None if raw_truncate is None else _truncate_word(raw_truncate)
        max_tokens = option(spec, "max_tokens_per_document", int, None)
        if not wire.generic_fields:
            if max_tokens is not None:
                raise RerankerSpecError(f"reranker {spec.text!r}: {profile.kind} has no "
                                        "max_tokens_per_document field")
            if truncate is not None and (wire.truncate == "none" or (
                    wire.truncate == "implicit" and truncate == "none")):
                raise RerankerSpecError(f"reranker {spec.text!r}: {profile.kind} has no "
                                        f"truncate option (truncate={raw_truncate!r})")
        return cls(wire=wire, model=profile.model_from(spec.arg),
                   document_style=profile.document_style, truncate=truncate,
                   max_tokens_per_document=max_tokens,
                   metadata=object_option(spec, "metadata"),
                   user=option(spec, "user", str, None),
                   extra_body=object_option(spec, "extra_body"),
                   return_documents=option(spec, "return_documents", bool, False),
                   rank_fields=option(spec, "rank_fields", names_list, None))

    def build_body(self, query: str, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        w = self.wire
        body: dict[str, Any] = {}
        if self.model is not None:
            body["model"] = self.model
        body["query"] = query
        body["documents"] = encode(documents, self.document_style, self.rank_fields)
        if top_n is not None:
            body["top_n"] = top_n
        if self.return_documents:
            body["return_documents"] = True
        elif w.return_documents_default:
            body["return_documents"] = False
        if w.generic_fields:
            if self.truncate is not None:
                body["truncate"] = self.truncate
            if self.max_tokens_per_document is not None:
                body["max_tokens_per_document"] = self.max_tokens_per_document
            if self.metadata is not None:
                body["metadata"] = dict(self.metadata)
            if self.user is not None:
                body["user"] = self.user
            if self.extra_body:
                body["extra_body"] = dict(self.extra_body)
            return body
        if w.truncate == "vllm" and self.truncate is not None and self.truncate != "none":
            body["truncate_prompt_tokens"] = -1  # truncate to max_model_len
        if self.extra_body:
            body.update(self.extra_body)
        return body

    def parse(self, answer: Answer) -> Parsed:
        data = answer.data
        pairs = read.pairs(read.items(data, "results"), "relevance_score")
        timing = read.server_timing(answer.headers)
        usage = data.get("usage") if isinstance(data, dict) else None
        if self.wire.usage == "none" or not isinstance(usage, dict):
            return Parsed(pairs=pairs, server_ms=timing)
        tokens = read.number(usage.get("total_tokens", usage.get("prompt_tokens")),
                             "usage.total_tokens")
        if self.wire.usage == "router":
            return Parsed(pairs=pairs, tokens=tokens,
                          search_units=read.number(usage.get("search_units"),
                                                   "usage.search_units"),
                          cost_usd=read.number(usage.get("cost"), "usage.cost"),
                          server_ms=timing)
        return Parsed(pairs=pairs, tokens=tokens, server_ms=timing)


def _truncate_word(value: bool | str) -> str:
    if value is True:
        return "end"
    if value is False:
        return "none"
    word = str(value).strip().lower()
    if word in ("true", "1", "yes"):
        return "end"
    if word in ("false", "0", "no"):
        return "none"
    return word


def _create(spec: RerankerSpec, runtime: Runtime | None,
            fixed: ProviderProfile | None) -> RemoteReranker:
    from rerank_eval.rerankers.remote.reranker import RemoteReranker, check_remote_options

    if fixed is None:
        name = option(spec, "preset", str, None)
        if name is not None and name not in PRESETS:
            raise RerankerSpecError(f"reranker {spec.text!r}: unknown preset {name!r}; "
                                    f"known: {', '.join(sorted(PRESETS))}")
        profile = PRESETS[name] if name else GENERIC
    else:
        if "preset" in spec.options and spec.options["preset"] != fixed.kind:
            raise RerankerSpecError(f"reranker {spec.text!r}: preset is fixed to {fixed.kind}")
        profile = fixed
    path = option(spec, "path", str, None)
    if path is not None:
        profile = replace(profile, endpoint_path=path)
    check_remote_options(spec, profile)
    return RemoteReranker(spec, profile, CompatibleDialect.from_spec(spec, profile), runtime)


def create_compatible(spec: RerankerSpec, runtime: Runtime | None = None) -> RemoteReranker:
    return _create(spec, runtime, None)


def create_preset(spec: RerankerSpec, runtime: Runtime | None = None) -> RemoteReranker:
    """A preset kind (``vllm:MODEL`` ...): the preset is the spec's kind."""
    return _create(spec, runtime, PRESETS[spec.kind])


_MODULE = "rerank_eval.rerankers.remote.providers.compatible"
register(GENERIC.kind_entry(f"{_MODULE}:create_compatible"))
for _preset in PRESETS.values():
    register(_preset.kind_entry(f"{_MODULE}:create_preset"))
