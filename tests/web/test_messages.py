"""Every text the pages show has a Japanese translation, and the formats a shop expects."""

from __future__ import annotations

import ast
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import segmentry
from segmentry.core.errors import QueryError, SegmentryError, ShopifyError
from segmentry.language import ast as ast_nodes
from segmentry.language import parser, resolver, validate
from segmentry.language.catalog import ATTRIBUTES, FUNCTIONS
from segmentry.web import messages
from segmentry.web.charts import metric_figures
from segmentry.web.format import Formatter
from segmentry.web.routes.builder import PICKER_NAMES
from segmentry.web.routes.segments import MEMBER_HEADERS, METRIC_HEADERS
from segmentry.web.schemas import MetricRow

WEB = Path(messages.__file__).parent
# Ids used with a variable: KPI keys, run statuses, picker attributes, chart titles, login error.
DYNAMIC = {"customers", "repeat_rate", "ltv", "aov", "revenue_30d", "running", "succeeded",
           "failed", "Revenue per day", "Wrong email or password.", *PICKER_NAMES,
           *MEMBER_HEADERS.values(), *METRIC_HEADERS.values(), "yes", "no"}


def _used_ids() -> set[str]:
    pattern = re.compile(r"""_\((?:"([^"]+)"|'([^']+)')\)""")
    found: set[str] = set(DYNAMIC)
    for path in [*WEB.glob("templates/*.html"), WEB / "charts.py"]:
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) or match.group(2))
    return found


def test_every_message_id_has_japanese() -> None:
    missing = sorted(_used_ids() - set(messages.JA))
    assert missing == []


def test_no_unused_entries() -> None:
    assert sorted(set(messages.JA) - _used_ids()) == []
    assert sorted(set(messages.EN) - _used_ids()) == []


def test_picker_names_exist_in_the_language() -> None:
    arguments = {g for f in FUNCTIONS.values() for g in f.arguments}
    assert set(PICKER_NAMES) == set(ATTRIBUTES) | set(FUNCTIONS) | arguments


def test_formats() -> None:
    ja = Formatter("ja", "JPY", "Asia/Tokyo")
    assert ja.money(Decimal("1234567.5")) == "¥1,234,568"
    assert ja.money(Decimal("-300")) == "-¥300"
    assert ja.percent(Decimal("0.12345")) == "12.3%"
    assert ja.date(dt.date(2025, 1, 9)) == "2025年1月9日"
    assert Formatter("en", "JPY", "Asia/Tokyo").date(dt.date(2025, 1, 9)) == "9 Jan 2025"
    # 2025-01-09 20:30 UTC is the 10th in Tokyo.
    assert ja.timestamp(dt.datetime(2025, 1, 9, 20, 30)) == "2025-01-10 05:30"
    assert ja.money(None) == ja.percent(None) == "–"


# ---------------------------------------------------------------- errors in the user's language

SRC = Path(segmentry.__file__).parent
# What a web request can reach: the language, segments, runs, the warehouse, the web itself.
WEB_REACHABLE = ["core/errors.py", "app/segments.py", "app/segment_names.py",
                 "analytics/attribute_values.py", "core/lock.py", "app/jobs.py", "app/pipeline.py",
                 "engine", "language", "web", "connectors", "activation", "core/config.py"]


def _error_classes() -> set[str]:
    found, todo = set(), [SegmentryError]
    while todo:
        kind = todo.pop()
        found.add(kind.__name__)
        todo.extend(kind.__subclasses__())
    return found


def _error_calls() -> list[tuple[str, ast.expr, bool]]:
    """(where, expression, is a hint) of every message and hint given to an error the web can
    raise, of every ``Text(...)`` (a translatable phrase inside a message), of the hints kept in
    constants (``…_HINT``), and of the web's own table of HTTP errors."""
    classes = _error_classes()
    found: list[tuple[str, ast.expr, bool]] = []
    for folder in WEB_REACHABLE:
        root = SRC / folder
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                where = f"{path.relative_to(SRC)}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                    first = 1 if name == "_error" else 0
                    if name in classes or name in ("_error", "Text"):
                        found.extend((where, a, False) for a in node.args[first:first + 1])
                        found.extend(
                            (where, k.value, True) for k in node.keywords if k.arg == "hint")
                elif isinstance(node, ast.Assign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names = {getattr(n, "id", "") for t in targets for n in ast.walk(t)}
                    hints = {n for n in names if n == "hint" or n.endswith("_HINT")}
                    if (names & {"message", "_HTTP_ERRORS"} or hints) and node.value is not None:
                        found.append((where, node.value, bool(hints)))
    return found


def _templates(hints_only: bool = False) -> set[str]:
    texts: set[str] = set()
    for where, expression, is_hint in _error_calls():
        if hints_only and not is_hint:
            continue
        for node in ast.walk(expression):
            assert not isinstance(node, ast.JoinedStr), f"{where}: an f-string message; " \
                "write a template and pass params=, so that the web can translate it"
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and not \
                    re.fullmatch(r"[a-z_]*", node.value):  # error codes are not texts
                texts.add(node.value)
    return texts


def _words() -> set[str]:
    """Phrases the query language puts into its messages as parameters."""
    values = [ast_nodes.StringValue("x"), ast_nodes.NumberValue(Decimal(1)),
              ast_nodes.BoolValue(True), ast_nodes.ListValue(()), ast_nodes.NamedDate("today")]
    places = [
        resolver._segment_place(resolver._Scope("", chain), pos).template
        for chain in (("a",), ("a", "b")) for pos in (None, ast_nodes.Position(1, 1, 1, 2))
    ]
    return {
        *parser._HINTS.values(), *parser._WORDS, *places,
        *(w for pair in resolver._KIND_WORDS.values() for w in pair),
        *(resolver._value_words(v) for v in values),
    }


def test_every_error_the_web_can_raise_has_japanese() -> None:
    templates = _templates()
    assert len(templates) > 70  # the scan found the language's errors, not nothing
    missing = sorted(
        t for t in templates | _words()
        if messages.ERRORS.get(messages.WEB_HINTS.get(t) or t) is None
        and not (t in messages.WEB_HINTS and messages.WEB_HINTS[t] is None)
    )
    assert missing == []


def test_no_unused_error_entries() -> None:
    known = _templates() | _words() | {t for t in messages.WEB_HINTS.values() if t}
    assert sorted(set(messages.ERRORS) - known) == []
    assert sorted(set(messages.WEB_HINTS) - _templates() - {"did you mean {guess!r}?"}) == []


def test_web_hints_speak_of_the_web_not_the_cli() -> None:
    for hint in _templates(hints_only=True) | set(messages.WEB_HINTS) | parser._HINTS.keys():
        shown = messages.WEB_HINTS.get(hint, hint)
        if shown is None:
            continue
        for text in (shown, messages.ERRORS.get(shown, "")):
            assert "`" not in text and " --" not in text, hint
            assert not re.search(r"segmentry (run|segments|users|tokens|init|demo)", text), hint


# One query per query-error code, each checked in Japanese by what the user reads.
BAD_QUERIES = {
    "numer_of_orders >= 2": ("unknown_attribute", "「numer_of_orders」という属性はありません"),
    "number_of_orders >= 'x'": ("type_mismatch", "number_of_orders は整数です。'x' は文字列です"),
    "number_of_orders >= 1.5": ("type_mismatch", "1.5 は整数ではありません"),
    "number_of_orders CONTAINS 2":
        ("bad_operator", "number_of_orders は整数なので CONTAINS は使えません"),
    "email_subscription_status = 'subscribd'": ("unknown_value", "「subscribd」は"),
    "number_of_orders BETWEEN 5 AND 2": ("empty_range", "何にも当てはまりません"),
    "first_order_date = 2024-02-30": ("invalid_date", "2024-02-30 は存在しない日付です"),
    "products_purchasd(tag: 'serum') = true":
        ("unknown_function", "「products_purchasd」という関数はありません"),
    "products_purchased(tg: 'serum') = true":
        ("unknown_argument", "に「tg」という引数はありません"),
    "number_of_orders >= 2 &": ("syntax", "は使えません。ここには"),
    "number_of_orders >=": ("syntax", "条件がそこで終わっています"),
    "customer_tags CONTAINS 'vip": ("syntax", "文字列が閉じられていません"),
    "segments CONTAINS 'nope'": ("unknown_segment", "「nope」というセグメントはありません"),
}


def test_query_errors_read_japanese() -> None:
    for query, (code, expected) in BAD_QUERIES.items():
        try:
            validate(query)
        except QueryError as e:
            assert e.code == code, query
            message, hint = messages.error_text(e, "ja")
            assert expected in message, (query, message)
            assert not re.search(r"\b(is|the|expected|unknown|after)\b", message), message
            if e.suggestion:  # the builder offers it as a button: no second "did you mean"
                assert hint is None, query
            english, _ = messages.error_text(e, "en")
            assert english == e.message  # English on the web reads as the CLI's message
        else:
            raise AssertionError(f"{query!r} should be refused")


def test_an_error_inside_a_referenced_segment_reads_japanese() -> None:
    queries = {"inner": "numer_of_orders >= 2"}
    try:
        validate("segments CONTAINS 'inner'", segments=queries.get)
    except QueryError as e:
        message, _ = messages.error_text(e, "ja")
    assert message == "セグメント「inner」の条件 1行1列: 「numer_of_orders」という属性はありません"


def test_errors_beyond_the_web_read_japanese_by_their_code() -> None:
    # A message without a template entry (a plug-in's f-string): the page still says what
    # happened, by its code.
    error = ShopifyError(f"Shopify rejected the access token for {'shop'} (HTTP 401).",
                         code="invalid_token", hint="Reconnect with `segmentry shopify connect`.")
    message, hint = messages.error_text(error, "ja")
    assert message.startswith("Shopifyがアクセストークンを受け付けませんでした") and hint is None
    assert set(messages.BY_CODE) <= _codes_in_the_source()


def _codes_in_the_source() -> set[str]:
    codes = set()
    for path in SRC.rglob("*.py"):
        codes |= set(re.findall(r'code(?: =|=) ?"([a-z_]+)"', path.read_text(encoding="utf-8")))
    return codes


def test_an_error_without_a_japanese_entry_still_reads_japanese() -> None:
    error = SegmentryError("Something new went wrong.", code="brand_new")
    unknown = "処理できませんでした（エラーコード: brand_new）。"
    assert messages.error_text(error, "ja") == (unknown, None)
    assert messages.error_text(error, "en") == ("Something new went wrong.", None)


def test_chart_dates_are_formatted_in_the_readers_language() -> None:
    rows = [MetricRow(day=dt.date(2025, 6, d), customers=d, joined=1, left=0)
            for d in (1, 2)]
    for lang, months, days in (("ja", "%Y年%-m月", "%-m月%-d日"), ("en", "%b %Y", "%b %-d")):
        for figure in metric_figures(rows, messages.translator(lang)):
            axis = figure["layout"]["xaxis"]
            assert [s["value"] for s in axis["tickformatstops"]] == [days, months]
            assert axis["type"] == "date"
