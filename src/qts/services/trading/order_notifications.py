"""Order-service events turned into notifications (Slack/Telegram, when configured) and
Prometheus counters."""

from __future__ import annotations

from typing import Any


def notify_and_count(kind: str, data: dict[str, Any]) -> None:
    """Order-service events to notifications (Slack/Telegram, when configured) and metrics."""
    from qts.observability import metrics
    from qts.services import notifications

    if kind == "order_submitted":
        metrics.record_order_submitted(data["account"], data["side"])
    elif kind == "order_filled":
        metrics.record_fill(data["account"], data["side"], data["fill_qty"], data["fill_price"])
        notifications.notify_fill(
            data["symbol"],
            data["side"],
            data["fill_qty"],
            data["fill_price"],
            order_id=data["client_order_id"],
            venue=data["account"],
        )
    elif kind == "order_rejected":
        metrics.record_order_rejected(data.get("reject_rule") or "unknown")
        notifications.notify_order_rejected(
            data["symbol"],
            data.get("reject_reason", ""),
            order_id=data["client_order_id"],
            rule=data.get("reject_rule", ""),
        )
        if data.get("reject_rule") not in ("", "broker", "kill_switch", None):
            notifications.notify_risk_limit(data["reject_rule"], data.get("reject_reason", ""))
    elif kind == "kill_switch":
        notifications.notify_kill_switch(bool(data["on"]), actor=data.get("by", ""))
