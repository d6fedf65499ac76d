"""HTML report, parameter search with walk-forward, and the CLI commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from qts.backtest import BacktestConfig, run_backtest
from qts.backtest.optimize import grid_search, walk_forward
from qts.backtest.report import write_html_report
from qts.strategies import create_strategy
from qts.strategies.builtin import SmaCross
from tests.strategies.sample import load_sample, sample_path

KR = "kr_daily/005930.csv"


def cli() -> typer.Typer:
    from qts.cli.backtest_cmd import backtest
    from qts.cli.optimize_cmd import optimize

    app = typer.Typer()
    app.command()(backtest)
    app.command()(optimize)
    return app


def test_html_report_is_self_contained(tmp_path: Path) -> None:
    bars = load_sample(KR)
    result = run_backtest(
        create_strategy("sma_cross", {"fast": 5, "slow": 20}), bars, BacktestConfig(cash=1e7)
    )
    path = write_html_report(result, tmp_path / "out" / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.count("<svg") == 3  # equity, drawdown, price with trades
    assert text.count("<polyline") == 4  # equity, benchmark, drawdown, price
    assert "<script" not in text and not re.search(r"(src|href)=\"?https?:", text)
    assert "http" not in text
    assert f"Trades ({len(result.trades)})" in text
    assert text.count("<title>") >= 1 + len(result.trades)  # a tooltip per marker


def test_grid_search_ranks_by_the_objective() -> None:
    bars = load_sample(KR)
    config = BacktestConfig(cash=1e7, commission=0.001, sell_tax=0.0)
    search = grid_search(
        SmaCross, bars, config, {"fast": [5, 10, 30], "slow": [20, 30]}, objective="total_return"
    )
    assert len(search.trials) == 4  # (30, 20) and (30, 30) are rejected: fast must be < slow
    best = max(search.trials, key=lambda t: t["score"])
    assert search.best_params == best["params"]
    rerun = run_backtest(SmaCross(**search.best_params), bars, config)
    assert rerun.metrics["total_return"] == pytest.approx(search.best_score)


def test_walk_forward_reports_out_of_sample_windows() -> None:
    bars = load_sample("us_index_daily/GSPC.csv")
    config = BacktestConfig(cash=1e6, commission=0.0005, sell_tax=0.0)
    grid = {"fast": [10, 20], "slow": [50, 100]}
    wf = walk_forward(SmaCross, bars, config, folds=3, grid=grid)
    assert len(wf.folds) == 3
    for fold in wf.folds:
        assert fold["train_start"] < fold["test_start"] < fold["test_end"]
        # The OOS figure is the chosen parameters run on the test window only.
        test = bars[bars.index <= fold["test_end"]]
        direct = run_backtest(
            SmaCross(**fold["params"]), test, config, trade_start=fold["test_start"]
        )
        assert fold["out_of_sample"] == pytest.approx(direct.metrics["sharpe"])
    assert json.loads(json.dumps(wf.to_dict()))["objective"] == "sharpe"


def test_optuna_search_is_seeded() -> None:
    pytest.importorskip("optuna")
    from qts.backtest.optimize import optuna_search

    bars = load_sample(KR)
    first = optuna_search(SmaCross, bars, n_trials=8, seed=3, objective="total_return")
    second = optuna_search(SmaCross, bars, n_trials=8, seed=3, objective="total_return")
    assert first.best_params == second.best_params and len(first.trials) >= 1


def test_cli_backtest_json_on_sample_csv(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    args = [
        "backtest",
        "--data",
        str(sample_path(KR)),
        "--strategy",
        "sma_cross",
        "--param",
        "fast=10",
        "--param",
        "slow=20",
        "--cash",
        "10000000",
        "--commission",
        "0.002",
        "--json",
        "--report",
        str(report),
    ]
    out = CliRunner().invoke(cli(), args)
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert payload["strategy"] == "sma_cross" and payload["params"]["fast"] == 10
    assert payload["metrics"]["trades"] >= 5
    assert "equity_curve" not in payload  # per-bar curve only when asked
    with_curve = json.loads(CliRunner().invoke(cli(), [*args, "--equity-curve"]).stdout)
    assert len(with_curve["equity_curve"]) == 370
    trade = payload["trades"][0]
    assert set(trade) >= {
        "entry_time",
        "exit_time",
        "entry_price",
        "exit_price",
        "side",
        "size",
        "pnl",
        "fees",
    }
    assert report.is_file()
    # Same numbers as calling the engine directly.
    direct = run_backtest(
        SmaCross(fast=10, slow=20),
        {"005930": load_sample(KR)},
        BacktestConfig(cash=1e7, commission=0.002),
    )
    assert payload["metrics"]["final_equity"] == pytest.approx(direct.metrics["final_equity"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--strategy", "nope"], "unknown strategy"),
        (["--strategy", "sma_cross", "--param", "fast=x"], "expects int"),
        (["--strategy", "sma_cross", "--param", "fast=1000"], "out of range"),
        (["--strategy", "sma_cross", "--commission", "-1"], "commission"),
    ],
)
def test_cli_bad_input_exits_2_with_a_clear_message(extra: list[str], message: str) -> None:
    out = CliRunner().invoke(cli(), ["backtest", "--data", str(sample_path(KR)), *extra])
    assert out.exit_code == 2
    assert message in out.stderr


def test_cli_bad_data_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,open,high,low,close,volume\n")
    out = CliRunner().invoke(cli(), ["backtest", "--data", str(bad), "--strategy", "sma_cross"])
    assert out.exit_code == 2 and "error:" in out.stderr


def test_cli_optimize_walk_forward_json() -> None:
    args = [
        "optimize",
        "--data",
        str(sample_path("us_index_daily/GSPC.csv")),
        "--strategy",
        "sma_cross",
        "--grid",
        "fast=10,20",
        "--grid",
        "slow=50,100",
        "--folds",
        "2",
        "--json",
    ]
    out = CliRunner().invoke(cli(), args)
    assert out.exit_code == 0, out.output
    folds = json.loads(out.stdout)["walk_forward"]["folds"]
    assert [f["fold"] for f in folds] == [0, 1]
