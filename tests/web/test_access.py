"""Access control: nothing but login, health, the language switch and static files without
signing in; CSRF on every change made with a session; one shop never sees another's data."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute

from segmentry.web.accounts import add_user, create_token
from segmentry.web.routes import ROUTERS

from .conftest import EMAIL, PASSWORD, Server, csrf_of, log_in

PUBLIC = {"/health", "/login", "/lang/{code}", "/static/{name}",
          "/webhooks/shopify",  # Shopify's deliveries: the HMAC signature is the authentication
          "/pixel/events",  # the storefront's web pixel: shop id and token (tests/web/test_pixel)
          "/line/webhook",  # LINE's webhooks: X-Line-Signature (tests/line_identity)
          "/unsubscribe",  # customers' e-mail links: the signed token (tests/web/test_sends_web)
          "/r/{token}"}  # campaign e-mail link clicks: the signed token (test_engagement_web)
_SAMPLE = {"name": "repeat-customers", "token_id": "1", "user_id": "1", "code": "ja", "job_id": "1",
           "key": "some-send"}


def _routes() -> list[tuple[str, str]]:
    found = []
    for route in (r for router in ROUTERS for r in router.routes):
        if (not isinstance(route, APIRoute) or route.path in PUBLIC
                or route.path.startswith("/static/")):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: _SAMPLE[m.group(1)], route.path)
        found.extend((method, path) for method in sorted(route.methods))
    return found


def test_every_route_needs_sign_in(server: Server, anonymous: httpx.Client) -> None:
    routes = _routes()
    assert len(routes) > 20
    for method, path in routes:
        response = anonymous.request(method, path)
        # API calls and downloads (when the client does not ask for HTML) get 401; pages go
        # to the login form.
        if (path.startswith("/api/") and path != "/api/docs") or path.endswith(".csv") or (
                path == "/openapi.json"):
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["error"]["code"] == "unauthenticated"
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login?next=")
    browser = anonymous.get("/segments/repeat-customers/members.csv",
                            headers={"Accept": "text/html,*/*"})
    assert browser.status_code == 303


@pytest.mark.parametrize("token", ["-", "sgt_not-a-token", "Bearer", "x" * 5000])
def test_bad_tokens_are_refused(server: Server, token: str) -> None:
    response = httpx.get(f"{server.url}/api/segments",
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_wrong_password_and_unknown_email_look_alike(server: Server) -> None:
    client = httpx.Client(base_url=server.url)
    for email, password in [(EMAIL, "wrong password"), ("nobody@example.com", PASSWORD)]:
        form = client.get("/login", headers={"Accept-Language": "en"}).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        response = client.post("/login", data={"email": email, "password": password,
                                                "csrf_token": csrf.group(1)},
                               headers={"Accept-Language": "en"})
        assert response.status_code == 401 and "Wrong email or password." in response.text
    client.close()


def test_login_form_needs_its_csrf_token(server: Server) -> None:
    response = httpx.post(f"{server.url}/login", data={"email": EMAIL, "password": PASSWORD,
                                                       "csrf_token": "forged"})
    assert response.status_code == 403


def test_session_changes_need_the_csrf_token(server: Server) -> None:
    client = log_in(server.url)
    no_token = client.post("/api/preview", json={"query": "number_of_orders > 1"})
    assert no_token.status_code == 403 and no_token.json()["error"]["code"] == "csrf"
    form = client.post("/segments/repeat-customers/folder", data={"folder": "x"})
    assert form.status_code == 403
    ok = client.post("/api/preview", json={"query": "number_of_orders > 1"},
                     headers={"X-CSRF-Token": csrf_of(client)})
    assert ok.status_code == 200
    client.close()


def test_logout_ends_the_session(server: Server) -> None:
    client = log_in(server.url)
    cookie = client.cookies.get("segmentry_session")
    assert client.get("/api/segments").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 303
    stale = httpx.get(f"{server.url}/api/segments", cookies={"segmentry_session": cookie or ""})
    assert stale.status_code == 401
    client.close()


def test_another_shops_segment_is_not_found(server: Server, other_server: Server,
                                            api: httpx.Client) -> None:
    assert httpx.get(f"{other_server.url}/api/segments/loyal",
                     headers={"Authorization": f"Bearer {other_server.token}"}).status_code == 200
    for path in ("/api/segments/loyal", "/api/segments/loyal/members",
                 "/api/segments/loyal/journeys", "/segments/loyal/members.csv"):
        response = api.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "unknown_segment"


def test_another_shops_credentials_do_not_open_this_shop(server: Server,
                                                         other_server: Server) -> None:
    # The other shop's token, sent here.
    response = httpx.get(f"{server.url}/api/segments",
                         headers={"Authorization": f"Bearer {other_server.token}"})
    assert response.status_code == 401
    # A user of the other shop recorded in this shop's state store (one store, two shops).
    engine = server.workspace.state
    add_user(engine, "intruder@example.com", "other-shop-pass", "other")
    token = create_token(engine, "intruder@example.com", "theirs")
    assert httpx.get(f"{server.url}/api/segments",
                     headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with pytest.raises(AssertionError):
        log_in(server.url, "intruder@example.com", "other-shop-pass")


def test_a_token_of_another_user_cannot_be_revoked(server: Server, api: httpx.Client) -> None:
    add_user(server.workspace.state, "colleague@example.com", "colleague-pass", "demo")
    create_token(server.workspace.state, "colleague@example.com", "theirs")
    client = log_in(server.url, "colleague@example.com", "colleague-pass")
    theirs = client.get("/api/settings").json()["tokens"][0]["id"]
    client.close()
    assert api.delete(f"/api/tokens/{theirs}").status_code == 404


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/api/segments", "GET, POST"),
    ("POST", "/api/segments/repeat-customers", "DELETE, GET, PUT"),
    ("GET", "/api/tokens", "POST"),
    ("PUT", "/login", "GET, POST"),
    ("DELETE", "/health", "GET"),
])
def test_method_not_allowed_names_the_allowed_ones(server: Server, method: str, path: str,
                                                   allowed: str) -> None:
    response = httpx.request(method, f"{server.url}{path}",
                             headers={"Authorization": f"Bearer {server.token}",
                                      "Accept": "application/json"})
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["error"]["code"] == "method_not_allowed"
