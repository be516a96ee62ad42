"""Finding the texts a user can read in segmentry's Python source, for ``pybabel extract``.

Babel's own Python extractor finds ``_("…")`` calls; segmentry's errors carry their English
template and hint as arguments instead (``SegmentError("There is no segment named {name!r}.",
hint=…)``), so this extractor finds those too (``babel.cfg`` names it):

* ``_``/``N_``/``gettext`` calls, and :class:`segmentry.core.errors.Text` (a translatable phrase);
* the first argument and the ``hint=`` of a call to an error class (:data:`ERROR_CALLS`, or a
  name ending in ``Error``), and the second of ``_error(pos, template, …)`` (the query
  language's helper);
* a string assigned to ``message``, ``hint`` or a name ending in ``_HINT``, the strings of a
  table whose name ends in ``_HINTS`` (the query language's, the web's) and of the web's
  ``_HTTP_ERRORS``.

>>> import io
>>> source = (b'raise SegmentError("There is no segment named {name!r}.", code="x",\\n'
...           b'                   hint="See the list.", params={"name": name})\\n')
>>> [(line, text) for line, _, text, _ in extract_python(io.BytesIO(source), (), (), {})]
[(1, 'There is no segment named {name!r}.'), (2, 'See the list.')]
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

__all__ = ["ERROR_CALLS", "GETTEXT_CALLS", "extract_python", "used_messages"]

# Error classes whose names do not end in "Error" (tests/i18n checks that this list, with the
# names ending in "Error", covers every subclass of SegmentryError).
ERROR_CALLS = frozenset({"JobBusy", "LoginLocked", "MissingScopes", "NotAuthenticated", "_error"})
GETTEXT_CALLS = frozenset({"_", "N_", "gettext", "Text"})
_CODE = re.compile(r"[a-z_]*")  # an error code, not a text
_BUILTIN = frozenset(dir(builtins))  # ValueError(…) and the like are for programmers


def used_messages(folder: Path, mapping: Path) -> dict[str, list[str]]:
    """Every message id in ``folder`` → where it is used (``path:line``, relative to it), found
    as ``pybabel extract -F mapping folder`` finds them (``mapping``: the repository's
    ``babel.cfg``)."""
    with mapping.open(encoding="utf-8") as file:
        method_map, options_map = parse_mapping_cfg(file)
    found: dict[str, list[str]] = {}
    for path, line, message, _, _ in extract_from_dir(str(folder), method_map, options_map):
        if isinstance(message, str):
            found.setdefault(message, []).append(f"{path}:{line}")
    return found


def extract_python(
    fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel's extraction method: ``(line, function, message, comments)`` per text found."""
    tree = ast.parse(fileobj.read().decode(options.get("encoding", "utf-8")))
    for node in ast.walk(tree):
        for where, expression in _texts_of(node):
            for text in _strings(expression):
                yield getattr(expression, "lineno", where), "", text, []


def _texts_of(node: ast.AST) -> Iterator[tuple[int, ast.expr]]:
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.Call):
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if name in GETTEXT_CALLS or name in ERROR_CALLS or (
                name.endswith("Error") and name not in _BUILTIN):
            first = 1 if name == "_error" and not _is_def_site(node) else 0
            yield from ((line, a) for a in node.args[first:first + 1])
            yield from ((line, k.value) for k in node.keywords if k.arg == "hint")
    elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = {getattr(n, "id", "") for t in targets for n in ast.walk(t)}
        if names & {"message", "hint", "_HTTP_ERRORS"} or any(
                n.endswith(("_HINT", "_HINTS")) for n in names):
            # a table's keys are what it is looked up by (a character, a CLI hint), not texts
            values = node.value.values if isinstance(node.value, ast.Dict) else [node.value]
            yield from ((line, v) for v in values if v is not None)


def _is_def_site(node: ast.Call) -> bool:
    # limits._error(message, code, …) takes its template first; resolver's self._error(pos, …)
    return isinstance(node.func, ast.Name)


def _strings(expression: ast.expr) -> Iterator[str]:
    """The string constants of ``expression``, not those inside an f-string (no template: it
    cannot be translated, and tests/i18n refuses one in an error the web can raise)."""
    if isinstance(expression, ast.JoinedStr):
        return
    if isinstance(expression, ast.Constant):
        if isinstance(expression.value, str) and not _CODE.fullmatch(expression.value):
            yield expression.value
        return
    for child in ast.iter_child_nodes(expression):
        if isinstance(child, ast.expr):
            yield from _strings(child)
