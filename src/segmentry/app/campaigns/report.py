"""A campaign's report: what it earned against its holdout, per campaign or per step
(docs/campaigns.md, "Reading a campaign report").

The recipients are the campaign's assignments (:meth:`Campaigns.assignments`): one row per
customer who took a step, treated or held out, with the moment it was sent (or would have
been). For one step they are measured as they are; for the campaign as a whole each customer
counts once, from their first step (a customer's group is the same in every step). They go
to the warehouse as an in-memory table and :func:`~segmentry.analytics.campaign_outcomes.measure`
does the rest.

**Windows still open.** Every recipient counts, including those whose window has not ended
yet: both groups of a cohort share their start, so an open window shortens treated and held-out
customers alike and the comparison stays fair — but the levels (and the incremental revenue)
can still grow. Such a report is *provisional*: it says how many customers' windows are still
open and when the last one closes.

>>> from segmentry.analytics.lift import Estimate
>>> verdict_words(Estimate(0.02, 0.005, 0.035, 0.01, "newcombe_hybrid_score", "positive"))
'positive'
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from segmentry.analytics.campaign_outcomes import (
    HOLDOUT,
    TREATED,
    CampaignLift,
    GroupOutcome,
    measure,
)
from segmentry.analytics.exports import to_csv
from segmentry.analytics.lift import Estimate, Lift
from segmentry.app.campaigns.campaigns import Campaigns
from segmentry.app.campaigns.coupons import StepRedemptions, redemptions
from segmentry.app.campaigns.engagement import StepEngagement, engagement_of
from segmentry.core.clock import utcnow
from segmentry.core.context import Context
from segmentry.core.errors import CampaignError
from segmentry.store.campaigns import Campaign

__all__ = ["ENGAGEMENT_COLUMNS", "LIFT_COLUMNS", "MEASURES", "NOT_REPORTED", "CampaignReport",
           "CampaignSummary", "campaign_report", "campaign_summaries", "recipients_of",
           "verdict_words"]

# The measures of the lift table, in its order: (name, attribute of CampaignLift).
MEASURES = ("conversion", "revenue_per_customer", "orders_per_customer", "aov")
LIFT_COLUMNS = ("measure", "treated", "holdout", "difference", "low", "high", "p_value",
                "relative", "relative_low", "relative_high", "mde", "verdict")
# The engagement table of the CSV (docs/campaigns.md, "Engagement"): per step and channel.
ENGAGEMENT_COLUMNS = ("step", "channel", "delivered", "line_unique_impressions",
                      "line_unique_clicks", "email_unique_clickers", "email_click_rate")
# A LINE figure LINE did not report (fewer than 20 people), in the CSV and the CLI.
NOT_REPORTED = "under 20, not reported by LINE"
# The verdicts in words (the web translates them; tests/i18n checks they have Japanese).
_VERDICT_WORDS = {"positive": "positive", "negative": "negative",
                  "too_small_to_tell": "too small to tell"}


def verdict_words(estimate: Estimate) -> str:
    """The verdict of an interval in plain (English) words."""
    return _VERDICT_WORDS[estimate.verdict]


@dataclass(frozen=True)
class CampaignSummary:
    """A line of the campaign list: the campaign, its steps and its groups' sizes."""

    campaign: Campaign
    steps: tuple[str, ...]
    treated: int
    holdout: int

    def to_dict(self) -> dict[str, Any]:
        c = self.campaign
        return {"key": c.key, "segment": c.segment, "schedule": c.schedule,
                "start_at": _iso(c.start_at), "holdout_share": c.holdout, "status": c.status,
                "steps": list(self.steps), "treated": self.treated, "holdout": self.holdout}


@dataclass(frozen=True)
class CampaignReport:
    """A campaign's (or one step's) measured lift, and how final it is."""

    campaign: Campaign
    step: str | None
    steps: tuple[str, ...]
    window_days: int
    bootstrap: bool
    measured_at: dt.datetime
    open_customers: int  # recipients whose window has not ended at measured_at
    final_at: dt.datetime | None  # when the last window ends
    lift: CampaignLift
    coupons: tuple[StepRedemptions, ...] = ()  # steps with a coupon: codes issued, redeemed
    # What the channels report (seen, clicked): beside the lift, never instead of it.
    engagement: tuple[StepEngagement, ...] = ()

    @property
    def provisional(self) -> bool:
        return self.open_customers > 0

    @property
    def customers(self) -> int:
        return self.lift.treated.customers + self.lift.holdout.customers

    def measure(self, name: str) -> Lift:
        lift: Lift = getattr(self.lift, name)
        return lift

    def group_rows(self) -> list[dict[str, Any]]:
        """Per group: customers, converted, conversion, revenue, revenue/orders per customer,
        orders and AOV (what the CSV holds)."""
        rows = []
        for group, outcome in ((TREATED, self.lift.treated), (HOLDOUT, self.lift.holdout)):
            rows.append({"group": group, **_group_figures(outcome)})
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (NaN as None)."""
        lift = self.lift
        return _clean({
            "campaign": self.campaign.key, "segment": self.campaign.segment,
            "step": self.step, "steps": list(self.steps), "window_days": self.window_days,
            "bootstrap": self.bootstrap, "measured_at": _iso(self.measured_at),
            "provisional": self.provisional, "open_customers": self.open_customers,
            "final_at": _iso(self.final_at),
            "groups": self.group_rows(),
            "lift": {name: _lift_dict(self.measure(name)) for name in MEASURES},
            "incremental_revenue": _estimate_dict(lift.incremental_revenue),
            "revenue_bootstrap": None if lift.revenue_bootstrap is None
            else _estimate_dict(lift.revenue_bootstrap),
            "incremental_revenue_bootstrap": None if lift.incremental_revenue_bootstrap is None
            else _estimate_dict(lift.incremental_revenue_bootstrap),
            "cumulative": [{"day": d.day, "treated": d.treated, "holdout": d.holdout}
                           for d in lift.cumulative],
            "coupons": [{"step": c.step, "kind": c.kind, "code": c.code, "issued": c.issued,
                         "orders": c.orders, "customers": len(c.customers)}
                        for c in self.coupons],
            "engagement": [e.to_dict() for e in self.engagement],
        })

    def lift_rows(self) -> list[dict[str, Any]]:
        """Per measure (and incremental revenue): both levels, the difference with its
        interval and p-value, the relative lift with its interval, the MDE and the verdict."""
        rows = []
        for name in MEASURES:
            m = self.measure(name)
            d, r = m.difference, m.relative
            rows.append({"measure": name, "treated": m.treated, "holdout": m.holdout,
                         "difference": d.estimate, "low": d.low, "high": d.high,
                         "p_value": d.p_value, "relative": r.estimate, "relative_low": r.low,
                         "relative_high": r.high, "mde": m.minimum_detectable_effect,
                         "verdict": d.verdict})
        inc = self.lift.incremental_revenue
        rows.append({"measure": "incremental_revenue", "difference": inc.estimate,
                     "low": inc.low, "high": inc.high, "p_value": inc.p_value,
                     "verdict": inc.verdict})
        return [{k: _cell(v) for k, v in r.items()} for r in rows]

    def engagement_rows(self) -> list[dict[str, Any]]:
        """Per step and channel: delivered, LINE's unique impressions and clicks (a figure LINE
        did not report: :data:`NOT_REPORTED`; never read: empty), e-mail unique clickers and
        click rate (empty when clicks are not tracked)."""
        rows = []
        for e in self.engagement:
            row: dict[str, Any] = {"step": e.step, "channel": e.channel,
                                   "delivered": e.delivered}
            if e.channel == "line" and e.line_read:
                row["line_unique_impressions"] = _line_cell(e.unique_impressions)
                row["line_unique_clicks"] = _line_cell(e.unique_clicks)
            if e.channel == "email" and e.tracked:
                row["email_unique_clickers"] = e.unique_clickers
                row["email_click_rate"] = _cell(e.click_rate)
            rows.append(row)
        return rows

    def csv(self, *, bom: bool = False) -> bytes:
        """The per-group figures, a blank line, the lift of each measure, and — when a step
        was sent — a blank line and the engagement per step and channel (CSV)."""
        groups = [{k: _cell(v) for k, v in r.items()} for r in self.group_rows()]
        lift = self.lift_rows()
        out = to_csv(groups, list(groups[0]), bom=bom) + b"\r\n" + to_csv(lift, LIFT_COLUMNS)
        if self.engagement:
            out += b"\r\n" + to_csv(self.engagement_rows(), ENGAGEMENT_COLUMNS)
        return out


def campaign_summaries(context: Context) -> list[CampaignSummary]:
    """Every campaign with its steps and the sizes of its groups (the list page)."""
    campaigns = Campaigns(context)
    out = []
    for campaign in campaigns.all():
        view = campaigns.show(campaign.key)
        out.append(CampaignSummary(campaign, tuple(s.name for s in view.steps),
                                   view.groups.get(TREATED, 0), view.groups.get(HOLDOUT, 0)))
    return out


def recipients_of(assignments: pa.Table, step: str | None = None) -> pa.Table:
    """``(customer_id, group, start)``, one row per customer: those of ``step``, or, for the
    whole campaign, each customer from their first step."""
    if step is not None:
        rows = assignments.filter(pc.equal(assignments["step"], step))
        return rows.select(["customer_id", "group", "start"])
    if pc.count_distinct(assignments["step"]).as_py() <= 1:  # a customer takes a step once
        return assignments.select(["customer_id", "group", "start"])
    first = assignments.group_by(["customer_id", "group"]).aggregate([("start", "min")])
    return first.rename_columns(["customer_id", "group", "start"])


def campaign_report(context: Context, key: str, *, step: str | None = None,
                    window_days: int | None = None, bootstrap: bool = False,
                    now: Callable[[], dt.datetime] = utcnow) -> CampaignReport:
    """Measure campaign ``key`` (or its ``step``) over ``window_days`` (default
    ``[messaging] attribution_days``), with a bootstrap interval for revenue if asked."""
    campaigns = Campaigns(context)
    view = campaigns.show(key)
    steps = tuple(s.name for s in view.steps)
    if step is not None and step not in steps:
        raise CampaignError("Campaign {key!r} has no step {step!r}.", code="unknown_step",
                            params={"key": key, "step": step})
    window = window_days if window_days is not None else \
        context.settings.messaging.attribution_days
    if window < 1:
        raise CampaignError("The attribution window must be at least 1 day.",
                            code="campaign_window", params={"days": window})
    recipients = recipients_of(campaigns.assignments(key, step, ordered=False), step)
    measured_at = now()
    ends = pc.add(recipients["start"], pa.scalar(dt.timedelta(days=window),
                                                  pa.duration("us")))
    open_customers = int(pc.sum(pc.greater(ends, pa.scalar(measured_at, pa.timestamp("us"))))
                         .as_py() or 0)
    final_at = pc.max(ends).as_py() if recipients.num_rows else None
    table = ibis.memtable(recipients, schema={"customer_id": "string", "group": "string",
                                              "start": "timestamp"})
    lift = measure(context.warehouse, table, window_days=window, bootstrap=bootstrap)
    coupons = tuple(c for c in redemptions(context, key) if step is None or c.step == step)
    engagement = engagement_of(context, key, steps, step)
    return CampaignReport(view.campaign, step, steps, window, bootstrap, measured_at,
                          open_customers, final_at, lift, coupons, engagement)


def _group_figures(o: GroupOutcome) -> dict[str, Any]:
    n = o.customers
    return {"customers": n, "converted": o.converted,
            "conversion": o.converted / n if n else None,
            "revenue": o.revenue,
            "revenue_per_customer": o.revenue / n if n else None,
            "orders": o.orders,
            "orders_per_customer": o.orders / n if n else None,
            "aov": o.revenue / o.orders if o.orders else None}


def _estimate_dict(e: Estimate) -> dict[str, Any]:
    return {"estimate": e.estimate, "low": e.low, "high": e.high, "p_value": e.p_value,
            "method": e.method, "verdict": e.verdict}


def _lift_dict(m: Lift) -> dict[str, Any]:
    return {"treated": m.treated, "holdout": m.holdout,
            "difference": _estimate_dict(m.difference), "relative": _estimate_dict(m.relative),
            "minimum_detectable_effect": m.minimum_detectable_effect}


def _clean(value: Any) -> Any:
    """NaN and infinities as None, all the way down (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _line_cell(value: int | None) -> Any:
    return NOT_REPORTED if value is None else value


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(value, 6) if isinstance(value, float) else value


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()
