"""Engagement where the channel reports it — shown beside a campaign's lift, never instead of it
(docs/campaigns.md, "Engagement").

Opening a message or clicking in it is not what a campaign earned: a customer who clicks may
have bought anyway. These figures say whether the message was seen; the lift against the
holdout (:mod:`.report`) says whether it paid.

**LINE.** Every campaign step's LINE message is sent under an *aggregation unit*
(``customAggregationUnits`` on push and multicast), named by :func:`unit_name` from the campaign
and the step: at most 30 characters of ``A-Z a-z 0-9 _``, as LINE requires, one unit per
request, and one unit per step (LINE allows 1,000 units per channel a month). LINE then counts
impressions and clicks per unit; :func:`read_line_engagement` asks for them
(``GET /v2/bot/insight/message/event/aggregation``) per period of at most 31 of LINE's days
(UTC+9) from the step's first send, and stores each period's answer, replacing an earlier
reading of it. LINE answers null for a figure under 20, so as not to show a few people's
behaviour: the report says "under 20, not reported by LINE", never 0. A narrowcast (a very
large identical batch) carries no unit: LINE's figures then leave those messages out.

**E-mail** (opt-in: ``[email] track_clicks``). Links in a campaign's e-mails are rewritten to
``<web_url>/r/<token>`` (:func:`track_links`): the token names the send, the customer and the
original URL and is signed with the workspace's key (the one unsubscribe links use), so the
web app's redirect records the click once per customer and link and sends the reader on,
and a token it did not sign goes nowhere.

>>> unit_name("welcome", "thanks")
'sg_welcome_thanks_b1761a8c'
>>> unit_of_send("campaign:welcome:thanks:2026-12-06#2:line")
'sg_welcome_thanks_b1761a8c'
>>> unit_of_send("send-1234") is None
True
>>> token = click_token(b"k" * 32, 7, "1001", "https://shop.example/a?b=1")
>>> verify_click(b"k" * 32, token)
Click(send_id=7, customer_id='1001', url='https://shop.example/a?b=1')
>>> verify_click(b"x" * 32, token) is None
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html as html_text
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from segmentry.app.campaigns.campaigns import Campaigns
from segmentry.app.messaging.service import Messaging
from segmentry.app.messaging.unsubscribe import sign_values, verify_values
from segmentry.core.clock import utcnow
from segmentry.core.context import Context
from segmentry.core.errors import CampaignError, SegmentryError
from segmentry.store import engagement as store
from segmentry.store.engagement import LineStatistics

__all__ = ["LINE_DAYS", "PERIOD_DAYS", "SETTLED_DAYS", "Click", "ReportsUnits", "StepEngagement",
           "click_token", "click_url", "engagement_of", "is_campaign_send",
           "read_engagement", "read_line_engagement", "refresh_line_engagement", "track_links",
           "unit_name", "unit_of_send", "verify_click"]

LINE_DAYS = dt.timezone(dt.timedelta(hours=9))  # LINE's statistics count days in UTC+9
PERIOD_DAYS = 31  # LINE: ``to`` at most 30 days after ``from``
# The daily run stops re-reading a period once read this many days after it ended: its
# messages are at least two weeks old by then (our choice; LINE publishes no cut-off).
SETTLED_DAYS = 14
_PREFIX = "campaign:"  # a campaign's sends: campaign:<key>:<step>:<day>[#n]:<channel>
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"'<>]+)\2""", re.I)
_LONGEST_TOKEN = 4_000


def unit_name(campaign: str, step: str) -> str:
    """The aggregation unit of a campaign step's LINE messages: readable where it can be, and
    unique by a hash (LINE: 1–30 characters of ``A-Z a-z 0-9 _``, case-sensitive)."""
    return _unit(f"{_PREFIX}{campaign}:{step}")


def unit_of_send(send_key: str) -> str | None:
    """The aggregation unit of a send: its campaign step's, or None (not a campaign's)."""
    if not send_key.startswith(_PREFIX) or send_key.count(":") < 4:
        return None
    return _unit(send_key.rsplit(":", 2)[0])


def _unit(step_key: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9]+", "_", step_key[len(_PREFIX):]).strip("_")[:17]
    digest = hashlib.sha256(step_key.encode()).hexdigest()[:8]
    return f"sg_{readable}_{digest}" if readable else f"sg_{digest}"


def is_campaign_send(send_key: str) -> bool:
    return unit_of_send(send_key) is not None


# ------------------------------------------------------------------ e-mail clicks


class Click(NamedTuple):
    send_id: int
    customer_id: str
    url: str


def click_token(key: bytes, send_id: int, customer_id: str, url: str) -> str:
    """A signed token naming one link of one customer's message."""
    return sign_values(key, ["click", send_id, customer_id, url])


def verify_click(key: bytes, token: str) -> Click | None:
    """What a genuine click token names, else None (a forged, cut or other kind of token)."""
    values = verify_values(key, token, longest=_LONGEST_TOKEN)
    if values is None or len(values) != 4 or values[0] != "click":
        return None
    _, send_id, customer_id, url = values
    if not isinstance(send_id, int) or not isinstance(customer_id, str) \
            or not isinstance(url, str) or not _URL.fullmatch(url):
        return None
    return Click(send_id, customer_id, url)


def click_url(web_url: str, token: str) -> str:
    """The web app's redirect address for ``token``."""
    return f"{web_url.rstrip('/')}/r/{token}"


def track_links(text: str, *, html: bool, link: Callable[[str], str],
                keep: Sequence[str] = ()) -> str:
    """``text`` with each http(s) link replaced by ``link(url)``: in HTML the ``href`` of
    ``<a>`` elements, in plain text every URL. Links starting with one of ``keep`` (the web
    app's own: unsubscribing) stay as they are.

    >>> track_links('<a href="https://s.example/a?x=1&amp;y=2">a</a> https://s.example/b',
    ...             html=True, link=lambda u: "R(" + u + ")")
    '<a href="R(https://s.example/a?x=1&amp;y=2)">a</a> https://s.example/b'
    >>> track_links("見る→https://s.example/a。 https://crm.example/unsubscribe?t=x",
    ...             html=False, link=lambda u: "R", keep=["https://crm.example"])
    '見る→R。 https://crm.example/unsubscribe?t=x'
    """
    def kept(url: str) -> bool:
        return any(url.startswith(k) for k in keep if k)

    if html:
        def href(m: re.Match[str]) -> str:
            url = html_text.unescape(m.group(3))
            if kept(url):
                return m.group(0)
            return f"{m.group(1)}{m.group(2)}{html_text.escape(link(url))}{m.group(2)}"
        return _HREF.sub(href, text)

    def plain(m: re.Match[str]) -> str:
        url = m.group(0)
        trail = len(url) - len(url.rstrip(".,;:!?)'"))
        url, rest = (url[:-trail], url[-trail:]) if trail else (url, "")
        return url + rest if kept(url) else link(url) + rest
    return _URL.sub(plain, text)


# ------------------------------------------------------------------ LINE's figures


@runtime_checkable
class ReportsUnits(Protocol):
    """A channel that reports per-unit statistics (LINE's sender)."""

    def unit_statistics(self, unit: str, day_from: dt.date,
                        day_to: dt.date) -> Mapping[str, Any]:
        """LINE's answer for ``unit`` over the period, in LINE's JSON shape."""
        ...


def read_engagement(context: Context, campaign: str, *, channel: object | None = None,
                    now: Callable[[], dt.datetime] = utcnow) -> int:
    """:func:`read_line_engagement` with the workspace's LINE channel (or ``channel``); the
    number of periods read. E-mail clicks need no reading: the web app records them."""
    Campaigns(context).get(campaign)  # an unknown campaign is an error, not 0 periods
    line = channel if channel is not None else Messaging(context, now=now).channel("line")
    if not isinstance(line, ReportsUnits):
        raise CampaignError("The LINE channel of this workspace reports no statistics.",
                            code="campaign_engagement")
    return read_line_engagement(context, campaign, line, now=now)


def read_line_engagement(context: Context, campaign: str, channel: ReportsUnits, *,
                         now: Callable[[], dt.datetime] = utcnow,
                         settled_days: int | None = None) -> int:
    """Ask LINE for the figures of each step of ``campaign`` sent on LINE, period by period
    up to today (LINE's day), and store them; the number of periods read. Reading again
    replaces what was stored (a period still open grows), never adds to it.

    ``settled_days`` (the daily run's reading): skip a period already read after it had been
    over for that many days — its messages are that old, and LINE's figures for them have
    settled; every other period (never read, still open, or read too soon) is read."""
    at = now()
    today = _line_day(at)
    firsts: dict[str, dt.date] = {}
    with context.state.begin() as conn:
        cohorts = store.cohort_sends(conn, campaign)
        sent = store.send_ids(conn, [f"{key}:line" for _, key, _ in cohorts])
        stored = {(s.step, s.day): s for s in store.line_statistics(conn, campaign)}
    for step, key, start in cohorts:
        if f"{key}:line" in sent:
            day = _line_day(start)
            firsts[step] = min(day, firsts.get(step, day))
    read = 0
    for step, first in firsts.items():
        unit = unit_name(campaign, step)
        start_day = first
        while start_day <= today:
            end = min(start_day + dt.timedelta(days=PERIOD_DAYS - 1), today)
            earlier = stored.get((step, start_day))
            if settled_days is not None and earlier is not None and earlier.day_to == end \
                    and (_line_day(earlier.read_at) - end).days >= settled_days:
                start_day += dt.timedelta(days=PERIOD_DAYS)
                continue
            answer = dict(channel.unit_statistics(unit, start_day, end))
            overview = answer.get("overview") or {}
            with context.state.begin() as conn:
                store.save_line_statistics(conn, LineStatistics(
                    campaign, step, start_day, end, unit, overview.get("uniqueImpression"),
                    overview.get("uniqueClick"), overview.get("uniqueMediaPlayed"),
                    json.dumps(answer, ensure_ascii=False, sort_keys=True), at))
            read += 1
            start_day += dt.timedelta(days=PERIOD_DAYS)
    return read


def refresh_line_engagement(campaigns: Campaigns) -> str:
    """The daily run's reading (after the campaigns' pass): every campaign's LINE periods not
    yet settled (:data:`SETTLED_DAYS`), through the campaigns' LINE channel; what was done, in
    words ("" without a LINE channel). LINE's refusal or absence is said, not raised: the
    figures wait for the next run, and the run is not failed for them."""
    line = campaigns.channel_if_set_up("line")
    if not isinstance(line, ReportsUnits):
        return ""
    read = 0
    try:
        for campaign in campaigns.all():
            read += read_line_engagement(campaigns.context, campaign.key, line,
                                         now=campaigns.now, settled_days=SETTLED_DAYS)
    except SegmentryError as e:
        return f"LINE engagement not read ({read} period(s) read before): {e.message}"
    return f"LINE engagement: {read} period(s) read"


def _line_day(at: dt.datetime) -> dt.date:
    """LINE's day (UTC+9) of a naive UTC time."""
    return at.replace(tzinfo=dt.UTC).astimezone(LINE_DAYS).date()


# ------------------------------------------------------------------ the report's part

@dataclass(frozen=True)
class StepEngagement:
    """One step's engagement on one channel. LINE's figures are None where LINE reported none
    (:attr:`not_reported`: fewer than 20) or when they were never read (:attr:`line_read`)."""

    step: str
    channel: str  # line, email
    delivered: int
    line_read: bool = False
    unique_impressions: int | None = None
    unique_clicks: int | None = None
    periods: int = 0  # LINE periods summed (more than one: a customer may count in each)
    read_at: dt.datetime | None = None
    not_reported: tuple[str, ...] = ()  # LINE figures under 20
    tracked: bool = False  # e-mail: clicks are tracked (or were)
    unique_clickers: int | None = None

    @property
    def click_rate(self) -> float | None:
        """E-mail: unique clickers per delivered message."""
        if self.unique_clickers is None or not self.delivered:
            return None
        return self.unique_clickers / self.delivered

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "channel": self.channel,
                               "delivered": self.delivered}
        if self.channel == "line":
            out["line"] = {"read": self.line_read,
                           "unique_impressions": self.unique_impressions,
                           "unique_clicks": self.unique_clicks,
                           "not_reported": list(self.not_reported), "periods": self.periods,
                           "read_at": None if self.read_at is None
                           else self.read_at.isoformat()}
        if self.channel == "email":
            out["email"] = {"tracked": self.tracked, "unique_clickers": self.unique_clickers,
                            "click_rate": self.click_rate}
        return out


def engagement_of(context: Context, campaign: str, steps: Sequence[str],
                  step: str | None = None) -> tuple[StepEngagement, ...]:
    """Per step (only ``step``, if given) and channel it was sent on: delivered, LINE's unique
    impressions and clicks as stored, e-mail unique clickers."""
    chosen = [s for s in steps if step is None or s == step]
    settings = context.settings.email
    tracking = settings is not None and settings.track_clicks
    rows: list[StepEngagement] = []
    with context.state.begin() as conn:
        cohorts = store.cohort_sends(conn, campaign)
        stats = store.line_statistics(conn, campaign, step)
        for name in chosen:
            keys = [key for s, key, _ in cohorts if s == name]
            for channel in ("line", "email"):
                ids = list(store.send_ids(conn, [f"{k}:{channel}" for k in keys]).values())
                if not ids:
                    continue
                delivered = store.delivered_of(conn, ids)
                if channel == "line":
                    rows.append(_line(name, delivered, [s for s in stats if s.step == name]))
                else:
                    clickers = store.clickers_of(conn, ids)
                    tracked = tracking or clickers > 0
                    rows.append(StepEngagement(name, "email", delivered, tracked=tracked,
                                               unique_clickers=clickers if tracked else None))
    return tuple(rows)


def _line(step: str, delivered: int, periods: list[LineStatistics]) -> StepEngagement:
    if not periods:
        return StepEngagement(step, "line", delivered)
    impressions = _sum([p.unique_impression for p in periods])
    clicks = _sum([p.unique_click for p in periods])
    missing = tuple(name for name, value in (("unique_impressions", impressions),
                                             ("unique_clicks", clicks)) if value is None)
    return StepEngagement(step, "line", delivered, line_read=True,
                          unique_impressions=impressions, unique_clicks=clicks,
                          periods=len(periods), read_at=max(p.read_at for p in periods),
                          not_reported=missing)


def _sum(values: list[int | None]) -> int | None:
    """The sum of the figures LINE reported; None when it reported none."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None
