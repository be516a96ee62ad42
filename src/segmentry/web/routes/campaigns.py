"""Campaigns: the list and each campaign's report (docs/campaigns.md, "Reading a campaign
report"), their JSON twins and the report's CSV. The figures are those of ``segmentry
campaigns report``: both call :func:`~segmentry.app.campaigns.report.campaign_report`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from segmentry.analytics.lift import Estimate, Lift
from segmentry.app.campaigns.report import (
    CampaignReport,
    campaign_report,
    campaign_summaries,
)
from segmentry.i18n.format import Formatter, currency_symbol
from segmentry.web.deps import Page, WorkspaceDep, require_user
from segmentry.web.schemas import CampaignList, CampaignReportOut, ErrorBody

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["campaigns"])

StepName = Annotated[str | None, Query(max_length=200, description=(
    "One step (default: the whole campaign, each customer from their first step)."))]
Window = Annotated[int | None, Query(ge=1, le=365, description=(
    "Attribution window in days (default: [messaging] attribution_days, 7)."))]
Bootstrap = Annotated[bool, Query(description="Add a bootstrap interval for revenue per "
                                  "customer (slower).")]
_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such campaign or step"}}

Words = Callable[[str], str]


def _report(ws: WorkspaceDep, key: str, step: str | None, window: int | None,
            bootstrap: bool) -> CampaignReport:
    return campaign_report(ws, key, step=step or None, window_days=window, bootstrap=bootstrap)


@router.get("/api/campaigns", response_model=CampaignList,
            summary="Every campaign: segment, schedule, status, steps, treated/holdout counts")
def campaigns_json(ws: WorkspaceDep) -> CampaignList:
    return CampaignList.model_validate(
        {"campaigns": [c.to_dict() for c in campaign_summaries(ws)]})


@router.get("/api/campaigns/{key}/report", response_model=CampaignReportOut, responses=_ERRORS,
            summary="What a campaign (or one step) earned against its holdout: per-group "
                    "figures, lift with 95 % intervals and p-values, MDE, verdict, "
                    "cumulative revenue per customer by day")
def report_json(ws: WorkspaceDep, key: str, step: StepName = None, window: Window = None,
                bootstrap: Bootstrap = False) -> CampaignReportOut:
    return CampaignReportOut.model_validate(_report(ws, key, step, window, bootstrap).to_dict())


@router.get("/campaigns/{key}/report.csv", response_class=Response, responses=_ERRORS,
            summary="The report's per-group figures and lift rows as CSV")
def report_csv(ws: WorkspaceDep, key: str, step: StepName = None, window: Window = None,
               bom: bool = False) -> Response:
    report = _report(ws, key, step, window, False)
    name = f"campaign-{key}{'-' + step if step else ''}-{report.window_days}d.csv"
    return Response(report.csv(bom=bom), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''"
                                                    f"{quote(name)}"})


@router.get("/campaigns", include_in_schema=False)
def campaigns_page(ws: WorkspaceDep, page: Page) -> Response:
    return page("campaigns.html", campaigns=campaign_summaries(ws))


@router.get("/campaigns/{key}", include_in_schema=False)
def report_page(ws: WorkspaceDep, page: Page, key: str, step: StepName = None,
                window: Window = None, bootstrap: Bootstrap = False) -> Response:
    report = _report(ws, key, step, window, bootstrap)
    context = page.context()
    _, fmt = context["_"], context["fmt"]
    query = "&".join(f"{k}={quote(str(v))}" for k, v in
                     (("step", step), ("window", window)) if v)
    return page("campaign.html", report=report, rows=lift_rows(report, _, fmt),
                sentences=verdict_sentences(report, _, fmt), query=query,
                figure=cumulative_figure(report, _, fmt))


# ------------------------------------------------------------------ what the page shows

# measure → (label msgid, kind): how a level and a difference are written.
_MEASURES = (("conversion", "Conversion", "share"),
             ("revenue_per_customer", "Revenue per customer", "money"),
             ("orders_per_customer", "Orders per customer", "count"),
             ("aov", "AOV", "money"))


def _level(value: float | None, kind: str, fmt: Formatter) -> str:
    if kind == "share":
        return fmt.percent(value)
    if kind == "money":
        return fmt.money(value)
    return fmt.number(value, 3)


def _difference(value: float | None, kind: str, _: Words, fmt: Formatter) -> str:
    """A difference with its sign: points for a share, money, or a count."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    if kind == "share":
        return _("{sign}{value} pt").format(sign=sign, value=fmt.number(abs(value) * 100, 2))
    if kind == "money":
        return sign + fmt.money(abs(value))
    return sign + fmt.number(abs(value), 3)


def _relative(value: float | None, fmt: Formatter) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + fmt.percent(value)


def _interval(e: Estimate, kind: str, _: Words, fmt: Formatter) -> str:
    if e.low is None or e.high is None:
        return "—"
    return _("{low} to {high}").format(low=_difference(e.low, kind, _, fmt),
                                       high=_difference(e.high, kind, _, fmt))


def lift_rows(report: CampaignReport, _: Words, fmt: Formatter) -> list[dict[str, Any]]:
    """The lift table's rows, written in the reader's language."""
    rows = []
    for name, label, kind in _MEASURES:
        m: Lift = report.measure(name)
        d, r = m.difference, m.relative
        rows.append({
            "name": name, "label": _(label), "treated": _level(m.treated, kind, fmt),
            "holdout": _level(m.holdout, kind, fmt),
            "difference": _difference(d.estimate, kind, _, fmt),
            "interval": _interval(d, kind, _, fmt),
            "relative": _relative(r.estimate, fmt),
            "relative_interval": "—" if r.low is None or r.high is None else
            _("{low} to {high}").format(low=_relative(r.low, fmt), high=_relative(r.high, fmt)),
            "p_value": "—" if d.p_value is None else fmt.number(d.p_value, 3),
            "mde": "—" if m.minimum_detectable_effect is None else
            _difference(m.minimum_detectable_effect, kind, _, fmt).lstrip("+"),
            "verdict": d.verdict,
        })
    inc = report.lift.incremental_revenue
    rows.append({"name": "incremental_revenue", "label": _("Incremental revenue"),
                 "treated": "", "holdout": "", "difference": _difference(inc.estimate, "money",
                                                                         _, fmt),
                 "interval": _interval(inc, "money", _, fmt), "relative": "",
                 "relative_interval": "",
                 "p_value": "—" if inc.p_value is None else fmt.number(inc.p_value, 3),
                 "mde": "", "verdict": inc.verdict})
    return rows


def verdict_sentences(report: CampaignReport, _: Words, fmt: Formatter) -> list[str]:
    """The verdict in plain words, for conversion and revenue per customer."""
    out = []
    for name, label, kind in _MEASURES[:2]:
        m: Lift = report.measure(name)
        d = m.difference
        values = {"measure": _(label), "lift": _difference(d.estimate, kind, _, fmt),
                  "interval": _interval(d, kind, _, fmt)}
        if d.verdict == "positive":
            out.append(_("{measure}: the campaign raised it by {lift} (95% interval "
                         "{interval}).").format(**values))
        elif d.verdict == "negative":
            out.append(_("{measure}: the campaign lowered it by {lift} (95% interval "
                         "{interval}).").format(**values))
        elif d.low is None or m.minimum_detectable_effect is None:
            out.append(_("{measure}: too small to tell — there is no interval yet (a group "
                         "is too small, or nobody ordered).").format(**values))
        else:
            mde = _difference(m.minimum_detectable_effect, kind, _, fmt).lstrip("+")
            out.append(_("{measure}: too small to tell — the 95% interval ({interval}) "
                         "crosses zero. With these group sizes only a true difference of "
                         "about {mde} or more would likely show.").format(mde=mde, **values))
    return out


def cumulative_figure(report: CampaignReport, _: Words, fmt: Formatter) -> dict[str, Any]:
    """Plotly lines: revenue per customer by day since send, treated and holdout."""
    days = [0, *(d.day for d in report.lift.cumulative)]

    def line(group: str, label: str, colour: str, dash: str) -> dict[str, Any]:
        values = [0.0, *(getattr(d, group) for d in report.lift.cumulative)]
        return {"type": "scatter", "mode": "lines+markers", "name": label, "x": days,
                "y": [None if v != v else v for v in values],
                "line": {"color": colour, "dash": dash, "shape": "hv"},
                "hovertemplate": "%{y:,.0f}<extra>" + label + "</extra>"}

    return {
        "id": "campaign_cumulative",
        "data": [line("treated", _("Treated"), "#2563eb", "solid"),
                 line("holdout", _("Holdout"), "#9ca3af", "dash")],
        "layout": {"title": {"text": _("Revenue per customer since the send"), "x": 0,
                             "font": {"size": 14}},
                   "height": 320, "margin": {"l": 48, "r": 16, "t": 36, "b": 90},
                   "xaxis": {"title": {"text": _("Days since send")}, "dtick": 1,
                             "automargin": True},
                   "yaxis": {"rangemode": "tozero", "automargin": True,
                             "tickprefix": currency_symbol(fmt.currency, fmt.lang),
                             "gridcolor": "#e5e7eb"},
                   "legend": {"orientation": "h", "x": 0, "y": -0.42},
                   "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
                   "font": {"family": "system-ui, 'Noto Sans CJK JP', sans-serif",
                            "size": 12}},
    }
