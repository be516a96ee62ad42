"""The fixture files: valid queries with their canonical text, invalid ones with their errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from segmentry import language
from segmentry.core.errors import QueryError

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Case:
    query: str
    expected: str  # what follows the marker
    line: int  # where the case starts in its file, for the test id

    def __str__(self) -> str:
        return f"line {self.line}"


def _cases(name: str, marker: str) -> list[Case]:
    """Blocks of query lines, each closed by a line starting with ``marker``."""
    cases: list[Case] = []
    query: list[str] = []
    start = 0
    for number, line in enumerate((FIXTURES / name).read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(marker):
            cases.append(Case("\n".join(query), line[len(marker) :].strip(), start))
            query = []
        elif not query and (not line.strip() or line.startswith("#")):
            continue
        else:
            start = start if query else number
            query.append(line)
    assert not query, f"{name}: a query without its '{marker}' line at line {start}"
    return cases


VALID = _cases("valid.txt", "-->")
INVALID = _cases("invalid.txt", "!!")


def test_there_are_enough_cases() -> None:
    assert len(VALID) >= 40
    assert len(INVALID) >= 30
    assert any("\n" in case.query for case in VALID)
    assert sum(case.expected.split()[1].startswith("2:") for case in INVALID) >= 3


@pytest.mark.parametrize("case", VALID, ids=str)
def test_valid_query(case: Case, segments: Callable[[str], str | None]) -> None:
    parsed = language.parse(case.query)
    assert language.to_text(parsed) == case.expected
    assert language.parse(case.expected) == parsed  # the canonical text means the same
    language.validate(case.query, segments=segments)  # names and types are right too


@pytest.mark.parametrize("case", INVALID, ids=str)
def test_invalid_query(case: Case, segments: Callable[[str], str | None]) -> None:
    code, where, text = case.expected.split(" ", 2)
    line, column = (int(n) for n in where.split(":"))
    with pytest.raises(QueryError) as caught:
        language.validate(case.query, segments=segments)
    error = caught.value
    assert (error.code, error.line, error.column) == (code, line, column), str(error)
    assert text in f"{error.message}\n{error.hint}", str(error)
    assert error.end_column > error.column
    # NOTE: no lark class or rule names may reach the user.
    assert not any(w in str(error) for w in ("Token", "Tree", "_LPAR", "NAME", "$END", "lark"))
