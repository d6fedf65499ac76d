"""`qts doctor` on a fresh machine passes; with Redis configured but down it says so, says
what to do, and exits 1; an MLflow server that is down fails too."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qts.cli.main import app

runner = CliRunner()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _checks(argv: list[str]) -> tuple[int, dict[str, dict[str, str]]]:
    r = runner.invoke(app, [*argv, "--json"])
    return r.exit_code, {c["name"]: c for c in json.loads(r.stdout)}


def test_fresh_embedded_setup_passes(fresh_data_dir: Path) -> None:
    code, checks = _checks(["doctor"])
    assert code == 0
    assert {
        "python",
        "extra ml",
        "data directory",
        "database",
        "redis",
        "mlflow",
        "ta-lib",
        "cuda",
    } <= set(checks)
    assert checks["redis"]["status"] == "ok" and "embedded" in checks["redis"]["detail"]
    assert checks["data directory"]["status"] == "ok"
    assert checks["database"]["status"] in ("ok", "warn")  # a fresh database is not migrated yet
    assert all(c["status"] != "fail" for c in checks.values())
    # Optional sources warn with what to set, and never fail the check.
    assert checks["opendart"]["status"] == "warn"
    assert "QTS_OPENDART_API_KEY" in checks["opendart"]["fix"]
    assert checks["korean sentiment"]["status"] == "warn"


def test_data_sources_reported(
    fresh_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qts.config import reset_settings_cache

    monkeypatch.setenv("QTS_OPENDART_API_KEY", "k" * 40)
    monkeypatch.setenv("QTS_KR_SENTIMENT_MODEL", str(tmp_path))
    reset_settings_cache()
    _, checks = _checks(["doctor"])
    assert checks["opendart"]["status"] == "ok"
    assert "k" * 40 not in json.dumps(checks)  # the key is never printed
    assert checks["korean sentiment"]["status"] == "warn"
    assert "no config.json" in checks["korean sentiment"]["detail"]
    (tmp_path / "config.json").write_text("{}")
    _, checks = _checks(["doctor"])
    assert checks["korean sentiment"]["status"] == "ok"


def test_redis_down_fails_with_what_to_do(
    fresh_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qts.config import reset_settings_cache

    monkeypatch.setenv("QTS_REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")
    reset_settings_cache()
    code, checks = _checks(["doctor"])
    assert code == 1
    assert checks["redis"]["status"] == "fail"
    assert checks["redis"]["detail"] == "127.0.0.1: connection refused"
    assert "start Redis" in checks["redis"]["fix"]
    r = runner.invoke(app, ["doctor"])
    assert r.exit_code == 1 and "FAIL" in r.stdout and "QTS_REDIS_URL" in r.stdout


def test_mlflow_server_down_fails(fresh_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qts.config import reset_settings_cache

    monkeypatch.setenv("QTS_MLFLOW_TRACKING_URI", f"http://127.0.0.1:{_closed_port()}")
    reset_settings_cache()
    code, checks = _checks(["doctor"])
    assert code == 1 and checks["mlflow"]["status"] == "fail"
    assert checks["mlflow"]["detail"] == "127.0.0.1: connection refused"


def test_missing_extra_is_a_warning_with_the_install_command(
    fresh_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "ccxt" else real(n, *a)
    )
    code, checks = _checks(["doctor"])
    assert code == 0 and checks["extra brokers"]["status"] == "warn"
    assert checks["extra brokers"]["fix"].startswith("pip install 'qts[brokers]'")
