"""The output contract: the records a run writes and every reader reads, and their version.

The harness fills these types; :mod:`rerank_eval.store` writes them (``summary.json``,
``per_query.csv``, ``runs/``; :mod:`rerank_eval.journal` the per-cell journals) and reads
them back through one reader, :func:`rerank_eval.store.read_run`, which the reports,
``compare``, ``check`` and the library use. Nothing here imports the harness or a reranker.

Compatibility rules, so old run folders keep working:

- ``summary.json`` and every journal header carry ``schema_version`` (:data:`SCHEMA_VERSION`).
  A file without one is version 0, written before the contract was versioned; the reader
  upgrades it (see :func:`RunSummary.from_dict`). A version newer than this code is refused.
- ``from_dict`` ignores keys it does not know and gives missing keys their defaults, so a
  field can be added without breaking old files, and a reader survives a newer minor field.
- Bump :data:`SCHEMA_VERSION` only when a field changes meaning, and add the upgrade step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from rerank_eval.money import price_text
from rerank_eval.types import Usage

SCHEMA_VERSION = 1
"""Version of ``summary.json`` and of the journal header written by this code."""

FIRST_STAGE = "first-stage"
"""Reranker name of the first stage's own ranking in per_query.csv and runs/."""

KEY_COLUMNS = ("dataset", "reranker", "query_id", "query_text", "n_candidates", "order",
               "latency_ms")
"""The columns of per_query.csv that identify or describe a row; the others are measures.

``order`` is the position, in the cell's sequence of calls, of the call ``latency_ms``
measured (a latency pass's call for a sampled query; otherwise the main pass's call);
blank for the first stage. Folders written before it (version 0 and early version 1)
lack the column, and their ``key_columns`` say so."""

LATENCY_EVERY_CALL = "every call"
"""``latency_method`` of a cell whose every main-pass call is a serving latency."""

LATENCY_PASS = "separate pass, reuse off"
"""How ``latency_method`` begins for a cell measured by a latency pass."""


def latency_pass_method(n_queries: int, n_warmup: int) -> str:
    """``latency_method`` of a cell measured by a separate pass with cross-query reuse off."""
    return (f"{LATENCY_PASS}, {n_queries} sampled {'query' if n_queries == 1 else 'queries'} "
            f"after {n_warmup} warm-up {'call' if n_warmup == 1 else 'calls'}")


_USAGE_FIELDS = tuple(f.name for f in fields(Usage))


class SchemaError(ValueError):
    """A results file this code cannot read (a newer schema, or not a results file)."""


def schema_version(data: Mapping[str, Any], what: str) -> int:
    """The version a file declares (0 when it has none); refuses a version newer than ours."""
    raw = data.get("schema_version", 0)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise SchemaError(f"{what}: schema_version {raw!r} is not a version number")
    if raw > SCHEMA_VERSION:
        raise SchemaError(f"{what}: schema_version {raw} was written by a newer rerank-eval "
                          f"(this one reads up to {SCHEMA_VERSION}); upgrade rerank-eval")
    return raw


def usage_from_dict(data: Mapping[str, Any] | None) -> Usage:
    """A :class:`Usage` from its recorded fields; unknown ones ignored, missing ones default."""
    return Usage(**{k: v for k, v in (data or {}).items() if k in _USAGE_FIELDS})


def known_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that are fields of dataclass ``cls`` (readers ignore unknown
    keys, so newer files still read)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass
class QueryRecord:
    """One reranked query: the scores given to its candidates, what it used, how long it took."""

    query_id: str
    order: int
    """Position in the cell's request sequence; 0 is the cold (first) request."""
    latency_s: float
    """The call's latency as the reranker reported it (a cache hit: the original call's)."""
    n_candidates: int
    scores: dict[str, float]
    usage: Usage = field(default_factory=Usage)

    def to_dict(self, kind: str = "query") -> dict[str, Any]:
        """A journal line; ``kind`` is ``query`` (the main pass), ``latency`` (a measured
        call of the latency pass) or ``warmup`` (a warm-up call of the latency pass)."""
        return {"type": kind, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueryRecord:
        scores = data.get("scores") or {}
        return cls(
            query_id=str(data["query_id"]), order=int(data.get("order", 0)),
            latency_s=float(data.get("latency_s", 0.0)),
            n_candidates=int(data.get("n_candidates", len(scores))),
            scores={str(k): float(v) for k, v in scores.items()},
            usage=usage_from_dict(data.get("usage")),
        )


@dataclass(frozen=True)
class PriceRecord:
    """The price behind a cost, as recorded: amount per ``per`` units, its date and source.

    A local reranker's price is an hourly hardware rate (``unit`` ``cpu_hour`` or
    ``gpu_hour``, ``per`` 1) and also names the ``instance`` and the ``device`` it ran on.
    """

    usd: float
    per: float
    unit: str
    date: str
    source: str
    instance: str | None = None
    device: str | None = None

    @property
    def text(self) -> str:
        """``$2 per 1K search units``: the one way a price is written."""
        return price_text(self.usd, self.per, self.unit)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: v for k, v in data.items()
                if v is not None or k not in ("instance", "device")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PriceRecord | None:
        if not isinstance(data, Mapping):
            return None
        return cls(usd=data.get("usd"), per=data.get("per", 1), unit=str(data.get("unit", "")),
                   date=str(data.get("date", "")), source=str(data.get("source", "")),
                   instance=data.get("instance"), device=data.get("device"))


@dataclass
class ActorRecord:
    """One replica of a model on an executor (a Ray actor), over a cell's main pass."""

    actor: int
    node: str = ""
    """Host name and process id of the actor."""
    device: str = ""
    threads: int | None = None
    """torch's intra-op threads in the actor: on a CPU, float results depend on it."""
    requests: int = 0
    documents: int = 0
    """Documents it ran through its model: scored pairs (cross-encoder) or embedded
    documents (bi-encoder; those reused from earlier calls are not work)."""
    busy_s: float = 0.0
    """Seconds it spent on requests, timed in the actor."""
    utilisation: float | None = None
    """``busy_s`` / the main pass's wall time (``ExecutionRecord.wall_s``)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ActorRecord:
        return cls(**known_fields(ActorRecord, data))


@dataclass
class ExecutionRecord:
    """How a cell's model inference ran on an executor other than this process.

    The counts cover the main pass of the run that wrote the folder (a resumed cell's
    earlier session is in ``resumed_queries``, not here); the latency pass is apart.
    """

    kind: str = "ray"
    address: str = "local"
    """``local``: a Ray instance started for the run; ``cluster``: joined via RAY_ADDRESS."""
    actors: int = 0
    in_flight_per_actor: int = 1
    wall_s: float = 0.0
    queries: int = 0
    queries_per_s: float | None = None
    per_actor: list[ActorRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ExecutionRecord | None:
        if not isinstance(data, Mapping):
            return None
        known = known_fields(ExecutionRecord, data)
        known["per_actor"] = [ActorRecord.from_dict(a) for a in data.get("per_actor") or []
                              if isinstance(a, Mapping)]
        return cls(**known)


@dataclass
class CellSummary:
    """One dataset x reranker, as ``summary.json`` records it (one entry of ``results``)."""

    dataset: str
    reranker: str
    spec: str = ""
    n_queries: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    """p50, p95, p99, mean, max of the serving latency, and cold (the first warm-up call,
    never in the percentiles), in milliseconds; see ``latency_method``."""
    latency_method: str | None = None
    """How the latency figures were measured: ``every call`` (each call of the main pass,
    the cold first one apart) or ``separate pass, reuse off, N sampled queries after W
    warm-up calls`` (a reranker that reuses work across queries); None: older folders."""
    latency_warmup_ms: list[float] = field(default_factory=list)
    """The warm-up calls, in order (the first is ``cold``); not in the percentiles."""
    latency_wall_s: float = 0.0
    """Wall time of the latency pass (0 without one); not in ``wall_s`` or throughput."""
    latency_usage: Usage = field(default_factory=Usage)
    """What the latency pass used (warm-up included); not in ``usage`` or the cost."""
    latency_score_max_diff: float | None = None
    """Largest |score difference| between the latency pass and the main pass (None: no
    pass); beyond the reranker's tolerance it is an error on the cell."""
    throughput_docs_per_s: float | None = None
    """Evaluation throughput: candidates per second over the main pass (with any reuse)."""
    usage: Usage = field(default_factory=Usage)
    """Totals over the cell, failed queries included (what was sent and billed);
    ``usage.cost_usd`` is written as the entry's ``cost_usd``."""
    failed_usage: Usage = field(default_factory=Usage)
    """Of ``usage``, what the queries that failed sent: requests, retries, rejected
    answers and their reported units and cost."""
    price: PriceRecord | None = None
    """The price behind ``usage.cost_usd`` (amount, unit, date, source), for tracing."""
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)
    score_kind: str | None = None
    concurrency: int = 1
    wall_s: float = 0.0
    resumed_queries: int = 0
    first_stage_recall: float | None = None
    executor: str = "in-process"
    """Where the model inference ran: ``in-process`` (also every older folder) or ``ray``."""
    execution: ExecutionRecord | None = None
    """Actors, throughput and per-actor utilisation when ``executor`` is not in-process."""

    @property
    def failed(self) -> bool:
        return self.errors > 0

    @property
    def has_latency_pass(self) -> bool:
        """The latency figures come from a separate pass (reuse off) over sampled queries."""
        return (self.latency_method or "").startswith(LATENCY_PASS)

    @property
    def cost_usd(self) -> float | None:
        return self.usage.cost_usd

    def summary_dict(self) -> dict[str, Any]:
        usage = asdict(self.usage)
        cost = usage.pop("cost_usd")
        return {
            "dataset": self.dataset, "reranker": self.reranker, "spec": self.spec,
            "n_queries": self.n_queries, "metrics": self.metrics, "latency_ms": self.latency_ms,
            "latency_method": self.latency_method, "latency_warmup_ms": self.latency_warmup_ms,
            "latency_wall_s": self.latency_wall_s, "latency_usage": asdict(self.latency_usage),
            "latency_score_max_diff": self.latency_score_max_diff,
            "throughput_docs_per_s": self.throughput_docs_per_s, "usage": usage,
            "cost_usd": cost, "price": None if self.price is None else self.price.to_dict(),
            "errors": self.errors, "error_messages": self.error_messages,
            "score_kind": self.score_kind, "concurrency": self.concurrency,
            "wall_s": self.wall_s, "resumed_queries": self.resumed_queries,
            "first_stage_recall": self.first_stage_recall,
            "failed_usage": asdict(self.failed_usage), "executor": self.executor,
            "execution": None if self.execution is None else self.execution.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CellSummary:
        known = known_fields(CellSummary, data)
        known["usage"] = usage_from_dict({**(data.get("usage") or {}),
                                          "cost_usd": data.get("cost_usd")})
        known["price"] = PriceRecord.from_dict(data.get("price"))
        known["failed_usage"] = usage_from_dict(data.get("failed_usage"))
        known["latency_usage"] = usage_from_dict(data.get("latency_usage"))
        known["execution"] = ExecutionRecord.from_dict(data.get("execution"))
        for key, default in (("metrics", {}), ("latency_ms", {}), ("error_messages", []),
                             ("latency_warmup_ms", []), ("latency_wall_s", 0.0),
                             ("spec", data.get("reranker", "")), ("n_queries", 0),
                             ("errors", 0), ("concurrency", 1), ("wall_s", 0.0),
                             ("resumed_queries", 0), ("executor", "in-process")):
            if known.get(key) is None:
                known[key] = default
        return cls(**known)


@dataclass
class CellResult(CellSummary):
    """A finished cell: its summary, and per query the record and the measures' values."""

    records: dict[str, QueryRecord] = field(default_factory=dict)
    latency_records: dict[str, QueryRecord] = field(default_factory=dict)
    """The latency pass's measured calls by query id (empty: every call is measured)."""
    latency_warmup: list[QueryRecord] = field(default_factory=list)
    """The latency pass's warm-up calls, in order."""
    per_query_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    """measure -> query id -> value."""

    def run(self) -> dict[str, dict[str, float]]:
        """query id -> doc id -> score: the TREC run of this cell."""
        return {qid: rec.scores for qid, rec in sorted(self.records.items())}


@dataclass
class FirstStageSummary:
    method: str = ""
    top_k: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    """How it was configured (``bm25``: k1, b, stemmer...; a run file's path)."""

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "top_k": self.top_k, **self.details,
                "metrics": self.metrics}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> FirstStageSummary:
        data = dict(data or {})
        return cls(method=str(data.pop("method", "")), top_k=data.pop("top_k", None),
                   metrics=dict(data.pop("metrics", None) or {}), details=data)


@dataclass
class DatasetSummary:
    name: str
    split: str = ""
    fingerprint: str = ""
    n_docs: int = 0
    n_queries: int = 0
    first_stage: FirstStageSummary = field(default_factory=FirstStageSummary)
    warnings: list[str] = field(default_factory=list)
    source: str = ""
    """Where the run loaded the dataset from: the path (absolute when it existed) or the
    name it resolved; ``check --recheck`` loads it again from here. Empty in older folders."""
    qrels_source: str = ""
    """The judgments file (``--qrels``) that replaced the dataset's own, absolute; empty
    when the dataset's own were used. The fingerprint covers both, so a reload needs both."""

    def to_dict(self) -> dict[str, Any]:
        data = {"name": self.name, "split": self.split, "fingerprint": self.fingerprint,
                "n_docs": self.n_docs, "n_queries": self.n_queries,
                "first_stage": self.first_stage.to_dict(), "warnings": self.warnings,
                "source": self.source}
        if self.qrels_source:  # only a run given --qrels has it
            data["qrels_source"] = self.qrels_source
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetSummary:
        known = known_fields(DatasetSummary, data)
        known["first_stage"] = FirstStageSummary.from_dict(data.get("first_stage"))
        known["warnings"] = list(data.get("warnings") or [])
        return cls(**known)


@dataclass
class DatasetResult:
    """A dataset as run: its summary, and what per_query.csv and runs/ need of its first stage."""

    summary: DatasetSummary
    query_ids: list[str]
    first_stage_run: dict[str, dict[str, float]]
    """query id -> doc id -> first-stage score (the candidates)."""
    first_stage_per_query: dict[str, dict[str, float]]
    """measure -> query id -> value."""
    query_texts: dict[str, str] = field(default_factory=dict)
    """query id -> text, for per_query.csv and ``runs/<dataset>/queries.jsonl``."""
    corpus: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    """The dataset's documents (id -> object with ``title`` and ``text``), read when the
    run folder keeps the texts of the top documents (:mod:`rerank_eval.run_texts`)."""
    qrels: dict[str, dict[str, int]] | None = None
    """The evaluated queries' judgments (query id -> doc id -> grade), kept as
    ``runs/<dataset>/qrels.txt`` (:mod:`rerank_eval.run_qrels`); None: not known."""

    @property
    def name(self) -> str:
        return self.summary.name


@dataclass
class SuiteSummary:
    name: str = ""
    description: str = ""
    measures: list[str] = field(default_factory=list)
    max_queries: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SuiteSummary:
        known = known_fields(SuiteSummary, data or {})
        known["measures"] = list(known.get("measures") or [])
        return cls(**known)


@dataclass
class PerQueryColumns:
    """What the columns of per_query.csv are: keys (and descriptions) and measures."""

    key_columns: list[str] = field(default_factory=lambda: list(KEY_COLUMNS))
    measure_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PerQueryColumns:
        return cls(key_columns=list(data.get("key_columns") or KEY_COLUMNS),
                   measure_columns=list(data.get("measure_columns") or []))


@dataclass
class RunSummary:
    """``summary.json``: the suite, one entry per cell, the datasets, the environment."""

    suite: SuiteSummary = field(default_factory=SuiteSummary)
    results: list[CellSummary] = field(default_factory=list)
    datasets: list[DatasetSummary] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    per_query: PerQueryColumns | None = None
    """None only for a version-0 file, which did not say; the reader then falls back."""
    schema_version: int = SCHEMA_VERSION
    """The version the file was written with (0: unversioned, upgraded on reading)."""

    @property
    def failed(self) -> list[CellSummary]:
        return [cell for cell in self.results if cell.errors]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "suite": self.suite.to_dict(),
            "results": [cell.summary_dict() for cell in self.results],
            "datasets": [d.to_dict() for d in self.datasets],
            "environment": self.environment,
        }
        if self.per_query is not None:
            data["per_query"] = self.per_query.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], what: str = "summary.json") -> RunSummary:
        """Read any version up to ours; version 0 (unversioned) is upgraded in passing.

        Version 0 differs only in what it lacks: no ``schema_version`` and no
        ``per_query`` block (the reader then takes the suite's measures as the measure
        columns). Every other field kept its name and meaning.
        """
        if not isinstance(data, Mapping):
            raise SchemaError(f"{what}: not a JSON object")
        version = schema_version(data, what)
        per_query = data.get("per_query") if version >= 1 else None
        return cls(
            suite=SuiteSummary.from_dict(data.get("suite")),
            results=[CellSummary.from_dict(c) for c in data.get("results") or []],
            datasets=[DatasetSummary.from_dict(d) for d in data.get("datasets") or []],
            environment=dict(data.get("environment") or {}),
            per_query=PerQueryColumns.from_dict(per_query) if isinstance(per_query, Mapping)
            else None,
            schema_version=version,
        )


@dataclass
class RunResult:
    """What a run produced, ready to be written: the summary's parts and per-query data."""

    suite: SuiteSummary
    datasets: list[DatasetResult] = field(default_factory=list)
    cells: list[CellResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(cell.failed for cell in self.cells)
