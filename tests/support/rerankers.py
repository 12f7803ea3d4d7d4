"""A deterministic reranker for harness tests, registered only while a test uses it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from rerank_eval.rerankers import RerankerKind, RerankerSpec, Runtime, register
from rerank_eval.rerankers.registry import unregister
from rerank_eval.types import RankedResult, RerankRequest, RerankResponse, Usage

LENGTH_KIND = "test-length"


class LengthReranker:
    """Shorter documents first.

    ``fail_on`` makes it raise for queries whose text contains that word, the way a
    remote provider fails mid-run; ``calls`` counts every query it was asked;
    ``runtimes`` keeps the Runtime each instance was created with.
    """

    max_concurrency = 2
    calls: ClassVar[list[str]] = []
    runtimes: ClassVar[list[Runtime]] = []
    fail_on: str | None = None

    def __init__(self, name: str) -> None:
        self.name = name

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        started = time.perf_counter()
        LengthReranker.calls.append(request.query)
        await asyncio.sleep(0)
        if LengthReranker.fail_on and LengthReranker.fail_on in request.query:
            raise ConnectionError(f"server went away on {request.query!r}")
        order = sorted(range(len(request.documents)),
                       key=lambda i: (len(request.documents[i].text), i))
        results = [RankedResult(i, 1.0 / (1 + len(request.documents[i].text))) for i in order]
        return RerankResponse(results=results, usage=Usage(requests=1, tokens=7),
                              latency_s=time.perf_counter() - started, score_kind="test")

    async def aclose(self) -> None:
        pass

    @classmethod
    def reset(cls) -> None:
        cls.calls, cls.runtimes, cls.fail_on = [], [], None


def create_length(spec: RerankerSpec, runtime: Runtime) -> LengthReranker:
    LengthReranker.runtimes.append(runtime)
    return LengthReranker(spec.text)


@contextmanager
def length_reranker_registered() -> Iterator[type[LengthReranker]]:
    """``test-length`` is a known kind inside the block, and reset; gone again after it."""
    LengthReranker.reset()
    register(RerankerKind(kind=LENGTH_KIND, factory_path=f"{__name__}:create_length",
                          summary="test reranker: shorter documents first"))
    try:
        yield LengthReranker
    finally:
        unregister(LENGTH_KIND)
        LengthReranker.reset()
