"""The core raises codes with params; the web and the CLI translate them and add hints of their
own, so a shop manager on the web never reads a command line."""

from __future__ import annotations

import ast
import datetime as dt
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

import segmentry
from segmentry.app.pipeline import _run_error
from segmentry.app.workspace import Workspace
from segmentry.cli import hints as cli
from segmentry.cli.output import show_error
from segmentry.core.errors import (
    BadRow,
    LockHeldError,
    SegmentError,
    ShopifyError,
    WorkspaceError,
    error_record,
    or_list,
    stored_error,
)
from segmentry.core.lock import workspace_lock
from segmentry.i18n.errors import coded_text
from segmentry.i18n.extract import used_messages
from segmentry.web import hints as web

SRC = Path(segmentry.__file__).parent
_COMMAND = re.compile(r"`segmentry |(^| )--[a-z]")


def test_the_core_names_no_command() -> None:
    texts = used_messages(SRC / "core", SRC.parent.parent / "babel.cfg")
    assert len(texts) > 5
    assert sorted(t for t in texts if _COMMAND.search(t)) == []


def test_a_busy_workspace_is_explained_by_each_interface(tmp_path: Path) -> None:
    with workspace_lock(tmp_path, "run 2026-01-01"), pytest.raises(LockHeldError) as caught, \
            workspace_lock(tmp_path, "segments add vip"):
        pass
    error = caught.value
    assert error.code == "lock_held" and error.hint is None  # the core gives none
    message, hint = cli.error_text(error)
    assert message == error.message
    assert hint == "Wait for it to finish (see `segmentry runs`); nothing was changed."
    assert web.error_text(error, "en")[1] == \
        "Wait for it to finish (see the Runs page); nothing was changed."
    message, hint = web.error_text(error, "ja")
    assert message.startswith("ワークスペースは使用中です（") and "run 2026-01-01" in message
    assert hint == ("終了までお待ちください（「実行履歴」ページで確認できます）。"
                    "何も変更されていません。")


def test_a_folder_without_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as caught:
        Workspace.open(tmp_path)
    error = caught.value
    assert error.code == "not_a_workspace" and error.params["file"] == "segmentry.toml"
    assert cli.error_text(error) == (
        f"{tmp_path.resolve()} is not a segmentry workspace (no segmentry.toml).",
        "Create one with `segmentry init PATH` or `segmentry demo`.")
    assert web.error_text(error, "ja") == (
        f"{tmp_path.resolve()} は segmentry のワークスペースではありません（segmentry.toml が"
        "ありません）。", None)


def test_the_cli_prints_its_hint(capsys: pytest.CaptureFixture[str]) -> None:
    show_error(WorkspaceError("{folder} is not a segmentry workspace (no {file}).",
                              code="not_a_workspace",
                              params={"folder": "/shop", "file": "segmentry.toml"}))
    printed = capsys.readouterr().err
    assert "Error (not_a_workspace): /shop is not a segmentry workspace (no segmentry.toml)." \
        in printed
    assert "Create one with `segmentry init PATH` or `segmentry demo`." in printed


# ---------------------------------------------------------------- no command below the edge

# The layers below the CLI and the web: a hint raised there is read on the web too.
BELOW_THE_EDGE = ["core", "engine", "language", "ledger", "store", "analytics", "app",
                  "connectors", "activation"]
# A command line, an option or a command in backticks: `segmentry run`, --adopt, `chmod 600`.
_CLI_WORDS = re.compile(r"`|segmentry |(?<![\w-])--[a-z]")


def _hint_strings(source: str) -> Iterator[tuple[int, str]]:
    """Every string a raise site in ``source`` can give as its ``hint=``: the constants of the
    argument, of what a name in it is assigned (or defaults to), and of what a function whose
    name speaks of a hint returns; and the strings of every name ending in ``_HINT``/``_HINTS``
    (a table of hints)."""
    tree = ast.parse(source)
    assigned: dict[str, list[ast.expr]] = {}
    functions: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for name in (n for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)):
                assigned.setdefault(name.id, []).append(node.value)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = [*node.args.posonlyargs, *node.args.args]
            for argument, default in zip(arguments[::-1], node.args.defaults[::-1], strict=False):
                assigned.setdefault(argument.arg, []).append(default)
            for argument, default in zip(node.args.kwonlyargs, node.args.kw_defaults,
                                         strict=True):
                if default is not None:
                    assigned.setdefault(argument.arg, []).append(default)
            functions[node.name] = [r.value for r in ast.walk(node)
                                    if isinstance(r, ast.Return) and r.value is not None]

    def strings(expression: ast.expr, seen: set[str]) -> Iterator[str]:
        for node in ast.walk(expression):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield node.value
            elif isinstance(node, ast.Name) and node.id not in seen and (
                    node is expression or "hint" in node.id.lower()):
                for value in assigned.get(node.id, []):
                    yield from strings(value, seen | {node.id})
            elif isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if "hint" in name.lower() and name not in seen:
                    for value in functions.get(name, []):
                        yield from strings(value, seen | {name})

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in (k for k in node.keywords if k.arg == "hint"):
                yield from ((node.lineno, s) for s in strings(keyword.value, set()))
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id.endswith(("_HINT", "_HINTS"))
                   for t in targets):
                yield from ((node.lineno, s) for s in strings(node.value, set()))


def _commands_in_hints(paths: list[Path]) -> list[str]:
    return [f"{path.relative_to(SRC)}:{line}: {text!r}"
            for path in paths for line, text in _hint_strings(path.read_text(encoding="utf-8"))
            if _CLI_WORDS.search(text)]


def test_no_hint_below_the_cli_and_the_web_names_a_command() -> None:
    paths = [p for layer in BELOW_THE_EDGE for p in sorted((SRC / layer).rglob("*.py"))]
    assert len(paths) > 50
    assert _commands_in_hints(paths) == []


# Calls whose arguments are texts a reader sees besides errors: a rejected row's reason
# (``problems.add``, ``cells.bad``), a sync's note, a translatable phrase.
_READ_CALLS = frozenset({"add", "bad", "reject_rest", "Text", "N_", "SegmentSync"})
# A command or an option (a backtick alone may quote data: the command holding the lock).
_COMMAND_WORDS = re.compile(r"segmentry [a-z]|(?<![\w-])--[a-z]")


def _read_strings(source: str) -> Iterator[tuple[int, str]]:
    """The strings (f-strings' constant parts too) of the arguments of :data:`_READ_CALLS`
    and of every ``note=`` or ``reason=``."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        arguments = [*node.args, *(k.value for k in node.keywords)] if name in _READ_CALLS \
            else [k.value for k in node.keywords if k.arg in ("note", "reason")]
        for argument in arguments:
            yield from ((node.lineno, n.value) for n in ast.walk(argument)
                        if isinstance(n, ast.Constant) and isinstance(n.value, str))


def test_no_reason_or_note_below_the_edge_names_a_command() -> None:
    paths = [p for layer in BELOW_THE_EDGE for p in sorted((SRC / layer).rglob("*.py"))]
    found = [f"{path.relative_to(SRC)}:{line}: {text!r}" for path in paths
             for line, text in _read_strings(path.read_text(encoding="utf-8"))
             if _COMMAND_WORDS.search(text)]
    assert found == []


@pytest.mark.parametrize(("source", "found"), [
    ('problems.add(1, "total", f"missing (name it with --map {k}=COLUMN)")',
     ["missing (name it with --map "]),
    ('SegmentSync(plan, note=f"stays until `segmentry segments sync {s} --clear`")',
     ["stays until `segmentry segments sync ", " --clear`"]),
    ('x = Text("run `segmentry run` first")', ["run `segmentry run` first"]),
    ('problems.add(1, "total", N_("missing required column"), code="c")', []),
])
def test_the_scan_finds_a_command_in_a_reason_or_a_note(source: str, found: list[str]) -> None:
    assert [text for _, text in _read_strings(source) if _COMMAND_WORDS.search(text)] == found


def test_a_rejected_row_reads_in_each_interface() -> None:
    row = BadRow("o.csv", 1, "customer_id or email", "missing required column",
                 code="required_column_missing",
                 params={"key": "customer_id", "keys": or_list(["customer_id", "email"])})
    assert cli.reason_text(row) == \
        "missing required column (name the file's column with --map customer_id=COLUMN)"
    assert coded_text(row.code, row.reason_text(), "en", web.WEB_HINTS) == (
        "missing required column", "name the file's column for customer_id or email in the "
        "source's mapping (ask whoever set up segmentry)")
    assert coded_text(row.code, row.reason_text(), "ja", web.WEB_HINTS) == (
        "必須の列がありません", "取り込み元の対応付けで customer_id または email にあたるファイルの"
        "列を指定してください（segmentry を設定した担当者に依頼してください）")
    assert str(row) == "o.csv:1: column 'customer_id or email': missing required column"


@pytest.mark.parametrize(("source", "found"), [
    ('raise SegmentError("x", code="c", hint="Run `segmentry run`.")', "Run `segmentry run`."),
    ('raise SegmentError("x", hint="Pass --adopt" if a else None)', "Pass --adopt"),
    ('H = "See segmentry segments list."\nraise SegmentError("x", hint=H)',
     "See segmentry segments list."),
    ('TOKEN_HINT = "Run `chmod 600 {path}`."', "Run `chmod 600 {path}`."),
    ('def f(hint="use --force"):\n    raise SegmentError("x", hint=hint)', "use --force"),
    ('def _hint(a):\n    return "a" if a else "b --rows line"\n'
     'raise SegmentError("x", hint=_hint(1))', "b --rows line"),
    ('raise SegmentError("x", hint="Did you mean {guess!r}? — see the docs.")', None),
    ('raise SegmentError("Use `a`", code="c")', None),  # a message: another test's business
])
def test_the_scan_finds_a_command_however_the_hint_is_given(source: str,
                                                            found: str | None) -> None:
    texts = [text for _, text in _hint_strings(source) if _CLI_WORDS.search(text)]
    assert texts == ([found] if found else [])


# ---------------------------------------------------------------- hints by code

def _raise_sites() -> Iterator[tuple[str, str, set[str] | None]]:
    """``(where, code, params)`` of every call in the package that names its error's code as a
    keyword (``params``: the keys of its ``params=`` dict; None when they are not written out)."""
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            code = keywords.get("code")
            if not (isinstance(code, ast.Constant) and isinstance(code.value, str)):
                continue
            params = keywords.get("params")
            keys: set[str] | None = set()
            if isinstance(params, ast.Dict):
                keys = {k.value for k in params.keys if isinstance(k, ast.Constant)}
                keys = keys if len(keys) == len(params.keys) else None
            elif params is not None:
                keys = None
            yield f"{path.relative_to(SRC)}:{node.lineno}", code.value, keys


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("table", [cli.CLI_HINTS, web.WEB_HINTS], ids=["cli", "web"])
def test_a_hint_by_code_has_the_params_of_every_raise_site(table: dict[str, str | None]) -> None:
    sites = list(_raise_sites())
    codes = {code for _, code, _ in sites}
    assert {"invalid_token", "not_bound", "renamed_segment", "secrets_permissions"} <= codes
    short = [f"{where}: {code} lacks {sorted(_fields(hint) - params)}"
             for where, code, params in sites
             if (hint := table.get(code)) and params is not None and _fields(hint) - params]
    assert short == []


def test_a_failed_run_shows_the_hint_for_its_cause(tmp_path: Path) -> None:
    cause = SegmentError("Segment {name!r} is already computed through {through}; cannot run "
                         "for the earlier day {day}.", code="day_in_past",
                         params={"name": "vip", "through": dt.date(2026, 1, 5),
                                 "day": dt.date(2026, 1, 2)})
    failure = _run_error(dt.date(2026, 1, 2), cause)
    assert failure.code == "run_failed" and failure.hint is None
    for error in (failure, stored_error(error_record(failure))):  # as raised, as kept
        assert error is not None
        assert cli.error_text(error) == (
            "The run for 2026-01-02 failed: Segment 'vip' is already computed through "
            "2026-01-05; cannot run for the earlier day 2026-01-02.",
            "Recompute history with `segmentry segments edit` or run a later day.")
        assert web.error_text(error, "ja")[1] == \
            "セグメントのページで「履歴を再計算」を押すか、後の日付を選んでください。"


def test_a_hint_of_the_raise_site_wins_over_the_code() -> None:
    guessed = SegmentError("There is no segment named {name!r}.", code="unknown_segment",
                           hint="Did you mean {guess!r}?", params={"name": "vp", "guess": "vip"})
    assert cli.error_text(guessed)[1] == web.error_text(guessed, "en")[1] == "Did you mean 'vip'?"
    unguessed = SegmentError("There is no segment named {name!r}.", code="unknown_segment",
                             params={"name": "vp"})
    assert cli.error_text(unguessed)[1] == "See `segmentry segments list`."
    assert web.error_text(unguessed, "en")[1] == "Open the Segments page to see every segment."


def test_a_raise_site_without_the_params_of_its_code_hint_gets_no_hint() -> None:
    bare = ShopifyError("Shopify rejected the token.", code="invalid_token", params={"x": 1})
    assert cli.error_text(bare) == ("Shopify rejected the token.", None)


def test_the_cli_shows_the_hint_of_a_shopify_error(capsys: pytest.CaptureFixture[str]) -> None:
    show_error(ShopifyError("{path} can be read by other users; segmentry will not use the "
                            "secrets in it.", code="secrets_permissions",
                            params={"path": "/shop/secrets"}))
    printed = capsys.readouterr().err
    assert "Run `chmod 600 /shop/secrets`." in printed
    error = ShopifyError("{path} can be read by other users; segmentry will not use the "
                         "secrets in it.", code="secrets_permissions", params={"path": "/s"})
    assert web.error_text(error, "ja") == (
        "/s は他のユーザーも読めるため、segmentry はその中の接続情報を使いません。",
        "/s を所有者だけが読めるようにするよう、segmentry の管理者に依頼してください。")
