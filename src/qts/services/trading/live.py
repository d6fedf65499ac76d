"""Live trading: the guards that must all pass before a live order can leave the process, the
broker client built from configuration, and the live loop (strategy on new bars, order
follow-up, reconciliation on start)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from qts.core.errors import ConfigurationError
from qts.execution.brokers.base import Broker
from qts.execution.live import LiveExecutor
from qts.execution.risk import RiskLimits

log = logging.getLogger(__name__)


def check_live_guards(settings: Any, confirmed: bool) -> RiskLimits:
    """Refuse live trading unless it is enabled, the risk limits are set and it is confirmed."""
    problems = []
    if not settings.live_trading_enabled:
        problems.append("live trading is disabled (set QTS_LIVE_TRADING_ENABLED=true)")
    limits = RiskLimits.from_dict(settings.risk_limits)
    if not limits.is_set:
        problems.append(
            "risk limits max_position_notional, max_order_notional and daily_loss_limit must be "
            "set (QTS_RISK_LIMITS)"
        )
    if not confirmed:
        problems.append("the command must be confirmed with --confirm-live")
    if problems:
        raise ConfigurationError("refusing to trade live: " + "; ".join(problems))
    return limits


def make_broker(settings: Any, broker: str) -> Broker:
    """A broker client with credentials from the environment or the encrypted vault. Mock or
    testnet domains unless `QTS_BROKER_SANDBOX=false`. `kis` trades domestic and US stocks
    of one KIS account (`KisAccountBroker`)."""
    from qts.execution.brokers import BinanceBroker, JsonlOrderIdStore, KisBroker, KiwoomBroker
    from qts.execution.credentials import CredentialVault, resolve_credentials

    try:
        vault: CredentialVault | None = CredentialVault.from_settings(settings)
    except ConfigurationError:
        vault = None
    creds = resolve_credentials(broker, vault=vault)
    sandbox = settings.broker_sandbox
    base_url = settings.broker_base_url
    journal_dir = settings.ensure_data_dir() / "broker_orders"
    journal_dir.mkdir(exist_ok=True)
    store = JsonlOrderIdStore(journal_dir / f"{broker}.jsonl")
    if broker == "kis":  # one account: KRX codes to domestic endpoints, US symbols overseas
        from qts.execution.brokers.kis_overseas import KisOverseasBroker
        from qts.execution.brokers.kis_overseas_routing import KisAccountBroker

        domestic = KisBroker(
            creds.api_key,
            creds.secret,
            creds.account_no,
            mock=sandbox,
            base_url=base_url,
            store=store,
        )
        overseas = KisOverseasBroker(
            creds.api_key,
            creds.secret,
            creds.account_no,
            mock=sandbox,
            base_url=base_url,
            store=JsonlOrderIdStore(journal_dir / "kis_overseas.jsonl"),
            token_source=domestic,
        )
        return KisAccountBroker(domestic, overseas)
    if broker == "kiwoom":
        return KiwoomBroker(
            creds.api_key, creds.secret, mock=sandbox, base_url=base_url, store=store
        )
    if broker == "binance":
        return BinanceBroker(creds.api_key, creds.secret, testnet=sandbox, base_url=base_url)
    if broker == "upbit":  # no sandbox at Upbit: orders are real unless base_url is a fake
        from qts.execution.brokers.upbit import UpbitBroker

        return UpbitBroker(creds.api_key, creds.secret, base_url=base_url)
    raise ConfigurationError(f"unknown broker {broker!r}")


def follow_up(orders: Any, executor: LiveExecutor) -> dict[str, int]:
    """Ask the broker about every open order of its account stored in qts and apply what
    changed (fills, cancels, rejections). Driven by the database, so it works after restarts."""
    from sqlalchemy import select

    from qts.db.models import Order

    with orders.db.session() as s:
        open_ids = s.scalars(
            select(Order.client_order_id).where(
                Order.account == executor.account,
                Order.status.in_(["submitted", "partially_filled"]),
            )
        ).all()
    changed = 0
    for cid in open_ids:
        report = executor.get(cid)
        if report is not None:
            before = orders.find(cid)
            after = orders.apply_report(report)
            changed += int(before is None or before["status"] != after["status"])
    return {"open": len(open_ids), "changed": changed}


def follow_up_open_orders(ctx: Any) -> dict[str, Any]:
    """The `order_follow_up` job: follow up the configured live broker's open orders."""
    from qts.services.trading.sessions import TradingService

    broker_name = ctx.settings.live_broker
    if not broker_name or not ctx.settings.live_trading_enabled:
        return {"skipped": "no live broker configured"}
    executor = LiveExecutor(make_broker(ctx.settings, broker_name), f"live:{broker_name}")
    trading = TradingService(ctx)
    trading.orders.executors[executor.account] = executor
    try:
        done = follow_up(trading.orders, executor)
        from qts.services.trading.currencies import record_broker_cash

        # the account's figures show the broker's cash as of this run
        record_broker_cash(ctx.db, executor.account, executor.broker.balances())
        return done
    finally:
        executor.broker.close()


@dataclass
class BarSource:
    """Where a live session gets its bars: a provider fetch of the closed bars since the last
    stored one (None: the `market_data_*` jobs collect them, see QTS_LIVE_SYMBOLS)."""

    provider: str
    exchange: str | None = None  # None: guessed from each symbol (KRX code, BASE/QUOTE, ...)
    # Bars fetched on a first run, for the indicators (None: the strategy's `warmup_bars`).
    warmup_bars: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def collect(self, ctx: Any, symbols: list[str], timeframe: str) -> int:
        """Store the bars closed since the last stored one; returns how many were new."""
        from qts.market.frames import timeframe_ms
        from qts.services.data.market_data import fetch, guess_exchange

        step = timeframe_ms(timeframe)
        last_closed = (
            int(time.time() * 1000) // step - 1
        ) * step  # open time of the last closed bar
        # `fetch` resumes after the last stored bar by itself; this only bounds a first run.
        since = last_closed - max(self.warmup_bars or 0, 1) * step
        new = 0
        for symbol in symbols:
            exchange = self.exchange or guess_exchange(symbol)
            out = fetch(
                self.provider, exchange, symbol, timeframe, since, until=last_closed,
                db=ctx.db, provider_options=self.options,
            )  # fmt: skip
            new += int(out.get("inserted", 0))
        return new


def run_live(
    trading: Any,
    strategy_id: int,
    interval_s: float,
    stop: threading.Event,
    executor: LiveExecutor | None = None,
    source: BarSource | None = None,
    cycles: int | None = None,
) -> int:
    """Until `stop` (or `cycles` rounds): collect new bars when a source is given, follow up
    the broker's open orders (live), and run the strategy on the newly stored bars. Without an
    executor the strategy trades its paper account: the same loop, paper fills. Returns the
    bar times processed."""
    from qts.services.trading.reconcile import reconcile

    if executor is not None:
        report = reconcile(trading.orders, executor, "live:start")
        log.info("reconciled %s: %s", executor.account, report.to_dict())
        trading.live_executor = executor
    with trading.ctx.db.session() as s:
        from qts.db.models import Strategy

        row = s.get(Strategy, strategy_id)
        symbols, timeframe = (list(row.symbols), row.timeframe) if row is not None else ([], "1d")
        spec = (row.strategy_class, dict(row.parameters)) if row is not None else None
    if source is not None and source.warmup_bars is None and spec is not None:
        from dataclasses import replace

        from qts.strategies.registry import create_strategy

        source = replace(source, warmup_bars=create_strategy(*spec).warmup_bars)
    processed, rounds = 0, 0
    while not stop.is_set() and (cycles is None or rounds < cycles):
        if source is not None:
            source.collect(trading.ctx, symbols, timeframe)
        if executor is not None:
            follow_up(trading.orders, executor)
        processed += trading.step_stored_bars(strategy_id)
        rounds += 1
        if cycles is None or rounds < cycles:
            stop.wait(interval_s)
    return processed
