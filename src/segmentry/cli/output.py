"""How the CLI shows things: tables, numbers, errors and progress bars (rich)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from segmentry.analytics.exports import to_csv
from segmentry.cli.hints import error_text, row_lines
from segmentry.core.errors import DataImportError, QueryError, SegmentryError
from segmentry.i18n.format import Formatter

__all__ = [
    "console",
    "fail_on_errors",
    "print_rows",
    "progress_bar",
    "render_value",
    "summary_row",
]

console = Console()
err_console = Console(stderr=True)


def summary_row(row: dict[str, Any], fmt: Formatter) -> dict[str, Any]:
    """A segment's figures (:func:`segmentry.app.summary.summarize`) as the CLI shows them,
    written by the formatter the web uses too.

    >>> summary_row({"customers": 1234, "repeat_rate": Decimal("0.3125"), "ltv": 12345,
    ...              "aov": None, "revenue_30d": Decimal("5000.4"), "change_30d": -5},
    ...             Formatter("en", "JPY"))["ltv"]
    '¥12,345'
    """
    return {
        **row,
        "customers": fmt.number(row.get("customers", 0)),
        "repeat_rate": fmt.percent(row.get("repeat_rate")),
        "ltv": fmt.money(row.get("ltv")),
        "aov": fmt.money(row.get("aov")),
        "revenue_30d": fmt.money(row.get("revenue_30d")),
        "change_30d": fmt.signed(row.get("change_30d")),
    }


def render_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def print_rows(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str = "table",
    title: str = "",
    *,
    bom: bool = False,
) -> None:
    """Print rows as a rich table, CSV or JSON (one function for every list command).

    CSV is written as :func:`segmentry.analytics.exports.to_csv` writes it (the web's downloads
    too);
    ``bom`` starts it with a UTF-8 byte-order mark so that Excel reads it as UTF-8.
    """
    if fmt == "json":
        sys.stdout.write(json.dumps([{c: row.get(c) for c in columns} for row in rows],
                                    default=render_value, ensure_ascii=False, indent=1) + "\n")
        return
    if fmt == "csv":
        sys.stdout.flush()
        sys.stdout.buffer.write(to_csv(rows, columns, bom=bom))
        sys.stdout.buffer.flush()
        return
    table = Table(title=title or None, show_lines=False)
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(render_value(row.get(c)) for c in columns))
    console.print(table)


def show_error(error: SegmentryError) -> None:
    """Print a user-facing error readably (a query error with its caret snippet), with the
    CLI's hints (:mod:`segmentry.cli.hints`)."""
    message, hint = error_text(error)
    if isinstance(error, QueryError):
        err_console.print(
            f"[bold red]Query error[/] ({error.code}) "
            f"at line {error.line}, column {error.column}: ",
            end="",
            highlight=False,
        )
        err_console.print(message, markup=False, highlight=False)
        if error.query:
            err_console.print(error.snippet(), style="yellow", markup=False, highlight=False)
        # The resolver's hint already carries the suggestion ("did you mean ...?").
        if hint:
            err_console.print(hint, markup=False, highlight=False)
        elif error.suggestion:
            err_console.print(f"Did you mean {error.suggestion!r}?", highlight=False)
        return
    rows = row_lines(error) if isinstance(error, DataImportError) else []
    err_console.print(f"[bold red]Error[/] ({error.code}): ", end="", highlight=False)
    err_console.print("\n".join([message, *rows, *([hint] if hint else [])]), markup=False,
                      highlight=False)


@contextlib.contextmanager
def fail_on_errors() -> Iterator[None]:
    """Turn a SegmentryError into a readable message and exit status 1 (never a traceback)."""
    try:
        yield
    except SegmentryError as e:
        show_error(e)
        raise typer.Exit(1) from e


@contextlib.contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int, int], None] | None]:
    """A ``progress(stage, done, total)`` callback drawing one rich bar per stage."""
    if not enabled or not err_console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
