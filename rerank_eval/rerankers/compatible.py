"""Any Cohere-shaped ``/v1/rerank``: routers, gateways and self-hosted servers.

Request ``{model, query, documents, top_n}``; answer ``results[].{index,
relevance_score}``. Presets hold what differs between the platforms in ``seed-apis/``
and the self-hosted servers in ``provider-apis.md``:

- no preset (``compatible:MODEL``): the generic platform. ``RERANK_API_KEY``,
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
  ``INFRON_*``; strings, structured documents as YAML as the page advises; no usage
  is reported (and none is estimated).
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

Options: ``preset``, ``path`` (endpoint path), ``truncate``, ``max_tokens_per_document``,
``user``, ``metadata`` and ``extra_body`` (JSON objects inline, tables in a suite),
plus the common remote options.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rerank_eval.rerankers.base import RerankerSpec, RerankerSpecError, option
from rerank_eval.rerankers.http import HttpResult
from rerank_eval.rerankers.remote import Parsed, RemoteReranker
from rerank_eval.types import Document, RerankRequest


@dataclass(frozen=True)
class Preset:
    name: str
    base_url: str | None
    path: str = "/v1/rerank"
    api_key_env: tuple[str, ...] = ()
    base_url_env: tuple[str, ...] = ()
    api_key_required: bool = True
    model_required: bool = True
    document_style: str = "string"
    max_documents: int | None = 1000
    usage: str = "tokens"
    """``tokens`` (total_tokens, else prompt_tokens), ``router`` (tokens, search_units,
    cost) or ``none``."""
    generic_fields: bool = False
    """Send truncate / max_tokens_per_document / metadata / user / extra_body as fields."""
    return_documents_default: bool | None = None
    """The platform's default when it is not ``False``: then we send it explicitly."""
    slug_models: bool = False
    vllm_truncate: bool = False
    always_truncates: bool = False


_FALLBACK_KEY = ("RERANK_API_KEY",)
_FALLBACK_URL = ("RERANK_BASE_URL",)

GENERIC = Preset(
    name="compatible", base_url=None, api_key_env=_FALLBACK_KEY, base_url_env=_FALLBACK_URL,
    document_style="object", generic_fields=True)

PRESETS: dict[str, Preset] = {
    "mixroute": Preset(
        name="mixroute", base_url="https://console.mixroute.io",
        api_key_env=("MIXROUTE_API_KEY", *_FALLBACK_KEY),
        base_url_env=("MIXROUTE_BASE_URL", *_FALLBACK_URL), document_style="object"),
    "searchrouter": Preset(
        name="searchrouter", base_url="https://searchrouter.ai/api",
        api_key_env=("SEARCHROUTER_API_KEY", "SR_API_KEY", *_FALLBACK_KEY),
        base_url_env=("SEARCHROUTER_BASE_URL", *_FALLBACK_URL), usage="router",
        return_documents_default=True, slug_models=True),
    "onerouter": Preset(
        name="onerouter", base_url="https://llm.onerouter.pro",
        api_key_env=("ONEROUTER_API_KEY", *_FALLBACK_KEY),
        base_url_env=("ONEROUTER_BASE_URL", *_FALLBACK_URL), usage="none"),
    "infron": Preset(
        name="infron", base_url="https://llm.onerouter.pro",
        api_key_env=("INFRON_API_KEY", "ONEROUTER_API_KEY", *_FALLBACK_KEY),
        base_url_env=("INFRON_BASE_URL", "ONEROUTER_BASE_URL", *_FALLBACK_URL), usage="none"),
    "vllm": Preset(
        name="vllm", base_url="http://localhost:8000",
        api_key_env=("VLLM_API_KEY", *_FALLBACK_KEY),
        base_url_env=("VLLM_BASE_URL", *_FALLBACK_URL), api_key_required=False,
        model_required=False, max_documents=None, vllm_truncate=True),
    "infinity": Preset(
        name="infinity", base_url="http://localhost:7997", path="/rerank",
        api_key_env=("INFINITY_API_KEY", *_FALLBACK_KEY),
        base_url_env=("INFINITY_BASE_URL", *_FALLBACK_URL), api_key_required=False,
        model_required=False, max_documents=2048, usage="none", always_truncates=True),
}


def _json_object(spec: RerankerSpec, key: str) -> Mapping[str, Any] | None:
    raw = spec.options.get(key)
    if raw is None or isinstance(raw, Mapping):
        return raw
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise RerankerSpecError(f"reranker {spec.text!r}: option {key} must be a JSON object "
                                f"(or a table in a suite)")
    return value


class CompatibleReranker(RemoteReranker):
    kind = "compatible"
    provider_options = frozenset({"preset", "path", "truncate", "max_tokens_per_document",
                                  "user", "metadata", "extra_body"})

    def __init__(self, spec: RerankerSpec, preset: Preset | None = None) -> None:
        if preset is None:
            name = option(spec, "preset", str, None)
            if name is not None and name not in PRESETS:
                raise RerankerSpecError(f"reranker {spec.text!r}: unknown preset {name!r}; "
                                        f"known: {', '.join(sorted(PRESETS))}")
            preset = PRESETS[name] if name else GENERIC
        elif "preset" in spec.options and spec.options["preset"] != preset.name:
            raise RerankerSpecError(f"reranker {spec.text!r}: preset is fixed to {preset.name}")
        self.preset = preset
        # per-instance overrides of the class-level configuration
        self.kind = preset.name
        self.api_key_env = preset.api_key_env
        self.base_url_env = preset.base_url_env
        self.default_base_url = preset.base_url
        self.endpoint_path = option(spec, "path", str, preset.path)
        self.api_key_required = preset.api_key_required
        self.model_required = preset.model_required
        self.max_documents = preset.max_documents
        self.document_style = preset.document_style
        if preset.slug_models and spec.arg and "/" not in spec.arg:
            raise RerankerSpecError(f"reranker {spec.text!r}: {preset.name} models are slugs "
                                    "like cohere/rerank-v3.5")
        self.default_truncate = option(spec, "truncate", str, None)
        self.default_max_tokens = option(spec, "max_tokens_per_document", int, None)
        self.default_user = option(spec, "user", str, None)
        self.default_metadata = _json_object(spec, "metadata")
        self.default_extra_body = _json_object(spec, "extra_body")
        super().__init__(spec)
        self.name = f"{preset.name}:{spec.arg}" if spec.arg else preset.name

    def build_body(self, request: RerankRequest, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        p = self.preset
        body: dict[str, Any] = {}
        if self.model is not None:
            body["model"] = self.model
        body["query"] = request.query
        body["documents"] = self.encode_documents(request, documents)
        if top_n is not None:
            body["top_n"] = top_n
        if request.return_documents:
            body["return_documents"] = True
        elif p.return_documents_default:
            body["return_documents"] = False
        truncate = request.truncate if request.truncate is not None else self.default_truncate
        max_tokens = request.max_tokens_per_document or self.default_max_tokens
        extra = {**(self.default_extra_body or {}), **(request.extra_body or {})}
        if p.generic_fields:
            if truncate is not None:
                body["truncate"] = _truncate_word(truncate)
            if max_tokens is not None:
                body["max_tokens_per_document"] = max_tokens
            metadata = request.metadata if request.metadata is not None \
                else self.default_metadata
            if metadata is not None:
                body["metadata"] = dict(metadata)
            user = request.user or self.default_user
            if user is not None:
                body["user"] = user
            if extra:
                body["extra_body"] = extra
            return body
        if max_tokens is not None:
            raise ValueError(f"{self.name}: {p.name} has no max_tokens_per_document field")
        if truncate is not None:
            word = _truncate_word(truncate)
            if p.vllm_truncate:
                if word != "none":
                    body["truncate_prompt_tokens"] = -1  # truncate to max_model_len
            elif not (p.always_truncates and word != "none"):
                raise ValueError(f"{self.name}: {p.name} has no truncate option "
                                 f"(truncate={truncate!r})")
        body.update(extra)
        return body

    def parse(self, result: HttpResult) -> Parsed:
        data = result.data
        pairs = self.pairs(result, self.items(result, data, "results"), "relevance_score")
        usage = data.get("usage") if isinstance(data, dict) else None
        if self.preset.usage == "none" or not isinstance(usage, dict):
            return Parsed(pairs=pairs)
        tokens = usage.get("total_tokens", usage.get("prompt_tokens"))
        parsed = Parsed(pairs=pairs, tokens=self.number(result, tokens, "usage.total_tokens"))
        if self.preset.usage == "router":
            parsed = Parsed(
                pairs=pairs, tokens=parsed.tokens,
                search_units=self.number(result, usage.get("search_units"),
                                         "usage.search_units"),
                cost_usd=self.number(result, usage.get("cost"), "usage.cost"))
        return parsed


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


def create_compatible(spec: RerankerSpec) -> CompatibleReranker:
    return CompatibleReranker(spec)


def _preset_factory(name: str):
    def factory(spec: RerankerSpec) -> CompatibleReranker:
        return CompatibleReranker(spec, PRESETS[name])

    factory.__name__ = f"create_{name}"
    return factory


create_mixroute = _preset_factory("mixroute")
create_searchrouter = _preset_factory("searchrouter")
create_onerouter = _preset_factory("onerouter")
create_infron = _preset_factory("infron")
create_vllm = _preset_factory("vllm")
create_infinity = _preset_factory("infinity")
