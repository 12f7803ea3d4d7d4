"""The one rerank interface, and the registry that turns a spec string into a reranker.

A spec is ``KIND`` or ``KIND:ARG``, optionally followed by ``?key=value&key=value``
options: ``bm25``, ``biencoder:/models/minilm``, ``cohere:rerank-v3.5``,
``cross-encoder:BAAI/bge-reranker-v2-m3?batch_size=32``. Suites pass the same options as a table.

Factories are registered by import path, so listing kinds (``rerank-eval providers``)
never imports torch or an HTTP client.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl

from rerank_eval.types import Document, RerankRequest, RerankResponse


@runtime_checkable
class Reranker(Protocol):
    """What the harness talks to. Local models and remote APIs look the same from here."""

    name: str
    """Stable id used in results, e.g. ``cohere:rerank-v3.5``."""

    max_concurrency: int
    """How many ``rerank`` calls the harness may keep in flight at once."""

    async def rerank(self, request: RerankRequest) -> RerankResponse: ...

    async def aclose(self) -> None: ...


class UnknownRerankerError(ValueError):
    """A spec names a kind that is not registered."""


class RerankerSpecError(ValueError):
    """A spec is malformed or its options are wrong."""


@dataclass(frozen=True)
class RerankerSpec:
    kind: str
    arg: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"


@dataclass(frozen=True)
class RerankerKind:
    """A registered kind: where its factory lives and what a user needs to know to use it."""

    kind: str
    factory_path: str
    """``module:callable``; the callable takes ``(spec: RerankerSpec)`` and returns a Reranker."""
    summary: str
    arg_help: str = ""
    env_vars: tuple[str, ...] = ()

    def load_factory(self) -> Callable[[RerankerSpec], Reranker]:
        module_name, _, attr = self.factory_path.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)


_REGISTRY: dict[str, RerankerKind] = {}


def register(kind: RerankerKind) -> None:
    _REGISTRY[kind.kind] = kind


def known_kinds() -> list[RerankerKind]:
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def parse_spec(spec: str, options: Mapping[str, Any] | None = None) -> RerankerSpec:
    """Split ``KIND[:ARG][?k=v&...]``; ``options`` (from a suite file) override inline ones."""
    if not spec or not spec.strip():
        raise RerankerSpecError("empty reranker spec")
    spec = spec.strip()
    inline: dict[str, Any] = {}
    if "?" in spec:
        spec, _, query = spec.partition("?")
        try:
            inline = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=True))
        except ValueError as exc:
            raise RerankerSpecError(f"bad options {query!r} in reranker spec: {exc}") from exc
    kind, sep, arg = spec.partition(":")
    merged = {**inline, **(options or {})}
    return RerankerSpec(kind=kind.strip().lower(), arg=arg if sep and arg else None,
                        options=merged)


def create_reranker(spec: str | RerankerSpec, options: Mapping[str, Any] | None = None) -> Reranker:
    """Build a reranker from a spec string; an unknown kind lists the known ones."""
    parsed = spec if isinstance(spec, RerankerSpec) else parse_spec(spec, options)
    entry = _REGISTRY.get(parsed.kind)
    if entry is None:
        known = ", ".join(k.kind for k in known_kinds())
        raise UnknownRerankerError(
            f"unknown reranker kind {parsed.kind!r} in spec {parsed.text!r}; known kinds: {known}"
        )
    return entry.load_factory()(parsed)


def option(spec: RerankerSpec, key: str, cast: Callable[[Any], Any], default: Any = None) -> Any:
    """Read one option with a clear error naming the spec and the key."""
    if key not in spec.options:
        return default
    raw = spec.options[key]
    try:
        if cast is bool and isinstance(raw, str):
            lowered = raw.strip().lower()
            if lowered not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return lowered in ("1", "true", "yes")
        return cast(raw)
    except (TypeError, ValueError) as exc:
        raise RerankerSpecError(
            f"reranker {spec.text!r}: option {key}={raw!r} is not a valid {cast.__name__}"
        ) from exc


def check_options(spec: RerankerSpec, allowed: set[str]) -> None:
    """Reject options a reranker does not understand, rather than silently ignore them."""
    unknown = sorted(set(spec.options) - allowed)
    if unknown:
        raise RerankerSpecError(
            f"reranker {spec.text!r}: unknown option(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed)) or 'none'}"
        )


@runtime_checkable
class CorpusAware(Protocol):
    """Optional: a reranker that can use whole-corpus statistics (e.g. BM25's IDF).

    The harness calls ``index_corpus`` once per dataset before reranking, when a
    reranker has it. Remote APIs never do; the interface above stays the contract.
    """

    def index_corpus(self, documents: Sequence[Document]) -> None: ...


@runtime_checkable
class PricedByUsage(Protocol):
    """Optional: a reranker whose ``usage.cost_usd`` comes from a dated price table entry.

    ``price`` (a :class:`rerank_eval.pricing.Price`, or None when no entry applies) is
    recorded beside the cost so every figure can be traced to its price and date.
    """

    price: Any


@runtime_checkable
class PricedByHardware(Protocol):
    """Optional: a local reranker; its busy time (``usage.compute_s``) is priced by the hour.

    ``device`` is where it runs (``cpu``, ``cuda``, ``cuda:1``, ``mps``); the harness
    prices the busy time at that hardware's hourly rate.
    """

    device: str


@dataclass(frozen=True)
class Runtime:
    """How this process runs rerankers, as opposed to what a spec says about one.

    Passed to every factory; local kinds ignore what does not concern them.
    """

    response_cache: bool = True
    """False: remote rerankers neither read nor write the response cache (``--no-cache``)."""
    transport: Any = None
    """An ``httpx.AsyncBaseTransport`` for remote rerankers (tests: ``httpx.ASGITransport``)."""
    clock: Any = None
    """A clock for waits and timings (tests: a virtual clock); None is the system clock."""

