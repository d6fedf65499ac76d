"""Refresh tokens rotate with reuse detection; password, role and activation changes revoke
tokens; tokens stay out of the logs (issue 14, defect 7)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from websockets.sync.client import connect

from qts.api.app import create_app
from tests.api.conftest import PASSWORDS, login, make_settings, seed_users
from tests.api.fuzzing import serve_in_thread


def _client(tmp_path: Path, **extra: object) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'qts.db'}", **extra)
    seed_users(settings)
    app = create_app(settings)
    with TestClient(app) as c:
        yield c
    app.state.ctx.close()


@pytest.fixture
def no_grace(tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path, refresh_reuse_grace_seconds=0)


@pytest.fixture
def with_grace(tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path)


def _refresh(client: TestClient, token: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": token})
    return r.status_code, r.json()


def _me(client: TestClient, access: str) -> int:
    return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"}).status_code


def test_reused_refresh_token_revokes_the_family(no_grace: TestClient) -> None:
    first = login(no_grace, "trader")
    status, second = _refresh(no_grace, first["refresh_token"])
    assert status == 200
    status, third = _refresh(no_grace, second["refresh_token"])
    assert status == 200
    # The spent token comes back (a thief's copy): refused, and the family with it.
    status, body = _refresh(no_grace, first["refresh_token"])
    assert status == 401 and "reused" in body["error"]["message"]
    assert _refresh(no_grace, third["refresh_token"])[0] == 401
    # Another login is its own family and unaffected.
    assert _refresh(no_grace, login(no_grace, "trader")["refresh_token"])[0] == 200


def test_two_tabs_refreshing_at_once_both_stay_signed_in(with_grace: TestClient) -> None:
    first = login(with_grace, "viewer")
    status_a, tab_a = _refresh(with_grace, first["refresh_token"])
    status_b, tab_b = _refresh(with_grace, first["refresh_token"])  # within the grace period
    assert (status_a, status_b) == (200, 200)
    jti = [
        jwt.decode(t["refresh_token"], options={"verify_signature": False})["jti"]
        for t in (tab_a, tab_b)
    ]
    assert jti[0] == jti[1]  # both tabs hold the family's current token
    assert _refresh(with_grace, tab_b["refresh_token"])[0] == 200


@pytest.mark.parametrize(
    "change", [{"password": "brand-new-pass-1"}, {"role": "viewer"}, {"is_active": False}]
)
def test_admin_changes_revoke_the_users_tokens(with_grace: TestClient, change: dict) -> None:  # type: ignore[type-arg]
    tokens = login(with_grace, "trader")
    assert _me(with_grace, tokens["access_token"]) == 200
    admin = {"Authorization": f"Bearer {login(with_grace, 'admin')['access_token']}"}
    users = {u["username"]: u["id"] for u in with_grace.get("/api/v1/users", headers=admin).json()}
    r = with_grace.patch(f"/api/v1/users/{users['trader']}", headers=admin, json=change)
    assert r.status_code == 200
    assert _me(with_grace, tokens["access_token"]) == 401
    assert _refresh(with_grace, tokens["refresh_token"])[0] == 401
    if "password" in change:
        assert (
            _me(with_grace, login(with_grace, "trader", change["password"])["access_token"]) == 200
        )


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_websocket_token_never_reaches_the_logs(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'qts.db'}")
    seed_users(settings)
    app = create_app(settings)
    collect = _Collect()
    try:
        with serve_in_thread(app, log_level="info") as base_url:
            for name in ("uvicorn.access", "uvicorn.error"):  # uvicorn set its own handlers
                logging.getLogger(name).addHandler(collect)
            import requests

            token = requests.post(
                f"{base_url}/api/v1/auth/login",
                data={"username": "viewer", "password": PASSWORDS["viewer"]},
                timeout=30,
            ).json()["access_token"]
            ws_url = base_url.replace("http", "ws")
            with connect(f"{ws_url}/ws?token={token}") as ws:  # the old way, still accepted
                assert '"welcome"' in ws.recv(timeout=10)
            with connect(f"{ws_url}/ws") as ws:  # first-message auth
                ws.send(json.dumps({"action": "auth", "token": token}))
                assert '"welcome"' in ws.recv(timeout=10)
            requests.get(f"{base_url}/api/v1/auth/me?token={token}", timeout=30)
    finally:
        app.state.ctx.close()
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).removeHandler(collect)
    logged = "\n".join(collect.lines)
    assert "/ws?token=***" in logged  # the lines are there, without the value
    assert "/api/v1/auth/me?token=***" in logged
    assert token not in logged
    assert token[:20] not in logged
