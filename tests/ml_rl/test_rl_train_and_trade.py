"""`qts train --model ppo|dqn|a2c` end to end on the shipped samples (BTC/USDT hourly, a KRX
stock daily): the out-of-sample table beside buy-and-hold, a random policy and the best rule
strategy, a registered version with its recipe, then the promoted policy traded by
`rl_policy`: a paper replay through the order service equals its backtest, fill for fill."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("stable_baselines3")
from sqlalchemy import select
from typer.testing import CliRunner

from qts.backtest.config import BacktestConfig
from qts.backtest.engine import run_backtest
from qts.cli.main import app
from qts.core.errors import ConflictError, ValidationError
from qts.core.types import Bar
from qts.db.models import Fill, Order
from qts.execution.paper import PaperExecutor
from qts.execution.runner import StrategyRunner
from qts.ml.inference import InferenceEngine
from qts.ml.registry import ModelRegistry
from qts.ml.rl.access import PolicyBacktestAccess, PolicyLiveAccess
from qts.ml.samples import load_bars
from qts.services.trading.order_service import OrderService
from qts.strategies.registry import create_strategy

TINY = "net_arch: [16]\nlookback: 4\ntotal_timesteps: 600\nn_envs: 2\nn_steps: 64\nepisode_length: 200\n"
# (model, symbol, timeframe, training window, last replayed bar, config extras)
CASES = [
    ("ppo", "BTC/USDT", "1h", "2025-12-01", "2025-12-31", "2026-01-02", "n_epochs: 2\n"),
    ("dqn", "005930", "1d", None, "2025-02-28", "2025-04-30", "learning_starts: 200\n"),
    ("a2c", "ETH/USDT", "1h", "2025-12-01", "2025-12-31", "2026-01-02", "action_space: continuous\n"),
]  # fmt: skip


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One embedded data directory (one MLflow store) for the module; tiny policy configs."""
    from qts.cli import common
    from qts.config import reset_settings_cache

    root = tmp_path_factory.mktemp("rl")
    (root / "models").mkdir()
    for kind, *_, extra in CASES:
        (root / "models" / f"{kind}.yaml").write_text(TINY + extra)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QTS_DATA_DIR", str(root / "var"))
        mp.setenv("QTS_MODEL_CONFIG_DIR", str(root / "models"))
        for name in ("QTS_DATABASE_URL", "QTS_REDIS_URL", "QTS_MLFLOW_TRACKING_URI"):
            mp.delenv(name, raising=False)
        reset_settings_cache()
        common._migrated.clear()
        yield root / "var"
    reset_settings_cache()
    common._migrated.clear()


@pytest.mark.parametrize(("kind", "symbol", "tf", "start", "end", "last", "extra"), CASES)
def test_train_register_promote_and_paper_equals_backtest(
    kind: str, symbol: str, tf: str, start: str | None, end: str, last: str, extra: str,
    data_dir: Path, sqlite_db: Any, bus: Any,
) -> None:  # fmt: skip
    args = ["train", "--model", kind, "--symbols", symbol, "--timeframe", tf, "--folds", "2",
            "--seeds", "2", "--features", "basic", "--end", end, "--json"]  # fmt: skip
    out = CliRunner().invoke(app, [*args, *(["--start", start] if start else [])])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    table = result["table"]
    assert set(table) == {"policy", "buy_and_hold", "random", "best_rule"}
    for who, m in table.items():
        assert np.isfinite(m["sharpe"]) and np.isfinite(m["sharpe_t"]), who
        assert -1.0 <= m["max_drawdown"] <= 0.0 and m["bars"] > 20
    assert table["policy"]["sharpe_sd"] >= 0.0 and [p["seed"] for p in result["per_seed"]] == [0, 1]
    assert table["random"]["turnover"] > 0 and table["buy_and_hold"]["turnover"] > 0
    assert pd.Timestamp(result["train_end"]) <= pd.Timestamp(end, tz="UTC") + pd.Timedelta("1D")
    assert result["version"] == "1" and set(result["gate"]) >= {"passed"}
    registry = ModelRegistry(data_dir)
    metrics = registry.run_metrics(result["run_id"])
    assert metrics["oos_sharpe"] == pytest.approx(table["policy"]["sharpe"])
    assert "final_episode_reward" in metrics and "buy_and_hold_sharpe" in metrics
    name = result["model_name"]
    _check_gate(registry, name, result)
    registry.promote(name, "1", "production", who="test")
    _check_jobs_pass_over_policies(name)
    _check_paper_equals_backtest(registry, name, symbol, tf, result["train_end"], last,
                                 sqlite_db, bus)  # fmt: skip


def _check_jobs_pass_over_policies(name: str) -> None:
    """Batch inference and the IC evaluation job skip a production policy (no score, no IC)."""
    from qts.cli.common import app_context
    from qts.services.ml.ml_jobs import run_batch_inference

    ctx = app_context()
    try:
        out = run_batch_inference(ctx)
    finally:
        ctx.close()
    assert out["stored"][name] == 0 and name not in out.get("errors", {})


def _check_gate(registry: ModelRegistry, name: str, result: dict[str, Any]) -> None:
    """The policy gate: refused unless it beat buy-and-hold out of sample."""
    if not result["gate"]["passed"]:
        with pytest.raises(ConflictError, match="did not beat buy-and-hold"):
            registry.promote(name, "1", "staging", gate=True)
    else:
        assert registry.promote(name, "1", "staging", gate=True).gate["beats_buy_and_hold"]


def _check_paper_equals_backtest(
    registry: ModelRegistry, name: str, symbol: str, tf: str, train_end: str, last: str,
    db: Any, bus: Any,
) -> None:  # fmt: skip
    key = symbol.replace("/", "_")
    bars = load_bars([symbol], tf)[key]
    bars = bars.loc[: pd.Timestamp(last, tz="UTC") + pd.Timedelta("23h")]
    cut = pd.Timestamp(train_end)
    first = bars.index[bars.index > cut][0]
    params = {"model": f"{name}@production", "warmup": 50}
    config = BacktestConfig().resolve([key])
    strategy = create_strategy("rl_policy", params)
    strategy.bind_models(PolicyBacktestAccess(InferenceEngine(registry), first))
    expected = run_backtest(strategy, {key: bars}, config, trade_start=first).fills
    decided = strategy.target_positions({key: bars})[key].loc[first:]
    paper = create_strategy("rl_policy", params)
    published: list[Any] = []
    paper.bind_models(PolicyLiveAccess(InferenceEngine(registry), published.extend))
    executor = PaperExecutor(config.fill_model, config.cash)
    service = OrderService(db, bus, {"paper": executor})
    runner = StrategyRunner(paper, [key], service, config, executor, tag="rl",
                            history={key: bars.loc[bars.index <= cut]})  # fmt: skip
    for ts, row in bars.loc[bars.index > cut].iterrows():
        runner.on_bars({key: Bar(key, tf, ts.to_pydatetime(), *row[["open", "high", "low",
                                                                    "close", "volume"]])})  # fmt: skip
    with db.session() as s:
        rows = s.execute(select(Fill.ts, Fill.side, Fill.quantity, Fill.price, Fill.fee)
                         .join(Order, Order.id == Fill.order_id).order_by(Fill.id)).all()  # fmt: skip
    # Every bar's decision (handed on as the session's prediction) is the backtest's.
    assert [p.ts for p in published] == list(decided.index)
    np.testing.assert_allclose([p.score for p in published], decided.to_numpy(), rtol=1e-12)
    assert len(expected) >= 1, "the policy must trade after its window for parity to mean much"
    assert len(rows) == len(expected)
    assert [pd.Timestamp(r.ts) for r in rows] == list(expected["ts"])
    signed = [(1 if r.side == "buy" else -1) * r.quantity for r in rows]
    np.testing.assert_allclose(signed, expected["quantity"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose([r.price for r in rows], expected["price"], rtol=1e-12)
    np.testing.assert_allclose([r.fee for r in rows], expected["fee"], rtol=1e-12)


def test_portfolio_policy_trains_and_trades_its_universe(data_dir: Path) -> None:
    """PPO with one weight per symbol over BTC and ETH (one account): the table beside the
    baselines, a registered version, and `rl_policy` backtests it on its own universe only."""
    from qts.ml.pipeline import train

    bars = {s: b.loc["2025-12-01":"2026-01-03"] for s, b in load_bars(None, "1h").items()}
    result = train("ppo", {s: b.loc[:"2025-12-31"] for s, b in bars.items()}, timeframe="1h",
                   n_splits=2, seeds=[0], feature_set="basic", data_dir=data_dir,
                   overrides={"action_space": "continuous", "portfolio": True})  # fmt: skip
    assert set(result["table"]) == {"policy", "buy_and_hold", "random", "best_rule"}
    assert np.isfinite(result["table"]["policy"]["sharpe"]) and result["version"] == "1"
    engine = InferenceEngine(ModelRegistry(data_dir))
    strategy = create_strategy("rl_policy", {"model": f"{result['model_name']}/1"})
    first = bars["BTC_USDT"].index[bars["BTC_USDT"].index > result["train_end"]][0]
    strategy.bind_models(PolicyBacktestAccess(engine, first))
    backtest = run_backtest(strategy, bars, BacktestConfig(), trade_start=first)
    weights = strategy.target_positions(bars).loc[first:]
    assert (weights.abs().sum(axis=1) <= 1.0 + 1e-12).all() and len(backtest.equity) > 50
    only_btc = create_strategy("rl_policy", {"model": f"{result['model_name']}/1"})
    only_btc.bind_models(PolicyBacktestAccess(engine, first))
    with pytest.raises(ValidationError, match="trades its training universe"):
        only_btc.target_positions({"BTC_USDT": bars["BTC_USDT"]})


def test_training_run_through_the_ml_service_reports_episodes(data_dir: Path) -> None:
    """What the `ml` Celery queue runs (`run_training`): a requested A2C run trains, stores
    its progress (episode reward and length, losses: what `training:<id>` publishes) and its
    out-of-sample table beside the baselines, and registers a version."""
    from qts.config import Settings
    from qts.db.migrate import upgrade
    from qts.services.context import AppContext
    from qts.services.data.market_data import import_file
    from qts.services.ml import model_service as ml

    url = f"sqlite:///{data_dir.parent / 'service.db'}"
    upgrade(url)
    ctx = AppContext.from_settings(Settings(_env_file=None, data_dir=data_dir, database_url=url))
    try:
        sample = Path(ml.__file__).resolve().parents[2] / "sample_data" / "kr_daily"
        import_file(ctx.db, sample / "005930.csv", "005930", "1d")
        request = {"model": "a2c", "symbols": ["005930"], "timeframe": "1d", "horizon": 1,
                   "name": "service-a2c", "features": "basic"}  # fmt: skip
        run = ml.create_training_run(ctx, request, "test")
        result = ml.run_training(ctx, run["id"])
        stored = ml.get_run(ctx, run["id"])
    finally:
        ctx.close()
    assert stored["status"] == "done" and stored["metrics"]["version"] == result["version"]
    assert set(stored["metrics"]["backtest"]) == {"policy", "buy_and_hold", "random", "best_rule"}
    progress = [h["data"] for h in stored["history"] if h["message"].startswith("epoch")]
    assert progress and all(p["run_id"] == run["id"] for p in progress)
    assert any("episode_reward" in p["metrics"] for p in progress)
    assert any("value_loss" in p["losses"] for p in progress)
