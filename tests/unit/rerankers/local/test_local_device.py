"""Where a local model runs and at what precision (no model is loaded)."""

from __future__ import annotations

import pytest
import torch

from rerank_eval.rerankers.local import device


def test_auto_dtype_follows_the_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: False)
    assert device.resolve_precision("auto", "cpu", "x").name == "fp32"
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: True)
    cpu = device.resolve_precision("auto", "cpu", "x")
    assert cpu.name == "bf16" and cpu.autocast_dtype == torch.bfloat16
    assert cpu.weight_dtype == torch.float32  # CPU: fp32 weights under autocast
    mps = device.resolve_precision("auto", "mps", "x")
    assert mps.weight_dtype == torch.float16 and mps.autocast_dtype is None
