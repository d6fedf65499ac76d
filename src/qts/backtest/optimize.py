"""Parameter search over a strategy's declared parameters, and walk-forward evaluation.

`grid_search` tries every combination (declared `Param.grid()` or an explicit grid);
`optuna_search` samples the declared ranges with Optuna's TPE sampler (seeded). Both maximise
one metric (`objective`, default "sharpe"). `walk_forward` optimises on each in-sample window and
reports the chosen parameters on the following out-of-sample window, so the tuned figure quoted is
the out-of-sample one. Parameter combinations the strategy rejects (e.g. fast >= slow) are skipped.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.backtest.engine import run_backtest
from qts.backtest.metrics import clean_number, periods_per_year, return_metrics
from qts.core.errors import ValidationError
from qts.strategies.base import Strategy, Universe, as_universe
from qts.strategies.params import Param, ParamSet, resolve_params

# on_trial(done, total): called after each scored combination (total None when unknown).
TrialCallback = Callable[[int, int | None], None]
# A parameter whose warm-up needs more than this share of a window's bars leaves too few bars
# to trade on: the searched ranges stop there.
MAX_WARMUP_SHARE = 1 / 3
DEFAULT_GRID_LIMIT = 1000


@dataclass(slots=True)
class SearchResult:
    objective: str
    best_params: dict[str, Any] | None
    best_score: float
    trials: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "best_params": self.best_params,
            "best_score": clean_number(self.best_score),
            "trials": [{**t, "score": clean_number(t["score"])} for t in self.trials],
        }


def _warmup(cls: type[Strategy], params: Mapping[str, Any]) -> int | None:
    """The warm-up of `cls` with `params`, without its cross-parameter checks (probing one
    parameter at a time may break e.g. fast < slow); None when it cannot be computed."""
    probe = cls.__new__(cls)
    try:
        probe.p = resolve_params(cls.params, params)
        probe.__dict__["params"] = ParamSet(*cls.params).bind(probe.p)
        return int(probe.warmup_bars)
    except Exception:
        return None


def fitted_high(cls: type[Strategy], p: Param, fixed: Mapping[str, Any], bars: int) -> Any:
    """The largest value of int parameter `p` that fits `bars`: its warm-up (the others at their
    defaults) and the value itself stay within MAX_WARMUP_SHARE of the bars."""
    if p.type != "int" or p.low is None or p.high is None:
        return p.high
    limit = max(int(bars * MAX_WARMUP_SHARE), int(p.low))
    low, high = int(p.low), min(int(p.high), limit)
    base = {q.name: q.default for q in cls.params} | dict(fixed)
    fits = lambda v: (_warmup(cls, {**base, p.name: v}) or 0) <= limit  # noqa: E731
    if fits(high) or not fits(low):
        return high
    while low < high:  # the largest fitting value; warm-up grows with a lookback
        mid = (low + high + 1) // 2
        low, high = (mid, high) if fits(mid) else (low, mid - 1)
    return low


def _window_bars(universe: Universe, trade_start: pd.Timestamp | None) -> int:
    lengths = [
        len(b) if trade_start is None else int((b.index >= trade_start).sum())
        for b in universe.values()
    ]
    return max(lengths, default=0)


def default_grid(cls: type[Strategy], fixed: Mapping[str, Any], bars: int) -> dict[str, list[Any]]:
    """Each searchable parameter's declared grid, cut to the values that fit `bars`."""
    grid = {}
    for p in cls.params:
        if p.type == "bool" or p.name in fixed:
            continue
        high = fitted_high(cls, p, fixed, bars)
        grid[p.name] = [v for v in p.grid() if high is None or p.type != "int" or v <= high]
    return grid


def _score(
    cls: type[Strategy],
    params: Mapping[str, Any],
    data: Universe,
    config: BacktestConfig,
    objective: str,
    trade_start: pd.Timestamp | None,
) -> float | None:
    try:
        strategy = cls(**params)
    except ValidationError:
        return None
    result = run_backtest(strategy, data, config, trade_start=trade_start)
    if objective not in result.metrics:
        raise ValidationError(f"unknown objective {objective!r}; metrics: {sorted(result.metrics)}")
    value = float(result.metrics[objective])
    return value if math.isfinite(value) else -math.inf


def grid_search(
    cls: type[Strategy],
    data: pd.DataFrame | Universe,
    config: BacktestConfig | None = None,
    grid: Mapping[str, Sequence[Any]] | None = None,
    objective: str = "sharpe",
    trade_start: pd.Timestamp | None = None,
    max_combinations: int = 5000,
    fixed: Mapping[str, Any] | None = None,
    on_trial: TrialCallback | None = None,
) -> SearchResult:
    universe, config = as_universe(data), config or BacktestConfig()
    declared = {p.name: p for p in cls.params}
    fixed = dict(fixed or {})
    declared_grid = grid is None
    if grid is None:
        grid = default_grid(cls, fixed, _window_bars(universe, trade_start))
        max_combinations = min(max_combinations, DEFAULT_GRID_LIMIT)
    grid = {**grid, **{name: [value] for name, value in fixed.items()}}
    for name in grid:
        if name not in declared:
            raise ValidationError(f"grid names unknown parameter {name!r}")
    names = list(grid)
    values = [[declared[n].coerce(v) for v in grid[n]] for n in names]
    total = math.prod(len(v) for v in values)
    if total > max_combinations:
        sizes = " x ".join(f"{n} {len(v)}" for n, v in zip(names, values, strict=True))
        what = "the declared grid" if declared_grid else "the grid"
        raise ValidationError(
            f"{what} has {total:,} combinations ({sizes}), more than {max_combinations:,}: "
            "give a smaller grid (--grid name=v1,v2,...) or sample it with --method optuna",
            {"combinations": total, "limit": max_combinations},
        )
    result = SearchResult(objective=objective, best_params=None, best_score=-math.inf)
    for done, combo in enumerate(itertools.product(*values), 1):
        params = dict(zip(names, combo, strict=True))
        score = _score(cls, params, universe, config, objective, trade_start)
        if on_trial is not None:
            on_trial(done, total)
        if score is None:
            continue
        result.trials.append({"params": params, "score": score})
        if score > result.best_score or result.best_params is None:
            result.best_params, result.best_score = params, score
    return result


def optuna_search(
    cls: type[Strategy],
    data: pd.DataFrame | Universe,
    config: BacktestConfig | None = None,
    n_trials: int = 50,
    objective: str = "sharpe",
    seed: int = 0,
    trade_start: pd.Timestamp | None = None,
    fixed: Mapping[str, Any] | None = None,
    on_trial: TrialCallback | None = None,
) -> SearchResult:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    universe, config = as_universe(data), config or BacktestConfig()
    bars = _window_bars(universe, trade_start)
    highs = {p.name: fitted_high(cls, p, fixed or {}, bars) for p in cls.params}

    def suggest(trial: optuna.Trial) -> dict[str, Any]:
        params: dict[str, Any] = dict(fixed or {})
        for p in cls.params:
            if p.name in params:
                continue
            if p.choices is not None or p.type in ("bool", "str"):
                options = list(p.choices) if p.choices is not None else [False, True]
                if p.type == "str" and p.choices is None:
                    continue
                params[p.name] = trial.suggest_categorical(p.name, options)
            elif p.low is not None and p.high is not None:
                if p.type == "int":
                    params[p.name] = trial.suggest_int(p.name, int(p.low), int(highs[p.name]))
                else:
                    params[p.name] = trial.suggest_float(p.name, float(p.low), float(p.high))
        return params

    result = SearchResult(objective=objective, best_params=None, best_score=-math.inf)

    def run_trial(trial: optuna.Trial) -> float:
        params = suggest(trial)
        score = _score(cls, params, universe, config, objective, trade_start)
        if on_trial is not None:
            on_trial(trial.number + 1, n_trials)
        if score is None:
            raise optuna.TrialPruned()
        result.trials.append({"params": params, "score": score})
        if score > result.best_score or result.best_params is None:
            result.best_params, result.best_score = params, score
        return score if math.isfinite(score) else -1e18

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(run_trial, n_trials=n_trials)
    return result


@dataclass(slots=True)
class WalkForwardResult:
    objective: str
    folds: list[dict[str, Any]]
    out_of_sample: dict[str, Any]
    in_sample_mean: float
    # Folds whose chosen parameters made no trade out of sample: flagged, and left out of the
    # stitched out-of-sample figures (holding cash is not a result of the strategy).
    folds_without_trades: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "folds": self.folds,
            "out_of_sample": {k: clean_number(v) for k, v in self.out_of_sample.items()},
            "in_sample_mean": clean_number(self.in_sample_mean),
            "folds_without_trades": list(self.folds_without_trades),
        }


def _fold_search(
    cls: type[Strategy],
    train: Universe,
    config: BacktestConfig,
    method: str,
    options: dict[str, Any],
    on_trial: TrialCallback | None,
) -> SearchResult:
    if method == "grid":
        return grid_search(
            cls, train, config, options["grid"], options["objective"],
            trade_start=options["trade_start"], fixed=options["fixed"], on_trial=on_trial,
        )  # fmt: skip
    return optuna_search(
        cls, train, config, options["n_trials"], options["objective"], options["seed"],
        trade_start=options["trade_start"], fixed=options["fixed"], on_trial=on_trial,
    )  # fmt: skip


def walk_forward(
    cls: type[Strategy],
    data: pd.DataFrame | Universe,
    config: BacktestConfig | None = None,
    folds: int = 4,
    method: str = "grid",
    grid: Mapping[str, Sequence[Any]] | None = None,
    n_trials: int = 30,
    objective: str = "sharpe",
    anchored: bool = False,
    seed: int = 0,
    fixed: Mapping[str, Any] | None = None,
    on_trial: TrialCallback | None = None,
) -> WalkForwardResult:
    """Split the time axis into folds + 1 blocks; fold f optimises on block f (blocks 0..f
    when anchored) and is evaluated on block f + 1 with the chosen parameters."""
    if method not in ("grid", "optuna"):
        raise ValidationError("method must be grid or optuna")
    if folds < 1:
        raise ValidationError("folds must be >= 1")
    universe, config = as_universe(data), config or BacktestConfig()
    index = next(iter(universe.values())).index
    for bars in list(universe.values())[1:]:
        index = index.union(bars.index)
    bounds = np.linspace(0, len(index), folds + 2).astype(int)
    if np.diff(bounds).min() < 2:
        raise ValidationError(f"{len(index)} bars are too few for {folds} walk-forward folds")
    fold_rows, oos_returns, idle = [], [], []
    for f in range(folds):
        train_start = index[0 if anchored else bounds[f]]
        test_start, test_end = index[bounds[f + 1]], index[bounds[f + 2] - 1]
        train = {s: b[b.index < test_start] for s, b in universe.items()}
        test = {s: b[b.index <= test_end] for s, b in universe.items()}
        options = {"grid": grid, "objective": objective, "trade_start": train_start,
                   "fixed": fixed, "n_trials": n_trials, "seed": seed + f}  # fmt: skip

        def fold_trial(done: int, total: int | None, f: int = f) -> None:
            if on_trial is not None:
                on_trial(f * (total or 0) + done, folds * total if total else None)

        search = _fold_search(cls, train, config, method, options, fold_trial)
        if search.best_params is None:
            raise ValidationError(f"fold {f}: no valid parameter combination")
        oos = run_backtest(cls(**search.best_params), test, config, trade_start=test_start)
        traded = int(oos.metrics["fills"]) > 0
        if traded:
            equity = oos.equity
            oos_returns.append(
                equity / np.r_[oos.config.initial_cash, equity.to_numpy()[:-1]] - 1.0
            )
        else:
            idle.append(f)
        fold_rows.append(
            {
                "fold": f,
                "train_start": train_start.isoformat(),
                "test_start": test_start.isoformat(),
                "test_end": test_end.isoformat(),
                "params": search.best_params,
                "in_sample": clean_number(search.best_score),
                "out_of_sample": clean_number(oos.metrics.get(objective)),
                "oos_total_return": clean_number(oos.metrics["total_return"]),
                "oos_fills": int(oos.metrics["fills"]),
                "traded": traded,
            }
        )
    ppy = config.periods_per_year or periods_per_year(index, config.timeframe, config.asset_class)
    stitched = pd.concat(oos_returns) if oos_returns else pd.Series(dtype=float)
    summary = return_metrics(stitched, ppy)
    in_sample = [r["in_sample"] for r in fold_rows if r["in_sample"] is not None]
    return WalkForwardResult(
        objective=objective,
        folds=fold_rows,
        out_of_sample=summary,
        in_sample_mean=float(np.mean(in_sample)) if in_sample else float("nan"),
        folds_without_trades=idle,
    )
