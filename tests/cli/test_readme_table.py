"""Every row of the README's command table runs on a fresh data directory without a traceback:
commands that work exit 0; those refused by design (live trading off, no broker credentials,
an unreachable provider) end in one `error:` line with their documented exit code."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qts.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
KRX = "src/qts/sample_data/kr_daily/005930.csv"
# Long-running services: started as real processes by other tests.
SERVICES = {
    "up": "tests/api/test_cross_server.py (two real `qts up`)",
    "worker": "tests/workers/test_celery_worker.py (a real Celery worker)",
    "serve-models": "tests/ml_trading/test_model_server.py (a real `qts serve-models`)",
}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _closed_url() -> str:
    return f"http://127.0.0.1:{_closed_port()}"


def _table_commands() -> list[str]:
    """The first word(s) of each command in the README's command table, e.g. `data fetch`."""
    text = (ROOT / "README.md").read_text()
    table = text.split("## Command line", 1)[1].split("\n## ", 1)[0]
    found = []
    for span in re.findall(r"`qts ([^`]+)`", table):
        span = span.replace("\\|", " ").replace("|", " ")  # `list|start ID|stop ID`
        words = [w for w in span.split() if not w.startswith(("-", "[", "("))]
        found.append(" ".join(words[:2]) if words[0] in GROUPS else words[0])
    return found


GROUPS = ("db", "user", "data", "features", "models", "strategy", "schedule")


def _runs(tmp: Path) -> list[tuple[list[str], tuple[int, ...], str]]:
    """(argv, accepted exit codes, stdin) in an order where each finds what it needs."""
    fetch = ["data", "fetch", "--provider", "ccxt", "--exchange", "binance", "--symbol"]
    fetch += ["BTC/USDT", "--timeframe", "1h", "--since", "2024-01-01", "--base-url"]
    backtest = ["backtest", "--strategy", "sma_cross", "--data", KRX, "--param", "fast=10"]
    optimize = ["optimize", "--strategy", "sma_cross", "--symbol", "005930", "--timeframe"]
    return [
        (["version"], (0,), ""),
        (["db", "upgrade"], (0,), ""),
        (["user", "create", "alice", "--role", "admin", "--password-stdin"], (0,), "a-long-pw!\n"),
        (["user", "list"], (0,), ""),
        (["data", "import", KRX, "--symbol", "005930", "--timeframe", "1d"], (0,), ""),
        (
            [
                "data",
                "import",
                "tests/data/defects/012450.csv",
                "--symbol",
                "012450",
                "--timeframe",
                "1d",
                "--exchange",
                "XKRX",
                "--repair",
            ],
            (0,),
            "",
        ),
        ([*fetch, f"http://127.0.0.1:{_closed_port()}"], (3,), ""),  # offline: one line, exit 3
        (["data", "news", "import", "tests/data/news/headlines.csv"], (0,), ""),
        (["data", "news", "fetch", "--url", f"http://127.0.0.1:{_closed_port()}/rss"], (3,), ""),
        (["data", "news", "list"], (0,), ""),
        (["data", "news", "rescore"], (0,), ""),
        (["data", "synth", "--symbols", "2", "--bars", "300", "--timeframe", "1m"], (0,), ""),
        (["data", "list"], (0,), ""),
        # offline: one line, exit 3 (tests/market/test_fx.py fetches from a fake Yahoo)
        (["data", "fx", "fetch", "--pair", "USD/KRW", "--base-url", _closed_url()], (3,), ""),
        (["data", "fundamentals", "fetch", "--symbols", "005930"], (2,), ""),  # no OpenDART key
        (["data", "actions", "import", "tests/data/corporate_actions/events.csv"], (0,), ""),
        (
            [
                "data",
                "actions",
                "fetch",
                "--symbol",
                "AAPL",
                "--base-url",
                f"http://127.0.0.1:{_closed_port()}",
            ],
            (3,),
            "",
        ),
        (["data", "actions", "list"], (0,), ""),
        ([*backtest, "--param", "slow=20", "--json", "--report", str(tmp / "r.html")], (0,), ""),
        (
            [
                *optimize,
                "1d",
                "--grid",
                "fast=5,10",
                "--grid",
                "slow=20,40",
                "--folds",
                "2",
                "--save",
                "sma-krx",
            ],
            (0,),
            "",
        ),
        (["features", "build", "--symbols", "005930", "--timeframe", "1d"], (0,), ""),
        (["features", "list"], (0,), ""),
        (["features", "materialize", "--timeframe", "1d"], (0,), ""),
        (
            [
                "train",
                "--model",
                "lightgbm",
                "--symbols",
                "005930",
                "--features",
                "basic",
                "--folds",
                "2",
                "--epochs",
                "10",
                "--name",
                "table-lgbm",
            ],
            (0,),
            "",
        ),
        (["models", "list"], (0,), ""),
        (["models", "promote", "table-lgbm", "1", "--alias", "production"], (0,), ""),
        (["predict", "--model", "table-lgbm@production", "--symbols", "005930"], (0,), ""),
        (
            [
                "tune",
                "--model",
                "lightgbm",
                "--symbols",
                "005930",
                "--trials",
                "1",
                "--epochs",
                "5",
                "--folds",
                "2",
                "--features",
                "basic",
            ],
            (0,),
            "",
        ),
        (
            [
                "paper",
                "--strategy",
                "sma_cross",
                "--symbol",
                "005930",
                "--timeframe",
                "1d",
                "--name",
                "sma-krx",
                "--replay",
            ],
            (0,),
            "",
        ),
        (["strategy", "list"], (0,), ""),
        (["strategy", "check", "sma_cross", "--data", KRX], (0,), ""),
        (["strategy", "start", "1"], (0,), ""),
        (["strategy", "stop", "1"], (0,), ""),
        (["kill-switch", "on"], (0,), ""),
        (["kill-switch", "off"], (0,), ""),
        (["live", "--strategy", "1", "--broker", "kis", "--confirm-live"], (1,), ""),  # refused
        (["reconcile", "--broker", "kis"], (1,), ""),  # no credentials: refused
        (["stream"], (2,), ""),  # nothing configured to stream: refused (tests/market/*stream*)
        (["monitor", "--model", "no-such-model"], (2,), ""),  # no such version: refused
        (["beat", "--help"], (0,), ""),
        (["schedule", "list"], (0,), ""),
        (["doctor", "--json"], (0, 1), ""),
    ]


def test_every_table_row_has_a_run_here() -> None:
    covered = {" ".join(a[:2]) if a[0] in GROUPS else a[0] for a, _c, _i in _runs(Path("."))}
    missing = [c for c in _table_commands() if c not in covered and c not in SERVICES]
    assert not missing, f"README table commands with no run in this test: {missing}"
    assert len(_table_commands()) >= 25


def test_every_table_command_runs_without_a_traceback(
    fresh_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    for name in (
        "QTS_LIVE_TRADING_ENABLED", "QTS_KIS_APP_KEY", "QTS_KIS_APP_SECRET",
        "QTS_STREAM_SYMBOLS", "QTS_LIVE_SYMBOLS", "QTS_OPENDART_API_KEY",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    for argv, codes, stdin in _runs(tmp_path):
        r = runner.invoke(app, argv, input=stdin or None)
        shown = f"qts {' '.join(argv)} -> {r.exit_code}:\n{r.output}"
        assert r.exit_code in codes, shown
        assert "Traceback" not in r.output, shown
        if r.exit_code != 0:
            errors = [line for line in r.output.splitlines() if line.startswith("error:")]
            assert len(errors) == 1, shown
