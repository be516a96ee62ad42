"""Errors in the reader's language: the core raises a code, an English template and params
(:mod:`segmentry.core.errors`); each interface shows them through the catalogue, with hints of
its own.

An interface's ``hints`` table says what its user can do next, in its own terms: keyed by an
error code (``"lock_held"``) or by the English hint a raise site gives, its value is the hint to
show (None: show none). The web's table speaks of pages and buttons
(:mod:`segmentry.web.hints`), the CLI's of commands (:mod:`segmentry.cli.hints`), so a shop
manager on the web never reads a command line.

* A raise site's own hint (plain advice, e.g. ``Did you mean {guess!r}?``) is shown, or what
  the table gives for its English template; the table's hint for the error's code is shown
  when the raise site gives none. Either is filled in with the error's params.
* An error that wraps another (a failed run) names the other's code as its param ``cause``
  and the other's message as its param ``detail`` (a :class:`Text`); without a hint of its
  own it shows the table's hint for the cause's code, filled in with the cause's params.

>>> from segmentry.core.errors import SegmentError
>>> e = SegmentError("There is no segment named {name!r}.", code="unknown_segment",
...                  params={"name": "vip"})
>>> message, hint = error_text(e, "ja", {
...     "unknown_segment": "Open the Segments page to see every segment."})
>>> message
'「vip」というセグメントはありません。'
>>> hint
'「セグメント」ページですべてのセグメントを確認できます。'
>>> error_text(e, "en")
("There is no segment named 'vip'.", None)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from segmentry.core.errors import ERROR_FIELDS, SegmentryError, Text, stored_error
from segmentry.i18n.catalogue import N_, lookup

__all__ = ["GISTS", "Hints", "coded_text", "error_body", "error_text", "plain_text",
           "stored_error_body"]

Hints = Mapping[str, str | None]
_NO_HINTS: Hints = {}

# An error whose template the catalogue lacks (one from a plug-in, or a stored failure whose
# wording has since changed) still gives a reader of another language the gist, by its code.
GISTS: dict[str, str] = {
    "invalid_token": N_("Shopify did not accept the access token (invalid, revoked or expired)."),
    "missing_scopes": N_("The access token lacks access scopes it needs."),
    "access_denied": N_("Shopify denied access."),
    "throttled": N_("Shopify is limiting requests; try again in a while."),
    "unavailable": N_("Shopify cannot be reached; try again in a while."),
    "graphql": N_("Shopify did not accept the request."),
    "bulk_failed": N_("A Shopify bulk operation failed."),
    "bulk_timeout": N_("A Shopify bulk operation did not finish in time."),
    "api_version": N_("Shopify does not know the API version asked for."),
    "uninstalled": N_("The segmentry app was uninstalled from the shop."),
    "not_connected": N_("This workspace is not connected to Shopify."),
    "clear_incomplete": N_("Shopify refused some tag removals."),
    "segment_refused": N_("Shopify refused to create the segment."),
    "tag_taken": N_("This tag is already used by another segment."),
    "tag_in_use": N_("Customers outside segmentry's management already carry this tag."),
    "not_bound": N_("This segment is not synced to a Shopify tag."),
    "not_shopify_expressible": N_("Shopify's segment language cannot express this condition."),
    "secrets": N_("The Shopify connection details cannot be read."),
    "secrets_permissions": N_("Other users can read the file with the Shopify connection details."),
    "import": N_("The file could not be imported."),
    "config": N_("The workspace's settings have a problem."),
    "workspace": N_("The workspace cannot be opened."),
    "engine": N_("The analytics database failed."),
    "line_invalid_token": N_("LINE did not accept the channel access token."),
    "line_quota_exhausted": N_("LINE's monthly message quota is used up."),
    "line_unavailable": N_("LINE cannot be reached; try again in a while."),
    "line_refused": N_("LINE refused the request."),
}
_UNKNOWN = N_("This could not be done (error code: {code}).")


def error_text(error: SegmentryError, lang: str,
               hints: Hints = _NO_HINTS) -> tuple[str, str | None]:
    """The message and hint of ``error`` for a reader of ``lang`` (hints: see the module)."""
    translate = _words(lang, hints)
    message = _shown(error.template, error, translate)
    if message is None:
        gist = GISTS.get(error.code)
        message = translate(gist) if gist else None
        if message is None:
            message = (lookup(lang, _UNKNOWN) or _UNKNOWN).format(code=error.code)
    if error.hint_template is not None:
        return message, _shown(error.hint_template, error, translate)
    return message, _code_hint(error, hints, translate)


def _code_hint(error: SegmentryError, hints: Hints,
               translate: Callable[[str], str | None]) -> str | None:
    """The interface's hint for the code of ``error``, else for that of the error it wraps
    (its ``cause``; see the module)."""
    params: Mapping[str, object] = error.params
    template = hints.get(error.code)
    if error.code not in hints:
        cause, detail = params.get("cause"), params.get("detail")
        template = hints.get(cause) if isinstance(cause, str) else None
        params = detail.params if isinstance(detail, Text) else {}
    if template is None or translate(template) is None:
        return None
    try:
        return Text(template, params).render(translate) if params else translate(template)
    except (KeyError, IndexError):
        # NOTE: the hint is written apart from the raise sites of its code; one that lacks a
        # param the hint names (a plug-in's error, say) gets no hint rather than a crash.
        return None


def _words(lang: str, hints: Hints) -> Callable[[str], str | None]:
    """English template → its text in ``lang`` (None: not in the catalogue), an interface's
    own hint put in place of a raise site's."""

    def translate(template: str) -> str | None:
        if template in hints:
            replaced = hints[template]
            if replaced is None:
                return None
            template = replaced
        return template if lang == "en" else lookup(lang, template)

    return translate


def _shown(template: str | None, error: SegmentryError,
           translate: Callable[[str], str | None]) -> str | None:
    """``template`` filled in with the error's params in the reader's language (None: no
    template, or none in that language: a missing hint is left out rather than shown in
    English)."""
    if template is None or translate(template) is None:
        return None
    if error.params:
        return Text(template, error.params).render(translate)
    return translate(template)


def coded_text(code: str | None, text: Text, lang: str,
               hints: Hints = _NO_HINTS) -> tuple[str, str | None]:
    """A coded text that is not an error (a rejected row's reason, a sync's note) for a reader
    of ``lang``: the text in the catalogue's words (English when it has none) and the
    interface's hint for ``code``, both filled in with the text's params.

    >>> from segmentry.core.errors import Text
    >>> reason = Text("no such column in the file", {"key": "total", "header": "合計"})
    >>> coded_text("mapped_column_missing", reason, "en", {"mapped_column_missing":
    ...                                                    "--map {key}={header}"})
    ('no such column in the file', '--map total=合計')
    """
    translate = _words(lang, _NO_HINTS)
    shown = text.render(lambda t: translate(t) or t)
    template = hints.get(code) if code is not None else None
    if template is None or translate(template) is None:  # no hint rather than one in English
        return shown, None
    try:
        return shown, Text(template, text.params).render(translate)
    except (KeyError, IndexError):  # NOTE: as in _code_hint: a hint lacking a param is left out
        return shown, None


def plain_text(error: SegmentryError, hints: Hints = _NO_HINTS) -> str:
    """``error`` as one line of English: its message, then its hint in brackets (the raise
    site's, else the one ``hints`` gives for its code).

    >>> from segmentry.core.errors import SegmentError
    >>> e = SegmentError("There is no segment named {name!r}.", code="unknown_segment",
    ...                  params={"name": "vip"})
    >>> plain_text(e), plain_text(e, {"unknown_segment": "See the list."})
    ("There is no segment named 'vip'.", "There is no segment named 'vip'. (See the list.)")
    """
    message, hint = error_text(error, "en", hints)
    return f"{message} ({hint})" if hint else message


def error_body(error: SegmentryError, lang: str, hints: Hints = _NO_HINTS) -> dict[str, object]:
    """``error.to_dict()`` (the API's error shape) with its message and hint in ``lang``."""
    body = error.to_dict()
    body["message"], body["hint"] = error_text(error, lang, hints)
    return body


def stored_error_body(record: object, lang: str,
                      hints: Hints = _NO_HINTS) -> dict[str, object] | None:
    """A failure kept with :func:`segmentry.core.errors.error_record` (a run's, a job's) as
    :func:`error_body` in ``lang``; None when ``record`` (a mapping or an object with those
    fields) kept none, e.g. a row stored by an older release, which has its English text only.

    >>> record = {"error_code": "writes_refused", "error_params": '{"failed": 2}',
    ...           "error_template": "{failed} write(s) refused by Shopify"}
    >>> stored_error_body(record, "ja")["message"]
    'Shopifyが 2 件の書き込みを拒否しました。'
    """
    fields = record if isinstance(record, Mapping) else {
        name: getattr(record, name, None) for name in ERROR_FIELDS}
    error = stored_error(fields)
    return None if error is None else error_body(error, lang, hints)
