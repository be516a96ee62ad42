"""Hostile queries through the web: a 400 with the language's message, never a 500."""

from __future__ import annotations

import httpx
import pytest

from .conftest import Server, csrf_of, log_in

HOSTILE = {
    "query_too_deep": "NOT " * 91 + "number_of_orders >= 1",
    "control_character": "customer_tags CONTAINS 'a\x00b'",
    "out_of_range": "last_order_date < -99999999999d",
}


@pytest.mark.parametrize(("code", "query"), HOSTILE.items(), ids=list(HOSTILE))
def test_saving_a_hostile_query_is_a_400_with_its_message(
    api: httpx.Client, code: str, query: str
) -> None:
    for response in (api.post("/api/preview", json={"query": query}),
                     api.post("/api/segments", json={"name": "hostile", "query": query})):
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == code
    assert api.get("/api/segments/hostile").status_code == 404


def test_what_the_api_refuses_before_the_language_is_a_422(api: httpx.Client) -> None:
    # JSON can carry half a surrogate pair, which no text column can hold; and the API takes
    # queries of at most 10,000 characters (the language itself reads up to 300,000).
    surrogate = '{"name": "hostile", "query": "customer_tags CONTAINS \'\\ud800\'"}'
    long = " OR ".join(["number_of_orders = 1"] * 1000)
    for response in (
        api.post("/api/segments", content=surrogate, headers={"Content-Type": "application/json"}),
        api.post("/api/segments", json={"name": "hostile", "query": long}),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "bad_parameter"


def test_the_builder_form_shows_the_limit(server: Server) -> None:
    client = log_in(server.url)
    response = client.post("/builder", data={"csrf_token": csrf_of(client), "name": "hostile",
                                              "query": HOSTILE["query_too_deep"]})
    assert response.status_code == 400
    assert "91" in response.text and "16" in response.text
    client.close()
