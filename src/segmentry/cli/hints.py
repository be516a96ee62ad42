"""What a CLI user can do next: the hints that name commands, by error code.

The core raises an error with a code, an English template and params, and no hint that names
a command (a shop manager on the web must never read one); the CLI adds its own here, the web
its own in :mod:`segmentry.web.hints`. Keys are error codes (or, for errors not yet moved to
codes, the English hint a raise site gives; see :mod:`segmentry.i18n.errors`).
"""

from __future__ import annotations

from segmentry.core.errors import SegmentryError
from segmentry.i18n import errors as i18n_errors
from segmentry.i18n.errors import Hints

__all__ = ["CLI_HINTS", "error_text"]

CLI_HINTS: Hints = {
    "lock_held": "Wait for it to finish (see `segmentry runs`); nothing was changed.",
    "not_a_workspace": "Create one with `segmentry init PATH` or `segmentry demo`.",
    "unknown_user": "Add one with `segmentry users add EMAIL`.",
    "unknown_token": "List them with `segmentry tokens list`.",
}

# The CLI speaks English (its messages are in the catalogue all the same, for a --lang to come).
LANG = "en"


def error_text(error: SegmentryError) -> tuple[str, str | None]:
    """The message and hint of ``error`` as the CLI shows them.

    >>> from segmentry.core.errors import LockHeldError
    >>> error_text(LockHeldError("The workspace {folder} is busy: {who}.",
    ...                          params={"folder": "shop", "who": "process 7"}))[1]
    'Wait for it to finish (see `segmentry runs`); nothing was changed.'
    """
    return i18n_errors.error_text(error, LANG, CLI_HINTS)

