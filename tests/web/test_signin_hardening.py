"""Sign-in hardening (issue 9, item 9): guesses are limited per account and per client address,
with lockouts that double (kept in the state store); unknown emails cost one password check
like known ones; sign-in never waits for the workspace lock; a password reset from the CLI
ends the user's sessions; tokens are listed and revoked, users removed, from the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from segmentry.app.workspace import Workspace
from segmentry.cli.main import app as cli
from segmentry.core.clock import utcnow
from segmentry.testing.http import serving
from segmentry.web import accounts, create_app
from segmentry.web.deps import WebApp

EMAIL, PASSWORD = "owner@example.com", "correct horse"
COLLEAGUE = "colleague@example.com"


@dataclass
class Site:
    url: str
    workspace: Workspace
    web: WebApp


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ws = Workspace.create(Path(tmp_path_factory.mktemp("signin")) / "ws", shop_id="signin")
    accounts.add_user(ws.state, EMAIL, PASSWORD, "signin")
    app = create_app(ws.folder, workspace=ws)
    try:
        with serving(app) as url:
            yield Site(url, ws, app.state.web)
    finally:
        ws.close()


@pytest.fixture(autouse=True)
def fresh_counters(site: Site) -> None:
    with site.workspace.state.begin() as conn:
        conn.execute(accounts.login_attempts.delete())
    accounts.add_user(site.workspace.state, EMAIL, PASSWORD, "signin")
    accounts.add_user(site.workspace.state, COLLEAGUE, PASSWORD, "signin")


def _sign_in(
    url: str, email: str, password: str, lang: str = "en", timeout: float = 30
) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=timeout, headers={"Accept-Language": lang}) as c:
        form = c.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        return c.post(
            "/login", data={"email": email, "password": password, "csrf_token": csrf.group(1)}
        )


def _session(url: str, email: str = EMAIL, password: str = PASSWORD) -> str:
    response = _sign_in(url, email, password)
    assert response.status_code == 303, response.text
    return str(response.cookies["segmentry_session"])


def _signed_in(url: str, *, cookie: str | None = None, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    cookies = {"segmentry_session": cookie} if cookie else {}
    return httpx.get(
        f"{url}/api/settings", headers=headers, cookies=cookies, timeout=30
    ).status_code


# ------------------------------------------------------------------ guessing


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(site: Site) -> None:
    for _ in range(5):
        assert _sign_in(site.url, EMAIL, "wrong password").status_code == 401
    refused = _sign_in(site.url, EMAIL, PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60  # the first lockout: one minute
    assert "Too many failed sign-ins. Try again in 1 minute(s)." in refused.text
    japanese = _sign_in(site.url, EMAIL, PASSWORD, lang="ja")
    assert japanese.status_code == 429 and "1 分後にもう一度お試しください" in japanese.text
    # another account is not locked by it
    assert _sign_in(site.url, COLLEAGUE, PASSWORD).status_code == 303


def test_the_lockout_survives_a_restart(site: Site) -> None:
    for _ in range(5):
        _sign_in(site.url, EMAIL, "wrong password")
    # a second process (another worker, or the app after a restart) opens its own engine
    engine = sa.create_engine(site.workspace.state.url)
    try:
        with pytest.raises(accounts.LoginLocked):
            accounts.log_in(engine, EMAIL, PASSWORD, "signin")
    finally:
        engine.dispose()


def test_lockouts_double_up_to_fifteen_minutes(site: Site) -> None:
    engine, key = site.workspace.state, f"email:{EMAIL}"
    lasting = []
    for _ in range(6):
        for _ in range(5):
            with pytest.raises(accounts.AccountError):
                accounts.log_in(engine, EMAIL, "wrong password", "signin")
        with engine.begin() as conn:  # let the lockout run out without waiting for it
            row = (
                conn.execute(
                    sa.select(accounts.login_attempts).where(accounts.login_attempts.c.key == key)
                )
                .mappings()
                .one()
            )
            lasting.append(round((row["locked_until"] - utcnow()).total_seconds() / 60))
            conn.execute(
                accounts.login_attempts.update()
                .where(accounts.login_attempts.c.key == key)
                .values(locked_until=utcnow() - dt.timedelta(seconds=1))
            )
    assert lasting == [1, 2, 4, 8, 15, 15]


def test_a_successful_sign_in_resets_the_account_counter(site: Site) -> None:
    for _ in range(2):
        for _ in range(4):
            assert _sign_in(site.url, EMAIL, "wrong password").status_code == 401
        assert _sign_in(site.url, EMAIL, PASSWORD).status_code == 303


def test_twenty_failures_from_one_address_lock_it_for_every_account(site: Site) -> None:
    for n in range(20):  # four tries each for five made-up accounts: none is locked itself
        assert _sign_in(site.url, f"guess{n // 4}@example.com", "x" * 8).status_code == 401
    refused = _sign_in(site.url, COLLEAGUE, PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


# ------------------------------------------------------------------ timing


class CountingHasher:
    """Wraps the password hasher and counts its ``verify`` calls."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped, self.verified = wrapped, 0

    def verify(self, password: str, hashed: str) -> bool:
        self.verified += 1
        return bool(self.wrapped.verify(password, hashed))

    def hash(self, password: str) -> str:
        return str(self.wrapped.hash(password))


@pytest.mark.parametrize(
    ("email", "shop"),
    [
        ("nobody@example.com", "signin"),  # unknown email
        (EMAIL, "signin"),  # known email, wrong password
        (EMAIL, "another-shop"),  # a user of another shop
    ],
)
def test_every_failed_sign_in_checks_one_password_hash(
    site: Site, monkeypatch: pytest.MonkeyPatch, email: str, shop: str
) -> None:
    counting = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", counting)
    with pytest.raises(accounts.AccountError) as refused:
        accounts.log_in(site.workspace.state, email, "wrong password", shop)
    assert refused.value.code == "bad_login"
    assert counting.verified == 1


# ------------------------------------------------------------------ the workspace lock


def test_sign_in_and_out_do_not_wait_for_the_workspace_lock(site: Site) -> None:
    assert site.web.lock.acquire(timeout=30)
    try:  # a long page holds the workspace meanwhile
        response = _sign_in(site.url, EMAIL, PASSWORD, timeout=20)
        assert response.status_code == 303
        cookie = str(response.cookies["segmentry_session"])
        session = accounts.session_user(site.workspace.state, cookie)
        assert session is not None
        out = httpx.post(
            f"{site.url}/logout",
            data={"csrf_token": session.csrf},
            cookies={"segmentry_session": cookie},
            timeout=20,
        )
        assert out.status_code == 303
    finally:
        site.web.lock.release()
    assert accounts.session_user(site.workspace.state, cookie) is None


# ------------------------------------------------------------------ the CLI


def _cli(site: Site, *args: str) -> Any:
    return CliRunner().invoke(cli, ["-w", str(site.workspace.folder), *args])


def test_a_password_reset_from_the_cli_ends_the_users_sessions(site: Site) -> None:
    cookie = _session(site.url)
    token = accounts.create_token(site.workspace.state, EMAIL, "stays")
    assert _signed_in(site.url, cookie=cookie) == 200
    reset = _cli(site, "users", "add", EMAIL, "--password", "a new password")
    assert reset.exit_code == 0, reset.output
    assert _signed_in(site.url, cookie=cookie) == 401
    assert _signed_in(site.url, token=token) == 200  # API tokens stay (docs/web.md)
    assert _sign_in(site.url, EMAIL, "a new password").status_code == 303


def test_tokens_are_listed_without_the_secret_and_revoked(site: Site) -> None:
    token = accounts.create_token(site.workspace.state, COLLEAGUE, "reporting")
    listed = _cli(site, "tokens", "list", COLLEAGUE, "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert token not in listed.stdout and token[:8] in listed.stdout
    rows = json.loads(listed.stdout)
    mine = [r for r in rows if r["name"] == "reporting"]
    assert len(mine) == 1 and mine[0]["email"] == COLLEAGUE and mine[0]["revoked_at"] is None
    assert {r["email"] for r in rows} == {COLLEAGUE}
    assert _signed_in(site.url, token=token) == 200
    revoked = _cli(site, "tokens", "revoke", str(mine[0]["id"]))
    assert revoked.exit_code == 0, revoked.output
    assert _signed_in(site.url, token=token) == 401
    again = _cli(site, "tokens", "revoke", str(mine[0]["id"]))
    assert again.exit_code != 0 and "no live API token" in again.output


def test_removing_a_user_ends_their_sessions_and_tokens(site: Site) -> None:
    cookie = _session(site.url, COLLEAGUE)
    token = accounts.create_token(site.workspace.state, COLLEAGUE, "gone")
    removed = _cli(site, "users", "remove", COLLEAGUE)
    assert removed.exit_code == 0, removed.output
    assert _signed_in(site.url, cookie=cookie) == 401
    assert _signed_in(site.url, token=token) == 401
    assert _sign_in(site.url, COLLEAGUE, PASSWORD).status_code == 401
    last = _cli(site, "users", "remove", EMAIL)  # the shop's only user now
    assert last.exit_code != 0 and "only user" in last.output
    assert _signed_in(site.url, cookie=_session(site.url)) == 200
