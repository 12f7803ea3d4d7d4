"""What a reranker spec says: ``KIND[:ARG][?key=value&...]``, and reading its options.

``bm25``, ``biencoder:/models/minilm``, ``cohere:rerank-v3.5``,
``cross-encoder:BAAI/bge-reranker-v2-m3?batch_size=32``. Suites pass the same options as a
table (where values may also be lists and tables).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


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


def check_options(spec: RerankerSpec, allowed: set[str] | frozenset[str]) -> None:
    """Reject options a reranker does not understand, rather than silently ignore them."""
    unknown = sorted(set(spec.options) - allowed)
    if unknown:
        raise RerankerSpecError(
            f"reranker {spec.text!r}: unknown option(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed)) or 'none'}"
        )


def names_list(value: Any) -> tuple[str, ...]:
    """A cast for :func:`option`: ``"a,b"`` inline or ``["a", "b"]`` in a suite."""
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise TypeError(value)
    if not items or not all(items):
        raise ValueError(value)
    return tuple(items)


names_list.__name__ = "list of names (comma-separated inline, a list in a suite)"


def object_option(spec: RerankerSpec, key: str) -> dict[str, Any] | None:
    """A JSON object inline (``extra_body={"a":1}``) or a table in a suite."""
    import json

    raw = spec.options.get(key)
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise RerankerSpecError(f"reranker {spec.text!r}: option {key} must be a JSON object "
                                f"(or a table in a suite)")
    return value
