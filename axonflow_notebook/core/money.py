"""Dollars as a person reads them, one way everywhere: an error, a batch's budget line, a card.

Cents from $1 up, four decimals from a cent, six below (one call costs a few millionths).
"""

from __future__ import annotations

from typing import Optional


def usd(value: Optional[float]) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "$0.00"
    if abs(value) < 0.000001:
        return "<$0.000001"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.4f}" if abs(value) >= 0.01 else f"${value:.6f}"


__all__ = ["usd"]
