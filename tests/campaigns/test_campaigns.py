"""Campaigns against the fake LINE platform (real HTTP, the official SDK) and a real SMTP
server, on each engine: a campaign run twice sends once, held-out customers get nothing and
are recorded, ``on_join`` takes only new joiners, a sequence walks a customer through its steps
over simulated days and lets them go when they order, and a pass interrupted anywhere is
continued without a message twice."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from segmentry.app.campaigns import campaigns as campaigns_module
from segmentry.app.campaigns.campaigns import CampaignDefinition, Campaigns
from segmentry.app.campaigns.holdout import ASSIGNMENT_SCHEMA
from segmentry.app.workspace import Workspace
from segmentry.core.errors import CampaignError
from segmentry.store import outbox as outbox_store
from segmentry.store.campaigns import Step
from segmentry.store.schema import outbox
from segmentry.testing.line import FakeLine
from segmentry.testing.line.platform import user_id

from .conftest import DAY, Clock, Mailbox, email_channel, order, run_day
from .test_holdout import _reference

LINKED_BUYERS = (1, 2, 3)  # c4 is a buyer without LINE


def _once(key: str = "winter", holdout: float = 0.0, **step: object) -> CampaignDefinition:
    values: dict[str, object] = {"name": "news", "after_days": 0, "at_time": None,
                                 "channels": ("line",), "body": "冬のセールのお知らせ"}
    values.update(step)
    return CampaignDefinition(key, "buyers", "once", (Step(**values),),  # type: ignore[arg-type]
                              holdout=holdout)


def _counts(line: FakeLine) -> dict[str, int]:
    return {f"c{n}": line.count(user_id(n)) for n in (1, 2, 3, 5, 6)}


def test_a_campaign_run_twice_sends_once(campaigns: Campaigns, line: FakeLine) -> None:
    campaigns.add(_once())
    first = campaigns.run("winter")
    second = campaigns.run("winter")
    assert _counts(line) == {"c1": 1, "c2": 1, "c3": 1, "c5": 0, "c6": 0}
    assert first[0].entered == {"treated": 4} and first[0].steps == {
        "news": {"treated": 4, "holdout": 0, "passed": 0}}
    (sent,) = first[0].sends
    assert sent.key == f"campaign:winter:news:{DAY}:line"
    assert sent.counts == {"delivered": 3, "skipped": 1} and sent.reasons == {"unlinked": 1}
    assert second[0].entered == {} and second[0].sends == []
    assert line.statuses("multicast") == [200]


def test_held_out_customers_get_nothing_and_are_recorded(
    shop: Workspace, campaigns: Campaigns, line: FakeLine, clock: Clock
) -> None:
    campaigns.add(_once("half", holdout=0.5))
    campaigns.run()
    expected = {f"c{n}": ("holdout" if _reference("half", f"c{n}") < 0.5 else "treated")
                for n in range(1, 5)}
    assert set(expected.values()) == {"treated", "holdout"}  # this key splits the four
    for n in LINKED_BUYERS:
        assert line.count(user_id(n)) == (1 if expected[f"c{n}"] == "treated" else 0)
    table = campaigns.assignments("half")
    assert table.schema == ASSIGNMENT_SCHEMA
    rows = table.to_pylist()
    assert {r["customer_id"]: r["group"] for r in rows} == expected
    assert {(r["campaign"], r["step"], r["start"]) for r in rows} == {
        ("half", "news", clock.now)}
    with shop.state.begin() as conn:
        planned = set(conn.execute(sa.select(outbox.c.customer_id)).scalars())
    assert planned == {c for c, g in expected.items() if g == "treated"}


def test_on_join_takes_only_new_joiners_after_each_run(
    shop: Workspace, campaigns: Campaigns, line: FakeLine, clock: Clock
) -> None:
    campaigns.add(CampaignDefinition("welcome", "buyers", "on_join", (
        Step("thanks", 0, None, ("line",), "{{ customer.honorific_name }}、ありがとう"),)))
    order(shop, "o5", "c5", DAY + dt.timedelta(days=1))
    run = run_day(shop, clock, DAY + dt.timedelta(days=1))
    stage = next(s for s in run.stages if s.stage == "campaigns")
    assert (stage.status, stage.detail) == (
        "succeeded", "1 campaigns advanced, 1 entered, 1 took a step, 1 delivered; "
        "LINE engagement: 1 period(s) read")
    assert _counts(line) == {"c1": 0, "c2": 0, "c3": 0, "c5": 1, "c6": 0}
    assert line.texts(user_id(5)) == ["山田 5号 様、ありがとう"]
    order(shop, "o6", "c6", DAY + dt.timedelta(days=2))
    run_day(shop, clock, DAY + dt.timedelta(days=2))
    run_day(shop, clock, DAY + dt.timedelta(days=2))  # the same day again: nothing twice
    assert _counts(line) == {"c1": 0, "c2": 0, "c3": 0, "c5": 1, "c6": 1}
    assert [e.customer_id for e in campaigns.members("welcome")] == ["c5", "c6"]


def test_a_sequence_walks_a_customer_through_its_steps_and_exits_on_an_order(
    shop: Workspace, campaigns: Campaigns, line: FakeLine, clock: Clock
) -> None:
    campaigns.add(CampaignDefinition("onboarding", "buyers", "on_join", (
        Step("welcome", 0, None, ("line",), "ようこそ"),
        Step("tip", 1, "10:00", ("line",), "使い方のヒント"),
        Step("last", 3, None, ("line",), "最後のご案内"),
    )))
    u5, u6 = user_id(5), user_id(6)
    order(shop, "o5", "c5", DAY + dt.timedelta(days=1))
    order(shop, "o6", "c6", DAY + dt.timedelta(days=1))
    run_day(shop, clock, DAY + dt.timedelta(days=1))  # 12-02 10:00 Tokyo: both enter
    assert line.texts(u5) == ["ようこそ"] and line.texts(u6) == ["ようこそ"]
    run_day(shop, clock, DAY + dt.timedelta(days=2))  # 12-03 10:00 Tokyo: "tip" is due
    assert line.texts(u5) == ["ようこそ", "使い方のヒント"]
    (place,) = campaigns.members("onboarding", customer_id="c5")
    assert (place.last_step, place.status) == ("tip", "active")
    order(shop, "o5b", "c5", DAY + dt.timedelta(days=3))  # c5 orders again: exits
    run_day(shop, clock, DAY + dt.timedelta(days=3))
    run_day(shop, clock, DAY + dt.timedelta(days=4))  # 12-05 10:00: "last" due for c6
    assert line.texts(u5) == ["ようこそ", "使い方のヒント"]
    assert line.texts(u6) == ["ようこそ", "使い方のヒント", "最後のご案内"]
    places = {e.customer_id: (e.status, e.exit_reason, e.last_step)
              for e in campaigns.members("onboarding")}
    assert places == {"c5": ("exited", "ordered", "tip"), "c6": ("finished", None, "last")}
    steps = [(r["customer_id"], r["step"]) for r in campaigns.assignments("onboarding")
             .to_pylist()]
    assert sorted(steps) == [("c5", "tip"), ("c5", "welcome"), ("c6", "last"),
                             ("c6", "tip"), ("c6", "welcome")]


def test_editing_a_running_sequence_keeps_places(
    shop: Workspace, campaigns: Campaigns, line: FakeLine, clock: Clock
) -> None:
    campaigns.add(CampaignDefinition("edit", "buyers", "on_join", (
        Step("welcome", 0, None, ("line",), "ようこそ"),
        Step("tip", 2, None, ("line",), "ヒント"),
    )))
    order(shop, "o5", "c5", DAY + dt.timedelta(days=1))
    run_day(shop, clock, DAY + dt.timedelta(days=1))
    # c5 entered at 10:00 Tokyo and is past "welcome". "before" (00:00 of the entry day) is
    # behind them; "tip" is removed; "after" (due in 1 day) is ahead.
    campaigns.edit_steps("edit", [
        Step("welcome", 0, None, ("line",), "ようこそ（新）"),
        Step("before", 0, "00:00", ("line",), "前"),
        Step("after", 1, None, ("line",), "後"),
    ])
    run_day(shop, clock, DAY + dt.timedelta(days=2))
    run_day(shop, clock, DAY + dt.timedelta(days=3))
    assert line.texts(user_id(5)) == ["ようこそ", "後"]


def test_a_step_condition_lets_customers_pass_without_a_message(
    shop: Workspace, campaigns: Campaigns, line: FakeLine, clock: Clock
) -> None:
    campaigns.add(CampaignDefinition("cond", "buyers", "on_join", (
        Step("welcome", 0, None, ("line",), "ようこそ"),
        Step("nudge", 1, None, ("line",), "まだですか", condition="not_ordered"),
    ), exit_on_order=False))
    order(shop, "o5", "c5", DAY + dt.timedelta(days=1))
    order(shop, "o6", "c6", DAY + dt.timedelta(days=1))
    run_day(shop, clock, DAY + dt.timedelta(days=1))
    order(shop, "o5b", "c5", DAY + dt.timedelta(days=2))
    reports = campaigns.run("cond", dry_run=True)  # nothing due yet at this clock
    assert reports[0].steps == {}
    run_day(shop, clock, DAY + dt.timedelta(days=2))
    assert line.texts(user_id(5)) == ["ようこそ"]
    assert line.texts(user_id(6)) == ["ようこそ", "まだですか"]
    assert {e.customer_id: e.status for e in campaigns.members("cond")} == {
        "c5": "finished", "c6": "finished"}


def test_a_customer_who_leaves_the_segment_exits(
    shop: Workspace, campaigns: Campaigns, line: FakeLine, clock: Clock
) -> None:
    shop.add_segment("one-order", "number_of_orders = 1")
    campaigns.add(CampaignDefinition("single", "one-order", "on_join", (
        Step("welcome", 0, None, ("line",), "ようこそ"),
        Step("later", 2, None, ("line",), "その後"),
    ), exit_on_order=False))
    order(shop, "o5", "c5", DAY + dt.timedelta(days=1))
    run_day(shop, clock, DAY + dt.timedelta(days=1))
    order(shop, "o5b", "c5", DAY + dt.timedelta(days=2))  # two orders: no longer a member
    run_day(shop, clock, DAY + dt.timedelta(days=2))
    (place,) = campaigns.members("single")
    assert (place.status, place.exit_reason) == ("exited", "left_segment")


def test_line_first_then_email(
    shop: Workspace, clock: Clock, line: FakeLine, smtp: tuple[Mailbox, int]
) -> None:
    from .conftest import line_sender

    mailbox, port = smtp
    campaigns = Campaigns(shop, now=clock,
                          channels={"line": line_sender(line), "email": email_channel(port)})
    campaigns.add(_once("both", channels=("line", "email"), subject="お知らせ",
                        body="{{ customer.honorific_name }}へ"))
    (report,) = campaigns.run()
    assert {s.key.rsplit(":", 1)[1]: s.counts for s in report.sends} == {
        "line": {"delivered": 3}, "email": {"delivered": 1}}
    assert [m["To"] for m in mailbox.messages] == ["c4@example.jp"]
    campaigns.run()
    assert len(mailbox.messages) == 1 and line.count(user_id(1)) == 1


def test_a_crash_after_line_took_the_batch_is_continued_once(
    shop: Workspace, campaigns: Campaigns, line: FakeLine
) -> None:
    campaigns.add(_once("crash"))
    with pytest.MonkeyPatch.context() as patch:
        def die(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt  # the process dies right after LINE answered
        patch.setattr(outbox_store, "settle", die)
        with pytest.raises(KeyboardInterrupt):
            campaigns.run("crash")
    (report,) = campaigns.run("crash")
    assert _counts(line) == {"c1": 1, "c2": 1, "c3": 1, "c5": 0, "c6": 0}
    assert line.statuses("multicast") == [200, 409]
    assert report.sends[0].counts == {"delivered": 3, "skipped": 1}


def test_a_crash_between_the_pass_and_the_send_is_continued(
    shop: Workspace, campaigns: Campaigns, line: FakeLine
) -> None:
    campaigns.add(_once("planned"))
    with pytest.MonkeyPatch.context() as patch:
        def die(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt  # after the cohort was stored, before the outbox
        patch.setattr(campaigns_module, "send", die)
        with pytest.raises(KeyboardInterrupt):
            campaigns.run("planned")
    assert _counts(line)["c1"] == 0
    (report,) = campaigns.run("planned")
    assert report.entered == {} and report.sends[0].counts == {"delivered": 3, "skipped": 1}
    assert _counts(line) == {"c1": 1, "c2": 1, "c3": 1, "c5": 0, "c6": 0}


def test_a_paused_campaign_sends_nothing_and_a_dry_run_stores_nothing(
    shop: Workspace, campaigns: Campaigns, line: FakeLine
) -> None:
    campaigns.add(_once("quiet", holdout=0.5))
    (dry,) = campaigns.run(dry_run=True)
    assert sum(dry.entered.values()) == 4 and dry.sends == []
    assert campaigns.members("quiet") == []
    campaigns.pause("quiet")
    assert campaigns.run()[0].note == "paused" and line.statuses("multicast") == []
    campaigns.resume("quiet")
    assert sum(campaigns.run()[0].entered.values()) == 4


def test_definitions_are_checked_before_anything_is_saved(campaigns: Campaigns) -> None:
    bad = [
        (_once(holdout=1.0), "campaign_holdout"),
        (_once(channels=("sms",)), "campaign_steps"),
        (_once(channels=("email",)), "campaign_steps"),  # e-mail needs a subject
        (_once(body="{{ customer.frist_name }}"), "template_unknown_field"),
        (_once(at_time="25:00"), "campaign_time"),
    ]
    for definition, code in bad:
        with pytest.raises(CampaignError if code != "template_unknown_field" else Exception) \
                as caught:
            campaigns.add(definition)
        assert getattr(caught.value, "code", None) == code
    assert campaigns.all() == []
    campaigns.add(_once())
    with pytest.raises(CampaignError) as caught:
        campaigns.add(_once())
    assert caught.value.code == "campaign_exists"
