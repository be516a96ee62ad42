"""Failures stored for later — a failed pipeline run, a failed background job, a tag sync that
Shopify partly refused — read in the reader's language on the pages and in the JSON, and a
failure stored by an older release (English text only) still shows its text.

Every expected text here is written out by hand from the files and the catalogue's wording, not
taken from the code under test."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser

from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.core.config import SourceSettings
from segmentry.core.errors import RunError
from segmentry.store import schema
from segmentry.testing.shopify import FakeShopify, gid
from segmentry.web.accounts import add_user, create_token

from .browser import SIZES, expect, needs_chromium, page_width, screenshot, sign_in, tab
from .conftest import DAY, EMAIL, PASSWORD, finished_job, served

# One good order and one whose date cannot be read: the whole file is refused.
BAD_ORDERS = "order_id,email,processed_at,total\n1,a@example.com,2025-06-01,900\n" \
             "2,b@example.com,last tuesday,500\n"


@dataclass
class Site:
    url: str
    token: str
    workspace: Workspace
    missing: Path  # the source file that does not exist (the older failed run)
    malformed: Path  # the source file with a bad row (the newer failed run)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A shop whose first run succeeded; then a run whose source file is missing, and one
    whose source file has a bad row."""
    folder = tmp_path_factory.mktemp("stored-errors") / "shop"
    ws = Workspace.create(folder, shop_id="demo")
    try:
        ws.import_tables(generate_store(60, seed=4, end_date=DAY, shop_id="demo"))
        ws.run(DAY)
        missing, malformed = folder / "exports" / "orders_export.csv", folder / "orders.csv"
        malformed.write_text(BAD_ORDERS, encoding="utf-8")
        for source in (SourceSettings(kind="shopify_csv", path="exports/orders_export.csv"),
                       SourceSettings(kind="generic", path="orders.csv")):
            ws.settings.sources[:] = [source]
            with pytest.raises(RunError):
                ws.run(DAY)
        add_user(ws.state, EMAIL, PASSWORD, "demo")
        with served(ws) as url:
            yield Site(url, create_token(ws.state, EMAIL, "tests"), ws, missing, malformed)
    finally:
        ws.close()


def _client(site: Site, lang: str) -> httpx.Client:
    return httpx.Client(base_url=site.url, timeout=60, headers={
        "Authorization": f"Bearer {site.token}", "Accept-Language": lang})


def _expected(site: Site, day: dt.date = DAY) -> dict[str, dict[str, tuple[str, str | None]]]:
    """(message, hint) of the two failed runs for ``day``, newest first, in each language."""
    return {
        "ja": {
            "malformed": (f"{day} の実行に失敗しました: {site.malformed} に 1 件の問題があります。"
                          "何も取り込んでいません。",
                          "ファイルのこれらの行を直してください。次回の実行で読み直します。"),
            "missing": (f"{day} の実行に失敗しました: ファイル {site.missing} がありません。",
                        None),
        },
        "en": {
            "malformed": (f"The run for {day} failed: {site.malformed}: 1 problem(s) in the file; "
                          "nothing was imported.",
                          "Fix these rows in the file; the next run reads it again."),
            "missing": (f"The run for {day} failed: {site.missing} does not exist.", None),
        },
    }


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_failed_runs_in_the_json(site: Site, lang: str) -> None:
    with _client(site, lang) as api:
        runs = [r for r in api.get("/api/runs").json() if r["day"] == DAY.isoformat()]
    assert [r["status"] for r in runs] == ["failed", "failed", "succeeded"]
    expected = _expected(site)[lang]
    for run, which in zip(runs, ("malformed", "missing"), strict=False):
        detail = run["error_detail"]
        assert (detail["message"], detail["hint"]) == expected[which]
        assert detail["code"] == run["error_code"] == "run_failed"
        assert str(site.malformed if which == "malformed" else site.missing) in run["error"]
        assert "error_template" not in run and "error_params" not in run
    assert runs[2]["error"] is runs[2]["error_code"] is runs[2]["error_detail"] is None


def test_english_error_field_is_kept_for_scripts(site: Site) -> None:
    with _client(site, "ja") as api:
        newest = api.get("/api/runs", params={"limit": 1}).json()[0]
    # The field scripts read stays the English text the CLI prints (with its bad rows).
    assert newest["error"].startswith("segmentry.core.errors.DataImportError: ")
    assert f"{site.malformed}:3: column 'processed_at'" in newest["error"]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_failed_runs_on_the_pages(site: Site, lang: str) -> None:
    expected = _expected(site)[lang]
    with _client(site, lang) as web:
        runs_page = html.unescape(web.get("/runs").text)
        overview = html.unescape(web.get("/").text)
    for message, hint in expected.values():
        assert message in runs_page
        if hint:
            assert hint in runs_page
    assert expected["malformed"][0] in overview  # the last run
    # The stages read in the reader's language too (the failed runs stopped in the first).
    stage = {"ja": "データ取り込み", "en": "Reading the sources"}[lang]
    ingest = re.findall(r'data-stage="ingest"[^>]*>([^<]*)</span>', runs_page)
    assert len(ingest) >= 3 and all(label.startswith(f"{stage} ") for label in ingest)
    assert {"ja": "結果の保存", "en": "Saving the results"}[lang] in runs_page
    other = _expected(site)["en" if lang == "ja" else "ja"]
    assert other["malformed"][0] not in runs_page and other["missing"][0] not in runs_page


def test_a_failed_background_run_reads_in_the_readers_language(site: Site) -> None:
    with _client(site, "ja") as api:
        job_id = api.post("/api/runs").json()["id"]
        job = finished_job(api, job_id)
        english = api.get(f"/api/jobs/{job_id}", headers={"Accept-Language": "en"}).json()
        listed = api.get("/api/jobs").json()["jobs"][0]
    expected = _expected(site, site.workspace.today())  # "Run now" runs for today
    assert job["status"] == "failed"
    assert (job["error_detail"]["message"], job["error_detail"]["hint"]) == \
        expected["ja"]["malformed"]
    assert (english["error_detail"]["message"], english["error_detail"]["hint"]) == \
        expected["en"]["malformed"]
    assert listed["id"] == job_id and listed["error_detail"] == job["error_detail"]
    assert job["error_code"] == "run_failed" and str(site.malformed) in job["error"]


def test_a_failure_stored_by_an_older_release_shows_its_text(site: Site) -> None:
    text = "RuntimeError: disk on fire (stored before errors had codes)"
    with site.workspace.state.begin() as conn:
        conn.execute(schema.runs.insert().values(
            day=DAY - dt.timedelta(days=1), started_at=dt.datetime(2025, 6, 29, 1),
            finished_at=dt.datetime(2025, 6, 29, 1, 1), status="failed", error=text, holder="x"))
    try:
        with _client(site, "ja") as web:
            newest = web.get("/api/runs", params={"limit": 1}).json()[0]
            page = html.unescape(web.get("/runs").text)
        assert (newest["error"], newest["error_code"], newest["error_detail"]) == (
            text, None, None)
        assert text in page
    finally:
        with site.workspace.state.begin() as conn:
            conn.execute(sa.delete(schema.runs).where(schema.runs.c.error == text))


# ---------------------------------------------------------------- a tag sync Shopify refused


def test_a_tag_sync_shopify_partly_refused(tmp_path: Path) -> None:
    """Two of the segment's members were deleted in Shopify: their tag writes are refused, and
    the segment page says so in the reader's language."""
    store = generate_store(40, seed=5, end_date=dt.date.today(), shop_id="shop")
    with FakeShopify() as fake:
        fake.seed(store)
        ws = Workspace.create(tmp_path / "ws", shop_id="shop")
        try:
            connect_workspace(ws, fake.shop, fake.token, endpoint=fake.url)
            ws.run()
            ws.add_segment("loyal", "number_of_orders >= 2")
            members = sorted(ws.members("loyal").column("customer_id").to_pylist())
            assert len(members) > 2
            with fake.data.lock:
                for customer in members[:2]:
                    del fake.data.objects["customers"][gid("Customer", customer)]
                fake.data.touch()
            add_user(ws.state, EMAIL, PASSWORD, "shop")
            with served(ws) as url:
                site = Site(url, create_token(ws.state, EMAIL, "t"), ws, Path(), Path())
                _check_refused_sync(site, len(members))
        finally:
            ws.close()


def _check_refused_sync(site: Site, members: int) -> None:
    with _client(site, "ja") as api:
        job = finished_job(api, api.post("/api/segments/loyal/tag-sync",
                                      json={"tag": "seg-loyal"}).json()["id"])
        assert job["result"] == f"loyal → seg-loyal: +{members} / -0 planned, " \
                                f"{members - 2} written, 2 refused"
        ja_page = html.unescape(api.get("/segments/loyal").text)
        last = api.get("/api/segments/loyal").json()["tag_sync"]["last_job"]
    with _client(site, "en") as api:
        en_page = html.unescape(api.get("/segments/loyal").text)
    assert (last["status"], last["failed"], last["error_code"]) == ("failed", 2, "writes_refused")
    assert last["error"] == "2 write(s) refused by Shopify"
    assert last["error_detail"]["message"] == "Shopifyが 2 件の書き込みを拒否しました。"
    assert "Shopifyが 2 件の書き込みを拒否しました。" in ja_page
    assert "2 write(s) refused by Shopify" not in ja_page
    assert "2 write(s) refused by Shopify" in en_page
    assert "Shopifyが 2 件" not in en_page


# ---------------------------------------------------------------- in the browser

@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize(("lang", "size"),
                         [(lang, size) for lang in ("ja", "en") for size in SIZES])
def test_run_now_fails_in_the_readers_language(browser: Browser, site: Site, lang: str,
                                               size: str) -> None:
    """"Run now" with a broken source file: the job panel and the runs table say why in the
    reader's language, with what to do, and the page still fits a phone."""
    job_message, job_hint = _expected(site, site.workspace.today())[lang]["malformed"]
    run_message, _ = _expected(site)[lang]["malformed"]
    page = tab(browser, site.url, lang, size)
    try:
        sign_in(page, EMAIL, PASSWORD, lang, then="/runs")
        page.click("#run-now")
        error = page.locator("#job-error")
        expect(error).to_be_visible()
        expect(error).to_contain_text(job_message)
        expect(error.locator(".hint")).to_have_text(job_hint or "")
        # The page reloads when the job has finished: the newest run reads failed, why.
        newest = page.locator("#runs tbody tr").first
        expect(newest.locator(".status")).to_have_class(re.compile(r"\bfailed\b"))
        expect(newest.locator(".error")).to_contain_text(job_message)
        assert run_message in page.locator("#runs").inner_text()
        width = page_width(page)
        assert width <= SIZES[size]["width"], width
        screenshot(page, f"runs-failed-{lang}-{size}")
    finally:
        page.context.close()
