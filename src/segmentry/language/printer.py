"""AST → canonical text, the inverse of :func:`segmentry.language.parse`.

Canonical means: keywords upper-case, one space around operators, strings single-quoted with
``\\'`` and ``\\\\`` escapes, dates ISO, relative dates as written (``-30d`` or
``30_days_ago``), function conditions in the form they were written (call or MATCHES).

Parentheses are the fewest that keep the tree: an ``Or`` inside an ``And`` gets them, and so does
an ``And`` inside an ``And`` or an ``Or`` inside an ``Or`` (the parser makes a chain ``a AND b AND
c`` one flat node, so a nested one must have been written in parentheses); ``NOT`` of an ``And``
or ``Or`` gets them. Hence ``parse(to_text(c)) == c`` for every condition the parser can produce:
``And``/``Or`` with at least two items, strings without line breaks, finite numbers.

>>> from segmentry.language import parse
>>> to_text(parse("not (a = 1 or b = 'x')  and  c between -60D and -30d"))
"NOT (a = 1 OR b = 'x') AND c BETWEEN -60d AND -30d"
"""

from __future__ import annotations

from segmentry.language import ast
from segmentry.language.catalog import call_form_operator

__all__ = ["quote", "to_text", "value_text"]


def to_text(condition: ast.Condition) -> str:
    """The canonical text of ``condition``.

    >>> to_text(ast.Comparison("number_of_orders", ">=", ast.NumberValue(ast.Decimal("2"))))
    'number_of_orders >= 2'
    """
    match condition:
        case ast.And(items=items):
            return " AND ".join(_grouped(i, (ast.And, ast.Or)) for i in items)
        case ast.Or(items=items):
            return " OR ".join(_grouped(i, (ast.Or,)) for i in items)
        case ast.Not(item=item):
            return "NOT " + _grouped(item, (ast.And, ast.Or))
        case ast.FunctionCondition():
            return _function(condition)
        case ast.Anniversary(date=date, op=op, value=value):
            head = f"anniversary(date: {quote(date)})"
            if op == "BETWEEN":
                assert isinstance(value, ast.ListValue) and len(value.items) == 2, value
                low, high = value.items
                return f"{head} BETWEEN {value_text(low)} AND {value_text(high)}"
            return f"{head} {op} {value_text(value)}"
    return _predicate(condition)


def _grouped(condition: ast.Condition, needs_parentheses: tuple[type, ...]) -> str:
    text = to_text(condition)
    return f"({text})" if isinstance(condition, needs_parentheses) else text


def _predicate(condition: ast.Condition) -> str:
    match condition:
        case ast.Comparison(attribute=name, op=op, value=value):
            return f"{name} {op} {value_text(value)}"
        case ast.Between(attribute=name, low=low, high=high):
            return f"{name} BETWEEN {value_text(low)} AND {value_text(high)}"
        case ast.IsNull(attribute=name, negated=negated):
            return f"{name} IS {'NOT ' if negated else ''}NULL"
        case ast.Contains(attribute=name, value=value, negated=negated):
            return f"{name} {'NOT ' if negated else ''}CONTAINS {value_text(value)}"
        case ast.StartsWith(attribute=name, value=value):
            return f"{name} STARTS WITH {value_text(value)}"
    raise TypeError(f"not a condition: {condition!r}")


def _function(condition: ast.FunctionCondition) -> str:
    if condition.form == "call":
        args = ", ".join(_call_argument(condition.name, a) for a in condition.args)
        return f"{condition.name}({args}) = {'false' if condition.negated else 'true'}"
    args = ", ".join(f"{a.name} {_test(a)}" for a in condition.args)
    return f"{condition.name} {'NOT ' if condition.negated else ''}MATCHES ({args})"


def _call_argument(function: str, argument: ast.Argument) -> str:
    """``tag: 'serum'`` when the operator is the call form's default, else ``date: <= -30d``."""
    if argument.op == call_form_operator(function, argument.name):
        return f"{argument.name}: {value_text(argument.value)}"
    return f"{argument.name}: {_test(argument)}"


def _test(argument: ast.Argument) -> str:
    """The operator and value of an argument: ``>= 3``, ``BETWEEN 2 AND 5``; a list is
    written with Shopify's ``IN (…)`` / ``NOT IN (…)``."""
    value = argument.value
    if isinstance(value, ast.ListValue) and argument.op in ("=", "!="):
        return f"{'IN' if argument.op == '=' else 'NOT IN'} {value_text(value)}"
    if argument.op == "BETWEEN":
        assert isinstance(value, ast.ListValue) and len(value.items) == 2, value
        low, high = value.items
        return f"BETWEEN {value_text(low)} AND {value_text(high)}"
    return f"{argument.op} {value_text(value)}"


def value_text(value: ast.Value) -> str:
    """A value as written in a query.

    >>> value_text(ast.RelativeDate(30, "d", spelled="days_ago"))
    '30_days_ago'
    >>> print(value_text(ast.ListValue((ast.StringValue("it's"), ast.NumberValue(ast.Decimal(2))))))
    ('it\\'s', 2)
    """
    match value:
        case ast.StringValue(value=text):
            return quote(text)
        case ast.NumberValue(value=number):
            # NOTE: 'f' never uses exponent notation (str(Decimal("1E+2")) is "1E+2", which the
            # grammar does not read), and keeps the digits, so the Decimal reads back equal.
            return format(number, "f")
        case ast.BoolValue(value=flag):
            return "true" if flag else "false"
        case ast.DateValue(value=day, time=time):
            return day.isoformat() if time is None else f"{day.isoformat()}T{time.isoformat()}"
        case ast.RelativeDate(amount=amount, unit=unit, spelled=spelled, future=future):
            if spelled != "offset":
                return f"{amount}_{spelled}"
            return f"{'+' if future else '-'}{amount}{unit}"
        case ast.NamedDate(name=name):
            return name
        case ast.ListValue(items=items):
            return "(" + ", ".join(value_text(i) for i in items) + ")"
    raise TypeError(f"not a value: {value!r}")


def quote(text: str) -> str:
    r"""``text`` as a single-quoted string literal: ``it's`` → ``'it\'s'``.

    >>> print(quote("it's a \\ backslash"))
    'it\'s a \\ backslash'
    """
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
