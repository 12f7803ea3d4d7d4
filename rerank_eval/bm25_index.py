"""A BM25 index (bm25s) shared by the first stage and the ``bm25`` reranker.

Defaults reproduce the reference BM25 in ``shared/datasets/README.md``: bm25s's Lucene
variant (k1=1.5, b=0.75), lower-cased ``\\w\\w+`` tokens, bm25s's English stopword list,
**no stemming** (SciFact top-100 nDCG@10 0.662). ``stemmer="english"`` (Snowball via
PyStemmer) is available and scores higher on SciFact (0.686, the MTEB bm25s baseline);
it is an explicit choice, recorded with the results, not a silent default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class BM25Config:
    k1: float = 1.5
    b: float = 0.75
    method: str = "lucene"
    stopwords: str | None = "en"
    stemmer: str | None = None
    """A Snowball language for PyStemmer (e.g. ``english``), or None for no stemming."""

    def describe(self) -> dict[str, object]:
        return asdict(self)


class BM25Index:
    """Lexical index over a list of texts; scores are bm25s float32 values as Python floats."""

    def __init__(self, texts: Sequence[str], config: BM25Config | None = None) -> None:
        import bm25s

        self.config = config or BM25Config()
        self._stemmer = _make_stemmer(self.config.stemmer)
        self._model = bm25s.BM25(k1=self.config.k1, b=self.config.b, method=self.config.method)
        self.size = len(texts)
        self._model.index(self._tokenize(texts), show_progress=False)

    def _tokenize(self, texts: Sequence[str]):
        import bm25s

        return bm25s.tokenize(list(texts), stopwords=self.config.stopwords or [],
                              stemmer=self._stemmer, show_progress=False)

    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        """Top-``k`` (position, score) per query, best first. A query with no token at all
        (blank, punctuation or stopwords only) has nothing to search for and gets []; any
        other gets ``k`` documents (fewer only when the corpus is smaller)."""
        import bm25s

        k = min(k, self.size)
        tokens = bm25s.tokenize(list(queries), stopwords=self.config.stopwords or [],
                                stemmer=self._stemmer, show_progress=False, return_ids=False)
        hits: list[list[tuple[int, float]]] = []
        for query_tokens in tokens:
            if not query_tokens:  # bm25s raises IndexError on an empty token list
                hits.append([])
                continue
            scores = self._model.get_scores(query_tokens)
            hits.append(_top_k(scores, k))
        return hits

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed text for one query."""
        import bm25s

        tokens = bm25s.tokenize([query], stopwords=self.config.stopwords or [],
                                stemmer=self._stemmer, show_progress=False, return_ids=False)
        if not tokens[0]:  # nothing to search for: every text scores 0
            return np.zeros(self.size, dtype=np.float32)
        return self._model.get_scores(tokens[0])


def _top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Highest scores first; equal scores in ascending position order (deterministic).

    Documents with score 0 share no term with the query; they are still candidates
    (as in bm25s.retrieve), so a reranker always sees ``k`` documents when the corpus
    has that many.
    """
    if k <= 0:
        return []
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
        # Widen to every position tied with the k-th score so the cut is deterministic.
        kth = scores[part].min()
        part = np.flatnonzero(scores >= kth)
    else:
        part = np.arange(len(scores))
    order = part[np.lexsort((part, -scores[part]))][:k]
    return [(int(i), float(scores[i])) for i in order]


def _make_stemmer(language: str | None):
    if not language:
        return None
    import Stemmer

    try:
        return Stemmer.Stemmer(language).stemWords
    except KeyError as exc:
        raise ValueError(
            f"unknown stemmer language {language!r}; known: {', '.join(Stemmer.algorithms())}"
        ) from exc
