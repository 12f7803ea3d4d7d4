"""What a result was measured on: software versions, processor, accelerator, command line,
and the price table its costs were computed with.

Recorded in every summary so that a latency, throughput or cost figure can be traced to
the machine and the prices that produced it. Secrets in the command line are redacted.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from rerank_eval.secrets import redact

_PACKAGES = ("rerank-eval", "ir-measures", "pytrec-eval-terrier", "bm25s", "sentence-transformers",
             "transformers", "torch", "httpx", "numpy")


def describe_environment() -> dict[str, Any]:
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "accelerator": _accelerator(),
        "packages": {name: _version(name) for name in _PACKAGES},
        "command": redact(" ".join(sys.argv)),
        "price_table": describe_price_table(),
    }


def describe_price_table() -> dict[str, Any]:
    """Which price table priced this run: its files, size and the dates of its entries."""
    from rerank_eval import pricing

    try:
        prices = pricing.price_table()
    except (OSError, ValueError) as exc:
        return {"description": f"price table: not readable ({exc})", "dates": []}
    dates = sorted({p.date for p in prices if p.date != "user"})
    extra = " plus $RERANK_EVAL_PRICES" if os.environ.get("RERANK_EVAL_PRICES") else ""
    span = f"dated {dates[0]} to {dates[-1]}" if len(dates) > 1 else (
        f"dated {dates[0]}" if dates else "undated")
    return {"description": f"price table: rerank_eval/pricing.toml{extra}, {len(prices)} "
                           f"entries {span}", "dates": dates}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * page_size / 2**30, 1)


def _accelerator() -> str | None:
    """The CUDA device name, only if torch is already loaded (never import it just for this)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
    except Exception:  # a broken driver must not break a run
        return None
    return None
