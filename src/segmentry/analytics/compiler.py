"""Compile a resolved segment condition into an Ibis expression evaluated *as of a day*.

The compiler works on **points**: a table of ``(customer_id, day)`` pairs. For each point it
decides membership using only what was known at the end of ``day`` (shop time zone): orders
processed on or before ``day`` and not cancelled by then, and the customer's tags as last
recorded on or before ``day``. The daily run passes one point per customer; history evaluation
passes the days on which a customer's membership can change (see
:mod:`segmentry.analytics.evaluation`).
Both go through this one compiler, so a segment's history and its daily runs agree.

Shape of the work: the condition tree is walked once; leaves that need aggregates over a
customer's orders (``products_purchased(...)``, ``order_tags CONTAINS ...``) register a
*feature* table ``(customer_id, day, value)``; the features are left-joined onto the points and
the condition becomes one boolean expression over that frame. An unknown value counts as
false, matching Shopify: a customer without orders has no ``last_order_date``, so
``last_order_date < -90d`` is false and its ``NOT`` is true. A leaf may be NULL for such a
customer; ``NOT`` and the final result turn NULL into false. Without a ``NOT`` above it a NULL
leaf acts as false anyway (AND and OR are monotone), and leaving it NULL lets the engine treat
a condition on a joined column as a filter it can push into the scan.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from segmentry.analytics.asof import (
    PREDICTION_COLUMNS,
    Facts,
    Points,
    abandoned_as_of,
    customer_stats,
    customers_as_of,
    lines_as_of,
    orders_as_of,
    predictions_as_of,
    statistics_as_of,
    tags_as_of,
)
from segmentry.analytics.events import events_as_of
from segmentry.analytics.line import line_state
from segmentry.analytics.store_credit import accounts_as_of
from segmentry.language import ast
from segmentry.language.catalog import (
    ATTRIBUTES,
    EVENT_FUNCTIONS,
    FUNCTIONS,
    METAFIELDS,
    RFM_RECENCY_DAYS,
    Kind,
)
from segmentry.language.changes import needs_positions

__all__ = ["evaluate", "evaluate_many", "members"]

# Amount spent that makes segmentry's own ``spend_tier`` HIGH / MEDIUM; see docs/metrics.md.
_SPEND_TIERS = ((Decimal(30000), "HIGH"), (Decimal(10000), "MEDIUM"))


def evaluate(
    facts: Facts,
    points: ir.Table | dt.date,
    condition: ast.Condition,
    prebuilt: Mapping[str, ir.Table] | None = None,
) -> ir.Table:
    """``(customer_id, day, member)`` for every point of a customer known on that day.

    ``points`` is a table of ``(customer_id, day)`` pairs, or one day for every customer (the
    daily run; evaluated without joining a points table). ``prebuilt`` may hold materialised
    ``orders`` (:func:`orders_as_of`), ``stats`` (:func:`customer_stats`) and ``tags``
    (:func:`tags_as_of`) for the same points, so that many segments evaluated on one day share
    that work.
    """
    compiler = _Compiler(facts, Points.of(points), dict(prebuilt or {}))
    return compiler.run(condition)


def members(
    facts: Facts,
    points: ir.Table | dt.date,
    condition: ast.Condition,
    prebuilt: Mapping[str, ir.Table] | None = None,
) -> ir.Table:
    """``(customer_id, day)`` of the points where ``condition`` holds (as :func:`evaluate`).

    A filter rather than a column: the engine may then push a condition on an order field
    down into the scan of the orders.
    """
    compiler = _Compiler(facts, Points.of(points), dict(prebuilt or {}))
    return compiler.run_members(condition)


def evaluate_many(
    facts: Facts,
    points: ir.Table | dt.date,
    conditions: Sequence[ast.Condition],
    prebuilt: Mapping[str, ir.Table] | None = None,
) -> ir.Table:
    """Like :func:`evaluate` for many conditions at once: one scan, columns ``m0``, ``m1``, …

    The daily run evaluates every segment in this one query.
    """
    compiler = _Compiler(facts, Points.of(points), dict(prebuilt or {}))
    return compiler.run_many(conditions)

_Filter = Callable[[ir.Table], ir.BooleanValue | None]


@dataclass
class _Compiler:
    facts: Facts
    points: Points
    prebuilt: dict[str, ir.Table]
    features: dict[str, Callable[[], ir.Table]] = field(default_factory=dict)
    stat_columns: set[str] = field(default_factory=set)
    aggregates: dict[str, dict[str, tuple[str, _Filter]]] = field(default_factory=dict)
    positions: bool = True
    _names: itertools.count[int] = field(default_factory=itertools.count)

    # ------------------------------------------------------------ driver

    def run(self, condition: ast.Condition) -> ir.Table:
        self.positions = needs_positions(condition)
        build = self.condition(condition)
        frame = self.frame()
        return frame.select("customer_id", "day", member=build(frame).fill_null(False))

    def run_members(self, condition: ast.Condition) -> ir.Table:
        self.positions = needs_positions(condition)
        build = self.condition(condition)
        frame = self.frame()
        return frame.filter(build(frame)).select("customer_id", "day")

    def run_many(self, conditions: Sequence[ast.Condition]) -> ir.Table:
        self.positions = any(needs_positions(c) for c in conditions)
        builds = [self.condition(c) for c in conditions]
        frame = self.frame()
        columns = {f"m{i}": build(frame).fill_null(False) for i, build in enumerate(builds)}
        return frame.select("customer_id", "day", **columns)

    def frame(self) -> ir.Table:
        """The customers known on each point's day, with every feature joined on."""
        wanted = ("customer_id", "created_on", "city", "region", "country",
                  "email_marketing_state", "sms_marketing_state", "email", "line_user_id",
                  *_CUSTOMER_DATA_COLUMNS)
        available = set(self.facts.customers.columns)
        customers = self.facts.customers.select(*(c for c in wanted if c in available))
        frame = customers_as_of(self.facts, customers, self.points)
        keys = self.points.keys
        for build in self.features.values():
            feature = build()
            if len(keys) == 1:
                feature = feature.drop("day")
            joined = frame.left_join(feature, keys)
            frame = joined.drop(*(c for c in joined.columns if c.endswith("_right")))
        return frame

    def feature(self, key: str, build: Callable[[], ir.Table]) -> None:
        """Register a per-point table to join onto the frame (built when the frame is)."""
        self.features.setdefault(key, build)

    # ------------------------------------------------------------ as-of orders and lines

    def orders(self) -> ir.Table:
        if "orders" not in self.prebuilt:
            self.prebuilt["orders"] = orders_as_of(
                self.facts.orders,
                self.points.source,
                positions=self.positions,
                settled=self.facts.settled,
                refunds=self.facts.refunds,
            )
        return self.prebuilt["orders"]

    def lines(self) -> ir.Table:
        if "lines" not in self.prebuilt:
            self.prebuilt["lines"] = lines_as_of(
                self.orders(), self.facts.lines, self.points.source, settled=self.facts.settled
            )
        return self.prebuilt["lines"]

    def events(self) -> ir.Table:
        """Each point's customer events up to its day (:mod:`segmentry.analytics.events`)."""
        if "events" not in self.prebuilt:
            assert self.facts.events is not None
            self.prebuilt["events"] = events_as_of(self.facts.events, self.points.source)
        return self.prebuilt["events"]

    def credit_accounts(self) -> ir.Table:
        """Each point's store credit accounts (:mod:`segmentry.analytics.store_credit`)."""
        if "credit_accounts" not in self.prebuilt:
            assert self.facts.credit_accounts is not None
            self.prebuilt["credit_accounts"] = accounts_as_of(
                self.facts.credit_accounts, self.facts.credit_transactions, self.points.source)
        return self.prebuilt["credit_accounts"]

    def line(self) -> None:
        """Each point's LINE link and block (:func:`segmentry.analytics.line.line_state`)."""
        def build() -> ir.Table:
            state = line_state(self.facts.line_events, self.facts.customers, self.points)
            return state.select("customer_id", "day", "line_linked", "line_blocked")

        self.feature("line", build)

    def stats(self, columns: tuple[str, ...]) -> None:
        """Ask for per-customer statistics; only the columns some condition reads are built."""
        if "stats" in self.prebuilt:
            self.feature("stats", lambda: self.prebuilt["stats"])
            return
        self.stat_columns.update(columns)
        self.feature("stats", lambda: customer_stats(self.orders(), self.stat_columns))

    def checkouts(self) -> Callable[[ir.Table], ir.Value]:
        """``abandoned_checkout_date``: NULL for everyone in a ledger without checkouts."""
        if self.facts.checkouts is None:
            return lambda f: ibis.null().cast("date")
        checkouts = self.facts.checkouts
        self.feature("checkouts", lambda: abandoned_as_of(checkouts, self.points.source))
        return lambda f: f.abandoned_on

    def statistics(self, column: str) -> Callable[[ir.Table], ir.Value]:
        """Shopify's own ``rfm_group`` / ``predicted_spend_tier`` as last synced: NULL before
        the first observation and in a ledger without any."""
        if self.facts.statistics is None:
            return lambda f: ibis.null().cast("string")
        history = self.facts.statistics
        self.feature("statistics", lambda: statistics_as_of(history, self.points.source))
        return lambda f: f[column]

    def predictions(self, column: str) -> Callable[[ir.Table], ir.Value]:
        """The models' predictions from the latest fit on or before the day: NULL before the
        first fit and for customers that fit did not score (docs/predictive.md)."""
        kind = "date" if column == "predicted_next_order_date" else "float64"
        if self.facts.predictions is None:
            return lambda f: ibis.null().cast(kind)
        table = self.facts.predictions
        self.feature("predictions", lambda: predictions_as_of(table, self.points.source))
        return lambda f: f[column]

    def tags(self) -> None:
        if "tags" not in self.prebuilt:
            self.prebuilt["tags"] = tags_as_of(self.facts.tag_history, self.points.source)
        self.feature("tags", lambda: self.prebuilt["tags"])

    # ------------------------------------------------------------ conditions

    def condition(
        self, node: ast.Condition, negated: bool = False
    ) -> Callable[[ir.Table], ir.BooleanValue]:
        """``node`` (``NOT node`` if ``negated``) as a function of the frame.

        ``NOT`` is pushed down to the leaves (De Morgan: ``NOT (a AND b)`` is
        ``NOT a OR NOT b``; ``NOT NOT a`` is ``a``), where it turns NULL into false first, as
        a ``NOT`` above would: the SQL then nests only as deep as the ANDs and ORs do.
        """
        # NOTE: sqlglot re-reads the SQL Ibis writes (on INSERT … SELECT) with a recursive
        # parser that spends ~20 Python frames per level of nesting.
        if isinstance(node, ast.And | ast.Or):
            parts = [self.condition(item, negated) for item in node.items]
            join = _all if isinstance(node, ast.And) != negated else _any
            return lambda f: join(p(f) for p in parts)
        if isinstance(node, ast.Not):
            return self.condition(node.item, not negated)
        if isinstance(node, ast.FunctionCondition):
            build = self.function(node)
        elif isinstance(node, ast.Anniversary):
            build = self.anniversary(node)
        else:
            build = self.leaf(node)
        if negated:
            return lambda f: ~build(f).fill_null(False)
        return build

    def leaf(self, node: ast.Condition) -> Callable[[ir.Table], ir.BooleanValue]:
        assert isinstance(node, ast.Comparison | ast.Between | ast.IsNull | ast.Contains
                          | ast.StartsWith)
        name = node.attribute
        if name in ("order_tags", "discount_codes_used"):
            return self.order_list_leaf(node)
        kind = ATTRIBUTES[name].kind if name in ATTRIBUTES else _metafield_kind(node)
        attribute = self.attribute(name, kind)
        if isinstance(node, ast.Comparison) and name == "customer_email_domain":
            domain = str(_python(node.value)).lower()  # domains have no case
            return lambda f: _compare(attribute(f), node.op, ibis.literal(domain))
        if isinstance(node, ast.Comparison):
            return lambda f: _compare(attribute(f), node.op, self.value(node.value, f.day, kind))
        if isinstance(node, ast.Between):
            return lambda f: attribute(f).between(
                self.value(node.low, f.day, kind), self.value(node.high, f.day, kind)
            )
        if isinstance(node, ast.IsNull):
            return lambda f: _is_null(attribute(f), kind, node.negated)
        if isinstance(node, ast.Contains) and name == "customer_cities":
            city = str(_python(node.value))
            return lambda f: _negate(_city_is(f, city).fill_null(False), node.negated)
        if isinstance(node, ast.Contains):
            test = _contains(kind)
            # NOTE: no tags recorded (NULL) does not contain anything: NOT CONTAINS is true.
            return lambda f: _negate(
                test(attribute(f), _python(node.value)).fill_null(False), node.negated
            )
        return lambda f: _starts_with(attribute(f), kind, str(_python(node.value)))

    def order_list_leaf(self, node: ast.Condition) -> Callable[[ir.Table], ir.BooleanValue]:
        """``order_tags`` / ``discount_codes_used``: any as-of order's list matches."""
        assert isinstance(node, ast.Contains | ast.StartsWith | ast.IsNull)
        column = "order_tags" if node.attribute == "order_tags" else "discount_codes"
        key = f"hit{next(self._names)}"

        def hit(rows: ir.Table) -> ir.BooleanValue:
            values = rows[column]
            if isinstance(node, ast.IsNull):
                return values.length() > 0
            if isinstance(node, ast.StartsWith):
                return _starts_with(values, Kind.STRING_LIST, str(_python(node.value)))
            return _has_item(values, str(_python(node.value)))

        self.aggregate("order", key, "any", hit)
        negated = getattr(node, "negated", False)
        if isinstance(node, ast.IsNull):  # IS NULL: no order carries any tag / code
            return lambda f: _negate(f[key].fill_null(False), not negated)
        return lambda f: _negate(f[key].fill_null(False), negated)

    def anniversary(self, node: ast.Anniversary) -> Callable[[ir.Table], ir.BooleanValue]:
        """The yearly return of a date's month and day falls on the day, or in the range."""
        date = self.attribute(node.date, Kind.DATE)
        bounds = node.value.items if isinstance(node.value, ast.ListValue) else (node.value,) * 2

        def test(f: ir.Table) -> ir.BooleanValue:
            low, high = (self.value(v, f.day, Kind.DATE) for v in bounds)
            hit = _anniversary_within(date(f), low, high)
            return _negate(hit.fill_null(False), node.op == "!=")

        return test

    # ------------------------------------------------------------ attributes

    def attribute(self, name: str, kind: Kind | None = None) -> Callable[[ir.Table], ir.Value]:
        static = _CUSTOMER_COLUMNS.get(name)
        if static is not None:
            return lambda f: f[static]
        if "." in name:  # a customer metafield: [metafields.]namespace.key
            key = name.removeprefix(METAFIELDS)
            return lambda f: _metafield(f, key, kind or Kind.STRING)
        if name in _CUSTOMER_DATA_ATTRIBUTES:
            return _CUSTOMER_DATA_ATTRIBUTES[name]
        if name == "customer_tags":
            self.tags()
            return lambda f: f.tags_as_of
        if name == "customer_email_domain":
            return _email_domain
        if name in ("line_linked", "line_blocked"):
            self.line()
            return lambda f: f[name].fill_null(False)
        if name == "email_subscribed":
            return lambda f: (f.email_marketing_state.upper() == "SUBSCRIBED").fill_null(False)
        if name == "abandoned_checkout_date":
            return self.checkouts()
        if name in _SHOPIFY_STATISTICS:
            return self.statistics(_SHOPIFY_STATISTICS[name])
        if name in PREDICTION_COLUMNS:
            return self.predictions(name)
        self.stats(_STATS_COLUMNS[name])
        return _STATS_ATTRIBUTES[name]

    def value(self, value: ast.Value, day: ir.DateValue, kind: Kind) -> Any:
        if isinstance(value, ast.RelativeDate):
            return day + _interval(value) if value.future else day - _interval(value)
        if isinstance(value, ast.NamedDate):
            return day if value.name == "today" else day - ibis.interval(days=1)
        if isinstance(value, ast.DateValue):
            return ibis.date(value.value)
        if isinstance(value, ast.NumberValue) and kind is Kind.INTEGER:
            return ibis.literal(int(value.value))
        if isinstance(value, ast.NumberValue):
            return ibis.literal(float(value.value))
        return ibis.literal(_python(value))

    # ------------------------------------------------------------ functions

    def function(self, node: ast.FunctionCondition) -> Callable[[ir.Table], ir.BooleanValue]:
        spec = FUNCTIONS[node.name]
        if spec.level == "customer":  # one row per customer: a test on the frame
            return lambda f: _negate(_within_distance(f, node.args).fill_null(False),
                                     node.negated)
        key = f"fn{next(self._names)}"
        filters = [a for a in node.args if not spec.arguments[a.name].aggregate]
        totals = [a for a in node.args if spec.arguments[a.name].aggregate]
        if spec.level == "event" and self.facts.events is None:
            # NOTE: no event recorded in any way: MATCHES holds for no one (docs: Events).
            return lambda f: ibis.literal(node.negated)
        if spec.level == "account" and self.facts.credit_accounts is None:
            return lambda f: ibis.literal(node.negated)  # no store credit read: no account

        def matching(rows: ir.Table) -> ir.BooleanValue | None:
            tests = [self.argument(rows, a, spec.arguments[a.name]) for a in filters]
            if spec.level == "event":  # the function's own kind of event, e.g. opened e-mails
                source, event = EVENT_FUNCTIONS[node.name]
                tests.insert(0, (rows.source == source) & (rows.event == event))
            return _all(tests) if tests else None

        self.aggregate(spec.level, f"{key}_count", "orders", matching)
        if spec.level == "line":
            self.aggregate("line", f"{key}_quantity", "quantity", matching)
        for name in {a.name for a in totals} & _SUMS.keys():
            self.aggregate(spec.level, f"{key}_{name}", _SUMS[name], matching)

        def test(f: ir.Table) -> ir.BooleanValue:
            checks = [f[f"{key}_count"].fill_null(0) >= 1]
            for argument in totals:
                column = f[f"{key}_{argument.name}"].fill_null(0)
                kind = spec.arguments[argument.name].kind
                checks.append(self.total_check(column, argument, kind))
            return _negate(_all(checks), node.negated)

        return test

    def aggregate(self, level: str, name: str, kind: str, where: _Filter) -> None:
        """Add a per-point aggregate over the as-of orders, lines or events ``where`` holds for
        (all when it gives None): ``orders`` counts those orders (events: those events),
        ``quantity`` sums the lines' quantities, ``amount`` the orders' totals, ``any`` tells
        whether there is one.

        All aggregates of a level are computed in ONE pass over its rows (conditional
        aggregates), however many function conditions a query (or a daily run) has. When
        every aggregate has a filter, rows none of them keeps are dropped first. Lines are
        summed per order first, so counting orders needs no count of distinct ids.
        """
        columns = self.aggregates.setdefault(level, {})
        columns[name] = (kind, where)

        def build() -> ir.Table:
            rows = {"line": self.lines, "event": self.events,
                    "account": self.credit_accounts}.get(level, self.orders)()
            tests = {column: keep(rows) for column, (_, keep) in columns.items()}
            if all(t is not None for t in tests.values()):
                rows = rows.filter(_any(t for t in tests.values() if t is not None))
                tests = {column: keep(rows) for column, (_, keep) in columns.items()}
            keys = ["customer_id", "day"]
            if level == "line":
                per_order = {
                    column: _per_order(rows, columns[column][0], test)
                    for column, test in tests.items()
                }
                rows = rows.group_by([*keys, "order_id"]).aggregate(**per_order)
                values = {
                    column: rows[column].sum() if kind == "quantity"
                    else rows.order_id.count(where=rows[column])
                    for column, (kind, _) in columns.items()
                }
            else:
                values = {
                    column: _per_point(rows, columns[column][0], test)
                    for column, test in tests.items()
                }
            return rows.group_by(keys).aggregate(**values)

        self.feature(f"{level}_aggregates", build)

    def total_check(
        self, column: ir.Value, argument: ast.Argument, kind: Kind
    ) -> ir.BooleanValue:
        # NOTE: literals typed by the argument's kind: a Decimal literal would make the engine
        # cast it to the column's decimal type, which a large whole number overflows.
        if argument.op == "BETWEEN":
            assert isinstance(argument.value, ast.ListValue)
            low, high = (_argument_literal(v, kind) for v in argument.value.items)
            return column.between(low, high)
        return _compare(column, argument.op, _argument_literal(argument.value, kind))

    def argument(self, rows: ir.Table, argument: ast.Argument, spec: Any) -> ir.BooleanValue:
        # The argument's own column when the rows have it (events: occurred_on for the date).
        name = spec.column if spec.column in rows.columns else _ARGUMENT_COLUMNS.get(
            argument.name, spec.column)
        column = rows[name]
        op, value = argument.op, argument.value
        if argument.name == "category":
            return _category_argument(rows, op, value)
        if spec.kind is Kind.DATE:
            day = rows.day
            if op == "BETWEEN":
                assert isinstance(value, ast.ListValue)
                low, high = (self.value(v, day, Kind.DATE) for v in value.items)
                return column.between(low, high)
            return _compare(column, op, self.value(value, day, Kind.DATE))
        if column.type().is_array():
            return _list_argument(column, op, value)
        if op == "BETWEEN":
            assert isinstance(value, ast.ListValue)
            low, high = (_python(v) for v in value.items)
            return column.between(low, high)
        if op == "STARTS WITH":
            return column.startswith(str(_python(value)))
        if isinstance(value, ast.ListValue):
            options = [_argument_literal(v, spec.kind) for v in value.items]
            return _negate(column.isin(options), op == "!=")
        if op == "CONTAINS":
            return column.contains(str(_python(value)))
        return _compare(column, op, _argument_literal(value, spec.kind))


# ---------------------------------------------------------------- tables of meaning

_CUSTOMER_COLUMNS = {
    "customer_added_date": "created_on",
    "customer_cities": "city",
    "customer_regions": "region",
    "customer_countries": "country",
    "email_subscription_status": "email_marketing_state",
    "sms_subscription_status": "sms_marketing_state",
}

# Customer columns of the data Shopify holds on the customer itself (language, account state,
# subscription contracts, companies, address coordinates, metafields): their current values,
# since the ledger keeps no history of them.
_CUSTOMER_DATA_COLUMNS = ("locale", "account_state", "product_subscriber_status",
                          "created_by_app_id", "company_ids", "latitude", "longitude",
                          "metafield_keys", "metafield_values")
_CUSTOMER_COLUMNS |= {
    "customer_language": "locale",
    "customer_account_status": "account_state",
    "companies": "company_ids",
}


def _subscription_status(f: ir.Table) -> ir.StringValue:
    """Customer.productSubscriberStatus in the segment language's words (ACTIVE: SUBSCRIBED)."""
    status = f.product_subscriber_status.upper()
    return ibis.ifelse(status == "ACTIVE", "SUBSCRIBED", status)


_CUSTOMER_DATA_ATTRIBUTES: dict[str, Callable[[ir.Table], ir.Value]] = {
    "product_subscription_status": _subscription_status,
    "created_by_app_id": lambda f: _cast_if(f.created_by_app_id, r"^[0-9]{1,18}$", "int64"),
}


def _cast_if(text: ir.StringValue, pattern: str, to: str) -> ir.Value:
    """``text`` cast to ``to`` where it matches ``pattern``, else NULL (PostgreSQL has no
    TRY_CAST: a text that does not convert would fail the whole query)."""
    return ibis.ifelse(text.re_search(pattern), text, ibis.null("string")).cast(to)


def _metafield_kind(node: ast.Condition) -> Kind:
    """A metafield condition's kind: its value's (text without one, as for IS NULL)."""
    value = getattr(node, "value", None) or getattr(node, "low", None)
    if isinstance(value, ast.NumberValue):
        return Kind.NUMBER
    if isinstance(value, ast.BoolValue):
        return Kind.BOOLEAN
    if isinstance(value, ast.DateValue | ast.RelativeDate | ast.NamedDate):
        return Kind.DATE
    return Kind.STRING


def _metafield(f: ir.Table, key: str, kind: Kind) -> ir.Value:
    """The customer's metafield ``namespace.key`` (NULL without one), read as ``kind``: a
    date from a ``date`` or ``date_time`` value's day, a number, or true/false."""
    keys, values = f.metafield_keys, f.metafield_values
    index = keys.index(key)
    # NOTE: an absent key's index is -1, which would read the last value
    text = ibis.ifelse(index >= 0, values[index], ibis.null("string"))
    if kind is Kind.DATE:
        return _cast_if(text.substr(0, 10), r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "date")
    if kind is Kind.NUMBER:
        return _cast_if(text, r"^-?[0-9]+(\.[0-9]+)?$", "float64")
    if kind is Kind.BOOLEAN:
        word = text.lower()
        return ibis.cases((word == "true", True), (word == "false", False),
                          else_=ibis.null("boolean"))
    return text


_EARTH_KM = 6371.0088  # mean Earth radius
_KM_PER_MILE = 1.609344


def _within_distance(f: ir.Table, args: tuple[ast.Argument, ...]) -> ir.BooleanValue:
    """The default address's coordinates lie within the distance of the centre (great-circle
    distance, haversine formula); false without coordinates."""
    by_name = {a.name: a for a in args}
    centre = by_name["coordinates"].value
    assert isinstance(centre, ast.ListValue)
    lat0, lon0 = (float(_python(v)) for v in centre.items)
    limit = by_name.get("distance_km") or by_name["distance_mi"]
    km = float(_python(limit.value)) * (1.0 if limit.name == "distance_km" else _KM_PER_MILE)
    lat, lon = f.latitude.radians(), f.longitude.radians()
    c_lat, c_lon = ibis.literal(lat0).radians(), ibis.literal(lon0).radians()
    half = (((lat - c_lat) / 2).sin() ** 2
            + c_lat.cos() * lat.cos() * (((lon - c_lon) / 2).sin() ** 2))
    distance = 2 * _EARTH_KM * half.sqrt().clip(upper=1.0).asin()
    return _compare(distance, "<" if limit.op == "<" else "<=", km)

# Function arguments whose fact column differs from the catalog's (as-of values).
_ARGUMENT_COLUMNS = {"order_number": "seq", "date": "processed_on"}

# Aggregate arguments other than count / quantity → what :meth:`_Compiler.aggregate` sums.
_SUMS = {"sum_quantity": "quantity", "sum_amount": "amount"}


def _orders(f: ir.Table) -> ir.IntegerValue:
    return f.n_orders.fill_null(0)


def _days_between(later: ir.DateValue, earlier: ir.DateValue) -> ir.IntegerValue:
    return later.epoch_days() - earlier.epoch_days()


def _average_order_value(f: ir.Table) -> ir.Value:
    return ibis.ifelse(_orders(f) > 0, f.spent.cast("float64") / _orders(f), ibis.null())


def _purchase_interval(f: ir.Table) -> ir.Value:
    span = _days_between(f.last_day, f.first_day).cast("float64")
    return ibis.ifelse(_orders(f) >= 2, span / (_orders(f) - 1), ibis.null())


def _recency_score(f: ir.Table) -> ir.IntegerValue:
    days = _days_between(f.day, f.last_day)
    case = ibis.cases(*((days <= d, 5 - i) for i, d in enumerate(RFM_RECENCY_DAYS)), else_=1)
    return case


def _frequency_score(f: ir.Table) -> ir.IntegerValue:
    n = _orders(f)
    return ibis.cases((n >= 6, 5), (n >= 4, 4), (n >= 3, 3), (n >= 2, 2), else_=1)


def _rfm_segment(f: ir.Table) -> ir.StringValue:
    """segmentry's rule-based RFM groups, with Shopify's names (definition in
    docs/metrics.md; Shopify's own groups are ``rfm_group``)."""
    r, fr = _recency_score(f), _frequency_score(f)
    return ibis.cases(
        (_orders(f) == 0, "PROSPECTS"),
        ((r >= 4) & (fr >= 4), "CHAMPIONS"),
        ((r == 5) & (fr == 1), "NEW"),
        ((r == 4) & (fr == 1), "PROMISING"),
        (r >= 4, "ACTIVE"),
        ((r == 3) & (fr >= 3), "LOYAL"),
        (r == 3, "NEEDS_ATTENTION"),
        ((r == 2) & (fr >= 3), "AT_RISK"),
        (r == 2, "ALMOST_LOST"),
        (fr >= 4, "PREVIOUSLY_LOYAL"),
        else_="DORMANT",
    )


def _spend_tier(f: ir.Table) -> ir.StringValue:
    spent = f.spent.fill_null(0)
    return ibis.cases(*((spent >= float(t), name) for t, name in _SPEND_TIERS), else_="LOW")


# Shopify's Customer.statistics attributes → their as-of column (:func:`statistics_as_of`).
_SHOPIFY_STATISTICS = {"rfm_group": "rfm_as_of", "predicted_spend_tier": "tier_as_of"}

# The customer_stats columns each attribute reads.
_STATS_COLUMNS: dict[str, tuple[str, ...]] = {
    "number_of_orders": ("n_orders",),
    "amount_spent": ("spent",),
    "average_order_value": ("n_orders", "spent"),
    "first_order_date": ("first_day",),
    "last_order_date": ("last_day",),
    "rfm_segment": ("n_orders", "last_day"),
    "spend_tier": ("spent",),
    "first_order_channel": ("first_channel",),
    "first_order_utm_source": ("first_utm_source",),
    "first_order_utm_medium": ("first_utm_medium",),
    "first_order_utm_campaign": ("first_utm_campaign",),
    "first_order_source_name": ("first_source_name",),
    "last_order_channel": ("last_channel",),
    "days_to_second_order": ("second_day", "first_day"),
    "days_since_last_order": ("last_day",),
    "purchase_interval": ("n_orders", "first_day", "last_day"),
    "subscriber": ("is_subscriber",),
}

_STATS_ATTRIBUTES: dict[str, Callable[[ir.Table], ir.Value]] = {
    "number_of_orders": _orders,
    "amount_spent": lambda f: f.spent.fill_null(0),
    "average_order_value": _average_order_value,
    "first_order_date": lambda f: f.first_day,
    "last_order_date": lambda f: f.last_day,
    "rfm_segment": _rfm_segment,
    "spend_tier": _spend_tier,
    "first_order_channel": lambda f: f.first_channel,
    "first_order_utm_source": lambda f: f.first_utm_source,
    "first_order_utm_medium": lambda f: f.first_utm_medium,
    "first_order_utm_campaign": lambda f: f.first_utm_campaign,
    "first_order_source_name": lambda f: f.first_source_name,
    "last_order_channel": lambda f: f.last_channel,
    "days_to_second_order": lambda f: _days_between(f.second_day, f.first_day),
    "days_since_last_order": lambda f: _days_between(f.day, f.last_day),
    "purchase_interval": _purchase_interval,
    "subscriber": lambda f: f.is_subscriber.fill_null(False),
}


# ---------------------------------------------------------------- small pieces


def _all(parts: Any) -> ir.BooleanValue:
    """``a & b & …`` as a balanced tree (see :func:`_balanced`)."""
    return _balanced(list(parts), lambda a, b: a & b)


def _balanced(items: list[Any], join: Callable[[Any, Any], Any]) -> Any:
    """``items`` joined pairwise into a tree of depth log2(n), not a chain of depth n.

    # NOTE: Ibis and sqlglot walk expressions recursively: a 5,000-term OR built as
    # ((a | b) | c) | … is 5,000 levels deep and overflows Python's stack; balanced it is 13.

    >>> _balanced(list("abcde"), lambda a, b: f"({a}{b})")
    '(((ab)(cd))e)'
    """
    while len(items) > 1:
        pairs = [join(a, b) for a, b in zip(items[::2], items[1::2], strict=False)]
        items = pairs + items[len(pairs) * 2 :]
    return items[0]


def _per_order(lines: ir.Table, kind: str, test: ir.BooleanValue | None) -> ir.Value:
    """An order's part of a line aggregate: its matching quantity, or whether a line matched."""
    if kind == "quantity":
        return lines.quantity.sum(where=test)
    return (test if test is not None else lines.order_id.notnull()).any()


def _per_point(orders: ir.Table, kind: str, test: ir.BooleanValue | None) -> ir.Value:
    """An order aggregate per point (one row per order: counting rows counts orders)."""
    if kind == "any":
        assert test is not None
        return test.any()
    if kind == "amount":
        return orders.total.sum(where=test)
    return orders.count(where=test)


def _any(parts: Any) -> ir.BooleanValue:
    """``a | b | …`` as a balanced tree (see :func:`_balanced`)."""
    return _balanced(list(parts), lambda a, b: a | b)


def _negate(value: ir.BooleanValue, negated: bool) -> ir.BooleanValue:
    return ~value if negated else value


def _compare(left: Any, op: str, right: Any) -> ir.BooleanValue:
    operations: dict[str, Callable[[Any, Any], ir.BooleanValue]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    return operations[op](left, right)


def _is_null(value: ir.Value, kind: Kind, negated: bool) -> ir.BooleanValue:
    if kind is Kind.STRING_LIST and value.type().is_array():
        empty = value.isnull() | (value.length() == 0)
        return _negate(empty, negated)
    return value.notnull() if negated else value.isnull()


def _contains(kind: Kind) -> Callable[[ir.Value, Any], ir.BooleanValue]:
    def test(value: ir.Value, item: Any) -> ir.BooleanValue:
        if value.type().is_array():
            return _has_item(value, str(item))
        # single-valued address fields: city, region, country
        return value.lower() == str(item).lower()

    return test


def _city_is(f: ir.Table, city: str) -> ir.BooleanValue:
    """Whether the customer's city is ``city``, written as Shopify does,
    ``countryCode-regionCode-cityCode`` (``'US-NY-NewYorkCity'``, ``'JP-13-Shibuya'``: the
    city's name without spaces), or as a plain name (``'横浜市'``, segmentry's extension);
    case ignored either way."""
    plain = f.city.lower() == city.lower()
    if not re.fullmatch(r"[A-Za-z]{2}-[A-Za-z0-9]{1,3}-\S+", city):
        return plain
    region = ibis.ifelse(f.region.startswith(f.country + "-"), f.region,
                         f.country + "-" + f.region)
    code = (region + "-" + f.city.re_replace(r"\s+", "")).lower()
    return plain | (code == city.lower())


def _has_item(values: ir.ArrayValue, item: str) -> ir.BooleanValue:
    """Whether the list holds ``item``, case ignored: Shopify's list values (tags) match
    regardless of case (``customer_tags CONTAINS 'VIP'`` finds a customer tagged 'vip')."""
    return values.map(lambda v: v.lower()).contains(item.lower())


def _email_domain(f: ir.Table) -> ir.StringValue:
    """The part of the e-mail address after its last '@', lower case (NULL without one)."""
    email = f.email.lower()
    return email.re_extract(r"@([^@]+)$", 1).nullif("")


def _anniversary_within(
    date: ir.DateValue, low: ir.DateValue, high: ir.DateValue
) -> ir.BooleanValue:
    """Whether the month and day of ``date`` recur on a day from ``low`` to ``high``.

    The recurrence in the year of ``low`` and in the next one are tried (a range under a year
    holds at most one); 29 February recurs on 28 February in other years.
    """
    month, day = date.month(), date.day()

    def recurrence(year: ir.IntegerValue) -> ir.DateValue:
        leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
        clamped = ibis.ifelse((month == 2) & (day == 29) & ~leap, 28, day)
        return ibis.date(year, month, clamped)

    year = low.year()
    hits = [recurrence(year + k).between(low, high) for k in (0, 1)]
    whole_year = (high.epoch_days() - low.epoch_days()) >= 365
    return hits[0] | hits[1] | (whole_year & date.notnull())


def _starts_with(value: ir.Value, kind: Kind, prefix: str) -> ir.BooleanValue:
    if value.type().is_array():
        return value.filter(lambda item: item.startswith(prefix)).length() > 0
    return value.startswith(prefix)


def _list_argument(column: ir.ArrayValue, op: str, value: ast.Value) -> ir.BooleanValue:
    if op == "STARTS WITH":
        return _starts_with(column, Kind.STRING_LIST, str(_python(value)))
    items = value.items if isinstance(value, ast.ListValue) else (value,)
    hit = _any(_has_item(column, str(_python(v))) for v in items)
    return _negate(hit, op == "!=")


def _category_argument(rows: ir.Table, op: str, value: ast.Value) -> ir.BooleanValue:
    """``category``: the product's taxonomy category is one of the values, each given as the
    category's id (``'aa-1-13'``, or its GID) or its name (case ignored)."""
    if op == "STARTS WITH":
        return rows.category_name.lower().startswith(str(_python(value)).lower())
    items = value.items if isinstance(value, ast.ListValue) else (value,)

    def one(item: ast.Value) -> ir.BooleanValue:
        text = str(_argument_literal(item, Kind.STRING))
        category = text.rsplit("/", 1)[-1] if text.startswith("gid://") else text
        return (rows.category_id == category) | (rows.category_name.lower() == text.lower())

    hit = _any(one(v) for v in items).fill_null(False)
    return _negate(hit, op == "!=")


def _argument_literal(value: ast.Value, kind: Kind) -> Any:
    raw = _python(value)
    if kind is Kind.STRING:  # ids may be written as numbers: products_purchased(id: 123)
        if isinstance(raw, Decimal):
            return format(raw, "f")
        return str(raw)
    if kind is Kind.INTEGER and isinstance(raw, Decimal):
        return int(raw)
    if kind is Kind.MONEY and isinstance(raw, Decimal):
        return float(raw)
    return raw


def _python(value: ast.Value) -> Any:
    if isinstance(value, ast.ListValue):
        return [_python(v) for v in value.items]
    return getattr(value, "value", None)


def _interval(value: ast.RelativeDate) -> Any:
    unit = {"d": "days", "w": "weeks", "m": "months", "y": "years"}[value.unit]
    if unit == "weeks":
        return ibis.interval(days=7 * value.amount)
    return ibis.interval(**{unit: value.amount})


# Attributes that need each order's position among the customer's orders.
