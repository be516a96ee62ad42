"""What a CLI user can do next: the hints that name commands, by error code.

The core raises an error with a code, an English template and params, and no hint that names
a command (a shop manager on the web must never read one); the CLI adds its own here, the web
its own in :mod:`segmentry.web.hints`. Keys are error codes (or, for errors not yet moved to
codes, the English hint a raise site gives; see :mod:`segmentry.i18n.errors`).
"""

from __future__ import annotations

from segmentry.core.errors import BadRow, DataImportError, SegmentryError
from segmentry.i18n import errors as i18n_errors
from segmentry.i18n.errors import Hints

__all__ = ["CLI_HINTS", "error_text", "reason_text", "row_lines"]

CLI_HINTS: Hints = {
    # --- the workspace and its warehouse
    "lock_held": "Wait for it to finish (see `segmentry runs`); nothing was changed.",
    "not_a_workspace": "Create one with `segmentry init PATH` or `segmentry demo`.",
    "warehouse_locked": "DuckDB allows one writer: stop the other segmentry process (see "
    "`segmentry runs`) and try again.",
    # --- segments
    "unknown_segment": "See `segmentry segments list`.",
    "renamed_segment": "Use the new key {key!r} in addresses, commands and API calls.",
    "not_computed": "Compute it with `segmentry run` (with `--day DAY` for a later day).",
    "day_in_past": "Recompute history with `segmentry segments edit` or run a later day.",
    "withheld_field": "Define the segment without {attribute}, or get the app approved for "
    "protected customer data (Partner Dashboard → API access → Protected customer data) and run "
    "`segmentry run` again: the next sync reads the data.",
    # --- importing files (segmentry import; a run reads the same sources)
    "bad_rows": "Fix these rows, or import with --skip-bad-rows to load the other rows and "
    "write the rejected ones to a CSV file.",
    "bad_rows_repeated_orders": "Fix these rows, or import with --skip-bad-rows to load the "
    "other rows and write the rejected ones to a CSV file. If the file has one row per order "
    "line, import it with --rows line and map its line columns (sku, quantity, unit_price).",
    "missing_columns": "Map the file's columns with --map canonical=file_column (a source's "
    "`mapping` in segmentry.toml). The file's columns: {columns}.",
    "missing_line_columns": "Map the file's columns with --map canonical=file_column (a "
    "source's `mapping` in segmentry.toml). The file's columns: {columns}. A file with one row "
    "per order and no line columns imports with --rows order (rows = 'order'), or without "
    "--rows: it is then detected.",
    "line_columns_in_order_rows":
        "Use --rows line (rows = 'line') for a file with one row per order line.",
    # the reason of one rejected row (BadRow.code), shown after it in brackets
    "mapped_column_missing": "--map {key}={header}",
    "required_column_missing": "name the file's column with --map {key}=COLUMN",
    "export_columns": "Columns are found by their header names: export the file again from the "
    "Shopify admin ({page} → Export) and import it without editing its header row, or import "
    "it as a generic file with a mapping (--format generic --map canonical=file_column).",
    "bad_byte_utf8": "The file is read as UTF-8 (its text is UTF-8). Correct or delete that "
    "byte (part of a damaged character), or, if the whole file is Shift_JIS, import it with "
    "--encoding cp932.",
    "bad_byte_shift_jis": "The file is read as Shift_JIS (most of its text is not UTF-8). Save "
    "it as CSV UTF-8, or import it with --encoding utf-8 if it is UTF-8.",
    "bad_byte_given_encoding":
        "Check the --encoding option, or leave it out to have it chosen.",
    # --- Shopify
    "not_connected": "Run `segmentry connect shopify --shop NAME.myshopify.com --token …`.",
    "coupon_segment": "Make its Shopify segment with `segmentry segments sync {segment} --tag "
    "seg-… --create-shopify-segment`, then run the campaign again (`segmentry campaigns run`).",
    "invalid_token": "Connect again the way the app was made: an app made in the Shopify admin "
    "(before 2026): reveal its Admin API access token and run `segmentry connect shopify --shop "
    "{shop} --token …` or set {env}; a Dev Dashboard app for your own store: `segmentry connect "
    "shopify --shop {shop} --client-id … --client-secret-env VAR`; an app installed by OAuth: "
    "`segmentry connect shopify --shop {shop} --install`.",
    "uninstalled": "Install the app again and run `segmentry connect shopify` with the new "
    "token.",
    "no_client_secret": "Set {env} to the app's client secret (Dev Dashboard → your app → "
    "Settings) and run `segmentry connect shopify --shop {shop} --client-id …` again.",
    "token_refused": "Check the client ID and secret (Dev Dashboard → your app → Settings) and "
    "that the app is installed in the shop; an app installed in a store outside your "
    "organization needs `segmentry connect shopify --install` instead.",
    "oauth_refused": "Nothing was changed. Run `segmentry connect shopify --install` again and "
    "approve the app within 15 minutes.",
    "secrets_permissions": "Run `chmod 600 {path}`.",
    "tag_in_use": "Choose a new tag (e.g. seg-…) or pass --adopt to let segmentry own it.",
    "removed_segment_tag": "`segmentry segments sync {segment} --clear`",
    "not_bound": "Sync it to a tag with `segmentry segments sync {segment} --tag …`.",
    "not_shopify_expressible": "Sync the segment as a tag instead: `segmentry segments sync "
    "NAME --tag seg-… --create-shopify-segment` makes a Shopify segment on the tag.",
    # --- accounts
    "unknown_user": "Add one with `segmentry users add EMAIL`.",
    "unknown_token": "List them with `segmentry tokens list`.",
}

# The CLI speaks English (its messages are in the catalogue all the same, for a --lang to come).
LANG = "en"


def reason_text(row: BadRow) -> str:
    """A rejected row's reason as the CLI shows it, with the CLI's advice for its code.

    >>> reason_text(BadRow("o.csv", 1, "total", "missing required column",
    ...                    code="required_column_missing", params={"key": "total"}))
    "missing required column (name the file's column with --map total=COLUMN)"
    """
    reason, hint = i18n_errors.coded_text(row.code, row.reason_text(), LANG, CLI_HINTS)
    return f"{reason} ({hint})" if hint else reason


def row_lines(error: DataImportError, limit: int = 20) -> list[str]:
    """The first ``limit`` rejected rows of ``error``, one line each (reasons as
    :func:`reason_text` gives them), and how many more there are."""
    lines = []
    for row in error.bad_rows[:limit]:
        shown = f" (value {row.value!r})" if row.value else ""
        lines.append(f"  {row.file}:{row.line}: column '{row.column}': {reason_text(row)}{shown}")
    if len(error.bad_rows) > limit:
        lines.append(f"  … and {len(error.bad_rows) - limit} more")
    return lines


def error_text(error: SegmentryError) -> tuple[str, str | None]:
    """The message and hint of ``error`` as the CLI shows them.

    >>> from segmentry.core.errors import LockHeldError
    >>> error_text(LockHeldError("The workspace {folder} is busy: {who}.",
    ...                          params={"folder": "shop", "who": "process 7"}))[1]
    'Wait for it to finish (see `segmentry runs`); nothing was changed.'
    """
    return i18n_errors.error_text(error, LANG, CLI_HINTS)

