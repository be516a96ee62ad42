"""Renaming a segment's key and recomputing its history over the JSON API, the builder's form
and the segment page's button (the recompute runs as a background job, never in the request).
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from .conftest import SEGMENTS, Server, csrf_of, form_saved, log_in, saved

COUNT_QUERY = "number_of_orders >= 3"


@pytest.fixture(autouse=True)
def _leave_the_shared_shop_as_it_was(api: httpx.Client) -> Any:
    """Segments these tests make are removed after each, so later tests of the shared shop see
    only its own segments (whatever order the tests run in)."""
    yield
    for _ in range(10):  # one referring to another goes first (removing the other is refused)
        made = [s["name"] for s in api.get("/api/segments").json()["segments"]
                if s["name"] not in SEGMENTS]
        if not made:
            return
        for name in made:
            api.delete(f"/api/segments/{name}")
    raise AssertionError(f"could not remove {made}")


def _poll(api: httpx.Client, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = api.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


def _create(api: httpx.Client, key: str, query: str = COUNT_QUERY) -> dict[str, Any]:
    return saved(api, api.post("/api/segments", json={"key": key, "display_name": f"名前 {key}",
                                                      "query": query}))


def test_put_key_renames_and_the_old_key_answers_404_naming_the_new(
    server: Server, api: httpx.Client
) -> None:
    before = _create(api, "keys-api-a")
    _create(api, "keys-api-uses-a", "NOT segments CONTAINS 'keys-api-a'")
    uses_before = api.get("/api/segments/keys-api-uses-a").json()["segment"]["customers"]
    customers = before["segment"]["customers"]
    assert customers > 0

    renamed = api.put("/api/segments/keys-api-a", json={"key": "keys-api-b"})
    assert renamed.json()["subject"] == "keys-api-b"  # the job names the key it gives
    body = saved(api, renamed)
    assert (body["segment"]["key"], body["segment"]["customers"]) == ("keys-api-b", customers)
    assert body["metrics"] == before["metrics"]  # the same history, day by day
    uses = api.get("/api/segments/keys-api-uses-a").json()["segment"]
    assert uses["query"] == "NOT segments CONTAINS 'keys-api-b'"
    assert uses["customers"] == uses_before

    gone = api.get("/api/segments/keys-api-a")
    assert gone.status_code == 404
    error = gone.json()["error"]
    assert error["code"] == "renamed_segment"
    assert error["message"] == "Segment 'keys-api-a' has a new key: 'keys-api-b'."
    assert error["hint"] == "Its page is now at /segments/keys-api-b."
    client = log_in(server.url)
    try:
        client.cookies.set("segmentry_lang", "ja")
        page = client.get("/segments/keys-api-a")
        assert page.status_code == 404
        assert "セグメント「keys-api-a」のキーは「keys-api-b」に変わりました。" in page.text
        assert "/segments/keys-api-b" in page.text
    finally:
        client.close()


def test_put_a_taken_or_bad_key_is_refused(api: httpx.Client) -> None:
    _create(api, "keys-taken-a")
    _create(api, "keys-taken-b")
    taken = api.put("/api/segments/keys-taken-a", json={"key": "keys-taken-b"})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "duplicate_segment"
    bad = api.put("/api/segments/keys-taken-a", json={"key": "美容液"},
                  headers={"Accept-Language": "ja"})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "「美容液」はセグメントのキーに使えません。"
    assert api.get("/api/segments/keys-taken-a").status_code == 200  # unchanged


def test_builder_saves_a_changed_key(server: Server) -> None:
    client = log_in(server.url)
    try:
        token = csrf_of(client)
        form = {"csrf_token": token, "name": "ビルダーのキー", "key": "keys-builder",
                "query": COUNT_QUERY}
        assert form_saved(client, client.post("/builder", data=form)) == "/segments/keys-builder"
        page = client.get("/builder", params={"segment": "keys-builder"}).text
        assert re.search(r'<input name="key" id="key" value="keys-builder"', page)
        assert 'name="original_key" value="keys-builder"' in page
        assert "readonly" not in re.search(r'<input name="key"[^>]*>', page).group(0)  # type: ignore[union-attr]
        edit = {**form, "editing": "true", "original_key": "keys-builder",
                "key": "keys-builder-2", "description": "renamed"}
        renamed = client.post("/builder", data=edit)
        assert form_saved(client, renamed) == "/segments/keys-builder-2"
        assert server.workspace.segment("keys-builder-2").description == "renamed"
        client.cookies.set("segmentry_lang", "ja")
        refused = client.post("/builder", data={**edit, "original_key": "keys-builder-2",
                                                "key": "repeat-customers"})
        assert refused.status_code == 400
        assert "このキーは別のセグメントが使っています。別のキーにしてください。" in refused.text
    finally:
        client.close()


def test_recompute_runs_as_a_job_with_progress(server: Server, api: httpx.Client) -> None:
    before = _create(api, "keys-recompute")
    old_ledger = server.workspace.segment("keys-recompute").membership_key
    started = api.post("/api/segments/名前 keys-recompute/recompute")  # a display name works
    assert started.status_code == 202, started.text
    job = started.json()
    assert (job["kind"], job["subject"]) == ("recompute", "keys-recompute")
    assert job["status"] in ("queued", "running")
    done = _poll(api, job["id"])
    assert done["status"] == "succeeded", done
    assert (done["stage"], done["done"], done["total"]) == ("history", 3, 3)
    assert done["result"].startswith("keys-recompute: history ")
    after = api.get("/api/segments/keys-recompute").json()
    assert after["metrics"] == before["metrics"]  # nothing arrived late: the same history
    assert server.workspace.segment("keys-recompute").membership_key != old_ledger  # a new version
    assert api.post("/api/segments/no-such-segment/recompute").status_code == 404


def test_the_page_button_posts_with_csrf(server: Server) -> None:
    client = log_in(server.url)
    try:
        for lang, label in (("en", "Recompute history"), ("ja", "履歴を再計算")):
            client.cookies.set("segmentry_lang", lang)
            page = client.get("/segments/repeat-customers").text
            assert f'id="recompute" aria-describedby="recompute-help">{label}</button>' in page
        denied = client.post("/api/segments/repeat-customers/recompute")
        assert denied.status_code == 403
        form = client.post("/segments/repeat-customers/recompute",
                           data={"csrf_token": csrf_of(client)})
        assert form.status_code == 303
        assert form.headers["location"] == "/segments/repeat-customers"
        job = client.get("/api/jobs").json()["jobs"][0]
        assert (job["kind"], job["subject"]) == ("recompute", "repeat-customers")
        assert _poll(client, job["id"])["status"] == "succeeded"
    finally:
        client.close()
