from __future__ import annotations

import time

import jwt
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORDS, login


def test_login_returns_token_pair_and_me(client: TestClient) -> None:
    tokens = login(client, "trader")
    assert set(tokens) >= {"access_token", "refresh_token", "token_type"}
    assert tokens["token_type"] == "bearer"
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 200
    assert r.json()["username"] == "trader"
    assert r.json()["role"] == "trader"
    assert "password_hash" not in r.json()


def test_wrong_password_is_401_in_error_shape(client: TestClient) -> None:
    r = client.post("/api/v1/auth/login", data={"username": "trader", "password": "nope-nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"


def test_unknown_user_gets_the_same_answer_as_wrong_password(client: TestClient) -> None:
    r = client.post("/api/v1/auth/login", data={"username": "ghost", "password": "whatever1"})
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "incorrect username or password"


def test_repeated_failed_logins_are_throttled(client: TestClient) -> None:
    for _ in range(5):
        r = client.post("/api/v1/auth/login", data={"username": "viewer", "password": "bad-pass"})
        assert r.status_code == 401
    # Even the right password is refused while the lockout lasts.
    r = client.post(
        "/api/v1/auth/login", data={"username": "viewer", "password": PASSWORDS["viewer"]}
    )
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) > 0


def test_refresh_issues_new_tokens_and_access_token_is_not_a_refresh_token(
    client: TestClient,
) -> None:
    tokens = login(client, "admin")
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200
    assert r.json()["access_token"]
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert r.status_code == 401
    # A refresh token cannot be used as an access token either.
    r = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert r.status_code == 401


def test_expired_and_forged_tokens_are_rejected(client: TestClient) -> None:
    expired = jwt.encode(
        {"sub": "admin", "role": "admin", "typ": "access", "exp": int(time.time()) - 10},
        "test-secret-" + "x" * 40,
        algorithm="HS256",
    )
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "token expired"
    forged = jwt.encode(
        {"sub": "admin", "role": "admin", "typ": "access", "exp": int(time.time()) + 600},
        "another-secret-" + "y" * 40,
        algorithm="HS256",
    )
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


def test_users_are_admin_only(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/users", headers=auth_headers("trader")).status_code == 403
    r = client.get("/api/v1/users", headers=auth_headers("admin"))
    assert r.status_code == 200
    assert sorted(u["username"] for u in r.json()) == ["admin", "trader", "viewer"]
    r = client.post(
        "/api/v1/users",
        headers=auth_headers("admin"),
        json={"username": "bob", "password": "bob-pass-12", "role": "trader"},
    )
    assert r.status_code == 201
    assert login(client, "bob", "bob-pass-12")["access_token"]
    dup = client.post(
        "/api/v1/users",
        headers=auth_headers("admin"),
        json={"username": "bob", "password": "bob-pass-12", "role": "trader"},
    )
    assert dup.status_code == 409
    # Deactivating a user stops their logins.
    uid = r.json()["id"]
    r = client.patch(
        f"/api/v1/users/{uid}", headers=auth_headers("admin"), json={"is_active": False}
    )
    assert r.status_code == 200
    r = client.post("/api/v1/auth/login", data={"username": "bob", "password": "bob-pass-12"})
    assert r.status_code == 401
