"""Live trading: the guards that must all pass before a live order can leave the process, the
broker client built from configuration, and the live loop (strategy on new bars, order
follow-up, reconciliation on start)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from qts.core.errors import ConfigurationError
from qts.execution.brokers.base import Broker
from qts.execution.live import LiveExecutor
from qts.execution.risk import RiskLimits

log = logging.getLogger(__name__)
CASH_ASSETS = ("KRW", "USD", "USDT", "USDC")


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
    testnet domains unless `QTS_BROKER_SANDBOX=false`."""
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
    if broker == "kis":
        return KisBroker(
            creds.api_key,
            creds.secret,
            creds.account_no,
            mock=sandbox,
            base_url=base_url,
            store=store,
        )
    if broker == "kiwoom":
        return KiwoomBroker(
            creds.api_key, creds.secret, mock=sandbox, base_url=base_url, store=store
        )
    if broker == "binance":
        return BinanceBroker(creds.api_key, creds.secret, testnet=sandbox, base_url=base_url)
    raise ConfigurationError(f"unknown broker {broker!r}")


def live_equity(
    executor: LiveExecutor, positions: dict[str, float], marks: dict[str, float]
) -> float:
    cash = sum(b.total for b in executor.broker.balances() if b.asset in CASH_ASSETS)
    return cash + sum(q * marks.get(s, 0.0) for s, q in positions.items())


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
    from qts.services.trading import TradingService

    broker_name = ctx.settings.live_broker
    if not broker_name or not ctx.settings.live_trading_enabled:
        return {"skipped": "no live broker configured"}
    executor = LiveExecutor(make_broker(ctx.settings, broker_name), f"live:{broker_name}")
    trading = TradingService(ctx)
    trading.orders.executors[executor.account] = executor
    try:
        return follow_up(trading.orders, executor)
    finally:
        executor.broker.close()


def run_live(
    trading: Any, strategy_id: int, executor: LiveExecutor, interval_s: float, stop: threading.Event
) -> None:
    """Until `stop`: follow up open orders and run the strategy on newly stored bars."""
    from qts.services.reconcile import reconcile

    report = reconcile(trading.orders, executor, "live:start")
    log.info("reconciled %s: %s", executor.account, report.to_dict())
    trading.live_executor = executor
    while not stop.is_set():
        follow_up(trading.orders, executor)
        trading.step_stored_bars(strategy_id)
        stop.wait(interval_s)
