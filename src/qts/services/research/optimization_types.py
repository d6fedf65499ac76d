"""Typed boundary of optimisation runs: the request (a backtest request plus the search) and
the stored run with its progress and result."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from qts.services.research.backtest_types import BacktestRequest, Number

ParamValue = bool | int | float | str


class OptimizationRequest(BacktestRequest):
    """Search a strategy's declared parameters on stored bars. `folds` > 0: walk-forward (each
    fold searches in sample and reports the chosen parameters on the next block out of
    sample); 0: one in-sample search. `params` are held fixed; `grid` replaces the declared
    grid (method grid)."""

    method: Literal["grid", "optuna"] = "grid"
    objective: str = Field(default="sharpe", min_length=1, max_length=64, pattern=r"^\w+$")
    trials: int = Field(default=30, ge=1, le=500)  # optuna: trials per search
    folds: int = Field(default=0, ge=0, le=10)
    grid: dict[str, list[ParamValue]] | None = Field(default=None, max_length=20)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class Trial(BaseModel):
    model_config = {"extra": "allow"}

    params: dict[str, ParamValue]
    score: Number


class SearchOut(BaseModel):
    """One search: every trial's parameters and score, and the best."""

    model_config = {"extra": "allow"}

    objective: str
    best_params: dict[str, ParamValue] | None
    best_score: Number
    trials: list[Trial]


class WalkForwardFold(BaseModel):
    """One fold: searched on [train_start, test_start), scored on [test_start, test_end]."""

    model_config = {"extra": "allow"}

    fold: int
    train_start: str
    test_start: str
    test_end: str
    params: dict[str, ParamValue]
    in_sample: Number  # the objective in sample
    out_of_sample: Number  # the objective out of sample
    oos_total_return: Number
    oos_fills: int
    traded: bool


class WalkForwardOut(BaseModel):
    model_config = {"extra": "allow"}

    objective: str
    folds: list[WalkForwardFold]
    out_of_sample: dict[str, Number]
    in_sample_mean: Number
    folds_without_trades: list[int]


class OptimizationResult(BaseModel):
    in_sample: SearchOut | None = None  # folds == 0
    walk_forward: WalkForwardOut | None = None  # folds > 0


class OptimizationRunOut(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    strategy: str
    request: OptimizationRequest  # as given
    trials_done: int
    trials_total: int | None  # None while unknown (a grid before it is built)
    error: str
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    result: OptimizationResult | None = None  # when done (omitted in listings)


class OptimizationRunPage(BaseModel):
    items: list[OptimizationRunOut]
    total: int
    limit: int
    offset: int
