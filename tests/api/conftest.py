from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qts.api.app import create_app
from qts.config import Settings
from qts.db import Database
from qts.db.migrate import upgrade
from qts.services.auth.schemas import NewUser
from qts.services.auth.users import create_user

PASSWORDS = {"admin": "admin-pass-1", "trader": "trader-pass-1", "viewer": "viewer-pass-1"}


def make_settings(tmp_path: Path, db_url: str, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        jwt_secret="test-secret-" + "x" * 40,
        run_scheduler=False,
        **extra,
    )


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path, db_url)


def seed_users(settings: Settings) -> None:
    upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    for role, password in PASSWORDS.items():
        create_user(db, NewUser(username=role, password=password, role=role))
    db.dispose()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    seed_users(settings)
    app = create_app(settings)
    with TestClient(app) as c:
        yield c
    app.state.ctx.close()


@pytest.fixture
def sqlite_client(tmp_path: Path) -> Iterator[TestClient]:
    """The app on an SQLite file only: for checks of the web layer that no backend changes."""
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'qts.db'}")
    seed_users(settings)
    app = create_app(settings)
    with TestClient(app) as c:
        yield c
    app.state.ctx.close()


def login(client: TestClient, username: str, password: str | None = None) -> dict[str, Any]:
    r = client.post(
        "/api/v1/auth/login",
        data={"username": username, "password": password or PASSWORDS[username]},
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def auth_headers(client: TestClient) -> Callable[[str], dict[str, str]]:
    cache: dict[str, dict[str, str]] = {}

    def headers(role: str) -> dict[str, str]:
        if role not in cache:
            cache[role] = {"Authorization": f"Bearer {login(client, role)['access_token']}"}
        return cache[role]

    return headers
