"""`qts stream` refuses what cannot stream, and `qts up` (embedded mode) runs the bar stream as a
thread that connects to the configured KIS WebSocket and subscribes to its symbols."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tests.brokers.fakes.kis_market import FakeKisMarket, SimClock
from tests.brokers.fakes.kis_ws import FakeKisWebSocket
from tests.market.krx_minutes import krx_minute_bars, session_start_s
from typer.testing import CliRunner

from qts.cli.main import app
from qts.config import Settings
from qts.services.context import AppContext
from qts.workers.embedded import start_embedded_stream

runner = CliRunner()
KIS_ENV = {
    "QTS_KIS_APP_KEY": "PSfakeAppKey0001",
    "QTS_KIS_APP_SECRET": "fake-app-secret-value",
    "QTS_KIS_ACCOUNT_NO": "50012345-01",
}


def test_stream_command_refuses_providers_without_a_stream(fresh_data_dir: Path) -> None:
    yahoo = [{"provider": "yahoo", "exchange": "XNYS", "symbol": "AAPL", "timeframe": "1m"}]
    result = runner.invoke(app, ["stream", "--symbols", json.dumps(yahoo)])
    assert result.exit_code == 2 and "no stream for AAPL" in result.output
    result = runner.invoke(app, ["stream", "--symbols", "not json"])
    assert result.exit_code == 2 and "not a JSON list" in result.output


def test_stream_command_needs_symbols(fresh_data_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("QTS_STREAM_SYMBOLS", raising=False)
    monkeypatch.delenv("QTS_LIVE_SYMBOLS", raising=False)
    result = runner.invoke(app, ["stream"])
    assert result.exit_code == 2 and "nothing to stream" in result.output


def test_embedded_mode_runs_the_stream_thread_on_the_configured_kis_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qts.db.migrate import upgrade

    bars = {"005930": krx_minute_bars(3)}
    clock = SimClock(session_start_s())
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'q.db'}")
    upgrade(settings.effective_database_url)
    ctx = AppContext.from_settings(settings)
    monkeypatch.setenv("QTS_STREAM_EMBEDDED", "false")
    assert start_embedded_stream(ctx) is None
    monkeypatch.delenv("QTS_STREAM_EMBEDDED")
    with (
        FakeKisMarket(bars, clock=clock) as rest,
        FakeKisWebSocket(bars, clock, rest.approval_keys, interval_s=0.5) as ws,
    ):
        for name, value in {**KIS_ENV, "QTS_KIS_MARKET_URL": rest.base_url}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("QTS_KIS_WS_URL", ws.url)
        spec = {"provider": "kis", "exchange": "XKRX", "symbol": "005930", "timeframe": "1m"}
        monkeypatch.setenv("QTS_STREAM_SYMBOLS", json.dumps([spec]))
        stream = start_embedded_stream(ctx)
        assert stream is not None and ctx.extras["bar_stream"] is stream
        deadline = time.monotonic() + 30
        while len(ws.subscriptions) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(ws.subscriptions) == [("H0STASP0", "005930"), ("H0STCNT0", "005930")]
        stream.stop()
        assert not stream._thread.is_alive()
    ctx.close()
