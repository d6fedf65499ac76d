"""The login throttle holds under concurrency, spraying and spoofed addresses, and cannot be used
to lock a user out (issue 14, defect 6). In process and over Redis (scale-out)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from qts.adapters.login_throttle import LoginThrottle
from qts.api.app import create_app
from qts.api.server import uvicorn_options
from qts.core.errors import AuthenticationError, RateLimitedError
from qts.db import Database
from qts.db.migrate import upgrade
from qts.services.auth.schemas import NewUser
from qts.services.auth.security import TokenService
from qts.services.auth.users import AuthService, create_user
from tests.api.conftest import make_settings, seed_users
from tests.api.fuzzing import serve_in_thread

PASSWORD = "right-pass-1"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'qts.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture(params=["memory", "redis"])
def throttle(request: pytest.FixtureRequest) -> Iterator[LoginThrottle]:
    if request.param == "memory":
        yield LoginThrottle(5, 300)
        return
    import redis

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield LoginThrottle(5, 300, client)
    for key in client.scan_iter("qts:login:*"):
        client.delete(key)
    client.close()


def _user(db: Database) -> str:
    name = f"u{uuid.uuid4().hex[:10]}"  # fresh keys in a shared Redis
    create_user(db, NewUser(username=name, password=PASSWORD, role="trader"))
    return name


def _try(auth: AuthService, username: str, password: str, ip: str) -> str:
    try:
        auth.login(username, password, ip)
    except AuthenticationError:
        return "checked"  # the password was verified, and was wrong
    except RateLimitedError:
        return "refused"
    return "ok"


def test_concurrent_wrong_logins_check_at_most_the_limit(db, throttle) -> None:  # type: ignore[no-untyped-def]
    auth = AuthService(db, TokenService("s" * 40, 15, 7), throttle)
    name = _user(db)
    ip = f"10.1.{uuid.uuid4().int % 250}.7"
    with ThreadPoolExecutor(40) as pool:
        outcomes = list(pool.map(lambda _: _try(auth, name, "wrong-pass", ip), range(40)))
    assert outcomes.count("checked") == 5
    assert outcomes.count("refused") == 35


def test_password_spray_with_own_logins_between_is_still_limited(db, throttle) -> None:  # type: ignore[no-untyped-def]
    auth = AuthService(db, TokenService("s" * 40, 15, 7), throttle)
    own = _user(db)
    ip = f"10.2.{uuid.uuid4().int % 250}.9"
    auth.throttle = LoginThrottle(2, 300, throttle._redis)  # small limits: each check is a hash
    checked = 0
    for i in range(30):
        checked += _try(auth, f"victim{i}-{uuid.uuid4().hex[:6]}", "guess-1234", ip) == "checked"
        if i % 4 == 3:
            _try(auth, own, PASSWORD, ip)  # a success must not clear the address's failures
    assert checked == 8  # the per-address limit: 4 x 2


def test_an_attacker_cannot_lock_a_user_out(db: Database) -> None:
    throttle = LoginThrottle(2, 300, user_max_failures=6, max_delay=1)
    auth = AuthService(db, TokenService("s" * 40, 15, 7), throttle)
    name = _user(db)
    for _ in range(2):
        assert _try(auth, name, "wrong-pass", "203.0.113.1") == "checked"
    assert _try(auth, name, "wrong-pass", "203.0.113.1") == "refused"
    # The lockout is for that address only: the user logs in from home.
    assert _try(auth, name, PASSWORD, "198.51.100.2") == "ok"
    # A distributed attack (one guess per address) is slowed, not turned into a lockout.
    for i in range(4):  # 2 + 4: the user's limit over all addresses
        assert _try(auth, name, "wrong-pass", f"192.0.2.{i + 10}") == "checked"
    assert _try(auth, name, "wrong-pass", "192.0.2.200") == "checked"
    assert _try(auth, name, "wrong-pass", "192.0.2.201") == "refused"  # spaced by the delay
    time.sleep(1.1)
    assert _try(auth, name, PASSWORD, "198.51.100.2") == "ok"


def _spoofed_spray(base_url: str) -> list[int]:
    statuses = []
    for i in range(6):
        r = requests.post(
            f"{base_url}/api/v1/auth/login",
            data={"username": f"nobody{i}", "password": "guess-1234"},
            headers={"X-Forwarded-For": f"198.18.0.{i + 1}"},
            timeout=30,
        )
        statuses.append(r.status_code)
    return statuses


@pytest.mark.parametrize("trusted", [[], ["127.0.0.1"]])
def test_forwarded_for_is_believed_only_from_a_configured_proxy(
    tmp_path: Path, trusted: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'qts.db'}"
    settings = make_settings(tmp_path, url, trusted_proxies=trusted, login_max_failures=1)
    seed_users(settings)
    app = create_app(settings)
    options = uvicorn_options(settings, "127.0.0.1", 0)
    options.pop("port")
    try:
        with serve_in_thread(app, **options) as base_url:
            statuses = _spoofed_spray(base_url)
    finally:
        app.state.ctx.close()
    if trusted:  # behind a proxy each forwarded address is its own client
        assert statuses == [401] * 6
    else:  # a spoofed header changes nothing: all 6 come from 127.0.0.1 (limit 4 x 1)
        assert statuses == [401] * 4 + [429] * 2
