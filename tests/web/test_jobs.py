"""Background jobs and the daily schedule: one job at a time, progress and crashes visible
through ``/api/jobs``, "Run now" in the background, the schedule setting and its next run,
and the warm-up that has the day's live count and journeys ready."""

from __future__ import annotations

import datetime as dt
import threading
import time
import tomllib
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from segmentry.app.jobs import JobBusy, JobRunner, Scheduler, next_run
from segmentry.app.templates import TEMPLATES
from segmentry.app.workspace import Progress, Workspace
from segmentry.connectors.demo import generate_store
from segmentry.core.config import ScheduleSettings, Settings
from segmentry.core.errors import ConfigError
from segmentry.testing.http import serving
from segmentry.web import create_app
from segmentry.web.accounts import add_user, create_token
from segmentry.web.deps import WebApp

from .browser import SIZES, expect, needs_chromium, screenshot, sign_in, tab
from .conftest import EMAIL, PASSWORD, Server, finished_job, log_in

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def _today_tokyo() -> dt.date:
    return dt.datetime.now(TOKYO).date()


# ---------------------------------------------------------------- the schedule setting


def test_the_schedule_defaults_to_four_in_the_morning_and_refuses_a_bad_time(
    tmp_path: Path,
) -> None:
    assert Settings().schedule == ScheduleSettings(enabled=True, time="04:00")
    ws = Workspace.create(tmp_path / "ws")
    ws.close()
    config = tmp_path / "ws" / "segmentry.toml"
    config.write_text(config.read_text().replace('time = "04:00"', 'time = "25:00"'))
    with pytest.raises(ConfigError, match=r"schedule\.time.*25:00"):
        Workspace.open(tmp_path / "ws")


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        # Tokyo: 03:00 local is before today's 04:00; 04:00 exactly is already past.
        ("Asia/Tokyo", dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC),
         dt.datetime(2026, 12, 1, 19, 0, tzinfo=dt.UTC)),
        ("Asia/Tokyo", dt.datetime(2026, 12, 1, 19, 0, tzinfo=dt.UTC),
         dt.datetime(2026, 12, 2, 19, 0, tzinfo=dt.UTC)),
        # New York on the day clocks go forward (8 March 2026): 04:00 EDT is 08:00 UTC.
        ("America/New_York", dt.datetime(2026, 3, 8, 5, 0, tzinfo=dt.UTC),
         dt.datetime(2026, 3, 8, 8, 0, tzinfo=dt.UTC)),
    ],
)
def test_next_run_is_the_next_four_oclock_in_the_shops_zone(
    zone: str, now: dt.datetime, expected: dt.datetime
) -> None:
    due = next_run(ScheduleSettings(), zone, now)
    assert due is not None and due.astimezone(dt.UTC) == expected
    assert next_run(ScheduleSettings(enabled=False), zone, now) is None


# ---------------------------------------------------------------- the runner


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path / "ws")
    try:
        yield ws
    finally:
        ws.close()


def _wait(runner: JobRunner, job_id: int, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = runner.get(job_id)
        assert job is not None
        if job.finished:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_one_job_at_a_time_with_progress_and_a_recorded_crash(workspace: Workspace) -> None:
    runner = JobRunner(workspace)
    runner.start(warm=False)
    release = threading.Event()

    def slow(ws: Workspace, progress: Progress) -> str:
        progress("tags", 3, 10)
        release.wait(30)
        return "done"

    def broken(ws: Workspace, progress: Progress) -> str:
        raise RuntimeError("disk on fire")

    try:
        first = runner.submit("tag_sync", slow, subject="loyal")
        deadline = time.monotonic() + 10
        while (runner.get(first.id) or first).done != 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        seen = runner.get(first.id)
        assert seen is not None
        assert (seen.status, seen.stage, seen.done, seen.total) == ("running", "tags", 3, 10)
        with pytest.raises(JobBusy) as busy:
            runner.submit("run", slow)
        assert busy.value.job.id == first.id and busy.value.code == "job_running"
        release.set()
        assert _wait(runner, first.id).result == "done"

        crashed = _wait(runner, runner.submit("run", broken).id)
        assert crashed.status == "failed" and "disk on fire" in crashed.error
        # The runner carries on after a crash.
        assert _wait(runner, runner.submit("run", lambda ws, p: "fine").id).status == "succeeded"
        assert [j.status for j in runner.recent()] == ["succeeded", "failed", "succeeded"]
    finally:
        release.set()
        runner.stop()


def test_the_scheduler_submits_the_daily_run_at_its_time(workspace: Workspace) -> None:
    runner = JobRunner(workspace)
    runner.start(warm=False)
    # A clock 0.3 s before the next 04:00 in Tokyo.
    real = dt.datetime.now(dt.UTC)
    due = next_run(ScheduleSettings(), "Asia/Tokyo", real)
    assert due is not None
    offset = due - real - dt.timedelta(seconds=0.3)
    ran: list[str] = []
    scheduler = Scheduler(runner, lambda ws, p: ran.append("run") or "ok",
                          clock=lambda: dt.datetime.now(dt.UTC) + offset)
    assert scheduler.next_run == due
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while not runner.recent() and time.monotonic() < deadline:
            time.sleep(0.05)
        job = _wait(runner, runner.recent()[0].id)
        assert (job.kind, job.trigger, job.status, ran) == ("run", "schedule", "succeeded",
                                                            ["run"])
        assert scheduler.next_run == due + dt.timedelta(days=1)  # then tomorrow's
    finally:
        scheduler.stop()
        runner.stop()


def test_a_scheduled_run_while_a_job_runs_is_skipped(workspace: Workspace) -> None:
    runner = JobRunner(workspace)
    runner.start(warm=False)
    release = threading.Event()
    busy = runner.submit("tag_sync", lambda ws, p: str(release.wait(30)), subject="loyal")
    real = dt.datetime.now(dt.UTC)
    due = next_run(ScheduleSettings(), "Asia/Tokyo", real)
    assert due is not None
    offset = due - real - dt.timedelta(seconds=0.2)
    scheduler = Scheduler(runner, lambda ws, p: "ran",
                          clock=lambda: dt.datetime.now(dt.UTC) + offset)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while not scheduler.skipped and time.monotonic() < deadline:
            time.sleep(0.05)
        assert scheduler.skipped == [due]
        assert [j.id for j in runner.recent()] == [busy.id]  # nothing else was queued
    finally:
        release.set()
        scheduler.stop()
        runner.stop()


# ---------------------------------------------------------------- through the web app


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, WebApp]]:
    """A shop whose orders run to today, run through yesterday, served with its schedule."""

    today = _today_tokyo()
    ws = Workspace.create(tmp_path_factory.mktemp("jobs") / "ws", shop_id="jobs")
    ws.import_tables(generate_store(120, seed=4, end_date=today, shop_id="jobs"))
    ws.run(today - dt.timedelta(days=1))
    for name in ("repeat-customers", "first-time-customers"):
        ws.add_segment(name, TEMPLATES[name].query)
    add_user(ws.state, EMAIL, PASSWORD, "jobs")
    app = create_app(ws.folder, workspace=ws, schedule=True, warm=True)
    try:
        with serving(app, stop_timeout=30) as url:
            yield Server(url, ws, create_token(ws.state, EMAIL, "t")), app.state.web
    finally:
        ws.close()


@pytest.fixture
def api(served: tuple[Server, WebApp]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[0].url, timeout=60,
                      headers={"Authorization": f"Bearer {served[0].token}"}) as client:
        yield client


def _poll(api: httpx.Client, job_id: int) -> dict[str, Any]:
    return finished_job(api, job_id)


def test_warm_up_has_the_days_snapshot_and_journeys_ready(
    served: tuple[Server, WebApp], api: httpx.Client
) -> None:
    server, web = served
    assert web.runner is not None and web.runner.warm.wait(60)
    assert api.get("/api/jobs").json()["warmed_at"] is not None
    ws = server.workspace
    day = ws.current_day()
    assert day == _today_tokyo() - dt.timedelta(days=1)
    # The live-count snapshot of the day, keyed by the last finished run.
    last_run = api.get("/api/runs").json()[0]["id"]
    assert web.snapshots.key == (day, last_run)
    # Every segment's journeys, under the key a request looks up.
    for segment in ws.segments():
        assert ("journey", segment.ledger, day) in web.cache
    # The overview's store trend, under the key the overview looks up.
    trend = web.cache[("shop", day, last_run)]
    assert len(trend) == 90 and trend[-1].day == day
    assert api.get("/api/overview").json()["trend"][-1]["customers"] == trend[-1].customers
    started = time.perf_counter()
    assert api.post("/api/preview", json={"query": "number_of_orders >= 2"}).status_code == 200
    assert web.snapshots.key == (day, last_run)  # served from it, not rebuilt
    assert time.perf_counter() - started < 30


def test_schedule_api_shows_and_changes_the_next_run(
    served: tuple[Server, WebApp], api: httpx.Client
) -> None:
    server, _ = served
    body = api.get("/api/schedule").json()
    assert (body["enabled"], body["time"], body["timezone"], body["running"]) == (
        True, "04:00", "Asia/Tokyo", True)
    expected = next_run(ScheduleSettings(), "Asia/Tokyo", dt.datetime.now(dt.UTC))
    assert expected is not None
    assert dt.datetime.fromisoformat(body["next_run"]) == expected
    overview = api.get("/api/overview").json()
    assert dt.datetime.fromisoformat(overview["next_run"]) == expected

    changed = api.put("/api/schedule", json={"enabled": True, "time": "23:30"})
    assert changed.status_code == 200, changed.text
    at_2330 = next_run(ScheduleSettings(time="23:30"), "Asia/Tokyo", dt.datetime.now(dt.UTC))
    assert at_2330 is not None
    assert dt.datetime.fromisoformat(changed.json()["next_run"]) == at_2330
    saved = tomllib.loads((server.workspace.folder / "segmentry.toml").read_text())
    assert saved["schedule"] == {"enabled": True, "time": "23:30"}
    assert saved["shop"]["id"] == "jobs"  # the rest of the file is kept
    off = api.put("/api/schedule", json={"enabled": False, "time": "23:30"}).json()
    assert off["next_run"] is None and off["enabled"] is False
    assert api.put("/api/schedule", json={"time": "4am"}).status_code == 422
    api.put("/api/schedule", json={"enabled": True, "time": "04:00"})


def test_a_job_that_writes_does_not_make_pages_wait(
    served: tuple[Server, WebApp], api: httpx.Client
) -> None:
    """While a job holds the workspace lock with a write open on its own connection, pages
    answer at once from what was committed before; a write from the web is told it is busy."""
    server, web = served
    assert web.runner is not None
    release, holding = threading.Event(), threading.Event()
    before = api.get("/api/segments").json()

    def writer(ws: Workspace, progress: Progress) -> str:
        with ws.lock("test write"):
            con = ws.warehouse
            con.raw_sql("BEGIN TRANSACTION")
            con.raw_sql("DELETE FROM membership")  # uncommitted: nobody else sees it
            holding.set()
            release.wait(30)
            con.raw_sql("ROLLBACK")
        return "rolled back"

    job = web.runner.submit("run", writer)
    try:
        assert holding.wait(30)
        started = time.perf_counter()
        assert api.get("/api/segments").json() == before
        members = api.get("/api/segments/repeat-customers/members").json()
        with web.lock:  # NOTE: the requests' connection, used as a request would
            expected = server.workspace.members("repeat-customers").num_rows
        assert members["total"] == expected > 0
        assert time.perf_counter() - started < 10
        busy = api.post("/api/runs")
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "job_running"
        write = api.post("/api/segments",
                         json={"name": "during-job", "query": "number_of_orders >= 1"})
        assert write.status_code == 409 and write.json()["error"]["code"] == "job_running"
    finally:
        release.set()
    assert _poll(api, job.id)["result"] == "rolled back"


def test_run_now_runs_in_the_background_and_a_crash_is_shown(
    served: tuple[Server, WebApp], api: httpx.Client
) -> None:
    server, web = served
    runs_before = len(api.get("/api/runs").json())
    started = api.post("/api/runs")
    assert started.status_code == 202, started.text
    job = started.json()
    assert (job["kind"], job["trigger"]) == ("run", "manual")
    assert job["status"] in ("queued", "running")
    done = _poll(api, job["id"])
    assert done["status"] == "succeeded", done
    runs = api.get("/api/runs").json()
    assert len(runs) == runs_before + 1
    assert runs[0]["status"] == "succeeded" and runs[0]["day"] == _today_tokyo().isoformat()
    assert done["result"].startswith(f"run #{runs[0]['id']} for {runs[0]['day']}")
    # After the job, the warm-up rebuilt the live-count snapshot for the new run.
    assert web.runner is not None
    deadline = time.monotonic() + 30
    while web.snapshots.key != (_today_tokyo(), runs[0]["id"]):
        assert time.monotonic() < deadline, web.snapshots.key
        time.sleep(0.1)

    assert api.get("/api/jobs/999999").status_code == 404
    crashed = web.runner.submit("run", lambda ws, progress: 1 / 0)
    failed = _poll(api, crashed.id)
    assert failed["status"] == "failed" and "ZeroDivisionError" in failed["error"]
    client = log_in(server.url)
    try:
        for lang, word in (("en", "Failed"), ("ja", "失敗")):
            client.cookies.set("segmentry_lang", lang)
            page = client.get("/runs").text
            assert f'data-job="{crashed.id}"' in page and 'data-status="failed"' in page
            assert word in page
    finally:
        client.close()


def test_runs_and_overview_pages_show_the_next_run(served: tuple[Server, WebApp]) -> None:
    server, _ = served
    due = next_run(ScheduleSettings(), "Asia/Tokyo", dt.datetime.now(dt.UTC))
    assert due is not None
    shown = due.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
    assert shown.endswith("04:00")
    client = log_in(server.url)
    try:
        for lang, label in (("en", "Next scheduled run"), ("ja", "次回の定時実行")):
            client.cookies.set("segmentry_lang", lang)
            for path in ("/runs", "/"):
                page = client.get(path).text
                assert f"{label}: " in page and shown in page, (lang, path)
    finally:
        client.close()


# ---------------------------------------------------------------- in the browser

WORDS = {"en": ("Daily run", "Succeeded", "Next scheduled run"),
         "ja": ("毎日の実行", "成功", "次回の定時実行")}


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("view", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_run_now_in_the_browser(browser: Browser, served: tuple[Server, WebApp], lang: str,
                                view: str) -> None:
    server, _ = served
    kind, succeeded, next_label = WORDS[lang]
    runs_before = len(server.workspace.runs(500))
    page = tab(browser, server.url, lang, view)
    try:
        sign_in(page, EMAIL, PASSWORD, lang)
        page.goto("/runs")
        expect(page.locator("#next-run")).to_contain_text(f"{next_label}: ")
        page.click("#run-now")
        # The form answers at once; the panel follows the job until it is done.
        expect(page.locator("#job-kind")).to_contain_text(kind)
        expect(page.locator("#job-status")).to_have_text(succeeded, timeout=120_000)
        expect(page.locator("#runs tbody tr")).to_have_count(runs_before + 1)
        expect(page.locator("#runs tbody tr").first).to_contain_text(succeeded)
        expect(page.locator("#run-now")).to_be_enabled()
        screenshot(page, f"runs-{lang}-{view}")
    finally:
        page.context.close()
    assert len(server.workspace.runs(500)) == runs_before + 1


def test_a_sibling_reads_what_the_other_connection_committed(
    tmp_path: Path, warehouse_url: str
) -> None:
    """The job runner's connection (a DuckDB cursor, or a second PostgreSQL connection) sees
    committed writes of the workspace's, and its own uncommitted ones stay its own."""
    ws = Workspace.create(tmp_path / "ws", warehouse_url=warehouse_url)
    worker = ws.sibling()
    try:
        assert worker.warehouse is not ws.warehouse
        ws.import_tables(generate_store(30, seed=2, end_date=dt.date(2025, 6, 30)))
        customers = ws.warehouse.table("customers").count().execute()
        assert worker.warehouse.table("customers").count().execute() == customers == 30
        worker.warehouse.raw_sql("BEGIN")
        worker.warehouse.raw_sql("DELETE FROM customers")
        assert ws.warehouse.table("customers").count().execute() == 30
        worker.warehouse.raw_sql("ROLLBACK")
    finally:
        worker.close()
        ws.close()
