"""What a web user can do next, in place of the hints that speak of the command line.

Errors come from the core with an English hint that may name a command (``Run `segmentry run`.``);
a shop manager on the web has pages and buttons instead. :data:`WEB_HINTS` (keyed by an error
code or by such a hint's English template; see :mod:`segmentry.i18n.errors`) gives the web's
hint, itself an English message id translated through the catalogue. ``tests/i18n`` fails when
a hint the web shows names a command or an option.
"""

from __future__ import annotations

from segmentry.core.errors import SegmentryError
from segmentry.i18n import errors as i18n_errors
from segmentry.i18n.errors import Hints

__all__ = ["WEB_HINTS", "error_body", "error_text", "stored_error_body"]

# An error code, or a hint that speaks of the CLI by its English template → what a web user can
# do instead (None: no hint; the builder offers the "did you mean" suggestion as a button).
# NOTE: the templates below are hints raise sites still give; moving each to a code (its CLI
# hint to segmentry.cli.hints) leaves the core free of command lines.
WEB_HINTS: Hints = {
    "See `segmentry segments list`.": "Open the Segments page to see every segment.",
    "Run `segmentry run` for that day first.":
        "Press “Run now” on the Runs page, or wait for the daily run.",
    "Run `segmentry run`.": "Press “Run now” on the Runs page, or wait for the daily run.",
    "Run the daily pipeline first.": "Press “Run now” on the Runs page, or wait for the daily run.",
    "lock_held": "Wait for it to finish (see the Runs page); nothing was changed.",
    "DuckDB allows one writer: stop the other segmentry process (see `segmentry runs`) and "
    "try again.": "Another segmentry process is writing; wait for it to finish and try again.",
    "unknown_user": "Ask the person who runs segmentry to add this user.",
    "Recompute history with `segmentry segments edit` or run a later day.":
        "Press “Recompute history” on the segment's page, or choose a later day.",
    "docs/segment-language.md lists every attribute.":
        "The condition picker lists the common attributes.",
    "did you mean {guess!r}?": None,
    # the server always has its workspace; were it gone, a shop manager cannot create one
    "not_a_workspace": None,
    "Use the new key {key!r} in addresses, commands and API calls.":
        "Its page is now at /segments/{key}.",
    # connectors, settings (src/segmentry/connectors, config.py)
    "The file is read as UTF-8 (its text is UTF-8). Correct or delete that byte (part of a "
    "damaged character), or, if the whole file is Shift_JIS, import it with --encoding cp932.":
        "The file is read as UTF-8 (its text is UTF-8). Correct or delete that byte (part of a "
        "damaged character), or, if the whole file is Shift_JIS, ask whoever set up segmentry "
        "to set encoding = 'cp932' for this source.",
    "The file is read as Shift_JIS (most of its text is not UTF-8). Save it as CSV UTF-8, or "
    "import it with --encoding utf-8 if it is UTF-8.":
        "The file is read as Shift_JIS (most of its text is not UTF-8). Save it as CSV UTF-8, or "
        "ask whoever set up segmentry to set encoding = 'utf-8' for this source if it is UTF-8.",
    "Check the --encoding option, or leave it out to have it chosen.":
        "Check the source's encoding setting (ask whoever set up segmentry), or remove it to "
        "have the encoding chosen from the file.",
    "Fix these rows, or import with --skip-bad-rows to load the other rows and write the "
    "rejected ones to a CSV file.": "Fix these rows in the file; the next run reads it again.",
    "Fix these rows, or import with --skip-bad-rows to load the other rows and write the "
    "rejected ones to a CSV file. If the file has one row per order line, import it with --rows "
    "line and map its line columns (sku, quantity, unit_price).":
        "Fix these rows in the file; the next run reads it again. If the file has one row per "
        "order line, ask whoever set up segmentry to mark this source as one row per order line "
        "(rows = 'line') and map its line columns (sku, quantity, unit_price).",
    "Columns are found by their header names: export the file again from the Shopify admin "
    "({page} → Export) and import it without editing its header row, or import it as a "
    "generic file with a mapping (--format generic --map canonical=file_column).":
        "Columns are found by their header names: export the file again from the Shopify admin "
        "({page} → Export) and keep its header row as it is; the next run reads it again.",
    "Map the file's columns with --map canonical=file_column (a source's `mapping` in "
    "segmentry.toml). The file's columns: {columns}.":
        "Name the file's columns in the source's mapping (ask whoever set up segmentry). "
        "The file's columns: {columns}.",
    "Map the file's columns with --map canonical=file_column (a source's `mapping` in "
    "segmentry.toml). The file's columns: {columns}. A file with one row per order and no line "
    "columns imports with --rows order (rows = 'order'), or without --rows: it is then "
    "detected.":
        "Name the file's columns in the source's mapping (ask whoever set up segmentry). "
        "The file's columns: {columns}. A file with one row per order and no line columns "
        "needs rows = 'order' on the source.",
    "Use --rows line (rows = 'line') for a file with one row per order line.":
        "Mark this source as one row per order line (rows = 'line') for a file with one row "
        "per order line.",
    "Create or reveal an Admin API access token (Shopify admin → Settings → Apps and sales "
    "channels → Develop apps → your app → API credentials), then run `segmentry connect "
    "shopify --shop {shop} --token …` again or set {env}.":
        "Create or reveal an Admin API access token in Shopify admin (Settings → Apps and sales "
        "channels → Develop apps → your app → API credentials), then enter it under Reconnect "
        "on the Settings page.",
    "Run `chmod 600 {path}`.":
        "Ask whoever runs segmentry to make {path} readable by its owner only.",
    "Set {env} or run `segmentry connect shopify --shop {shop} --token …`.":
        "Enter the access token for {shop} under Reconnect on the Settings page.",
    "Install it again and run `segmentry connect shopify` with the new token.":
        "Install the app again, then enter its new token under Reconnect on the Settings page.",
    "Pass --token or set {env}.": "Enter the access token under Reconnect on the Settings page.",
    "Run `segmentry connect shopify --shop NAME.myshopify.com --token …`.":
        "Connect the shop on the Settings page.",
    "Sync the segment as a tag instead: `segmentry segments sync NAME --tag seg-… "
    "--create-shopify-segment` makes a Shopify segment on the tag.":
        "Sync the segment as a tag instead, with “Also create a Shopify segment” ticked: "
        "Shopify then gets a segment on the tag.",
    "Choose a new tag (e.g. seg-…) or pass --adopt to let segmentry own it.":
        "Choose a new tag (e.g. seg-…), or tick “Take over the tag if customers already carry "
        "it”.",
    "Use `segmentry segments sync NAME --tag …`.":
        "Choose a tag in the Shopify tag sync section of the segment's page.",
    # --- sign-in (signin)
    "unknown_token": "See your tokens on the Settings page.",
}


def error_text(error: SegmentryError, lang: str) -> tuple[str, str | None]:
    """The message and hint of ``error`` for a web user reading ``lang``.

    >>> e = SegmentryError("There is no segment named {name!r}.", code="unknown_segment",
    ...                    hint="See `segmentry segments list`.", params={"name": "vip"})
    >>> message, hint = error_text(e, "ja")
    >>> message
    '「vip」というセグメントはありません。'
    >>> hint
    '「セグメント」ページですべてのセグメントを確認できます。'
    >>> error_text(e, "en")
    ("There is no segment named 'vip'.", 'Open the Segments page to see every segment.')
    """
    return i18n_errors.error_text(error, lang, WEB_HINTS)


def error_body(error: SegmentryError, lang: str) -> dict[str, object]:
    """The API's error shape of ``error`` in ``lang``, with the web's hints."""
    return i18n_errors.error_body(error, lang, WEB_HINTS)


def stored_error_body(record: object, lang: str) -> dict[str, object] | None:
    """A stored failure (a run's, a job's) in ``lang``, with the web's hints."""
    return i18n_errors.stored_error_body(record, lang, WEB_HINTS)

