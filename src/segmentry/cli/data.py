"""``segmentry import``: load a file (Shopify export, generic CSV/Parquet, Parquet folder) into
the ledger, reporting every bad row; see ``docs/importing.md``."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from segmentry.app.workspace import Workspace
from segmentry.cli.hints import reason_text
from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, fail_on_errors, print_rows
from segmentry.connectors import read_source_rows, shopify_csv
from segmentry.core import config
from segmentry.core.config import SourceSettings
from segmentry.core.errors import BadRow, ConfigError

__all__ = ["import_command", "source_for", "write_rejects"]

Format = Literal["shopify", "generic", "parquet"]
_KINDS: dict[str, Literal["shopify_csv", "generic", "parquet"]] = {
    "shopify": "shopify_csv",
    "generic": "generic",
    "parquet": "parquet",
}


def import_command(
    file: Annotated[
        Path, typer.Argument(help="orders_export.csv, a CSV or Parquet file, or a folder.")
    ],
    customers: Annotated[
        Path | None, typer.Option(help="Shopify customers_export.csv to import with the orders.")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="shopify, generic or parquet (a folder of canonical tables); "
            "default: detected from the file.",
            show_default=False,
        ),
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="generic: canonical=file_column (repeatable).", show_default=False
        ),
    ] = None,
    rows: Annotated[
        str | None,
        typer.Option(
            help="generic: 'order' or 'line' rows (default: line rows when a line column such "
            "as sku or quantity is mapped or in the file, else order rows)."
        ),
    ] = None,
    encoding: Annotated[
        str,
        typer.Option(
            help="CSV files: utf-8 or cp932 (Shift_JIS); auto: chosen from the file's text."
        ),
    ] = "auto",
    skip_bad_rows: Annotated[
        bool, typer.Option(help="Import the good rows; write the rejected ones to a CSV file.")
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Where --skip-bad-rows writes rejected rows (default "
            "<workspace>/rejects-<time>.csv).",
            show_default=False,
        ),
    ] = None,
    save_source: Annotated[
        bool,
        typer.Option(help="Add the file to the sources in segmentry.toml (re-read by `run`)."),
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Import orders and customers from a file into the ledger (re-importing changes nothing).

    By default any bad row stops the import and nothing is written."""
    if rejects is not None and not skip_bad_rows:
        raise typer.BadParameter("--rejects needs --skip-bad-rows", param_hint="--rejects")
    with fail_on_errors(), open_workspace(workspace) as ws, _spill_folder() as spill:
        source = source_for(ws, file, customers, fmt, _parse_mapping(mapping or []), rows)
        source = _with_encoding(source, encoding)
        batch, bad_rows = read_source_rows(source, ws, skip_bad_rows=skip_bad_rows, spill=spill)
        tables = dict(batch.tables())
        stats = ws.import_tables(tables) if tables else {}
        _print_counts(stats, tables)
        if bad_rows:
            _report_rejects(ws, bad_rows, rejects)
        if save_source:
            _save_source(ws, source, bool(bad_rows))


@contextlib.contextmanager
def _spill_folder() -> Iterator[Path]:
    """Where a big file's rows wait between reading and writing (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="segmentry-import-") as folder:
        yield Path(folder)


def _with_encoding(source: SourceSettings, encoding: str) -> SourceSettings:
    """The source read with ``--encoding`` (kept in ``[[sources]]`` by --save-source)."""
    if encoding not in _ENCODINGS:
        raise ConfigError("--encoding must be auto, utf-8 or cp932, not {encoding!r}.",
                          code="unknown_encoding", params={"encoding": encoding})
    if encoding == "auto":
        return source
    return source.model_copy(update={"encoding": _ENCODINGS[encoding]})


_ENCODINGS: dict[str, Literal["auto", "utf-8", "cp932"]] = {
    "auto": "auto", "utf-8": "utf-8", "cp932": "cp932", "shift_jis": "cp932"
}


def _parse_mapping(items: list[str]) -> dict[str, str]:
    """``["order_id=Order No", …]`` → ``{"order_id": "Order No", …}``."""
    found: dict[str, str] = {}
    for item in items:
        canonical, sep, column = item.partition("=")
        if not sep or not canonical.strip() or not column.strip():
            raise typer.BadParameter(f"{item!r} is not canonical=file_column", param_hint="--map")
        found[canonical.strip()] = column.strip()
    return found


def source_for(
    ws: Workspace,
    file: Path,
    customers: Path | None,
    fmt: str | None,
    mapping: dict[str, str],
    rows: str | None,
) -> SourceSettings:
    """The source settings the command's arguments describe (as ``[[sources]]`` would)."""
    chosen = fmt or detect_format(file)
    if chosen not in _KINDS:
        raise ConfigError("Unknown format {format!r}.", code="unknown_format",
                          hint="Use shopify, generic or parquet.", params={"format": chosen})
    if customers is not None and chosen != "shopify":
        raise ConfigError("--customers goes with a Shopify orders export (--format shopify).")
    if (mapping or rows) and chosen != "generic":
        raise ConfigError("--map and --rows describe a generic file (--format generic).")
    if rows not in (None, "auto", "order", "line"):
        raise ConfigError("--rows must be 'order' or 'line', not {rows!r}.", code="unknown_rows",
                          params={"rows": rows})
    settings: dict[str, Any] = {"kind": _KINDS[chosen], "path": _relative(ws, file)}
    if customers is not None:
        settings["customers_path"] = _relative(ws, customers)
    if chosen == "generic":
        settings.update(mapping=mapping, rows=rows or "auto")
    return SourceSettings(**settings)


def detect_format(file: Path) -> str:
    """parquet for a folder, shopify for a Shopify export (by header), else generic.

    >>> detect_format(Path("orders.parquet"))
    'generic'
    """
    if file.is_dir():
        return "parquet"
    if file.suffix.casefold() != ".parquet" and shopify_csv.sniff(file) is not None:
        return "shopify"
    return "generic"


def _relative(ws: Workspace, path: Path) -> str:
    """A path as a source stores it: relative to the workspace when inside it, else absolute."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(ws.folder.resolve()))
    except ValueError:
        return str(resolved)


def _print_counts(stats: dict[str, int], tables: dict[str, Any]) -> None:
    if not tables:
        console.print("Nothing to import: no good rows.")
        return
    rows = []
    for name in tables:
        written, updated = stats.get(name, 0), stats.get(f"{name}_updated", 0)
        rows.append(
            {"table": name, "rows": written, "inserted": written - updated, "updated": updated}
        )
    print_rows(rows, ["table", "rows", "inserted", "updated"], title="Imported")
    if stats.get("customers_stubbed"):
        console.print(f"{stats['customers_stubbed']:,} customer(s) known only by their orders.")
    if stats.get("customer_tag_history"):
        console.print(f"{stats['customer_tag_history']:,} customer tag change(s) recorded.")


def _report_rejects(ws: Workspace, bad_rows: list[BadRow], path: Path | None) -> None:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path or ws.folder / f"rejects-{stamp}.csv"
    write_rejects(bad_rows, target)
    lines = len({(r.file, r.line) for r in bad_rows})
    console.print(
        f"[yellow]{lines:,} row(s) rejected[/] ({len(bad_rows):,} problem(s)); listed in {target}",
        highlight=False,
    )


def write_rejects(bad_rows: list[BadRow], path: Path) -> None:
    """Write rejected rows as CSV: file, line, column, reason, value."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "line", "column", "reason", "value"])
        for row in bad_rows:
            writer.writerow([row.file, row.line, row.column, reason_text(row), row.value])


def _save_source(ws: Workspace, source: SourceSettings, had_rejects: bool) -> None:
    """Append the source to ``[[sources]]`` of segmentry.toml (once; comments kept)."""
    path = ws.folder / config.CONFIG_FILE
    if not config.add_source(ws.folder, source):
        console.print("The source is already in segmentry.toml.")
        return
    console.print(f"Added to [[sources]] in {path}; `segmentry run` re-reads it.", markup=False)
    if had_rejects:
        console.print(
            "[yellow]Note:[/] `segmentry run` refuses a source with bad rows; fix the rejected "
            "rows in the file.",
            highlight=False,
        )
