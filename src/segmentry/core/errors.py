"""The one exception tree of segmentry.

Every error a user can see is a :class:`SegmentryError`. Each carries a stable ``code`` (for
scripts and the JSON API) and a message a shop's CRM manager can act on; ``hint`` says what to do
next, in words every interface can show. Advice that names a command, an option or a page
belongs to the interface, found by the error's code (:mod:`segmentry.cli.hints`,
:mod:`segmentry.web.hints`); ``tests/i18n`` refuses a hint below them that names one.
Third-party errors are wrapped at the boundary with ``raise ... from e``.

    SegmentryError
    ├── ConfigError            workspace config or settings are wrong or missing
    ├── WorkspaceError         no workspace here, or it is damaged
    ├── LockHeldError          another process holds the workspace lock
    ├── QueryError             a segment query is invalid (carries line / column / snippet)
    ├── SegmentError           unknown segment, duplicate name, cycle between segments
    ├── DataImportError        a source file has bad rows (carries file / line / column)
    ├── EngineError            the analytics engine failed or is unreachable
    ├── RunError               a pipeline run failed (wraps the stage's error)
    ├── ShopifyError           the Shopify Admin API refused or failed (invalid_token,
    │                          missing_scopes, throttled, unavailable, uninstalled, …)
    └── MessagingError         a message template, a send or a channel (LINE, e-mail) failed
        ├── LineError          the LINE Messaging API refused or failed (line_invalid_token,
        │                      line_quota_exhausted, line_unavailable, …)
        └── CampaignError      a campaign or one of its steps is wrong (unknown_campaign, …)

Messages are English templates with named parameters (``params``), so an interface can show
them in its user's language: the web app and the CLI look the template up in the gettext
catalogue (:mod:`segmentry.i18n`) and fill in the same parameters. A parameter may itself be a
:class:`Text` (a translatable word or phrase), rendered the same way. ``pybabel extract`` finds
the templates (``babel.cfg``, :mod:`segmentry.i18n.extract`).

>>> e = SegmentError("There is no segment named {name!r}.", code="unknown_segment",
...                  params={"name": "vip"})
>>> e.message, e.template, e.params
("There is no segment named 'vip'.", 'There is no segment named {name!r}.', {'name': 'vip'})
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ERROR_FIELDS",
    "BadRow",
    "CampaignError",
    "ConfigError",
    "DataImportError",
    "EngineError",
    "LineError",
    "LockHeldError",
    "MessagingError",
    "QueryError",
    "RunError",
    "SegmentError",
    "SegmentryError",
    "ShopifyError",
    "Text",
    "WorkspaceError",
    "error_record",
    "or_list",
    "render",
    "stored_error",
]


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Text:
    """A translatable text: an English ``template`` (``str.format`` style) and its ``params``.

    >>> days = Text("{n} days", {"n": 3})
    >>> str(days), days.render({"{n} days": "{n}日"}.get)
    ('3 days', '3日')
    """

    template: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, translate: Callable[[str], str | None] = _same) -> str:
        """The text in the language of ``translate`` (which returns None for unknown ids)."""
        text = translate(self.template) or self.template
        if not self.params:  # nothing to fill in: shown as it is, braces and all
            return text
        return text.format(**{key: render(value, translate) for key, value in self.params.items()})

    def __str__(self) -> str:
        return self.render()


def render(value: object, translate: Callable[[str], str | None] = _same) -> object:
    """``value`` with every :class:`Text` in it rendered by ``translate``."""
    return value.render(translate) if isinstance(value, Text) else value


def or_list(words: Sequence[str | Text]) -> str | Text:
    """``a``, ``a or b``, ``a, b or c`` as a translatable text.

    >>> str(or_list(["a", "b", "c"])), str(or_list(["a"]))
    ('a, b or c', 'a')
    """
    if len(words) == 1:
        return words[0]
    if len(words) == 2:
        return Text("{first} or {second}", {"first": words[0], "second": words[1]})
    return Text("{first}, {rest}", {"first": words[0], "rest": or_list(words[1:])})


class SegmentryError(Exception):
    """Root of every error segmentry raises on purpose."""

    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        # Without params the message and hint are shown as they are (they may hold braces).
        self.template, self.hint_template = message, hint
        self.params: dict[str, object] = dict(params or {})
        if params is not None:
            message = Text(message, self.params).render()
            hint = Text(hint, self.params).render() if hint is not None else None
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"

    def text(self) -> Text:
        """The message as a translatable :class:`Text` (to put inside another error's)."""
        return Text(self.template if self.params else self.message, self.params)

    def hint_text(self) -> Text | None:
        """The hint as a translatable :class:`Text`, if there is one."""
        if self.hint_template is None:
            return None
        return Text(self.hint_template if self.params else self.hint or "", self.params)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of this error (used by the CLI's --json output and the web API)."""
        return {"code": self.code, "message": self.message, "hint": self.hint}


class ConfigError(SegmentryError):
    code = "config"


class WorkspaceError(SegmentryError):
    code = "workspace"


class LockHeldError(SegmentryError):
    code = "lock_held"


class SegmentError(SegmentryError):
    code = "segment"


class EngineError(SegmentryError):
    code = "engine"


class RunError(SegmentryError):
    code = "run_failed"


class ShopifyError(SegmentryError):
    """The Shopify Admin API refused a request or stayed unreachable after retries.

    ``code`` is one of ``invalid_token``, ``missing_scopes``, ``access_denied``, ``throttled``,
    ``unavailable``, ``graphql``, ``bulk_failed``, ``bulk_timeout``, ``api_version``,
    ``uninstalled``, ``not_connected``.
    """

    code = "shopify"


class MessagingError(SegmentryError):
    """A message template, a send or a channel (LINE, e-mail, webhooks) is wrong or refused.

    ``code`` is e.g. ``template_syntax``, ``template_unknown_field``, ``template_unsafe``,
    ``quota_exceeded``, ``channel_token``, ``channel_not_configured``. A template's error
    names its ``line`` (1-based), as a query error does.
    """

    code = "messaging"

    def to_dict(self) -> dict[str, object]:
        line = self.params.get("line")
        return {**super().to_dict(), **({"line": line} if isinstance(line, int) else {})}


class LineError(MessagingError):
    """The LINE Messaging API refused a send for every recipient, stayed unreachable after
    retries, or a message or webhook is not what LINE takes.

    ``code`` is one of ``line_invalid_token``, ``line_quota_exhausted``, ``line_unavailable``,
    ``line_refused``, ``line_invalid_message``, ``line_bad_signature``, ``line_bad_webhook``.
    """

    code = "line"


class CampaignError(MessagingError):
    """A campaign definition or a step is wrong, or names what does not exist.

    ``code`` is one of ``unknown_campaign``, ``campaign_exists``, ``campaign_schedule``,
    ``campaign_holdout``, ``campaign_steps``, ``campaign_time``, ``campaign_condition``,
    ``campaign_file``, ``campaign_coupon``.
    """

    code = "campaign"


class QueryError(SegmentryError):
    """A segment query that cannot be parsed, resolved or compiled.

    ``line`` and ``column`` are 1-based and point at the first character of the problem;
    ``end_column`` (exclusive) lets a UI underline the whole token. ``code`` is stable, e.g.
    ``syntax``, ``unknown_attribute``, ``type_mismatch``, ``segment_cycle``.
    """

    code = "query"

    def __init__(
        self,
        message: str,
        *,
        code: str,
        query: str = "",
        line: int = 1,
        column: int = 1,
        end_column: int | None = None,
        suggestion: str | None = None,
        hint: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint, params=params)
        self.query = query
        self.line = line
        self.column = column
        self.end_column = end_column if end_column is not None else column + 1
        self.suggestion = suggestion

    def snippet(self) -> str:
        """The offending line with a caret under the problem.

        >>> QueryError("x", code="syntax", query="a = 1\\nnumer_of_orders > 1", line=2,
        ...            column=1, end_column=16).snippet()
        'numer_of_orders > 1\\n^^^^^^^^^^^^^^^'
        """
        lines = self.query.splitlines() or [""]
        text = lines[min(self.line, len(lines)) - 1]
        width = max(1, self.end_column - self.column)
        return f"{text}\n{' ' * (self.column - 1)}{'^' * width}"

    def __str__(self) -> str:
        parts = [f"line {self.line}, column {self.column}: {self.message}"]
        if self.query:
            parts.append(self.snippet())
        if self.hint:
            parts.append(self.hint)
        return "\n".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            **super().to_dict(),
            "line": self.line,
            "column": self.column,
            "end_column": self.end_column,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class BadRow:
    """One rejected input row: where it is and why.

    ``reason`` is English, a template filled with ``params``; a reason with a ``code`` gets the
    advice of each interface for that code (which option or setting names a column), so the
    reason itself names none (see :func:`segmentry.i18n.errors.coded_text`).

    >>> str(BadRow("o.csv", 1, "when", "no such column in the file",
    ...            code="mapped_column_missing", params={"key": "processed_at"}))
    "o.csv:1: column 'when': no such column in the file"
    """

    file: str
    line: int
    column: str
    reason: str
    value: str = ""
    code: str | None = None
    params: Mapping[str, object] = field(default_factory=dict)

    def reason_text(self) -> Text:
        """The reason as a translatable :class:`Text`."""
        return Text(self.reason, self.params)

    def __str__(self) -> str:
        shown = f" (value {self.value!r})" if self.value else ""
        return f"{self.file}:{self.line}: column '{self.column}': {self.reason_text()}{shown}"


class DataImportError(SegmentryError):
    """An import that was rejected; ``bad_rows`` lists every problem found (not only the first)."""

    code = "import"

    def __init__(
        self,
        message: str,
        *,
        bad_rows: list[BadRow] | None = None,
        code: str | None = None,
        hint: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint, params=params)
        self.bad_rows: list[BadRow] = list(bad_rows or [])

    def row_lines(self) -> list[str]:
        """The first 20 bad rows, one line each, and how many more there are."""
        shown = self.bad_rows[:20]
        lines = [f"  {row}" for row in shown]
        if len(self.bad_rows) > len(shown):
            lines.append(f"  … and {len(self.bad_rows) - len(shown)} more")
        return lines

    def __str__(self) -> str:
        return "\n".join([self.message, *self.row_lines(), *([self.hint] if self.hint else [])])



# ---------------------------------------------------------------- errors kept for later

# The columns (or fields) a stored error is kept in, so it can be shown later in the reader's
# language: its code, English message and hint templates, and its params as JSON.
ERROR_FIELDS = ("error_code", "error_template", "error_hint", "error_params")


def error_record(error: SegmentryError) -> dict[str, str | None]:
    """``error`` as the values of :data:`ERROR_FIELDS` (see :func:`stored_error`).

    >>> e = RunError("The run for {day} failed: {detail}", params={
    ...     "day": "2026-01-02", "detail": Text("{n} days", {"n": 3})})
    >>> record = error_record(e)
    >>> record["error_code"], record["error_params"]
    ('run_failed', '{"day": "2026-01-02", "detail": {"$text": "{n} days", "params": {"n": 3}}}')
    >>> str(stored_error(record))
    'The run for 2026-01-02 failed: 3 days'
    """
    hint = error.hint_text()
    return {
        "error_code": error.code,
        "error_template": error.text().template,
        "error_hint": hint.template if hint is not None else None,
        "error_params": json.dumps(_plain(error.params), ensure_ascii=False)
        if error.params else None,
    }


def stored_error(record: Mapping[str, Any]) -> SegmentryError | None:
    """The error kept by :func:`error_record` (None for a record without one, such as a row
    stored before errors were kept this way: it has its English text only)."""
    code, template = record.get("error_code"), record.get("error_template")
    if not code or template is None:
        return None
    params = record.get("error_params")
    restored = _restored(json.loads(params)) if params else None
    return SegmentryError(template, code=code, hint=record.get("error_hint"), params=restored)


def _plain(value: object) -> Any:
    """A param as JSON: a :class:`Text` as ``{"$text": …, "params": …}``, other values that are
    not JSON's own as their text."""
    if isinstance(value, Text):
        return {"$text": value.template, "params": _plain(dict(value.params))}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _restored(value: Any) -> Any:
    if isinstance(value, dict) and "$text" in value:
        template: str = value["$text"]
        return Text(template, _restored(value.get("params") or {}))
    if isinstance(value, dict):
        return {k: _restored(v) for k, v in value.items()}
    return value
