from __future__ import annotations

from pathlib import Path

import pytest

from qts.config import Settings
from qts.core.errors import ConfigurationError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in (
        "QTS_DATABASE_URL",
        "QTS_REDIS_URL",
        "QTS_PROFILE",
        "QTS_JWT_SECRET",
        "QTS_DATA_DIR",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env or configs/ from the developer's checkout


def test_defaults_are_embedded_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d")
    assert s.mode == "embedded"
    assert s.effective_database_url == f"sqlite:///{(tmp_path / 'd' / 'qts.db').resolve()}"
    assert s.effective_mlflow_uri.endswith("mlflow.db")


def test_env_switches_to_postgres_and_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QTS_DATABASE_URL", "postgresql://u:pw@db:5432/qts")
    monkeypatch.setenv("QTS_REDIS_URL", "redis://cache:6379/0")
    s = Settings()
    assert s.mode == "scale-out"
    summary = s.public_summary()
    assert summary["database"] == "postgresql"
    assert "pw" not in str(summary)


def test_yaml_profile_is_read_and_env_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "development.yaml").write_text("port: 9100\nlog_level: DEBUG\n")
    monkeypatch.setenv("QTS_LOG_LEVEL", "WARNING")
    s = Settings()
    assert s.port == 9100
    assert s.log_level == "WARNING"


def test_production_refuses_default_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QTS_PROFILE", "production")
    s = Settings()
    assert s.profile == "production"  # from the packaged production.yaml
    with pytest.raises(ConfigurationError, match="QTS_JWT_SECRET"):
        s.check_production()
    with pytest.raises(ConfigurationError):
        Settings(jwt_secret="change-me").check_production()
    Settings(jwt_secret="z" * 40).check_production()


def test_production_app_refuses_to_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from qts.api.app import create_app

    with pytest.raises(ConfigurationError):
        create_app(Settings(profile="production", data_dir=tmp_path))


def test_generated_jwt_secret_is_stable_and_private(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d")
    first = s.jwt_secret_value()
    assert len(first) >= 32
    assert Settings(data_dir=tmp_path / "d").jwt_secret_value() == first
    assert ((tmp_path / "d" / "jwt_secret.key").stat().st_mode & 0o777) == 0o600


def test_missing_explicit_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QTS_CONFIG_FILE", "/nonexistent/qts.yaml")
    with pytest.raises(ConfigurationError, match="not found"):
        Settings()


def test_data_files_are_private_after_start_up(tmp_path: Path) -> None:
    """Issue 14, defect 13: qts.db and mlflow.db were 0644; now 0600 in a 0700 data dir."""
    from qts.api.server import prepare

    s = Settings(data_dir=tmp_path / "d", load_sample_data=False)
    prepare(s)  # what `qts up` does first: data dir, migrations
    mode = lambda p: p.stat().st_mode & 0o777  # noqa: E731
    assert mode(tmp_path / "d") == 0o700
    db_files = [p for p in (tmp_path / "d").iterdir() if p.name.startswith(("qts.db", "mlflow"))]
    assert {p.name for p in db_files} >= {"qts.db", "mlflow.db"}
    assert {p.name: mode(p) for p in db_files} == {p.name: 0o600 for p in db_files}
    assert (tmp_path / "d" / "qts.db").stat().st_size > 0  # the migrations ran in that file


def test_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    old = tmp_path / "d" / "qts.db"
    old.write_bytes(b"")
    old.chmod(0o644)
    Settings(data_dir=tmp_path / "d").ensure_data_dir()
    assert old.stat().st_mode & 0o777 == 0o600
