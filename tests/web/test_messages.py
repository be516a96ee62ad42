"""The web's words: hints that speak of pages rather than commands, errors in the reader's
language (tests/i18n checks the catalogue itself and the formats)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import segmentry
from segmentry.core.errors import QueryError, SegmentryError, ShopifyError
from segmentry.i18n.catalogue import lookup, translator
from segmentry.i18n.errors import GISTS
from segmentry.i18n.extract import used_messages
from segmentry.language import validate
from segmentry.language.catalog import ATTRIBUTES, FUNCTIONS
from segmentry.web.charts import metric_figures
from segmentry.web.hints import WEB_HINTS, error_text
from segmentry.web.routes.builder import PICKER_NAMES
from segmentry.web.schemas import MetricRow


def test_picker_names_exist_in_the_language() -> None:
    arguments = {g for f in FUNCTIONS.values() for g in f.arguments}
    assert set(PICKER_NAMES) == set(ATTRIBUTES) | set(FUNCTIONS) | arguments


# ---------------------------------------------------------------- errors in the user's language


def test_web_hints_speak_of_the_web_not_the_cli() -> None:
    for shown in WEB_HINTS.values():
        if shown is None:
            continue
        for text in (shown, lookup("ja", shown) or ""):
            assert "`" not in text and " --" not in text, shown
            assert not re.search(r"segmentry (run|segments|users|tokens|init|demo)", text), shown


def test_every_text_naming_a_command_is_the_clis() -> None:
    # Every text (extracted from the source) that names a command or an option is the CLI's
    # own: its commands' messages and its hints by error code (cli/hints.py); the web has
    # its own hints for those codes, so none is left for the web to show or replace
    # (tests/i18n scans the raise sites below the CLI and the web).
    source = Path(segmentry.__file__).parent
    used = used_messages(source, source.parent.parent / "babel.cfg")
    commands = {t: where for t, where in used.items()
                if re.search(r"`segmentry |(^| )--[a-z]", t)}
    assert len(commands) > 10  # the scan found the CLI's hints
    assert sorted(t for t, where in commands.items()
                  if not all(w.startswith("cli/") for w in where)) == []


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
            message, hint = error_text(e, "ja")
            assert expected in message, (query, message)
            assert not re.search(r"\b(is|the|expected|unknown|after)\b", message), message
            if e.suggestion:  # the builder offers it as a button: no second "did you mean"
                assert hint is None, query
            english, _ = error_text(e, "en")
            assert english == e.message  # English on the web reads as the CLI's message
        else:
            raise AssertionError(f"{query!r} should be refused")


def test_an_error_inside_a_referenced_segment_reads_japanese() -> None:
    queries = {"inner": "numer_of_orders >= 2"}
    try:
        validate("segments CONTAINS 'inner'", segments=queries.get)
    except QueryError as e:
        message, _ = error_text(e, "ja")
    assert message == "セグメント「inner」の条件 1行1列: 「numer_of_orders」という属性はありません"


def test_errors_beyond_the_web_read_japanese_by_their_code() -> None:
    # A message without a template entry (a plug-in's f-string): the page still says what
    # happened, by its code.
    error = ShopifyError(f"Shopify rejected the access token for {'shop'} (HTTP 401).",
                         code="invalid_token", hint="Reconnect with `segmentry shopify connect`.")
    message, hint = error_text(error, "ja")
    assert message.startswith("Shopifyがアクセストークンを受け付けませんでした") and hint is None
    assert set(GISTS) <= _codes_in_the_source()


def _codes_in_the_source() -> set[str]:
    codes = set()
    for path in Path(segmentry.__file__).parent.rglob("*.py"):
        codes |= set(re.findall(r'code(?: =|=) ?"([a-z_]+)"', path.read_text(encoding="utf-8")))
    return codes


def test_an_error_without_a_japanese_entry_still_reads_japanese() -> None:
    error = SegmentryError("Something new went wrong.", code="brand_new")
    unknown = "処理できませんでした（エラーコード: brand_new）。"
    assert error_text(error, "ja") == (unknown, None)
    assert error_text(error, "en") == ("Something new went wrong.", None)


def test_chart_dates_are_formatted_in_the_readers_language() -> None:
    rows = [MetricRow(day=dt.date(2025, 6, d), customers=d, joined=1, left=0)
            for d in (1, 2)]
    for lang, months, days in (("ja", "%Y年%-m月", "%-m月%-d日"), ("en", "%b %Y", "%b %-d")):
        for figure in metric_figures(rows, translator(lang)):
            axis = figure["layout"]["xaxis"]
            assert [s["value"] for s in axis["tickformatstops"]] == [days, months]
            assert axis["type"] == "date"
