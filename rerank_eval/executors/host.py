"""One replica of a local model, built from its spec wherever it runs.

A :class:`ModelHost` is what a Ray actor holds (``ray.remote(ModelHost)``) and what the
in-thread workers of the tests hold: it builds the reranker from the same spec and options
as an in-process run would, then answers two kinds of calls, each timed where it runs:

- ``rerank``: a whole request, through the reranker's own ``rerank`` (the cross-encoder);
- ``embed``: the model work of one bi-encoder call (:meth:`BiEncoderReranker.embed_call`),
  whose cross-query reuse the pooled bi-encoder plans in the driver
  (:mod:`rerank_eval.executors.pooled`).

Nothing here imports Ray: the module is importable (and testable) without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from rerank_eval.executors.base import EmbedsCalls
from rerank_eval.rerankers.base import ReusesWork
from rerank_eval.types import Document, RerankRequest, RerankResponse

T = TypeVar("T")


@dataclass(frozen=True)
class Timed(Generic[T]):
    """A host's answer and the seconds the host was busy producing it."""

    value: T
    busy_s: float


@dataclass(frozen=True)
class HostInfo:
    """What a built replica is, for the driver's wrapper (or why it could not be built)."""

    error: str | None = None
    """``Type: message`` of the exception that building the reranker raised; None: built."""
    name: str = ""
    device: str | None = None
    dtype: str = ""
    score_kind: str | None = None
    reuses_work: bool = False
    score_tolerance: float = 0.0
    embeds: bool = False
    """The reranker exposes ``embed_call`` (the bi-encoder): the driver plans its reuse."""
    vector_bytes: int = 0
    """Bytes of one embedding (the bi-encoder's cache accounting)."""
    node: str = ""
    """Host name and process id of the replica."""
    threads: int | None = None
    """torch's intra-op threads there (a CPU's float results depend on it)."""


class ModelHost:
    """A local reranker built from ``spec`` and ``options`` in this process.

    ``cwd``: the driver's working folder, so a relative model path means what it means
    there (used when that folder exists here, as it does on a local Ray). ``threads``:
    torch's intra-op threads here (None: leave them; a CPU's float results depend on
    them). A build error is kept and reported by :meth:`info` as text, not raised, so the
    driver can name it cleanly instead of showing a remote traceback.
    """

    def __init__(self, spec: str, options: Mapping[str, Any] | None = None,
                 cwd: str | None = None, threads: int | None = None) -> None:
        from rerank_eval.rerankers import create_reranker

        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        self._loop = asyncio.new_event_loop()
        self._error: str | None = None
        self.reranker: Any = None
        folder = Path(cwd) if cwd else None
        try:
            with contextlib.chdir(folder) if folder and folder.is_dir() else \
                    contextlib.nullcontext():
                self.reranker = create_reranker(spec, dict(options or {}))
        except Exception as exc:  # reported by info()
            self._error = f"{type(exc).__name__}: {exc}"

    def info(self) -> HostInfo:
        node = f"{socket.gethostname()}/{os.getpid()}"
        reranker = self.reranker
        if reranker is None:
            return HostInfo(error=self._error or "not built", node=node)
        reuses = isinstance(reranker, ReusesWork)
        embeds = isinstance(reranker, EmbedsCalls)
        vector_bytes = 0
        if embeds:  # one throwaway embedding: the size the bi-encoder's cache counts
            probe = reranker.embed_call("size", [])
            vector_bytes = int(probe.query.vector.nbytes) if probe.query is not None else 0
        precision = getattr(reranker, "precision", None)
        return HostInfo(
            name=reranker.name, device=getattr(reranker, "device", None),
            dtype=str(getattr(precision, "describe", "")),
            score_kind=getattr(reranker, "score_kind", None), reuses_work=reuses,
            score_tolerance=float(reranker.score_tolerance) if reuses else 0.0,
            embeds=embeds, vector_bytes=vector_bytes, node=node, threads=_torch_threads())

    def rerank(self, query: str, documents: Sequence[Document], top_n: int | None,
               cross_query_reuse: bool | None = None) -> Timed[RerankResponse]:
        """One request through the reranker's own ``rerank``; ``cross_query_reuse`` (for a
        :class:`ReusesWork` reranker) is set for this call."""
        started = time.perf_counter()
        if cross_query_reuse is not None and isinstance(self.reranker, ReusesWork):
            self.reranker.cross_query_reuse = cross_query_reuse
        request = RerankRequest(query=query, documents=documents, top_n=top_n)
        response = self._loop.run_until_complete(self.reranker.rerank(request))
        return Timed(response, time.perf_counter() - started)

    def embed(self, query: str | None, texts: Sequence[str]) -> Timed[Any]:
        """The model work of one bi-encoder call: an ``EmbeddedCall``."""
        started = time.perf_counter()
        call = self.reranker.embed_call(query, list(texts))
        return Timed(call, time.perf_counter() - started)

    def close(self) -> None:
        """Release what the reranker holds (the bi-encoder's embeddings); once."""
        if self._loop.is_closed():
            return
        if self.reranker is not None:
            self._loop.run_until_complete(self.reranker.aclose())
        self._loop.close()


def _torch_threads() -> int | None:
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None
