"""The bf16-vs-fp32 check when a model first runs on a CPU under autocast."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support.tiny_cross_encoder import build_tiny_cross_encoder

from rerank_eval.rerankers import create_reranker
from rerank_eval.rerankers.local import calibration, device

LOGGER = "rerank_eval.rerankers.local"


def test_bf16_that_drifts_from_fp32_falls_back_to_fp32(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    folder = build_tiny_cross_encoder(tmp_path / "drifty", seed=1)  # a model of its own
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(calibration, "CROSS_ENCODER_BF16_TOLERANCE", (-1.0, 0.0))  # nothing passes
    caplog.set_level(logging.INFO, logger=LOGGER)
    reranker = create_reranker(f"cross-encoder:{folder}?device=cpu")
    assert reranker.precision.name == "fp32"
    assert reranker.precision_check is not None and not reranker.precision_check.passed
    assert any(r.levelno == logging.WARNING and "using fp32" in r.getMessage()
               for r in caplog.records)
    # Asked for explicitly, bf16 is kept (the log still says how far it drifted).
    explicit = create_reranker(f"cross-encoder:{folder}?device=cpu&dtype=bf16")
    assert explicit.precision.name == "bf16"
