"""Small text helpers shared by messages and output file names."""

from __future__ import annotations

from typing import Any


def clip(value: Any, limit: int = 200) -> str:
    """``value`` as text (``repr`` unless it is a string), cut to ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def file_safe(name: str) -> str:
    """A name usable as one path component: letters, digits and ``._-``; others become ``_``."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
