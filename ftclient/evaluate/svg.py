"""Small inline-SVG charts for the HTML report: no JavaScript, no fonts, no files to fetch.

Each function returns one ``<svg>`` element as a string with a ``<title>`` (read by screen readers and
shown as a tooltip) and every text escaped. Colours come from two CSS variables set by the report, so the
charts follow its light and dark themes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

BASE_COLOR = "var(--base, #8a8f98)"
TUNED_COLOR = "var(--tuned, #2f6fdb)"
SERIES_COLORS = (TUNED_COLOR, "var(--accent2, #d9822b)", "var(--accent3, #2e9e5b)")
FONT = 'font-family="system-ui, sans-serif"'


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    ticks = [math.floor(lo / step) * step]
    while ticks[-1] < hi - step * 1e-9:  # the last tick covers ``hi``: no data point falls off the axis
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _fmt(value: float) -> str:
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 1 else f"{value:.1f}"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    *,
    x_label: str = "step",
    y_label: str = "loss",
    width: int = 640,
    height: int = 280,
) -> str:
    """Lines (e.g. training and validation loss against step) with axes, ticks and a legend."""
    points = [p for _, pts in series for p in pts]
    left, right, top, bottom = 56, 16, 30, 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="chart" {FONT}>',
        f"<title>{escape(title)}</title>",
    ]
    if not points:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="13">no data</text>')
        return "".join([*parts, "</svg>"])
    x_lo, x_hi = min(p[0] for p in points), max(p[0] for p in points)
    y_lo, y_hi = min(0.0, *(p[1] for p in points)), max(p[1] for p in points)
    x_ticks, y_ticks = _nice_ticks(x_lo, x_hi), _nice_ticks(y_lo, y_hi * 1.05 if y_hi > 0 else 1.0)
    x_lo, x_hi, y_lo, y_hi = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x_lo) / ((x_hi - x_lo) or 1.0) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y_lo) / ((y_hi - y_lo) or 1.0) * plot_h

    for t in y_ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" '
            'stroke="currentColor" stroke-opacity="0.12"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="currentColor">{_fmt(t)}</text>'
        )
    for t in x_ticks:
        parts.append(
            f'<text x="{sx(t):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
            f'fill="currentColor">{_fmt(t)}</text>'
        )
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="currentColor"/>')
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="currentColor"/>'
    )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle" font-size="12" '
        f'fill="currentColor">{escape(x_label)}</text>'
    )
    parts.append(
        f'<text x="14" y="{top + plot_h / 2}" text-anchor="middle" font-size="12" fill="currentColor" '
        f'transform="rotate(-90 14 {top + plot_h / 2})">{escape(y_label)}</text>'
    )
    for i, (name, pts) in enumerate(series):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        path = " ".join(f"{'M' if j == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for j, (x, y) in enumerate(pts))
        parts.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        if len(pts) == 1:
            parts.append(f'<circle cx="{sx(pts[0][0]):.1f}" cy="{sy(pts[0][1]):.1f}" r="3" fill="{color}"/>')
        lx = left + 10 + i * 150
        parts.append(f'<rect x="{lx}" y="8" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{lx + 18}" y="18" font-size="12" fill="currentColor">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def comparison_chart(
    title: str,
    rows: Sequence[tuple[str, float, float, float, float]],
    *,
    baseline_name: str = "baseline",
    tuned_name: str = "tuned",
    width: int = 640,
) -> str:
    """Per metric: baseline and tuned bars (0-100 points) and, on the right, the difference with its 95% CI.

    ``rows`` are ``(label, baseline, tuned, ci_low, ci_high)`` in points.
    """
    row_h, top, label_w = 46, 66, 150
    height = top + row_h * max(1, len(rows)) + 30
    bars_w = (width - label_w) * 0.55
    diff_x0 = label_w + bars_w + 24
    diff_w = width - diff_x0 - 12
    span = max([abs(v) for r in rows for v in (r[3], r[4], r[2] - r[1])] + [1.0]) * 1.1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="chart" {FONT}>',
        f"<title>{escape(title)}</title>",
    ]
    for i, (role, name, color) in enumerate(
        (("baseline", baseline_name, BASE_COLOR), ("tuned", tuned_name, TUNED_COLOR))
    ):
        y = 6 + i * 18
        parts.append(f'<rect x="{label_w}" y="{y}" width="12" height="12" fill="{color}"/>')
        parts.append(
            f'<text x="{label_w + 18}" y="{y + 10}" font-size="12" fill="currentColor">'
            f"{role}: {escape(_short(name, 70))}</text>"
        )
    parts.append(
        f'<text x="{diff_x0 + diff_w / 2}" y="{top - 12}" text-anchor="middle" font-size="12" '
        'fill="currentColor">difference, 95% CI</text>'
    )

    def dx(v: float) -> float:
        return diff_x0 + diff_w / 2 + v / span * (diff_w / 2)

    zero = dx(0.0)
    parts.append(
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top - 6}" y2="{height - 24}" '
        'stroke="currentColor" stroke-opacity="0.5" stroke-dasharray="3 3"/>'
    )
    for i, (label, base, tuned, lo, hi) in enumerate(rows):
        y = top + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 22}" text-anchor="end" font-size="12" '
            f'fill="currentColor">{escape(label)}</text>'
        )
        for j, (value, color) in enumerate(((base, BASE_COLOR), (tuned, TUNED_COLOR))):
            w = max(0.0, min(100.0, value)) / 100.0 * bars_w
            by = y + 4 + j * 18
            parts.append(f'<rect x="{label_w}" y="{by}" width="{w:.1f}" height="15" fill="{color}"/>')
            parts.append(
                f'<text x="{label_w + w + 4:.1f}" y="{by + 12}" font-size="11" fill="currentColor">{value:.1f}</text>'
            )
        diff = tuned - base
        cy = y + 20
        color = TUNED_COLOR if lo > 0 else ("var(--bad, #c0392b)" if hi < 0 else BASE_COLOR)
        parts.append(
            f'<line x1="{dx(lo):.1f}" x2="{dx(hi):.1f}" y1="{cy}" y2="{cy}" stroke="{color}" stroke-width="2"/>'
        )
        for edge in (lo, hi):
            parts.append(
                f'<line x1="{dx(edge):.1f}" x2="{dx(edge):.1f}" y1="{cy - 6}" y2="{cy + 6}" '
                f'stroke="{color}" stroke-width="2"/>'
            )
        parts.append(f'<circle cx="{dx(diff):.1f}" cy="{cy}" r="4.5" fill="{color}"/>')
        parts.append(
            f'<text x="{dx(diff):.1f}" y="{cy - 9}" text-anchor="middle" font-size="11" '
            f'fill="currentColor">{diff:+.1f}</text>'
        )
    parts.append(
        f'<text x="{dx(-span / 1.1):.1f}" y="{height - 8}" text-anchor="middle" font-size="10" '
        f'fill="currentColor">{-span / 1.1:+.0f}</text>'
    )
    parts.append(
        f'<text x="{zero:.1f}" y="{height - 8}" text-anchor="middle" font-size="10" fill="currentColor">0</text>'
    )
    parts.append(
        f'<text x="{dx(span / 1.1):.1f}" y="{height - 8}" text-anchor="middle" font-size="10" '
        f'fill="currentColor">{span / 1.1:+.0f}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def heatmap(
    title: str,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    matrix: Sequence[Sequence[int]],
    *,
    cell: int = 44,
    row_axis: str = "reference",
    col_axis: str = "answer",
) -> str:
    """A confusion matrix: counts in cells shaded by their share of the row."""
    label_w, top = max(90, 7 * max((len(r) for r in row_labels), default=4) + 24), 100
    width = label_w + cell * len(col_labels) + 90  # room for the last rotated column label
    height = top + cell * len(row_labels) + 16
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="chart" {FONT}>',
        f"<title>{escape(title)}</title>",
        f'<text x="4" y="14" font-size="11" fill="currentColor">rows: {escape(row_axis)}; '
        f"columns: {escape(col_axis)}</text>",
    ]
    for j, name in enumerate(col_labels):
        x = label_w + j * cell + cell / 2
        parts.append(
            f'<text x="{x:.1f}" y="{top - 6}" font-size="11" fill="currentColor" '
            f'transform="rotate(-40 {x:.1f} {top - 6})">{escape(name)}</text>'
        )
    for i, name in enumerate(row_labels):
        y = top + i * cell
        total = sum(matrix[i]) or 1
        parts.append(
            f'<text x="{label_w - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="currentColor">{escape(name)}</text>'
        )
        for j, count in enumerate(matrix[i]):
            share = count / total
            fill = TUNED_COLOR if j == i else "var(--bad, #c0392b)"
            parts.append(
                f'<rect x="{label_w + j * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                f'fill="{fill}" fill-opacity="{0.08 + 0.85 * share:.2f}" stroke="currentColor" '
                'stroke-opacity="0.15"/>'
            )
            parts.append(
                f'<text x="{label_w + j * cell + cell / 2 - 1:.1f}" y="{y + cell / 2 + 4:.1f}" '
                f'text-anchor="middle" font-size="12" fill="currentColor">{count}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def split_bar(title: str, items: Sequence[tuple[str, int, str]], *, width: int = 640) -> str:
    """One horizontal bar split into labelled counts (fixed / unchanged / broken examples)."""
    total = sum(n for _, n, _ in items) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} 56" width="{width}" '
        f'height="56" class="chart" {FONT}>',
        f"<title>{escape(title)}</title>",
    ]
    x = 0.0
    for i, (label, n, color) in enumerate(items):
        w = n / total * width
        if w > 0:
            parts.append(f'<rect x="{x:.1f}" y="4" width="{w:.1f}" height="24" fill="{color}"/>')
        x += w
        lx = i * width / len(items)
        parts.append(f'<rect x="{lx:.1f}" y="36" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{lx + 14:.1f}" y="46" font-size="12" fill="currentColor">{escape(label)}: {n}</text>')
    parts.append("</svg>")
    return "".join(parts)
