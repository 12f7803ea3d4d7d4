"""How dollar amounts and prices are written, in reports, tables and messages alike."""

from __future__ import annotations

import math
from typing import Any


def usd(value: float | None) -> str:
    """A dollar amount to two significant digits, never in e-notation: ``$0.0042``,
    ``$4.3``, ``$43``, ``$430``, ``$1.2k``, ``$12k``, ``$3.4M``; ``–`` when unknown.

    The one formatter of money: terminal tables, reports and messages all use it.
    """
    if value is None or value != value:
        return "–"
    if value == 0:
        return "$0"
    sign = "-" if value < 0 else ""
    amount = abs(value)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if _rounded(amount) >= scale:
            return f"{sign}${significant(amount / scale)}{suffix}"
    return f"{sign}${significant(amount)}"


def _rounded(amount: float) -> float:
    """``amount`` as :func:`_significant` will show it (999.6 shows as 1k, not $1,000)."""
    return float(significant(amount).replace(",", ""))


def significant(amount: float) -> str:
    """A positive number to two significant digits (three or more above 100), plain."""
    if amount >= 100:
        return f"{amount:,.0f}"
    if amount >= 10:
        return f"{amount:.0f}"
    decimals = 1 if amount >= 1 else -math.floor(math.log10(amount)) + 1
    text = f"{amount:.{decimals}f}"
    if float(text) >= 10:  # 9.96 rounds up to 10.0
        return f"{float(text):.0f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def plain(value: float) -> str:
    """A price's amount with its own digits and no e-notation: ``0.0816``, ``0.00005``."""
    text = f"{value:.12f}".rstrip("0").rstrip(".")
    return text or "0"


def price_text(amount_usd: Any, per: Any, unit: Any) -> str:
    """A price: ``$2 per 1K search units``, ``$0.05 per 1M tokens``, ``$0.0816 per cpu hour``."""
    try:
        per_value = float(per)
        per_text = (f"{per_value / 1e6:g}M" if per_value >= 1e6 else
                    f"{per_value / 1e3:g}K" if per_value >= 1e3 else f"{per_value:g}")
        unit_text = str(unit).replace("_", " ")
        if per_value == 1:
            return f"${plain(float(amount_usd))} per {unit_text}"
        return f"${plain(float(amount_usd))} per {per_text} {unit_text}s"
    except (TypeError, ValueError):
        return f"{amount_usd} per {per} {unit}"
