"""Accounts (``web_users``, ``web_sessions``, ``api_tokens``, ``login_attempts``): the
repository :mod:`segmentry.web.accounts` signs people in with.

Every function takes the caller's :class:`~sqlalchemy.Connection`, so the caller keeps its
transaction (resetting a password and ending that user's sessions are one commit). Secrets
never reach this module: sessions and tokens are stored and found by their SHA-256
(``token_hash``), passwords by their Argon2 hash.

>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")  # in memory, built by the migrations
>>> with engine.begin() as conn:
...     user_id = add_user(conn, "ann@example.com", "hash", "shop-1")
...     add_token(conn, user_id, "ci", "f" * 64, "sgt_AbC1")
...     token_user(conn, "f" * 64)
User(id=1, email='ann@example.com', shop_id='shop-1')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from segmentry.core.clock import utcnow
from segmentry.store.schema import api_tokens, login_attempts, web_sessions, web_users

__all__ = [
    "Credentials",
    "LoginAttempts",
    "Session",
    "ShopToken",
    "ShopUser",
    "Token",
    "User",
    "add_attempts",
    "add_session",
    "add_token",
    "add_user",
    "attempts",
    "credentials",
    "delete_user",
    "end_session",
    "end_sessions",
    "forget_attempts",
    "locked_until",
    "password_hash",
    "revoke_shop_token",
    "revoke_token",
    "session",
    "set_password",
    "shop_tokens",
    "shop_user_email",
    "shop_users",
    "token_user",
    "tokens",
    "update_attempts",
    "user_id",
]

users, sessions = web_users, web_sessions


@dataclass(frozen=True)
class User:
    id: int
    email: str
    shop_id: str


@dataclass(frozen=True)
class Session:
    """A signed-in browser: its user and the CSRF token its forms must carry."""

    user: User
    csrf: str


@dataclass(frozen=True)
class Credentials:
    """A user with the hash their password is checked against."""

    user: User
    password_hash: str


@dataclass(frozen=True)
class ShopUser:
    id: int
    email: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Token:
    """An API token as listed (never the secret)."""

    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class ShopToken(Token):
    """An API token of one of a shop's users, as ``segmentry tokens list`` shows it: the
    token's user too."""

    email: str


@dataclass(frozen=True)
class LoginAttempts:
    """Failed sign-ins counted under one key (``email:<address>`` or ``client:<ip>``)."""

    key: str
    failures: int
    window_start: dt.datetime
    lockouts: int
    locked_until: dt.datetime | None = None


# --- users ----------------------------------------------------------------------------------


def user_id(conn: sa.Connection, email: str) -> int | None:
    """The id of the user with ``email`` (as stored: trimmed, lower case), if any."""
    found = conn.execute(sa.select(users.c.id).where(users.c.email == email)).scalar()
    return None if found is None else int(found)


def add_user(conn: sa.Connection, email: str, password_hash: str, shop_id: str) -> int:
    """Insert a user; returns their id."""
    inserted = conn.execute(
        users.insert().values(email=email, password_hash=password_hash, shop_id=shop_id,
                              created_at=utcnow())
    ).inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


def set_password(conn: sa.Connection, user_id: int, password_hash: str,
                 shop_id: str | None = None) -> None:
    """Store a user's new password hash (and shop, when given)."""
    values = {"password_hash": password_hash}
    if shop_id is not None:
        values["shop_id"] = shop_id
    conn.execute(users.update().where(users.c.id == user_id).values(**values))


def credentials(conn: sa.Connection, email: str) -> Credentials | None:
    """The user with ``email`` and their password hash (None: no such user)."""
    row = conn.execute(
        sa.select(users.c.id, users.c.email, users.c.shop_id, users.c.password_hash)
        .where(users.c.email == email)
    ).first()
    if row is None:
        return None
    return Credentials(User(int(row.id), row.email, row.shop_id), row.password_hash)


def password_hash(conn: sa.Connection, user_id: int) -> str | None:
    found = conn.execute(sa.select(users.c.password_hash).where(users.c.id == user_id)).scalar()
    return None if found is None else str(found)


def shop_users(conn: sa.Connection, shop_id: str) -> list[ShopUser]:
    """The shop's users, oldest first."""
    rows = conn.execute(
        sa.select(users.c.id, users.c.email, users.c.created_at)
        .where(users.c.shop_id == shop_id)
        .order_by(users.c.id)
    )
    return [ShopUser(int(r.id), r.email, r.created_at) for r in rows]


def shop_user_email(conn: sa.Connection, shop_id: str, user_id: int) -> str | None:
    """The email of user ``user_id`` when they belong to ``shop_id``."""
    found = conn.execute(
        sa.select(users.c.email).where(users.c.id == user_id, users.c.shop_id == shop_id)
    ).scalar()
    return None if found is None else str(found)


def delete_user(conn: sa.Connection, user_id: int) -> None:
    """Delete a user with their sessions and API tokens."""
    # NOTE: SQLite enforces ON DELETE CASCADE only with a pragma; delete explicitly.
    conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
    conn.execute(api_tokens.delete().where(api_tokens.c.user_id == user_id))
    conn.execute(users.delete().where(users.c.id == user_id))


# --- sessions -------------------------------------------------------------------------------


def add_session(conn: sa.Connection, token_hash: str, user_id: int, csrf: str,
                now: dt.datetime, expires_at: dt.datetime) -> None:
    """Store a new session (and drop every session expired by ``now``)."""
    conn.execute(sessions.delete().where(sessions.c.expires_at < now))
    conn.execute(sessions.insert().values(token_hash=token_hash, user_id=user_id, csrf=csrf,
                                          created_at=now, expires_at=expires_at))


def session(conn: sa.Connection, token_hash: str, now: dt.datetime) -> Session | None:
    """The session stored under ``token_hash`` if it is still live at ``now``."""
    row = conn.execute(
        sa.select(sessions.c.csrf, users.c.id, users.c.email, users.c.shop_id)
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > now)
    ).first()
    return None if row is None else Session(User(int(row.id), row.email, row.shop_id), row.csrf)


def end_session(conn: sa.Connection, token_hash: str) -> None:
    conn.execute(sessions.delete().where(sessions.c.token_hash == token_hash))


def end_sessions(conn: sa.Connection, user_id: int, keep: str | None = None) -> None:
    """End every session of a user (but the one stored under ``keep``, a token hash)."""
    query = sessions.delete().where(sessions.c.user_id == user_id)
    if keep is not None:
        query = query.where(sessions.c.token_hash != keep)
    conn.execute(query)


# --- API tokens -----------------------------------------------------------------------------


def add_token(conn: sa.Connection, user_id: int, name: str, token_hash: str,
              prefix: str) -> None:
    conn.execute(api_tokens.insert().values(user_id=user_id, name=name, token_hash=token_hash,
                                            prefix=prefix, created_at=utcnow()))


def token_user(conn: sa.Connection, token_hash: str) -> User | None:
    """The user of the live (unrevoked) token stored under ``token_hash``, noting its use."""
    row = conn.execute(
        sa.select(api_tokens.c.id, users.c.id.label("user_id"), users.c.email, users.c.shop_id)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    conn.execute(api_tokens.update().where(api_tokens.c.id == row.id)
                 .values(last_used_at=utcnow()))
    return User(int(row.user_id), row.email, row.shop_id)


def tokens(conn: sa.Connection, user_id: int) -> list[Token]:
    """A user's tokens, newest first."""
    t = api_tokens
    rows = conn.execute(
        sa.select(t.c.id, t.c.name, t.c.prefix, t.c.created_at, t.c.last_used_at, t.c.revoked_at)
        .where(t.c.user_id == user_id)
        .order_by(t.c.id.desc())
    )
    return [Token(int(r.id), r.name, r.prefix, r.created_at, r.last_used_at, r.revoked_at)
            for r in rows]


def shop_tokens(conn: sa.Connection, shop_id: str, email: str | None = None) -> list[ShopToken]:
    """The tokens of ``shop_id``'s users (or of the one with ``email``), oldest first."""
    t = api_tokens
    query = (
        sa.select(t.c.id, users.c.email, t.c.name, t.c.prefix, t.c.created_at,
                  t.c.last_used_at, t.c.revoked_at)
        .join(users, users.c.id == t.c.user_id)
        .where(users.c.shop_id == shop_id)
        .order_by(t.c.id)
    )
    if email is not None:
        query = query.where(users.c.email == email)
    return [ShopToken(int(r.id), r.name, r.prefix, r.created_at, r.last_used_at, r.revoked_at,
                      r.email) for r in conn.execute(query)]


def revoke_token(conn: sa.Connection, user_id: int, token_id: int) -> bool:
    """Revoke a live token of the user; False when there is none with that id."""
    result = conn.execute(
        api_tokens.update()
        .where(api_tokens.c.id == token_id, api_tokens.c.user_id == user_id,
               api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)


def revoke_shop_token(conn: sa.Connection, shop_id: str, token_id: int) -> bool:
    """Revoke a live token of one of ``shop_id``'s users; False when there is none."""
    mine = sa.select(users.c.id).where(users.c.shop_id == shop_id)
    result = conn.execute(
        api_tokens.update()
        .where(api_tokens.c.id == token_id, api_tokens.c.user_id.in_(mine),
               api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)


# --- failed sign-ins ------------------------------------------------------------------------


def locked_until(conn: sa.Connection, keys: Sequence[str], now: dt.datetime
                 ) -> dt.datetime | None:
    """The latest lockout of any of ``keys`` still running at ``now`` (None: none is)."""
    t = login_attempts
    found: dt.datetime | None = conn.execute(
        sa.select(sa.func.max(t.c.locked_until))
        .where(t.c.key.in_(list(keys)), t.c.locked_until > now)
    ).scalar()
    return found


def attempts(conn: sa.Connection, key: str) -> LoginAttempts | None:
    row = conn.execute(sa.select(login_attempts).where(login_attempts.c.key == key)).first()
    if row is None:
        return None
    return LoginAttempts(row.key, int(row.failures), row.window_start, int(row.lockouts),
                         row.locked_until)


def add_attempts(conn: sa.Connection, attempts: LoginAttempts) -> None:
    conn.execute(login_attempts.insert().values(**_attempt_values(attempts)))


def update_attempts(conn: sa.Connection, attempts: LoginAttempts) -> None:
    conn.execute(login_attempts.update().where(login_attempts.c.key == attempts.key)
                 .values(**_attempt_values(attempts)))


def _attempt_values(attempts: LoginAttempts) -> dict[str, object]:
    return {"key": attempts.key, "failures": attempts.failures,
            "window_start": attempts.window_start, "lockouts": attempts.lockouts,
            "locked_until": attempts.locked_until}


def forget_attempts(conn: sa.Connection, key: str) -> None:
    conn.execute(login_attempts.delete().where(login_attempts.c.key == key))
