"""Where a local model runs and at what precision: device and dtype selection.

``device=auto`` picks CUDA, then MPS, then CPU, and says so in the log. ``dtype=auto``
picks bf16 on CUDA (fp16 where bf16 is unsupported), fp16 on MPS, and on CPU bf16
*autocast* when the processor has native bf16 dot products (AVX512-BF16 or AMX),
else fp32. On a GPU the weights are cast; on a CPU the weights stay fp32 and matmuls run
under ``torch.autocast``, which keeps layer norms and softmax in fp32 (closer to the
fp32 scores than casting the weights). Whether bf16 on CPU stays close enough to fp32
is checked per model when it loads (see ``calibration``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from rerank_eval.rerankers.spec import RerankerSpecError

logger = logging.getLogger("rerank_eval.rerankers.local")

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "fp32", "bf16", "fp16")

_TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Precision:
    """How a model computes: ``name`` is what results report (``fp32``, ``bf16``, ...)."""

    name: str
    weight_dtype: torch.dtype
    """The dtype the weights are stored in (fp32 on CPU, where bf16 is autocast)."""
    autocast_dtype: torch.dtype | None
    """Compute dtype under ``torch.autocast``; None for none."""
    requested_auto: bool = False
    """True when the user left ``dtype=auto``: a failed bf16 check may then fall back to fp32."""

    @property
    def describe(self) -> str:
        return f"{self.name} autocast" if self.autocast_dtype is not None else self.name


FP32 = Precision("fp32", torch.float32, None)


def resolve_device(requested: str, spec_text: str) -> str:
    """``auto`` → cuda, mps or cpu (logged); an explicit device that is absent is an error."""
    requested = requested.strip().lower()
    if requested not in DEVICES and not requested.startswith("cuda:"):
        raise RerankerSpecError(f"reranker {spec_text!r}: device={requested!r} is not one of "
                                f"{', '.join(DEVICES)} (or cuda:N)")
    if requested == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        else:
            mps = getattr(torch.backends, "mps", None)
            device = "mps" if mps is not None and mps.is_available() else "cpu"
            logger.info("CUDA is not available (torch %s); %s falls back to %s",
                        torch.__version__, spec_text, device.upper() if device == "cpu" else device)
    else:
        device = requested
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise RerankerSpecError(f"reranker {spec_text!r}: device={device} was asked for but "
                                    f"CUDA is not available (torch {torch.__version__}); "
                                    f"use device=auto to fall back to the CPU")
        if device == "mps" and not (getattr(torch.backends, "mps", None)
                                    and torch.backends.mps.is_available()):
            raise RerankerSpecError(f"reranker {spec_text!r}: device=mps was asked for but "
                                    f"MPS is not available")
    logger.info("%s runs on %s", spec_text, describe_device(device))
    return device


def describe_device(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        return f"{device} ({torch.cuda.get_device_name(index)})"
    if device == "cpu":
        return f"cpu ({torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()})"
    return device


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 dot-product instructions (AVX512-BF16 or AMX)."""
    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(cpu, probe, None)
        if check is not None:
            try:
                if check():
                    return True
            except RuntimeError:  # pragma: no cover - depends on the torch build
                continue
    flags = _cpuinfo_flags()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _cpuinfo_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def resolve_precision(requested: str, device: str, spec_text: str) -> Precision:
    """Turn the ``dtype`` option into a :class:`Precision` for ``device``."""
    requested = requested.strip().lower()
    if requested not in DTYPES:
        raise RerankerSpecError(f"reranker {spec_text!r}: dtype={requested!r} is not one of "
                                f"{', '.join(DTYPES)}")
    on_cpu = device == "cpu"
    if requested == "auto":
        if device.startswith("cuda"):
            name = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        elif device == "mps":
            name = "fp16"
        elif cpu_has_native_bf16():
            name = "bf16"
        else:
            logger.info("%s: this CPU has no native bf16 (AVX512-BF16/AMX); computing in fp32",
                        spec_text)
            name = "fp32"
    else:
        name = requested
        if on_cpu and name == "bf16" and not cpu_has_native_bf16():
            logger.warning("%s: dtype=bf16 on a CPU without AVX512-BF16/AMX is emulated and "
                           "likely slower than fp32", spec_text)
        if on_cpu and name == "fp16":
            logger.warning("%s: dtype=fp16 on a CPU is usually slower than fp32", spec_text)
    dtype = _TORCH_DTYPES[name]
    if name == "fp32":
        return Precision("fp32", torch.float32, None, requested_auto=requested == "auto")
    if on_cpu:
        return Precision(name, torch.float32, dtype, requested_auto=requested == "auto")
    return Precision(name, dtype, None, requested_auto=requested == "auto")


@contextlib.contextmanager
def compute_context(device: str, precision: Precision) -> Iterator[None]:
    """``torch.inference_mode`` plus autocast where the precision asks for it."""
    with torch.inference_mode():
        if precision.autocast_dtype is None:
            yield
        else:
            device_type = torch.device(device).type
            with torch.autocast(device_type=device_type, dtype=precision.autocast_dtype):
                yield


def synchronize(device: str) -> None:
    """Wait for queued GPU work, so a clock read after it measures the work."""
    if device.startswith("cuda"):
        torch.cuda.synchronize(torch.device(device))
    elif device == "mps":
        torch.mps.synchronize()
