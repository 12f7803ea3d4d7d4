"""The BEIR archives rerank-eval can download, and the MD5 BEIR publishes for each.

The registry is package data (``beir_registry.toml``, next to this module), read once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

REGISTRY_FILE = "beir_registry.toml"


@dataclass(frozen=True)
class BeirEntry:
    """One BEIR archive: its published MD5 (``None`` when none was published)."""

    name: str
    md5: str | None
    public: bool = True
    note: str = ""


@dataclass
class BeirRegistry:
    base_url: str
    entries: dict[str, BeirEntry]


@cache
def beir_registry() -> BeirRegistry:
    """The BEIR archives rerank-eval knows how to download (package data, read once)."""
    text = resources.files("rerank_eval.datasets").joinpath(REGISTRY_FILE).read_text("utf-8")
    data = tomllib.loads(text)
    entries = {
        name: BeirEntry(name=name, md5=spec.get("md5") or None,
                        public=bool(spec.get("public", True)), note=spec.get("note", ""))
        for name, spec in data["datasets"].items()
    }
    return BeirRegistry(base_url=data["base_url"], entries=entries)


def known_beir_datasets() -> list[str]:
    """Names of the BEIR datasets that can be downloaded (``load_dataset(name)`` fetches them)."""
    return sorted(name for name, entry in beir_registry().entries.items() if entry.public)
