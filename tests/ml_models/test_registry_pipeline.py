"""The pipeline end to end on real KRX bars with an MLflow store in a temporary directory:
every model type logs a run and registers a version; promotion moves aliases; the gate refuses
a worse candidate; the CLI drives the same code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from qts.cli import ml_cmd
from qts.core.errors import ConflictError
from qts.ml.models import MODEL_TYPES
from qts.ml.pipeline import default_model_name, train
from qts.ml.registry import ModelRegistry
from qts.ml.samples import build_samples

from .conftest import TINY

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlstore")


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_pipeline_logs_and_registers_every_model_type(
    model_type: str, krx_bars: dict[str, pd.DataFrame], store: Path
) -> None:
    epochs: list[int] = []
    result = train(
        model_type, krx_bars, horizon=1, n_splits=2, feature_set="basic", data_dir=store,
        overrides=TINY[model_type], callbacks=[lambda e, losses, m: epochs.append(e)],
    )  # fmt: skip
    assert result["version"] == "1"
    assert result["model_name"] == default_model_name(model_type, "1d", 1, list(krx_bars))
    oos = result["oos"]
    assert -1 <= oos["ic"] <= 1 and 0 <= oos["directional_accuracy"] <= 1 and oos["n"] > 300
    assert set(result["backtest"]) == {"model", "buy_and_hold", "naive"}
    assert np.isfinite(result["backtest"]["buy_and_hold"]["sharpe"])
    if model_type != "stacking":
        assert epochs and epochs[0] == 1  # the progress hook saw the final fit's epochs
    registry = ModelRegistry(store)
    metrics = registry.run_metrics(result["run_id"])
    assert metrics["oos_ic"] == pytest.approx(oos["ic"])
    assert "oos_sharpe" in metrics and "buy_and_hold_sharpe" in metrics
    if model_type not in ("lightgbm", "stacking"):
        assert any(k.startswith("final_train_loss") for k in metrics)  # per-epoch history
    # The registered model scores raw features exactly like the in-memory pipeline would.
    loaded = registry.load(result["model_name"], version="1")
    lookback = 1 if model_type == "lightgbm" else result["lookback"]
    X = build_samples(krx_bars, 1, lookback, "1d", "basic").X[-20:]
    assert np.isfinite(loaded.score_signal(loaded.prepare(X))).all()


def test_promotion_moves_alias_and_gate_refuses_a_worse_candidate(
    krx_bars: dict[str, pd.DataFrame], store: Path
) -> None:
    name = "gate-test"
    good = train("lightgbm", krx_bars, n_splits=2, feature_set="basic", data_dir=store,
                 model_name=name, overrides={"epochs": 40, "num_threads": 1})  # fmt: skip
    shuffled = train("lightgbm", krx_bars, n_splits=2, feature_set="basic", data_dir=store,
                     model_name=name, overrides={"epochs": 40, "num_threads": 1}, shuffle_labels=True, seed=5)  # fmt: skip
    registry = ModelRegistry(store)
    versions = {good["version"]: good, shuffled["version"]: shuffled}

    def key(r: dict[str, Any]) -> tuple[float, float]:
        return (registry.run_metrics(r["run_id"])["oos_sharpe"], r["oos"]["ic"])

    better, worse = sorted(versions.values(), key=key, reverse=True)
    first = registry.promote(name, worse["version"], "production", who="alice")
    assert first.previous_version is None and first.who == "alice"
    assert registry.version_for_alias(name, "production") == worse["version"]
    record = registry.promote(name, better["version"], "production", who="bob", gate=False)
    assert record.to_dict()["what"] == {
        "model": name,
        "version": better["version"],
        "alias": "production",
        "previous_version": worse["version"],
    }
    assert record.when
    # `worse` sorts below `better` on (Sharpe, IC), so it fails the gate on at least one of
    # the two: the gate must refuse it, whatever the figures came out as.
    assert key(better) > key(worse)
    with pytest.raises(ConflictError, match="does not beat"):
        registry.promote(name, worse["version"], "production", who="carol", gate=True)
    assert registry.version_for_alias(name, "production") == better["version"]  # unchanged
    listed = {m["name"]: m for m in registry.list_models()}[name]
    assert listed["aliases"]["production"] == better["version"]


def test_gate_passes_a_better_candidate_and_refuses_worse(
    store: Path, krx_bars: dict[str, pd.DataFrame]
) -> None:
    """Deterministic gate check on runs whose metrics are set by hand."""
    registry = ModelRegistry(store)
    name = "gate-metrics"
    first = train("lightgbm", krx_bars, n_splits=2, feature_set="basic", data_dir=store,
                  model_name=name, overrides={"epochs": 10, "num_threads": 1})  # fmt: skip
    second = train("lightgbm", krx_bars, n_splits=2, feature_set="basic", data_dir=store,
                   model_name=name, overrides={"epochs": 12, "num_threads": 1})  # fmt: skip
    for run, (sharpe, ic) in ((first, (0.5, 0.05)), (second, (0.2, 0.08))):
        registry.client.log_metric(run["run_id"], "oos_sharpe", sharpe, step=1)
        registry.client.log_metric(run["run_id"], "oos_ic", ic, step=1)
    registry.promote(name, first["version"], "production", who="ops")
    with pytest.raises(ConflictError) as info:
        registry.promote(name, second["version"], "production", who="ops", gate=True)
    assert info.value.details["gate"]["comparison"]["oos_sharpe"] == {
        "candidate": 0.2,
        "current": 0.5,
    }
    registry.client.log_metric(second["run_id"], "oos_sharpe", 0.9, step=2)
    passed = registry.promote(name, second["version"], "production", who="ops", gate=True)
    assert passed.gate["passed"] is True and passed.previous_version == first["version"]


SAMPLE_SYMBOLS = "005930,000660,005380,035420,051910"


def test_cli_train_reports_seeds_window_features_and_portfolio(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`qts train --seeds 3 --end ... --json`: per-seed and mean ± sd daily IC with t-stats,
    the training window end (also on the registered version), the features, the portfolio.
    `--features technical` (the `technical,time` group list comes with the feature-store work)."""
    app = typer.Typer()
    app.command("train")(ml_cmd.train)
    app.command("tune")(ml_cmd.tune)  # two commands: the app takes the command name
    data_dir = store  # an MLflow store already set up by the tests above
    # One LightGBM thread: on a busy 2-core machine two threads spin-wait ~20x slower.
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "lightgbm.yaml").write_text("num_threads: 1\npatience: 5\n")
    monkeypatch.setenv("QTS_MODEL_CONFIG_DIR", str(tmp_path / "models"))
    out = runner.invoke(app, ["train", "--model", "lightgbm", "--symbols", SAMPLE_SYMBOLS,
                              "--features", "technical", "--seeds", "3", "--end", "2025-01-31",
                              "--epochs", "20", "--folds", "2", "--data-dir", str(data_dir),
                              "--json"])  # fmt: skip
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["seeds"] == [0, 1, 2] and [s["seed"] for s in result["per_seed"]] == [0, 1, 2]
    for run in result["per_seed"]:
        assert -1 < run["ic"] < 1 and np.isfinite(run["ic_t_stat"]) and run["ic_days"] > 50
        assert run["ic_ci_low"] < run["ic"] < run["ic_ci_high"]
    ics = [s["ic"] for s in result["per_seed"]]
    assert result["seed_summary"]["ic"]["mean"] == pytest.approx(np.mean(ics))
    assert result["seed_summary"]["ic"]["sd"] == pytest.approx(np.std(ics, ddof=1))
    assert "ic_t_stat" in result["seed_summary"] and result["oos"]["cross_sectional"] is True
    # No label reaches past --end; the hold-out after it is untouched.
    assert pd.Timestamp(result["train_end"]) <= pd.Timestamp("2025-01-31", tz="UTC")
    assert pd.Timestamp(result["oos_end"]) <= pd.Timestamp("2025-01-31", tz="UTC")
    assert result["label"] == "next_open"
    assert len(result["feature_names"]) == result["features"] > 50
    assert "rsi_14" in result["feature_names"]
    book = result["portfolio"]
    assert book["k"] == 1 and book["symbols"] == 5
    for who in ("model", "buy_and_hold", "naive"):
        assert np.isfinite(book[who]["total_return"]) and book[who]["bars"] > 50
    registry = ModelRegistry(data_dir)
    version = registry.client.get_model_version(result["model_name"], result["version"])
    assert version.tags["train_end"] == result["train_end"]
    run = registry.client.get_run(result["run_id"]).data
    assert run.params["train_end"] == result["train_end"]
    assert run.metrics["seeds_ic_mean"] == pytest.approx(result["seed_summary"]["ic"]["mean"])
    bad = runner.invoke(app, ["train", "--model", "lightgbm", "--symbols", SAMPLE_SYMBOLS,
                              "--seeds", "0", "--data-dir", str(data_dir)])  # fmt: skip
    assert bad.exit_code == 1 and "--seeds must be at least 1" in bad.output


def test_cli_train_list_and_promote(store: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("train")(ml_cmd.train)
    app.command("tune")(ml_cmd.tune)
    app.add_typer(ml_cmd.models_app, name="models")
    data_dir = tmp_path / "cli"
    out = runner.invoke(app, ["train", "--model", "lightgbm", "--symbols", "005930,000660",
                              "--epochs", "20", "--folds", "2", "--features", "basic",
                              "--data-dir", str(data_dir), "--json"])  # fmt: skip
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["version"] == "1" and "ic" in result["oos"]
    listed = runner.invoke(app, ["models", "list", "--data-dir", str(data_dir), "--json"])
    name = default_model_name("lightgbm", "1d", 1, ["005930", "000660"])
    assert json.loads(listed.stdout)[0]["name"] == name == result["model_name"]
    promoted = runner.invoke(app, ["models", "promote", name, "1", "--alias",
                                   "production", "--who", "dana", "--data-dir", str(data_dir), "--json"])  # fmt: skip
    assert promoted.exit_code == 0, promoted.output
    assert json.loads(promoted.stdout)["who"] == "dana"
    missing = runner.invoke(app, ["models", "promote", name, "9", "--data-dir", str(data_dir)])
    assert missing.exit_code == 1 and "no version 9" in missing.output
    bad = runner.invoke(app, ["train", "--model", "xgboost", "--data-dir", str(data_dir)])
    assert bad.exit_code == 1 and "unknown model type" in bad.output
    unknown = runner.invoke(app, ["train", "--model", "lightgbm", "--symbols", "005930",
                                  "--features", "basic,nope", "--data-dir", str(data_dir)])  # fmt: skip
    assert unknown.exit_code == 1 and "unknown feature or group 'nope'" in unknown.output
    tuned = runner.invoke(app, ["tune", "--model", "lightgbm", "--trials", "3", "--symbols", "005930,000660",
                                "--epochs", "15", "--folds", "2", "--features", "basic",
                                "--storage", f"sqlite:///{tmp_path / 'optuna.db'}",
                                "--data-dir", str(data_dir), "--json"])  # fmt: skip
    assert tuned.exit_code == 0, tuned.output
    tres = json.loads(tuned.stdout.strip().splitlines()[-1])
    assert (
        tres["trials"] == 3
        and tres["version"] == "2"
        and set(tres["best_params"]) >= {"lr", "num_leaves"}
    )
