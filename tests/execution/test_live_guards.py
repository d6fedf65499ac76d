from __future__ import annotations

import pytest
from typer.testing import CliRunner

from qts.cli.main import app
from qts.config import Settings
from qts.core.errors import ConfigurationError
from qts.services.trading.live import check_live_guards

LIMITS = {"max_position_notional": 1e6, "max_order_notional": 1e5, "daily_loss_limit": 5e4}


def test_live_needs_enabled_limits_and_confirmation() -> None:
    with pytest.raises(ConfigurationError, match="disabled") as e:
        check_live_guards(Settings(), confirmed=True)
    assert "risk limits" in e.value.message
    with pytest.raises(ConfigurationError, match="--confirm-live"):
        check_live_guards(Settings(live_trading_enabled=True, risk_limits=LIMITS), confirmed=False)
    with pytest.raises(ConfigurationError, match="risk limits"):
        check_live_guards(
            Settings(live_trading_enabled=True, risk_limits={"max_order_notional": 1}),
            confirmed=True,
        )
    limits = check_live_guards(
        Settings(live_trading_enabled=True, risk_limits=LIMITS), confirmed=True
    )
    assert limits.max_order_notional == 1e5


def test_qts_live_refuses_without_the_guards(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qts.config import reset_settings_cache

    monkeypatch.setenv("QTS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("QTS_LIVE_TRADING_ENABLED", raising=False)
    reset_settings_cache()
    r = CliRunner().invoke(app, ["live", "--strategy", "1", "--broker", "kis"])
    reset_settings_cache()
    assert r.exit_code == 1
    assert "refusing to trade live" in r.output and "--confirm-live" in r.output
