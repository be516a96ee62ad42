"""Step sequences: when each step of a campaign falls due for a customer, and which step is
next for them.

A step is due ``after_days`` days after the customer entered: at the same time of day, or,
with ``at_time``, at that time of the shop's day (in its time zone) ``after_days`` days after
the shop day of entry. Entered 2026-12-01 12:00 Tokyo (03:00 UTC):

>>> import datetime as dt
>>> from segmentry.store.campaigns import Step
>>> entered = dt.datetime(2026, 12, 1, 3, 0)
>>> due_at(Step("a", 0, None, ("line",), "…"), entered, "Asia/Tokyo")
datetime.datetime(2026, 12, 1, 3, 0)
>>> due_at(Step("b", 2, "10:00", ("line",), "…"), entered, "Asia/Tokyo")  # 10:00 Tokyo
datetime.datetime(2026, 12, 3, 1, 0)

**Where a customer is.** Each entry keeps the step it passed last and when that step was due
(``done_until``). The next step is the first, in order of its due moment for this customer,
due *after* ``done_until``. That one rule is what editing a running sequence means:

- customers inside keep their place (the moment they reached), not a step number;
- a removed step is never sent to anyone who has not had it;
- a new step, or a step moved later, reaches those whose place is before its due moment; one
  inserted before a customer's place is skipped for them (they are past it);
- a changed text or channel applies to every later send of that step.

A customer takes at most one step in a pass: steps overdue together (the daily run did not run
for some days) go out one per run, in order, rather than all at once.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Sequence

from segmentry.core.errors import CampaignError
from segmentry.store.campaigns import Entry, Step

__all__ = ["CONDITIONS", "due_at", "next_step", "parse_condition", "parse_time"]

CONDITIONS = ("not_ordered", "in_segment:<segment>")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_time(text: str) -> dt.time:
    """``"10:00"`` → 10:00, refused with the step's words otherwise.

    >>> parse_time("9:30")
    datetime.time(9, 30)
    """
    found = _TIME.match(text.strip())
    try:
        if found is None:
            raise ValueError(text)
        return dt.time(int(found.group(1)), int(found.group(2)))
    except ValueError as e:
        raise CampaignError("The time {text!r} is not written as HH:MM.",
                            code="campaign_time", params={"text": text}) from e


def parse_condition(text: str | None) -> tuple[str, str | None] | None:
    """A step's condition: ``not_ordered`` (no order since entry) or ``in_segment:<key>``
    (a member of that segment on the day).

    >>> parse_condition("in_segment:vip"), parse_condition(None)
    (('in_segment', 'vip'), None)
    """
    if not text:
        return None
    kind, _, argument = text.partition(":")
    if kind == "not_ordered" and not argument:
        return kind, None
    if kind == "in_segment" and argument.strip():
        return kind, argument.strip()
    raise CampaignError(
        "A step's condition {text!r} is not one of {conditions}.",
        code="campaign_condition",
        params={"text": text, "conditions": ", ".join(CONDITIONS)},
    )


def due_at(step: Step, entered_at: dt.datetime, timezone: str) -> dt.datetime:
    """When ``step`` falls due for a customer who entered at ``entered_at`` (UTC, no zone)."""
    if step.at_time is None:
        return entered_at + dt.timedelta(days=step.after_days)
    zone = zoneinfo.ZoneInfo(timezone)
    local_day = entered_at.replace(tzinfo=dt.UTC).astimezone(zone).date()
    day = local_day + dt.timedelta(days=step.after_days)
    local = dt.datetime.combine(day, parse_time(step.at_time), tzinfo=zone)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def next_step(steps: Sequence[Step], entry: Entry,
              timezone: str) -> tuple[Step, dt.datetime, bool] | None:
    """The customer's next step, when it is due, and whether it is their last; None when they
    are past every step."""
    timed = sorted(
        ((due_at(s, entry.entered_at, timezone), i, s) for i, s in enumerate(steps)),
        key=lambda t: (t[0], t[1]),
    )
    names = [s.name for _, _, s in timed]
    last = names.index(entry.last_step) if entry.last_step in names else -1
    ahead = [(due, s) for n, (due, _, s) in enumerate(timed)
             if entry.done_until is None or due > entry.done_until
             or (due == entry.done_until and n > last)]  # due together: in the steps' order
    if not ahead:
        return None
    due, step = ahead[0]
    return step, due, len(ahead) == 1
