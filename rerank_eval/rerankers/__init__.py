"""Rerankers behind one interface, and the registry of their kinds.

Nothing heavy is imported here: kinds register themselves by factory import path
(:mod:`.registry`), so listing them imports neither torch nor an HTTP client.
"""

from rerank_eval.rerankers.base import Reranker, Runtime
from rerank_eval.rerankers.registry import (
    RerankerKind,
    UnknownRerankerError,
    create_reranker,
    known_kinds,
    register,
)
from rerank_eval.rerankers.spec import RerankerSpec, RerankerSpecError, parse_spec

__all__ = [
    "Reranker",
    "RerankerKind",
    "RerankerSpec",
    "RerankerSpecError",
    "Runtime",
    "UnknownRerankerError",
    "create_reranker",
    "known_kinds",
    "parse_spec",
    "register",
]
