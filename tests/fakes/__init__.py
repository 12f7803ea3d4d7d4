"""Real HTTP fakes of the rerank APIs, for tests and the concurrency benchmark."""

from fakes.scoring import expected_ranking, overlap_score
from fakes.server import FAKE_KEY, DialectState, FakeServer, Fault, shared_server

__all__ = ["FAKE_KEY", "DialectState", "FakeServer", "Fault", "expected_ranking",
           "overlap_score", "shared_server"]
