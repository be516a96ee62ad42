"""The predictive models of a workspace: fit, refit on schedule, show (docs/predictive.md).

The daily run calls :func:`segmentry_before_segments` (a built-in plug-in, see
:mod:`segmentry.app.plugins`) before it evaluates the segments, so that segments reading
``predicted_clv``, ``churn_probability``, ``expected_orders_90d`` or
``predicted_next_order_date`` see the day's fit:

- no fit yet: fit at each of the last ``models.backfill_months`` month-ends that has enough
  customers (so the attributes have history), then at the day;
- else refit at the day when the latest fit is ``models.refit_days`` days old or older
  (``0``: never), or when it was made by another repeat-buying model than
  ``models.purchase_model`` (the setting changed; earlier fits keep their model).

A shop the models cannot fit yet (too few customers, nobody bought twice) is not an error of
the run: the stage says why and the attributes stay empty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from segmentry.analytics.asof import PREDICTIONS
from segmentry.analytics.predictive import ModelFitError
from segmentry.analytics.predictive.cdnow import PUBLISHED, CdnowCheck, check_cdnow
from segmentry.analytics.predictive.purchase import LABELS
from segmentry.analytics.predictive.warehouse import (
    ModelFit,
    fit_dates,
    fit_shop,
    latest_fit,
    month_ends,
    read_fit,
)
from segmentry.app.plugins import hookimpl

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = [
    "PUBLISHED",
    "CdnowCheck",
    "FitSummary",
    "ModelFit",
    "check_cdnow",
    "fit",
    "refit_if_due",
    "segmentry_before_segments",
    "show",
]


def fit(ws: Context, day: dt.date) -> ModelFit:
    """Fit the models as of ``day`` and store the fit (replacing one of the same day)."""
    models = ws.settings.models
    return fit_shop(ws.warehouse, day, clv_months=models.clv_months,
                    monthly_discount=models.monthly_discount,
                    purchase_model=models.purchase_model)


def refit_if_due(ws: Context, day: dt.date) -> str:
    """The schedule in the module docstring; returns what was done, in words."""
    models = ws.settings.models
    done = fit_dates(ws.warehouse)
    if done:
        latest = read_fit(ws.warehouse, done[-1])
        made_by = latest.purchase_model if latest is not None else models.purchase_model
        if made_by != models.purchase_model:
            return _switch(ws, day, made_by, done[-1])
        if models.refit_days == 0 or (day - done[-1]).days < models.refit_days:
            return f"models fitted {done[-1]}, not due"
    wanted = [] if done else month_ends(day, models.backfill_months)
    fitted, skipped = [], []
    for when in [*wanted, day]:
        try:
            fit(ws, when)
            fitted.append(when)
        except ModelFitError as e:
            skipped.append((when, e))
    if not fitted:
        return f"models not fitted: {skipped[-1][1].message}"
    note = f"models fitted at {len(fitted)} day(s), latest {fitted[-1]}"
    if skipped and skipped[-1][0] == day:
        note += f"; not at {day}: {skipped[-1][1].message}"
    return note


def _switch(ws: Context, day: dt.date, made_by: str, latest: dt.date) -> str:
    """Refit at ``day`` because the latest fit was made by another model than the setting's."""
    wanted, before = LABELS[ws.settings.models.purchase_model], LABELS[made_by]
    why = f"the latest fit ({latest}) was made with {before}, models.purchase_model is now {wanted}"
    try:
        fit(ws, day)
    except ModelFitError as e:
        return f"models not refitted with {wanted} at {day}: {e.message}; {why}"
    return f"models refitted with {wanted} at {day}: {why}"


@hookimpl
def segmentry_before_segments(workspace: Context, day: dt.date) -> str | None:
    return refit_if_due(workspace, day)


@dataclass(frozen=True)
class FitSummary:
    """The latest fit and how its predictions are spread (for the page and the JSON API)."""

    fit: ModelFit | None
    fit_dates: list[dt.date]
    scored: int
    clv_quantiles: dict[str, float]  # p10, p25, p50, p75, p90, mean
    clv_histogram: list[tuple[float, float, int]]  # (from, to, customers)
    churn_histogram: list[tuple[float, float, int]]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["fit_dates"] = [d.isoformat() for d in self.fit_dates]
        if self.fit is not None:
            out["fit"]["fit_date"] = self.fit.fit_date.isoformat()
            out["fit"]["purchase_label"] = self.fit.purchase_label
            out["fit"]["purchase_parameters"] = self.fit.purchase_parameters
        return out


def show(ws: Context, day: dt.date | None = None) -> FitSummary:
    """The latest fit (on or before ``day``) with the spread of its predictions."""
    con = ws.warehouse
    latest = latest_fit(con, day)
    if latest is None:
        return FitSummary(None, fit_dates(con), 0, {}, [], [])
    t = con.table(PREDICTIONS)
    rows = t.filter(t.fit_date == latest.fit_date).select("predicted_clv", "churn_probability")
    frame = rows.to_pyarrow()
    clv = np.asarray(frame["predicted_clv"].to_numpy(), dtype=float)
    churn = np.asarray(frame["churn_probability"].to_numpy(), dtype=float)
    quantiles = {f"p{q}": float(np.percentile(clv, q)) for q in (10, 25, 50, 75, 90)}
    quantiles["mean"] = float(clv.mean())
    return FitSummary(latest, fit_dates(con), len(clv), quantiles,
                      _histogram(clv, np.percentile(clv, 99)), _histogram(churn, 1.0))


def _histogram(values: np.ndarray, top: float, bins: int = 10) -> list[tuple[float, float, int]]:
    """Counts in ``bins`` equal bins over [0, top]; values above ``top`` go in the last."""
    top = float(top) if top > 0 else 1.0
    counts, edges = np.histogram(np.clip(values, 0, top), bins=bins, range=(0.0, top))
    return [(float(edges[i]), float(edges[i + 1]), int(counts[i])) for i in range(bins)]
