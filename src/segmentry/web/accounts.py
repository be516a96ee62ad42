"""Who may use the web app and the JSON API: users, login sessions and API tokens.

The tables live in the workspace's state store (defined in :mod:`segmentry.store.schema`) and
are read and written through :mod:`segmentry.store.accounts`; this module holds the rules
(hashing, lockouts, who may do what).
Each user belongs to one shop; a workspace only admits users of its own shop, so one state
store shared by several workspaces never leaks a shop to another's users.

- Passwords are hashed with Argon2id (``pwdlib``, the maintained successor of passlib that
  FastAPI's own template uses).
- Session and API tokens are 256-bit random strings shown once; only their SHA-256 is stored.
  A slow salted hash adds nothing for secrets of that strength and would make every API call
  pay for it; a stolen database still yields no usable token.
- A login session carries its own CSRF token, which every form post and browser ``fetch``
  must echo back (see :mod:`segmentry.web.deps`).

>>> token = new_secret("sgt_")
>>> token.startswith("sgt_") and len(digest(token)) == 64
True
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Any

import sqlalchemy as sa
from pwdlib import PasswordHash

from segmentry.core.clock import utcnow
from segmentry.core.errors import SegmentryError
from segmentry.store import accounts as stored
from segmentry.store.accounts import LoginAttempts, Session, User
from segmentry.store.schema import login_attempts
from segmentry.store.schema import web_users as users

__all__ = [
    "ACCOUNT_LIMIT",
    "CLIENT_LIMIT",
    "SESSION_DAYS",
    "AccountError",
    "LoginLimit",
    "LoginLocked",
    "Session",
    "User",
    "add_user",
    "change_password",
    "create_token",
    "create_user",
    "digest",
    "end_session",
    "list_tokens",
    "list_users",
    "log_in",
    "login_attempts",
    "new_secret",
    "remove_user",
    "remove_user_by_email",
    "revoke_shop_token",
    "revoke_token",
    "session_user",
    "shop_tokens",
    "token_user",
    "users",
]

SESSION_DAYS = 14
MIN_PASSWORD = 8
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_hasher = PasswordHash.recommended()


@dataclass(frozen=True)
class LoginLimit:
    """How many failed sign-ins a key may have within ``window`` before it is locked out; each
    lockout in a row lasts twice the one before, from ``first_lockout`` up to ``longest``."""

    failures: int
    window: dt.timedelta = dt.timedelta(minutes=15)
    first_lockout: dt.timedelta = dt.timedelta(minutes=1)
    longest: dt.timedelta = dt.timedelta(minutes=15)

    def lockout(self, lockouts: int) -> dt.timedelta:
        """The ``lockouts``-th lockout in a row (1, 2, …).

        >>> [LoginLimit(5).lockout(n).seconds // 60 for n in (1, 2, 3, 4, 5, 9)]
        [1, 2, 4, 8, 15, 15]
        """
        return min(self.first_lockout * 2 ** min(lockouts - 1, 20), self.longest)


ACCOUNT_LIMIT = LoginLimit(failures=5)
CLIENT_LIMIT = LoginLimit(failures=20)


class AccountError(SegmentryError):
    code = "account"


class LoginLocked(AccountError):
    """Too many failed sign-ins: refused (even with the right password) for ``retry_after``
    seconds."""

    code = "login_locked"

    def __init__(self, retry_after: int) -> None:
        message = "Too many failed sign-ins. Try again in {minutes} minute(s)."
        hint = "Wait, or ask an administrator to reset your password."
        super().__init__(message, code="login_locked", hint=hint,
                         params={"minutes": max(1, -(-retry_after // 60))})
        self.retry_after = retry_after


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (session or API token)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _checked(email: str, password: str) -> str:
    """The email as stored (trimmed, lower case), once it and the password are acceptable."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise AccountError("{email!r} is not an email address.", code="bad_email",
                           params={"email": email})
    _check_password(password)
    return email


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("Passwords need at least {minimum} characters.",
                           code="weak_password", params={"minimum": MIN_PASSWORD})


def add_user(engine: sa.Engine, email: str, password: str, shop_id: str) -> User:
    """Add a user of ``shop_id`` (or reset the password of an existing one, which ends all
    their sessions; their API tokens stay)."""
    email = _checked(email, password)
    hashed = _hasher.hash(password)
    with engine.begin() as conn:
        found = stored.user_id(conn, email)
        if found is None:
            found = stored.add_user(conn, email, hashed, shop_id)
        else:  # a new password: whoever signed in with the old one is signed out
            stored.set_password(conn, found, hashed, shop_id)
            stored.end_sessions(conn, found)
    return User(found, email, shop_id)


def log_in(engine: sa.Engine, email: str, password: str, shop_id: str,
           client: str | None = None) -> tuple[str, Session]:
    """Check a password; returns the new session's cookie value and the session.

    Unknown email, wrong password and another shop's user get the same error, and take the
    same time (a password hash is checked exactly once either way), so the login form does
    not tell which emails exist. Failed attempts are counted per email and per ``client``
    address; past :data:`ACCOUNT_LIMIT` or :data:`CLIENT_LIMIT` every attempt, right or
    wrong, is refused with :class:`LoginLocked` until the lockout ends.
    """
    email = email.strip().lower()
    keys = {f"email:{email}": ACCOUNT_LIMIT}
    if client:
        keys[f"client:{client}"] = CLIENT_LIMIT
    _refuse_if_locked(engine, list(keys))
    with engine.connect() as conn:
        found = stored.credentials(conn, email)
    hashed = found.password_hash if found is not None else _dummy_hash()
    right = _verify(password, hashed)  # NOTE: always once, even for unknown emails (timing)
    if found is None or found.user.shop_id != shop_id or not right:
        _count_failure(engine, keys)
        raise AccountError("Wrong email or password.", code="bad_login")
    _forget_failures(engine, f"email:{email}")
    token, csrf, now = new_secret(), secrets.token_urlsafe(24), utcnow()
    with engine.begin() as conn:
        stored.add_session(conn, digest(token), found.user.id, csrf, now,
                           now + dt.timedelta(days=SESSION_DAYS))
    return token, Session(found.user, csrf)


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches, checked for unknown emails so they take as long."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(password: str, hashed: str) -> bool:
    try:
        return bool(_hasher.verify(password, hashed))
    except Exception:  # a malformed stored hash is a failed login, not a crash
        return False


def _refuse_if_locked(engine: sa.Engine, keys: list[str]) -> None:
    now = utcnow()
    with engine.connect() as conn:
        until = stored.locked_until(conn, keys, now)
    if until is not None:
        raise LoginLocked(max(1, int((until - now).total_seconds() + 0.999)))


def _count_failure(engine: sa.Engine, keys: dict[str, LoginLimit]) -> None:
    """One more failed attempt for each key; a key past its limit is locked out."""
    now = utcnow()
    with engine.begin() as conn:
        for key, limit in keys.items():
            found = stored.attempts(conn, key)
            if found is None:
                stored.add_attempts(conn, LoginAttempts(key, failures=1, window_start=now,
                                                        lockouts=0))
                continue
            stored.update_attempts(conn, _one_more_failure(found, limit, now))


def _one_more_failure(found: LoginAttempts, limit: LoginLimit, now: dt.datetime
                      ) -> LoginAttempts:
    fresh = found.window_start < now - limit.window
    failures = 1 if fresh else found.failures + 1
    # lockouts double while failures keep coming; a quiet day starts them over
    lockouts = 0 if found.window_start < now - dt.timedelta(days=1) else found.lockouts
    after = replace(found, failures=failures, lockouts=lockouts,
                    window_start=now if fresh else found.window_start)
    if failures >= limit.failures:
        after = replace(after, failures=0, window_start=now, lockouts=lockouts + 1,
                        locked_until=now + limit.lockout(lockouts + 1))
    return after


def _forget_failures(engine: sa.Engine, key: str) -> None:
    with engine.begin() as conn:
        stored.forget_attempts(conn, key)


def session_user(engine: sa.Engine, token: str) -> Session | None:
    """The live session a cookie value names, if any."""
    with engine.connect() as conn:
        return stored.session(conn, digest(token), utcnow())


def end_session(engine: sa.Engine, token: str) -> None:
    with engine.begin() as conn:
        stored.end_session(conn, digest(token))


def create_token(engine: sa.Engine, email: str, name: str) -> str:
    """A new API token for a user; the only time the token itself is seen."""
    with engine.begin() as conn:
        user_id = stored.user_id(conn, email.strip().lower())
        if user_id is None:
            raise AccountError("There is no user {email!r}.", code="unknown_user",
                               params={"email": email})
        token = new_secret("sgt_")
        stored.add_token(conn, user_id, name.strip()[:200] or "token", digest(token),
                         token[:8])
    return token


def token_user(engine: sa.Engine, token: str) -> User | None:
    """The user of a live API token (and note its use)."""
    with engine.begin() as conn:
        return stored.token_user(conn, digest(token))


def list_tokens(engine: sa.Engine, user: User) -> list[dict[str, Any]]:
    """The user's tokens (never the secrets), newest first."""
    with engine.connect() as conn:
        return [asdict(t) for t in stored.tokens(conn, user.id)]


def revoke_token(engine: sa.Engine, user: User, token_id: int) -> bool:
    """Revoke one of the user's tokens; False when it is not theirs (or not there)."""
    with engine.begin() as conn:
        return stored.revoke_token(conn, user.id, token_id)


def list_users(engine: sa.Engine, shop_id: str) -> list[dict[str, Any]]:
    """The shop's users (id, email, created_at), oldest first."""
    with engine.connect() as conn:
        return [asdict(u) for u in stored.shop_users(conn, shop_id)]


def create_user(engine: sa.Engine, email: str, password: str, shop_id: str) -> User:
    """Add a new user of ``shop_id``; unlike :func:`add_user`, an existing email is an error
    (``duplicate_user``), so a colleague's password is never reset by mistake."""
    email = _checked(email, password)
    with engine.connect() as conn:
        taken = stored.user_id(conn, email)
    if taken is not None:
        raise AccountError("{email} already has an account.", code="duplicate_user",
                           params={"email": email})
    return add_user(engine, email, password, shop_id)


def remove_user(engine: sa.Engine, by: User, user_id: int) -> str:
    """Remove a user of ``by``'s shop with their sessions and tokens; returns their email.

    Nobody removes themselves (so a shop always keeps a user who can sign in).
    """
    if user_id == by.id:
        raise AccountError("You cannot remove yourself.", code="remove_self",
                           hint="Ask another user to remove you.")
    with engine.begin() as conn:
        email = stored.shop_user_email(conn, by.shop_id, user_id)
        if email is None:
            raise AccountError("There is no such user.", code="not_found")
        stored.delete_user(conn, user_id)
    return email


def remove_user_by_email(engine: sa.Engine, shop_id: str, email: str) -> None:
    """Remove a user of ``shop_id`` with their sessions and API tokens (``segmentry users
    remove``); the shop's last user is kept, so someone can still sign in."""
    email = email.strip().lower()
    with engine.begin() as conn:
        ids = {u.email: u.id for u in stored.shop_users(conn, shop_id)}
        if email not in ids:
            raise AccountError("There is no user {email!r}.", code="unknown_user",
                               params={"email": email})
        if len(ids) == 1:
            raise AccountError("{email} is the shop's only user.", code="last_user",
                               hint="Add another user first.", params={"email": email})
        stored.delete_user(conn, ids[email])


def shop_tokens(engine: sa.Engine, shop_id: str, email: str | None = None
                ) -> list[dict[str, Any]]:
    """The API tokens of ``shop_id``'s users (or of one user), oldest first: id, email, name,
    prefix, created_at, last_used_at, revoked_at — never the tokens themselves."""
    wanted = None if email is None else email.strip().lower()
    with engine.connect() as conn:
        return [asdict(t) for t in stored.shop_tokens(conn, shop_id, wanted)]


def revoke_shop_token(engine: sa.Engine, shop_id: str, token_id: int) -> None:
    """Revoke a token of one of ``shop_id``'s users by its id (``segmentry tokens revoke``)."""
    with engine.begin() as conn:
        revoked = stored.revoke_shop_token(conn, shop_id, token_id)
    if not revoked:
        raise AccountError("There is no live API token {token_id}.", code="unknown_token",
                           params={"token_id": token_id})


def change_password(engine: sa.Engine, user: User, current: str, new: str,
                    keep_session: str | None = None) -> None:
    """Change ``user``'s own password (the current one must be right); every other session of
    theirs ends, so a stolen session cookie stops working."""
    with engine.connect() as conn:
        hashed = stored.password_hash(conn, user.id)
    if hashed is None or not _verify(current, hashed):
        raise AccountError("The current password is wrong.", code="wrong_password")
    _check_password(new)
    keep = digest(keep_session) if keep_session else ""
    with engine.begin() as conn:
        stored.set_password(conn, user.id, _hasher.hash(new))
        stored.end_sessions(conn, user.id, keep)
