"""Adding and editing a segment are background jobs: the request checks what it can at once (a
bad query, a taken key, an unknown segment answer 4xx and make no job) and answers 202 with the
job; pages keep answering while it computes the history; a job that fails says why in the
reader's language, in the JSON and on the builder page."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from segmentry.app.jobs import Job, JobRunner, Work
from segmentry.app.workspace import Progress, Workspace
from segmentry.testing.http import serving
from segmentry.web import create_app
from segmentry.web.accounts import create_token
from segmentry.web.deps import WebApp

from .browser import expect, needs_chromium, screenshot, sign_in, tab
from .conftest import (
    DAY,
    EMAIL,
    PASSWORD,
    Server,
    _shop,
    customers_with_orders,
    finished_job,
    log_in,
    saved,
)

HOLD_SECONDS = 60  # a held job goes on by itself after this, so a failing test cannot hang


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, WebApp]]:
    """A shop of its own (its jobs are held and fail on purpose), served, with its app state."""
    ws = _shop(tmp_path_factory.mktemp("segment-jobs") / "shop", "held", 120,
               ("repeat-customers",))
    app = create_app(ws.folder, workspace=ws)
    try:
        with serving(app) as url:
            yield Server(url, ws, create_token(ws.state, EMAIL, "t")), app.state.web
    finally:
        ws.close()


@pytest.fixture
def api(held: tuple[Server, WebApp]) -> Iterator[httpx.Client]:
    # NOTE: a short timeout: a request that waited for a held job would fail, not hang.
    with httpx.Client(base_url=held[0].url, timeout=20,
                      headers={"Authorization": f"Bearer {held[0].token}"}) as client:
        yield client


class Hold:
    """Holds the next job the runner is given at its first progress report (inside the
    workspace lock, before any history is computed) until :meth:`release`."""

    def __init__(self, runner: JobRunner) -> None:
        self.started, self.released = threading.Event(), threading.Event()
        self._submit: Callable[..., Job] = runner.submit

    def submit(self, kind: str, work: Work, **options: Any) -> Job:
        def held(worker: Workspace, progress: Progress) -> str:
            def report(stage: str, done: int, total: int) -> None:
                progress(stage, done, total)
                if not self.started.is_set():
                    self.started.set()
                    self.released.wait(HOLD_SECONDS)

            return work(worker, report)

        return self._submit(kind, held, **options)

    def release(self) -> None:
        self.released.set()


def _job_ids(api: httpx.Client) -> list[int]:
    return [job["id"] for job in api.get("/api/jobs").json()["jobs"]]


def test_pages_answer_while_an_add_job_computes(
    held: tuple[Server, WebApp], api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, web = held
    assert web.runner is not None
    hold = Hold(web.runner)
    monkeypatch.setattr(web.runner, "submit", hold.submit)
    listed = api.get("/api/segments").json()
    try:
        started = api.post("/api/segments", json={
            "key": "held-add", "display_name": "Held", "query": "number_of_orders >= 2"})
        assert started.status_code == 202, started.text
        job = started.json()
        assert (job["kind"], job["subject"], job["status"]) == ("segment_add", "held-add",
                                                                "queued")
        assert hold.started.wait(HOLD_SECONDS)
        # The job is under way, holding the workspace: every page answers meanwhile.
        running = api.get(f"/api/jobs/{job['id']}").json()
        assert (running["status"], running["stage"]) == ("running", "history")
        assert api.get("/api/segments").json() == listed  # not there until it is saved
        assert api.get("/api/segments/held-add").status_code == 404
        assert api.get("/api/overview").status_code == 200
        members = api.get("/api/segments/repeat-customers/members").json()
        assert members["total"] == customers_with_orders(server.workspace, 2, DAY) > 0
        client = log_in(server.url)
        try:
            for path in ("/", "/segments", "/runs"):
                assert client.get(path).status_code == 200, path
        finally:
            client.close()
        # Another save now is told a job is running (in the reader's language), and waits
        # for nothing.
        busy = api.post("/api/segments", json={"key": "held-other", "query": "amount_spent > 1"},
                        headers={"Accept-Language": "ja"})
        assert busy.status_code == 409
        error = busy.json()["error"]
        assert error["code"] == "job_running"
        assert "セグメントの追加" in error["message"] and f"#{job['id']}" in error["message"]
    finally:
        hold.release()
    segment = saved(api, started)["segment"]
    assert segment["customers"] == customers_with_orders(server.workspace, 2, DAY)
    assert api.delete("/api/segments/held-add").status_code == 204


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "/api/segments", {"key": "typo", "query": "numer_of_orders >= 2"}, 400,
         "unknown_attribute"),
        ("post", "/api/segments", {"key": "typo", "query": "number_of_orders >"}, 400, "syntax"),
        ("post", "/api/segments", {"key": "typo", "query": "segments CONTAINS 'nope'"}, 404,
         "unknown_segment"),
        ("post", "/api/segments", {"key": "typo", "query": ""}, 422, "bad_parameter"),
        ("post", "/api/segments", {"key": "repeat-customers", "query": "number_of_orders >= 1"},
         409, "duplicate_segment"),
        ("post", "/api/segments", {"key": "bad/key", "query": "number_of_orders >= 1"}, 400,
         "bad_key"),
        ("put", "/api/segments/repeat-customers", {"query": "number_of_ordrs >= 2"}, 400,
         "unknown_attribute"),
        ("put", "/api/segments/repeat-customers",
         {"query": "segments CONTAINS 'repeat-customers'"}, 400, "segment_cycle"),
        ("put", "/api/segments/nope", {"query": "number_of_orders >= 2"}, 404,
         "unknown_segment"),
    ],
)
def test_what_a_save_would_refuse_answers_at_once_and_makes_no_job(
    api: httpx.Client, method: str, path: str, body: dict[str, str], status: int, code: str
) -> None:
    before = _job_ids(api)
    response = api.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert _job_ids(api) == before
    assert api.get("/api/segments/typo").status_code == 404


def test_a_failed_save_says_why_in_the_readers_language(
    held: tuple[Server, WebApp], api: httpx.Client
) -> None:
    server, _ = held
    with server.workspace.lock("segmentry segments add (a command elsewhere)"):
        started = api.post("/api/segments", json={"key": "locked-out",
                                                  "query": "number_of_orders >= 1"})
        assert started.status_code == 202, started.text
        job_id = started.json()["id"]
        assert finished_job(api, job_id)["status"] == "failed"
    for lang, message, hint in (
        ("ja", "ワークスペースは使用中です", "何も変更されていません。"),
        ("en", "is busy", "nothing was changed."),
    ):
        job = api.get(f"/api/jobs/{job_id}", headers={"Accept-Language": lang}).json()
        detail = job["error_detail"]
        assert detail["code"] == "lock_held"
        assert message in detail["message"] and "segments add" in detail["message"]
        assert detail["hint"].endswith(hint)
    assert api.get("/api/segments/locked-out").status_code == 404


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_builder_shows_the_save_then_opens_the_segment_or_says_why_not(
    held: tuple[Server, WebApp], api: httpx.Client, monkeypatch: pytest.MonkeyPatch,
    lang: str, browser: Browser,
) -> None:
    server, web = held
    words = {"ja": ("セグメントの追加", "ワークスペースは使用中です"),
             "en": ("Adding the segment", "is busy")}[lang]
    key = f"builder-job-{lang}"
    page = tab(browser, server.url, lang)
    try:
        sign_in(page, EMAIL, PASSWORD, lang, then="/builder")
        # A save whose job fails (the workspace is busy elsewhere): its error, in the
        # reader's language, next to the form as it was typed; Save works again.
        page.fill("#name", f"Builder job {lang}")
        page.fill("#key", key)
        page.fill("#query", "number_of_orders >= 2")
        expect(page.locator("#count")).not_to_have_attribute("data-count", "")
        with server.workspace.lock("segmentry run (elsewhere)"):
            page.click("#save")
            expect(page.locator("#job-error")).to_contain_text(words[1])
        expect(page).to_have_url(f"{server.url}/builder")
        expect(page.locator("#job-kind")).to_contain_text(words[0])
        expect(page.locator("#query")).to_have_value("number_of_orders >= 2")
        expect(page.locator("#save")).to_be_enabled()

        # Saved again: its progress shows while the job is held, then the segment's page.
        assert web.runner is not None
        hold = Hold(web.runner)
        monkeypatch.setattr(web.runner, "submit", hold.submit)
        try:
            page.click("#save")
            assert hold.started.wait(HOLD_SECONDS)
            expect(page.locator("#job-kind")).to_contain_text(f"{words[0]} · {key}")
            expect(page.locator("#job")).to_have_attribute("data-status", "running")
            expect(page.locator("#save")).to_be_disabled()
            page.locator("#job").scroll_into_view_if_needed()
            screenshot(page, f"builder-saving-{lang}-desktop")
        finally:
            hold.release()
        expect(page).to_have_url(f"{server.url}/segments/{key}")
        expected = customers_with_orders(server.workspace, 2, DAY)
        expect(page.locator("#kpi-customers")).to_have_text(f"{expected:,}")
    finally:
        page.context.close()
    assert api.delete(f"/api/segments/{key}").status_code == 204
