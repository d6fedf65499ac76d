"""Prometheus metrics and the helpers other code calls to update them.

All metrics live on one registry (`REGISTRY`, prometheus_client's default) and are served at
`GET /metrics` by the API (see `qts.api.metrics_middleware.mount_metrics`). In embedded mode
every job runs in the API process, so one endpoint shows everything. Celery workers are other
processes: their task metrics are on their own registries (run them with
PROMETHEUS_MULTIPROC_DIR set to aggregate, as prometheus_client documents).

Label values are bounded on purpose: routes are templates (`/api/v1/orders/{order_id}`), not
raw paths, so a scan of random URLs cannot grow the registry.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

HTTP_REQUEST_SECONDS = Histogram(
    "qts_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ORDERS_SUBMITTED = Counter(
    "qts_orders_submitted_total", "Orders sent to a venue", ["venue", "side"]
)
FILLS = Counter("qts_fills_total", "Fills received", ["venue", "side"])
FILLED_NOTIONAL = Counter("qts_filled_notional_total", "Filled quantity x price", ["venue"])
ORDERS_REJECTED = Counter(
    "qts_orders_rejected_total", "Orders rejected, by the rule or venue that refused them", ["rule"]
)
JOB_SECONDS = Histogram(
    "qts_job_duration_seconds",
    "Scheduled job / task run time by outcome",
    ["job", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0),
)
JOB_FAILURES = Counter("qts_job_failures_total", "Failed job attempts", ["job"])
QUEUE_LENGTH = Gauge("qts_queue_length", "Messages waiting in a Celery queue", ["queue"])
NOTIFICATIONS_SENT = Counter(
    "qts_notifications_sent_total", "Notification messages delivered", ["channel"]
)
NOTIFICATIONS_DROPPED = Counter(
    "qts_notifications_dropped_total", "Notification events dropped", ["channel", "reason"]
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)


def record_order_submitted(venue: str, side: str) -> None:
    ORDERS_SUBMITTED.labels(venue, side).inc()


def record_fill(venue: str, side: str, quantity: float = 0.0, price: float = 0.0) -> None:
    FILLS.labels(venue, side).inc()
    if quantity > 0 and price > 0:
        FILLED_NOTIONAL.labels(venue).inc(quantity * price)


def record_order_rejected(rule: str) -> None:
    ORDERS_REJECTED.labels(rule).inc()


def observe_job(job: str, outcome: str, seconds: float) -> None:
    JOB_SECONDS.labels(job, outcome).observe(seconds)
    if outcome == "failed":
        JOB_FAILURES.labels(job).inc()


def set_queue_length(queue: str, length: int) -> None:
    QUEUE_LENGTH.labels(queue).set(length)


def record_notification(channel: str, sent: int = 0, dropped: int = 0, reason: str = "") -> None:
    if sent:
        NOTIFICATIONS_SENT.labels(channel).inc(sent)
    if dropped:
        NOTIFICATIONS_DROPPED.labels(channel, reason or "unknown").inc(dropped)


def render(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
