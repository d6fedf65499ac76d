"""Configuration with pydantic-settings.

Precedence, highest first: explicit keyword arguments, `QTS_*` environment variables, a `.env`
file, the YAML profile named by `QTS_PROFILE` (`configs/<profile>.yaml`, or the copy shipped in
the package), then the defaults below, which are the embedded mode: one data directory, SQLite,
in-process event bus, cache and job runner.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from qts.core.errors import ConfigurationError

PACKAGE_CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
DEFAULT_SECRET = "change-me"
JWT_SECRET_FILE = "jwt_secret.key"


def make_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 (an empty file is a valid new SQLite database), or
    take group and other permissions away from an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)


class YamlProfileSource(PydanticBaseSettingsSource):
    """Reads `configs/<QTS_PROFILE>.yaml` from the working directory, else from the package."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._data = self._load()

    @staticmethod
    def _load() -> dict[str, Any]:
        profile = os.environ.get("QTS_PROFILE", "development")
        explicit = os.environ.get("QTS_CONFIG_FILE")
        candidates = (
            [Path(explicit)]
            if explicit
            else [Path("configs") / f"{profile}.yaml", PACKAGE_CONFIG_DIR / f"{profile}.yaml"]
        )
        for path in candidates:
            if path.is_file():
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                if not isinstance(data, dict):
                    raise ConfigurationError(f"{path} must hold a mapping of settings")
                return data
        if explicit:
            raise ConfigurationError(f"config file {explicit} not found")
        return {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class ProfileSettings(BaseSettings):
    """Base of every settings class: environment, then .env, then the YAML profile."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            YamlProfileSource(settings_cls),
            file_secret_settings,
        )


class Settings(ProfileSettings):
    model_config = SettingsConfigDict(
        env_prefix="QTS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    profile: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = None  # default: sqlite:///<data_dir>/qts.db
    redis_url: str | None = None  # unset: in-process event bus, cache and locks
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool = False

    jwt_secret: SecretStr | None = None  # unset: generated once and kept in the data dir
    access_token_minutes: int = 15
    refresh_token_days: int = 7
    login_max_failures: int = 5
    login_lockout_seconds: int = 300
    # Failures for one user from all addresses before logins for it slow down (progressive delay).
    login_user_max_failures: int = 20
    refresh_reuse_grace_seconds: int = 10  # a just-rotated refresh token still works this long
    # How long a server may answer from its cached copy of a user; changes made through this
    # server apply at once, changes from other processes within this time (0: no cache).
    user_cache_seconds: float = Field(default=1.0, ge=0, le=60)
    # Proxies whose X-Forwarded-For is believed (IPs or CIDRs); none by default.
    trusted_proxies: list[str] = Field(default_factory=list)
    max_request_bytes: int = 1024 * 1024  # request bodies over this get 413 before being read
    # Packages whose `module:Class` strategies the API may import (besides the registry).
    strategy_packages: list[str] = Field(default_factory=list)

    cors_origins: list[str] = Field(default_factory=list)
    # The built dashboard served at / (index.html + assets/); unset: the package's static/.
    static_dir: Path | None = None
    run_scheduler: bool = True  # `qts up` runs scheduled jobs in process (embedded mode)
    load_sample_data: bool = True  # `qts up` stores the packaged sample prices on first start
    resume_strategies: bool = True  # restart strategies stored as running when the API starts

    mlflow_tracking_uri: str | None = None  # default: sqlite:///<data_dir>/mlflow.db
    # Model monitoring (qts.services.ml.monitoring): the window of bars after a version's
    # training window, breach thresholds, and what a breach does.
    monitor_window_bars: int = Field(default=120, ge=5)
    monitor_psi: float = Field(default=0.25, gt=0)
    monitor_ks: float = Field(default=0.2, gt=0, le=1)
    monitor_ks_pvalue: float = Field(default=0.01, gt=0, le=1)
    monitor_min_ic: float = 0.0  # realised IC significantly below this (t <= -monitor_ic_t)
    monitor_ic_t: float = Field(default=2.0, ge=0)
    monitor_min_rows: int = Field(default=30, ge=1)
    monitor_retrain: bool = True  # a breach starts a retraining run (new version -> staging)
    monitor_auto_promote: bool = False  # then try production through the promotion gate
    monitor_retrain_warm_start: bool = False  # retrain by fine-tuning the served version
    inference_url: str | None = None  # a `qts serve-models` address for strategy workers
    inference_token: SecretStr | None = None  # if set, the model server requires it (Bearer)
    live_trading_enabled: bool = False
    live_broker: str | None = None  # kis | kiwoom | binance: the broker of live accounts
    broker_sandbox: bool = True  # brokers' mock/testnet domains unless explicitly turned off
    broker_base_url: str | None = None  # override the broker's API address (tests, proxies)
    # Risk limits enforced before any order leaves the process (see qts.execution.risk).
    risk_limits: dict[str, Any] = Field(default_factory=dict)
    # Paper accounts: each unset value takes the market preset (README "Run options and market
    # presets"); paper_market also names the shared manual-order account's market.
    paper_market: str | None = None
    paper_cash: float | None = None
    paper_commission: float | None = None
    paper_slippage_bps: float | None = None
    credentials_key: SecretStr | None = None  # Fernet key for stored broker credentials
    # OpenDART (qts data fundamentals fetch, the fundamentals job): a free 40-character key.
    opendart_api_key: SecretStr | None = None
    opendart_base_url: str = "https://opendart.fss.or.kr/api"
    # News (qts.services.data.news): RSS/Atom feeds the `news` job polls (a JSON list or
    # comma-separated URLs; none: the job does nothing) and the folder of a local Korean
    # sentiment model (KR-FinBERT style transformers checkpoint; never downloaded).
    news_feeds: Annotated[list[str], NoDecode] = Field(default_factory=list)
    kr_sentiment_model: Path | None = None

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser()

    @field_validator("news_feeds", mode="before")
    @classmethod
    def _feed_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            text = v.strip()
            v = yaml.safe_load(text) if text.startswith("[") else text.split(",")
        return [str(url).strip() for url in v if str(url).strip()] if isinstance(v, list) else v

    # Derived values ---------------------------------------------------------------------------
    @property
    def mode(self) -> Literal["embedded", "scale-out"]:
        return "scale-out" if self.redis_url else "embedded"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'qts.db').resolve()}"

    @property
    def effective_mlflow_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"

    def ensure_data_dir(self) -> Path:
        """The data dir (0700 when created here) with the default SQLite files kept private
        (0600): they hold password hashes, orders and the audit log."""
        if not self.data_dir.exists():
            self.data_dir.mkdir(parents=True, mode=0o700)
        for url in (self.effective_database_url, self.effective_mlflow_uri):
            if url.startswith("sqlite:///"):
                make_private_file(Path(url.removeprefix("sqlite:///")))
        return self.data_dir

    def jwt_secret_value(self) -> str:
        """The configured secret, else one generated on first start and kept (0600) in data_dir."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.ensure_data_dir() / JWT_SECRET_FILE
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def check_production(self) -> None:
        """Production refuses default or missing secrets: they would make tokens forgeable."""
        if self.profile != "production":
            return
        problems = []
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if not secret or secret == DEFAULT_SECRET or len(secret) < 32:
            problems.append("QTS_JWT_SECRET must be set to a random value of 32+ characters")
        if self.credentials_key is not None and (
            self.credentials_key.get_secret_value() in ("", DEFAULT_SECRET)
        ):
            problems.append("QTS_CREDENTIALS_KEY must not be the default")
        if problems:
            raise ConfigurationError("refusing to start in production: " + "; ".join(problems))

    def public_summary(self) -> dict[str, Any]:
        """What the API may show: no secret, no credentials inside URLs."""
        return {
            "profile": self.profile,
            "mode": self.mode,
            "database": self.effective_database_url.split(":", 1)[0].split("+", 1)[0],
            "redis": bool(self.redis_url),
            "scheduler": self.run_scheduler,
            "live_trading_enabled": self.live_trading_enabled,
        }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
