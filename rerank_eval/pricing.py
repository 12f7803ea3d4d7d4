"""Dated, sourced prices for remote rerankers, and the cost of a call computed from them.

The table lives in ``pricing.toml`` beside this module (each entry: provider, model
glob, price in USD per ``per`` units of ``unit`` — ``token`` or ``search_unit`` — the
date it was seen and its source). A file named by ``$RERANK_EVAL_PRICES`` in the same
format is read after it and wins. Cost is computed only from usage the provider
*reported*; an unknown price or unreported usage gives ``None``, never an estimate.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rerank_eval.money import price_text

UNITS = ("token", "search_unit")
_TABLE = Path(__file__).with_name("pricing.toml")


@dataclass(frozen=True)
class Price:
    provider: str
    model: str
    usd: float
    per: float
    unit: str
    date: str
    source: str
    confidence: str = "unknown"

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"price unit must be one of {UNITS}, got {self.unit!r}")
        if self.usd < 0 or self.per <= 0:
            raise ValueError(f"bad price {self.usd} per {self.per} {self.unit}")

    def cost(self, *, tokens: float | None, search_units: float | None) -> float | None:
        quantity = tokens if self.unit == "token" else search_units
        if quantity is None:
            return None
        return quantity / self.per * self.usd

    def describe(self) -> str:
        return f"{price_text(self.usd, self.per, self.unit)} ({self.date}; {self.source})"


def _read(path: Path) -> list[Price]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    prices = []
    for entry in data.get("price", []):
        try:
            prices.append(Price(**entry))
        except TypeError as exc:
            raise ValueError(f"{path}: bad price entry {entry}: {exc}") from exc
    return prices


@lru_cache(maxsize=8)
def _load(extra: str | None) -> tuple[Price, ...]:
    prices = _read(_TABLE)
    if extra:
        # later entries win: user prices go first in the search order
        prices = _read(Path(extra).expanduser()) + prices
    return tuple(prices)


def price_table() -> tuple[Price, ...]:
    return _load(os.environ.get("RERANK_EVAL_PRICES") or None)


def find_price(provider: str, model: str | None) -> Price | None:
    if model is None:
        return None
    for price in price_table():
        if price.provider == provider and fnmatch.fnmatchcase(model, price.model):
            return price
    return None


def override_price(provider: str, model: str | None, *, per_1m_tokens: float | None = None,
                   per_1k_search_units: float | None = None) -> Price | None:
    """A price given in a suite or inline option (``price_usd_per_1m_tokens`` ...)."""
    if per_1m_tokens is not None and per_1k_search_units is not None:
        raise ValueError("give either a token price or a search-unit price, not both")
    if per_1m_tokens is not None:
        return Price(provider, model or "*", per_1m_tokens, 1_000_000, "token", "user",
                     "suite option price_usd_per_1m_tokens", "user")
    if per_1k_search_units is not None:
        return Price(provider, model or "*", per_1k_search_units, 1000, "search_unit", "user",
                     "suite option price_usd_per_1k_search_units", "user")
    return None


@dataclass(frozen=True)
class HardwarePrice:
    """What an hour of local hardware costs: the basis of a local reranker's cost."""

    device: str
    usd_per_hour: float
    instance: str
    date: str
    source: str
    confidence: str = "unknown"

    def cost(self, compute_s: float | None) -> float | None:
        return None if compute_s is None else compute_s / 3600.0 * self.usd_per_hour


def hardware_kind(device: str) -> str:
    """``cpu`` stays ``cpu``; every accelerator (``cuda``, ``cuda:1``, ``mps``) is ``gpu``."""
    return "cpu" if device.split(":")[0] == "cpu" else "gpu"


def hardware_price(device: str, override_usd_per_hour: float | None = None) -> HardwarePrice | None:
    """The hourly price of ``device``: a user's override, else the dated table entry."""
    kind = hardware_kind(device)
    if override_usd_per_hour is not None:
        if override_usd_per_hour < 0:
            raise ValueError(f"{kind}_hour_usd must be >= 0, got {override_usd_per_hour}")
        return HardwarePrice(kind, override_usd_per_hour, "user-set", "user",
                             f"{kind}_hour_usd set by the user", "user")
    for entry in _hardware_table():
        if entry.device == kind:
            return entry
    return None


@lru_cache(maxsize=1)
def _hardware_table() -> tuple[HardwarePrice, ...]:
    with _TABLE.open("rb") as handle:
        data = tomllib.load(handle)
    return tuple(HardwarePrice(**entry) for entry in data.get("hardware", []))
