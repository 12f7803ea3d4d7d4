"""Pooling: which documents a person should label, the way TREC builds its judgments.

The pool of a query is the union of every pooled system's top ``depth`` documents (its
ranking as the run folder's TREC file holds it, in trec_eval order, the order the
metrics use). A system's *contribution* is how many of its top documents are in the pool
and how many no other pooled system found: a system with a large unique contribution is
the one a shallow pool judges least fairly.

Each query's documents are put in an order drawn from ``seed`` and the query alone
(sorted ids, then shuffled), so the order says nothing about which system found a
document or how high, and adding a query to the run does not reorder the others.

Texts come from the run folder (:mod:`rerank_eval.run_texts`); documents deeper than it
keeps (or every text, for a folder written before texts were kept) come from the dataset,
loaded again from where the run loaded it. Labels already known (an earlier labelled
file; else the judgments the run folder keeps, or the dataset's own) are filled in, or
the document left out with ``skip_judged``; the file itself is written by
:mod:`rerank_eval.pool_file`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rerank_eval.metrics import trec_eval_order
from rerank_eval.records import FIRST_STAGE, DatasetSummary, RunSummary
from rerank_eval.run_dataset import reload_dataset
from rerank_eval.run_qrels import QrelsFileError, read_run_qrels
from rerank_eval.run_texts import RunTexts, StoredDocument, TextsError, read_run_texts
from rerank_eval.store import read_run, run_path
from rerank_eval.suite import did_you_mean
from rerank_eval.trec import TrecFileError, read_trec_run

Labels = Mapping[str, Mapping[str, int]]
"""query id -> doc id -> graded label."""


class PoolError(ValueError):
    """The pool cannot be built: the message names the run folder, file or option."""


@dataclass
class Contribution:
    """What one pooled system put into the pool."""

    system: str
    queries: int = 0
    top: int = 0
    """Documents in its top ``depth``, summed over queries."""
    unique: int = 0
    """Of those, documents no other pooled system has in its top ``depth``."""


@dataclass(frozen=True)
class PoolEntry:
    query_id: str
    doc_id: str
    label: int | None
    """A label already known (pre-filled), None: to be labelled."""


@dataclass
class Pool:
    """One dataset's pool, in file order: queries by id, each query's documents shuffled."""

    dataset: str
    depth: int
    systems: list[str]
    entries: list[PoolEntry]
    queries: dict[str, str]
    documents: dict[str, StoredDocument]
    contributions: list[Contribution]
    labels_from: str = ""
    """Where pre-filled labels came from ("" when none were looked up)."""
    skipped_judged: int = 0
    """Pooled documents left out because they were already judged (``skip_judged``)."""
    warnings: list[str] = field(default_factory=list)

    @property
    def n_queries(self) -> int:
        return len({e.query_id for e in self.entries})

    @property
    def n_prefilled(self) -> int:
        return sum(e.label is not None for e in self.entries)


@dataclass(frozen=True)
class PoolOptions:
    depth: int = 10
    dataset: str | None = None
    """The run's dataset to pool; None: the run's only one."""
    rerankers: tuple[str, ...] = ()
    """Rerankers to pool (names as the run records them); empty: every reranker."""
    include_first_stage: bool = True
    seed: int = 0
    skip_judged: bool = False
    known_labels: Labels | None = None
    """Labels already given (an earlier labelled file); None: the judgments the run used
    (kept in the run folder; the dataset's own for a folder written before they were)."""
    known_labels_from: str = ""
    dataset_path: str | None = None
    """Where to load the dataset from instead of summary.json's ``source``."""


def build_pool(run_dir: Path, options: PoolOptions) -> Pool:
    """The pool of one dataset of the run folder ``run_dir``."""
    if options.depth < 1:
        raise PoolError(f"--depth must be at least 1, got {options.depth}")
    run_dir = Path(run_dir)
    try:
        summary = read_run(run_dir).summary
    except (FileNotFoundError, ValueError) as exc:
        raise PoolError(str(exc)) from None
    dataset = _pick_dataset(run_dir, summary, options.dataset)
    systems, skipped_systems = _pick_systems(run_dir, summary, dataset.name, options)
    runs = {name: _read_run(path) for name, path in systems.items()}
    pooled, contributions = pool_documents(runs, options.depth)
    if not pooled:
        raise PoolError(f"{run_dir}: the TREC files of {', '.join(systems)} on "
                        f"{dataset.name!r} rank no documents")
    sources = _Sources(run_dir, dataset, options.dataset_path)
    doc_ids = {d for docs in pooled.values() for d in docs}
    queries, documents = sources.texts(pooled, doc_ids)
    known, labels_from = _known_labels(sources, options)
    entries, skipped = [], 0
    for query_id in sorted(pooled):
        given = known.get(query_id, {})
        for doc_id in shuffled(sorted(pooled[query_id]), options.seed, dataset.name, query_id):
            label = given.get(doc_id)
            if label is not None and options.skip_judged:
                skipped += 1
                continue
            entries.append(PoolEntry(query_id=query_id, doc_id=doc_id, label=label))
    return Pool(dataset=dataset.name, depth=options.depth, systems=list(systems),
                entries=entries, queries=queries, documents=documents,
                contributions=contributions, labels_from=labels_from, skipped_judged=skipped,
                warnings=[*skipped_systems, *sources.warnings])


def pool_documents(runs: Mapping[str, Mapping[str, Mapping[str, float]]],
                   depth: int) -> tuple[dict[str, set[str]], list[Contribution]]:
    """query id -> the union of every run's top ``depth`` documents, and each run's
    contribution (in the order of ``runs``)."""
    tops = {name: {q: [d for d, _ in trec_eval_order(scores)[:depth]]
                   for q, scores in run.items()} for name, run in runs.items()}
    found_by: dict[str, dict[str, int]] = {}
    for top in tops.values():
        for query_id, docs in top.items():
            counts = found_by.setdefault(query_id, {})
            for doc_id in docs:
                counts[doc_id] = counts.get(doc_id, 0) + 1
    contributions = []
    for name, top in tops.items():
        c = Contribution(system=name, queries=len(top))
        for query_id, docs in top.items():
            c.top += len(docs)
            c.unique += sum(found_by[query_id][d] == 1 for d in docs)
        contributions.append(c)
    return {q: set(counts) for q, counts in found_by.items()}, contributions


def shuffled(doc_ids: Sequence[str], seed: int, dataset: str, query_id: str) -> list[str]:
    """``doc_ids`` in an order drawn from the seed, the dataset and the query alone."""
    order = list(doc_ids)
    random.Random(f"{seed}\x1f{dataset}\x1f{query_id}").shuffle(order)
    return order


# -- what is pooled -----------------------------------------------------------------------


def _pick_dataset(run_dir: Path, summary: RunSummary, name: str | None) -> DatasetSummary:
    datasets = {d.name: d for d in summary.datasets}
    if not datasets:
        raise PoolError(f"{run_dir}/summary.json records no dataset")
    if name is None:
        if len(datasets) > 1:
            raise PoolError(f"{run_dir} holds {len(datasets)} datasets ({', '.join(datasets)});"
                            " a judgments file belongs to one: pool each with --dataset NAME")
        return next(iter(datasets.values()))
    if name not in datasets:
        raise PoolError(f"--dataset {name!r} is not in {run_dir}{did_you_mean(name, datasets)};"
                        f" it holds: {', '.join(datasets)}")
    return datasets[name]


def _pick_systems(run_dir: Path, summary: RunSummary, dataset: str,
                  options: PoolOptions) -> tuple[dict[str, Path], list[str]]:
    """Pooled system name -> its TREC file, in the run's order (the first stage first), and
    warnings for rerankers left out because their cell wrote no ranking (it failed)."""
    names = [c.reranker for c in summary.results if c.dataset == dataset]
    unknown = [r for r in options.rerankers if r not in names]
    if unknown:
        raise PoolError(f"--reranker {unknown[0]!r} is not a reranker of {dataset!r} in "
                        f"{run_dir}{did_you_mean(unknown[0], names)}; it has: "
                        f"{', '.join(names) or 'none'}")
    wanted = [FIRST_STAGE] if options.include_first_stage else []
    wanted += [n for n in names if not options.rerankers or n in options.rerankers]
    if not wanted:
        raise PoolError(f"nothing to pool: {dataset!r} in {run_dir} has no reranker and the "
                        "first stage is left out")
    systems, warnings = {}, []
    for name in wanted:
        path = run_path(run_dir, dataset, name)
        if path.is_file():
            systems[name] = path
        elif name == FIRST_STAGE or name in options.rerankers:
            raise PoolError(f"{path} not found: no ranking of {name!r} to pool")
        else:
            warnings.append(f"{name}: no ranking ({path} not found: its cell failed); "
                            "not pooled")
    if not systems:
        raise PoolError(f"nothing to pool for {dataset!r}: " + "; ".join(warnings))
    return systems, warnings


def _read_run(path: Path) -> dict[str, dict[str, float]]:
    try:
        return read_trec_run(path)
    except TrecFileError as exc:
        raise PoolError(str(exc)) from None


# -- texts and known labels -----------------------------------------------------------------


class _Sources:
    """The run folder's texts, and the dataset, loaded again only when it is needed."""

    def __init__(self, run_dir: Path, dataset: DatasetSummary, dataset_path: str | None) -> None:
        self.run_dir = run_dir
        self.summary = dataset
        self.dataset_path = dataset_path
        self.warnings: list[str] = []
        self._dataset: Any = None
        self._error: str | None = None

    def stored(self) -> RunTexts | None:
        try:
            return read_run_texts(self.run_dir, self.summary.name)
        except TextsError as exc:
            raise PoolError(str(exc)) from None

    def dataset(self) -> Any:
        """The dataset, loaded again (None when it cannot be: see :attr:`error`)."""
        if self._dataset is None and self._error is None:
            self._dataset, self._error = _load_dataset(self.summary, self.dataset_path,
                                                        self.warnings)
        return self._dataset

    @property
    def error(self) -> str | None:
        return self._error

    def texts(self, pooled: Mapping[str, Iterable[str]],
              doc_ids: set[str]) -> tuple[dict[str, str], dict[str, StoredDocument]]:
        stored = self.stored()
        queries = dict(stored.queries) if stored else {}
        documents = {d: stored.documents[d] for d in doc_ids
                     if stored and d in stored.documents}
        lacking_docs = doc_ids - set(documents)
        lacking_queries = set(pooled) - set(queries)
        if not lacking_docs and not lacking_queries:
            return queries, documents
        dataset = self.dataset()
        if dataset is None:
            why = ("the run folder keeps no texts (written before they were kept)"
                   if stored is None else
                   f"{len(lacking_docs)} pooled documents are deeper than the "
                   f"{stored.depth} the run folder keeps texts for")
            raise PoolError(f"{why}, and the dataset cannot be loaded again: {self._error}; "
                            "give --dataset-path")
        for query_id in lacking_queries:
            queries[query_id] = dataset.queries.get(query_id, "")
        absent = []
        for doc_id in sorted(lacking_docs):
            document = dataset.corpus.get(doc_id)
            if document is None:
                absent.append(doc_id)
                documents[doc_id] = StoredDocument(title="", text="")
            else:
                documents[doc_id] = StoredDocument(title=document.title, text=document.text)
        if absent:
            self.warnings.append(f"{len(absent)} pooled documents are not in the dataset's "
                                 f"corpus (e.g. {absent[0]!r}); their text is empty")
        return queries, {d: documents[d] for d in doc_ids}


def _known_labels(sources: _Sources, options: PoolOptions) -> tuple[Labels, str]:
    if options.known_labels is not None:
        return options.known_labels, options.known_labels_from
    try:
        stored = read_run_qrels(sources.run_dir, sources.summary.name)
    except QrelsFileError as exc:
        raise PoolError(str(exc)) from None
    if stored is not None:
        return stored, "the judgments the run folder keeps"
    dataset = sources.dataset()
    if dataset is None:
        sources.warnings.append(f"labels not pre-filled: the dataset cannot be loaded again "
                                f"({sources.error}); give --dataset-path, or --qrels FILE")
        return {}, ""
    return dataset.qrels, f"the dataset's {sources.summary.split or 'test'} judgments"


def _load_dataset(summary: DatasetSummary, path: str | None,
                  warnings: list[str]) -> tuple[Any, str | None]:
    """(the dataset, None), or (None, why not): from ``path``, else where the run loaded it,
    checked against the run's fingerprint so the texts are those the run ranked (a
    mismatch is an error, or a warning for a ``path`` the user gave)."""
    from rerank_eval.datasets import DatasetError

    try:
        dataset, differs = reload_dataset(summary, path)
    except (DatasetError, OSError, ValueError) as exc:
        return None, f"{path or summary.source or summary.name!r}: {exc}"
    if differs is not None:
        if path is None:
            return None, (f"{differs}: not the data the run ranked (a run evaluated with "
                          "--qrels records the dataset and its judgments file together)")
        warnings.append(f"{differs}; its texts are used as --dataset-path asks")
    return dataset, None
