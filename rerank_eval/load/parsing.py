"""Command-line values of ``rerank-eval load``: durations and comma-separated levels.

Each parser raises :class:`OptionError` naming the option, so the command can exit 2
with one line that says which option was wrong and why.
"""

from __future__ import annotations

import math
import re


class OptionError(ValueError):
    """A command-line value is malformed; the message names the option."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, option: str = "--duration") -> float:
    """Seconds from ``30s``, ``2m``, ``1h``, ``500ms`` or plain seconds (``45``, ``2.5``)."""
    match = _DURATION.match(text)
    if match is None:
        raise OptionError(f"{option} {text!r}: not a duration; give e.g. 30s, 2m, 500ms or "
                          "plain seconds")
    seconds = float(match.group(1)) * _UNIT_S[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise OptionError(f"{option} {text!r}: must be more than 0 seconds")
    return seconds


def parse_concurrency_levels(text: str, option: str = "--concurrency") -> list[int]:
    """``1,2,4,8`` → sorted, distinct whole numbers >= 1."""
    levels = []
    for part in _parts(text, option):
        try:
            value = int(part)
        except ValueError:
            raise OptionError(f"{option} {text!r}: {part!r} is not a whole number") from None
        if value < 1:
            raise OptionError(f"{option} {text!r}: levels must be >= 1, got {value}")
        levels.append(value)
    return sorted(set(levels))


def parse_qps_levels(text: str, option: str = "--qps") -> list[float]:
    """``2,5,10.5`` → sorted, distinct rates > 0 (requests per second)."""
    levels = []
    for part in _parts(text, option):
        try:
            value = float(part)
        except ValueError:
            raise OptionError(f"{option} {text!r}: {part!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise OptionError(f"{option} {text!r}: rates must be > 0, got {part}")
        levels.append(value)
    return sorted(set(levels))


def _parts(text: str, option: str) -> list[str]:
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or not all(parts):
        raise OptionError(f"{option} {text!r}: give a comma-separated list, e.g. 1,2,4,8")
    return parts
