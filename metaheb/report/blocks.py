"""The pieces a report is written in: tables, figures and text blocks, and how numbers read."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Figure:
    name: str  # file name under figures/
    png: bytes
    caption: str


Block = tuple[str, Any]  # ("h2" | "h3" | "p", text), ("table", Table) or ("figure", Figure)


def fmt(value: float | None, digits: int = 2, sign: bool = False) -> str:
    """A number to ``digits`` places; "-" for none; never "-0.00" (a rounded zero has no sign)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{round(value, digits) + 0.0:{'+' if sign else ''}.{digits}f}"
