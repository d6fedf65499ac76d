"""Schemathesis over every operation of the API, as each role: the harness behind
`tests/api/test_fuzz.py` (a bounded slice) and `benchmarks/fuzz_api.py` (the full run).

Requests go over real HTTP to a uvicorn server, as a client would send them; a response of 500
or more is a failure whatever the input.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

ROLES = ("anonymous", "viewer", "trader", "admin")


@dataclass
class FuzzReport:
    requests: int = 0
    by_status: collections.Counter[int] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)  # "role METHOD path -> status" + curl
    operations: int = 0
    seconds: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.by_status.items() if status >= 500)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(app: Any, **options: Any) -> Iterator[str]:
    """Run `app` under uvicorn on a free local port; yields its base URL."""
    import uvicorn

    port = free_port()
    options = {"host": "127.0.0.1", "log_level": "warning", **options, "port": port}
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", **options))
    thread = threading.Thread(target=server.run, daemon=True, name="fuzz-server")
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def login_headers(base_url: str, passwords: dict[str, str]) -> dict[str, dict[str, str]]:
    """Bearer headers for each role (username = role), plus no header for `anonymous`."""
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role, password in passwords.items():
        r = requests.post(
            f"{base_url}/api/v1/auth/login",
            data={"username": role, "password": password},
            timeout=30,
        )
        r.raise_for_status()
        headers[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return headers


def _operation_order(label: str) -> tuple[int, str]:
    # Changes to users last, so an admin that deactivates itself does not blind the rest.
    return (1 if "/users" in label and not label.startswith("GET") else 0, label)


def fuzz(
    base_url: str,
    headers_by_role: dict[str, dict[str, str]],
    examples: int,
    seed: int,
    modes: tuple[str, ...] = ("positive",),
) -> FuzzReport:
    """`examples` generated cases per operation, role and mode; collects every status."""
    import schemathesis

    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = sorted(
        (r.ok() for r in schema.get_all_operations()), key=lambda op: _operation_order(op.label)
    )
    report = FuzzReport(operations=len(operations))
    started = time.perf_counter()
    session = requests.Session()
    for op in operations:
        for role, headers in headers_by_role.items():
            for mode in modes:
                _fuzz_operation(op, mode, role, headers, base_url, session, examples, seed, report)
    report.seconds = time.perf_counter() - started
    return report


def _fuzz_operation(
    op: Any,
    mode: str,
    role: str,
    headers: dict[str, str],
    base_url: str,
    session: requests.Session,
    examples: int,
    seed: int,
    report: FuzzReport,
) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=GenerationMode(mode)))
    def call(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers)
        report.requests += 1
        report.by_status[response.status_code] += 1
        if response.status_code >= 500:
            report.failures.append(
                f"{role} {op.label} -> {response.status_code}\n"
                f"    {case.as_curl_command(headers=headers)}"
            )

    # Unsatisfiable: nothing to make invalid (negative mode on an operation without inputs).
    with contextlib.suppress(Unsatisfiable):
        call()
