"""How dollar amounts and prices are written, in reports, tables and messages alike."""

from __future__ import annotations

from typing import Any


def usd(value: float | None) -> str:
    """A dollar amount: ``$1,234``, ``$12.50``, ``$0.00342``; ``–`` when unknown."""
    if value is None:
        return "–"
    if value == 0:
        return "$0"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.3g}"


def price_text(amount_usd: Any, per: Any, unit: Any) -> str:
    """A price: ``$2 per 1K search units``, ``$0.05 per 1M tokens``, ``$0.0816 per cpu hour``."""
    try:
        per_value = float(per)
        per_text = (f"{per_value / 1e6:g}M" if per_value >= 1e6 else
                    f"{per_value / 1e3:g}K" if per_value >= 1e3 else f"{per_value:g}")
        unit_text = str(unit).replace("_", " ")
        if per_value == 1:
            return f"${float(amount_usd):g} per {unit_text}"
        return f"${float(amount_usd):g} per {per_text} {unit_text}s"
    except (TypeError, ValueError):
        return f"{amount_usd} per {per} {unit}"
