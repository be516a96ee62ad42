"""Chart specifications: Plotly figures as plain JSON-ready dicts, and tiny SVG sparklines.

The browser draws the figures with the plotly.js the app serves from the installed ``plotly``
package (``/static/plotly-<version>.min.js``). Building dicts here (rather than
``plotly.graph_objects``) keeps page rendering fast; the shapes are Plotly's documented figure
schema.

>>> sparkline_points([1, 3, 2], width=100, height=20)
'0.0,20.0 50.0,0.0 100.0,10.0'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from segmentry.web.schemas import MetricRow

__all__ = ["bar_figure", "metric_figures", "sparkline_points"]

_COLOR = "#2563eb"
_LAYOUT: dict[str, Any] = {
    "margin": {"l": 48, "r": 12, "t": 36, "b": 32},
    "height": 240,
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, 'Noto Sans CJK JP', sans-serif", "size": 12},
    "xaxis": {"showgrid": False},
    "yaxis": {"gridcolor": "#e5e7eb", "rangemode": "tozero"},
    "showlegend": False,
}
# (metric, title msgid, y-axis format); money uses the shop's symbol via tickprefix.
_SERIES = (
    ("customers", "Customers", ",d"),
    ("repeat_rate", "Repeat rate", ".1%"),
    ("ltv", "LTV", ",.0f"),
    ("aov", "AOV", ",.0f"),
    ("revenue", "Revenue per day", ",.0f"),
)


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {**_LAYOUT, "title": {"text": title, "x": 0, "font": {"size": 14}}, **extra}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def metric_figures(
    rows: Sequence[MetricRow], _: Callable[[str], str], *, compact: bool = False
) -> list[dict[str, Any]]:
    """One line chart per metric, and joined/left bars (omitted when ``compact``)."""
    days = [r.day.isoformat() for r in rows]
    figures = []
    for key, title, tick in _SERIES:
        values = [_number(getattr(r, key)) for r in rows]
        figures.append({
            "id": key,
            "data": [{"type": "scatter", "mode": "lines", "x": days, "y": values,
                      "line": {"color": _COLOR, "width": 2}, "name": _(title)}],
            "layout": _layout(_(title), yaxis={**_LAYOUT["yaxis"], "tickformat": tick}),
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
                              showlegend=True),
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
