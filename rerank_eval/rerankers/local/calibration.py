"""Checking that reduced precision is safe: bf16 (or fp16) autocast against fp32.

When a model first runs on a CPU under autocast, it scores a few calibration pairs in
fp32 and in the reduced precision; if the largest difference is beyond the tolerance,
``dtype=auto`` falls back to fp32 (an explicit ``dtype`` is kept, with a warning). The
outcome is recorded once per loaded model and reported with results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rerank_eval.rerankers.local.device import FP32, Precision
from rerank_eval.rerankers.local.loading import LoadedModel

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


def biencoder_tolerance(reference: np.ndarray) -> float:
    """The largest cosine difference allowed, whatever the fp32 scores."""
    return BIENCODER_BF16_TOLERANCE


def cross_encoder_tolerance(reference: np.ndarray) -> float:
    """The largest logit difference allowed: absolute plus relative to the largest |logit|."""
    absolute, relative = CROSS_ENCODER_BF16_TOLERANCE
    return absolute + relative * float(np.max(np.abs(reference), initial=0.0))


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
