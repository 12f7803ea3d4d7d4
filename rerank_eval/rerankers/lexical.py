"""``bm25``: the lexical baseline, BM25 over each query's candidates.

With whole-corpus statistics the candidates are scored with corpus IDF, so ``bm25``
over BM25 candidates reproduces the first stage exactly: the "no reranking" row. The
harness hands over the dataset's corpus index
(:class:`~rerank_eval.rerankers.base.SharesCorpusIndex`): the first stage's own index
when the settings match, else one built once and cached; other callers hand over the
documents to index (:class:`~rerank_eval.rerankers.base.CorpusAware`). Without them
(``idf=candidates``, or documents the corpus does not hold) the candidate list itself
is the collection, as an API would see it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from rerank_eval.bm25_index import BM25Config, BM25Index
from rerank_eval.corpus_index import CorpusIndex, CorpusIndexes
from rerank_eval.rerankers.base import Runtime
from rerank_eval.rerankers.registry import RerankerKind, register
from rerank_eval.rerankers.spec import RerankerSpec, RerankerSpecError, check_options, option
from rerank_eval.types import Document, RankedResult, RerankRequest, RerankResponse, Usage

_OPTIONS = {"idf", "k1", "b", "stemmer", "stopwords"}

register(RerankerKind(
    kind="bm25",
    factory_path="rerank_eval.rerankers.lexical:create_bm25",
    summary="BM25 (bm25s) over each query's candidates, corpus IDF when the harness has it",
    cost_basis="hardware",
    options=tuple(sorted(_OPTIONS)),
))


class BM25Reranker:
    max_concurrency = 1
    score_kind = "bm25"
    device = "cpu"

    def __init__(self, config: BM25Config, idf: str = "corpus", name: str = "bm25") -> None:
        if idf not in ("corpus", "candidates"):
            raise RerankerSpecError(f"reranker {name!r}: idf must be 'corpus' or 'candidates'")
        self.name = name
        self.config = config
        self.idf = idf
        self._corpus: CorpusIndex | None = None

    def index_corpus(self, documents: Sequence[Document]) -> None:
        """CorpusAware: index these documents (when no shared index is offered)."""
        if self.idf == "corpus":
            self._corpus = CorpusIndex.of_documents(documents, self.config)

    def use_corpus_index(self, indexes: CorpusIndexes) -> None:
        """SharesCorpusIndex: the dataset's index for these settings, the first stage's
        when they are the same (nothing is indexed a second time)."""
        if self.idf == "corpus":
            self._corpus = indexes.get(self.config)

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        started = time.perf_counter()
        scores, busy = await asyncio.to_thread(self._score, request)
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        if request.top_n is not None:
            order = order[: request.top_n]
        return RerankResponse(
            results=[RankedResult(i, scores[i]) for i in order],
            usage=Usage(requests=1, compute_s=busy),
            latency_s=time.perf_counter() - started,
            score_kind=self.score_kind,
        )

    def _score(self, request: RerankRequest) -> tuple[list[float], float]:
        started = time.perf_counter()
        positions = self._positions_in_corpus(request.documents)
        if positions is not None and self._corpus is not None:
            scores = [float(s) for s in self._corpus.index.scores_at(request.query, positions)]
        else:
            index = BM25Index([d.text for d in request.documents], self.config)
            scores = [float(s) for s in index.scores(request.query)]
        return scores, time.perf_counter() - started

    def _positions_in_corpus(self, documents: Sequence[Document]) -> list[int] | None:
        """Corpus positions of the candidates, or None if any is not the indexed document."""
        corpus = self._corpus
        if corpus is None:
            return None
        positions = []
        for doc in documents:
            pos = corpus.position(doc.id) if doc.id is not None else None
            if pos is None or not corpus.holds(pos, doc.text):
                return None
            positions.append(pos)
        return positions

    async def aclose(self) -> None:
        self._corpus = None


def create_bm25(spec: RerankerSpec, runtime: Runtime | None = None) -> BM25Reranker:
    check_options(spec, _OPTIONS)
    if spec.arg:
        raise RerankerSpecError(f"reranker {spec.text!r}: bm25 takes no argument; "
                                "use options, e.g. bm25?stemmer=english")
    defaults = BM25Config()
    stopwords = option(spec, "stopwords", str, defaults.stopwords)
    config = BM25Config(
        k1=option(spec, "k1", float, defaults.k1),
        b=option(spec, "b", float, defaults.b),
        stemmer=option(spec, "stemmer", str, defaults.stemmer) or None,
        stopwords=None if stopwords in ("", "none") else stopwords,
    )
    return BM25Reranker(config, idf=option(spec, "idf", str, "corpus"))
