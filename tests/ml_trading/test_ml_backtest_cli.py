"""The command-line path of a model that trades: train on the 5 KRX samples up to 2025-01-31,
promote, backtest `ml_topk` out of sample net of KRX costs beside buy-and-hold; a start inside
the training window is refused; the walk-forward refit says it is research; an alias moved to
another version is picked up at the next call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qts.cli import common
from qts.cli.main import app
from qts.config import reset_settings_cache
from qts.ml.inference import InferenceEngine
from qts.ml.registry import ModelRegistry

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data" / "kr_daily"
SYMBOLS = "000660,005380,005930,035420,051910"
runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A data directory holding the 5 samples and a lightgbm version trained up to
    2025-01-31, promoted to production; yields (data dir, model name)."""
    data_dir = tmp_path_factory.mktemp("mlcli")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QTS_DATA_DIR", str(data_dir))
        mp.delenv("QTS_DATABASE_URL", raising=False)
        mp.delenv("QTS_MLFLOW_TRACKING_URI", raising=False)
        reset_settings_cache()
        common._migrated.clear()
        for symbol in SYMBOLS.split(","):
            r = runner.invoke(app, ["data", "import", str(SAMPLES / f"{symbol}.csv"),
                                    "--symbol", symbol, "--timeframe", "1d"])  # fmt: skip
            assert r.exit_code == 0, r.output
        r = runner.invoke(app, [
            "train", "--model", "lightgbm", "--symbols", SYMBOLS, "--end", "2025-01-31",
            "--features", "basic", "--epochs", "20", "--folds", "2", "--json",
        ])  # fmt: skip
        assert r.exit_code == 0, r.output
        name = _json(r.output)["model_name"]
        r = runner.invoke(app, ["models", "promote", name, "1", "--alias", "production"])
        assert r.exit_code == 0, r.output
        yield data_dir, name
    reset_settings_cache()
    common._migrated.clear()


def _json(output: str) -> Any:
    """The JSON line of a command's output (libraries may print warnings beside it)."""
    line = next(line for line in output.splitlines() if line.rstrip().endswith("}"))
    return json.loads(line[line.index("{") :])


def backtest(*args: str) -> Any:
    return runner.invoke(app, ["backtest", "--strategy", "ml_topk", "--timeframe", "1d", *args])


def test_ml_topk_trades_out_of_sample_net_of_krx_costs(trained: tuple[Path, str]) -> None:
    _, name = trained
    r = backtest("--symbols", SYMBOLS, "--start", "2025-02-03", "--param",
                 f"model={name}@production", "--param", "k=2", "--json", "--equity-curve")  # fmt: skip
    assert r.exit_code == 0, r.output
    out = _json(r.output)
    assert out["start"].startswith("2025-02-03") and out["symbols"] == sorted(SYMBOLS.split(","))
    assert out["config"]["market"] == "krx" and out["metrics"]["fees"] > 0
    assert out["metrics"]["trades"] >= 5
    assert all(t["entry_time"] > "2025-02-03" for t in out["trades"])  # filled after the start
    assert "benchmark_return" in out["metrics"]  # equal-weight buy-and-hold of the universe
    assert out["equity_curve"][0]["benchmark"] == out["metrics"]["initial_cash"]
    model = out["model"]["models"][f"{name}@production"]
    assert model["model_version"] == "1" and model["train_end"].startswith("2025-01-31")
    assert out["model"]["mode"].startswith("frozen")


def test_a_start_inside_the_training_window_is_refused(trained: tuple[Path, str]) -> None:
    _, name = trained
    r = backtest("--symbols", SYMBOLS, "--start", "2025-01-15", "--param",
                 f"model={name}@production", "--json")  # fmt: skip
    assert r.exit_code == 2
    assert "training window" in r.output and "2025-01-31" in r.output


def test_walk_forward_refit_runs_the_whole_period_and_says_it_is_research(
    trained: tuple[Path, str], tmp_path: Path
) -> None:
    _, name = trained
    universe = tmp_path / "krx5.txt"
    universe.write_text("# the five samples\n" + SYMBOLS.replace(",", "\n") + "\n")
    r = backtest("--universe", str(universe), "--param", f"model={name}@production",
                 "--param", "k=2", "--param", "refit=walk_forward", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    out = _json(r.output)
    assert out["model"]["research"] is True and out["model"]["mode"].startswith("research")
    refits = out["model"]["refits"]
    assert len(refits) >= 5 and refits[0]["scores_from"] < "2025-01-31"  # inside the window
    assert refits[0]["train_rows"] < refits[-1]["train_rows"]  # expanding
    assert out["metrics"]["fills"] > 0


def test_the_engine_follows_an_alias_to_its_new_version(
    trained: tuple[Path, str], tiny_model: tuple[Any, Any]
) -> None:
    data_dir, name = trained
    registry = ModelRegistry(data_dir=data_dir)
    now = [0.0]
    engine = InferenceEngine(registry, alias_ttl_s=60.0, clock=lambda: now[0])
    assert engine.load(f"{name}@production").version == "1"
    model, recipe = tiny_model
    with registry.start_run("qts-training") as run:
        uri = registry.log_model(run.run_id, model, _rows(recipe), recipe=recipe)
    version = registry.register(uri, name, run.run_id, tags=recipe.tags())
    registry.promote(name, version, "production", who="test")
    assert engine.load(f"{name}@production").version == "1"  # within the TTL
    now[0] = 61.0
    loaded = engine.load(f"{name}@production")
    assert loaded.version == version == "2" and loaded.model is not None
    assert engine.load(f"{name}/1").version == "1"  # a pinned version stays


def _rows(recipe: Any) -> Any:
    import numpy as np

    return np.zeros((5, len(recipe.columns)))


def test_multi_symbol_options_are_exclusive(trained: tuple[Path, str]) -> None:
    r = backtest("--symbols", SYMBOLS, "--symbol", "005930", "--param", "model=x@production")
    assert r.exit_code == 2 and "one of --symbol, --symbols and --universe" in r.output


def test_qts_predict_scores_the_newest_bar_and_records_it(trained: tuple[Path, str]) -> None:
    from sqlalchemy import func, select

    from qts.cli.common import open_database
    from qts.db.models import Prediction

    _, name = trained
    r = runner.invoke(app, ["predict", "--model", f"{name}/1", "--symbols",
                            "005930,000660", "--record", "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    out = _json(r.output)
    assert out["model_version"] == "1" and out["unscored"] == []
    assert {p["symbol"] for p in out["predictions"]} == {"005930", "000660"}
    assert all(p["ts"].startswith("2025-06-17") for p in out["predictions"])  # the newest bar
    db = open_database()
    try:
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Prediction)) == 2
    finally:
        db.dispose()
    r = runner.invoke(app, ["predict", "--model", f"{name}/9"])
    assert r.exit_code == 2 and "no version 9" in r.output
