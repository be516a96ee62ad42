"""Campaigns and each customer's place in them (``campaigns``, ``campaign_steps``,
``campaign_entries``, ``campaign_cohorts``, ``campaign_assignments``): the repository the
campaign service (:mod:`segmentry.app.campaigns`) keeps its state in.

Every function takes the caller's :class:`~sqlalchemy.Connection`: the caller decides what
commits together (a pass enters, advances and assigns customers in one transaction).

>>> import datetime as dt
>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")
>>> at = dt.datetime(2026, 12, 6, 9)
>>> with engine.begin() as conn:
...     cid = create(conn, NewCampaign("welcome", "first", "on_join", holdout=0.1,
...                                    since_day=at.date()), at=at)
...     save_steps(conn, cid, [Step("thanks", 0, None, ("line",), "ありがとう")])
...     first = enter(conn, cid, [("c1", "treated"), ("c2", "holdout")], at=at)
...     again = enter(conn, cid, [("c1", "holdout")], at=at)  # inside already: kept as it was
...     first, again, [(e.customer_id, e.group) for e in entries(conn, cid)]
(2, 0, [('c1', 'treated'), ('c2', 'holdout')])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from segmentry.core.memory import collector_paused
from segmentry.store.coupons import Coupon
from segmentry.store.schema import (
    campaign_assignments,
    campaign_cohorts,
    campaign_entries,
    campaign_steps,
    campaigns,
    outbox,
    sends,
)

__all__ = [
    "Assignment",
    "Campaign",
    "Cohort",
    "Entry",
    "NewCampaign",
    "Step",
    "advance",
    "all_campaigns",
    "assign",
    "assignments",
    "cohort_members",
    "cohorts_on",
    "create",
    "create_cohort",
    "enter",
    "entered",
    "entries",
    "exit_entries",
    "find",
    "finish",
    "mark_sent",
    "places",
    "planned_customers",
    "save_steps",
    "set_status",
    "set_through_day",
    "steps",
    "unsent_cohorts",
]


@dataclass(frozen=True)
class NewCampaign:
    key: str
    segment: str
    schedule: str  # once, on_join
    since_day: dt.date
    start_at: dt.datetime | None = None
    holdout: float = 0.0
    language: str = "ja"
    exit_on_order: bool = True


@dataclass(frozen=True)
class Campaign:
    id: int
    key: str
    segment: str
    schedule: str
    start_at: dt.datetime | None
    holdout: float
    language: str
    exit_on_order: bool
    status: str
    since_day: dt.date
    through_day: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class Step:
    """One step: due ``after_days`` after entry (at ``at_time`` shop time, else at the time of
    entry), sent on the first of ``channels`` that reaches the customer."""

    name: str
    after_days: int
    at_time: str | None
    channels: tuple[str, ...]
    body: str
    subject: str | None = None
    html: str | None = None
    flex: str | None = None
    condition: str | None = None  # not_ordered, in_segment:<key>
    removed: bool = False
    coupon: Coupon | None = None  # a Shopify coupon for each recipient ({{ coupon }})


@dataclass(frozen=True)
class Entry:
    customer_id: str
    group: str  # treated, holdout
    entered_at: dt.datetime
    last_step: str | None
    done_until: dt.datetime | None
    status: str  # active, finished, exited
    exit_reason: str | None


@dataclass(frozen=True)
class Cohort:
    id: int
    step: str
    day: dt.date
    send_key: str
    start_at: dt.datetime
    sent_at: dt.datetime | None


@dataclass(frozen=True)
class Assignment:
    campaign: str
    step: str
    customer_id: str
    group: str
    start_at: dt.datetime


# ------------------------------------------------------------------ campaigns


def create(conn: sa.Connection, new: NewCampaign, *, at: dt.datetime) -> int:
    """A new, active campaign (its ``key`` must be new: :func:`find` first)."""
    result = conn.execute(campaigns.insert().values(
        key=new.key, segment=new.segment, schedule=new.schedule, start_at=new.start_at,
        holdout=new.holdout, language=new.language, exit_on_order=new.exit_on_order,
        status="active", since_day=new.since_day, through_day=None, created_at=at,
        updated_at=at,
    ))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def find(conn: sa.Connection, key: str) -> Campaign | None:
    row = conn.execute(sa.select(campaigns).where(campaigns.c.key == key)).mappings().first()
    return None if row is None else Campaign(**row)


def all_campaigns(conn: sa.Connection) -> list[Campaign]:
    rows = conn.execute(sa.select(campaigns).order_by(campaigns.c.id)).mappings()
    return [Campaign(**row) for row in rows]


def set_status(conn: sa.Connection, campaign_id: int, status: str, *, at: dt.datetime) -> None:
    conn.execute(campaigns.update().where(campaigns.c.id == campaign_id)
                 .values(status=status, updated_at=at))


def set_through_day(conn: sa.Connection, campaign_id: int, day: dt.date) -> None:
    conn.execute(campaigns.update().where(campaigns.c.id == campaign_id)
                 .values(through_day=day))


# ------------------------------------------------------------------ steps


def steps(conn: sa.Connection, campaign_id: int, *, removed: bool = False) -> list[Step]:
    """The campaign's steps in the order they fall due (removed ones only when asked)."""
    query = sa.select(campaign_steps).where(campaign_steps.c.campaign_id == campaign_id)
    if not removed:
        query = query.where(campaign_steps.c.removed == sa.false())
    query = query.order_by(campaign_steps.c.after_days,
                           sa.func.coalesce(campaign_steps.c.at_time, ""), campaign_steps.c.id)
    return [_step(row) for row in conn.execute(query).mappings()]


def save_steps(conn: sa.Connection, campaign_id: int, new: Sequence[Step]) -> None:
    """Make ``new`` the campaign's steps: a step of the same name is changed in place, a new
    name added, a name no longer listed marked removed (its row stays for what it sent)."""
    existing = {s.name for s in steps(conn, campaign_id, removed=True)}
    for step in new:
        values = {"after_days": step.after_days, "at_time": step.at_time,
                  "channels": ",".join(step.channels), "body": step.body,
                  "subject": step.subject, "html": step.html, "flex": step.flex,
                  "condition": step.condition, "removed": False,
                  "coupon": None if step.coupon is None else step.coupon.to_json()}
        if step.name in existing:
            conn.execute(campaign_steps.update().where(
                campaign_steps.c.campaign_id == campaign_id, campaign_steps.c.name == step.name,
            ).values(**values))
        else:
            conn.execute(campaign_steps.insert().values(campaign_id=campaign_id, name=step.name,
                                                        **values))
    kept = [s.name for s in new]
    conn.execute(campaign_steps.update().where(
        campaign_steps.c.campaign_id == campaign_id, campaign_steps.c.name.not_in(kept),
    ).values(removed=True))


def _step(row: sa.RowMapping) -> Step:
    return Step(row["name"], row["after_days"], row["at_time"],
                tuple(c for c in row["channels"].split(",") if c), row["body"], row["subject"],
                row["html"], row["flex"], row["condition"], bool(row["removed"]),
                Coupon.from_json(row["coupon"]))


# ------------------------------------------------------------------ entries


def enter(conn: sa.Connection, campaign_id: int, rows: Iterable[tuple[str, str]], *,
          at: dt.datetime) -> int:
    """Customers ``(customer id, group)`` entering the campaign at ``at``; one already inside
    (or who has been: a customer enters a campaign once) is left as it was. How many entered."""
    wanted = dict(rows)
    if not wanted:
        return 0
    inside = entered(conn, campaign_id, list(wanted))
    new = [{"campaign_id": campaign_id, "customer_id": c, "group": g, "entered_at": at,
            "last_step": None, "done_until": None, "status": "active", "exit_reason": None,
            "updated_at": at} for c, g in wanted.items() if c not in inside]
    for start in range(0, len(new), 1000):
        conn.execute(campaign_entries.insert(), new[start:start + 1000])
    return len(new)


def entered(conn: sa.Connection, campaign_id: int, customers: Sequence[str]) -> set[str]:
    """Those of ``customers`` who have entered the campaign (whatever their status now)."""
    inside: set[str] = set()
    for chunk in _chunks(customers):
        inside.update(conn.execute(sa.select(campaign_entries.c.customer_id).where(
            campaign_entries.c.campaign_id == campaign_id,
            campaign_entries.c.customer_id.in_(chunk))).scalars())
    return inside


def entries(conn: sa.Connection, campaign_id: int, *, status: str | None = None,
            customer_id: str | None = None) -> list[Entry]:
    """The campaign's entries by customer id (of one status, or one customer)."""
    query = sa.select(*_ENTRY_COLUMNS).where(campaign_entries.c.campaign_id == campaign_id)
    if status is not None:
        query = query.where(campaign_entries.c.status == status)
    if customer_id is not None:
        query = query.where(campaign_entries.c.customer_id == customer_id)
    rows = conn.execute(query.order_by(campaign_entries.c.customer_id)).mappings()
    return [Entry(**row) for row in rows]


def exit_entries(conn: sa.Connection, campaign_id: int, customers: Sequence[str], reason: str,
                 *, at: dt.datetime) -> None:
    """Active customers leaving the campaign early (``ordered``, ``left_segment``,
    ``unsubscribed``)."""
    for chunk in _chunks(customers):
        conn.execute(campaign_entries.update().where(
            campaign_entries.c.campaign_id == campaign_id,
            campaign_entries.c.customer_id.in_(chunk),
            campaign_entries.c.status == "active",
        ).values(status="exited", exit_reason=reason, updated_at=at))


def advance(conn: sa.Connection, campaign_id: int, step: str,
            rows: Sequence[tuple[str, dt.datetime, bool]], *, at: dt.datetime) -> None:
    """Customers past ``step``: ``(customer id, when the step was due for them, whether it
    was their last)``."""
    if not rows:
        return
    statement = campaign_entries.update().where(
        campaign_entries.c.campaign_id == campaign_id,
        campaign_entries.c.customer_id == sa.bindparam("b_customer"),
    ).values(last_step=step, done_until=sa.bindparam("b_due"), status=sa.bindparam("b_status"),
             updated_at=at)
    conn.execute(statement, [{"b_customer": c, "b_due": due,
                              "b_status": "finished" if last else "active"}
                             for c, due, last in rows])


def finish(conn: sa.Connection, campaign_id: int, customers: Sequence[str], *,
           at: dt.datetime) -> None:
    """Active customers with no step left (every step ahead of them was removed)."""
    for chunk in _chunks(customers):
        conn.execute(campaign_entries.update().where(
            campaign_entries.c.campaign_id == campaign_id,
            campaign_entries.c.customer_id.in_(chunk),
            campaign_entries.c.status == "active").values(status="finished", updated_at=at))


def places(conn: sa.Connection, campaign_id: int) -> dict[tuple[str, str | None], int]:
    """How many customers per (status, last step passed) — where everyone is."""
    query = (sa.select(campaign_entries.c.status, campaign_entries.c.last_step, sa.func.count())
             .where(campaign_entries.c.campaign_id == campaign_id)
             .group_by(campaign_entries.c.status, campaign_entries.c.last_step))
    return {(status, step): int(n) for status, step, n in conn.execute(query).all()}


# ------------------------------------------------------------------ cohorts and assignments


def cohorts_on(conn: sa.Connection, campaign_id: int, step: str, day: dt.date) -> int:
    """How many cohorts the step already has on ``day`` (names the next one's send key)."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(campaign_cohorts).where(
        campaign_cohorts.c.campaign_id == campaign_id, campaign_cohorts.c.step == step,
        campaign_cohorts.c.day == day)).scalar_one())


def create_cohort(conn: sa.Connection, campaign_id: int, step: str, day: dt.date,
                  send_key: str, start_at: dt.datetime, *, at: dt.datetime) -> int:
    result = conn.execute(campaign_cohorts.insert().values(
        campaign_id=campaign_id, step=step, day=day, send_key=send_key, start_at=start_at,
        created_at=at, sent_at=None))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def assign(conn: sa.Connection, campaign_id: int, step: str, cohort_id: int,
           rows: Sequence[tuple[str, str]], start_at: dt.datetime) -> None:
    """Customers ``(customer id, group)`` taking ``step`` in the cohort from ``start_at``."""
    values = [{"campaign_id": campaign_id, "step": step, "customer_id": c, "cohort_id": cohort_id,
               "group": g, "start_at": start_at} for c, g in rows]
    for start in range(0, len(values), 1000):
        conn.execute(campaign_assignments.insert(), values[start:start + 1000])


def unsent_cohorts(conn: sa.Connection, campaign_id: int) -> list[Cohort]:
    """Cohorts whose treated members' sends were not yet handed to the outbox, oldest first."""
    query = (sa.select(*_COHORT_COLUMNS)
             .where(campaign_cohorts.c.campaign_id == campaign_id,
                    campaign_cohorts.c.sent_at.is_(None))
             .order_by(campaign_cohorts.c.id))
    return [Cohort(**row) for row in conn.execute(query).mappings()]


def cohort_members(conn: sa.Connection, cohort_id: int, group: str = "treated") -> list[str]:
    query = (sa.select(campaign_assignments.c.customer_id)
             .where(campaign_assignments.c.cohort_id == cohort_id,
                    campaign_assignments.c.group == group)
             .order_by(campaign_assignments.c.customer_id))
    return list(conn.execute(query).scalars())


def planned_customers(conn: sa.Connection, send_key: str) -> set[str]:
    """The customers the send named ``send_key`` planned a row for (none: no such send)."""
    query = (sa.select(outbox.c.customer_id).join(sends, sends.c.id == outbox.c.send_id)
             .where(sends.c.key == send_key))
    return set(conn.execute(query).scalars())


def mark_sent(conn: sa.Connection, cohort_id: int, *, at: dt.datetime) -> None:
    conn.execute(campaign_cohorts.update().where(campaign_cohorts.c.id == cohort_id)
                 .values(sent_at=at))


def assignments(conn: sa.Connection, campaign_id: int | None = None,
                step: str | None = None) -> list[Assignment]:
    """Who took which step, treated or held out, from when (every campaign, or one)."""
    return [Assignment(*row) for row in conn.execute(_assignments_query(campaign_id, step))]


def assignment_columns(conn: sa.Connection, campaign_id: int | None = None,
                       step: str | None = None) -> dict[str, pa.Array]:
    """:func:`assignments` as Arrow columns (``campaign``, ``step``, ``customer_id``,
    ``group``, ``start_at``) in no order, for a report that reads a million of them: the
    driver's rows as they come, without SQLAlchemy's object and conversion per row, nor the
    database's sort (18 s of reading 1.1 million). SQLite keeps timestamps as SQLAlchemy's
    text (``2026-11-01 00:00:00.000000``), which Arrow reads in one cast; PostgreSQL's
    driver gives them as datetimes already."""
    query = _assignments_query(campaign_id, step).order_by(None)  # the caller sorts
    compiled = query.compile(dialect=conn.dialect)
    params: Any = (tuple(compiled.params[name] for name in compiled.positiontup or ())
                   if compiled.positional else compiled.params)
    names = ["campaign", "step", "customer_id", "group", "start_at"]
    columns: list[list[Any]] = [[] for _ in names]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with collector_paused():  # see segmentry.core.memory
            cursor.execute(str(compiled), params)
            while chunk := cursor.fetchmany(50_000):
                for column, values in zip(columns, zip(*chunk, strict=True), strict=True):
                    column.extend(values)
            arrays = {name: pa.array(values, pa.string())
                      for name, values in zip(names[:4], columns, strict=False)}
            arrays["start_at"] = pa.array(columns[4]).cast(pa.timestamp("us"))
    finally:
        cursor.close()
    return arrays


def treated_count(conn: sa.Connection, campaign_id: int, step: str) -> int:
    """How many customers took ``step`` of the campaign treated (not held out)."""
    query = (sa.select(sa.func.count(sa.distinct(campaign_assignments.c.customer_id)))
             .where(campaign_assignments.c.campaign_id == campaign_id,
                    campaign_assignments.c.step == step,
                    campaign_assignments.c.group == "treated"))
    return int(conn.execute(query).scalar_one())


def _assignments_query(campaign_id: int | None, step: str | None) -> sa.Select[Any]:
    query = (sa.select(campaigns.c.key.label("campaign"), campaign_assignments.c.step,
                       campaign_assignments.c.customer_id, campaign_assignments.c.group,
                       campaign_assignments.c.start_at)
             .join(campaigns, campaigns.c.id == campaign_assignments.c.campaign_id))
    if campaign_id is not None:
        query = query.where(campaign_assignments.c.campaign_id == campaign_id)
    if step is not None:
        query = query.where(campaign_assignments.c.step == step)
    return query.order_by(campaigns.c.key, campaign_assignments.c.step,
                          campaign_assignments.c.customer_id)


_ENTRY_COLUMNS = (
    campaign_entries.c.customer_id, campaign_entries.c.group, campaign_entries.c.entered_at,
    campaign_entries.c.last_step, campaign_entries.c.done_until, campaign_entries.c.status,
    campaign_entries.c.exit_reason,
)
_COHORT_COLUMNS = (
    campaign_cohorts.c.id, campaign_cohorts.c.step, campaign_cohorts.c.day,
    campaign_cohorts.c.send_key, campaign_cohorts.c.start_at, campaign_cohorts.c.sent_at,
)


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
