"""The library's one call: ``rerank_eval.evaluate(dataset, rerankers, ...)``.

It builds the suite ``rerank-eval run --dataset ... --reranker ...`` builds (the same
:func:`rerank_eval.suite_build.build_suite`, the same checks before anything is loaded),
runs the :class:`~rerank_eval.harness.Harness` and writes the run folder as ``run --out``
does (summary.json, per_query.csv, runs/, cells/; resumable, one writer at a time), and
returns an :class:`~rerank_eval.evaluation_result.EvaluationResult`. Reports are written
on request (``result.write_report()``), not by every evaluation.

``evaluate`` needs no ``await``: it runs its own event loop, or, inside one that is
already running (a Jupyter notebook), a loop in a worker thread (:mod:`rerank_eval.blocking`).
``aevaluate`` is the same as a coroutine, for async code.

Without ``out`` the run folder is a temporary folder that lives as long as the result
(``result.run_dir``); give ``out`` to keep it, or to resume an interrupted evaluation.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeAlias

from rerank_eval.blocking import run_blocking
from rerank_eval.evaluation_result import EvaluationResult
from rerank_eval.harness import Harness, ProgressSink
from rerank_eval.run_lock import hold_run_lock
from rerank_eval.store import write_run_dir
from rerank_eval.suite import RerankerConfig, Suite, SuiteError
from rerank_eval.suite_build import build_suite, check_before_loading

DatasetsArg: TypeAlias = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""A dataset name or path (as ``--dataset`` takes it), or several."""
RerankersArg: TypeAlias = (str | RerankerConfig | Sequence[str | RerankerConfig]
                           | Mapping[str, str | RerankerConfig])
"""A reranker spec (as ``--reranker`` takes it), several, or labels -> specs."""


def evaluate(dataset: DatasetsArg, rerankers: RerankersArg, *, top_k: int = 100,
             measures: str | Sequence[str] | None = None, max_queries: int | None = None,
             split: str = "test", out: str | os.PathLike[str] | None = None,
             run_file: str | os.PathLike[str] | None = None, stemmer: str | None = None,
             qrels: str | os.PathLike[str] | None = None, latency_sample: int | None = None,
             latency_warmup: int | None = None,
             cpu_hour_usd: float | None = None, gpu_hour_usd: float | None = None,
             executor: str | None = None, ray_actors: int | None = None,
             response_cache: bool = True,
             progress: ProgressSink | None = None) -> EvaluationResult:
    """Evaluate ``rerankers`` on ``dataset``; callable from plain code and from notebooks.

    ``dataset``: a name (under ``$RERANK_EVAL_DATASETS``, the cache, then BEIR's
    download) or a path (a BEIR folder or zip, a candidates file), or a list of them.
    ``rerankers``: a spec (``"bm25"``, ``"biencoder"``, ``"cross-encoder:PATH"``,
    ``"cohere:rerank-v3.5"``), a list of specs or :class:`~rerank_eval.suite.RerankerConfig`,
    or a mapping label -> spec. The other options are ``rerank-eval run``'s: ``top_k``
    candidates per query from the first stage (BM25, or ``run_file``), ``measures``
    (ir-measures names; default nDCG@10, RR@10, R@10, R@k, AP@k), ``max_queries`` (the
    first N query ids in sorted order), ``qrels`` (a qrels file replacing the judgments),
    ``out`` (the run folder; default a temporary one kept by the result),
    ``response_cache=False`` is ``--no-cache``.

    Input errors raise: an unknown reranker kind or option, a bad measure or an ``out``
    that is a file (:class:`~rerank_eval.suite.SuiteError`, before anything is loaded or
    created), a missing or malformed dataset (:class:`~rerank_eval.datasets.DatasetError`).
    A reranker that fails on some queries does not raise: its cell records the errors
    (``result.failed``) and a warning says so.
    """
    suite, out_dir = _prepare(
        dataset, rerankers, top_k=top_k, measures=measures, max_queries=max_queries,
        split=split, out=out, run_file=run_file, stemmer=stemmer, qrels=qrels,
        latency_sample=latency_sample, latency_warmup=latency_warmup,
        cpu_hour_usd=cpu_hour_usd, gpu_hour_usd=gpu_hour_usd, executor=executor,
        ray_actors=ray_actors)
    result = run_blocking(_evaluate(suite, out_dir, progress, response_cache))
    _warn_if_failed(result)  # here, not in the worker thread: a notebook shows it
    return result


async def aevaluate(dataset: DatasetsArg, rerankers: RerankersArg, *, top_k: int = 100,
                    measures: str | Sequence[str] | None = None,
                    max_queries: int | None = None, split: str = "test",
                    out: str | os.PathLike[str] | None = None,
                    run_file: str | os.PathLike[str] | None = None,
                    stemmer: str | None = None, qrels: str | os.PathLike[str] | None = None,
                    latency_sample: int | None = None,
                    latency_warmup: int | None = None, cpu_hour_usd: float | None = None,
                    gpu_hour_usd: float | None = None, executor: str | None = None,
                    ray_actors: int | None = None, response_cache: bool = True,
                    progress: ProgressSink | None = None) -> EvaluationResult:
    """:func:`evaluate` as a coroutine, for code that runs its own event loop."""
    suite, out_dir = _prepare(
        dataset, rerankers, top_k=top_k, measures=measures, max_queries=max_queries,
        split=split, out=out, run_file=run_file, stemmer=stemmer, qrels=qrels,
        latency_sample=latency_sample, latency_warmup=latency_warmup,
        cpu_hour_usd=cpu_hour_usd, gpu_hour_usd=gpu_hour_usd, executor=executor,
        ray_actors=ray_actors)
    result = await _evaluate(suite, out_dir, progress, response_cache)
    _warn_if_failed(result)
    return result


def _prepare(dataset: DatasetsArg, rerankers: RerankersArg, *, top_k: int,
             measures: str | Sequence[str] | None, max_queries: int | None, split: str,
             out: str | os.PathLike[str] | None, run_file: str | os.PathLike[str] | None,
             stemmer: str | None, qrels: str | os.PathLike[str] | None,
             latency_sample: int | None, latency_warmup: int | None,
             cpu_hour_usd: float | None, gpu_hour_usd: float | None, executor: str | None,
             ray_actors: int | None) -> tuple[Suite, Path | None]:
    """The suite ``rerank-eval run`` builds from these options, checked before anything
    is loaded or created; and the run folder asked for (None: a temporary one)."""
    suite = build_suite(
        None, dataset_names(dataset), reranker_configs(rerankers), top_k, max_queries,
        [measures] if isinstance(measures, str) else list(measures or []),
        None if run_file is None else Path(run_file), stemmer,
        {"cpu_hour_usd": cpu_hour_usd, "gpu_hour_usd": gpu_hour_usd},
        latency_sample=latency_sample, latency_warmup=latency_warmup,
        executor=executor or ("ray" if ray_actors else None), ray_actors=ray_actors,
        split=split, qrels=None if qrels is None else Path(qrels),
        source="rerank_eval.evaluate")
    out_dir = None if out is None else Path(out)
    check_before_loading(suite, out_dir, out_option="out")
    return suite, out_dir


async def _evaluate(suite: Suite, out_dir: Path | None, progress: ProgressSink | None,
                    response_cache: bool) -> EvaluationResult:
    workdir = None
    if out_dir is None:
        workdir = tempfile.TemporaryDirectory(prefix="rerank-eval-")
        out_dir = Path(workdir.name)
    try:
        await _run(suite, out_dir, progress, response_cache)
        return EvaluationResult(out_dir, workdir=workdir)
    except BaseException:
        if workdir is not None:
            workdir.cleanup()
        raise


def _warn_if_failed(result: EvaluationResult) -> None:
    if result.failed:
        cells = "; ".join(f"{c.dataset} × {c.reranker}: {c.errors} errors"
                          + (f" ({c.error_messages[0]})" if c.error_messages else "")
                          for c in result.failed)
        warnings.warn(f"some cells failed: {cells}; see result.failed", RuntimeWarning,
                      stacklevel=3)


async def _run(suite: Suite, out_dir: Path, progress: ProgressSink | None,
               response_cache: bool) -> None:
    """The harness into ``out_dir``, written after every cell, as ``rerank-eval run``."""
    with hold_run_lock(out_dir):
        harness = Harness(suite, out_dir, progress=progress,
                          on_cell_done=lambda partial: write_run_dir(partial, out_dir),
                          response_cache=response_cache)
        result = await harness.run()
        write_run_dir(result, out_dir)


def dataset_names(dataset: DatasetsArg) -> list[str]:
    """One or several datasets, as the strings ``--dataset`` takes."""
    if isinstance(dataset, str | os.PathLike):
        return [os.fspath(dataset)]
    names = [os.fspath(d) for d in dataset]
    if not names:
        raise SuiteError("give at least one dataset")
    return names


def reranker_configs(rerankers: RerankersArg) -> list[RerankerConfig]:
    """One or several rerankers (specs, configs, or labels -> either) as suite entries."""
    if isinstance(rerankers, str | RerankerConfig):
        items: list[str | RerankerConfig] = [rerankers]
    elif isinstance(rerankers, Mapping):
        items = [RerankerConfig(spec=value, label=label) if isinstance(value, str)
                 else value.model_copy(update={"label": label})
                 for label, value in rerankers.items()]
    else:
        items = list(rerankers)
    configs = [r if isinstance(r, RerankerConfig) else RerankerConfig(spec=r) for r in items]
    if not configs:
        raise SuiteError("give at least one reranker")
    return configs
