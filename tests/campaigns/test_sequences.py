"""When steps fall due and which is next — including what editing a running sequence means
for a customer already inside (docs/campaigns.md, "Step sequences")."""

from __future__ import annotations

import datetime as dt

import pytest

from segmentry.app.campaigns.sequences import due_at, next_step, parse_condition
from segmentry.core.errors import CampaignError
from segmentry.store.campaigns import Entry, Step

TZ = "Asia/Tokyo"
ENTERED = dt.datetime(2026, 12, 1, 16, 0)  # 01:00 on 12-02 in Tokyo


def _step(name: str, days: int, at: str | None = None) -> Step:
    return Step(name, days, at, ("line",), name)


def _entry(last: str | None = None, done: dt.datetime | None = None) -> Entry:
    return Entry("c1", "treated", ENTERED, last, done, "active", None)


def test_a_step_at_a_time_of_day_falls_on_the_shops_day() -> None:
    # Entered 01:00 Tokyo on 12-02: "1 day after, at 10:00" is 12-03 10:00 Tokyo = 01:00 UTC.
    assert due_at(_step("a", 1, "10:00"), ENTERED, TZ) == dt.datetime(2026, 12, 3, 1, 0)
    # In UTC's calendar the entry was on 12-01; the shop's day is what counts.
    assert due_at(_step("a", 0, "10:00"), ENTERED, TZ) == dt.datetime(2026, 12, 2, 1, 0)
    assert due_at(_step("b", 2), ENTERED, TZ) == dt.datetime(2026, 12, 3, 16, 0)


def test_the_next_step_is_the_first_due_after_the_customers_place() -> None:
    steps = [_step("welcome", 0), _step("tip", 1, "10:00"), _step("last", 3)]
    found = next_step(steps, _entry(), TZ)
    assert found is not None and (found[0].name, found[2]) == ("welcome", False)
    found = next_step(steps, _entry("tip", dt.datetime(2026, 12, 3, 1, 0)), TZ)
    assert found is not None and (found[0].name, found[1], found[2]) == (
        "last", dt.datetime(2026, 12, 4, 16, 0), True)
    assert next_step(steps, _entry("last", dt.datetime(2026, 12, 4, 16, 0)), TZ) is None


def test_editing_keeps_the_customers_place() -> None:
    """Past "tip" (due 12-03 01:00): a removed step is gone, a step inserted before their
    place is skipped, one after it applies."""
    place = _entry("tip", dt.datetime(2026, 12, 3, 1, 0))
    edited = [_step("welcome", 0), _step("early", 1, "09:00"),  # before the place: skipped
              _step("tip", 1, "10:00"), _step("extra", 2), _step("last", 3)]
    found = next_step(edited, place, TZ)
    assert found is not None and found[0].name == "extra"
    without_extra_and_last = [_step("welcome", 0), _step("tip", 1, "10:00")]
    assert next_step(without_extra_and_last, place, TZ) is None  # nothing left: finished


def test_steps_due_at_the_same_moment_are_taken_in_order() -> None:
    steps = [_step("a", 1), _step("b", 1)]
    first = next_step(steps, _entry(), TZ)
    assert first is not None and first[0].name == "a"
    second = next_step(steps, _entry("a", first[1]), TZ)
    assert second is not None and second[0].name == "b" and second[2]


def test_conditions_are_checked() -> None:
    assert parse_condition("not_ordered") == ("not_ordered", None)
    with pytest.raises(CampaignError) as caught:
        parse_condition("ordered_twice")
    assert caught.value.code == "campaign_condition"
