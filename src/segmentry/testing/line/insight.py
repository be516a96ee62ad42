"""Per-unit statistics of the fake LINE platform: aggregation units on push and multicast, the
impressions and clicks a test says happened, and ``GET /v2/bot/insight/message/event/aggregation``
answering with them as LINE does.

As LINE documents (https://developers.line.biz/en/docs/messaging-api/unit-based-statistics-aggregation/
and the Messaging API reference): a push or multicast may carry ``customAggregationUnits``, a
list of at most one unit name of 1 to 30 characters of ``A-Z a-z 0-9 _`` (case-sensitive); a
channel uses at most 1,000 different unit names a month. The statistics of a unit over ``from``
… ``to`` (``yyyyMMdd``, UTC+9, ``to`` at most 30 days after ``from``) are an ``overview``
(unique impressions, clicks, media played), ``messages`` (per bubble) and ``clicks`` (per URL),
and every figure under 20 is null.

A test tells the fake what customers did (:meth:`UnitStatistics.impress`,
:meth:`UnitStatistics.click`), only for customers a message under the unit reached:

    >>> from segmentry.testing.line.platform import LinePlatform
    >>> line = LinePlatform(token="t")
    >>> users = [line.add_user() for _ in range(25)]
    >>> auth = {"Authorization": "Bearer t"}
    >>> line.handle("POST", "/v2/bot/message/multicast", auth, {"to": users, "messages": [
    ...     {"type": "text", "text": "hi"}], "customAggregationUnits": ["spring_sale"]})[0]
    200
    >>> line.impress("spring_sale", users[:21], day=dt.date(2026, 12, 6))
    >>> line.click("spring_sale", users[:3], "https://shop.example/a", day=dt.date(2026, 12, 6))
    >>> status, body, _ = line.handle("GET", "/v2/bot/insight/message/event/aggregation", auth,
    ...     None, {"customAggregationUnit": "spring_sale", "from": "20261201", "to": "20261206"})
    >>> status, body["overview"]["uniqueImpression"], body["overview"]["uniqueClick"]
    (200, 21, None)
    >>> status, body, _ = line.handle("POST", "/v2/bot/message/push", auth, {"to": users[0],
    ...     "messages": [{"type": "text", "text": "hi"}], "customAggregationUnits": ["a-b"]})
    >>> status, body["message"], body["details"][0]["property"]
    (400, 'The request body has 1 error(s)', 'customAggregationUnits[0]')
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from segmentry.testing.line.validation import Problem

__all__ = ["MAX_UNIT", "MIN_REPORTED", "MONTHLY_UNITS", "UnitStatistics", "unit_problems"]

MAX_UNIT = 30  # characters of a unit name
MONTHLY_UNITS = 1_000  # different unit names a channel may use in a month
MIN_REPORTED = 20  # LINE answers null for a figure under this
MAX_PERIOD_DAYS = 30  # ``to`` at most this many days after ``from``
LINE_DAYS = dt.timezone(dt.timedelta(hours=9))
_UNIT = re.compile(r"^[A-Za-z0-9_]+$")
_DAY = re.compile(r"^\d{8}$")
# NOTE: LINE's exact wording for these is not published; the shapes are its error body's.
_BAD_CHARACTERS = "Only half-width alphanumeric characters and underscores are allowed"
_TOO_MANY_UNITS = ("The number of aggregation units used this month has reached the limit "
                   f"({MONTHLY_UNITS:,}).")


def unit_problems(body: dict[str, Any]) -> list[Problem]:
    """What LINE refuses in a request's ``customAggregationUnits`` (empty: acceptable)."""
    units = body.get("customAggregationUnits")
    if units is None:
        return []
    if not isinstance(units, list) or len(units) > 1:
        return [{"message": "Size must be between 0 and 1",
                 "property": "customAggregationUnits"}]
    problems: list[Problem] = []
    for i, unit in enumerate(units):
        where = f"customAggregationUnits[{i}]"
        if not isinstance(unit, str) or not 1 <= len(unit) <= MAX_UNIT:
            problems.append({"message": f"Length must be between 1 and {MAX_UNIT}",
                             "property": where})
        elif not _UNIT.match(unit):
            problems.append({"message": _BAD_CHARACTERS, "property": where})
    return problems


@dataclass
class _Unit:
    reached: set[str] = field(default_factory=set)  # users a message under the unit reached
    # (day, bubble seq, user) seen; (day, seq, url, user) per click, in order
    impressions: list[tuple[dt.date, int, str]] = field(default_factory=list)
    clicks: list[tuple[dt.date, int, str, str]] = field(default_factory=list)


class UnitStatistics:
    """The per-unit part of :class:`~segmentry.testing.line.platform.LinePlatform` (a mixin:
    the platform holds the lock and answers the requests)."""

    _units: dict[str, _Unit]
    _units_by_month: dict[tuple[int, int], set[str]]

    def _init_units(self) -> None:
        self._units = {}
        self._units_by_month = {}

    # ------------------------------------------------------------ test controls

    def impress(self, unit: str, users: Iterable[str], *, day: dt.date | None = None,
                seq: int = 1) -> None:
        """``users`` saw bubble ``seq`` of the message they got under ``unit`` (on ``day``,
        LINE's day; default today); each call is one more impression."""
        stats = self._reached_unit(unit, users)
        for user in users:
            stats.impressions.append((day or _today(), seq, user))

    def click(self, unit: str, users: Iterable[str], url: str, *, day: dt.date | None = None,
              seq: int = 1) -> None:
        """``users`` opened ``url`` in bubble ``seq`` (they saw it too)."""
        stats = self._reached_unit(unit, users)
        for user in users:
            stats.impressions.append((day or _today(), seq, user))
            stats.clicks.append((day or _today(), seq, url, user))

    def units_this_month(self) -> int:
        return len(self._units_by_month.get(_month(_today()), set()))

    def _reached_unit(self, unit: str, users: Iterable[str]) -> _Unit:
        stats = self._units.get(unit)
        strangers = [u for u in users if stats is None or u not in stats.reached]
        if stats is None or strangers:
            raise ValueError(f"no message under the unit {unit!r} reached {strangers[:3]}")
        return stats

    # ------------------------------------------------------------ sending

    def _unit_refused(self, body: dict[str, Any]) -> str | None:
        """Why LINE refuses the request's unit this month (a 400's message), or None."""
        units = body.get("customAggregationUnits") or []
        used = self._units_by_month.get(_month(_today()), set())
        if units and units[0] not in used and len(used) >= MONTHLY_UNITS:
            return _TOO_MANY_UNITS
        return None

    def _unit_sent(self, body: dict[str, Any], users: Iterable[str]) -> None:
        for unit in body.get("customAggregationUnits") or []:
            self._units_by_month.setdefault(_month(_today()), set()).add(unit)
            self._units.setdefault(unit, _Unit()).reached.update(users)

    # ------------------------------------------------------------ the statistics

    def _unit_statistics(self, body: Any, params: dict[str, str], query: dict[str, str],
                         request_id: str, key: str | None) -> tuple[int, Any, dict[str, str]]:
        unit, start, end = (query.get("customAggregationUnit", ""), query.get("from", ""),
                            query.get("to", ""))
        problems: list[Problem] = []
        if not 1 <= len(unit) <= MAX_UNIT:
            problems.append({"message": f"Length must be between 1 and {MAX_UNIT}",
                             "property": "customAggregationUnit"})
        days = [_day(start), _day(end)]
        for name, value in zip(("from", "to"), days, strict=True):
            if value is None:
                problems.append({"message": "must be yyyyMMdd", "property": name})
        if days[0] is not None and days[1] is not None and not \
                days[0] <= days[1] <= days[0] + dt.timedelta(days=MAX_PERIOD_DAYS):
            problems.append({"message": f"to must be from 0 to {MAX_PERIOD_DAYS} days after "
                             "from", "property": "to"})
        if problems:
            return 400, {"message": "The request has invalid parameters",
                         "details": problems}, {}
        assert days[0] is not None and days[1] is not None
        stats = self._units.get(unit, _Unit())
        seen = [(s, u) for d, s, u in stats.impressions if days[0] <= d <= days[1]]
        clicked = [(s, url, u) for d, s, url, u in stats.clicks if days[0] <= d <= days[1]]
        return 200, _answer(seen, clicked), {}


def _answer(seen: list[tuple[int, str]], clicked: list[tuple[int, str, str]]) -> dict[str, Any]:
    overview = {"uniqueImpression": _shown(len({u for _, u in seen})),
                "uniqueClick": _shown(len({u for _, _, u in clicked})),
                "uniqueMediaPlayed": None, "uniqueMediaPlayed100Percent": None}
    messages = []
    for seq in sorted({s for s, _ in seen}):
        at = [u for s, u in seen if s == seq]
        messages.append({
            "seq": seq, "impression": _shown(len(at)), "uniqueImpression": _shown(len(set(at))),
            **{f"{kind}{part}": None for kind in ("mediaPlayed", "uniqueMediaPlayed")
               for part in ("", "25Percent", "50Percent", "75Percent", "100Percent")}})
    clicks = []
    for seq, url in sorted({(s, url) for s, url, _ in clicked}):
        on = [u for s, x, u in clicked if s == seq and x == url]
        anywhere = {u for _, x, u in clicked if x == url}
        clicks.append({"seq": seq, "url": url, "click": _shown(len(on)),
                       "uniqueClick": _shown(len(set(on))),
                       "uniqueClickOfRequest": _shown(len(anywhere))})
    return {"overview": overview, "messages": messages, "clicks": clicks}


def _shown(count: int) -> int | None:
    """LINE's rule: a figure under 20 is not reported (null)."""
    return count if count >= MIN_REPORTED else None


def _day(text: str) -> dt.date | None:
    if not _DAY.match(text):
        return None
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _today() -> dt.date:
    return dt.datetime.now(LINE_DAYS).date()


def _month(day: dt.date) -> tuple[int, int]:
    return day.year, day.month
