"""What a dataset's corpus is to the rest of the package: a read-only mapping from document
id to :class:`CorpusDocument`, in corpus order, plus bulk access for streaming.

Two implementations share this interface: :class:`MemoryCorpus` (a dict, for corpora built
in Python or small enough not to matter) and
:class:`~rerank_eval.datasets.corpus_store.ArrowCorpus` (a memory-mapped Arrow file, what
the loaders return, so that a corpus larger than memory costs pages, not objects). Code that
touches every document should use :meth:`Corpus.iter_texts`; per-document lookups
(``corpus[doc_id]``) are for a query's candidates.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import ItemsView, Iterable, Iterator, Mapping, ValuesView

from rerank_eval.datasets.model import CorpusDocument

DEFAULT_BATCH = 10_000


class Corpus(Mapping[str, CorpusDocument]):
    """Document id → :class:`CorpusDocument`, iterated in corpus (file) order."""

    @abstractmethod
    def __getitem__(self, doc_id: str) -> CorpusDocument: ...

    @abstractmethod
    def __iter__(self) -> Iterator[str]: ...

    @abstractmethod
    def __len__(self) -> int: ...

    def iter_texts(self, batch_size: int = DEFAULT_BATCH
                   ) -> Iterator[tuple[list[str], list[str]]]:
        """``(ids, full_texts)`` chunks of at most ``batch_size`` documents, in corpus order:
        what an indexer streams, never holding more than one chunk of Python strings."""
        check_batch_size(batch_size)
        ids: list[str] = []
        texts: list[str] = []
        for doc_id, doc in self.items():
            ids.append(doc_id)
            texts.append(doc.full_text)
            if len(ids) == batch_size:
                yield ids, texts
                ids, texts = [], []
        if ids:
            yield ids, texts

    def texts(self, doc_ids: Iterable[str]) -> list[str]:
        """The ``full_text`` of each id, in the order given (a query's candidates).
        Raises :class:`KeyError` naming the first id the corpus does not hold."""
        return [self[doc_id].full_text for doc_id in doc_ids]

    def row_of(self, doc_id: str) -> int | None:
        """The corpus position (iteration order) of an id, or None when it is not held."""
        if doc_id not in self:
            return None
        return next(i for i, other in enumerate(self) if other == doc_id)

    def empty_documents(self) -> int:
        """How many documents have neither title nor text (empty or whitespace only)."""
        return sum(1 for doc in self.values() if is_empty_document(doc.title, doc.text))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self):,} documents)"


class MemoryCorpus(Corpus):
    """A corpus held in a dict (kept in the dict's order)."""

    def __init__(self, documents: Mapping[str, CorpusDocument]) -> None:
        # a dict is taken over, not copied (the loaders hand theirs on)
        self._docs = documents if isinstance(documents, dict) else dict(documents)
        self._positions: dict[str, int] | None = None

    def __getitem__(self, doc_id: str) -> CorpusDocument:
        return self._docs[doc_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._docs)

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._docs

    def row_of(self, doc_id: str) -> int | None:
        if self._positions is None:
            self._positions = {doc_id: i for i, doc_id in enumerate(self._docs)}
        return self._positions.get(doc_id)

    def items(self) -> ItemsView[str, CorpusDocument]:
        return self._docs.items()  # the dict's own view: no lookup per item

    def values(self) -> ValuesView[CorpusDocument]:
        return self._docs.values()


def as_corpus(documents: Mapping[str, CorpusDocument]) -> Corpus:
    """``documents`` as a :class:`Corpus` (a plain mapping is wrapped, not copied twice)."""
    return documents if isinstance(documents, Corpus) else MemoryCorpus(documents)


def is_empty_document(title: str, text: str) -> bool:
    """Neither title nor text (empty or whitespace only): counted and warned about."""
    return (not title or title.isspace()) and (not text or text.isspace())


def check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
