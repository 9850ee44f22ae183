"""Server-rendered, accessible bar charts: SVG with ``role="img"``, a title and a description,
always next to a table of the same figures (the table is what a screen reader navigates).

Horizontal bars with the label above each bar, so long municipality names fit a 375 px phone.
Only SVG presentation attributes are used (no ``style``), so the pages' strict CSP holds.
A suppressed figure is drawn as a dashed outline with the word for "hidden", never as a bar:
its length would tell its size.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 320
ROW = 38
BAR = 14
LABEL_SIZE = 13
INK = "#1a1a1a"
BAR_FILL = "#1e5a8c"
MUTED = "#595959"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int | None
    suppressed: bool = False


def bar_chart(chart_id: str, title: str, description: str, bars: list[Bar], hidden: str) -> Markup:
    """An SVG bar chart; ``hidden`` is the page language's word for a suppressed figure."""
    top = max((b.value or 0 for b in bars if not b.suppressed), default=0) or 1
    room = WIDTH - 60  # the rest is for the value text after the bar
    height = ROW * max(1, len(bars)) + 4
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="figures-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for i, b in enumerate(bars):
        y = i * ROW + LABEL_SIZE + 2
        out.append(
            f'<text x="0" y="{y}" font-size="{LABEL_SIZE}" fill="{INK}">{escape(b.label)}</text>'
        )
        by = y + 5
        if b.suppressed or b.value is None:
            out.append(
                f'<rect x="0.5" y="{by}.5" width="40" height="{BAR - 1}" fill="none" '
                f'stroke="{MUTED}" stroke-dasharray="3 2"/>'
                f'<text x="48" y="{by + BAR - 3}" font-size="{LABEL_SIZE - 1}" '
                f'fill="{MUTED}">{escape(hidden)}</text>'
            )
            continue
        w = round(room * b.value / top, 1)
        out.append(
            f'<rect x="0" y="{by}" width="{w}" height="{BAR}" fill="{BAR_FILL}"/>'
            f'<text x="{w + 6}" y="{by + BAR - 3}" font-size="{LABEL_SIZE - 1}" '
            f'fill="{INK}">{b.value}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text above is escaped
