"""Charts drawn on the server as inline SVG: no script, no external library, readable by
screen readers (each chart has a title, a description and the numbers as text)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from honorbound import i18n

# Colours with at least 3:1 contrast against white (WCAG 2.1 non-text contrast).
PALETTE = ("#0b5cad", "#a14b00", "#1e6b2f", "#6f2da8", "#a61b1b", "#005f66")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = 640,
    height: int = 240,
    unit: str = "",
    lang: str = i18n.DEFAULT,
) -> Markup:
    """Grouped bars: one group per label, one bar per series. Returns safe SVG markup. The
    title, the series' names and the unit are marked messages (N_), shown in `lang`."""
    title, unit = i18n.translate(lang, title), i18n.translate(lang, unit) if unit else ""
    series = [Series(i18n.translate(lang, s.name), s.values) for s in series]
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(
                f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels"
            )
    per_row = 4
    legend_rows = max(1, -(-len(series) // per_row))
    left, bottom, top, right = 40, 24 + 16 * legend_rows, 24, 8
    height += 16 * (legend_rows - 1)
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for s in series for v in s.values] + [0.0])
    scale_max = peak if peak > 0 else 1.0
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1.0)
    description = "; ".join(
        f"{label}: " + ", ".join(f"{s.name} {_number(s.values[i])}{unit}" for s in series)
        for i, label in enumerate(labels)
    ) or i18n.gettext(lang, "No data.")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {width} {height}" width="100%" aria-labelledby="{_id(title)}-t '
        f'{_id(title)}-d">',
        f'<title id="{_id(title)}-t">{escape(title)}</title>',
        f'<desc id="{_id(title)}-d">{escape(description)}</desc>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        f'stroke="#1b1f24"/>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="11" '
        f'fill="#1b1f24">0</text>',
    ]
    if peak > 0:
        parts.append(
            f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="11" '
            f'fill="#1b1f24">{escape(_number(peak))}{escape(unit)}</text>'
        )
    else:
        # An axis from 0 to 0 with no bars reads as a broken chart: say there is nothing.
        nothing = i18n.gettext(lang, "Nothing to show for these weeks")
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
            f'font-size="13" fill="#4a5560">'
            f"{escape(nothing)}</text>"
        )
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for j, s in enumerate(series):
            value = s.values[i]
            h = plot_h * value / scale_max
            parts.append(
                f'<rect x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(label)}: {escape(s.name)} {escape(_number(value))}"
                f"{escape(unit)}</title></rect>"
            )
        parts.append(
            f'<text x="{left + i * group_w + group_w / 2:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle" font-size="11" fill="#1b1f24">{escape(label)}</text>'
        )
    for j, s in enumerate(series):
        x = left + (j % per_row) * 150
        y = height - 16 * (legend_rows - j // per_row)
        parts.append(
            f'<rect x="{x}" y="{y + 2}" width="10" height="10" '
            f'fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="{y + 11}" font-size="11" fill="#1b1f24">'
            f"{escape(s.name)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _id(title: str) -> str:
    return "c" + "".join(ch if ch.isalnum() else "-" for ch in title.lower())[:40]
