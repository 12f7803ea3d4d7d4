"""rerank-eval: evaluation and benchmarking harness for rerankers."""

__version__ = "0.1.0"
