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


def follow_up(trading: Any, executor: LiveExecutor) -> int:
    """Apply the broker's order updates (fills, cancels) to qts; returns how many changed."""
    updates = executor.updates()
    for report in updates:
        trading.orders.apply_report(report)
    return len(updates)


def run_live(
    trading: Any, strategy_id: int, executor: LiveExecutor, interval_s: float, stop: threading.Event
) -> None:
    """Until `stop`: follow up open orders and run the strategy on newly stored bars."""
    from qts.services.reconcile import reconcile

    report = reconcile(trading.orders, executor, "live:start")
    log.info("reconciled %s: %s", executor.account, report.to_dict())
    trading.live_executor = executor
    while not stop.is_set():
        follow_up(trading, executor)
        trading.step_stored_bars(strategy_id)
        stop.wait(interval_s)
