"""rerank-eval: evaluation and benchmarking harness for rerankers.

Evaluate from Python or a notebook, no ``await`` needed (``aevaluate`` is the coroutine)::

    import rerank_eval

    result = rerank_eval.evaluate("scifact", ["bm25", "biencoder"], top_k=20)
    result.summary                  # DataFrame: per dataset x reranker, measures, latency, cost
    result.per_query                # DataFrame: per_query.csv
    result.compare()                # DataFrame: each reranker vs the first stage, paired
    result.write_report("report")   # report.md, report.html

The one reranker interface, usable on its own::

    import asyncio
    from rerank_eval import RerankRequest, create_reranker

    async def main():
        reranker = create_reranker("biencoder")
        response = await reranker.rerank(RerankRequest("what is BM25?", ["doc one", "doc two"]))
        await reranker.aclose()
        return response.results

    asyncio.run(main())
"""

from typing import TYPE_CHECKING, Any

from rerank_eval.rerankers import Reranker, create_reranker, known_kinds
from rerank_eval.types import Document, RankedResult, RerankRequest, RerankResponse, Usage

if TYPE_CHECKING:
    from rerank_eval.evaluation import aevaluate, evaluate
    from rerank_eval.evaluation_result import EvaluationResult

_LAZY = {"evaluate": "rerank_eval.evaluation", "aevaluate": "rerank_eval.evaluation",
         "EvaluationResult": "rerank_eval.evaluation_result"}
"""Imported on first use: the harness, pandas and ir-measures take seconds to import, which
every ``rerank-eval`` command and ``import rerank_eval`` would otherwise pay."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "Document",
    "EvaluationResult",
    "RankedResult",
    "RerankRequest",
    "RerankResponse",
    "Reranker",
    "Usage",
    "__version__",
    "aevaluate",
    "create_reranker",
    "evaluate",
    "known_kinds",
]
