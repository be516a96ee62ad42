"""The accounts repository (segmentry.store.accounts): users, sessions, API tokens and failed
sign-ins, read back by hash."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from segmentry.store import accounts
from segmentry.store.accounts import LoginAttempts, User

T0 = dt.datetime(2026, 12, 6, 9, 0)


def test_a_token_is_found_by_its_hash_until_revoked(state_store: sa.Engine) -> None:
    with state_store.begin() as conn:
        ann = accounts.add_user(conn, "ann@example.com", "argon-ann", "shop-1")
        bob = accounts.add_user(conn, "bob@example.com", "argon-bob", "shop-1")
        accounts.add_token(conn, ann, "ci", "a" * 64, "sgt_AAAA")
        accounts.add_token(conn, ann, "laptop", "b" * 64, "sgt_BBBB")
    with state_store.begin() as conn:
        assert accounts.token_user(conn, "a" * 64) == User(ann, "ann@example.com", "shop-1")
        assert accounts.token_user(conn, "c" * 64) is None
    with state_store.connect() as conn:
        listed = accounts.tokens(conn, ann)
    assert [(t.name, t.prefix) for t in listed] == [("laptop", "sgt_BBBB"), ("ci", "sgt_AAAA")]
    assert listed[1].last_used_at is not None  # the look-up noted its use
    assert listed[0].last_used_at is None and listed[0].revoked_at is None
    ci = listed[1].id
    with state_store.begin() as conn:
        assert accounts.revoke_token(conn, bob, ci) is False  # not Bob's token
        assert accounts.token_user(conn, "a" * 64) is not None
        assert accounts.revoke_token(conn, ann, ci) is True
        assert accounts.revoke_token(conn, ann, ci) is False  # already revoked
        assert accounts.token_user(conn, "a" * 64) is None
        assert accounts.token_user(conn, "b" * 64) == User(ann, "ann@example.com", "shop-1")
    with state_store.connect() as conn:
        assert [t.revoked_at is not None for t in accounts.tokens(conn, ann)] == [False, True]
        assert accounts.tokens(conn, bob) == []


def test_shop_tokens_stay_within_their_shop(state_store: sa.Engine) -> None:
    with state_store.begin() as conn:
        ann = accounts.add_user(conn, "ann@example.com", "h", "shop-1")
        cat = accounts.add_user(conn, "cat@example.com", "h", "shop-1")
        eve = accounts.add_user(conn, "eve@example.com", "h", "shop-2")
        for user, name, hashed in ((cat, "c1", "1"), (ann, "a1", "2"), (eve, "e1", "3")):
            accounts.add_token(conn, user, name, hashed * 64, "sgt_" + hashed)
    with state_store.connect() as conn:
        mine = accounts.shop_tokens(conn, "shop-1")
        cats = accounts.shop_tokens(conn, "shop-1", "cat@example.com")
        theirs = accounts.shop_tokens(conn, "shop-2")
    assert [(t.email, t.name) for t in mine] == [("cat@example.com", "c1"),
                                                 ("ann@example.com", "a1")]  # oldest first
    assert [t.name for t in cats] == ["c1"]
    assert [t.name for t in theirs] == ["e1"]
    with state_store.begin() as conn:
        assert accounts.revoke_shop_token(conn, "shop-1", theirs[0].id) is False
        assert accounts.revoke_shop_token(conn, "shop-2", theirs[0].id) is True
        assert accounts.token_user(conn, "3" * 64) is None


def test_sessions_live_until_they_expire_or_end(state_store: sa.Engine) -> None:
    later = T0 + dt.timedelta(days=14)
    with state_store.begin() as conn:
        ann = accounts.add_user(conn, "ann@example.com", "h", "shop-1")
        accounts.add_session(conn, "1" * 64, ann, "csrf-1", T0, T0 + dt.timedelta(hours=1))
        accounts.add_session(conn, "2" * 64, ann, "csrf-2", T0, later)
        accounts.add_session(conn, "3" * 64, ann, "csrf-3", T0, later)
    with state_store.connect() as conn:
        found = accounts.session(conn, "2" * 64, T0)
        assert found is not None and (found.user.email, found.csrf) == ("ann@example.com",
                                                                        "csrf-2")
        assert accounts.session(conn, "1" * 64, T0 + dt.timedelta(minutes=59)) is not None
        assert accounts.session(conn, "1" * 64, T0 + dt.timedelta(hours=2)) is None  # expired
    with state_store.begin() as conn:  # a new session drops the expired ones
        accounts.add_session(conn, "4" * 64, ann, "csrf-4", T0 + dt.timedelta(hours=2), later)
        stored = conn.execute(sa.select(sa.func.count()).select_from(accounts.sessions)).scalar()
        assert stored == 3
        accounts.end_session(conn, "4" * 64)
        accounts.end_sessions(conn, ann, keep="3" * 64)
        assert accounts.session(conn, "2" * 64, T0) is None
        assert accounts.session(conn, "3" * 64, T0) is not None
        accounts.end_sessions(conn, ann)
        assert accounts.session(conn, "3" * 64, T0) is None


def test_a_user_is_found_changed_and_removed_with_what_they_own(state_store: sa.Engine) -> None:
    with state_store.begin() as conn:
        ann = accounts.add_user(conn, "ann@example.com", "old-hash", "shop-1")
        bob = accounts.add_user(conn, "bob@example.com", "bob-hash", "shop-1")
        accounts.add_session(conn, "1" * 64, ann, "c", T0, T0 + dt.timedelta(days=1))
        accounts.add_token(conn, ann, "ci", "a" * 64, "sgt_AAAA")
        accounts.set_password(conn, ann, "new-hash", "shop-9")
    with state_store.connect() as conn:
        assert accounts.user_id(conn, "ann@example.com") == ann
        assert accounts.user_id(conn, "nobody@example.com") is None
        assert accounts.credentials(conn, "ann@example.com") == accounts.Credentials(
            User(ann, "ann@example.com", "shop-9"), "new-hash")
        assert accounts.password_hash(conn, bob) == "bob-hash"
        assert [u.email for u in accounts.shop_users(conn, "shop-1")] == ["bob@example.com"]
        assert accounts.shop_user_email(conn, "shop-9", ann) == "ann@example.com"
        assert accounts.shop_user_email(conn, "shop-1", ann) is None
    with state_store.begin() as conn:
        accounts.delete_user(conn, ann)
    with state_store.connect() as conn:
        assert accounts.credentials(conn, "ann@example.com") is None
        assert accounts.session(conn, "1" * 64, T0) is None
        assert accounts.token_user(conn, "a" * 64) is None
        left = conn.execute(sa.select(sa.func.count()).select_from(accounts.api_tokens)).scalar()
        assert left == 0
        assert accounts.password_hash(conn, bob) == "bob-hash"


def test_failed_sign_ins_are_counted_and_locked_per_key(state_store: sa.Engine) -> None:
    until = T0 + dt.timedelta(minutes=1)
    with state_store.begin() as conn:
        accounts.add_attempts(conn, LoginAttempts("email:ann@example.com", 1, T0, 0))
        accounts.add_attempts(conn, LoginAttempts("client:10.0.0.1", 4, T0, 1))
        accounts.update_attempts(conn, LoginAttempts("client:10.0.0.1", 0, T0, 2, until))
    with state_store.connect() as conn:
        assert accounts.attempts(conn, "client:10.0.0.1") == LoginAttempts(
            "client:10.0.0.1", 0, T0, 2, until)
        assert accounts.attempts(conn, "email:bob@example.com") is None
        keys = ["email:ann@example.com", "client:10.0.0.1"]
        assert accounts.locked_until(conn, keys, T0) == until
        assert accounts.locked_until(conn, keys[:1], T0) is None
        assert accounts.locked_until(conn, keys, until) is None  # the lockout has ended
    with state_store.begin() as conn:
        accounts.forget_attempts(conn, "client:10.0.0.1")
        assert accounts.attempts(conn, "client:10.0.0.1") is None
        assert accounts.attempts(conn, "email:ann@example.com") is not None
