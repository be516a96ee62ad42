"""A rich menu per segment (``[[line.rich_menus]]``): after each run, every LINE-linked member
of a listed segment has that segment's menu, and a customer who left every listed segment has
segmentry's menu unlinked (LINE shows the account's default menu again).

The state store records what segmentry linked (:mod:`segmentry.store.rich_menu_links`); each
run compares it with what the members on the run's day should have and makes only the calls
for the difference, in bulk (up to 500 users a call), recording each call's users once LINE
accepted it. So a day run again, or a member who stays, costs no call, and a run stopped half-
way (LINE unreachable) goes on from there. A customer in several listed segments gets the menu
listed first. Users segmentry never linked are never touched.

NOTE: LINE links in bulk in the background (202) and does not say per user what became of it:
a user who is not (or no longer) a friend of the account is skipped by LINE, yet recorded here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import ibis
import sqlalchemy as sa
from ibis.backends import BaseBackend

from segmentry.activation.line.client import MAX_MULTICAST, LineClient
from segmentry.activation.line.retrying import Outcome
from segmentry.analytics.membership import members_as_of
from segmentry.core.clock import utcnow
from segmentry.core.config import RichMenuSettings
from segmentry.core.errors import ConfigError, LineError
from segmentry.store import rich_menu_links, segment_records
from segmentry.store.rich_menu_links import Link

__all__ = ["RichMenuReport", "line_users", "sync_rich_menus"]

_T = TypeVar("_T")


@dataclass
class RichMenuReport:
    linked: int = 0
    unlinked: int = 0
    refused: list[tuple[str, int, str]] = field(default_factory=list)  # menu, users, reason

    def detail(self) -> str:
        return f"{self.linked} rich menus linked, {self.unlinked} unlinked"


def line_users(con: BaseBackend, membership_key: str, day: dt.date) -> dict[str, str]:
    """Customer id → LINE user id of the members under ``membership_key`` on ``day`` who have
    one.

    NOTE: reads ``customers.line_user_id``; when the identity links get their own table, this
    is the one place to change.
    """
    members = members_as_of(con, membership_key, day)
    customers = con.table("customers")
    linked = customers.filter(customers.line_user_id.notnull()
                              & (customers.line_user_id.strip() != ibis.literal("")))
    rows = members.join(linked.select("customer_id", "line_user_id"), "customer_id")
    table = con.to_pyarrow(rows.select("customer_id", "line_user_id"))
    return {r["customer_id"]: r["line_user_id"].strip() for r in table.to_pylist()}


def sync_rich_menus(state: sa.Engine, warehouse: BaseBackend, client: LineClient,
                    menus: Sequence[RichMenuSettings], day: dt.date, *,
                    now: Callable[[], dt.datetime] = utcnow) -> RichMenuReport:
    """Link and unlink so that the members on ``day`` have their segment's menu (see the module
    docstring). Raises :class:`LineError` when LINE refused a call (the others are made)."""
    with state.connect() as conn:
        recorded = rich_menu_links.links(conn)
        wanted = _wanted(conn, warehouse, menus, day, recorded)
    report = RichMenuReport()
    stale = sorted(u for u in recorded if u not in wanted)
    for chunk in _chunks(stale):
        if _accepted(report, "", chunk, client.unlink_rich_menu_bulk(chunk)):
            with state.begin() as conn:
                rich_menu_links.unlinked(conn, chunk)
            report.unlinked += len(chunk)
    moved = [link for user, link in sorted(wanted.items()) if recorded.get(user) != link]
    calls = [link for link in moved if _menu(recorded.get(link.user_id)) != link.rich_menu_id]
    with state.begin() as conn:  # same menu, another segment: only the record changes
        rich_menu_links.linked(conn, [link for link in moved if link not in calls], at=now())
    for menu in dict.fromkeys(link.rich_menu_id for link in calls):
        for chunk_links in _chunks([link for link in calls if link.rich_menu_id == menu]):
            users = [link.user_id for link in chunk_links]
            if _accepted(report, menu, users, client.link_rich_menu_bulk(menu, users)):
                with state.begin() as conn:
                    rich_menu_links.linked(conn, chunk_links, at=now())
                report.linked += len(users)
    if report.refused:
        menu, count, reason = report.refused[0]
        raise LineError(
            "LINE refused to change the rich menu of {users} users ({menu}): {reason}",
            code="line_rich_menu_refused",
            hint="Check that the rich menu ids in [[line.rich_menus]] exist in the LINE "
            "account. The other changes were made; the refused ones are tried after the next run.",
            params={"users": count, "menu": menu or "unlink", "reason": reason})
    return report


def _wanted(conn: sa.Connection, warehouse: BaseBackend, menus: Sequence[RichMenuSettings],
            day: dt.date, recorded: Mapping[str, Link]) -> dict[str, Link]:
    """LINE user id → the link they should have: the first listed segment they are in."""
    segments = {s.name: s for s in segment_records.all_segments(conn)}
    unknown = [m.segment for m in menus if m.segment not in segments]
    if unknown:
        raise ConfigError(
            "[[line.rich_menus]] names segments there are not: {segments}.",
            code="rich_menu_unknown_segment",
            hint="Use the keys of segments there are, or remove the entries.",
            params={"segments": ", ".join(unknown)})
    wanted: dict[str, Link] = {}
    for menu in menus:
        key = segments[menu.segment].membership_key
        if key is None:  # not computed yet: keep what it had
            for link in recorded.values():
                if link.segment == menu.segment:
                    wanted.setdefault(link.user_id, link)
            continue
        for customer, user in sorted(line_users(warehouse, key, day).items()):
            wanted.setdefault(user, Link(user, customer, menu.segment, menu.rich_menu_id))
    return wanted


def _accepted(report: RichMenuReport, menu: str, users: Sequence[str], outcome: Outcome) -> bool:
    if not outcome.ok:
        reason = "; ".join([outcome.reason or "", *outcome.details]).strip("; ")
        report.refused.append((menu, len(users), reason))
    return outcome.ok


def _menu(link: Link | None) -> str | None:
    return None if link is None else link.rich_menu_id


def _chunks(items: Sequence[_T]) -> list[list[_T]]:
    return [list(items[i:i + MAX_MULTICAST]) for i in range(0, len(items), MAX_MULTICAST)]
