"""Tiny inline SVG charts for the status page: horizontal bars, no library, no script.

Every text that reaches the markup goes through html.escape; values are plain floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

ROW = 22  # pixels per bar
LABEL_WIDTH = 170
BAR_WIDTH = 260
WIDTH = LABEL_WIDTH + BAR_WIDTH + 120


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    text: str  # what is written after the bar (the value, with its unit)
    tone: str = "ok"  # a CSS class: ok, warn, bad, info, muted


def bars(title: str, items: Sequence[Bar], scale: float | None = None) -> str:
    """One bar per item, lengths relative to ``scale`` (default: the largest value)."""
    if not items:
        return ""
    top = scale if scale is not None else max(item.value for item in items)
    top = top if top > 0 else 1.0
    height = ROW * len(items) + 4
    rows = "".join(_row(index, item, top) for index, item in enumerate(items))
    return (
        f"<figure><figcaption>{escape(title)}</figcaption>"
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}"'
        f' height="{height}" viewBox="0 0 {WIDTH} {height}"><title>{escape(title)}</title>'
        f"{rows}</svg></figure>"
    )


def _row(index: int, item: Bar, top: float) -> str:
    y = index * ROW + 2
    length = max(1.0, min(1.0, item.value / top) * BAR_WIDTH) if item.value > 0 else 0.0
    return (
        f'<text x="0" y="{y + 15}" class="label">{escape(item.label)}</text>'
        f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{BAR_WIDTH}" height="14" class="track"/>'
        f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="14"'
        f' class="bar {escape(item.tone)}"/>'
        f'<text x="{LABEL_WIDTH + BAR_WIDTH + 6}" y="{y + 15}" class="value">'
        f"{escape(item.text)}</text>"
    )
