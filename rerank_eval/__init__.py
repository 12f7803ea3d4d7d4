"""rerank-eval: evaluation and benchmarking harness for rerankers.

The one interface, usable as a library::

    import asyncio
    from rerank_eval import RerankRequest, create_reranker

    async def main():
        reranker = create_reranker("biencoder")
        response = await reranker.rerank(RerankRequest("what is BM25?", ["doc one", "doc two"]))
        await reranker.aclose()
        return response.results

    asyncio.run(main())
"""

from rerank_eval.rerankers import Reranker, create_reranker, known_kinds
from rerank_eval.types import Document, RankedResult, RerankRequest, RerankResponse, Usage

__version__ = "0.1.0"

__all__ = [
    "Document",
    "RankedResult",
    "RerankRequest",
    "RerankResponse",
    "Reranker",
    "Usage",
    "__version__",
    "create_reranker",
    "known_kinds",
]
