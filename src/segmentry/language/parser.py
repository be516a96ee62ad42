"""Text → AST: the lark LALR parser and the conversion of its trees into :mod:`.ast` nodes.

Nothing from lark leaves this module: trees become our frozen dataclasses (each with its
:class:`~segmentry.language.ast.Position`), and lark's errors become :class:`QueryError` with
``code="syntax"`` and a message in plain words.

Decisions the printer (``printer.py``) mirrors:

* ``a AND b AND c`` is one :class:`~.ast.And` with three items (likewise ``OR``); parentheses keep
  their nesting, so ``(a AND b) AND c`` is ``And((And((a, b)), c))``.
* Strings are single-quoted; a backslash escapes a quote (``\\'``) or a backslash (``\\\\``);
  any other backslash is kept as written.
* In the call form, ``name: value`` takes its operator from
  :func:`~segmentry.language.catalog.call_form_operator` (dates: ``>=``, aggregates and
  others: ``=``); ``name: <= value`` keeps the written one.

>>> parse("number_of_orders >= 2 and customer_tags CONTAINS 'line'")  # doctest: +ELLIPSIS
And(items=(Comparison(attribute='number_of_orders', op='>=', ...), Contains(...)))
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any, cast

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from segmentry.core.errors import QueryError, Text, or_list
from segmentry.language import ast
from segmentry.language.catalog import ANNIVERSARY, call_form_operator
from segmentry.language.limits import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_RELATIVE,
    check_length,
    check_shape,
)
from segmentry.language.normalize import normalize

__all__ = ["parse", "shortened", "unescape"]


def parse(text: str) -> ast.Condition:
    """Parse a segment query into its AST (names and types are checked later, by the resolver).

    The text is first cleaned by :func:`~segmentry.language.normalize.normalize` (full-width
    forms and yen amounts outside string literals; positions are unchanged).

    >>> argument = parse("products_purchased(tag: 'serum', date: -30d) = true").args[1]
    >>> argument.op, argument.value.amount, argument.value.unit
    ('>=', 30, 'd')
    >>> parse("amount_spent >")
    Traceback (most recent call last):
    ...
    segmentry.core.errors.QueryError: line 1, column 15: expected a value after '>' but found \
the end \
of the query
    amount_spent >
                  ^
    """
    check_length(text)
    text = normalize(text)
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None
    condition = _Builder(text).condition(tree)
    check_shape(condition, text)
    return condition


@cache
def _lark() -> Lark:
    grammar = files("segmentry.language").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)


# ---------------------------------------------------------------- trees → AST

_ESCAPE = re.compile(r"\\(.)")


def unescape(literal: str) -> str:
    r"""The text of a quoted string literal: ``'it\'s'`` → ``it's``.

    >>> unescape(r"'it\'s \\ a\b'")
    "it's \\ a\\b"
    """
    # NOTE: only \' and \\ are escapes; other backslashes stay, so printing (which doubles every
    # backslash) always reads back to the same text.
    body = literal[1:-1]
    return _ESCAPE.sub(lambda m: m[1] if m[1] in "'\\" else m[0], body)


def _token_pos(token: Token) -> ast.Position:
    return ast.Position(
        cast(int, token.line),
        cast(int, token.column),
        cast(int, token.end_line),
        cast(int, token.end_column),
    )


def _tree_pos(tree: Tree[Token]) -> ast.Position:
    meta = tree.meta
    return ast.Position(meta.line, meta.column, meta.end_line, meta.end_column)


class _Builder:
    """Converts one parse tree into AST nodes; ``text`` is kept for error positions."""

    def __init__(self, text: str) -> None:
        self.text = text

    # ------------------------------------------------------------ conditions

    def condition(self, root: Tree[Token] | Token) -> ast.Condition:
        """The condition of a tree, built bottom-up with explicit stacks (no recursion: the
        input may nest NOT 50,000 deep, which the limits then report)."""
        built: list[ast.Condition] = []  # finished conditions, in the order of the text
        todo: list[tuple[Tree[Token], bool]] = [(cast(Tree[Token], root), False)]
        while todo:
            tree, children_built = todo.pop()
            assert isinstance(tree, Tree), tree
            pos = _tree_pos(tree)
            if tree.data not in _CONNECTIVES:
                built.append(getattr(self, f"_c_{tree.data}")(tree, pos))
            elif not children_built:
                todo.append((tree, True))
                todo.extend((cast(Tree[Token], c), False) for c in reversed(tree.children))
            else:
                n = len(tree.children)
                items = tuple(built[-n:])
                del built[-n:]
                built.append(_connective(tree.data, items, pos))
        (condition,) = built
        return condition

    def _c_comparison(self, tree: Tree[Token], pos: ast.Position) -> ast.Comparison:
        name, op, value = tree.children
        return ast.Comparison(str(name), _op(op), self.value(value), pos=pos)

    def _c_between(self, tree: Tree[Token], pos: ast.Position) -> ast.Between:
        name, low, high = tree.children
        return ast.Between(str(name), self.value(low), self.value(high), pos=pos)

    def _c_is_null(self, tree: Tree[Token], pos: ast.Position) -> ast.IsNull:
        return ast.IsNull(str(tree.children[0]), pos=pos)

    def _c_is_not_null(self, tree: Tree[Token], pos: ast.Position) -> ast.IsNull:
        return ast.IsNull(str(tree.children[0]), negated=True, pos=pos)

    def _c_contains(self, tree: Tree[Token], pos: ast.Position) -> ast.Contains:
        name, value = tree.children
        return ast.Contains(str(name), self.value(value), pos=pos)

    def _c_not_contains(self, tree: Tree[Token], pos: ast.Position) -> ast.Contains:
        name, value = tree.children
        return ast.Contains(str(name), self.value(value), negated=True, pos=pos)

    def _c_starts_with(self, tree: Tree[Token], pos: ast.Position) -> ast.StartsWith:
        name, value = tree.children
        return ast.StartsWith(str(name), self.value(value), pos=pos)

    def _c_call(
        self, tree: Tree[Token], pos: ast.Position
    ) -> ast.FunctionCondition | ast.Anniversary:
        """``name(args) = true`` / ``= false``, or ``anniversary(date: …) = <date>``."""
        name, args, op, value = tree.children
        function = str(name)
        if function == ANNIVERSARY:
            return self._anniversary(tree, args, _op(op), self.value(value), pos)
        if _op(op) != "=" or not isinstance(value, Token) or value.type not in ("TRUE", "FALSE"):
            shown = cast(Tree[Token], op).children[0]
            wrong = value if _op(op) == "=" and isinstance(value, Token) else shown
            raise self._call_needs_truth(cast(Token, wrong))
        built = tuple(self._call_arg(function, a) for a in _items(args))
        negated = str(value).lower() == "false"
        return ast.FunctionCondition(function, built, negated=negated, form="call", pos=pos)

    def _c_call_between(self, tree: Tree[Token], pos: ast.Position) -> ast.Anniversary:
        name, args, low, high = tree.children
        bounds = ast.ListValue((self.value(low), self.value(high)), pos=pos)
        if str(name) != ANNIVERSARY:
            raise QueryError(
                "{name}(…) is written = true or = false; BETWEEN is for anniversary(…)",
                code="syntax", query=self.text, line=pos.line, column=pos.column,
                end_column=pos.column + len(str(name)), params={"name": str(name)},
                hint="Write {name} MATCHES (date BETWEEN -90d AND -30d).",
            )
        return self._anniversary(tree, args, "BETWEEN", bounds, pos)

    def _anniversary(
        self, tree: Tree[Token], args: Any, op: str, value: ast.Value, pos: ast.Position
    ) -> ast.Anniversary:
        """``anniversary(date: 'customer_added_date') …``: its one argument names the date."""
        items = _items(args)
        first = items[0].children if len(items) == 1 else ()
        if len(first) != 2 or str(first[0]) != "date" or not (
            isinstance(first[1], Token) and first[1].type == "STRING"
        ):
            raise QueryError(
                "anniversary takes one argument, the date: "
                "anniversary(date: 'customer_added_date')",
                code="syntax", query=self.text, line=pos.line, column=pos.column,
                end_column=pos.column + len(ANNIVERSARY),
                hint="Name the date in quotes, e.g. date: 'customer_added_date'.",
            )
        date = unescape(str(first[1]))
        if op not in ("=", "!=", "BETWEEN"):
            raise QueryError(
                "anniversary(…) takes =, != or BETWEEN, not {op}",
                code="bad_operator", query=self.text, line=pos.line, column=pos.column,
                end_column=pos.column + len(ANNIVERSARY), params={"op": op},
                hint="For the next 30 days write BETWEEN today AND +30d.",
            )
        return ast.Anniversary(date, cast(ast.AnniversaryOp, op), value, pos=pos)

    def _call_needs_truth(self, token: Token) -> QueryError:
        return QueryError(
            "unexpected {token}: a function condition in this form is written = true or "
            "= false (expected true or false after '=')",
            params={"token": _quote(token)},
            code="syntax", query=self.text, line=cast(int, token.line),
            column=cast(int, token.column), end_column=cast(int, token.end_column),
            hint="Or write it with MATCHES: products_purchased MATCHES (tag = 'serum').",
        )

    def _c_matches(
        self, tree: Tree[Token], pos: ast.Position, negated: bool = False
    ) -> ast.FunctionCondition:
        name, args = tree.children
        built = tuple(self._match_arg(a) for a in _items(args))
        return ast.FunctionCondition(str(name), built, negated=negated, form="matches", pos=pos)

    def _c_not_matches(self, tree: Tree[Token], pos: ast.Position) -> ast.FunctionCondition:
        return self._c_matches(tree, pos, negated=True)

    # ------------------------------------------------------------ arguments

    def _call_arg(self, function: str, tree: Tree[Token]) -> ast.Argument:
        name, rest = tree.children
        if tree.data == "call_arg_default":
            op = cast(ast.ArgumentOp, call_form_operator(function, str(name)))
            return ast.Argument(str(name), op, self.value(rest), pos=_tree_pos(tree))
        return self._argument(cast(Token, name), cast(Tree[Token], rest), _tree_pos(tree))

    def _match_arg(self, tree: Tree[Token]) -> ast.Argument:
        name, test = tree.children
        return self._argument(cast(Token, name), cast(Tree[Token], test), _tree_pos(tree))

    def _argument(self, name: Token, test: Tree[Token], pos: ast.Position) -> ast.Argument:
        kind = test.data
        if kind == "arg_compare":
            op, value = test.children
            return ast.Argument(str(name), _op(op), self.value(value), pos=pos)
        if kind == "arg_between":
            low, high = (self.value(c) for c in test.children)
            bounds = ast.ListValue((low, high), pos=_tree_pos(test))
            return ast.Argument(str(name), "BETWEEN", bounds, pos=pos)
        if kind in ("arg_in", "arg_not_in"):  # Shopify's `id IN (…)`: a list with = / !=
            listed = self.value(test.children[0])
            return ast.Argument(str(name), "=" if kind == "arg_in" else "!=", listed, pos=pos)
        written: ast.ArgumentOp = "CONTAINS" if kind == "arg_contains" else "STARTS WITH"
        return ast.Argument(str(name), written, self.value(test.children[0]), pos=pos)

    # ------------------------------------------------------------ values

    def value(self, node: Tree[Token] | Token | None) -> ast.Value:
        if isinstance(node, Tree):  # the only value tree is a parenthesised list
            items = tuple(self.value(c) for c in node.children)
            return ast.ListValue(items, pos=_tree_pos(node))
        assert isinstance(node, Token), node
        pos = _token_pos(node)
        return cast(ast.Value, getattr(self, f"_v_{node.type.lower()}")(str(node), pos))

    def _v_string(self, text: str, pos: ast.Position) -> ast.StringValue:
        bad = next((i for i, c in enumerate(text) if _is_control(c)), None)
        if bad is not None:
            # NOTE: a NUL would cut the SQL text short (and PostgreSQL text cannot hold one);
            # no tag, name or code a shop uses has a control character, so refuse them all.
            column = pos.column + bad
            raise QueryError(
                "text in quotes cannot hold the control character {char}",
                code="control_character",
                query=self.text,
                line=pos.line,
                column=column,
                end_column=column + 1,
                hint="Remove it: tags, names and codes never hold control characters.",
                params={"char": f"U+{ord(text[bad]):04X}"},
            )
        return ast.StringValue(unescape(text), pos=pos)

    def _v_number(self, text: str, pos: ast.Position) -> ast.NumberValue:
        return ast.NumberValue(Decimal(text), pos=pos)

    def _v_true(self, text: str, pos: ast.Position) -> ast.BoolValue:
        return ast.BoolValue(True, pos=pos)

    def _v_false(self, text: str, pos: ast.Position) -> ast.BoolValue:
        return ast.BoolValue(False, pos=pos)

    def _v_today(self, text: str, pos: ast.Position) -> ast.NamedDate:
        return ast.NamedDate("today", pos=pos)

    def _v_yesterday(self, text: str, pos: ast.Position) -> ast.NamedDate:
        return ast.NamedDate("yesterday", pos=pos)

    def _v_relative_date(self, text: str, pos: ast.Position) -> ast.RelativeDate:
        unit = cast(Any, text[-1].lower())
        amount = self._amount(text, text[1:-1], unit, pos)
        return ast.RelativeDate(amount, unit, future=text[0] == "+", pos=pos)

    def _v_days_ago(self, text: str, pos: ast.Position) -> ast.RelativeDate:
        """``30_days_ago``, ``12_months_ago`` (Shopify's named dates)."""
        digits, unit_word = text.lower().split("_", 2)[:2]
        unit = "m" if unit_word == "months" else "d"
        amount = self._amount(text, digits, unit, pos)
        spelled: Any = "months_ago" if unit == "m" else "days_ago"
        return ast.RelativeDate(amount, cast(Any, unit), spelled=spelled, pos=pos)

    def _amount(self, text: str, digits: str, unit: str, pos: ast.Position) -> int:
        """The number of units of a relative date, at most :data:`MAX_RELATIVE` (100 years)."""
        limit = MAX_RELATIVE[unit]
        digits = digits.lstrip("0") or "0"
        # NOTE: the length test first: int() refuses more than 4,300 digits with a ValueError.
        if len(digits) <= len(str(limit)) and int(digits) <= limit:
            return int(digits)
        lowered = text.lower()
        furthest = (f"{limit}_days_ago" if lowered.endswith("_days_ago")
                    else f"{limit}_months_ago" if lowered.endswith("_months_ago")
                    else f"{text[0]}{limit}{unit}")
        raise QueryError(
            "{value} reaches back more than 100 years; the furthest a relative date reaches is "
            "{furthest}",
            code="out_of_range",
            query=self.text,
            line=pos.line,
            column=pos.column,
            end_column=pos.end_column,
            hint="For an older day, write the date itself: 1990-01-01.",
            params={"value": shortened(text), "furthest": furthest},
        )

    def _v_datetime(self, text: str, pos: ast.Position) -> ast.DateValue:
        """``2024-05-01T10:00:00``: the day, with its time kept for printing."""
        day, _, clock = text.upper().partition("T")
        try:
            time = dt.time.fromisoformat(clock)
        except ValueError:
            raise QueryError(
                "{text} is not a time of day", params={"text": text}, code="invalid_date",
                query=self.text, line=pos.line, column=pos.column, end_column=pos.end_column,
                hint="A date-time is written YYYY-MM-DDTHH:MM:SS, e.g. 2024-05-01T10:00:00.",
            ) from None
        return ast.DateValue(self._v_date(day, pos).value, time=time, pos=pos)

    def _v_date(self, text: str, pos: ast.Position) -> ast.DateValue:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            day = None
        if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
            raise QueryError(
                "{text} is out of range: dates run from {earliest} to {latest}",
                params={"text": text, "earliest": EARLIEST_DATE.isoformat(),
                        "latest": LATEST_DATE.isoformat()},
                code="out_of_range",
                query=self.text,
                line=pos.line,
                column=pos.column,
                end_column=pos.end_column,
            )
        if day is not None:
            return ast.DateValue(day, pos=pos)
        raise QueryError(
            "{text} is not a calendar date",
            params={"text": text},
            code="invalid_date",
            query=self.text,
            line=pos.line,
            column=pos.column,
            end_column=pos.end_column,
            hint="Dates are written YYYY-MM-DD, e.g. 2024-05-01.",
        )


_CONNECTIVES = frozenset({"or_expr", "and_expr", "not_"})


def _is_control(char: str) -> bool:
    """A control character (NUL, tab, escape, …) or half of a surrogate pair (which no
    encoding can store)."""
    return unicodedata.category(char) in ("Cc", "Cs")


def shortened(text: str, width: int = 24) -> str:
    """``text`` cut to ``width`` characters with an ellipsis, for a message about a value.

    >>> shortened("1" * 30)
    '11111111111111111111111…'
    """
    return text if len(text) <= width else text[: width - 1] + "…"


def _connective(
    rule: str, items: tuple[ast.Condition, ...], pos: ast.Position
) -> ast.Condition:
    if rule == "or_expr":
        return ast.Or(items, pos=pos)
    if rule == "and_expr":
        return ast.And(items, pos=pos)
    return ast.Not(items[0], pos=pos)


def _items(args: Tree[Token] | Token | None) -> list[Tree[Token]]:
    """The argument trees of ``call_args`` / ``match_args`` (``None`` for an empty list)."""
    if args is None:
        return []
    assert isinstance(args, Tree)
    return [cast(Tree[Token], a) for a in args.children]


def _op(node: Tree[Token] | Token) -> Any:
    """The operator text of a ``comp_op`` tree (``!comp_op`` keeps its single token)."""
    assert isinstance(node, Tree)
    return str(node.children[0])


# ---------------------------------------------------------------- syntax errors

_VALUE = "a value"
_OPERATOR = "an operator such as =, >=, BETWEEN, CONTAINS or MATCHES"
_OPERATORS = {
    "_EQ": "'='",
    "NE": "'!='",
    "GT": "'>'",
    "GE": "'>='",
    "LT": "'<'",
    "LE": "'<='",
    "_BETWEEN": "BETWEEN",
    "_IS": "IS",
    "_CONTAINS": "CONTAINS",
    "_STARTS": "STARTS WITH",
    "_MATCHES": "MATCHES",
    "_IN": "IN",
}
# The words (not symbols or keywords) a user reads in an "expected …" list: translated.
_WORDS = {_VALUE, _OPERATOR, "a name", "true or false", "the end of the query"}
# Terminal → what the user reads. The order here is the order of the words in the message.
_EXPECTED: dict[str, str] = {
    "NAME": "a name",
    "_NOT": "NOT",
    **_OPERATORS,
    "_NULL": "NULL",
    "_WITH": "WITH",
    **dict.fromkeys(
        ["STRING", "NUMBER", "DATE", "DATETIME", "RELATIVE_DATE", "DAYS_AGO", "TODAY",
         "YESTERDAY"],
        _VALUE,
    ),
    "TRUE": "true or false",
    "FALSE": "true or false",
    "_COLON": "':'",
    "_LPAR": "'('",
    "_AND": "AND",
    "_OR": "OR",
    "_COMMA": "','",
    "_RPAR": "')'",
    "$END": "the end of the query",
}
_HINTS: dict[str, str] = {
    '"': "Strings use single quotes: 'like this'.",
    "&": "Combine conditions with AND.",
    "|": "Combine conditions with OR.",
    "==": "Compare with a single '='.",
    "\u2018": "Strings use straight single quotes: 'like this'.",
    "\u2019": "Strings use straight single quotes: 'like this'.",
    "\u201c": "Strings use straight single quotes: 'like this'.",
    "\u201d": "Strings use straight single quotes: 'like this'.",
    "¥": "Write an amount as a plain number: ¥10,000 or 10,000円 as 10000.",
    "円": "Write an amount as a plain number: ¥10,000 or 10,000円 as 10000.",
    "offset": "A date offset is written -30d (30 days ago), -2w, -3m, -1y or 30_days_ago.",
    "thousands": "Write numbers without thousands separators: 10000, not 10,000.",
}


def _syntax_error(text: str, error: UnexpectedInput) -> QueryError:
    if isinstance(error, UnexpectedCharacters):
        return _bad_character(text, error)
    assert isinstance(error, UnexpectedToken)
    token = error.token
    at_end = token.type == "$END"
    previous, accepted = _replay(text, None if at_end else cast(int, token.start_pos))
    expected = _describe_expected(accepted or set(error.expected))
    if at_end:
        line, column = _end_position(text)
        if previous is None:
            message = "the query is empty: expected a condition such as number_of_orders >= 2"
        else:
            message = "expected {expected} after {previous} but found the end of the query"
        return QueryError(message, code="syntax", query=text, line=line, column=column,
                          params={"expected": expected, "previous": _quote(previous or "")})
    where = (Text("after {previous}", {"previous": _quote(previous)}) if previous is not None
             else Text("at the start of the query"))
    pair = f"{previous}{token}" if previous is not None else ""
    return QueryError(
        "unexpected {token} {where}: expected {expected}",
        params={"token": _quote(token), "where": where, "expected": expected},
        code="syntax",
        query=text,
        line=cast(int, token.line),
        column=cast(int, token.column),
        end_column=_same_line_end(token),
        hint=_HINTS.get(pair) or _HINTS.get(str(token)) or _offset_hint(previous, token),
    )


def _offset_hint(previous: Token | None, token: Token) -> str | None:
    """``5days``, ``30 d``: a date offset written the wrong way; ``10,000``: a thousands
    separator."""
    if previous is not None and previous.type == "NUMBER" and token.type == "NAME":
        return _HINTS["offset"]
    if previous is not None and previous.type == "NUMBER" and token.type == "_COMMA":
        return _HINTS["thousands"]
    return None


def _replay(text: str, stop: int | None) -> tuple[Token | None, set[str]]:
    """Feed the valid tokens before offset ``stop`` (all, if None) to a fresh parser.

    Returns the last token fed and the terminals the parser accepts next.
    """
    # NOTE: the state lark reports with an error is taken *after* the reductions the bad token
    # triggered, so its expected set is too narrow ("a = 1)" would only expect the end);
    # replaying the prefix gives the state the user is actually in.
    interactive = _lark().parse_interactive("")
    previous: Token | None = None
    try:
        for token in _lark().lex(text):  # the context-free lexer: it never rejects a name here
            if stop is not None and cast(int, token.start_pos) >= stop:
                break
            interactive.feed_token(token)
            previous = token
    except UnexpectedInput:  # pragma: no cover - the prefix before the error token is valid
        return previous, set()
    return previous, set(interactive.accepts())


def _bad_character(text: str, error: UnexpectedCharacters) -> QueryError:
    at = cast(int, error.pos_in_stream)
    char = text[at]
    line_end = text.find("\n", at)
    rest = (line_end if line_end >= 0 else len(text)) - at
    if char == "'":
        return QueryError(
            "unclosed string: the closing quote (') is missing",
            code="syntax",
            query=text,
            line=error.line,
            column=error.column,
            end_column=error.column + rest,
            hint="Close the string with '; write \\' for a quote inside it.",
        )
    expected = _describe_expected(set(error.allowed or ()))
    return QueryError(
        "unexpected character {char!r}: expected {expected}",
        params={"char": char, "expected": expected},
        code="syntax",
        query=text,
        line=error.line,
        column=error.column,
        hint=_HINTS.get(char),
    )


def _describe_expected(terminals: set[str]) -> str | Text:
    words: list[str] = []
    operators = len(terminals & _OPERATORS.keys()) > 1
    for terminal, word in _EXPECTED.items():
        if operators and terminal in _OPERATORS:
            word = _OPERATOR  # after a name, all of them are possible: name the common ones
        if terminal in terminals and word not in words:
            words.append(word)
    if _OPERATOR in words:  # `NOT CONTAINS`, `(`-calls: the operator wording covers them
        words = [w for w in words if w not in ("NOT", "'('")]
    if _VALUE in words:  # lists are values too
        words = [w for w in words if w not in ("true or false", "'('")]
    if not words:
        return Text("something else")
    return or_list([Text(word) if word in _WORDS else word for word in words])


def _end_position(text: str) -> tuple[int, int]:
    """1-based line and column just after the last non-blank character."""
    body = text.rstrip()
    line = body.count("\n") + 1
    return line, len(body) - (body.rfind("\n") + 1) + 1


def _same_line_end(token: Token) -> int:
    if token.end_line == token.line:
        return cast(int, token.end_column)
    return cast(int, token.column) + len(str(token).split("\n", 1)[0])


def _quote(token: str) -> str:
    return token if token.startswith("'") else f"'{token}'"  # a string literal shows its quotes
