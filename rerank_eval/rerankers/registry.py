"""The registry of reranker kinds: spec string in, reranker out.

Each kind is registered where it is defined (``lexical``, ``local``, each module of
``remote.providers``) by import path, so listing kinds (``rerank-eval providers``) never
imports torch or an HTTP client. :func:`known_kinds` and :func:`create_reranker` import
the built-in registering modules first.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rerank_eval.rerankers.base import Reranker, Runtime
from rerank_eval.rerankers.spec import RerankerSpec, parse_spec

BUILTIN_MODULES: tuple[str, ...] = (
    "rerank_eval.rerankers.lexical",
    "rerank_eval.rerankers.local",
    "rerank_eval.rerankers.remote.providers.cohere",
    "rerank_eval.rerankers.remote.providers.jina",
    "rerank_eval.rerankers.remote.providers.voyage",
    "rerank_eval.rerankers.remote.providers.mixedbread",
    "rerank_eval.rerankers.remote.providers.tei",
    "rerank_eval.rerankers.remote.providers.compatible",
)
"""Modules that register the built-in kinds when imported (none imports torch or httpx)."""

SHARED_ENV_VARS: dict[str, str] = {
    "RERANK_EVAL_CACHE": "folder of the response cache (default ~/.cache/rerank-eval)",
    "RERANK_EVAL_NO_CACHE": "1: remote rerankers neither read nor write the response cache",
    "RERANK_EVAL_PRICES": "a price table (TOML) read after pricing.toml, whose entries win",
}
"""Environment variables every remote kind reads, whatever its provider."""


class UnknownRerankerError(ValueError):
    """A spec names a kind that is not registered."""


@dataclass(frozen=True)
class RerankerKind:
    """A registered kind: where its factory lives and what a user needs to know to use it."""

    kind: str
    factory_path: str
    """``module:callable``; the callable takes ``(spec: RerankerSpec, runtime: Runtime)``."""
    summary: str
    arg_help: str = ""
    env_vars: tuple[str, ...] = ()
    """Every environment variable this kind reads (besides :data:`SHARED_ENV_VARS`)."""
    cost_basis: Literal["hardware", "usage"] = "hardware"
    """``hardware``: busy time priced by the hour (local); ``usage``: the provider's bill."""
    price_provider: str | None = None
    """Provider name in ``pricing.toml`` (``usage`` kinds); None: no price entry applies."""
    options: tuple[str, ...] = ()
    """Option names the kind accepts (inline ``?k=v`` or a suite table); () when unlisted."""
    model_inference: bool = False
    """True: a local model whose inference an executor may run elsewhere (``--executor
    ray``: one replica per Ray actor); False: it runs in this process whatever the executor."""

    def load_factory(self) -> Callable[[RerankerSpec, Runtime], Reranker]:
        module_name, _, attr = self.factory_path.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)


_REGISTRY: dict[str, RerankerKind] = {}
_builtins_loaded = False


def register(kind: RerankerKind) -> None:
    _REGISTRY[kind.kind] = kind


def unregister(kind: str) -> None:
    """Remove a kind (tests that register their own take it out again)."""
    _REGISTRY.pop(kind, None)


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    for name in BUILTIN_MODULES:
        importlib.import_module(name)
    _builtins_loaded = True


def known_kinds() -> list[RerankerKind]:
    _load_builtins()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def create_reranker(spec: str | RerankerSpec, options: Mapping[str, Any] | None = None,
                    runtime: Runtime | None = None) -> Reranker:
    """Build a reranker from a spec string; an unknown kind lists the known ones."""
    parsed = spec if isinstance(spec, RerankerSpec) else parse_spec(spec, options)
    _load_builtins()
    entry = _REGISTRY.get(parsed.kind)
    if entry is None:
        known = ", ".join(k.kind for k in known_kinds())
        raise UnknownRerankerError(
            f"unknown reranker kind {parsed.kind!r} in spec {parsed.text!r}; known kinds: {known}"
        )
    return entry.load_factory()(parsed, runtime or Runtime())
