"""The rules every send obeys before a message leaves: quiet hours in the shop's time zone and
frequency caps across all sends.

Quiet hours wrap midnight (21:00–09:00 by default). A message due inside them waits for their
end, in the shop's zone, whatever the server's zone is:

>>> quiet = QuietHours(dt.time(21), dt.time(9))
>>> at = dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.UTC)   # 22:00 in Tokyo
>>> quiet.next_allowed(at, "Asia/Tokyo").isoformat()
'2026-12-02T00:00:00+00:00'
>>> quiet.next_allowed(dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC), "Asia/Tokyo").isoformat()
'2026-12-01T03:00:00+00:00'

A cap says how many messages of a channel one customer may get in a number of days:

>>> FrequencyCap("line", 2, 7).allows(sent=1), FrequencyCap("line", 2, 7).allows(sent=2)
(True, False)
>>> parse_quiet_hours("21:00-09:00") == quiet, parse_quiet_hours("none")
(True, None)
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from segmentry.core.errors import ConfigError

__all__ = ["FrequencyCap", "QuietHours", "parse_quiet_hours"]

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class QuietHours:
    """No message from ``start`` up to (not including) ``end``, shop time."""

    start: dt.time
    end: dt.time

    def is_quiet(self, local: dt.time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, at: dt.datetime, timezone: str) -> dt.datetime:
        """``at`` itself when it is outside quiet hours, else the end of the quiet hours (UTC)."""
        zone = zoneinfo.ZoneInfo(timezone)
        local = at.astimezone(zone)
        if not self.is_quiet(local.time()):
            return at
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += dt.timedelta(days=1)
        end = dt.datetime.combine(day, self.end, tzinfo=zone)
        return end.astimezone(dt.UTC)


@dataclass(frozen=True)
class FrequencyCap:
    """At most ``messages`` messages of ``channel`` per customer in ``days`` days."""

    channel: str
    messages: int
    days: int

    def allows(self, *, sent: int) -> bool:
        return sent < self.messages


def parse_quiet_hours(text: str) -> QuietHours | None:
    """``"21:00-09:00"`` → quiet hours; ``"none"`` or ``""`` → none."""
    if text.strip().lower() in {"", "none", "off"}:
        return None
    found = _RANGE.match(text)
    if found is None:
        raise ConfigError(
            "Quiet hours {text!r} are not written as HH:MM-HH:MM.",
            code="quiet_hours",
            hint="Write them like 21:00-09:00, or none.",
            params={"text": text},
        )
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    try:
        start, end = dt.time(h1, m1), dt.time(h2, m2)
    except ValueError as e:
        raise ConfigError(
            "Quiet hours {text!r} name a time that does not exist.",
            code="quiet_hours",
            hint="Write them like 21:00-09:00, or none.",
            params={"text": text},
        ) from e
    if start == end:
        raise ConfigError(
            "Quiet hours {text!r} start and end at the same time.",
            code="quiet_hours",
            hint="Write them like 21:00-09:00, or none.",
            params={"text": text},
        )
    return QuietHours(start, end)
