"""What a web user can do next, in the web's terms: pages and buttons, never a command line.

Errors come from the core with a code, an English template and params, and a hint only when it
is plain advice any interface can show; the advice that names where to act is each interface's,
by the error's code (the CLI's names commands: :mod:`segmentry.cli.hints`). :data:`WEB_HINTS`
(keyed by an error code or by a raise site's English hint; see :mod:`segmentry.i18n.errors`)
gives the web's hint, itself an English message id translated through the catalogue.
``tests/i18n`` fails when a hint the web shows names a command or an option.
"""

from __future__ import annotations

from segmentry.core.errors import SegmentryError
from segmentry.i18n import errors as i18n_errors
from segmentry.i18n.errors import Hints

__all__ = ["WEB_HINTS", "error_body", "error_text", "stored_error_body"]

# An error code, or a hint a raise site gives by its English template → what a web user can do
# (None: no hint; the builder offers the "did you mean" suggestion as a button). The CLI's hints
# for the same codes name commands (segmentry.cli.hints).
WEB_HINTS: Hints = {
    # --- the workspace and its warehouse
    "lock_held": "Wait for it to finish (see the Runs page); nothing was changed.",
    # the server always has its workspace; were it gone, a shop manager cannot create one
    "not_a_workspace": None,
    "warehouse_locked":
        "Another segmentry process is writing; wait for it to finish and try again.",
    # --- segments
    "unknown_segment": "Open the Segments page to see every segment.",
    "renamed_segment": "Its page is now at /segments/{key}.",
    "not_computed": "Press “Run now” on the Runs page, or wait for the daily run.",
    "Run the daily pipeline first.": "Press “Run now” on the Runs page, or wait for the daily run.",
    "day_in_past": "Press “Recompute history” on the segment's page, or choose a later day.",
    "withheld_field": "Define the segment without {attribute}, or ask the app's developer to get "
    "it approved for protected customer data; the next run then reads the data.",
    # --- the query language
    "docs/segment-language.md lists every attribute.":
        "The condition picker lists the common attributes.",
    "did you mean {guess!r}?": None,
    # --- source files (a run reads them; settings in segmentry.toml)
    "bad_rows": "Fix these rows in the file; the next run reads it again.",
    "bad_rows_repeated_orders":
        "Fix these rows in the file; the next run reads it again. If the file has one row per "
        "order line, ask whoever set up segmentry to mark this source as one row per order line "
        "(rows = 'line') and map its line columns (sku, quantity, unit_price).",
    "missing_columns":
        "Name the file's columns in the source's mapping (ask whoever set up segmentry). "
        "The file's columns: {columns}.",
    "missing_line_columns":
        "Name the file's columns in the source's mapping (ask whoever set up segmentry). "
        "The file's columns: {columns}. A file with one row per order and no line columns "
        "needs rows = 'order' on the source.",
    "line_columns_in_order_rows":
        "Mark this source as one row per order line (rows = 'line') for a file with one row "
        "per order line.",
    # the reason of one rejected row (BadRow.code)
    "mapped_column_missing":
        "the source's mapping names the column {header} for {key}; check its name in the file",
    "required_column_missing":
        "name the file's column for {keys} in the source's mapping (ask whoever set up segmentry)",
    "export_columns":
        "Columns are found by their header names: export the file again from the Shopify admin "
        "({page} → Export) and keep its header row as it is; the next run reads it again.",
    "bad_byte_utf8":
        "The file is read as UTF-8 (its text is UTF-8). Correct or delete that byte (part of a "
        "damaged character), or, if the whole file is Shift_JIS, ask whoever set up segmentry "
        "to set encoding = 'cp932' for this source.",
    "bad_byte_shift_jis":
        "The file is read as Shift_JIS (most of its text is not UTF-8). Save it as CSV UTF-8, or "
        "ask whoever set up segmentry to set encoding = 'utf-8' for this source if it is UTF-8.",
    "bad_byte_given_encoding":
        "Check the source's encoding setting (ask whoever set up segmentry), or remove it to "
        "have the encoding chosen from the file.",
    # --- Shopify
    "not_connected": "Connect the shop on the Settings page.",
    "invalid_token":
        "Connect again on the Settings page the way the app was made: an Admin API access token "
        "for an app made in the Shopify admin, the client ID and secret for a Dev Dashboard app, "
        "or the OAuth install for an app distributed to several stores.",
    "uninstalled":
        "Install the app again, then enter its new token under Reconnect on the Settings page.",
    "no_client_secret":
        "Enter the app's client secret (Dev Dashboard → your app → Settings) on the Settings "
        "page.",
    "token_refused":
        "Check the app's client ID and secret in the Dev Dashboard and that the app is "
        "installed in the shop, then connect again on the Settings page.",
    "secrets_permissions":
        "Ask whoever runs segmentry to make {path} readable by its owner only.",
    "tag_in_use":
        "Choose a new tag (e.g. seg-…), or tick “Take over the tag if customers already carry "
        "it”.",
    # a note of the daily tag sync (SegmentSync.note_code)
    "removed_segment_tag": "ask whoever runs segmentry to clear the tag {tag}",
    "not_bound": "Choose a tag in the Shopify tag sync section of the segment's page.",
    "not_shopify_expressible":
        "Sync the segment as a tag instead, with “Also create a Shopify segment” ticked: "
        "Shopify then gets a segment on the tag.",
    # --- messages (LINE and e-mail)
    "channel_not_configured": "Set up the channel on the Settings page.",
    # --- accounts and sign-in
    "unknown_user": "Ask the person who runs segmentry to add this user.",
    "unknown_token": "See your tokens on the Settings page.",
}


def error_text(error: SegmentryError, lang: str) -> tuple[str, str | None]:
    """The message and hint of ``error`` for a web user reading ``lang``.

    >>> e = SegmentryError("There is no segment named {name!r}.", code="unknown_segment",
    ...                    params={"name": "vip"})
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

