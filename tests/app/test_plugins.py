"""Plug-ins: a package outside segmentry adds a source kind and a destination (issue 10).

The example plug-in (plugin_example/acme_segmentry.py) is installed the way pip would: a
``.dist-info`` with an entry point in the ``segmentry`` group, on ``sys.path``. Its customers
and orders are hand-made; the joins and leaves the destination must be told of are worked out
below from those rows alone (a customer is in ``repeaters`` on a day when they have 2+ orders
by the end of it, in the shop's time zone), not by segmentry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
import pytest
import tomli_w

from segmentry.app.plugins import (
    Destination,
    Hooks,
    RunOutcome,
    hookimpl,
    plugin_manager,
    source_kinds,
)
from segmentry.app.workspace import Workspace
from segmentry.core.config import CONFIG_FILE, SourceSettings
from segmentry.core.errors import RunError, ShopifyError

EXAMPLE = Path(__file__).parent / "plugin_example" / "acme_segmentry.py"
TOKYO = dt.timedelta(hours=9)
D1, D2 = dt.date(2024, 6, 1), dt.date(2024, 6, 2)
SEGMENTS = {"repeaters": (2, None), "one-order": (1, 1)}  # (fewest, most) orders
QUERIES = {"repeaters": "number_of_orders >= 2", "one-order": "number_of_orders = 1"}

# The CRM file as on D1, then as on D2 (times UTC; a4's order is 01:00 on D2 in Tokyo).
V1: list[dict[str, Any]] = [
    {"id": "a1", "email": "a1@x.jp", "since": "2024-04-01T00:00:00", "orders": [
        {"id": "o1", "at": "2024-05-01T03:00:00", "total": "1200"},
        {"id": "o2", "at": "2024-06-01T03:00:00", "total": "800"}]},
    {"id": "a2", "email": "a2@x.jp", "since": "2024-04-01T00:00:00", "orders": [
        {"id": "o3", "at": "2024-05-10T03:00:00", "total": "500"},
        {"id": "o4", "at": "2024-05-20T03:00:00", "total": "700"}]},
    {"id": "a3", "email": "a3@x.jp", "since": "2024-04-01T00:00:00", "orders": [
        {"id": "o5", "at": "2024-05-15T03:00:00", "total": "900"}]},
    {"id": "a4", "email": "a4@x.jp", "since": "2024-04-01T00:00:00", "orders": []},
]
V2: list[dict[str, Any]] = [
    V1[0], V1[1],
    {**V1[2], "orders": [*V1[2]["orders"], {"id": "o6", "at": "2024-06-02T03:00:00",
                                              "total": "300"}]},
    {**V1[3], "orders": [{"id": "o7", "at": "2024-06-01T16:00:00", "total": "450"}]},
    {"id": "a5", "email": "a5@x.jp", "since": "2024-06-02T00:00:00", "orders": [
        {"id": "o8", "at": "2024-06-02T05:00:00", "total": "600"}]},
]


def _members(people: list[dict[str, Any]], segment: str, day: dt.date) -> set[str]:
    fewest, most = SEGMENTS[segment]
    members = set()
    for person in people:
        count = sum(
            (dt.datetime.fromisoformat(o["at"]) + TOKYO).date() <= day for o in person["orders"]
        )
        if count >= fewest and (most is None or count <= most):
            members.add(person["id"])
    return members


def _moves(
    before: list[dict[str, Any]], people: list[dict[str, Any]], day: dt.date
) -> tuple[dict[str, int], dict[str, int]]:
    """(joined, left) per segment on ``day``, from the rows alone: the members then against
    those the previous day's run recorded (from the rows it read, ``before``)."""
    now = {s: _members(people, s, day) for s in SEGMENTS}
    then = {s: _members(before, s, day - dt.timedelta(days=1)) for s in SEGMENTS}
    return ({s: len(now[s] - then[s]) for s in SEGMENTS},
            {s: len(then[s] - now[s]) for s in SEGMENTS})


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The example plug-in, installed with a real entry point; a fresh plug-in manager."""
    site = tmp_path / "site"
    info = site / "acme_segmentry-1.0.dist-info"
    info.mkdir(parents=True)
    shutil.copy(EXAMPLE, site / "acme_segmentry.py")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-segmentry\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[segmentry]\nacme = acme_segmentry\n")
    monkeypatch.syspath_prepend(str(site))
    sys.modules.pop("acme_segmentry", None)
    plugin_manager.cache_clear()
    try:
        module = plugin_manager().get_plugin("acme")
        assert module is not None, "the entry point was not loaded"
        yield module
    finally:
        plugin_manager.cache_clear()
        sys.modules.pop("acme_segmentry", None)


@pytest.fixture
def shop(acme: ModuleType, tmp_path: Path) -> Iterator[Workspace]:
    """A workspace whose only source is the plug-in's kind, holding V1, with two segments
    computed through D1's eve."""
    folder = tmp_path / "shop"
    Workspace.create(folder).close()
    _configure(folder, "acme_crm")
    with contextlib.closing(Workspace.open(folder)) as ws:
        _write(ws, V1)
        ws.run(D1 - dt.timedelta(days=1))  # segment histories end there, not today
        for name, query in QUERIES.items():
            ws.add_segment(name, query)
        yield ws


def _configure(folder: Path, kind: str) -> None:
    config = tomllib.loads((folder / CONFIG_FILE).read_text("utf-8"))
    config["sources"] = [{"kind": kind, "options": {"file": "crm.json"}}]
    (folder / CONFIG_FILE).write_text(tomli_w.dumps(config), "utf-8")


def _write(ws: Workspace, people: list[dict[str, Any]]) -> None:
    (Path(ws.folder) / "crm.json").write_text(json.dumps(people), "utf-8")


def test_an_installed_plugin_adds_a_source_and_a_destination(
    acme: ModuleType, shop: Workspace
) -> None:
    assert "acme_crm" in source_kinds()
    acme.PUSHED.clear()
    for day, before, people in ((D1, V1, V1), (D2, V1, V2)):
        _write(shop, people)
        report = shop.run(day)
        joined, left = _moves(before, people, day)
        assert acme.PUSHED[-1] == RunOutcome(report.run_id, day, joined, left)
        for segment in SEGMENTS:  # the plug-in's rows were read
            members = set(shop.members(segment, as_of=day)["customer_id"].to_pylist())
            assert members == _members(people, segment, day)
        stages = [(s.stage, s.status) for s in report.stages]
        assert stages == [("ingest", "succeeded"), ("facts", "succeeded"), ("models", "succeeded"),
                          ("segments", "succeeded"), ("metrics", "succeeded"),
                          ("commit", "succeeded"), ("acme_push", "succeeded")]
        recorded = shop.runs(1)[0]["stages"][-1]
        assert (recorded["stage"], recorded["detail"]) == (
            "acme_push", f"sent {sum(joined.values())} joins")
    assert len(acme.PUSHED) == 2
    # Hand-checked: a1 joins repeaters on D1; on D2 a3 joins it and a4 (01:00 Tokyo), a5 join
    # one-order while a3 leaves it.
    assert [(o.joined, o.left) for o in acme.PUSHED] == [
        ({"repeaters": 1, "one-order": 0}, {"repeaters": 0, "one-order": 1}),
        ({"repeaters": 1, "one-order": 2}, {"repeaters": 0, "one-order": 1}),
    ]


def test_a_source_kind_no_plugin_reads_fails_the_run(tmp_path: Path) -> None:
    Workspace.create(tmp_path / "shop").close()
    _configure(tmp_path / "shop", "acme_crm")  # acme is not installed here
    with contextlib.closing(Workspace.open(tmp_path / "shop")) as ws:
        _write(ws, V1)
        with pytest.raises(RunError) as caught:
            ws.run(D1)
        assert ws.runs(1)[0]["status"] == "failed"
    assert "No plug-in reads sources of kind 'acme_crm'" in str(caught.value.text())
    assert "(generic, parquet, shopify, shopify_csv)" in str(caught.value.hint_text())


class _Failing:
    """Two destinations: one that fails as segmentry errors do, one with a bug."""

    @hookimpl
    def segmentry_destinations(self, workspace: Workspace) -> list[Destination]:
        def refused(outcome: RunOutcome) -> str:
            raise ShopifyError("The shop refused the tags.")

        def buggy(outcome: RunOutcome) -> str:
            return str(1 / 0)

        return [Destination("refused", refused), Destination("buggy", buggy)]


def test_a_failing_destination_is_recorded_and_the_run_stands(
    acme: ModuleType, shop: Workspace
) -> None:
    pm = plugin_manager()
    pm.register(_Failing(), name="failing")
    _write(shop, V1)
    report = shop.run(D1)
    assert report.status == "succeeded"
    after = {s.stage: (s.status, s.detail) for s in report.stages[6:]}
    assert after == {"refused": ("failed", "The shop refused the tags."),
                     "buggy": ("failed", "ZeroDivisionError('division by zero')"),
                     "acme_push": ("succeeded", "sent 1 joins")}
    recorded = shop.runs(1)[0]
    assert recorded["status"] == "succeeded"
    assert [s["stage"] for s in recorded["stages"]][6:] == [s.stage for s in report.stages[6:]]
    assert shop.segment("repeaters").computed_through == D1


def test_a_hook_with_an_argument_it_does_not_have_is_refused() -> None:
    class Misspelt:
        @hookimpl
        def segmentry_read_source(self, source: Any, workspce: Any) -> None:
            return None

    with pytest.raises(pluggy.PluginValidationError, match="workspce"):
        pluggy_manager = plugin_manager()
        pluggy_manager.register(Misspelt(), name="misspelt")
    assert not plugin_manager().has_plugin("misspelt")


DOC = Path(__file__).parents[2] / "docs" / "plugins.md"


def test_every_hook_is_documented() -> None:
    documented = set(re.findall(r"^\| `(segmentry_\w+)` \|", DOC.read_text("utf-8"), re.M))
    specified = {name for name in vars(Hooks) if name.startswith("segmentry_")}
    assert documented == specified


def test_the_documented_example_is_a_valid_plugin() -> None:
    """The example of docs/plugins.md registers on a manager that checks it against the
    hook specifications, and its source answers only for its own kind."""
    (example,) = re.findall(r"^```python\n(.*?)^```$", DOC.read_text("utf-8"), re.M | re.S)
    module = ModuleType("doc_example")
    exec(compile(example, str(DOC), "exec"), module.__dict__)
    pm = pluggy.PluginManager("segmentry")
    pm.add_hookspecs(Hooks)
    pm.register(module)
    pm.check_pending()  # every hook it implements exists
    assert sorted(i.plugin_name for i in pm.hook.segmentry_read_source.get_hookimpls()) == [
        pm.get_name(module)]
    assert pm.hook.segmentry_source_kinds() == [["acme_crm"]]
    other = SourceSettings.model_validate({"kind": "generic", "path": "o.csv"})
    assert pm.hook.segmentry_read_source(source=other, workspace=None) is None
