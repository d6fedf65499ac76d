"""`qts strategy check`, and the helpers of stored strategies by name shared by `qts paper` and
`qts optimize --save`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qts.cli.output import make_console

if TYPE_CHECKING:
    from qts.services.trading.schemas import StrategyRecord

console = make_console()


def check(
    name: Annotated[str, typer.Argument(help="Registered name, path.py:Class or module:Class")],
    param: Annotated[list[str] | None, typer.Option(help="Strategy parameter k=v")] = None,
    data: Annotated[Path | None, typer.Option(help="CSV/Parquet file of OHLCV bars")] = None,
    symbol: Annotated[str | None, typer.Option(help="Symbol stored in the database")] = None,
    timeframe: Annotated[str | None, typer.Option(help="Timeframe of the stored bars")] = None,
    cuts: Annotated[int, typer.Option(help="How many bar times to cut the data at")] = 8,
) -> None:
    """Check that a strategy does not peek at later bars: its decisions at several bar times
    must not change when the bars after them are removed. Exits 1 when it peeks."""
    from qts.backtest.lookahead import check_lookahead, default_cut_points
    from qts.core.errors import QtsError
    from qts.strategies import create_strategy, parse_param_pairs

    try:
        strategy = create_strategy(name, dict(parse_param_pairs(param or [])))
        universe = _load(data, symbol, timeframe)
        n = max(len(f) for f in universe.values())
        points = default_cut_points(n, strategy.warmup_bars, cuts)
        violations = check_lookahead(strategy, universe, points)
    except QtsError as e:
        console.print(f"[red]error:[/] {e.message}")
        raise typer.Exit(2) from e
    if violations:
        console.print(
            f"[red]{strategy!r} looks ahead[/]: {len(violations)} decision(s) change when later "
            "bars are removed:"
        )
        for v in violations:
            console.print(f"  {v}")
        raise typer.Exit(1)
    console.print(f"[green]no look-ahead found[/]: {strategy!r} at {len(points)} cut points")


def _load(data: Path | None, symbol: str | None, timeframe: str | None) -> dict[str, Any]:
    from qts.core.errors import ValidationError

    if (data is None) == (symbol is None):
        raise ValidationError("give --data FILE, or --symbol and --timeframe")
    if data is not None:
        from qts.market.files import load_bars_file

        return {data.stem: load_bars_file(data)}
    if timeframe is None:
        raise ValidationError("--symbol needs --timeframe")
    from qts.cli.common import open_database
    from qts.services.data.market_data import read_bars

    db = open_database()
    try:
        return {str(symbol): read_bars(str(symbol), timeframe, db=db)}
    finally:
        db.dispose()


def save_by_name(db: Any, data: dict[str, Any], update: bool) -> tuple[StrategyRecord, str]:
    """`save_strategy_by_name` with a refusal that says how to change the stored strategy."""
    from qts.core.errors import ConflictError
    from qts.services.trading.schemas import NewStrategy
    from qts.services.trading.strategies import save_strategy_by_name

    try:
        return save_strategy_by_name(db, NewStrategy.parse(**data), actor="cli", update=update)
    except ConflictError as e:
        if not (isinstance(e.details, dict) and "differences" in e.details):
            raise
        raise ConflictError(
            f"{e.message}. Pass --update to change it, or --name to store another.", e.details
        ) from e


def save_optimized(
    result: dict[str, Any],
    name: str,
    spec: str,
    symbols: list[str],
    timeframe: str | None,
    update: bool,
) -> dict[str, Any]:
    """`qts optimize --save NAME`: store the best parameters as a stored strategy (with
    walk-forward folds, those chosen on the latest training window)."""
    from qts.cli.common import open_database
    from qts.core.errors import ValidationError

    if timeframe is None:
        raise ValidationError("--save needs --timeframe (the stored strategy trades it)")
    if "walk_forward" in result:
        params = dict(result["walk_forward"]["folds"][-1]["params"])
    else:
        params = dict(result["in_sample"]["best_params"])
    data = {
        "name": name,
        "strategy_class": spec,
        "parameters": params,
        "symbols": symbols,
        "timeframe": timeframe,
    }
    db = open_database()
    try:
        stored, action = save_by_name(db, data, update)
    finally:
        db.dispose()
    typer.echo(
        f"stored strategy {name!r} {action} (id {stored.id}): {stored.parameters}",
        err=True,
    )
    return {"name": name, "id": stored.id, "action": action, "parameters": stored.parameters}
