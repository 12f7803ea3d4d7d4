"""Runs datasets x rerankers and records everything.

For each dataset: load it, take the first stage's candidates, evaluate the first stage
(its recall@k is the ceiling of every reranker). For each reranker: send each query's
candidates through the one interface, time every call, journal every finished query
(so an interrupted run resumes), then evaluate with ir-measures. The harness never
knows whether a reranker is a local model or a remote API: it uses the protocol and its
explicit optional parts (:mod:`rerank_eval.rerankers.base`) only.

What it produces are the record types of the output contract (:mod:`rerank_eval.records`),
which :mod:`rerank_eval.store` writes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from rerank_eval.bm25_index import BM25Config
from rerank_eval.candidates import (
    Candidates,
    CandidatesError,
    bm25_candidates,
    file_candidates,
    run_file_candidates,
)
from rerank_eval.corpus_index import CorpusIndexes
from rerank_eval.executors import Distributed, Executor, execution_record, executor_for
from rerank_eval.journal import CellJournal, JournalContents, journal_path
from rerank_eval.latency import latency_summary_ms
from rerank_eval.metrics import JUDGED_MEASURE, Evaluation, evaluate
from rerank_eval.pricing import hardware_kind, hardware_price
from rerank_eval.ranking import validate_ranking
from rerank_eval.records import (
    LATENCY_EVERY_CALL,
    CellResult,
    DatasetResult,
    DatasetSummary,
    FirstStageSummary,
    PriceRecord,
    QueryRecord,
    RunResult,
    SuiteSummary,
    latency_pass_method,
)
from rerank_eval.rerankers import Reranker, Runtime
from rerank_eval.rerankers.base import (
    CorpusAware,
    PricedByHardware,
    PricedByUsage,
    ReusesWork,
    SharesCorpusIndex,
)
from rerank_eval.secrets import is_secret_option, redact
from rerank_eval.suite import RerankerConfig, Suite
from rerank_eval.types import (
    Document,
    RankedResult,
    RerankRequest,
    RerankResponse,
    Usage,
    take_usage,
)

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_FAILURES = 10
"""A cell whose first requests all fail (bad key, server down) stops after this many."""


class ProgressSink(Protocol):
    def cell_started(self, dataset: str, reranker: str, total: int, done: int) -> None: ...
    def query_done(self) -> None: ...
    def cell_finished(self, cell: CellResult) -> None: ...
    def message(self, text: str) -> None: ...


class _SilentProgress:
    def cell_started(self, dataset: str, reranker: str, total: int, done: int) -> None:
        pass

    def query_done(self) -> None:
        pass

    def cell_finished(self, cell: CellResult) -> None:
        pass

    def message(self, text: str) -> None:
        log.info(text)


@dataclass
class DatasetRun:
    """A dataset being run: what the harness needs of it, beyond what it records."""

    name: str
    split: str
    fingerprint: str
    n_docs: int
    query_ids: list[str]
    candidates: Candidates
    first_stage_metrics: dict[str, float]
    first_stage_per_query: dict[str, dict[str, float]]
    qrels: dict[str, dict[str, int]]
    warnings: list[str] = field(default_factory=list)
    source: str = ""
    """Where the dataset was loaded from (recorded so ``check --recheck`` can reload it)."""
    qrels_source: str = ""
    """The ``--qrels`` file that replaced the dataset's judgments, absolute; else empty."""

    def result(self, query_texts: dict[str, str] | None = None,
               corpus: Any = None) -> DatasetResult:
        """The dataset as the output contract records it (with the texts the run folder
        keeps, when given)."""
        first_stage = FirstStageSummary(method=self.candidates.method,
                                        top_k=self.candidates.top_k,
                                        metrics=self.first_stage_metrics,
                                        details=dict(self.candidates.config))
        summary = DatasetSummary(name=self.name, split=self.split, fingerprint=self.fingerprint,
                                 n_docs=self.n_docs, n_queries=len(self.query_ids),
                                 first_stage=first_stage, warnings=self.warnings,
                                 source=self.source, qrels_source=self.qrels_source)
        return DatasetResult(summary=summary, query_ids=self.query_ids,
                             first_stage_run=self.candidates.as_run(),
                             first_stage_per_query=self.first_stage_per_query,
                             query_texts=dict(query_texts or {}), corpus=corpus,
                             qrels=self.qrels)


class Harness:
    def __init__(self, suite: Suite, out_dir: Path, progress: ProgressSink | None = None,
                 on_cell_done: Callable[[RunResult], None] | None = None, *,
                 response_cache: bool = True, executor: Executor | None = None) -> None:
        self.suite = suite
        self.out_dir = Path(out_dir)
        self.progress = progress or _SilentProgress()
        self.on_cell_done = on_cell_done
        """Called with the RunResult so far after every cell (the store writes it to disk)."""
        self.runtime = Runtime(response_cache=response_cache)
        """How rerankers run here; ``response_cache=False`` is ``--no-cache``."""
        self.executor = executor
        """Where local model inference runs; None: the suite's (``executor_for``), which
        the run closes at its end."""
        self._indexes: CorpusIndexes | None = None
        """The current dataset's corpus indexes: the first stage's, shared with bm25."""

    async def run(self) -> RunResult:
        suite = self.suite
        result = RunResult(suite=SuiteSummary(name=suite.name, description=suite.description,
                                              measures=list(suite.measures),
                                              max_queries=suite.max_queries))
        executor = self.executor or executor_for(suite)
        try:
            rerankers = self._create_rerankers(executor)
        except BaseException:
            if executor is not self.executor:
                executor.close()
            raise
        try:
            for dataset_config in self.suite.datasets:
                dataset_run, dataset = self._prepare_dataset(dataset_config)
                query_texts = {q: dataset.queries[q] for q in dataset_run.query_ids
                               if q in dataset.queries}
                result.datasets.append(dataset_run.result(query_texts, dataset.corpus))
                for config in self.suite.rerankers:
                    label = reranker_label(config)
                    reranker = rerankers[label]
                    if isinstance(reranker, Exception):
                        cell = CellResult(dataset=dataset_run.name, reranker=label,
                                          spec=redact(config.spec), errors=1,
                                          error_messages=[_describe_error(reranker)])
                    else:
                        cell = await self._run_cell(dataset_run, dataset, reranker, label, config)
                    result.cells.append(cell)
                    self.progress.cell_finished(cell)
                    if self.on_cell_done is not None:
                        self.on_cell_done(result)
        finally:
            for reranker in rerankers.values():
                if not isinstance(reranker, Exception):
                    await reranker.aclose()
            if executor is not self.executor:
                executor.close()
        return result

    def _create_rerankers(self, executor: Executor) -> dict[str, Reranker | Exception]:
        created: dict[str, Reranker | Exception] = {}
        for config in self.suite.rerankers:
            label = reranker_label(config)
            if label in created:
                raise ValueError(f"two rerankers are both named {label!r}; give one a label")
            try:
                created[label] = executor.create(config.spec, dict(config.options),
                                                 self.runtime)
            except Exception as exc:  # reported per cell; other rerankers still run
                log.error("cannot create reranker %s: %s", label, _describe_error(exc))
                created[label] = exc
        return created

    def _prepare_dataset(self, config: Any) -> tuple[DatasetRun, Any]:
        from rerank_eval.datasets import load_dataset

        path = self.suite.resolve(config.path) or config.name
        qrels_path = self.suite.resolve(config.qrels)
        dataset = load_dataset(path, split=config.split, qrels=qrels_path)
        query_ids = _evaluated_queries(dataset)
        if self.suite.max_queries:
            query_ids = query_ids[: self.suite.max_queries]
        top_k = self.suite.first_stage.top_k
        self.progress.message(f"{config.name}: {len(dataset.corpus):,} documents, "
                              f"{len(query_ids):,} queries; first stage top-{top_k}")
        candidates = self._candidates(dataset, config, top_k)
        kept = {q: candidates.by_query[q] for q in query_ids if q in candidates.by_query}
        candidates = Candidates(method=candidates.method, top_k=top_k, by_query=kept,
                                config=candidates.config, warnings=candidates.warnings)
        qrels = {q: dict(dataset.qrels[q]) for q in query_ids if dataset.qrels.get(q)}
        measures = list(dict.fromkeys([*self.suite.measures, f"R@{top_k}", JUDGED_MEASURE]))
        evaluation = _evaluate(qrels, candidates.as_run(), measures)
        run = DatasetRun(
            name=config.name, split=config.split, fingerprint=dataset.fingerprint,
            n_docs=len(dataset.corpus), query_ids=query_ids, candidates=candidates,
            first_stage_metrics=evaluation.aggregate,
            first_stage_per_query=evaluation.per_query, qrels=qrels,
            warnings=[*dataset.warnings, *candidates.warnings],
            source=str(Path(path).resolve()) if Path(path).exists() else str(path),
            qrels_source=str(Path(qrels_path).resolve()) if qrels_path else "",
        )
        return run, dataset

    def _candidates(self, dataset: Any, config: Any, top_k: int) -> Candidates:
        first_stage = self.suite.first_stage
        if dataset.first_stage is not None:  # a candidates file: its own order
            if config.run_file or first_stage.method == "run":
                raise CandidatesError(f"dataset {config.name!r} is a candidates file, which "
                                      "gives its own first stage; drop the run file")
            return file_candidates(dataset, top_k)
        if config.run_file or first_stage.method == "run":
            if not config.run_file:
                raise ValueError(f"dataset {config.name!r}: first stage 'run' needs run_file")
            return run_file_candidates(Path(self.suite.resolve(config.run_file) or ""),
                                       dataset, top_k)
        bm25 = BM25Config(k1=first_stage.k1, b=first_stage.b, stemmer=first_stage.stemmer,
                          stopwords=first_stage.stopwords)
        return bm25_candidates(dataset, top_k, bm25, indexes=self._corpus_indexes(dataset))

    def _corpus_indexes(self, dataset: Any) -> CorpusIndexes:
        if self._indexes is None or self._indexes.dataset is not dataset:
            self._indexes = CorpusIndexes(dataset)
        return self._indexes

    async def _run_cell(self, dataset_run: DatasetRun, dataset: Any, reranker: Reranker,
                        label: str, config: RerankerConfig) -> CellResult:
        cell = CellResult(dataset=dataset_run.name, reranker=label, spec=redact(config.spec),
                          concurrency=max(1, int(reranker.max_concurrency)))
        journal = CellJournal(
            journal_path(self.out_dir, dataset_run.name, label),
            fingerprint={
                "dataset": dataset_run.fingerprint, "split": dataset_run.split,
                "candidates": dataset_run.candidates.describe(), "spec": redact(config.spec),
                "options": {k: str(v) for k, v in sorted(config.options.items())
                            if not is_secret_option(k)},
            },
        )
        previous = journal.load()
        wanted = dataset_run.candidates.by_query
        records = {q: r for q, r in previous.records.items() if q in wanted}
        cell.resumed_queries = len(records)
        todo = [q for q in dataset_run.query_ids
                if q in dataset_run.candidates.by_query and q not in records]
        self.progress.cell_started(dataset_run.name, label, len(dataset_run.query_ids),
                                   len(records))
        indexed = False
        if todo and isinstance(reranker, CorpusAware):
            await self._index_corpus(reranker, dataset)
            indexed = True

        journal.open(meta={"reranker": label})
        tallies = reranker.tallies() if isinstance(reranker, Distributed) else None
        started = time.perf_counter()
        try:
            await self._rerank_queries(dataset_run, dataset, reranker, todo, records, journal,
                                       cell, first_order=_next_order(previous))
        finally:
            segment = time.perf_counter() - started
            journal.close_segment(segment if todo else 0.0, cell.failed_usage)
        if isinstance(reranker, Distributed) and tallies is not None:
            cell.executor = reranker.executor_kind
            if todo:  # how the replicas were used in this session's main pass
                cell.execution = execution_record(reranker, tallies, segment,
                                                  len(records) - cell.resumed_queries)
        cell.failed_usage = previous.failed_usage + cell.failed_usage
        cell.wall_s = previous.wall_s + (segment if todo else 0.0)
        cell.records = records
        latency_pass = isinstance(reranker, ReusesWork) and self.suite.latency_sample > 0
        if latency_pass and records:
            await self._latency_pass(dataset_run, dataset, reranker, cell, previous, journal,
                                     indexed)
        reuses_work = isinstance(reranker, ReusesWork)
        self._summarise(cell, dataset_run, latency_pass, reuses_work,
                        float(reranker.score_tolerance) if reuses_work else 0.0)
        self._price(cell, reranker)
        return cell

    async def _index_corpus(self, reranker: CorpusAware, dataset: Any) -> None:
        if isinstance(reranker, SharesCorpusIndex):  # the first stage's index, not another
            await asyncio.to_thread(reranker.use_corpus_index, self._corpus_indexes(dataset))
            return
        docs = [Document(text=doc.full_text, id=doc_id) for doc_id, doc in dataset.corpus.items()]
        await asyncio.to_thread(reranker.index_corpus, docs)

    async def _latency_pass(self, dataset_run: DatasetRun, dataset: Any, reranker: Reranker,
                            cell: CellResult, previous: JournalContents, journal: CellJournal,
                            indexed: bool) -> None:
        """Serving latency of a reranker that reuses work across queries.

        After the main pass (quality, usage, throughput, with reuse), a sample of the
        queries spread across the run (every k-th in run order) is sent again, one call at
        a time, with ``cross_query_reuse`` off, after ``latency_warmup`` warm-up calls that
        are recorded apart. Each call is journaled (``warmup`` / ``latency`` lines), so a
        resumed run measures only what is missing (after a fresh warm-up). Scores must equal
        the main pass's; :meth:`_summarise` checks them.
        """
        assert isinstance(reranker, ReusesWork)
        ordered = [r.query_id for r in sorted(cell.records.values(), key=lambda r: r.order)]
        sample = latency_sample(ordered, self.suite.latency_sample)
        wanted = set(sample)
        measured = {q: r for q, r in previous.latency.items() if q in wanted}
        warmup = list(previous.warmup)
        todo = [q for q in sample if q not in measured]
        cell.latency_wall_s = previous.latency_wall_s
        if todo:
            if isinstance(reranker, CorpusAware) and not indexed:
                await self._index_corpus(reranker, dataset)
            self.progress.message(
                f"{cell.dataset} × {cell.reranker}: latency pass, {len(todo)} of {len(sample)} "
                f"queries with cross-query reuse off, after {self.suite.latency_warmup} "
                "warm-up calls")
            order = max(_next_order(previous),
                        1 + max(r.order for r in cell.records.values()))
            calls = [("warmup", todo[i % len(todo)])
                     for i in range(self.suite.latency_warmup)] + [("latency", q) for q in todo]
            reuse_before = reranker.cross_query_reuse
            journal.open()
            started = time.perf_counter()
            try:
                reranker.cross_query_reuse = False
                for kind, query_id in calls:
                    record = await self._latency_call(dataset_run, dataset, reranker, cell,
                                                      query_id, order)
                    order += 1
                    if record is None:
                        continue
                    journal.append(record, kind)
                    if kind == "warmup":
                        warmup.append(record)
                    else:
                        measured[query_id] = record
            finally:
                reranker.cross_query_reuse = reuse_before
                segment = time.perf_counter() - started
                journal.close_segment(segment, kind="latency_segment")
            cell.latency_wall_s += segment
        cell.latency_records = measured
        cell.latency_warmup = warmup

    async def _latency_call(self, dataset_run: DatasetRun, dataset: Any, reranker: Reranker,
                            cell: CellResult, query_id: str, order: int) -> QueryRecord | None:
        doc_ids = [doc_id for doc_id, _ in dataset_run.candidates.by_query[query_id]]
        request = RerankRequest(
            query=dataset.queries[query_id],
            documents=[Document(text=dataset.corpus[d].full_text, id=d) for d in doc_ids],
        )
        try:
            response = await reranker.rerank(request)
            scores = _scores_by_doc_id(response.results, doc_ids, reranker.name, request.top_n)
        except Exception as exc:
            cell.errors += 1
            message = f"latency pass, query {query_id}: {_describe_error(exc)}"
            if len(cell.error_messages) < 20:
                cell.error_messages.append(message)
            log.error("%s on %s: %s", cell.reranker, cell.dataset, message)
            return None
        return QueryRecord(query_id=query_id, order=order, latency_s=response.latency_s,
                           n_candidates=len(doc_ids), scores=scores, usage=response.usage)

    async def _rerank_queries(self, dataset_run: DatasetRun, dataset: Any, reranker: Reranker,
                              todo: Sequence[str], records: dict[str, QueryRecord],
                              journal: CellJournal, cell: CellResult, first_order: int) -> None:
        semaphore = asyncio.Semaphore(cell.concurrency)
        consecutive_failures = 0
        abort = asyncio.Event()

        async def rerank_one(order: int, query_id: str) -> None:
            nonlocal consecutive_failures
            async with semaphore:
                if abort.is_set():
                    return
                doc_ids = [doc_id for doc_id, _ in dataset_run.candidates.by_query[query_id]]
                request = RerankRequest(
                    query=dataset.queries[query_id],
                    documents=[Document(text=dataset.corpus[d].full_text, id=d) for d in doc_ids],
                )
                response: RerankResponse | None = None
                try:
                    response = await reranker.rerank(request)
                    scores = _scores_by_doc_id(response.results, doc_ids, reranker.name,
                                               request.top_n)
                except Exception as exc:
                    # what was sent (and billed) before it failed counts in the cell
                    failed = take_usage(exc) if response is None else \
                        _rejected(response.usage)
                    if failed is not None:
                        cell.failed_usage = cell.failed_usage + failed
                    cell.errors += 1
                    consecutive_failures += 1
                    message = f"query {query_id}: {_describe_error(exc)}"
                    if len(cell.error_messages) < 20:
                        cell.error_messages.append(message)
                    log.warning("%s on %s: %s", cell.reranker, cell.dataset, message)
                    if consecutive_failures >= MAX_CONSECUTIVE_FAILURES and not records:
                        abort.set()
                        cell.error_messages.append(
                            f"stopped after {consecutive_failures} consecutive failures "
                            "with no success")
                    return
                consecutive_failures = 0
                record = QueryRecord(query_id=query_id, order=order, latency_s=response.latency_s,
                                     n_candidates=len(doc_ids), scores=scores,
                                     usage=response.usage)
                records[query_id] = record
                journal.append(record)
                if response.score_kind and not cell.score_kind:
                    cell.score_kind = response.score_kind
                self.progress.query_done()

        await asyncio.gather(*(rerank_one(first_order + i, q) for i, q in enumerate(todo)))
        if abort.is_set():
            skipped = sum(1 for q in todo if q not in records) - cell.errors
            cell.errors += max(0, skipped)

    def _price(self, cell: CellResult, reranker: Reranker) -> None:
        """Record the price behind the cost; price local busy time by the hardware hour.

        A reranker priced by usage (:class:`PricedByUsage`, the remote ones) computes cost
        from reported usage itself and exposes the ``price`` it used. A reranker priced by
        hardware (:class:`PricedByHardware`, the local ones) reports its busy seconds
        (``usage.compute_s``) and its ``device``; that time is priced at the hourly rate
        of the hardware (suite ``[costs]``, else pricing.toml's dated default), so local
        and remote land on one cost scale.
        """
        if isinstance(reranker, PricedByUsage) and reranker.price is not None:
            price = reranker.price
            cell.price = PriceRecord(usd=price.usd, per=price.per, unit=price.unit,
                                     date=price.date, source=price.source)
            return
        if not isinstance(reranker, PricedByHardware):
            return
        device = reranker.device
        if device is None or cell.usage.compute_s is None or cell.usage.cost_usd is not None:
            return
        costs = self.suite.costs
        override = costs.cpu_hour_usd if hardware_kind(str(device)) == "cpu" else \
            costs.gpu_hour_usd
        hourly = hardware_price(str(device), override)
        if hourly is None:
            return
        cell.usage = cell.usage.with_cost(hourly.cost(cell.usage.compute_s))
        cell.price = PriceRecord(usd=hourly.usd_per_hour, per=1, unit=f"{hourly.device}_hour",
                                 date=hourly.date, source=hourly.source,
                                 instance=hourly.instance, device=str(device))

    def _summarise(self, cell: CellResult, dataset_run: DatasetRun, latency_pass: bool,
                   reuses_work: bool, tolerance: float = 0.0) -> None:
        records = cell.records
        cell.n_queries = len(records)
        cell.usage = cell.failed_usage
        if not records:
            return
        run = cell.run()
        evaluation = _evaluate({q: dataset_run.qrels[q] for q in run if q in dataset_run.qrels},
                               run, list(dict.fromkeys([*self.suite.measures,
                                                        JUDGED_MEASURE])))
        cell.metrics = evaluation.aggregate
        cell.per_query_metrics = evaluation.per_query
        ordered = sorted(records.values(), key=lambda r: r.order)
        if latency_pass:
            self._check_latency_scores(cell, tolerance)
            timed = sorted(cell.latency_records.values(), key=lambda r: r.order)
            warmup = cell.latency_warmup
            cell.latency_method = latency_pass_method(len(timed), self.suite.latency_warmup)
        else:
            warmup = ordered[:1] if ordered[0].order == 0 else []
            timed = [r for r in ordered if r.order != 0] or ordered
            cell.latency_method = LATENCY_EVERY_CALL if not reuses_work else \
                f"{LATENCY_EVERY_CALL}, with cross-query reuse (latency pass off)"
        cell.latency_warmup_ms = [r.latency_s * 1000.0 for r in warmup]
        cell.latency_ms = latency_summary_ms([r.latency_s for r in timed],
                                             warmup[0].latency_s if warmup else None)
        latency_usage = Usage()
        for record in (*cell.latency_warmup, *cell.latency_records.values()):
            latency_usage = latency_usage + record.usage
        cell.latency_usage = latency_usage
        usage = cell.failed_usage
        for record in ordered:
            usage = usage + record.usage
        cell.usage = usage
        docs = sum(r.n_candidates for r in ordered)
        cell.throughput_docs_per_s = docs / cell.wall_s if cell.wall_s > 0 else None

    @staticmethod
    def _check_latency_scores(cell: CellResult, tolerance: float) -> None:
        """The latency pass must score as the main pass did, up to ``tolerance`` (batch
        composition under finite precision); more is a bug (reuse changed a score),
        recorded as an error on the cell."""
        largest = 0.0
        for record in (*cell.latency_warmup, *cell.latency_records.values()):
            main = cell.records.get(record.query_id)
            if main is None:
                continue
            if set(main.scores) != set(record.scores):
                diffs = [float("inf")]
            else:
                diffs = [abs(v - main.scores[d]) for d, v in record.scores.items()]
            worst = max(diffs, default=0.0)
            largest = max(largest, worst)
            if worst <= tolerance:
                continue
            message = (f"latency pass, query {record.query_id}: scores differ from the main "
                       f"pass by up to {worst:.3g} (tolerance {tolerance:.3g}); reuse "
                       "changed a score")
            cell.errors += 1
            if len(cell.error_messages) < 20:
                cell.error_messages.append(message)
            log.error("%s on %s: %s", cell.reranker, cell.dataset, message)
        cell.latency_score_max_diff = largest


def _evaluated_queries(dataset: Any) -> list[str]:
    """The queries a run reranks, sorted: those with judgments, as BEIR keeps them (in a
    partly labelled dataset the unlabelled queries are left out); every query when the
    dataset has no judgments at all (an unlabelled candidates file: reranked, no metrics)."""
    if not any(dataset.qrels.values()):
        return sorted(dataset.queries)
    return sorted(q for q in dataset.queries if dataset.qrels.get(q))


def _evaluate(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]],
              measures: Sequence[str]) -> Evaluation:
    """:func:`evaluate`, except that no judgments at all means no metrics (not NaN ones)."""
    if not qrels:
        return Evaluation(aggregate={}, per_query={})
    return evaluate(qrels, run, measures)


def latency_sample(query_ids: Sequence[str], n: int) -> list[str]:
    """``n`` of ``query_ids`` (in run order) spread evenly across it: every k-th, k = len/n
    (fractional), starting at the first; all of them when ``n`` >= their number."""
    if n <= 0:
        return []
    total = len(query_ids)
    if n >= total:
        return list(query_ids)
    return [query_ids[i * total // n] for i in range(n)]


def _next_order(previous: JournalContents) -> int:
    """The order of the next call in a cell, after every call its journal holds."""
    orders = [r.order for r in (*previous.records.values(), *previous.latency.values(),
                                *previous.warmup)]
    return max(orders) + 1 if orders else 0


def _scores_by_doc_id(results: Sequence[RankedResult], doc_ids: Sequence[str], name: str,
                      top_n: int | None) -> dict[str, float]:
    """Map a response's (index, score) pairs to doc ids, refusing anything ambiguous."""

    def fail(reason: str) -> Exception:
        return ValueError(f"{name} returned an invalid ranking: {reason}")

    pairs = [(r.index, r.relevance_score) for r in results]
    ranked = validate_ranking(pairs, len(doc_ids), top_n, fail)
    return {doc_ids[r.index]: r.relevance_score for r in ranked}


def _rejected(usage: Usage) -> Usage:
    """A response's usage when the harness rejects its ranking: every request failed, and
    those that were answered (not failed before) were rejected answers."""
    return replace(usage, requests_failed=usage.requests,
                   requests_rejected=usage.requests - usage.requests_failed)


def reranker_label(config: RerankerConfig) -> str:
    """The name results carry: the suite's label, else the spec with secrets redacted."""
    return config.label or redact(config.spec)


def _describe_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"
