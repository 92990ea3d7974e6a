"""Charts drawn on the server as inline SVG: no script, no CDN, readable without a mouse.

Each chart is an ``<svg role="img">`` with a title and a description a screen reader reads,
and every bar carries its own ``<title>`` (the browser shows it on hover). The page puts the
same numbers in a table next to the chart, so nothing is only in the picture. Numbers are
integers; text is escaped.
"""

from __future__ import annotations

from typing import Sequence

from markupsafe import Markup, escape

PALETTE = ("#1b6f9a", "#d9822b", "#7a4fa3", "#3f8f4f", "#b8404a")
"""Series colours, distinguishable in grey too (dark, light, dark …) and by their legend order."""
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 28, 46


def _ticks(low: int, high: int, count: int = 4) -> list[int]:
    """Round tick values covering ``low``..``high`` (both ends included, 0 among them)."""
    span = max(high - low, 1)
    raw = span / count
    magnitude = 10 ** (len(str(int(raw))) - 1)
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = (low // step) * step
    ticks = []
    value = start
    while value < high + step:
        ticks.append(value)
        if value >= high:
            break
        value += step
    return ticks


def number(value: int) -> str:
    """``1234567`` → ``1 234 567``: thin spaces group digits in any language."""
    return f"{value:,}".replace(",", "\u202f")


def bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]],
              description: str = "") -> Markup:
    """Grouped vertical bars: one group per label, one bar per series (``(name, values)``)."""
    values = [value for _, points in series for value in points]
    low, high = min([0, *values]), max([0, *values])
    ticks = _ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: int) -> float:
        return TOP + plot_h * (high - value) / ((high - low) or 1)

    parts = [_open(title, description)]
    for tick in ticks:
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
                     f'<text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{number(tick)}</text>')
    group = plot_w / max(len(labels), 1)
    bar = max(group * 0.8 / max(len(series), 1), 1)
    every = max(1, round(len(labels) / 12))  # at most about a dozen labels under the axis
    for index, label in enumerate(labels):
        x0 = LEFT + index * group + group * 0.1
        for number_, (name, points) in enumerate(series):
            value = points[index]
            top, bottom = sorted((y(value), y(0)))
            parts.append(f'<rect x="{x0 + number_ * bar:.1f}" y="{top:.1f}" width="{bar:.1f}" '
                         f'height="{max(bottom - top, 0.5):.1f}" fill="{PALETTE[number_ % len(PALETTE)]}">'
                         f'<title>{escape(label)}: {escape(name)} {number(value)}</title></rect>')
        if index % every == 0:
            parts.append(f'<text class="label" x="{x0 + group * 0.4:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>')
    parts.append(_legend([name for name, _ in series]))
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(title: str, rows: Sequence[tuple[str, int]], description: str = "") -> Markup:
    """Horizontal bars, one per ``(label, value)``, longest scale first; for shares and mixes."""
    height = TOP + 26 * max(len(rows), 1) + 8
    high = max([1, *(value for _, value in rows)])
    plot_w = WIDTH - 160 - 90
    parts = [_open(title, description, height)]
    for index, (label, value) in enumerate(rows):
        y = TOP + index * 26
        width = plot_w * max(value, 0) / high
        parts.append(f'<text class="label" x="152" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
                     f'<rect x="160" y="{y + 3}" width="{max(width, 0.5):.1f}" height="18" fill="{PALETTE[0]}">'
                     f'<title>{escape(label)}: {number(value)}</title></rect>'
                     f'<text class="tick" x="{160 + width + 6:.1f}" y="{y + 16}">{number(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(title: str, description: str, height: int = HEIGHT) -> str:
    key = abs(hash((title, description))) % 10**8
    return (f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
            f'aria-labelledby="chart-{key}-t chart-{key}-d" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="chart-{key}-t">{escape(title)}</title><desc id="chart-{key}-d">{escape(description)}</desc>'
            '<style>.grid{stroke:#ddd}.axis{stroke:#555}.tick,.label,.legend{font:12px sans-serif;fill:#333}</style>')


def _legend(names: Sequence[str]) -> str:
    parts, x = [], LEFT
    for index, name in enumerate(names):
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{PALETTE[index % len(PALETTE)]}"/>'
                     f'<text class="legend" x="{x + 16}" y="16">{escape(name)}</text>')
        x += 24 + 8 * len(name)
    return "".join(parts)
