"""The catalogue: every text a user can read has a Japanese translation, found the way
``pybabel extract -F babel.cfg`` finds it (templates, ``_()``, error templates and hints,
``Text()``), plus the ids the web builds at run time."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import segmentry
from segmentry.cli.hints import CLI_HINTS
from segmentry.core.errors import SegmentryError
from segmentry.i18n import catalogue, extract
from segmentry.i18n.catalogue import catalogue_path, lookup, translator
from segmentry.language import ast as ast_nodes
from segmentry.language import parser, resolver
from segmentry.web.hints import WEB_HINTS
from segmentry.web.routes.builder import PICKER_NAMES
from segmentry.web.routes.segments import MEMBER_HEADERS, METRIC_HEADERS

SRC = Path(segmentry.__file__).parent
ROOT = SRC.parent.parent
# Ids used through a variable: KPI keys, run statuses, picker attributes, CSV headers.
DYNAMIC = {"customers", "repeat_rate", "ltv", "aov", "revenue_30d", "running", "succeeded",
           "failed", "Revenue per day", "Wrong email or password.", *PICKER_NAMES,
           *MEMBER_HEADERS.values(), *METRIC_HEADERS.values(), "yes", "no",
           # chart axes (d3-time-format patterns, web/charts.py)
           "%b %-d", "%b %Y", "%-d %b %Y"}


def _extracted() -> dict[str, list[str]]:
    """msgid → where it is used, as ``pybabel extract -F babel.cfg src/segmentry`` finds them."""
    return extract.used_messages(SRC, ROOT / "babel.cfg")


def _words() -> set[str]:
    """Phrases the query language builds into its messages at run time."""
    values = [ast_nodes.StringValue("x"), ast_nodes.NumberValue(Decimal(1)),
              ast_nodes.BoolValue(True), ast_nodes.ListValue(()), ast_nodes.NamedDate("today")]
    places = [
        resolver._segment_place(resolver._Scope("", chain), pos).template
        for chain in (("a",), ("a", "b")) for pos in (None, ast_nodes.Position(1, 1, 1, 2))
    ]
    return {
        *parser._WORDS, *places,
        *(w for pair in resolver._KIND_WORDS.values() for w in pair),
        *(resolver._value_words(v) for v in values),
    }


def _shown_in_japanese() -> dict[str, list[str]]:
    """Every id a Japanese reader can meet. A hint the web replaces (one naming a command, in
    :data:`WEB_HINTS`) is not shown there, its replacement is; the CLI, which shows it, speaks
    English (its own messages have Japanese all the same, for a ``--lang`` to come)."""
    used = _extracted()
    for text in DYNAMIC | _words():
        used.setdefault(text, []).append("(built at run time)")
    return {
        (WEB_HINTS[text] or "") if text in WEB_HINTS else text: where
        for text, where in used.items() if not (text in WEB_HINTS and WEB_HINTS[text] is None)
    }


def test_the_extraction_finds_the_texts() -> None:
    found = _extracted()
    assert len(found) > 400  # the templates, the errors and the language: not nothing
    assert "There is no segment named {name!r}." in found  # an error template
    assert "Segment builder" in found  # a template's _()
    assert "Open the Segments page to see every segment." in found  # a web hint (WEB_HINTS)


def test_every_text_has_japanese() -> None:
    japanese = catalogue.catalogue("ja")
    missing = []
    for text, where in sorted(_shown_in_japanese().items()):
        entry = japanese.get(text)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(f"{where[0]}: {text!r}")
    assert missing == []


def test_the_hints_of_each_interface_need_japanese() -> None:
    # The hints by error code are among the texts checked above: the web's, which it shows,
    # and the CLI's (for a --lang to come).
    shown = set(_shown_in_japanese())
    for table in (CLI_HINTS, WEB_HINTS):
        hints = {hint for hint in table.values() if hint}
        assert len(hints) > 10 and hints <= shown


def test_no_unused_entries() -> None:
    used = {*_extracted(), *DYNAMIC, *_words(), *WEB_HINTS.values()}
    for lang in ("ja", "en"):
        unused = {m.id for m in catalogue.catalogue(lang) if m.id} - used
        assert sorted(unused) == [], lang  # type: ignore[type-var]


def test_translations_keep_the_placeholders() -> None:
    for lang in ("ja", "en"):
        for message in catalogue.catalogue(lang):
            if message.id and message.string and isinstance(message.id, str):
                # a translation may leave a param out, never name one the message lacks
                assert _fields(message.string) <= _fields(message.id), message.id


def _fields(text: str) -> set[str]:
    if "{" not in text:
        return set()
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_a_fuzzy_or_empty_entry_is_untranslated(tmp_path: Path) -> None:
    po = catalogue_path("ja").read_text(encoding="utf-8")
    assert '\nmsgid "Segments"\nmsgstr "セグメント"\n' in po
    assert lookup("ja", "Segments") == "セグメント"
    assert translator("ja")("No such id here") == "No such id here"


def test_the_extractor_knows_every_error_class() -> None:
    found, todo = set(), [SegmentryError]
    while todo:
        kind = todo.pop()
        found.add(kind.__name__)
        todo.extend(kind.__subclasses__())
    assert {n for n in found if not n.endswith("Error")} <= extract.ERROR_CALLS


# What a web request can reach: an error message there must be a template (with params=), not
# an f-string, so that the web can translate it.
WEB_REACHABLE = ["core", "segment_names.py", "segments.py", "attribute_values.py", "jobs.py",
                 "pipeline.py", "engine", "language", "web", "connectors", "activation"]


def _sources() -> Iterator[Path]:
    for name in WEB_REACHABLE:
        matches = [p for p in SRC.rglob(name)] if name.endswith(".py") else [SRC / name]
        for root in matches:
            yield from sorted(root.rglob("*.py")) if root.is_dir() else [root]


def test_no_error_the_web_can_raise_is_an_f_string() -> None:
    f_strings = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for line, expression in extract._texts_of(node):
                if any(isinstance(n, ast.JoinedStr) for n in ast.walk(expression)):
                    f_strings.append(f"{path.relative_to(SRC)}:{line}")
    assert f_strings == []


def test_catalogue_has_no_cli_command_in_japanese_hints() -> None:
    for message in catalogue.catalogue("ja"):
        if isinstance(message.id, str) and message.id in set(WEB_HINTS.values()):
            assert not re.search(r"`|--|segmentry [a-z]", str(message.string)), message.id
