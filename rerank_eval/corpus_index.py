"""The BM25 index of a dataset's whole corpus, built once and shared.

The first stage searches it; the ``bm25`` reranker (corpus IDF) scores candidates with
it. :class:`CorpusIndexes` holds one dataset's indexes by :class:`BM25Config`: an index
is loaded from the artifact cache (memory-mapped) or built streaming from the corpus
(and stored), at most once per process, so a reranker with the first stage's settings
uses the first stage's index rather than indexing the corpus a second time.

Positions are corpus order (``iter_texts`` / iteration order of ``dataset.corpus``),
which the dataset fingerprint fixes, so a cached index needs no list of ids beside it;
it keeps a 64-bit hash of each indexed text (``text_hashes.npy``) instead, for the
reranker's check that a candidate is the document indexed under its id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rerank_eval.artifacts import ArtifactCache, Entry
from rerank_eval.bm25_build import BUILD_VERSION
from rerank_eval.bm25_index import CHUNK_SIZE, BM25Config, BM25Index
from rerank_eval.types import Document

if TYPE_CHECKING:
    from rerank_eval.datasets import Dataset
    from rerank_eval.datasets.corpus import Corpus

INDEX_KIND = "bm25-index"
HASHES_FILE = "text_hashes.npy"


class CorpusIndex:
    """A BM25 index over a corpus (position ``i`` = the ``i``-th document in corpus
    order), the way back from a document id to its position, and a 64-bit hash of each
    indexed text (so checking that a candidate is the indexed document costs a hash, not
    a fetch from the corpus store)."""

    def __init__(self, index: BM25Index, corpus: Corpus, hashes: np.ndarray) -> None:
        if not index.size == len(corpus) == len(hashes):
            raise ValueError(f"BM25 index of {index.size:,} documents and {len(hashes):,} "
                             f"text hashes for a corpus of {len(corpus):,}")
        self.index = index
        self.config = index.config
        self._corpus: Corpus | None = corpus
        self._hashes: np.ndarray | None = hashes
        self._positions: dict[str, int] | None = None
        self._texts: list[str] | None = None
        self._ids: list[str] | None = None

    @classmethod
    def of_documents(cls, documents: Sequence[Document], config: BM25Config) -> CorpusIndex:
        """An index over ``documents`` (all of them; those with an id can be looked up)."""
        texts = [d.text for d in documents]
        index = BM25Index(texts, config)
        held = cls.__new__(cls)
        held.index, held.config, held._corpus, held._hashes = index, config, None, None
        held._texts = texts
        held._positions = {d.id: i for i, d in enumerate(documents) if d.id is not None}
        held._ids = None
        return held

    def doc_ids(self) -> list[str]:
        """Every id by position (listed on first use)."""
        if self._ids is None:
            if self._corpus is None:
                raise ValueError("an index of documents has no id for every position")
            self._ids = list(self._corpus)
        return self._ids

    def position(self, doc_id: str) -> int | None:
        """The position of ``doc_id``, or None when the corpus does not hold it."""
        if self._positions is not None:
            return self._positions.get(doc_id)
        assert self._corpus is not None
        return self._corpus.row_of(doc_id)

    def holds(self, position: int, text: str) -> bool:
        """Whether ``text`` is the text indexed at ``position``."""
        if self._texts is not None:
            return self._texts[position] == text
        assert self._hashes is not None
        return int(self._hashes[position]) == text_hash(text)


def text_hash(text: str) -> int:
    """A 64-bit hash of a text (blake2b: stable across processes, unlike ``hash``)."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _hashing(chunks: Iterable[list[str]], hashes: list[np.ndarray]) -> Iterator[list[str]]:
    """``chunks`` unchanged, appending each chunk's text hashes to ``hashes``."""
    for texts in chunks:
        hashes.append(np.fromiter(map(text_hash, texts), dtype=np.uint64, count=len(texts)))
        yield texts


def corpus_chunks(corpus: Corpus, size: int = CHUNK_SIZE) -> Iterator[list[str]]:
    """The corpus's ``full_text`` in corpus order, ``size`` documents at a time (one chunk
    of Python strings in memory at a time)."""
    for _, texts in corpus.iter_texts(size):
        yield texts


def index_fields(dataset: Dataset, config: BM25Config) -> dict[str, Any]:
    """What decides a corpus index: the corpus (fingerprint and size), the settings, and
    the code that scores (bm25s's version, this package's builder version)."""
    import bm25s

    return {"dataset": dataset.fingerprint, "n_docs": len(dataset.corpus),
            "bm25": config.describe(), "bm25s": bm25s.__version__, "builder": BUILD_VERSION}


def describe_config(config: BM25Config) -> str:
    """``k1=1.5 b=0.75 lucene stopwords=en stemmer=none``: settings as ``cache ls`` shows."""
    return (f"k1={config.k1:g} b={config.b:g} {config.method} "
            f"stopwords={config.stopwords or 'none'} stemmer={config.stemmer or 'none'}")


class CorpusIndexes:
    """One dataset's corpus indexes, by config: each loaded from ``cache`` or built (and
    stored) at most once per instance. ``builds`` counts the indexes built here."""

    def __init__(self, dataset: Dataset, cache: ArtifactCache | None = None) -> None:
        self.dataset = dataset
        self.cache = cache if cache is not None else ArtifactCache()
        self.builds = 0
        self._held: dict[BM25Config, CorpusIndex] = {}

    def get(self, config: BM25Config) -> CorpusIndex:
        held = self._held.get(config)
        if held is not None:
            return held
        corpus = self.dataset.corpus

        def build(folder: Path | None) -> CorpusIndex:
            parts: list[np.ndarray] = []
            index = BM25Index.from_chunks(_hashing(corpus_chunks(corpus), parts), config,
                                          spill_dir=folder)
            hashes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
            self.builds += 1
            if folder is not None:
                index.save(folder)
                np.save(folder / HASHES_FILE, hashes)
            return CorpusIndex(index, corpus, hashes)

        def load(entry: Entry) -> CorpusIndex:
            return CorpusIndex(BM25Index.load(entry.path, config, mmap=True), corpus,
                               np.load(entry.file(HASHES_FILE), mmap_mode="r"))

        fetched = self.cache.fetch(
            INDEX_KIND, index_fields(self.dataset, config),
            label={"dataset": self.dataset.name, "settings": describe_config(config)},
            build=build, load=load)
        held = fetched.value
        self._held[config] = held
        return held
