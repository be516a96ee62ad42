"""Segment transitions and the RFM grid: the hand-worked tiny store (tests/insight/
transitions_fixtures.py) on every engine, and the same figures computed a second way, in plain
Python over the raw rows of a generated store."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from segmentry.app.insight import transitions as service
from segmentry.app.insight.rfm_grid import month_ends, rfm_grid
from segmentry.app.insight.transitions import NONE_KEY, flow_members, transitions
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app as cli
from segmentry.connectors.demo import generate_store
from segmentry.core.errors import SegmentError

from .transitions_fixtures import END, GROUP, START, workspace

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module", params=["duckdb",
                                         pytest.param("postgres", marks=pytest.mark.postgres)])
def tiny(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         postgres_databases: Callable[[], AbstractContextManager[str]]) -> Iterator[Workspace]:
    """The tiny store on each engine, built once per module (the tests only read it)."""
    folder = tmp_path_factory.mktemp("transitions")
    with ExitStack() as stack:
        url = (f"duckdb://{folder / 'warehouse.duckdb'}" if request.param == "duckdb"
               else stack.enter_context(postgres_databases()))
        ws = workspace(folder / "shop", url)
        try:
            yield ws
        finally:
            ws.close()


# ------------------------------------------------------------------ the tiny store, by hand

# (from, to) → customers, worked out in the fixture's docstring: a stays loyal3 (and is in
# repeat2 too, counted in loyal3); b repeat2 → loyal3; h loyal3 → repeat2 (its 3rd order was
# cancelled); c stays one; e one → repeat2; f one → none (cancelled); d none → one; g never.
HAND_MATRIX = {("loyal3", "loyal3"): 1, ("loyal3", "repeat2"): 1, ("repeat2", "loyal3"): 1,
               ("one", "one"): 1, ("one", "repeat2"): 1, ("one", NONE_KEY): 1,
               (NONE_KEY, "one"): 1}


def test_matrix_of_picked_segments(tiny: Workspace) -> None:
    result = transitions(tiny, START, END, segments=list(GROUP))
    assert {(c.from_key, c.to_key): c.customers for c in result.cells} == HAND_MATRIX
    assert [(p.key, p.before, p.after) for p in result.places] == [
        ("loyal3", 2, 2), ("repeat2", 1, 2), ("one", 3, 2), (NONE_KEY, 1, 1)]
    # a and h are in loyal3 and repeat2 on 03-31; a and b on 06-30
    assert result.overlaps == (2, 2)
    assert result.matrix()[3][3] == 0  # customers in none on both days are not counted


def test_the_group_order_decides(tiny: Workspace) -> None:
    # repeat2 first: loyal3 only keeps those who are not in repeat2 — nobody
    result = transitions(tiny, START, END, segments=["repeat2", "loyal3", "one"])
    assert {(c.from_key, c.to_key): c.customers for c in result.cells} == {
        ("repeat2", "repeat2"): 3, ("one", "one"): 1, ("one", "repeat2"): 1,
        ("one", NONE_KEY): 1, (NONE_KEY, "one"): 1}


@pytest.mark.parametrize(("cell", "customers"), [
    (("one", NONE_KEY), ["f"]), ((NONE_KEY, "one"), ["d"]), (("loyal3", "repeat2"), ["h"]),
    (("loyal3", "loyal3"), ["a"]), (("repeat2", "repeat2"), []),
])
def test_members_behind_a_flow(tiny: Workspace, cell: tuple[str, str], customers: list[str]
                               ) -> None:
    found = flow_members(tiny, START, END, *cell, segments=list(GROUP))
    assert found.column("customer_id").to_pylist() == customers
    assert found.column("email").to_pylist() == [f"{c}@example.jp" for c in customers]


def test_metric_deltas(tiny: Workspace) -> None:
    deltas = {(d.segment, d.metric): d for d in
              transitions(tiny, START, END, segments=list(GROUP)).deltas}
    # each segment's own members: repeat2 is a, b, h then a, b, e, h; one is c, e, f then c, d
    sizes = {k: (int(deltas[k, "customers"].before or 0), int(deltas[k, "customers"].after or 0))
             for k in GROUP}
    assert sizes == {"loyal3": (2, 2), "repeat2": (3, 4), "one": (3, 2)}
    assert deltas["repeat2", "customers"].change == 1
    # loyal3: a and h have 3 orders on 03-31, a and b on 06-30
    assert deltas["loyal3", "avg_orders"].before == deltas["loyal3", "avg_orders"].after == 3
    # orders placed by members on the day they were members, 04-01 … 06-30: b's 3rd (05-01, a
    # repeat2 member that day after it), e's 2nd (06-01) for repeat2; d's first for one
    assert deltas["repeat2", "orders_between"].after == 2
    assert deltas["one", "orders_between"].after == 1
    assert deltas["one", "revenue_between"].after == 3000


def test_history_is_read_not_evaluated(tiny: Workspace, monkeypatch: pytest.MonkeyPatch
                                       ) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a saved segment's query was evaluated")

    monkeypatch.setattr(service, "evaluate_many", refuse)
    assert transitions(tiny, START, END, segments=list(GROUP)).count("one", NONE_KEY) == 1


def test_rfm_group_transitions_by_hand(tiny: Workspace) -> None:
    result = transitions(tiny, START, END, group="rfm", rfm="rules")
    assert result.rfm_source == "rfm_segment"
    assert {(c.from_key, c.to_key): c.customers for c in result.cells} == {
        ("active", "loyal"): 1,  # a: R5 F3 → 112 days, R3 F3
        ("active", "active"): 1,  # b: R5 F2 → 60 days R4, F3
        ("active", "almost_lost"): 1,  # h: R5 F3 → 146 days, 2 orders
        ("promising", "almost_lost"): 1,  # c: 59 days → 150 days, one order
        ("promising", "active"): 1,  # e: 40 days → 29 days, 2 orders
        ("prospects", "needs_attention"): 1,  # d: no order → 76 days
        ("new", "prospects"): 1,  # f: its only order cancelled
        ("prospects", "prospects"): 1,  # g
    }
    assert result.deltas == []
    same = transitions(tiny, END, END, group="rfm", rfm="rules")  # one day: everyone stays
    assert sum(c.customers for c in same.cells if c.from_key == c.to_key) == 8
    assert all(c.from_key == c.to_key for c in same.cells)


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"segments": list(GROUP), "end": END + dt.timedelta(days=1)}, "not_computed"),
    ({"segments": list(GROUP), "start": END, "end": START}, "bad_range"),
    ({"group": "seasons"}, "unknown_group"),
    ({"group": "lifecycle"}, "empty_group"),
    ({"segments": []}, "no_segments"),
])
def test_refusals(tiny: Workspace, kwargs: dict[str, Any], code: str) -> None:
    kwargs = dict(kwargs)  # the parameters are shared by both engines' runs
    days = {"start": kwargs.pop("start", START), "end": kwargs.pop("end", END)}
    with pytest.raises(SegmentError) as raised:
        transitions(tiny, days["start"], days["end"], **kwargs)
    assert raised.value.code == code


def test_rfm_grid_by_the_rule(tiny: Workspace) -> None:
    grid = rfm_grid(tiny, months=2, source="rules")
    assert grid.source == "rfm_segment"
    assert [d.day for d in grid.days] == [dt.date(2024, 5, 31), END]
    may, june = ({g: n for g, n in d.groups.items() if n} for d in grid.days)
    # 05-31: a 82 days R3 F3; b 30 days R5 F3; c 120 days R3 F1; d 46 days R4 F1;
    # e 101 days R3 F1; h 116 days R3 F2; f (cancelled) and g without an order
    assert may == {"LOYAL": 1, "ACTIVE": 1, "NEEDS_ATTENTION": 3, "PROMISING": 1,
                   "PROSPECTS": 2}
    assert june == {"LOYAL": 1, "ACTIVE": 2, "ALMOST_LOST": 2, "NEEDS_ATTENTION": 1,
                    "PROSPECTS": 2}
    assert [d.customers for d in grid.days] == [8, 8]
    assert grid.share(grid.days[1], "ACTIVE") == 2 / 8
    assert {k: n for k, n in grid.rf.items() if n} == {
        (3, 3): 1, (4, 3): 1, (2, 1): 1, (3, 1): 1, (5, 2): 1, (2, 2): 1}


def test_rfm_grid_with_shopify_groups(tiny: Workspace) -> None:
    grid = rfm_grid(tiny, months=2)  # observed from 05-01: every month shown has them
    assert grid.source == "rfm_group" and grid.first_observed == dt.date(2024, 5, 1)
    assert [{g: n for g, n in d.groups.items() if n} for d in grid.days] == [
        {"CHAMPIONS": 1, "NEW": 1}, {"LOYAL": 1, "NEW": 1}]
    assert [d.grouped for d in grid.days] == [2, 2]
    assert grid.share(grid.days[0], "NEW") == 0.5
    # three months would show 04-30, before the first observation: the rule instead
    assert rfm_grid(tiny, months=3, with_rf=False).source == "rfm_segment"
    forced = rfm_grid(tiny, months=3, source="shopify", with_rf=False)
    assert forced.source == "rfm_group" and forced.days[0].grouped == 0


def test_rfm_grid_without_shopify(warehouse_url: str, tmp_path: Path) -> None:
    ws = workspace(tmp_path / "plain", warehouse_url, statistics=False)
    try:
        grid = rfm_grid(ws, months=1, with_rf=False)
        assert grid.source == "rfm_segment" and grid.first_observed is None
        assert grid.days[0].groups["PROSPECTS"] == 2
    finally:
        ws.close()


def test_month_ends() -> None:
    assert month_ends(dt.date(2023, 12, 31), dt.date(2024, 3, 31)) == [
        dt.date(2023, 12, 31), dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)]


# ------------------------------------------------------------------ the command line


def test_cli(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "shop")
    ws.close()
    runner = CliRunner()
    base = ["-w", str(tmp_path / "shop"), "insight", "transitions", "--from", "2024-03-31",
            "--to", "2024-06-30", "--segments", ",".join(GROUP)]
    out = runner.invoke(cli, [*base, "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert {(f["from"], f["to"]): f["customers"] for f in data["flows"]} == HAND_MATRIX
    assert data["matrix"][2] == [0, 1, 1, 1]  # one → loyal3, repeat2, one, none
    csv_file = tmp_path / "flow.csv"
    out = runner.invoke(cli, [*base, "--flow", "one:none", "--csv", str(csv_file)])
    assert out.exit_code == 0, out.output
    assert csv_file.read_text(encoding="utf-8").splitlines() == [
        "customer_id,email,first_name,last_name", "f,f@example.jp,F,"]
    out = runner.invoke(cli, ["-w", str(tmp_path / "shop"), "insight", "rfm", "--months", "2",
                              "--source", "rules", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["days"][1]["counts"]["ACTIVE"] == 2
    out = runner.invoke(cli, [*base[:-2], "--group", "nope"])
    assert out.exit_code != 0


# ------------------------------------------------------------------ a second computation

THRESHOLDS = {"loyal3": lambda n: n >= 3, "repeat2": lambda n: n >= 2, "one": lambda n: n == 1}
PAIRS = [(dt.date(2025, 1, 31), dt.date(2025, 4, 30)), (dt.date(2024, 9, 30),
                                                         dt.date(2025, 6, 30))]
GENERATED_END = dt.date(2025, 6, 30)


def _local(ts: Any) -> dt.date | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=dt.UTC).astimezone(TOKYO).date()


def _orders_on(orders: pa.Table, day: dt.date) -> tuple[Counter[str], dict[str, dt.date]]:
    """Valid orders per customer at the end of ``day`` and each one's last order day."""
    count: Counter[str] = Counter()
    last: dict[str, dt.date] = {}
    for row in orders.select(["customer_id", "processed_at", "cancelled_at"]).to_pylist():
        placed, cancelled = _local(row["processed_at"]), _local(row["cancelled_at"])
        assert placed is not None
        if placed <= day and (cancelled is None or cancelled > day):
            count[row["customer_id"]] += 1
            last[row["customer_id"]] = max(last.get(row["customer_id"], placed), placed)
    return count, last


def _reference_matrix(orders: pa.Table, start: dt.date, end: dt.date) -> dict[tuple[str, str],
                                                                               int]:
    def places(day: dt.date) -> dict[str, str]:
        counts, _ = _orders_on(orders, day)
        return {c: next(k for k in GROUP if THRESHOLDS[k](n)) for c, n in counts.items() if n}

    before, after = places(start), places(end)
    return dict(Counter((before.get(c, NONE_KEY), after.get(c, NONE_KEY))
                        for c in set(before) | set(after)))


def _scores(n: int, days: int) -> tuple[int, int]:
    recency = next((5 - i for i, d in enumerate((30, 60, 120, 240)) if days <= d), 1)
    frequency = 5 if n >= 6 else 4 if n >= 4 else n
    return recency, frequency


def _rule(n: int, days: int) -> str:
    """segmentry's RFM group of a buyer (docs/metrics.md), written out again."""
    r, f = _scores(n, days)
    for test, group in (
            (r >= 4 and f >= 4, "CHAMPIONS"), (r == 5 and f == 1, "NEW"),
            (r == 4 and f == 1, "PROMISING"), (r >= 4, "ACTIVE"), (r == 3 and f >= 3, "LOYAL"),
            (r == 3, "NEEDS_ATTENTION"), (r == 2 and f >= 3, "AT_RISK"), (r == 2, "ALMOST_LOST"),
            (f >= 4, "PREVIOUSLY_LOYAL")):
        if test:
            return group
    return "DORMANT"


@pytest.fixture(scope="module")
def generated() -> dict[str, pa.Table]:
    return generate_store(300, seed=5, end_date=GENERATED_END, shop_id="gen")


def test_second_computation_over_raw_rows(warehouse_url: str, tmp_path: Path,
                                          generated: dict[str, pa.Table]) -> None:
    ws = Workspace.create(tmp_path / "gen", warehouse_url=warehouse_url)
    try:
        ws.import_tables(generated)
        ws.run(GENERATED_END)
        for key, query in (("loyal3", "number_of_orders >= 3"),
                           ("repeat2", "number_of_orders >= 2"),
                           ("one", "number_of_orders = 1")):
            ws.add_segment(key, query)
        orders = generated["orders"]
        for start, end in PAIRS:
            result = transitions(ws, start, end, segments=list(GROUP))
            ours = {(c.from_key, c.to_key): c.customers for c in result.cells}
            assert ours == _reference_matrix(orders, start, end), (start, end)
            assert sum(ours.values()) > 100
        # the rule's R × F cells and its groups of buyers on the last day
        grid = rfm_grid(ws, months=1, source="rules")
        counts, last = _orders_on(orders, GENERATED_END)
        cells = Counter(_scores(n, (GENERATED_END - last[c]).days)
                        for c, n in counts.items() if n)
        assert {k: n for k, n in grid.rf.items() if n} == dict(cells)
        champions = sum(n for (r, f), n in cells.items() if r >= 4 and f >= 4)
        assert grid.days[-1].groups["CHAMPIONS"] == champions > 0
        # every group of buyers on each of four month-ends (one evaluation over all days)
        grid = rfm_grid(ws, months=4, source="rules", with_rf=False)
        assert len(grid.days) == 4
        for day in grid.days:
            counts, last = _orders_on(orders, day.day)
            groups = Counter(_rule(n, (day.day - last[c]).days) for c, n in counts.items() if n)
            assert {g: n for g, n in day.groups.items() if n and g != "PROSPECTS"} == groups
    finally:
        ws.close()
