"""The dashboard (frontend/): the committed bundle is a build of the sources and the generated API
types match the API; vitest unit tests; Playwright end-to-end flows in the machine's Chromium
against a real `qts up` on a fresh data directory; the budgets script's smoke run.

Needs node/npm and Chromium (`/usr/bin/chromium`, or QTS_CHROMIUM); without them the tests skip,
or fail when QTS_TEST_REQUIRE_SERVICES=1 (CI, where `.ci/run` installs them)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import services_required

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
CHROMIUM = os.environ.get("QTS_CHROMIUM", "/usr/bin/chromium")


def _missing(what: str) -> None:
    message = f"{what} is not installed (the dashboard tests need node, npm and Chromium)"
    if services_required():
        pytest.fail(message + " and QTS_TEST_REQUIRE_SERVICES=1: run .ci/run or install them")
    pytest.skip(message)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QTS_")}
    env.update(
        QTS_PYTHON=sys.executable,
        QTS_CHROMIUM=CHROMIUM,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
    )
    return env


def _run(args: list[str], timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=FRONTEND, env=_env(), capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def node_modules() -> Iterator[Path]:
    """`npm ci` once per lockfile (a stamp in node_modules records which one was installed)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            _missing(tool)
    lock = hashlib.sha256((FRONTEND / "package-lock.json").read_bytes()).hexdigest()
    stamp = FRONTEND / "node_modules" / ".qts-lock-sha256"
    if not stamp.is_file() or stamp.read_text() != lock:
        r = _run(["npm", "ci", "--no-audit", "--no-fund"], timeout=600)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        stamp.write_text(lock)
    yield FRONTEND / "node_modules"


@pytest.fixture(scope="module")
def chromium(node_modules: Path) -> str:
    if not Path(CHROMIUM).is_file():
        _missing(f"Chromium ({CHROMIUM})")
    return CHROMIUM


def test_committed_bundle_and_api_types_match_the_sources(node_modules: Path) -> None:
    r = _run(["node", "scripts/check-bundle.mjs"], timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "src/api/schema.d.ts matches the API" in r.stdout
    assert "src/qts/static matches a fresh build" in r.stdout


def test_unit_tests(node_modules: Path) -> None:
    r = _run(["npx", "vitest", "run", "--reporter=dot"], timeout=600)
    assert r.returncode == 0, r.stdout[-5000:] + r.stderr[-3000:]


@pytest.mark.timeout(900)
def test_end_to_end_in_chromium(chromium: str, tmp_path: Path) -> None:
    env_dir = tmp_path / "artifacts"
    r = subprocess.run(
        ["node", "e2e/run.mjs"],
        cwd=FRONTEND,
        env={**_env(), "QTS_E2E_ARTIFACTS": str(env_dir)},
        capture_output=True,
        text=True,
        timeout=880,
    )
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert "0 failed" in r.stdout
    shots = {p.name for p in env_dir.glob("*.png")}
    assert {"page-dashboard.png", "page-orders.png", "backtest-result.png", "training.png"} <= shots


@pytest.mark.timeout(600)
def test_dashboard_budget_script_smoke(chromium: str) -> None:
    bench = str(ROOT / "benchmarks/bench_dashboard.mjs")
    args = ["--runs", "1", "--orders", "2000", "--json", "--smoke"]
    r = _run(["node", bench, *args], timeout=580)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = {
        row["name"].split(" (")[0]: row for row in json.loads(r.stdout.strip().splitlines()[-1])
    }
    # The measures that do not depend on the machine's load hold in the smoke run too.
    assert float(rows["initial JS"]["value"]) <= 300
    assert int(rows["orders table rows in the DOM"]["value"]) <= 100
    assert float(rows["first dashboard data row painted"]["value"]) > 0
