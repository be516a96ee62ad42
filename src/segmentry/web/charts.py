"""Chart specifications: Plotly figures as plain JSON-ready dicts, and tiny SVG sparklines.

The browser draws the figures with the plotly.js the app serves from the installed ``plotly``
package (``/static/plotly-<version>.min.js``). Building dicts here (rather than
``plotly.graph_objects``) keeps page rendering fast; the shapes are Plotly's documented figure
schema.

>>> sparkline_points([1, 3, 2], width=100, height=20)
'0.0,20.0 50.0,0.0 100.0,10.0'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from segmentry.web.schemas import MetricRow

__all__ = ["bar_figure", "metric_figures", "sparkline_points"]

_COLOR = "#2563eb"
# NOTE: automargin grows a margin to fit its tick labels (¥1,200,000 or 2025年6月), so long
# labels are never clipped; the fixed margins are only the minimum.
_LAYOUT: dict[str, Any] = {
    "margin": {"l": 48, "r": 16, "t": 36, "b": 32},
    "height": 240,
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, 'Noto Sans CJK JP', sans-serif", "size": 12},
    "xaxis": {"showgrid": False, "automargin": True},
    "yaxis": {"gridcolor": "#e5e7eb", "rangemode": "tozero", "automargin": True},
    "showlegend": False,
}
# (metric, title msgid, y-axis format, is money); money axes carry the shop's currency symbol.
_SERIES = (
    ("customers", "Customers", ",d", False),
    ("repeat_rate", "Repeat rate", ".1%", False),
    ("ltv", "LTV", ",.0f", True),
    ("aov", "AOV", ",.0f", True),
    ("revenue", "Revenue per day", ",.0f", True),
)


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {**_LAYOUT, "title": {"text": title, "x": 0, "font": {"size": 14}}, **extra}


def _date_axis(_: Callable[[str], str]) -> dict[str, Any]:
    """A date x axis labelled in the reader's language (Plotly draws English month names).

    The formats are d3-time-format patterns from the catalogue: ``6月12日`` / ``2025年6月`` in
    Japanese, ``Jun 12`` / ``Jun 2025`` in English; ``dtickrange`` picks one by the tick spacing.
    """
    return {
        **_LAYOUT["xaxis"],
        "type": "date",
        "tickformatstops": [
            {"dtickrange": [None, "M1"], "value": _("%b %-d")},
            {"dtickrange": ["M1", None], "value": _("%b %Y")},
        ],
        "hoverformat": _("%-d %b %Y"),
    }


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _axis(tick: str, prefix: str) -> dict[str, Any]:
    return {**_LAYOUT["yaxis"], "tickformat": tick, "tickprefix": prefix}


def _day_marker(day: dt.date | None) -> dict[str, Any]:
    """A dashed vertical line at the chosen day (nothing without one)."""
    if day is None:
        return {}
    return {"shapes": [{"type": "line", "xref": "x", "yref": "paper", "x0": day.isoformat(),
                        "x1": day.isoformat(), "y0": 0, "y1": 1,
                        "line": {"color": "#9ca3af", "width": 1, "dash": "dot"}}]}


def metric_figures(
    rows: Sequence[MetricRow], _: Callable[[str], str], *, compact: bool = False,
    symbol: str = "¥", day: dt.date | None = None,
) -> list[dict[str, Any]]:
    """One line chart per metric, and joined/left bars (omitted when ``compact``).

    Money axes show the currency's ``symbol`` (``¥1,200``; see
    :func:`segmentry.i18n.format.currency_symbol`); ``day`` is marked on every chart.

    >>> [f["layout"]["yaxis"]["tickprefix"] for f in metric_figures([], str, compact=True)]
    ['', '', '¥', '¥', '¥']
    """
    days = [r.day.isoformat() for r in rows]
    figures = []
    for key, title, tick, money in _SERIES:
        values = [_number(getattr(r, key)) for r in rows]
        prefix = symbol if money else ""
        figures.append({
            "id": key,
            "data": [{"type": "scatter", "mode": "lines", "x": days, "y": values,
                      "line": {"color": _COLOR, "width": 2}, "name": _(title),
                      "hovertemplate": f"%{{x}}<br>{prefix}%{{y:{tick}}}<extra></extra>"}],
            "layout": _layout(_(title), xaxis=_date_axis(_), yaxis=_axis(tick, prefix),
                              **_day_marker(day)),
        })
    if not compact:
        figures.append({
            "id": "joined_left",
            "data": [
                {"type": "bar", "x": days, "y": [r.joined for r in rows], "name": _("Joined"),
                 "marker": {"color": "#16a34a"}},
                {"type": "bar", "x": days, "y": [-r.left for r in rows], "name": _("Left"),
                 "marker": {"color": "#dc2626"}},
            ],
            "layout": _layout(_("Joined and left per day"), barmode="relative",
                              showlegend=True, xaxis=_date_axis(_),
                              **_day_marker(day)),
        })
    return figures


def bar_figure(labels: Sequence[str], values: Sequence[int], title: str) -> dict[str, Any]:
    """A vertical bar chart (used for the days-to-2nd-order histogram)."""
    return {
        "data": [{"type": "bar", "x": list(labels), "y": list(values),
                  "marker": {"color": _COLOR}}],
        "layout": _layout(title, xaxis={"type": "category", "showgrid": False}),
    }


def sparkline_points(values: Sequence[int], width: int = 120, height: int = 28) -> str:
    """The ``points`` of an SVG polyline drawing ``values`` in a ``width`` × ``height`` box."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{height - (v - low) / span * height:.1f}" for i, v in enumerate(values)
    )
