"""``load.json``: what a load test found, schema version 1 (the contract with the report).

Dataclasses with ``to_dict`` / ``from_dict``; ``from_dict`` ignores keys it does not know,
so a newer writer's additions do not break an older reader. Written atomically
(:mod:`rerank_eval.atomic`), so a reader never sees half a file.

Beyond the contract's fields a level records ``dropped`` (open loop: arrivals still
unanswered when the drain bound ran out; requests in flight at a Ctrl-C are left out),
``shared_in_flight`` (requests this client merged with an identical one in flight: sent
once, so use ``--cache-bust`` when the workload has fewer queries than requests in
flight) and ``error_messages`` (up to five distinct ones); the report has ``notes``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rerank_eval.atomic import write_json
from rerank_eval.records import known_fields

SCHEMA_VERSION = 1
LOAD_FILE = "load.json"


class LoadSchemaError(ValueError):
    """A load.json this version cannot read."""


@dataclass
class LevelResult:
    """One load level: its offered load and what was achieved."""

    concurrency: int | None
    """Closed loop: requests kept in flight; None in open loop."""
    offered_qps: float | None
    """Open loop: the Poisson arrival rate; None in closed loop."""
    requests: int
    """Requests of the level (warm-up excluded): ok + errors + dropped + shared_in_flight."""
    ok: int
    errors: dict[str, int]
    retries: int
    duration_s: float
    throughput_rps: float
    """Successful requests per second over the level."""
    docs_per_s: float
    latency_ms: dict[str, float]
    """mean, p50, p90, p95, p99, max over successful requests; {} when none succeeded."""
    server_ms: dict[str, dict[str, float]]
    tokens: int | None
    cost_usd: float | None
    stopped_early: bool = False
    dropped: int = 0
    shared_in_flight: int = 0
    error_messages: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.concurrency is not None:
            return f"concurrency {self.concurrency}"
        return f"{self.offered_qps:g} qps"

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def p95_ms(self) -> float | None:
        return self.latency_ms.get("p95")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LevelResult:
        return cls(**known_fields(cls, data))


@dataclass
class Knee:
    found: bool
    reason: str
    index: int | None = None
    concurrency: int | None = None
    offered_qps: float | None = None
    throughput_rps: float | None = None
    p95_ms: float | None = None
    max_p95_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {"found": data.pop("found"), **{k: v for k, v in data.items() if k != "reason"},
                "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Knee:
        return cls(**known_fields(cls, data))


@dataclass
class CostPer1k:
    """Cost of 1,000 queries served at the knee, and on what basis."""

    usd: float
    basis: str
    """``usage`` (measured usage cost), ``gpu_hour`` (--gpu-hour-usd) or ``hardware_hour``
    (the dated hourly rate of a local reranker's hardware)."""
    gpu_hour_usd: float | None = None
    price: dict[str, Any] | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CostPer1k:
        return cls(**known_fields(cls, data))


@dataclass
class LoadSettings:
    levels: list[float]
    requests_per_level: int | None
    duration_s: float | None
    warmup: int
    cache_bust: bool
    retries: int
    max_requests: int
    max_p95_ms: float | None
    max_p95_source: str
    seed: int
    gpu_hour_usd: float | None = None
    max_in_flight: int | None = None
    drain_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadSettings:
        return cls(**known_fields(cls, data))


@dataclass
class LoadReport:
    created: str
    reranker: str
    mode: str
    """``closed`` or ``open``."""
    dataset: str
    top_k: int
    queries: int
    documents_per_request: dict[str, float | int]
    settings: LoadSettings
    levels: list[LevelResult]
    knee: Knee
    saturation_rps: float | None
    cost_per_1k_queries: CostPer1k | None
    interrupted: bool = False
    environment: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    kind: str = "load"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version, "kind": self.kind, "created": self.created,
            "reranker": self.reranker, "mode": self.mode, "dataset": self.dataset,
            "top_k": self.top_k, "queries": self.queries,
            "documents_per_request": dict(self.documents_per_request),
            "settings": self.settings.to_dict(),
            "levels": [level.to_dict() for level in self.levels],
            "knee": self.knee.to_dict(), "saturation_rps": self.saturation_rps,
            "cost_per_1k_queries": (self.cost_per_1k_queries.to_dict()
                                    if self.cost_per_1k_queries else None),
            "interrupted": self.interrupted, "environment": self.environment,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadReport:
        version = data.get("schema_version")
        if data.get("kind", "load") != "load":
            raise LoadSchemaError(f"not a load report (kind {data.get('kind')!r})")
        if not isinstance(version, int) or version > SCHEMA_VERSION or version < 1:
            raise LoadSchemaError(f"load.json schema_version {version!r}: this version reads "
                                  f"1 to {SCHEMA_VERSION}")
        try:
            known = known_fields(cls, data)
            known["settings"] = LoadSettings.from_dict(data["settings"])
            known["levels"] = [LevelResult.from_dict(level) for level in data.get("levels", [])]
            known["knee"] = Knee.from_dict(data["knee"])
            cost = data.get("cost_per_1k_queries")
            known["cost_per_1k_queries"] = CostPer1k.from_dict(cost) if cost else None
            return cls(**known)
        except (KeyError, TypeError) as exc:
            raise LoadSchemaError(f"load.json: missing or malformed field ({exc})") from None


def write_load_json(out_dir: Path, report: LoadReport) -> Path:
    """Write ``out_dir/load.json`` atomically; return its path."""
    path = Path(out_dir) / LOAD_FILE
    write_json(path, report.to_dict())
    return path


def read_load_json(path: Path) -> LoadReport:
    """Read a load.json (or the one in a folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / LOAD_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise LoadSchemaError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise LoadSchemaError(f"{path}: not a JSON object")
    return LoadReport.from_dict(data)
