"""The local reference rerankers: a sentence-transformers bi-encoder and cross-encoder.

``biencoder[:PATH_OR_ID]`` scores by cosine similarity and embeds each distinct document
once per reranker (candidate lists overlap across queries; ``cross_query_reuse = False``
turns that off for latency measurement); ``cross-encoder:PATH_OR_ID``
scores each (query, document) pair. Both run their model work in a worker thread, in
length-sorted token-budget batches, under ``torch.inference_mode`` and the precision
chosen by ``device`` (bf16 autocast on CPUs that have it, checked against fp32).

Options (``?k=v`` or a suite table): ``device`` (auto|cpu|cuda|mps), ``dtype``
(auto|fp32|bf16|fp16), ``batch_size`` (rows per batch at ``max_length``; shorter inputs
pack more rows into the same token budget), ``max_length`` (tokens the model reads;
longer inputs are truncated and counted), and for the cross-encoder ``activation``
(auto|logit|sigmoid: ``auto`` reports scores as the model defines them).

Building one loads the model (seconds, blocking): call the factory off the event loop
(``asyncio.to_thread``) where that matters.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rerank_eval.rerankers.base import Runtime
from rerank_eval.rerankers.local import BIENCODER_OPTIONS, CROSS_ENCODER_OPTIONS
from rerank_eval.rerankers.local.batching import (
    ACCELERATOR_PAD_MULTIPLE,
    ACCELERATOR_ROW_MULTIPLE,
    PAD_MULTIPLE,
    TokenCounter,
    count_truncated,
    pad_features,
    pad_rows,
    padded_length,
    plan_batches,
)
from rerank_eval.rerankers.local.calibration import (
    BIENCODER_BF16_TOLERANCE,
    CALIBRATION_DOCUMENTS,
    CALIBRATION_QUERIES,
    PrecisionCheck,
    biencoder_tolerance,
    checked_precision,
    cross_encoder_tolerance,
)
from rerank_eval.rerankers.local.device import (
    Precision,
    compute_context,
    resolve_device,
    resolve_precision,
    synchronize,
)
from rerank_eval.rerankers.local.loading import (
    LoadedModel,
    default_biencoder_source,
    load_model,
)
from rerank_eval.rerankers.spec import RerankerSpec, RerankerSpecError, check_options, option
from rerank_eval.types import RankedResult, RerankRequest, RerankResponse, Usage

logger = logging.getLogger("rerank_eval.rerankers.local")

FP32_BATCH_TOLERANCE = 1e-5
"""Largest cosine difference between fp32 embeddings of one text in two batches (~3e-8 seen)."""

EMBEDDING_CACHE_BYTES = 1 << 30
"""A bi-encoder forgets its oldest embeddings past this size (about 700,000 of 384 dims)."""


@dataclass(frozen=True)
class Work:
    """One call's scores and what computing them took."""

    scores: np.ndarray
    """Reported scores, in the caller's document order."""
    rank_keys: np.ndarray
    """What ranks them (raw logits for a cross-encoder, so saturated sigmoids do not tie)."""
    compute_s: float
    truncated: int
    tokens: int
    reused: int = 0
    """Distinct documents whose embeddings came from earlier calls."""


class _LocalReranker:
    """What both local rerankers share: a worker thread, batches, padding, one lock."""

    max_concurrency: int = 1
    score_kind: str = "cosine"
    device: str
    """Where the model runs (``PricedByHardware``: busy time is priced by this hardware)."""

    def __init__(self, name: str, loaded: LoadedModel, precision: Precision,
                 batch_size: int, max_length: int) -> None:
        self.name = name
        self._loaded = loaded
        self.device = loaded.device
        self.precision = precision
        self.precision_check: PrecisionCheck | None = None
        self.batch_size = batch_size
        self.max_length = max_length
        self._lock = threading.Lock()
        on_cpu = self.device == "cpu"
        self.pad_multiple = PAD_MULTIPLE if on_cpu else ACCELERATOR_PAD_MULTIPLE
        self._row_multiple = 1 if on_cpu else ACCELERATOR_ROW_MULTIPLE
        self._tokens = TokenCounter(getattr(loaded.model, "tokenizer", None))

    def describe(self) -> dict[str, Any]:
        """Settings worth recording with results."""
        return {"model": self._loaded.source, "device": self.device,
                "dtype": self.precision.describe, "batch_size": self.batch_size,
                "max_length": self.max_length, "score_kind": self.score_kind,
                "precision_check": self.precision_check.as_dict() if self.precision_check
                else None}

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        started = time.perf_counter()
        texts = [document.text for document in request.documents]
        if texts:
            work = await asyncio.to_thread(self._score_locked, request.query, texts)
        else:
            work = Work(np.empty(0), np.empty(0), 0.0, 0, 0)
        return ranked_response(work, request.top_n, name=self.name,
                               dtype=self.precision.describe, score_kind=self.score_kind,
                               started=started)

    async def aclose(self) -> None:
        """Nothing shared is released: the loaded model stays cached for other cells."""

    def _score_locked(self, query: str, texts: list[str]) -> Work:
        with self._lock:
            return self._score(query, texts)

    def _score(self, query: str, texts: list[str]) -> Work:
        raise NotImplementedError

    def _batches(self, lengths: Sequence[int], keys: Sequence[Any]) -> list[list[int]]:
        return plan_batches(lengths, keys, max_length=self.max_length,
                            token_budget=self.batch_size * self.max_length,
                            max_rows=4 * self.batch_size, multiple=self.pad_multiple)

    def _pad(self, features: dict[str, Any], batch: Sequence[int],
             lengths: Sequence[int]) -> dict[str, Any]:
        """Pad a batch to its bucket, so each input's score depends on it alone; on a GPU
        also round its rows up (filler rows, dropped by the caller: ``[: len(batch)]``)."""
        tokenizer = getattr(self._loaded.model, "tokenizer", None)
        bucket = padded_length(max(lengths[i] for i in batch), self.max_length,
                               self.pad_multiple)
        features = pad_features(features, bucket, getattr(tokenizer, "pad_token_id", None),
                                getattr(tokenizer, "padding_side", "right"))
        if self._row_multiple > 1:
            rows = -(-len(batch) // self._row_multiple) * self._row_multiple
            features = pad_rows(features, rows)
        return features


@dataclass(frozen=True)
class Embedding:
    """One text's unit-length embedding, whether it was truncated, and its tokens."""

    vector: np.ndarray
    truncated: bool
    tokens: int


@dataclass(frozen=True)
class EmbeddedCall:
    """The model work of one bi-encoder call (:meth:`BiEncoderReranker.embed_call`)."""

    query: Embedding | None
    """The query's embedding; None when the call was given no query (it was known)."""
    documents: list[Embedding]
    """The documents' embeddings, in the order given."""
    compute_s: float


class BiEncoderReranker(_LocalReranker):
    """Cosine similarity of sentence embeddings; each distinct text is embedded once.

    :class:`~rerank_eval.rerankers.base.ReusesWork`: with ``cross_query_reuse`` (the
    default) embeddings are kept across calls and reported in ``usage.reused_documents``;
    without, each call embeds its own query and documents and keeps nothing.
    """

    score_kind = "cosine"

    def __init__(self, name: str, loaded: LoadedModel, precision: Precision,
                 batch_size: int, max_length: int) -> None:
        super().__init__(name, loaded, precision, batch_size, max_length)
        prompts = getattr(loaded.model, "prompts", None) or {}
        default = getattr(loaded.model, "default_prompt_name", None)
        self._query_prompt = prompts.get("query") or prompts.get(default) or None
        self._document_prompt = next((prompts[k] for k in ("document", "passage", "corpus")
                                      if prompts.get(k)), prompts.get(default) or None)
        self._documents: dict[bytes, Embedding] = {}
        self._queries: dict[bytes, Embedding] = {}
        self._cache_bytes = 0
        self.cross_query_reuse = True
        """ReusesWork: keep embeddings for later calls (False: every call embeds its own)."""
        self.encoded_documents = 0
        """Documents this reranker has run through the model (cache misses)."""

    @property
    def score_tolerance(self) -> float:
        """ReusesWork: how far a cosine may move when its document is embedded in another
        batch: float noise in fp32, the precision check's tolerance in bf16/fp16."""
        return FP32_BATCH_TOLERANCE if self.precision.name == "fp32" else \
            BIENCODER_BF16_TOLERANCE

    def _score(self, query: str, texts: list[str]) -> Work:
        keys = [text_digest(text) for text in texts]
        unique = dict(zip(keys, texts, strict=True))  # de-duplicated within the call
        query_key = text_digest(query)
        reuse = self.cross_query_reuse
        known = {k: self._documents[k] for k in unique if k in self._documents} if reuse \
            else {}
        query_item = self._queries.get(query_key) if reuse else None
        missing = [k for k in unique if k not in known]
        tokens = 0
        call = self.embed_call(query if query_item is None else None,
                               [unique[k] for k in missing])
        if call.query is not None:
            query_item = call.query
            tokens += query_item.tokens
            if reuse:
                self._queries[query_key] = query_item
        assert query_item is not None
        fresh = dict(zip(missing, call.documents, strict=True))
        tokens += sum(item.tokens for item in fresh.values())
        self.encoded_documents += len(missing)
        if reuse:
            for key, item in fresh.items():
                self._documents[key] = item
                self._cache_bytes += item.vector.nbytes
        by_key = {**known, **fresh}
        scores = cosine_scores(keys, by_key, query_item)
        if reuse:
            self._evict()
        return Work(scores=scores, rank_keys=scores, compute_s=call.compute_s,
                    truncated=sum(by_key[k].truncated for k in keys), tokens=tokens,
                    reused=len(known))

    def embed_call(self, query: str | None, texts: Sequence[str]) -> EmbeddedCall:
        """What one call runs through the model: ``query`` alone (None: it is known), then
        ``texts`` together, batched as one call batches them. Nothing is kept.

        An embedding's last bits depend on the batch it was computed in (finite-precision
        matrix products), so a replica elsewhere that is handed the same groups of texts
        (:mod:`rerank_eval.executors`) gets the same bits as this process.
        """
        with self._loaded.lock:
            started = time.perf_counter()
            query_item = self._embed([query], self._query_prompt)[0] if query is not None \
                else None
            embedded = self._embed(texts, self._document_prompt) if texts else []
            compute_s = time.perf_counter() - started
        return EmbeddedCall(query=query_item, documents=embedded, compute_s=compute_s)

    def _embed(self, texts: Sequence[str], prompt: str | None,
               precision: Precision | None = None) -> list[Embedding]:
        """Unit-length embeddings of ``texts``; the caller holds the model lock."""
        from sentence_transformers.util import batch_to_device

        model = self._loaded.model
        shown = [prompt + t for t in texts] if prompt else list(texts)
        lengths = self._tokens.singles(shown)
        batches = self._batches(lengths, shown)
        outputs: list[torch.Tensor] = []
        with compute_context(self.device, precision or self.precision):
            for batch in batches:
                features = model.preprocess([texts[i] for i in batch], prompt=prompt,
                                            max_length=self.max_length)
                features = self._pad(features, batch, lengths)
                features = batch_to_device(features, model.device)
                output = model(features)["sentence_embedding"][: len(batch)].float()
                # kept on the device: one copy at the end, so the GPU works on this batch
                # while the CPU tokenizes the next
                outputs.append(torch.nn.functional.normalize(output, p=2, dim=-1))
        matrix = _gather(outputs, batches, len(texts))
        synchronize(self.device)
        return [Embedding(vector=np.ascontiguousarray(matrix[i], dtype=np.float32),
                           truncated=n > self.max_length, tokens=min(n, self.max_length))
                for i, n in enumerate(lengths)]

    def _evict(self) -> None:
        while self._cache_bytes > EMBEDDING_CACHE_BYTES and self._documents:
            oldest = next(iter(self._documents))
            self._cache_bytes -= self._documents.pop(oldest).vector.nbytes

    def calibration_scores(self, precision: Precision) -> np.ndarray:
        queries = self._embed(CALIBRATION_QUERIES, self._query_prompt, precision)
        documents = self._embed(CALIBRATION_DOCUMENTS, self._document_prompt, precision)
        q = np.stack([e.vector for e in queries])
        d = np.stack([e.vector for e in documents])
        return (q @ d.T).ravel()

    async def aclose(self) -> None:
        """Forget this reranker's embeddings; the shared model stays loaded."""
        await asyncio.to_thread(self._forget)

    def _forget(self) -> None:
        with self._lock:
            self._documents.clear()
            self._queries.clear()
            self._cache_bytes = 0


class CrossEncoderReranker(_LocalReranker):
    """Scores every (query, document) pair with a sentence-transformers CrossEncoder."""

    def __init__(self, name: str, loaded: LoadedModel, precision: Precision,
                 batch_size: int, max_length: int, activation: str) -> None:
        super().__init__(name, loaded, precision, batch_size, max_length)
        self._activation, self.score_kind = _activation(loaded.model, activation, name)

    def _score(self, query: str, texts: list[str]) -> Work:
        unique = list(dict.fromkeys(texts))
        with self._loaded.lock:
            started = time.perf_counter()
            logits, lengths = self._logits(query, unique)
            compute_s = time.perf_counter() - started
        by_text = dict(zip(unique, logits, strict=True))
        raw = np.array([by_text[t] for t in texts], dtype=np.float64)
        scores = raw if self._activation is None else (
            self._activation(torch.from_numpy(raw)).numpy())
        length_of = dict(zip(unique, lengths, strict=True))
        all_lengths = [length_of[t] for t in texts]
        return Work(scores=scores, rank_keys=raw, compute_s=compute_s,
                    truncated=count_truncated(all_lengths, self.max_length),
                    tokens=sum(min(n, self.max_length) for n in lengths))

    def _logits(self, query: str, texts: Sequence[str],
                precision: Precision | None = None) -> tuple[np.ndarray, list[int]]:
        """Raw model scores for (query, text) pairs; the caller holds the model lock."""
        from sentence_transformers.util import batch_to_device

        model = self._loaded.model
        lengths = self._tokens.pairs(query, texts)
        batches = self._batches(lengths, texts)
        outputs: list[torch.Tensor] = []
        with compute_context(self.device, precision or self.precision):
            for batch in batches:
                features = model.preprocess([(query, texts[i]) for i in batch],
                                            max_length=self.max_length)
                features = self._pad(features, batch, lengths)
                features = batch_to_device(features, model.device)
                scores = model(features)["scores"]
                # kept on the device until the end (see _embed)
                outputs.append(scores.reshape(scores.shape[0], -1)[: len(batch), :1].float())
        logits = _gather(outputs, batches, len(texts))[:, 0]
        synchronize(self.device)
        return logits, lengths

    def calibration_scores(self, precision: Precision) -> np.ndarray:
        return np.concatenate([self._logits(q, CALIBRATION_DOCUMENTS, precision)[0]
                               for q in CALIBRATION_QUERIES])


def cosine_scores(keys: Sequence[bytes], embeddings: Mapping[bytes, Embedding],
                  query: Embedding) -> np.ndarray:
    """The bi-encoder's scores, one per key in order: one float64 dot product per document,
    so a document's score does not depend on its position."""
    query_vector = query.vector.astype(np.float64)
    score_of = {k: float(np.dot(item.vector.astype(np.float64), query_vector))
                for k, item in embeddings.items()}
    return np.array([score_of[k] for k in keys], dtype=np.float64)


def ranked_response(work: Work, top_n: int | None, *, name: str, dtype: str, score_kind: str,
                    started: float) -> RerankResponse:
    """A local reranker's answer from its scores: ranked by ``rank_keys`` (ties by input
    order), cut at ``top_n``, with the call's usage and its wall time since ``started``."""
    if np.isnan(work.rank_keys).any():
        raise RuntimeError(f"{name} produced NaN scores (dtype {dtype}); try dtype=fp32")
    order = np.lexsort((np.arange(len(work.scores)), -work.rank_keys))
    if top_n is not None:
        order = order[:top_n]
    results = [RankedResult(index=int(i), relevance_score=float(work.scores[i]))
               for i in order]
    usage = Usage(requests=1, tokens=work.tokens, compute_s=work.compute_s,
                  truncated_documents=work.truncated, reused_documents=work.reused)
    return RerankResponse(results=results, usage=usage,
                          latency_s=time.perf_counter() - started, score_kind=score_kind)


def _activation(model: Any, requested: str, name: str) -> tuple[Callable | None, str]:
    requested = requested.strip().lower()
    if requested in ("logit", "logits", "none", "identity"):
        return None, "logit"
    if requested == "sigmoid":
        return torch.sigmoid, "sigmoid"
    if requested != "auto":
        raise RerankerSpecError(f"reranker {name!r}: activation={requested!r} is not one of "
                                "auto, logit, sigmoid")
    fn = getattr(model, "activation_fn", None)
    if fn is None or isinstance(fn, torch.nn.Identity):
        return None, "logit"
    if isinstance(fn, torch.nn.Sigmoid):
        return torch.sigmoid, "sigmoid"
    return fn, type(fn).__name__.lower()


def _gather(outputs: list[torch.Tensor], batches: list[list[int]], n: int) -> np.ndarray:
    """Batch outputs (rows in batch order) back in input order, copied off the device once."""
    if not outputs:
        return np.empty((n, 0), dtype=np.float32)
    stacked = torch.cat(outputs).cpu().numpy()
    order = np.fromiter((i for batch in batches for i in batch), dtype=np.int64, count=n)
    result = np.empty_like(stacked)
    result[order] = stacked
    return result


def text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _model_config(model: Any) -> Any:
    first = model[0] if len(model) else None
    return getattr(first, "config", None) or getattr(model, "config", None)


def _max_length(spec: RerankerSpec, model: Any) -> int:
    declared = getattr(model, "max_seq_length", None)
    if not isinstance(declared, int) or declared <= 0 or declared > 100_000:
        declared = 512
    requested = option(spec, "max_length", int, None)
    if requested is None:
        return declared
    if requested < 8:
        raise RerankerSpecError(f"reranker {spec.text!r}: max_length must be at least 8")
    positions = getattr(_model_config(model), "max_position_embeddings", None)
    if isinstance(positions, int) and requested > positions:
        raise RerankerSpecError(f"reranker {spec.text!r}: max_length={requested} is more than "
                                f"the model's {positions} positions")
    if requested > declared:
        logger.warning("%s: max_length=%d is beyond the model's declared %d", spec.text,
                       requested, declared)
    return requested


def _setup(spec: RerankerSpec, kind: str, source: str) -> tuple[LoadedModel, Precision, int]:
    device = resolve_device(option(spec, "device", str, "auto"), spec.text)
    precision = resolve_precision(option(spec, "dtype", str, "auto"), device, spec.text)
    batch_size = option(spec, "batch_size", int, 16 if device == "cpu" else 64)
    if batch_size < 1:
        raise RerankerSpecError(f"reranker {spec.text!r}: batch_size must be at least 1")
    return load_model(kind, source, device, precision), precision, batch_size


def create_biencoder(spec: RerankerSpec, runtime: Runtime | None = None) -> BiEncoderReranker:
    """``biencoder[:PATH_OR_ID]``; ``runtime`` concerns remote rerankers only."""
    check_options(spec, BIENCODER_OPTIONS)
    source = spec.arg or default_biencoder_source()
    loaded, precision, batch_size = _setup(spec, "biencoder", source)
    name = "biencoder" if spec.arg is None else f"biencoder:{spec.arg}"
    reranker = BiEncoderReranker(name, loaded, precision, batch_size,
                                 _max_length(spec, loaded.model))
    reranker.precision, reranker.precision_check = checked_precision(
        loaded, precision, spec.text, reranker.calibration_scores,
        biencoder_tolerance)
    return reranker


def create_cross_encoder(spec: RerankerSpec,
                         runtime: Runtime | None = None) -> CrossEncoderReranker:
    """``cross-encoder:PATH_OR_ID``; ``runtime`` concerns remote rerankers only."""
    check_options(spec, CROSS_ENCODER_OPTIONS)
    if not spec.arg:
        raise RerankerSpecError("cross-encoder needs a model: cross-encoder:PATH_OR_HF_ID")
    activation = option(spec, "activation", str, "auto")
    loaded, precision, batch_size = _setup(spec, "cross-encoder", spec.arg)
    labels = getattr(loaded.model, "num_labels", 1)
    if labels != 1:
        raise RerankerSpecError(f"reranker {spec.text!r}: the model has {labels} labels; a "
                                "reranker needs a model with one relevance score")
    reranker = CrossEncoderReranker(f"cross-encoder:{spec.arg}", loaded, precision, batch_size,
                                    _max_length(spec, loaded.model), activation)
    reranker.precision, reranker.precision_check = checked_precision(
        loaded, precision, spec.text, reranker.calibration_scores, cross_encoder_tolerance)
    return reranker
