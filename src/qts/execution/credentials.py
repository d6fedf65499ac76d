"""Broker credentials: from environment variables, or stored encrypted with Fernet.

Environment (checked first): QTS_BINANCE_API_KEY / QTS_BINANCE_API_SECRET,
QTS_KIS_APP_KEY / QTS_KIS_APP_SECRET / QTS_KIS_ACCOUNT_NO,
QTS_KIWOOM_APP_KEY / QTS_KIWOOM_SECRET_KEY, QTS_UPBIT_ACCESS_KEY / QTS_UPBIT_SECRET_KEY.

Stored credentials are Fernet tokens (AES-128-CBC + HMAC-SHA256) in a vault file; the key
never sits beside them in the database: it comes from `QTS_CREDENTIALS_KEY` (settings
`credentials_key`) or from a key file (default `<data_dir>/credentials.key`, mode 0600).
`encrypt_credentials` / `decrypt_credentials` serve callers that keep the tokens elsewhere.
Secrets never appear in `repr`, logs or `masked()` output.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qts.core.errors import ConfigurationError, NotFoundError, ValidationError

BROKERS = ("binance", "kis", "kiwoom", "upbit")
ENV_NAMES: dict[str, dict[str, str]] = {
    "binance": {"api_key": "QTS_BINANCE_API_KEY", "secret": "QTS_BINANCE_API_SECRET"},
    "kis": {
        "api_key": "QTS_KIS_APP_KEY",
        "secret": "QTS_KIS_APP_SECRET",
        "account_no": "QTS_KIS_ACCOUNT_NO",
    },
    "kiwoom": {"api_key": "QTS_KIWOOM_APP_KEY", "secret": "QTS_KIWOOM_SECRET_KEY"},
    "upbit": {"api_key": "QTS_UPBIT_ACCESS_KEY", "secret": "QTS_UPBIT_SECRET_KEY"},
}
KEY_FILE_NAME = "credentials.key"
VAULT_FILE_NAME = "broker_credentials.json"


def _mask(value: str, keep: int = 2) -> str:
    return "****" + value[-keep:] if len(value) > keep * 3 else "****"


@dataclass(frozen=True, repr=False)
class BrokerCredentials:
    broker: str
    api_key: str
    secret: str
    account_no: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.broker not in BROKERS:
            raise ValidationError(f"unknown broker {self.broker!r}; expected one of {BROKERS}")
        if not self.api_key or not self.secret:
            raise ValidationError(f"{self.broker}: api key and secret are both required")
        if self.broker == "kis" and not self.account_no:
            raise ValidationError("kis: an account number (12345678-01) is required")

    def __repr__(self) -> str:
        return (
            f"BrokerCredentials(broker={self.broker!r}, api_key={_mask(self.api_key, 4)!r}, "
            f"secret='****', account_no={_mask(self.account_no)!r})"
        )

    __str__ = __repr__

    def masked(self) -> dict[str, str]:
        """What an API or CLI may show: which broker, and the key's last characters only."""
        return {
            "broker": self.broker,
            "api_key": _mask(self.api_key, 4),
            "account_no": _mask(self.account_no) if self.account_no else "",
        }

    def _to_json(self) -> str:
        return json.dumps(
            {
                "broker": self.broker,
                "api_key": self.api_key,
                "secret": self.secret,
                "account_no": self.account_no,
                "extra": self.extra,
            }
        )


def credentials_from_env(
    broker: str, env: Mapping[str, str] | None = None
) -> BrokerCredentials | None:
    """The broker's credentials from environment variables, or None when they are not set."""
    env = os.environ if env is None else env
    names = ENV_NAMES.get(broker)
    if names is None:
        raise ValidationError(f"unknown broker {broker!r}; expected one of {BROKERS}")
    values = {field_: env.get(name, "").strip() for field_, name in names.items()}
    if not values["api_key"] and not values["secret"]:
        return None
    missing = [names[f] for f, v in values.items() if not v]
    if missing:
        raise ConfigurationError(f"{broker}: environment is missing {', '.join(missing)}")
    return BrokerCredentials(
        broker=broker,
        api_key=values["api_key"],
        secret=values["secret"],
        account_no=values.get("account_no", ""),
    )


def generate_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _fernet(key: str | bytes) -> Any:
    from cryptography.fernet import Fernet

    try:
        return Fernet(key.encode() if isinstance(key, str) else key)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            "credentials key is not a valid Fernet key (32 url-safe base64 bytes)"
        ) from exc


def encrypt_credentials(credentials: BrokerCredentials, key: str | bytes) -> str:
    return str(_fernet(key).encrypt(credentials._to_json().encode()).decode())


def decrypt_credentials(token: str, key: str | bytes) -> BrokerCredentials:
    from cryptography.fernet import InvalidToken

    try:
        data = json.loads(_fernet(key).decrypt(token.encode()))
    except InvalidToken as exc:
        raise ConfigurationError(
            "stored broker credentials cannot be decrypted: wrong credentials key, or the "
            "data was altered"
        ) from exc
    return BrokerCredentials(**data)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class CredentialVault:
    """Encrypted credentials per broker in one JSON file of Fernet tokens."""

    def __init__(self, path: str | Path, key: str | bytes) -> None:
        self.path = Path(path)
        self._fernet_key = key
        _fernet(key)  # fail early on a malformed key

    def __repr__(self) -> str:
        return f"CredentialVault(path={str(self.path)!r})"

    @classmethod
    def from_settings(cls, settings: Any, *, create_key: bool = False) -> CredentialVault:
        """Key from settings.credentials_key, else the key file in the data dir (created 0600
        when `create_key`); the vault file sits in the data dir. `settings` is a
        `qts.config.Settings` (passed in: execution does not import the config layer)."""
        data_dir = Path(settings.data_dir)
        secret = getattr(settings, "credentials_key", None)
        if secret is not None:
            key = secret.get_secret_value()
        else:
            key = load_or_create_key_file(data_dir / KEY_FILE_NAME, create=create_key)
        return cls(data_dir / VAULT_FILE_NAME, key)

    def _tokens(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigurationError(f"credential vault {self.path} is corrupt") from exc
        return {str(k): str(v) for k, v in data.items()}

    def save(self, credentials: BrokerCredentials) -> None:
        tokens = self._tokens()
        tokens[credentials.broker] = encrypt_credentials(credentials, self._fernet_key)
        _write_private(self.path, json.dumps(tokens, indent=1, sort_keys=True))

    def load(self, broker: str) -> BrokerCredentials:
        token = self._tokens().get(broker)
        if token is None:
            raise NotFoundError(f"no stored credentials for {broker!r}")
        return decrypt_credentials(token, self._fernet_key)

    def delete(self, broker: str) -> bool:
        tokens = self._tokens()
        if tokens.pop(broker, None) is None:
            return False
        _write_private(self.path, json.dumps(tokens, indent=1, sort_keys=True))
        return True

    def brokers(self) -> list[str]:
        return sorted(self._tokens())


def load_or_create_key_file(path: str | Path, *, create: bool = False) -> str:
    path = Path(path)
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    if not create:
        raise ConfigurationError(
            f"no credentials key: set QTS_CREDENTIALS_KEY or create the key file {path}"
        )
    key = generate_key()
    _write_private(path, key)
    return key


def resolve_credentials(
    broker: str, *, env: Mapping[str, str] | None = None, vault: CredentialVault | None = None
) -> BrokerCredentials:
    """Environment first, then the vault; ConfigurationError when neither has them."""
    found = credentials_from_env(broker, env)
    if found is not None:
        return found
    if vault is not None:
        try:
            return vault.load(broker)
        except NotFoundError:
            pass
    names = ", ".join(ENV_NAMES[broker].values())
    raise ConfigurationError(f"no credentials for {broker}: set {names} or store them encrypted")
