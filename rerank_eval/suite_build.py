"""A suite from a suite file and/or options: ``rerank-eval run``'s and the library's.

``rerank-eval run --dataset D --reranker R ...`` and :func:`rerank_eval.evaluate` build
their suite here, so both evaluate exactly the same thing for the same options; and both
check it here before any data is loaded or any folder is created.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rerank_eval.suite import (
    DatasetConfig,
    RerankerConfig,
    Suite,
    SuiteError,
    check_baseline,
    check_rerankers,
    load_suite,
    suite_from_dict,
)

FILE_SUFFIXES = (".zip", ".jsonl.gz", ".jsonl", ".csv", ".tsv")
"""What a dataset named after its file drops: a zip's, a candidates file's suffix (as
``rerank_eval.datasets.model.PATH_SUFFIXES``, not imported: that package is heavy)."""


def dataset_config(value: str) -> DatasetConfig:
    """A dataset named on the command line: a name, or a path (named after its file)."""
    path = Path(value)
    suffix = next((s for s in FILE_SUFFIXES if path.name.lower().endswith(s)), "")
    name = path.name[: len(path.name) - len(suffix)] or path.name or value
    return DatasetConfig(name=name, path=value)


def build_suite(suite_file: Path | None, datasets: Sequence[str],
                rerankers: Sequence[str | RerankerConfig],
                top_k: int | None, max_queries: int | None, measures: Sequence[str],
                run_file: Path | None, stemmer: str | None,
                hour_prices: dict[str, float | None] | None = None,
                latency_sample: int | None = None, latency_warmup: int | None = None,
                executor: str | None = None, ray_actors: int | None = None,
                split: str | None = None, qrels: Path | None = None,
                source: str = "command line") -> Suite:
    """A suite from a file and/or options; the options win.

    ``rerankers`` are specs, or :class:`RerankerConfig` (a label, options); ``split``
    applies to the datasets given here (a suite file's keep their own); ``qrels`` (a qrels
    file replacing the judgments) to every dataset of the run. ``source`` names where the
    options came from in error messages when there is no suite file.
    """
    if suite_file is not None:
        suite = load_suite(suite_file)
    elif datasets:
        suite = None
    else:
        raise SuiteError("give a suite file (e.g. suites/quick.toml) or at least one --dataset")
    data: dict[str, Any] = (
        suite.model_dump(exclude={"base_dir"}) if suite else {"name": "-".join(
            dataset_config(d).name for d in datasets)}
    )
    if datasets:
        configs = [dataset_config(d) for d in datasets]
        if run_file is not None:
            configs = [c.model_copy(update={"run_file": str(run_file)}) for c in configs]
        if split is not None:
            configs = [c.model_copy(update={"split": split}) for c in configs]
        data["datasets"] = [c.model_dump() for c in configs]
    if qrels is not None:
        data["datasets"] = [{**d, "qrels": str(Path(qrels).expanduser().absolute())}
                            for d in data["datasets"]]
    if rerankers:
        data["rerankers"] = [(r if isinstance(r, RerankerConfig) else RerankerConfig(spec=r))
                             .model_dump() for r in rerankers]
    data.setdefault("rerankers", [{"spec": "bm25"}])
    first_stage = dict(data.get("first_stage", {}))
    if top_k is not None:
        first_stage["top_k"] = top_k
    if stemmer is not None:
        first_stage["stemmer"] = stemmer or None
    if run_file is not None:
        first_stage["method"] = "run"
    data["first_stage"] = first_stage
    if max_queries is not None:
        data["max_queries"] = max_queries
    if latency_sample is not None:
        data["latency_sample"] = latency_sample
    if latency_warmup is not None:
        data["latency_warmup"] = latency_warmup
    if executor is not None:
        data["executor"] = executor
        if executor != "ray" and ray_actors is None:
            data.pop("ray_actors", None)  # the suite's actor count is for its Ray executor
    if ray_actors is not None:
        data["ray_actors"] = ray_actors
    costs = dict(data.get("costs", {}))
    costs.update({k: v for k, v in (hour_prices or {}).items() if v is not None})
    data["costs"] = costs
    if measures:
        data["measures"] = list(measures)
    elif suite is not None and top_k is not None and top_k != suite.first_stage.top_k:
        from rerank_eval.metrics import measures_at_depth

        data["measures"] = measures_at_depth(suite.measures, suite.first_stage.top_k, top_k)
    return suite_from_dict(data, source=str(suite_file or source),
                           base_dir=suite.base_dir if suite else None)


def check_before_loading(suite: Suite, out_dir: Path | None, *, baseline: str | None = None,
                         out_option: str = "--out") -> None:
    """Input errors found before any data is loaded or anything is created: reranker
    kinds and options, the report's baseline, the Ray executor's presence, and an output
    folder that cannot be a folder (``out_option`` names it in the message)."""
    from rerank_eval.secrets import redact

    check_rerankers(suite)
    if baseline is not None:
        check_baseline(baseline, [c.label or redact(c.spec) for c in suite.rerankers],
                       "of this run")
    if suite.executor == "ray":
        from rerank_eval.executors import ray_missing

        problem = ray_missing()
        if problem:
            raise SuiteError(problem)
    if out_dir is None:
        return
    for path in (out_dir, *out_dir.parents):
        if path.exists() and not path.is_dir():
            where = "" if path == out_dir else f" ({path} is a file)"
            raise SuiteError(f"{out_option} {out_dir}: not a folder{where}")
