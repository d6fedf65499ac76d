"""Shared fixtures: real PostgreSQL and Redis when reachable.

Without a service its tests are skipped with a visible reason; with QTS_TEST_REQUIRE_SERVICES=1
(as CI sets) a missing service fails the test instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get(
    "QTS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("QTS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def services_required() -> bool:
    return os.environ.get("QTS_TEST_REQUIRE_SERVICES") == "1"


def unavailable(service: str, error: BaseException) -> None:
    message = f"{service} is not reachable ({type(error).__name__}: {error})"
    if services_required():
        pytest.fail(message + " and QTS_TEST_REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database for this test session, dropped afterwards."""
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as e:
        unavailable("PostgreSQL", e)
    name = f"qts_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """The session database, emptied of every table after each test."""
    import sqlalchemy as sa

    yield pg_server_url
    engine = sa.create_engine(pg_server_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.ping()
    except Exception as e:
        unavailable("Redis", e)
    yield REDIS_URL
    client.close()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """Run a test on both backends: an SQLite file and a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'qts.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def fresh_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty data directory in embedded mode: what a new user starts from."""
    from qts.cli import common
    from qts.config import reset_settings_cache

    data_dir = tmp_path / "var"
    monkeypatch.setenv("QTS_DATA_DIR", str(data_dir))
    for name in ("QTS_DATABASE_URL", "QTS_REDIS_URL", "QTS_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    reset_settings_cache()
    common._migrated.clear()
    yield data_dir
    reset_settings_cache()
    common._migrated.clear()


# A migrated database on each backend, an SQLite one, and an event bus: what the order service,
# sessions and model strategies are built on (tests/market and tests/api keep their own).
@pytest.fixture
def db(db_url: str):  # type: ignore[no-untyped-def]
    from qts.db import Database
    from qts.db.migrate import upgrade

    upgrade(db_url)
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    from qts.db import Database
    from qts.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'qts.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture
def bus():  # type: ignore[no-untyped-def]
    from qts.events import InProcessEventBus

    return InProcessEventBus()
