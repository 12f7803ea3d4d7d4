"""What a loaded dataset is: its documents, the :class:`Dataset` of one split, and the
one error every loader raises."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rerank_eval.datasets.corpus import Corpus


CANDIDATES_SUFFIXES = (".jsonl", ".jsonl.gz", ".csv", ".tsv")
"""A file with one of these suffixes is a candidates file (see ``candidate_files``)."""
PATH_SUFFIXES = (".zip", *CANDIDATES_SUFFIXES)
"""Suffixes that make a dataset reference a path, never a name."""


class DatasetError(ValueError):
    """A dataset cannot be found, fetched or read. The message names the file (and the
    line and field where there is one)."""


@dataclass(frozen=True, slots=True)
class CorpusDocument:
    """One corpus document. ``full_text`` is what rerankers are given."""

    doc_id: str
    title: str
    text: str

    @property
    def full_text(self) -> str:
        """``title + " " + text`` (BEIR convention); just the non-empty part when one is empty."""
        if not self.title:
            return self.text
        if not self.text:
            return self.title
        return f"{self.title} {self.text}"


@dataclass
class Dataset:
    """A loaded split: corpus, the queries the split judges, and their judgments.

    ``corpus`` is a read-only :class:`~rerank_eval.datasets.corpus.Corpus` (a mapping of
    id to document; the loaders' is memory-mapped from disk). A plain dict given here is
    wrapped in a :class:`~rerank_eval.datasets.corpus.MemoryCorpus`."""

    name: str
    split: str
    corpus: Corpus = field(repr=False)
    queries: dict[str, str] = field(repr=False)
    qrels: dict[str, dict[str, int]] = field(repr=False)
    path: Path | None
    fingerprint: str
    warnings: list[str] = field(default_factory=list)
    first_stage: dict[str, list[str]] | None = field(default=None, repr=False)
    """Query id -> document ids best first, when the dataset fixes its own candidates (a
    candidates file, :mod:`~rerank_eval.datasets.candidate_files`): the run's first stage
    is then this order, not BM25 or a run file."""

    def __post_init__(self) -> None:
        from rerank_eval.datasets.corpus import as_corpus  # corpus.py imports this module

        if isinstance(self.corpus, Mapping):
            self.corpus = as_corpus(self.corpus)

    @property
    def n_judgments(self) -> int:
        return sum(len(docs) for docs in self.qrels.values())

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, split={self.split!r}, docs={len(self.corpus)}, "
                f"queries={len(self.queries)}, judgments={self.n_judgments}, "
                f"path={self.path!r}, fingerprint={self.fingerprint[:12]!r}…)")


def looks_like_path(text: str) -> bool:
    """Whether a dataset reference is written as a path (not a dataset name), so that a
    missing one is reported as a missing file rather than looked up by name."""
    return (text.startswith((".", "~", "/")) or text.lower().endswith(PATH_SUFFIXES)
            or (os.sep != "/" and os.sep in text))
