"""Segments named in any language over HTTP: the JSON API carries key and display name, pages
show the display name and link by key, the builder form saves names and descriptions and says
what is wrong in the reader's language."""

from __future__ import annotations

import html
import re

import httpx

from .conftest import DAY, Server, csrf_of, form_saved, log_in, remove_segment, saved

SERUM = "美容液リピーター"
SERUM_KEY = "seg-fc54c3"  # "seg-" + the first 6 hex digits of sha256("美容液リピーター")
QUERY = "number_of_orders >= 2"  # the same query as the fixture's repeat-customers


def test_a_japanese_segment_through_the_api_and_pages(
    api: httpx.Client, browser_client: httpx.Client, server: Server
) -> None:
    expected = server.workspace.members("repeat-customers", DAY).num_rows
    created = api.post("/api/segments", json={"display_name": SERUM, "query": QUERY,
                                              "description": "2回以上購入"})
    segment = saved(api, created)["segment"]
    assert (segment["key"], segment["name"], segment["display_name"]) == (
        SERUM_KEY, SERUM_KEY, SERUM)
    assert segment["customers"] == expected
    listed = {s["key"]: s for s in api.get("/api/segments").json()["segments"]}
    assert listed[SERUM_KEY]["display_name"] == SERUM
    assert listed["repeat-customers"]["display_name"] == "repeat-customers"  # made without one

    for lang in ("ja", "en"):
        page = browser_client.get("/segments", headers={"Accept-Language": lang}).text
        assert f'<a href="/segments/{SERUM_KEY}">{SERUM}</a>' in page
        detail = browser_client.get(f"/segments/{SERUM_KEY}",
                                    headers={"Accept-Language": lang}).text
        assert re.search(rf'<h1 id="segment-title">{SERUM} <small>', detail)
        assert f'<code id="segment-key">{SERUM_KEY}</code>' in detail
        assert f"/api/segments/{SERUM_KEY}/journeys" in detail
    # The display name also finds it (a link someone typed by hand).
    assert api.get(f"/api/segments/{SERUM}").json()["segment"]["key"] == SERUM_KEY

    changed = api.put(f"/api/segments/{SERUM_KEY}",
                      json={"description": "美容液を2回以上", "display_name": "美容液リピート"})
    after = saved(api, changed)["segment"]
    assert (after["description"], after["display_name"], after["version"]) == (
        "美容液を2回以上", "美容液リピート", 1)
    assert api.delete(f"/api/segments/{SERUM_KEY}").status_code == 204


def test_the_api_keeps_name_as_the_key_and_refuses_clashes(api: httpx.Client) -> None:
    old_style = saved(api, api.post("/api/segments", json={"name": "api-names", "query": QUERY}))
    assert (old_style["segment"]["key"], old_style["segment"]["display_name"]) == (
        "api-names", "api-names")
    both = api.post("/api/segments", json={"name": "api-names-2", "display_name": "名前付き",
                                           "query": QUERY})
    assert saved(api, both)["segment"]["key"] == "api-names-2"
    clash = api.post("/api/segments", json={"display_name": "名前付き", "key": "other",
                                            "query": QUERY})
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "duplicate_display_name"
    taken = api.post("/api/segments", json={"display_name": "別", "key": "api-names",
                                            "query": QUERY})
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "duplicate_segment")
    empty = api.post("/api/segments", json={"query": QUERY})
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, "bad_display_name")
    for key in ("api-names", "api-names-2"):
        assert api.delete(f"/api/segments/{key}").status_code == 204


def _post(client: httpx.Client, lang: str, **form: str) -> httpx.Response:
    return client.post("/builder", data={"csrf_token": csrf_of(client), **form},
                       headers={"Accept-Language": lang})


def _value(page: str, field: str) -> str:
    found = re.search(rf'id="{field}" value="([^"]*)"', page)
    assert found is not None, field
    return html.unescape(found.group(1))


def test_the_builder_form_names_describes_and_explains(server: Server) -> None:
    client = log_in(server.url)
    name = "美容液リピーター（フォーム）"
    location = form_saved(client, _post(client, "ja", name=name, query=QUERY,
                                        description="最初の説明"))
    assert re.fullmatch(r"/segments/seg-[0-9a-f]{6}", location)
    key = location.rsplit("/", 1)[1]
    assert f"{name} <small>" in client.get(location).text

    messages = {
        "ja": ("この名前のセグメントはすでにあります。別の名前にしてください。",
               "このキーは別のセグメントが使っています。別のキーにしてください。",
               "キーに使えるのは半角英数字と「-」「_」「.」で、英数字で始めます。"),
        "en": ("A segment with this name already exists. Choose another name.",
               "This key is already used by another segment. Choose another key.",
               "A key may use letters a-z, digits, &#39;-&#39;, &#39;_&#39; and &#39;.&#39;, "
               "and starts with a letter or digit."),
    }
    for lang, (same_name, same_key, bad_key) in messages.items():
        page = _post(client, lang, name=name, query=QUERY)
        assert page.status_code == 400 and same_name in page.text
        page = _post(client, lang, name="別の名前", key=key, query=QUERY)
        assert page.status_code == 400 and same_key in page.text
        page = _post(client, lang, name="別の名前", key="不正/キー", query=QUERY)
        assert page.status_code == 400 and bad_key in page.text
        assert _value(page.text, "name") == "別の名前"  # what was typed is kept

    # Editing: the description and the name are saved; the query is unchanged, so no version.
    form = client.get(f"/builder?segment={key}").text
    assert (_value(form, "name"), _value(form, "key"), _value(form, "description")) == (
        name, key, "最初の説明")
    edited = _post(client, "ja", name="美容液リピーター（編集後）", key=key, query=QUERY,
                   description="編集した説明", editing="true")
    assert form_saved(client, edited) == location
    segment = server.workspace.segment(key)
    assert (segment.display_name, segment.description, segment.version) == (
        "美容液リピーター（編集後）", "編集した説明", 1)
    remove_segment(server, key)
    client.close()


def test_a_template_offers_a_free_name_and_key(server: Server, api: httpx.Client) -> None:
    client = log_in(server.url)
    # repeat-customers exists (its key); "Repeat customers" and "リピーター" are made here.
    for lang, title in (("en", "Repeat customers"), ("ja", "リピーター")):
        page = client.get("/builder?template=repeat-customers",
                          headers={"Accept-Language": lang}).text
        assert (_value(page, "name"), _value(page, "key")) == (title, "repeat-customers-2")
        made = _post(client, lang, name=title, key="repeat-customers-2", query=QUERY)
        assert form_saved(client, made) == "/segments/repeat-customers-2"
        page = client.get("/builder?template=repeat-customers",
                          headers={"Accept-Language": lang}).text
        assert (_value(page, "name"), _value(page, "key")) == (f"{title} 2",
                                                               "repeat-customers-3")
        description = {"en": "Customers with two or more orders.",
                       "ja": "購入回数が2回以上の顧客。"}[lang]
        assert _value(page, "description") == description
        assert api.delete("/api/segments/repeat-customers-2").status_code == 204
    client.close()


def test_templates_and_the_overview_speak_the_readers_language(
    api: httpx.Client, browser_client: httpx.Client
) -> None:
    for lang, title, description in (
        ("ja", "ロイヤル顧客", "購入回数が5回以上の顧客。"),
        ("en", "Loyal customers", "Customers with five or more orders."),
    ):
        templates = api.get("/api/templates", headers={"Accept-Language": lang}).json()
        loyal = next(t for t in templates if t["name"] == "loyal")
        assert (loyal["title"], loyal["description"]) == (title, description)
    created = api.post("/api/segments", json={"display_name": "全員（概要テスト）",
                                              "key": "overview-names",
                                              "query": "number_of_orders >= 1"})
    saved(api, created)
    growing = api.get("/api/overview").json()["top_growing"]
    # Every customer with an order: the segment that grows the most (by its new customers).
    assert "overview-names" in [row["key"] for row in growing]
    page = browser_client.get("/", headers={"Accept-Language": "ja"}).text
    for row in growing:
        assert f'<a href="/segments/{row["key"]}">{html.escape(row["display_name"])}</a>' in page
    assert api.delete("/api/segments/overview-names").status_code == 204
