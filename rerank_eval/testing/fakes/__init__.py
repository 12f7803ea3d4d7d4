"""Fakes of the rerank APIs (Cohere, Jina, Voyage, Mixedbread, TEI, the Cohere-shaped
platforms), faithful enough that the official SDKs parse them; in-process through
``httpx.ASGITransport`` or on a real socket, with an optional :class:`Capacity` (workers and
service time) for load tests. ``python -m rerank_eval.testing.fakes`` serves them alone."""

from rerank_eval.testing.fakes.capacity import Capacity
from rerank_eval.testing.fakes.scoring import expected_ranking, overlap_score
from rerank_eval.testing.fakes.server import (
    FAKE_KEY,
    DialectState,
    FakeServer,
    Fault,
    all_dialects_server,
    shared_server,
)

__all__ = ["FAKE_KEY", "Capacity", "DialectState", "FakeServer", "Fault",
           "all_dialects_server", "expected_ranking", "overlap_score", "shared_server"]
