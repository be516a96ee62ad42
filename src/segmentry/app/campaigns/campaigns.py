"""Campaigns: a segment's members walked through steps — one message or a sequence — with a
holdout, through the outbox of :mod:`segmentry.app.messaging`.

A campaign is a segment × a schedule × steps. ``once``: everyone in the segment at
``start_at`` enters; ``on_join``: every customer who newly joins the segment enters after the
daily run that saw the join. Each step is a message (a template) on the first of its channels
that reaches the customer, due some days after entry (:mod:`.sequences`). A share of the
entrants (``holdout``) is held out (:mod:`.holdout`): they walk through the same steps and
exits, and are recorded, but nothing is sent to them.

A **pass** (after every daily run, or :meth:`Campaigns.run`) does, per active campaign:

1. **enter** the newcomers (once each, ever), each in their group;
2. **exit** those inside who ordered since entry (``exit_on_order``), left the segment, or
   opted out of every channel of the campaign (e-mail unsubscribed, LINE blocked);
3. **step**: everyone whose next step is due takes it (at most one step a pass) unless the
   step's condition fails for them (they pass it without a message). Those who take it form a
   *cohort*, recorded with its treated and held-out members, the start moment, and the send
   key ``campaign:<key>:<step>:<day>`` (``#2``… for later cohorts of the same day) — in one
   transaction with the entries' new places;
4. **send** every cohort not yet handed on: one outbox send per channel
   (``<send key>:<channel>``) to its treated members. A rerun finds those keys and delivers
   what is left: a campaign run twice never sends twice, and a crash anywhere is continued.

In Python::

    c = Campaigns(workspace)
    c.add(CampaignDefinition("welcome", "first-buyers", "on_join",
                             (Step("thanks", 0, None, ("line", "email"), "…"),), holdout=0.1))
    c.run()                      # a pass over every active campaign, now
    c.members("welcome")         # each customer's place
    c.assignments("welcome")     # (campaign, step, customer_id, group, start): the measurement
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import ibis
import pyarrow as pa

from segmentry.analytics.membership import members_as_of, stretches
from segmentry.app.campaigns.coupons import check_coupon
from segmentry.app.campaigns.holdout import assignments_table, group_of
from segmentry.app.campaigns.sequences import next_step, parse_condition, parse_time
from segmentry.app.messaging.audience import Member, members_of
from segmentry.app.messaging.rules import parse_quiet_hours
from segmentry.app.messaging.sending import Channel, SendReport, SendRequest, send
from segmentry.app.messaging.service import CHANNELS, Messaging
from segmentry.app.messaging.templates import compile_template
from segmentry.app.plugins import coupon_codes
from segmentry.app.segments import Segment, SegmentBook
from segmentry.core.clock import utcnow
from segmentry.core.context import Context
from segmentry.core.crash_points import crash_point
from segmentry.core.errors import CampaignError, SegmentryError, or_list
from segmentry.store import campaigns as store
from segmentry.store import unsubscriptions
from segmentry.store.campaigns import Campaign, Cohort, Entry, NewCampaign, Step

__all__ = ["SCHEDULES", "CampaignDefinition", "CampaignView", "Campaigns", "PassReport"]

SCHEDULES = ("once", "on_join")
# Names a step's template may use beyond the customer's fields, per channel.
_CHANNEL_FIELDS = {"line": frozenset(), "email": frozenset({"unsubscribe_url"})}


@dataclass(frozen=True)
class CampaignDefinition:
    """What :meth:`Campaigns.add` takes (and a TOML file's ``[[campaigns]]`` holds)."""

    key: str
    segment: str
    schedule: str  # once, on_join
    steps: tuple[Step, ...]
    start_at: dt.datetime | None = None  # once: when (UTC); default: now
    holdout: float = 0.0
    language: str = "ja"
    exit_on_order: bool = True


@dataclass(frozen=True)
class CampaignView:
    """A campaign with its steps, where its customers are, and its groups' sizes."""

    campaign: Campaign
    steps: list[Step]
    places: dict[tuple[str, str | None], int]
    groups: dict[str, int]
    waiting: int  # cohorts not yet handed to the outbox (a channel down, the quota)


@dataclass
class PassReport:
    """What one pass did to one campaign (or would do: a dry run)."""

    campaign: str
    day: dt.date | None = None
    entered: dict[str, int] = field(default_factory=dict)  # group → customers
    exited: dict[str, int] = field(default_factory=dict)  # reason → customers
    steps: dict[str, dict[str, int]] = field(default_factory=dict)  # step → treated/holdout/passed
    finished: int = 0
    sends: list[SendReport] = field(default_factory=list)
    note: str = ""  # paused, not_computed


@dataclass
class _Pass:
    """A pass worked out before anything is stored."""

    campaign: Campaign
    segment: Segment
    day: dt.date
    now: dt.datetime
    start_at: dt.datetime
    entering: list[tuple[str, str]] = field(default_factory=list)
    exits: dict[str, list[str]] = field(default_factory=dict)
    # step → [(entry, due, last, takes)]
    taking: dict[str, list[tuple[Entry, dt.datetime, bool, bool]]] = field(default_factory=dict)
    finished: list[str] = field(default_factory=list)


class Campaigns:
    """The campaign service (see the module docstring). ``channels`` replaces the configured
    ones (tests hand in senders pointed at fake platforms)."""

    def __init__(self, context: Context, *, now: Callable[[], dt.datetime] = utcnow,
                 channels: Mapping[str, Channel] | None = None) -> None:
        self.context = context
        self.now = now
        self._channels = dict(channels) if channels is not None else None
        self._messaging = Messaging(context, now=now)

    # ------------------------------------------------------------ definitions

    def add(self, definition: CampaignDefinition) -> Campaign:
        """Save a new campaign (checked whole first: segment, schedule, steps, templates)."""
        segment = self._check(definition)
        now = self.now()
        with self.context.state.begin() as conn:
            if store.find(conn, definition.key) is not None:
                raise CampaignError("There is already a campaign named {key!r}.",
                                    code="campaign_exists", params={"key": definition.key})
            since = segment.computed_through or now.date()
            start = (definition.start_at or now) if definition.schedule == "once" else None
            campaign_id = store.create(conn, NewCampaign(
                definition.key, segment.name, definition.schedule, since, start,
                definition.holdout, definition.language, definition.exit_on_order), at=now)
            store.save_steps(conn, campaign_id, definition.steps)
        return self.get(definition.key)

    def edit_steps(self, key: str, steps: Sequence[Step]) -> Campaign:
        """Replace a campaign's steps; customers inside keep their place (see
        :mod:`.sequences` for what an edit means to them)."""
        campaign = self.get(key)
        self._check_steps(steps)
        with self.context.state.begin() as conn:
            store.save_steps(conn, campaign.id, steps)
        return campaign

    def get(self, key: str) -> Campaign:
        with self.context.state.begin() as conn:
            found = store.find(conn, key)
        if found is None:
            raise CampaignError("There is no campaign named {key!r}.", code="unknown_campaign",
                                params={"key": key})
        return found

    def all(self) -> list[Campaign]:
        """Every campaign, oldest first."""
        with self.context.state.begin() as conn:
            return store.all_campaigns(conn)

    def show(self, key: str) -> CampaignView:
        campaign = self.get(key)
        with self.context.state.begin() as conn:
            steps = store.steps(conn, campaign.id)
            places = store.places(conn, campaign.id)
            entries = store.entries(conn, campaign.id)
            waiting = len(store.unsent_cohorts(conn, campaign.id))
        groups: dict[str, int] = {}
        for entry in entries:
            groups[entry.group] = groups.get(entry.group, 0) + 1
        return CampaignView(campaign, steps, places, groups, waiting)

    def pause(self, key: str) -> Campaign:
        """Nobody enters and nothing is sent until :meth:`resume`."""
        campaign = self.get(key)
        with self.context.state.begin() as conn:
            store.set_status(conn, campaign.id, "paused", at=self.now())
        return self.get(key)

    def resume(self, key: str) -> Campaign:
        """Active again: customers inside go on from their place (steps due meanwhile go out
        at the next pass); an ``on_join`` campaign takes the joins after the resume only."""
        campaign = self.get(key)
        segment = SegmentBook(self.context).get(campaign.segment)
        with self.context.state.begin() as conn:
            store.set_status(conn, campaign.id, "active", at=self.now())
            if campaign.schedule == "on_join" and segment.computed_through is not None:
                store.set_through_day(conn, campaign.id, segment.computed_through)
        return self.get(key)

    def members(self, key: str, *, status: str | None = None,
                customer_id: str | None = None) -> list[Entry]:
        """Each customer's place: group, entry, last step passed, status, why they left."""
        campaign = self.get(key)
        with self.context.state.begin() as conn:
            return store.entries(conn, campaign.id, status=status, customer_id=customer_id)

    def assignments(self, key: str | None = None, step: str | None = None, *,
                    ordered: bool = True) -> pa.Table:
        """``(campaign, step, customer_id, group, start)``: see
        :func:`~segmentry.app.campaigns.holdout.assignments_table`."""
        return assignments_table(self.context, None if key is None else self.get(key), step,
                                 ordered=ordered)

    # ------------------------------------------------------------ passes

    def run(self, key: str | None = None, *, dry_run: bool = False,
            locked: bool = False) -> list[PassReport]:
        """A pass over one campaign or every one, now. ``dry_run``: what it would do, nothing
        stored or sent. ``locked``: the caller holds the workspace lock (the daily run)."""
        chosen = [self.get(key)] if key is not None else self.all()
        if dry_run:
            return [self._report(self._plan(c)) if c.status == "active"
                    else PassReport(c.key, note="paused") for c in chosen]
        if locked:
            return self._run_all(chosen)
        with self.context.lock("campaigns run"):
            return self._run_all(chosen)

    def _run_all(self, chosen: list[Campaign]) -> list[PassReport]:
        """Each campaign in turn; one that fails (a channel not set up, the quota) does not
        stop the others, and the first failure is raised at the end."""
        reports, failure = [], None
        for campaign in chosen:
            try:
                reports.append(self._run_one(campaign))
            except SegmentryError as e:
                failure = failure or e
        if failure is not None:
            raise failure
        return reports

    def _run_one(self, campaign: Campaign) -> PassReport:
        if campaign.status != "active":
            return PassReport(campaign.key, note="paused")
        planned = self._plan(campaign)
        report = self._report(planned)
        if planned.day is not None and report.note == "":
            self._apply(planned)
            crash_point("campaign-pass-stored")
        report.sends = self._send_cohorts(campaign)
        return report

    def _plan(self, campaign: Campaign) -> _Pass:
        segment = SegmentBook(self.context).get(campaign.segment)
        now = self.now()
        planned = _Pass(campaign, segment, segment.computed_through or now.date(), now,
                        self._start_at(now))
        if segment.computed_through is None or segment.membership_key is None:
            return planned
        with self.context.state.begin() as conn:
            steps = store.steps(conn, campaign.id)
            active = store.entries(conn, campaign.id, status="active")
            newcomers = self._newcomers(campaign, segment, now)
            inside = store.entered(conn, campaign.id, newcomers)
        planned.entering = [(c, group_of(campaign.key, c, campaign.holdout))
                            for c in newcomers if c not in inside]
        planned.exits = self._exits(campaign, segment, active, steps)
        gone = {c for customers in planned.exits.values() for c in customers}
        walking = [e for e in active if e.customer_id not in gone] + [
            Entry(c, g, now, None, None, "active", None) for c, g in planned.entering]
        self._steps(planned, walking, steps)
        return planned

    def _newcomers(self, campaign: Campaign, segment: Segment, now: dt.datetime) -> list[str]:
        """Who enters now: the segment's members (``once``, at its start, one time), or who
        joined it on a day after the last one taken (``on_join``) and is still a member."""
        assert segment.membership_key is not None and segment.computed_through is not None
        day, con = segment.computed_through, self.context.warehouse
        members = members_as_of(con, segment.membership_key, day)
        if campaign.schedule == "once":
            if campaign.through_day is not None or (campaign.start_at or now) > now:
                return []
            chosen = members
        else:
            after = max(campaign.since_day, campaign.through_day or campaign.since_day)
            if day <= after:
                return []
            t = stretches(con, segment.membership_key)
            joined = t.filter((t.valid_from > ibis.date(after)) & (t.valid_from <= ibis.date(day)))
            chosen = members.semi_join(joined.select("customer_id"), "customer_id")
        return sorted(set(con.to_pyarrow(chosen).column("customer_id").to_pylist()))

    def _exits(self, campaign: Campaign, segment: Segment, active: list[Entry],
               steps: list[Step]) -> dict[str, list[str]]:
        """Who leaves the campaign now, per reason (the first that applies)."""
        if not active:
            return {}
        assert segment.membership_key is not None and segment.computed_through is not None
        ids = [e.customer_id for e in active]
        con, day = self.context.warehouse, segment.computed_through
        members = self._among(members_as_of(con, segment.membership_key, day), ids)
        exits: dict[str, list[str]] = {"left_segment": [c for c in ids if c not in members]}
        left = set(exits["left_segment"])
        staying = [e for e in active if e.customer_id not in left]
        if campaign.exit_on_order:
            ordered = self._ordered_since(staying)
            exits["ordered"] = sorted(ordered)
            staying = [e for e in staying if e.customer_id not in ordered]
        channels = {c for s in steps for c in s.channels}
        exits["unsubscribed"] = sorted(self._opted_out(segment, staying, channels))
        return {reason: customers for reason, customers in exits.items() if customers}

    def _steps(self, planned: _Pass, walking: list[Entry], steps: list[Step]) -> None:
        """Who takes which step now (or passes it: its condition failed), who is done."""
        timezone = self.context.settings.shop.timezone
        due_now: dict[str, list[tuple[Entry, dt.datetime, bool]]] = {}
        for entry in walking:
            found = next_step(steps, entry, timezone)
            if found is None:
                planned.finished.append(entry.customer_id)
            elif found[1] <= planned.now:
                due_now.setdefault(found[0].name, []).append((entry, found[1], found[2]))
        by_name = {s.name: s for s in steps}
        for name, rows in due_now.items():
            passing = self._condition_fails(by_name[name], [e for e, _, _ in rows], planned)
            planned.taking[name] = [(e, due, last, e.customer_id not in passing)
                                    for e, due, last in rows]

    def _condition_fails(self, step: Step, entries: list[Entry], planned: _Pass) -> set[str]:
        condition = parse_condition(step.condition)
        if condition is None:
            return set()
        kind, argument = condition
        if kind == "not_ordered":
            return self._ordered_since(entries)
        assert argument is not None
        other = SegmentBook(self.context).get(argument)
        ids = [e.customer_id for e in entries]
        if other.membership_key is None:
            return set(ids)
        inside = self._among(members_as_of(self.context.warehouse, other.membership_key,
                                           planned.day), ids)
        return {c for c in ids if c not in inside}

    def _apply(self, planned: _Pass) -> None:
        """Store the pass: entries, exits, places and cohorts, in one transaction."""
        campaign, now = planned.campaign, planned.now
        with self.context.state.begin() as conn:
            store.enter(conn, campaign.id, planned.entering, at=now)
            for reason, customers in planned.exits.items():
                store.exit_entries(conn, campaign.id, customers, reason, at=now)
            store.finish(conn, campaign.id, planned.finished, at=now)
            for name, rows in planned.taking.items():
                takers = [(e.customer_id, e.group) for e, _, _, takes in rows if takes]
                if takers:
                    n = store.cohorts_on(conn, campaign.id, name, planned.day)
                    send_key = (f"campaign:{campaign.key}:{name}:{planned.day}"
                                + (f"#{n + 1}" if n else ""))
                    cohort = store.create_cohort(conn, campaign.id, name, planned.day, send_key,
                                                 planned.start_at, at=now)
                    store.assign(conn, campaign.id, name, cohort, takers, planned.start_at)
                store.advance(conn, campaign.id, name,
                              [(e.customer_id, due, last) for e, due, last, _ in rows], at=now)
            if campaign.schedule == "on_join" or (campaign.start_at or now) <= now:
                store.set_through_day(conn, campaign.id, planned.day)  # once: entered

    def _send_cohorts(self, campaign: Campaign) -> list[SendReport]:
        """Hand every cohort not yet handed on to the outbox (continuing any begun)."""
        with self.context.state.begin() as conn:
            cohorts = store.unsent_cohorts(conn, campaign.id)
            steps = {s.name: s for s in store.steps(conn, campaign.id, removed=True)}
        reports: list[SendReport] = []
        for cohort in cohorts:
            reports += self._send_cohort(campaign, cohort, steps[cohort.step])
            with self.context.state.begin() as conn:
                store.mark_sent(conn, cohort.id, at=self.now())
        return reports

    def _send_cohort(self, campaign: Campaign, cohort: Cohort, step: Step) -> list[SendReport]:
        with self.context.state.begin() as conn:
            treated = store.cohort_members(conn, cohort.id)
        if not treated:
            return []
        segment = SegmentBook(self.context).get(campaign.segment)
        assert segment.membership_key is not None
        routes = self._route(step, segment.membership_key, cohort, treated)
        own, names = self._coupons(campaign, step, treated)
        reports = []
        for name, customers in routes.items():
            request = SendRequest(
                segment=segment.name, membership_key=segment.membership_key, day=cohort.day,
                body=step.body, key=f"{cohort.send_key}:{name}",
                subject=step.subject if name == "email" else None,
                html=step.html if name == "email" else None,
                flex=step.flex if name == "line" else None,
                language=campaign.language, customers=frozenset(customers),
                customer_values=own, customer_fields=names,
            )
            reports.append(send(self.context, self._channel(name), request, now=self.now))
        return reports

    def _coupons(self, campaign: Campaign, step: Step, treated: list[str]
                 ) -> tuple[dict[str, dict[str, object]], frozenset[str]]:
        """Each treated customer's ``coupon`` (made before the send is planned: see
        docs/campaigns.md, "Coupons"), when the step has one and a template names it."""
        texts = (step.body, step.subject, step.html, step.flex)
        if step.coupon is None or not any(t and "coupon" in t for t in texts):
            return {}, frozenset()
        codes = coupon_codes(self.context, campaign=campaign.key, step=step.name,
                             segment=campaign.segment, coupon=step.coupon,
                             customers=sorted(treated), now=self.now())
        if codes is None:
            raise CampaignError(
                "Step {step!r} has a coupon, and coupons are made in Shopify: this workspace "
                "is not connected to Shopify.", code="campaign_coupon",
                params={"step": step.name},
                hint="Connect the workspace to Shopify, or remove the step's coupon.")
        return {c: {"coupon": code} for c, code in codes.items()}, frozenset({"coupon"})

    def _route(self, step: Step, membership_key: str, cohort: Cohort,
               treated: list[str]) -> dict[str, list[str]]:
        """Each treated customer on the first of the step's channels that reaches them (the
        first channel when none does: it counts them skipped, with the reason). Customers a
        channel's send already planned (an earlier, interrupted try) stay with it."""
        routes: dict[str, list[str]] = {}
        with self.context.state.begin() as conn:
            for name in step.channels:
                planned = store.planned_customers(conn, f"{cohort.send_key}:{name}")
                if planned:
                    routes[name] = sorted(planned)
        taken = {c for customers in routes.values() for c in customers}
        left = [c for c in treated if c not in taken]
        if not left:
            return {name: routes[name] for name in step.channels if name in routes}
        if len(step.channels) == 1:
            routes.setdefault(step.channels[0], []).extend(left)
            return routes
        channels = [(name, self._channel(name)) for name in step.channels]
        reached: set[str] = set()
        for member in members_of(self.context.warehouse, membership_key, cohort.day, only=left):
            for name, channel in channels:
                if channel.address(member, transactional=False)[0] is not None:
                    routes.setdefault(name, []).append(member.recipient.customer_id)
                    reached.add(member.recipient.customer_id)
                    break
        unreached = [c for c in left if c not in reached]
        if unreached:
            routes.setdefault(step.channels[0], []).extend(unreached)
        return {name: routes[name] for name in step.channels if name in routes}

    # ------------------------------------------------------------ reading the warehouse

    def _among(self, table: ibis.Table, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` in ``table`` (a ``customer_id`` column)."""
        chosen = ibis.memtable({"customer_id": list(ids)}, schema={"customer_id": "string"})
        found = table.semi_join(chosen, "customer_id").select("customer_id")
        return set(self.context.warehouse.to_pyarrow(found).column("customer_id").to_pylist())

    def _ordered_since(self, entries: Iterable[Entry]) -> set[str]:
        """Those who placed an order (not cancelled) after they entered."""
        rows = list(entries)
        if not rows:
            return set()
        entered = ibis.memtable(
            {"customer_id": [e.customer_id for e in rows],
             "entered_at": [e.entered_at for e in rows]},
            schema={"customer_id": "string", "entered_at": "timestamp"},
        )
        orders = self.context.warehouse.table("orders")
        joined = orders.join(entered, "customer_id")
        found = joined.filter(
            joined.cancelled_at.isnull() & (joined.processed_at > joined.entered_at)
        ).select("customer_id").distinct()
        return set(self.context.warehouse.to_pyarrow(found).column("customer_id").to_pylist())

    def _opted_out(self, segment: Segment, entries: list[Entry], channels: set[str]) -> set[str]:
        """Those who opted out of every one of ``channels``: e-mail unsubscribed (Shopify's
        state or segmentry's link), LINE blocked."""
        if not entries or not channels:
            return set()
        assert segment.membership_key is not None and segment.computed_through is not None
        with self.context.state.begin() as conn:
            gone = unsubscriptions.addresses(conn)
        out = set()
        for member in members_of(self.context.warehouse, segment.membership_key,
                                 segment.computed_through,
                                 only=[e.customer_id for e in entries]):
            if all(_opted_out_of(name, member, gone) for name in channels):
                out.add(member.recipient.customer_id)
        return out

    # ------------------------------------------------------------ helpers

    def _channel(self, name: str) -> Channel:
        if self._channels is not None and name in self._channels:
            return self._channels[name]
        return self._messaging.channel(name)

    def channel_if_set_up(self, name: str) -> Channel | None:
        """The channel the campaigns send ``name`` messages through; None if not set up."""
        if self._channels is not None and name in self._channels:
            return self._channels[name]
        return self._messaging.channels().get(name)

    def _start_at(self, now: dt.datetime) -> dt.datetime:
        """When a cohort planned now goes out: now, or the end of the quiet hours."""
        quiet = parse_quiet_hours(self.context.settings.messaging.quiet_hours)
        if quiet is None:
            return now
        allowed = quiet.next_allowed(now.replace(tzinfo=dt.UTC),
                                     self.context.settings.shop.timezone)
        return allowed.astimezone(dt.UTC).replace(tzinfo=None)

    def _report(self, planned: _Pass) -> PassReport:
        report = PassReport(planned.campaign.key, planned.day)
        if planned.segment.computed_through is None:
            report.note = "not_computed"
            return report
        for _, group in planned.entering:
            report.entered[group] = report.entered.get(group, 0) + 1
        report.exited = {reason: len(c) for reason, c in planned.exits.items()}
        for name, rows in planned.taking.items():
            counts = {"treated": 0, "holdout": 0, "passed": 0}
            for entry, _, _, takes in rows:
                counts[entry.group if takes else "passed"] += 1
            report.steps[name] = counts
        report.finished = len(planned.finished) + sum(
            1 for rows in planned.taking.values() for _, _, last, _ in rows if last)
        return report

    def _check(self, definition: CampaignDefinition) -> Segment:
        if not definition.key.strip():
            raise CampaignError("A campaign needs a name.", code="campaign_name")
        if definition.schedule not in SCHEDULES:
            raise CampaignError(
                "A campaign's schedule is {names}, not {schedule!r}.", code="campaign_schedule",
                params={"names": or_list(list(SCHEDULES)), "schedule": definition.schedule})
        if not 0 <= definition.holdout < 1:
            raise CampaignError(
                "A holdout is a share from 0 up to (not including) 1, not {holdout}.",
                code="campaign_holdout", params={"holdout": definition.holdout})
        self._check_steps(definition.steps)
        return SegmentBook(self.context).get(definition.segment)

    def _check_steps(self, steps: Sequence[Step]) -> None:
        names = [s.name for s in steps]
        if not steps or len(set(names)) != len(names) or not all(n.strip() for n in names):
            raise CampaignError("A campaign needs at least one step, each with its own name.",
                                code="campaign_steps")
        for step in steps:
            self._check_step(step)

    def _check_step(self, step: Step) -> None:
        unknown = [c for c in step.channels if c not in CHANNELS]
        if not step.channels or unknown or step.after_days < 0:
            raise CampaignError(
                "Step {step!r}: channels are {names} and days after entry 0 or more.",
                code="campaign_steps",
                params={"step": step.name, "names": or_list(list(CHANNELS))})
        if step.at_time is not None:
            parse_time(step.at_time)
        parse_condition(step.condition)
        extra = set().union(*(_CHANNEL_FIELDS[c] for c in step.channels))
        if step.coupon is not None:
            check_coupon(step.name, step.coupon)
            extra.add("coupon")
        for name, text in (("text", step.body), ("subject", step.subject), ("html", step.html),
                           ("flex", step.flex)):
            try:
                if text or name == "text":
                    compile_template(text or "", extra=extra, html=name == "html",
                                     json_text=name == "flex")
            except SegmentryError as e:
                if e.params:  # which step and field: the web form shows it by that field
                    e.params.setdefault("step", step.name)
                    e.params.setdefault("field", name)
                raise
        if "email" in step.channels and not step.subject:
            raise CampaignError("Step {step!r} goes by e-mail and needs a subject.",
                                code="campaign_steps", params={"step": step.name})


def _opted_out_of(channel: str, member: Member, unsubscribed: set[str]) -> bool:
    if channel == "line":
        return member.line_blocked
    email = (member.recipient.email or "").strip().lower()
    return member.email_marketing_state == "UNSUBSCRIBED" or (bool(email)
                                                              and email in unsubscribed)

