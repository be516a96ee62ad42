"""Names and types: checks a parsed condition against the catalog and expands segment references.

:func:`resolve` is a pure function of the condition, its text and a way to look up other segments'
queries. It returns the same tree with

* enum values normalized to upper case (``rfm_group = 'champions'`` → ``'CHAMPIONS'``),
* product ids written as numbers turned into text (``id: 123`` → ``'123'``),
* every ``segments CONTAINS 'name'`` replaced by that segment's resolved condition
  (``NOT CONTAINS`` → ``Not(...)``), re-positioned at the reference so that every position in the
  result points into ``query_text``.

Every problem is a :class:`~segmentry.core.errors.QueryError` positioned on the offending node,
with a
stable code: ``unknown_attribute``, ``unknown_function``, ``unknown_argument``, ``bad_operator``,
``type_mismatch``, ``unknown_value``, ``empty_range``, ``unknown_segment``, ``segment_cycle``.
A problem inside a referenced segment is reported at the reference and names the segment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass, replace
from decimal import Decimal
from typing import Any, TypeVar

from segmentry.core.errors import QueryError, Text, or_list
from segmentry.language import ast
from segmentry.language.catalog import (
    ATTRIBUTES,
    FUNCTIONS,
    ArgumentSpec,
    AttributeSpec,
    Kind,
    is_metafield,
    needs_data,
)
from segmentry.language.limits import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_INTEGER,
    MAX_MONEY,
    Shape,
    check_shape,
    level,
    too_deep,
    too_many,
)
from segmentry.language.parser import parse, shortened
from segmentry.language.printer import value_text
from segmentry.language.suggest import closest

__all__ = ["SegmentLookup", "operators", "resolve"]

SegmentLookup = Callable[[str], str | None]
"""Given a segment name, its query text, or ``None`` if there is no such segment."""

_ORDERED = frozenset({"=", "!=", ">", ">=", "<", "<=", "BETWEEN", "IS NULL"})
_TEXT = frozenset({"=", "!=", "STARTS WITH", "IS NULL"})
# Which operators each kind of attribute or argument takes (arguments never take IS NULL).
_OPERATORS: dict[Kind, frozenset[str]] = {
    Kind.INTEGER: _ORDERED,
    Kind.NUMBER: _ORDERED,
    Kind.MONEY: _ORDERED,
    Kind.DATE: _ORDERED,
    Kind.STRING: _TEXT,
    Kind.ENUM: frozenset({"=", "!=", "IS NULL"}),
    Kind.STRING_LIST: frozenset({"CONTAINS", "STARTS WITH", "IS NULL"}),
    Kind.BOOLEAN: frozenset({"=", "!="}),
    Kind.SEGMENT_LIST: frozenset({"CONTAINS"}),
}
_KIND_WORDS: dict[Kind, tuple[str, str]] = {  # (what it is, how to write a value of it)
    Kind.INTEGER: ("a whole number", "a whole number such as 3"),
    Kind.NUMBER: ("a number", "a number such as 2.5"),
    Kind.MONEY: ("an amount of money", "an amount such as 5000 or 49.90"),
    Kind.DATE: ("a date", "a date: 2024-05-01, -30d, -2w, -3m, -1y, 30_days_ago, today"),
    Kind.STRING: ("a text value", "text in single quotes, such as 'instagram'"),
    Kind.ENUM: ("one of a fixed set of values", "one of its values in single quotes"),
    Kind.STRING_LIST: ("a list of text values", "text in single quotes, such as 'vip'"),
    Kind.BOOLEAN: ("true or false", "true or false"),
    Kind.SEGMENT_LIST: ("the segments a customer is in", "a segment name in single quotes"),
}
# The values a number may take, by kind (see .limits).
_NUMBER_RANGES: dict[Kind, tuple[Decimal, Decimal]] = {
    Kind.INTEGER: (Decimal(-MAX_INTEGER - 1), Decimal(MAX_INTEGER)),
    Kind.MONEY: (-MAX_MONEY, MAX_MONEY),
}
_N = TypeVar("_N")
_AttributeNode = ast.Comparison | ast.Between | ast.IsNull | ast.Contains | ast.StartsWith
_ATTRIBUTE_NODES = (ast.Comparison, ast.Between, ast.IsNull, ast.Contains, ast.StartsWith)


def resolve(
    condition: ast.Condition, query_text: str, segments: SegmentLookup | None = None
) -> ast.Condition:
    """Check ``condition`` (parsed from ``query_text``) and expand its segment references.

    >>> from segmentry.language import parse
    >>> resolve(parse("rfm_group = 'champions'"), "rfm_group = 'champions'").value
    StringValue(value='CHAMPIONS')
    >>> queries = {"loyal": "number_of_orders >= 5"}
    >>> resolve(parse("segments CONTAINS 'loyal'"), "segments CONTAINS 'loyal'", queries.get)
    Comparison(attribute='number_of_orders', op='>=', value=NumberValue(value=Decimal('5')))
    """
    check_shape(condition, query_text)  # a tree built by hand, not by parse(), too
    resolver = _Resolver(query_text, segments, {}, _Scope(query_text))
    return resolver.condition(condition, level(None, condition))


@dataclass(frozen=True)
class _Scope:
    """Where the resolver is: the user's query, or a segment reached from it."""

    text: str  # the query being resolved now
    chain: tuple[str, ...] = ()  # segments entered to get here, outermost first
    anchor: ast.Position | None = None  # the outermost reference, in the user's query


class _Resolver:
    """Resolves one query: the user's, or (nested) a segment it refers to.

    Counts as it goes what the expanded query will hold (see :mod:`.limits`): ``conditions``,
    and ``deepest``, the most levels of NOT, parentheses and references inside one another,
    counted from this query's top, which sits ``base`` levels deep in the user's query.
    """

    def __init__(
        self,
        root: str,
        lookup: SegmentLookup | None,
        cache: dict[str, tuple[ast.Condition, Shape]],
        scope: _Scope,
        base: int = 0,
    ) -> None:
        self.root = root
        self.lookup = lookup
        self.cache = cache  # resolved segments by name and their shapes, shared when nested
        self.scope = scope
        self.base = base
        self.conditions = 0
        self.deepest = 0

    # ------------------------------------------------------------ conditions

    def condition(self, node: ast.Condition, depth: int) -> ast.Condition:
        """``node`` resolved; it sits ``depth`` levels deep in this query."""
        self.deepest = max(self.deepest, depth)
        if self.base + depth > MAX_DEPTH:
            raise self._limit(too_deep(self.base + depth, self.root, None, expanded=True),
                              node.pos)
        match node:
            case ast.And() | ast.Or():
                items = tuple(self.condition(i, depth + level(node, i)) for i in node.items)
                return replace(node, items=items)
            case ast.Not():
                return replace(node, item=self.condition(node.item, depth + level(node, node.item)))
            case ast.Contains(attribute="segments"):
                return self._segment_reference(node, depth)
        self.conditions += 1
        if isinstance(node, ast.FunctionCondition):
            return self._function(node)
        if isinstance(node, ast.Anniversary):
            return self._anniversary(node)
        assert isinstance(node, _ATTRIBUTE_NODES), node
        return self._attribute_condition(node)

    def _attribute_condition(self, node: _AttributeNode) -> ast.Condition:
        name = node.attribute
        spec = ATTRIBUTES.get(name) or self._metafield(node)
        if spec is None:
            raise self._unknown_attribute(name, _name_pos(node.pos, name))
        operator = _operator_of(node)
        self._check_operator(operator, spec.kind, name, node.pos)
        check = self._value_checker(name, spec.kind, spec.values, spec.numbers_as_text)
        match node:
            case ast.Comparison() | ast.Contains() | ast.StartsWith():
                return replace(node, value=check(node.value))
            case ast.Between():
                low, high = check(node.low), check(node.high)
                self._check_range(low, high, node.pos)
                return replace(node, low=low, high=high)
        return node  # IS [NOT] NULL

    def _metafield(self, node: _AttributeNode) -> AttributeSpec | None:
        """``metafields.<namespace>.<key>``: a customer metafield, of the kind of the value it
        is compared with (Shopify's metafield conditions take dates, numbers, text and
        true/false); None for any other name."""
        name = node.attribute
        if not is_metafield(name):
            return None
        value = getattr(node, "value", None) or getattr(node, "low", None)
        kind = Kind.STRING
        if isinstance(value, ast.NumberValue):
            kind = Kind.NUMBER
        elif isinstance(value, ast.BoolValue):
            kind = Kind.BOOLEAN
        elif isinstance(value, ast.DateValue | ast.RelativeDate | ast.NamedDate):
            kind = Kind.DATE
        return AttributeSpec(name, kind, "A customer metafield.", True)

    def _anniversary(self, node: ast.Anniversary) -> ast.Anniversary:
        """``anniversary(date: 'customer_added_date') BETWEEN today AND +30d``; the date may
        be a customer metafield (``'metafields.facts.birth_date'``)."""
        spec = ATTRIBUTES.get(node.date)
        if is_metafield(node.date):
            spec = AttributeSpec(node.date, Kind.DATE, "A customer metafield.", True)
        if spec is None or spec.kind is not Kind.DATE:
            missing = needs_data(node.date)
            if missing is not None:
                raise self._needs_data(node.date, missing, node.pos)
            dates = [a.name for a in ATTRIBUTES.values() if a.kind is Kind.DATE]
            guess = closest(node.date, dates)
            raise self._error(
                node.pos,
                "anniversary needs a date; {name!r} is not one",
                code="unknown_attribute",
                suggestion=guess,
                hint=_did_you_mean(guess, "The dates are {dates}."),
                params={"name": node.date, "guess": guess, "dates": ", ".join(dates)},
            )
        check = self._value_checker("anniversary", Kind.DATE, ())
        if node.op != "BETWEEN":
            return replace(node, value=check(node.value))
        assert isinstance(node.value, ast.ListValue) and len(node.value.items) == 2
        low, high = (check(v) for v in node.value.items)
        self._check_range(low, high, node.pos)
        return replace(node, value=replace(node.value, items=(low, high)))

    def _needs_data(self, name: str, data: str, pos: ast.Position | None) -> QueryError:
        return self._error(
            _name_pos(pos, name),
            "{name} is in Shopify's segment language, but segmentry does not ingest {data} yet",
            code="needs_data",
            hint="Leave this condition out for now; docs/segment-language.md lists what is "
            "supported.",
            params={"name": name, "data": data},
        )

    def _unknown_attribute(self, name: str, pos: ast.Position | None) -> QueryError:
        missing = needs_data(name)
        if missing is not None:
            return self._needs_data(name, missing, pos)
        if name in FUNCTIONS:
            account = FUNCTIONS[name].level == "account"  # store credit: no product tags
            return self._error(
                pos,
                "{name} is a function, not an attribute",
                code="unknown_attribute",
                hint="Write {name} MATCHES (balance > 0)." if account else
                "Write {name}(tag: 'serum') = true or {name} MATCHES (tag = 'serum').",
                params={"name": name},
            )
        guess = closest(name, ATTRIBUTES)
        return self._error(
            pos,
            "unknown attribute {name!r}",
            code="unknown_attribute",
            suggestion=guess,
            hint=_did_you_mean(guess, "docs/segment-language.md lists every attribute."),
            params={"name": name, "guess": guess},
        )

    # ------------------------------------------------------------ functions

    def _function(self, node: ast.FunctionCondition) -> ast.FunctionCondition:
        spec = FUNCTIONS.get(node.name)
        if spec is None and needs_data(node.name) is not None:
            raise self._needs_data(node.name, str(needs_data(node.name)), node.pos)
        if spec is None:
            raise self._unknown_function(node)
        args = tuple(self._argument(node.name, spec.arguments, a) for a in node.args)
        if node.name == "customer_within_distance":
            self._check_distance(node, args)
        return replace(node, args=args)

    def _check_distance(
        self, node: ast.FunctionCondition, args: tuple[ast.Argument, ...]
    ) -> None:
        """``customer_within_distance``: one centre ``coordinates = (latitude, longitude)``
        and one ``distance_km`` or ``distance_mi`` (``=``, ``<=`` or ``<``: within it)."""
        by_name = {a.name: a for a in args}
        distances = [a for a in args if a.name in ("distance_km", "distance_mi")]
        centre = by_name.get("coordinates")
        if centre is None or len(distances) != 1 or len(args) != 2:
            raise self._error(
                node.pos,
                "customer_within_distance needs coordinates and one distance",
                code="bad_argument",
                hint="Write customer_within_distance MATCHES (coordinates = (35.68, 139.76), "
                "distance_km = 10), or distance_mi for miles.",
            )
        pair = centre.value
        items = pair.items if isinstance(pair, ast.ListValue) else ()
        bounds = (Decimal(90), Decimal(180))
        if centre.op != "=" or len(items) != 2 or any(
            not isinstance(v, ast.NumberValue) or abs(v.value) > b
            for v, b in zip(items, bounds, strict=False)
        ):
            raise self._error(
                centre.pos,
                "coordinates must be (latitude, longitude) in degrees",
                code="bad_argument",
                hint="Write coordinates = (35.68, 139.76): latitude from -90 to 90, longitude "
                "from -180 to 180.",
            )
        distance = distances[0]
        if distance.op not in ("=", "<=", "<") or not (
            isinstance(distance.value, ast.NumberValue) and distance.value.value > 0
        ):
            raise self._error(
                distance.pos,
                "{name} takes a distance above 0 with =, <= or <",
                code="bad_argument",
                hint="Write {name} = 10 (within 10).",
                params={"name": distance.name},
            )

    def _unknown_function(self, node: ast.FunctionCondition) -> QueryError:
        pos = _name_pos(node.pos, node.name)
        if node.name in ATTRIBUTES:
            return self._error(
                pos,
                "{name} is an attribute, not a function",
                code="unknown_function",
                hint="Compare it directly, e.g. {name} = ….",
                params={"name": node.name},
            )
        guess = closest(node.name, FUNCTIONS)
        return self._error(
            pos,
            "unknown function {name!r}",
            code="unknown_function",
            suggestion=guess,
            hint=_did_you_mean(guess, "The functions are {functions}."),
            params={"name": node.name, "guess": guess, "functions": ", ".join(FUNCTIONS)},
        )

    def _argument(
        self, function: str, specs: dict[str, ArgumentSpec], arg: ast.Argument
    ) -> ast.Argument:
        spec = specs.get(arg.name)
        if spec is None:
            guess = closest(arg.name, specs)
            raise self._error(
                _name_pos(arg.pos, arg.name),
                "{function} has no argument {name!r}",
                code="unknown_argument",
                suggestion=guess,
                hint=_did_you_mean(guess, "Its arguments are {arguments}."),
                params={"function": function, "name": arg.name, "guess": guess,
                        "arguments": ", ".join(specs)},
            )
        value = arg.value
        if function == "customer_within_distance" and arg.name == "coordinates":
            return arg  # a pair, not "any of": checked by _check_distance
        if isinstance(value, ast.ListValue) and arg.op != "BETWEEN":
            return replace(arg, value=self._list_argument(spec, arg))
        self._check_operator(arg.op, spec.kind, arg.name, arg.pos)
        check = self._value_checker(arg.name, spec.kind, (), spec.numbers_as_text)
        if arg.op != "BETWEEN":
            return replace(arg, value=check(value))
        assert isinstance(value, ast.ListValue) and len(value.items) == 2
        low, high = (check(v) for v in value.items)
        self._check_range(low, high, arg.pos)
        return replace(arg, value=replace(value, items=(low, high)))

    def _list_argument(self, spec: ArgumentSpec, arg: ast.Argument) -> ast.ListValue:
        """``id: (1, 2)``: any of the values (``!=``: none of them)."""
        assert isinstance(arg.value, ast.ListValue)
        if arg.op not in ("=", "!="):
            raise self._error(
                arg.value.pos,
                "a list of values cannot be used with {op} for {name}",
                code="bad_operator",
                hint="A list means 'any of these'; use it with = (or != for 'none of these').",
                params={"op": arg.op, "name": arg.name},
            )
        check = self._value_checker(arg.name, spec.kind, (), spec.numbers_as_text)
        return replace(arg.value, items=tuple(check(v) for v in arg.value.items))

    # ------------------------------------------------------------ operators and values

    def _check_operator(
        self, operator: str, kind: Kind, name: str, pos: ast.Position | None
    ) -> None:
        allowed = _OPERATORS[kind]
        if operator in allowed:
            return
        what = Text(_KIND_WORDS[kind][0])
        shown = or_list([_OPERATOR_SPELLING.get(o, o) for o in _OPERATOR_ORDER if o in allowed])
        raise self._error(
            pos,
            "{operator} cannot be used with {name}, which is {what}",
            code="bad_operator",
            hint="{name} takes {shown}.",
            params={"operator": operator, "name": name, "what": what, "shown": shown},
        )

    def _value_checker(
        self, name: str, kind: Kind, values: tuple[str, ...], numbers_as_text: bool = False
    ) -> Callable[[ast.Value], ast.Value]:
        def check(value: ast.Value) -> ast.Value:
            if numbers_as_text and _is_whole(value):
                assert isinstance(value, ast.NumberValue)
                self._check_number(name, Kind.INTEGER, value)
                return ast.StringValue(str(int(value.value)), pos=value.pos)
            if not _fits(kind, value):
                raise self._type_mismatch(name, kind, value)
            if isinstance(value, ast.NumberValue):
                self._check_number(name, kind, value)
            if kind is Kind.ENUM:
                assert isinstance(value, ast.StringValue)
                return self._enum_value(name, values, value)
            return value

        return check

    def _check_number(self, name: str, kind: Kind, value: ast.NumberValue) -> None:
        """Whole numbers must fit 64 bits; money and other numbers decimal(18,2)."""
        low, high = _NUMBER_RANGES[Kind.INTEGER if kind is Kind.INTEGER else Kind.MONEY]
        if low <= value.value <= high:
            return
        raise self._error(
            value.pos,
            "{value} is out of range: {name} takes values from {low} to {high}",
            code="out_of_range",
            params={"value": shortened(_shown(value)), "name": name, "low": format(low, "f"),
                    "high": format(high, "f")},
        )

    def _type_mismatch(self, name: str, kind: Kind, value: ast.Value) -> QueryError:
        what, how = _KIND_WORDS[kind]
        if kind is Kind.INTEGER and isinstance(value, ast.NumberValue):
            problem = Text("{value} is not a whole number", {"value": _shown(value)})
        else:
            problem = Text("{value} is {words}",
                           {"value": _shown(value), "words": Text(_value_words(value))})
        return self._error(
            value.pos,
            "{name} is {what}; {problem}",
            code="type_mismatch",
            hint="Write {how}.",
            params={"name": name, "what": Text(what), "problem": problem, "how": Text(how)},
        )

    def _enum_value(
        self, name: str, values: tuple[str, ...], value: ast.StringValue
    ) -> ast.StringValue:
        upper = value.value.upper()
        if upper in values:
            return replace(value, value=upper)
        guess = closest(value.value, values)
        raise self._error(
            value.pos,
            "{value!r} is not a value of {name}",
            code="unknown_value",
            suggestion=guess,
            hint=_did_you_mean(guess, "Its values are {values}."),
            params={"value": value.value, "name": name, "guess": guess,
                    "values": ", ".join(values)},
        )

    def _check_range(self, low: ast.Value, high: ast.Value, pos: ast.Position | None) -> None:
        low_key, high_key = _order_key(low), _order_key(high)
        if low_key is None or high_key is None or type(low_key) is not type(high_key):
            return
        if isinstance(low_key, tuple) and low_key[0] != high_key[0]:
            return  # -2m and -60d: months are not a whole number of days
        if low_key > high_key:
            raise self._error(
                pos,
                "BETWEEN {low} AND {high} matches nothing: the first value is after the second",
                code="empty_range",
                hint="Write the smaller (earlier) value first: BETWEEN {high} AND {low}.",
                params={"low": _shown(low), "high": _shown(high)},
            )

    # ------------------------------------------------------------ segment references

    def _segment_reference(self, node: ast.Contains, depth: int) -> ast.Condition:
        """The referenced segment's condition, which counts one level deeper than ``depth``."""
        if not isinstance(node.value, ast.StringValue):
            raise self._type_mismatch("segments", Kind.SEGMENT_LIST, node.value)
        name = node.value.value
        resolved, shape = self._segment(name, node.pos, depth + 1)
        where = self.scope.anchor or node.pos
        self._count(shape, depth + 1, where)
        moved = _moved(resolved, where) if where is not None else resolved
        return ast.Not(moved, pos=where) if node.negated else moved

    def _count(self, shape: Shape, depth: int, where: ast.Position | None) -> None:
        """Add an expanded segment of ``shape``, ``depth`` levels deep here, to the counts."""
        self.deepest = max(self.deepest, depth + shape.depth)
        self.conditions += shape.conditions
        if self.base + depth + shape.depth > MAX_DEPTH:
            raise self._limit(
                too_deep(self.base + depth + shape.depth, self.root, None, expanded=True), where)
        if self.conditions > MAX_CONDITIONS:
            raise self._limit(too_many(self.conditions, self.root, None, expanded=True), where)

    def _limit(self, error: QueryError, pos: ast.Position | None) -> QueryError:
        """A limit broken by the expanded query, reported at ``pos`` in the user's query (at
        the outermost reference when inside a segment)."""
        return self._error(pos, error.template, code=error.code, hint=error.hint_template,
                           inside=False, params=error.params)

    def _segment(
        self, name: str, pos: ast.Position | None, depth: int
    ) -> tuple[ast.Condition, Shape]:
        chain = self.scope.chain
        if name in chain:
            cycle = " → ".join((*chain[chain.index(name) :], name))
            raise self._error(
                pos,
                "segments refer to each other in a cycle: {cycle}",
                code="segment_cycle",
                hint="Remove one of these references; a segment cannot contain itself.",
                inside=False,
                params={"cycle": cycle},
            )
        if name in self.cache:
            return self.cache[name]
        text = self.lookup(name) if self.lookup is not None else None
        if text is None:
            raise self._error(
                pos,
                "there is no segment named {name!r}",
                code="unknown_segment",
                hint="Segment names must be written exactly as defined (case included).",
                params={"name": name},
            )
        anchor = self.scope.anchor or pos
        scope = _Scope(text, (*chain, name), anchor)
        child = _Resolver(self.root, self.lookup, self.cache, scope, self.base + depth)
        resolved = child.parse_and_resolve()
        self.cache[name] = resolved, Shape(child.conditions, child.deepest)
        return self.cache[name]

    def parse_and_resolve(self) -> ast.Condition:
        try:
            condition = parse(self.scope.text)
        except QueryError as e:
            raise self._error(
                ast.Position(e.line, e.column, e.line, e.end_column),
                e.template,
                code=e.code,
                hint=e.hint_template,
                params=e.params,
            ) from None
        return self.condition(condition, level(None, condition))

    # ------------------------------------------------------------ errors

    def _error(
        self,
        pos: ast.Position | None,
        message: str,
        *,
        code: str,
        suggestion: str | None = None,
        hint: str | None = None,
        inside: bool = True,
        params: dict[str, object] | None = None,
    ) -> QueryError:
        """An error at ``pos`` in the current query, or at the reference that led into it."""
        scope = self.scope
        params = dict(params or {})
        if scope.anchor is not None:
            if inside:
                detail = Text(message, params)
                message, params = "{place}: {detail}", {
                    **params, "place": _segment_place(scope, pos), "detail": detail}
            pos = scope.anchor
        line, column, end_column = _span(pos, self.root)
        return QueryError(
            message,
            code=code,
            query=self.root,
            line=line,
            column=column,
            end_column=end_column,
            suggestion=suggestion,
            hint=hint,
            params=params,
        )


# ---------------------------------------------------------------- helpers

_OPERATOR_ORDER = (
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "BETWEEN",
    "CONTAINS",
    "STARTS WITH",
    "IS NULL",
)


_OPERATOR_SPELLING = {"CONTAINS": "[NOT] CONTAINS", "IS NULL": "IS [NOT] NULL"}


def operators(kind: Kind, *, argument: bool = False) -> list[str]:
    """The operators a condition on ``kind`` may be written with, in display order; negated
    forms spelled out. Arguments of functions never take ``IS NULL``.

    >>> operators(Kind.STRING_LIST)
    ['CONTAINS', 'NOT CONTAINS', 'STARTS WITH', 'IS NULL', 'IS NOT NULL']
    >>> operators(Kind.MONEY, argument=True)
    ['=', '!=', '>', '>=', '<', '<=', 'BETWEEN']
    """
    result: list[str] = []
    for op in _OPERATOR_ORDER:
        if op not in _OPERATORS[kind] or (argument and op == "IS NULL"):
            continue
        result.append(op)
        if op in ("CONTAINS", "IS NULL") and not (argument or (kind is Kind.SEGMENT_LIST
                                                   and op == "IS NULL")):
            result.append("NOT CONTAINS" if op == "CONTAINS" else "IS NOT NULL")
    return result


def _operator_of(node: ast.Condition) -> str:
    match node:
        case ast.Comparison(op=op):
            return op
        case ast.Between():
            return "BETWEEN"
        case ast.IsNull():
            return "IS NULL"
        case ast.Contains():
            return "CONTAINS"
    return "STARTS WITH"


def _fits(kind: Kind, value: ast.Value) -> bool:
    """Whether ``value`` is of the type ``kind`` takes (whole numbers are checked here too)."""
    if kind is Kind.INTEGER:
        return _is_whole(value)
    if kind in (Kind.NUMBER, Kind.MONEY):
        return isinstance(value, ast.NumberValue)
    if kind is Kind.DATE:
        return isinstance(value, ast.DateValue | ast.RelativeDate | ast.NamedDate)
    if kind is Kind.BOOLEAN:
        return isinstance(value, ast.BoolValue)
    return isinstance(value, ast.StringValue)


def _is_whole(value: ast.Value) -> bool:
    return isinstance(value, ast.NumberValue) and value.value == value.value.to_integral_value()


def _value_words(value: ast.Value) -> str:
    match value:
        case ast.StringValue():
            return "a text value"
        case ast.NumberValue():
            return "a number"
        case ast.BoolValue():
            return "a true/false value"
        case ast.ListValue():
            return "a list"
    return "a date"


def _shown(value: ast.Value) -> str:
    return value_text(value)


def _order_key(value: ast.Value) -> Any:
    """A key that orders values of one type (later dates larger), or ``None``."""
    match value:
        case ast.NumberValue(value=number):
            return number
        case ast.DateValue(value=day):
            return day
        case ast.NamedDate(name=name):
            return ("d", 0 if name == "today" else -1)
        case ast.RelativeDate(amount=amount, unit="w", future=future):
            return ("d", 7 * amount if future else -7 * amount)
        case ast.RelativeDate(amount=amount, unit=unit, future=future):
            return (unit, amount if future else -amount)
    return None


def _did_you_mean(guess: str | None, otherwise: str) -> str:
    return "did you mean {guess!r}?" if guess else otherwise


def _segment_place(scope: _Scope, pos: ast.Position | None) -> Text:
    """``in segment 'b' (reached through 'a' → 'b'), line 1, column 5 of its query``."""
    params: dict[str, object] = {"segment": scope.chain[-1], "chain": " → ".join(scope.chain)}
    template = "in segment {segment!r}"
    if len(scope.chain) > 1:
        template += " (reached through {chain})"
    if pos is not None:
        template += ", line {line}, column {column} of its query"
        params |= {"line": pos.line, "column": pos.column}
    return Text(template, params)


def _name_pos(pos: ast.Position | None, name: str) -> ast.Position | None:
    """The position of the name a node starts with (attribute, function or argument name)."""
    if pos is None:
        return None
    return ast.Position(pos.line, pos.column, pos.line, pos.column + len(name))


def _span(pos: ast.Position | None, text: str) -> tuple[int, int, int]:
    """Line, column and end column on that line of ``pos`` (the whole query if unknown)."""
    if pos is None:
        return 1, 1, max(2, len(text.split("\n", 1)[0]) + 1)
    if pos.end_line == pos.line:
        return pos.line, pos.column, pos.end_column
    lines = text.split("\n")
    width = len(lines[pos.line - 1]) if pos.line <= len(lines) else pos.column
    return pos.line, pos.column, max(pos.column + 1, width + 1)


def _moved(node: _N, pos: ast.Position) -> _N:
    """``node`` and everything in it re-positioned at ``pos`` (a reference's expansion)."""
    changes: dict[str, Any] = {}
    for f in fields(node):  # type: ignore[arg-type]
        value = getattr(node, f.name)
        if f.name == "pos":
            changes["pos"] = pos
        elif is_dataclass(value):
            changes[f.name] = _moved(value, pos)
        elif isinstance(value, tuple):
            changes[f.name] = tuple(_moved(v, pos) for v in value)
    return replace(node, **changes)  # type: ignore[type-var]
