"""Broker credentials: environment, Fernet-encrypted vault, masking."""

from __future__ import annotations

import logging
import stat

import pytest
from pydantic import SecretStr

from qts.config import Settings
from qts.core.errors import ConfigurationError, NotFoundError, ValidationError
from qts.execution.credentials import (
    BrokerCredentials,
    CredentialVault,
    credentials_from_env,
    generate_key,
    resolve_credentials,
)

SECRET = "s3cr3t-value-that-must-not-leak"


def kis_creds() -> BrokerCredentials:
    return BrokerCredentials("kis", "PSappkey123456", SECRET, account_no="50012345-01")


def test_repr_and_masked_never_show_secrets(caplog: pytest.LogCaptureFixture) -> None:
    creds = kis_creds()
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("creds %s %r", creds, creds)
    for text in (repr(creds), str(creds), str(creds.masked()), caplog.text):
        assert SECRET not in text and "PSappkey123456" not in text and "50012345" not in text
    assert creds.masked() == {"broker": "kis", "api_key": "****3456", "account_no": "****01"}


def test_from_environment() -> None:
    env = {"QTS_KIWOOM_APP_KEY": "kw-key", "QTS_KIWOOM_SECRET_KEY": SECRET}
    creds = credentials_from_env("kiwoom", env)
    assert creds is not None and (creds.api_key, creds.secret) == ("kw-key", SECRET)
    assert credentials_from_env("binance", env) is None
    with pytest.raises(ConfigurationError, match="QTS_BINANCE_API_SECRET"):
        credentials_from_env("binance", {"QTS_BINANCE_API_KEY": "k"})
    with pytest.raises(ValidationError):
        credentials_from_env("nasdaq", env)


def test_vault_encrypts_at_rest_and_round_trips(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = generate_key()
    vault = CredentialVault(tmp_path / "vault.json", key)
    vault.save(kis_creds())
    raw = (tmp_path / "vault.json").read_text()
    assert SECRET not in raw and "PSappkey" not in raw
    assert stat.S_IMODE((tmp_path / "vault.json").stat().st_mode) == 0o600
    assert CredentialVault(tmp_path / "vault.json", key).load("kis").secret == SECRET
    assert vault.brokers() == ["kis"]
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        CredentialVault(tmp_path / "vault.json", generate_key()).load("kis")
    with pytest.raises(NotFoundError):
        vault.load("binance")
    assert vault.delete("kis") and vault.brokers() == []


def test_vault_key_from_settings_or_key_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError, match="QTS_CREDENTIALS_KEY"):
        CredentialVault.from_settings(Settings(data_dir=tmp_path))
    vault = CredentialVault.from_settings(Settings(data_dir=tmp_path), create_key=True)
    vault.save(kis_creds())
    key_file = tmp_path / "credentials.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = CredentialVault.from_settings(Settings(data_dir=tmp_path))
    assert again.load("kis").account_no == "50012345-01"
    key = SecretStr(key_file.read_text().strip())
    by_setting = CredentialVault.from_settings(Settings(data_dir=tmp_path, credentials_key=key))
    assert by_setting.load("kis").secret == SECRET
    with pytest.raises(ConfigurationError):
        CredentialVault(tmp_path / "v.json", "not-a-fernet-key")


def test_resolve_prefers_environment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vault = CredentialVault(tmp_path / "vault.json", generate_key())
    vault.save(kis_creds())
    env = {
        "QTS_KIS_APP_KEY": "env-key",
        "QTS_KIS_APP_SECRET": "env-secret",
        "QTS_KIS_ACCOUNT_NO": "11112222-01",
    }
    assert resolve_credentials("kis", env=env, vault=vault).api_key == "env-key"
    assert resolve_credentials("kis", env={}, vault=vault).api_key == "PSappkey123456"
    with pytest.raises(ConfigurationError, match="no credentials for kiwoom"):
        resolve_credentials("kiwoom", env={}, vault=vault)
