"""Human-readable output of `leasing admin` (without `--json`): lines and plain-text tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value) or "-"
    return str(value)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], *, empty: str) -> str:
    """`columns` are (field, heading); one line per row, columns padded to their widest cell."""
    if not rows:
        return empty
    cells = [[_cell(row.get(field)) for field, _ in columns] for row in rows]
    headings = [heading for _, heading in columns]
    widths = [max(len(text) for text in column) for column in zip(headings, *cells, strict=False)]
    lines = [headings, *cells]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
