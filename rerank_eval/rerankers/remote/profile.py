"""What a remote provider is, as data: a frozen :class:`ProviderProfile`.

A profile says where the provider lives (default URL, endpoint path, the env vars that
override them), how it authenticates, its per-request document maximum, how documents
with fields are sent, its price table name, and which options it accepts. It is also the
one source of what ``rerank-eval providers`` lists: :attr:`ProviderProfile.env_vars` is
every environment variable the provider's code reads.

Nothing here imports httpx.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rerank_eval.rerankers.registry import RerankerKind

COMMON_OPTIONS = frozenset({
    "api_key", "base_url", "cache", "concurrency", "timeout", "connect_timeout",
    "max_retries", "retry_base_delay", "retry_max_delay", "max_retry_wait", "rpm", "tpm",
    "max_documents_per_request", "max_response_bytes", "deadline",
    "price_usd_per_1m_tokens", "price_usd_per_1k_search_units",
})
"""Options every remote kind accepts (see :mod:`.reranker`)."""

REQUEST_KNOBS = ("truncate", "max_tokens_per_document", "rank_fields", "return_documents",
                 "metadata", "user", "extra_body")
"""Provider knobs that are options of the providers that honour them; a provider that
does not is refused with a message that says so, not a bare "unknown option"."""


@dataclass(frozen=True)
class ProviderProfile:
    kind: str
    """Registry kind: first half of the reranker's ``name`` and its cache folder."""
    summary: str
    arg_help: str = ""
    api_key_env: tuple[str, ...] = ()
    """Env vars holding the key, first set wins."""
    base_url_env: tuple[str, ...] = ()
    default_base_url: str | None = None
    endpoint_path: str = "/v1/rerank"
    api_key_required: bool = True
    model_required: bool = True
    arg_is_model: bool = True
    """False: the spec's argument is something else (TEI: the server's URL)."""
    max_documents: int | None = 1000
    """Per-request document maximum; larger candidate lists are split."""
    document_style: Literal["string", "object"] = "string"
    """How documents with fields are sent (:mod:`.documents`)."""
    price_provider: str | None = None
    """Provider name in ``pricing.toml``; None: no price table entry can apply."""
    auth_header: str = "Authorization"
    auth_scheme: str | None = "Bearer"
    options: frozenset[str] = frozenset()
    """Provider-specific option names, besides :data:`COMMON_OPTIONS`."""
    option_hints: tuple[tuple[str, str], ...] = ()
    """(knob, what to use instead) for knobs this provider calls differently."""

    @property
    def env_vars(self) -> tuple[str, ...]:
        """Every environment variable this provider reads, in lookup order."""
        return tuple(dict.fromkeys((*self.api_key_env, *self.base_url_env)))

    @property
    def allowed_options(self) -> frozenset[str]:
        return COMMON_OPTIONS | self.options

    def model_from(self, arg: str | None) -> str | None:
        return arg if self.arg_is_model else None

    def kind_entry(self, factory_path: str) -> RerankerKind:
        """What the registry and ``rerank-eval providers`` know about this profile."""
        return RerankerKind(kind=self.kind, factory_path=factory_path, summary=self.summary,
                            arg_help=self.arg_help, env_vars=self.env_vars,
                            cost_basis="usage", price_provider=self.price_provider,
                            options=tuple(sorted(self.allowed_options)))


def first_env(names: Sequence[str]) -> tuple[str | None, str | None]:
    """The first of ``names`` that is set (only ever called with a profile's names)."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value, name
    return None, None


def join_endpoint(base_url: str, path: str) -> str:
    """``base_url`` + ``path``, tolerating a base that already holds the version or the path.

    ``https://api.x.com`` + ``/v1/rerank`` → ``https://api.x.com/v1/rerank``;
    ``https://ai.mongodb.com/v1`` + ``/v1/rerank`` → ``https://ai.mongodb.com/v1/rerank``;
    ``http://host/v1/rerank`` + ``/v1/rerank`` → unchanged.
    """
    base = base_url.rstrip("/")
    segments = [s for s in path.strip("/").split("/") if s]
    if not segments:
        return base
    if base.endswith("/" + "/".join(segments)) or base.endswith("/" + segments[-1]):
        return base
    last = base.rsplit("/", 1)[-1]
    if re.fullmatch(r"v\d+", last) and re.fullmatch(r"v\d+", segments[0]):
        return base + "/" + "/".join(segments[1:])
    return base + "/" + "/".join(segments)
