"""Segment members on the small store against answers worked out by hand, on every engine.

The cases live in ``fixtures/segment_cases.toml`` (query, as-of day, members, why); the store in
``fixtures/small_store.py``. Each case is a subtest, so one run reports every wrong answer.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from segmentry import language
from segmentry.analytics.asof import PREDICTION_COLUMNS
from segmentry.analytics.evaluation import members_on
from segmentry.app.workspace import Workspace
from segmentry.language import ast
from segmentry.language.catalog import ATTRIBUTES, FUNCTIONS

from .fixtures import small_store

CASES_FILE = Path(__file__).parent / "fixtures" / "segment_cases.toml"


@dataclass(frozen=True)
class Case:
    query: str
    day: dt.date
    expect: list[str]
    why: str

    def __str__(self) -> str:
        return f"{self.query} @ {self.day}"


def load_cases() -> tuple[dict[str, str], list[Case]]:
    """(segments to define first, cases) from the fixture file."""
    data = tomllib.loads(CASES_FILE.read_text(encoding="utf-8"))
    default = data["default_day"]
    cases = [
        Case(c["query"], c.get("day", default), c["expect"], c["why"]) for c in data["case"]
    ]
    return data["segments"], cases


SEGMENTS, CASES = load_cases()


def _walk(node: Any) -> list[Any]:
    if isinstance(node, ast.And | ast.Or):
        return [n for item in node.items for n in _walk(item)]
    if isinstance(node, ast.Not):
        return _walk(node.item)
    return [node]


def test_the_cases_are_well_formed_and_cover_the_language() -> None:
    assert len(CASES) >= 35
    leaves = [leaf for case in CASES for leaf in _walk(language.parse(case.query))]
    for case in CASES:
        assert case.expect == sorted(set(case.expect)), f"{case}: keep expect sorted, unique"
        assert set(case.expect) <= set(small_store.CUSTOMER_IDS), case
    attributes = {leaf.attribute for leaf in leaves if hasattr(leaf, "attribute")}
    # The predictive models' outputs are read from stored fits, not from the ledger: their
    # hand-worked as-of cases (latest fit on or before the day, on both engines) are in
    # tests/insight/test_predictive_warehouse.py.
    assert set(ATTRIBUTES) - attributes - set(PREDICTION_COLUMNS) == set(), \
        "attributes without a case"
    calls = [leaf for leaf in leaves if isinstance(leaf, ast.FunctionCondition)]
    for name, spec in FUNCTIONS.items():
        used = {a.name for c in calls if c.name == name for a in c.args}
        assert set(spec.arguments) - used == set(), f"{name} arguments without a case"
        forms = {c.form for c in calls if c.name == name}
        assert forms == {"call", "matches"}, f"{name} needs a case in both forms"


def test_members_match_the_hand_worked_answers(
    small_workspace: Workspace, subtests: pytest.Subtests
) -> None:
    ws = small_workspace
    for name, query in SEGMENTS.items():  # referenced as `segments CONTAINS 'name'`
        ws.add_segment(name, query)
    con = ws.warehouse
    for case in CASES:
        with subtests.test(msg=str(case)):
            condition = ws.validate(case.query)
            got = con.to_pyarrow(members_on(con, condition, case.day))
            assert sorted(got["customer_id"].to_pylist()) == case.expect, case.why


def test_stored_segments_agree_with_their_cases(small_workspace: Workspace) -> None:
    """A segment's stored history gives the members its query gives as of any day."""
    ws = small_workspace
    ws.add_segment("line-fans", SEGMENTS["line-fans"])
    answers = {
        dt.date(2024, 2, 25): ["c01", "c02", "c13"],
        dt.date(2024, 4, 29): ["c01", "c02"],
        dt.date(2024, 4, 30): ["c01", "c02", "c12"],
    }
    for day, expect in answers.items():
        assert ws.members("line-fans", as_of=day)["customer_id"].to_pylist() == expect, day
