"""The user cache behind authenticated requests: a cached user answers without a database read,
and revocation, demotion, deactivation and deletion still apply — at once through this server,
within `user_cache_seconds` when made by another process on the same database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from qts.api.app import create_app
from tests.api.conftest import login, make_settings, seed_users


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _app(tmp_path: Path, **extra: Any) -> Any:
    return create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'qts.db'}", **extra))


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient, Clock]]:
    """Two apps on one SQLite file, as two server processes would be: A caches users for 5 s
    on our clock, B caches nothing."""
    seed_users(make_settings(tmp_path, f"sqlite:///{tmp_path / 'qts.db'}"))
    a, b = _app(tmp_path, user_cache_seconds=5), _app(tmp_path, user_cache_seconds=0)
    clock = Clock()
    a.state.auth.user_cache.clock = clock
    with TestClient(a) as ca, TestClient(b) as cb:
        yield ca, cb, clock
    a.state.ctx.close()
    b.state.ctx.close()


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _user_ids(client: TestClient) -> dict[str, int]:
    admin = _bearer(login(client, "admin"))
    return {u["username"]: u["id"] for u in client.get("/api/v1/users", headers=admin).json()}


def _count_queries(client: TestClient) -> list[str]:
    seen: list[str] = []
    engine = client.app.state.ctx.db.engine  # type: ignore[attr-defined]
    sa.event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_a_cached_user_needs_no_database_read_and_its_token_still_expires(two_servers) -> None:  # type: ignore[no-untyped-def]
    a, _, _ = two_servers
    tokens = login(a, "viewer")
    h = _bearer(tokens)
    assert a.get("/api/v1/auth/me", headers=h).json()["role"] == "viewer"
    queries = _count_queries(a)
    for _ in range(5):
        assert a.get("/api/v1/auth/me", headers=h).status_code == 200
    assert queries == []
    auth = a.app.state.auth  # type: ignore[attr-defined]
    expires = auth.tokens.decode(tokens["access_token"], "access").expires_at
    auth.user_cache.wall_clock = lambda: expires.timestamp() + 1
    r = a.get("/api/v1/auth/me", headers=h)
    assert r.status_code == 401 and r.json()["error"]["message"] == "token expired"


def test_demotion_and_deletion_through_this_server_apply_at_once(two_servers) -> None:  # type: ignore[no-untyped-def]
    a, _, _ = two_servers
    trader, viewer = _bearer(login(a, "trader")), _bearer(login(a, "viewer"))
    assert a.get("/api/v1/auth/me", headers=viewer).status_code == 200  # cached
    body = {"name": "s1", "strategy_class": "sma_cross", "parameters": {"fast": 5, "slow": 20}}
    assert a.post("/api/v1/strategies", headers=trader, json=body).status_code == 201  # cached
    admin = _bearer(login(a, "admin"))
    ids = _user_ids(a)
    a.patch(f"/api/v1/users/{ids['trader']}", headers=admin, json={"role": "viewer"})
    r = a.post("/api/v1/strategies", headers=trader, json=body)
    assert r.status_code == 401 and r.json()["error"]["message"] == "token revoked"
    again = _bearer(login(a, "trader"))  # a new token carries the new role
    r = a.post("/api/v1/strategies", headers=again, json={**body, "name": "s2"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert a.delete(f"/api/v1/users/{ids['viewer']}", headers=admin).status_code == 204
    assert a.get("/api/v1/auth/me", headers=viewer).status_code == 401


def _demote_in_sql(tmp_path: Path, username: str) -> None:
    """What another process (a second server, an admin's SQL) does to the shared database."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'qts.db'}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE users SET role = 'viewer', token_version = token_version + 1"
                " WHERE username = :u"
            ),
            {"u": username},
        )
    engine.dispose()


def test_changes_from_another_process_apply_within_the_cache_time(two_servers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b, clock = two_servers
    trader = _bearer(login(a, "trader"))
    assert a.get("/api/v1/auth/me", headers=trader).status_code == 200  # cached by A
    assert b.get("/api/v1/auth/me", headers=trader).status_code == 200
    _demote_in_sql(tmp_path, "trader")
    assert b.get("/api/v1/auth/me", headers=trader).status_code == 401  # no cache: at once
    clock.now += 4.9
    assert a.get("/api/v1/auth/me", headers=trader).status_code == 200  # within 5 s: A's copy
    clock.now += 0.2
    assert a.get("/api/v1/auth/me", headers=trader).status_code == 401
