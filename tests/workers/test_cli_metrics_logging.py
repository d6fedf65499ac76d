"""`qts schedule list`, the /metrics endpoint and structured logs."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qts.api.metrics_middleware import mount_metrics
from qts.observability import metrics
from qts.observability.logging_setup import JsonFormatter


def test_schedule_list_shows_jobs_next_runs_and_unavailable_targets(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import typer

    from qts.cli.worker_cmd import schedule_app

    monkeypatch.setenv("QTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QTS_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setenv("COLUMNS", "250")
    # A job whose target cannot be imported (a plugin not installed here) is listed as such.
    monkeypatch.setenv("QTS_SCHEDULE__PLUGIN_JOB__TARGET", "qts_plugin_missing.jobs.run")
    monkeypatch.setenv("QTS_SCHEDULE__PLUGIN_JOB__QUEUE", "system")
    monkeypatch.setenv("QTS_SCHEDULE__PLUGIN_JOB__INTERVAL_SECONDS", "60")
    from qts.workers.schedule import reset_schedule

    reset_schedule()
    app = typer.Typer()
    app.add_typer(schedule_app, name="schedule")
    result = CliRunner().invoke(app, ["schedule", "list"])
    assert result.exit_code == 0, result.output
    out = result.output
    for name in (
        "system_monitor",
        "market_data_xkrx",
        "batch_inference",
        "retraining",
        "evaluation",
    ):
        assert name in out
    assert "every 30s" in out and "cron 0 2 * * 6" in out
    assert "during XKRX session" in out and "after XKRX close" in out
    assert "qts_plugin_missing.jobs.run (not available)" in out
    for available in ("run_system_monitor", "run_batch_inference", "run_started_strategies"):
        assert f"{available} (not" not in out
    reset_schedule()


def test_schedule_run_unknown_job_is_a_clear_error() -> None:
    import typer

    from qts.cli.worker_cmd import schedule_app

    app = typer.Typer()
    app.add_typer(schedule_app, name="schedule")
    result = CliRunner().invoke(app, ["schedule", "run", "no_such_job"])
    assert result.exit_code == 2 and "no scheduled job named 'no_such_job'" in result.output


def _sample(name: str, labels: dict[str, str]) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return value or 0.0


def test_metrics_endpoint_records_latency_by_route_template() -> None:
    api = FastAPI()

    @api.get("/api/v1/orders/{order_id}")
    def get_order(order_id: int) -> dict[str, int]:
        return {"id": order_id}

    mount_metrics(api)
    labels = {"method": "GET", "route": "/api/v1/orders/{order_id}", "status": "200"}
    before = _sample("qts_http_request_duration_seconds_count", labels)
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    before_404 = _sample("qts_http_request_duration_seconds_count", unmatched)
    metrics.record_order_rejected("max_position")
    metrics.record_fill("paper", "buy", 2, 100.0)
    with TestClient(api) as client:
        assert client.get("/api/v1/orders/7").json() == {"id": 7}
        assert client.get("/api/v1/orders/8").status_code == 200
        assert client.get("/nothing/here").status_code == 404
        body = client.get("/metrics")
    assert body.status_code == 200 and body.headers["content-type"].startswith("text/plain")
    assert _sample("qts_http_request_duration_seconds_count", labels) == before + 2
    assert _sample("qts_http_request_duration_seconds_count", unmatched) == before_404 + 1
    text = body.text
    assert 'qts_orders_rejected_total{rule="max_position"}' in text
    assert 'qts_fills_total{side="buy",venue="paper"}' in text
    assert "/api/v1/orders/7" not in text  # raw paths never become labels


def test_json_logs_carry_extras_and_hide_registered_secrets() -> None:
    from qts.observability.redaction import REDACTOR

    REDACTOR.add("super-secret-token-123")
    record = logging.LogRecord("qts.test", logging.INFO, __file__, 1, "sent %s", ("ok",), None)
    record.job = "system_monitor"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "sent ok" and entry["job"] == "system_monitor"
    assert entry["level"] == "INFO" and entry["logger"] == "qts.test"
    leaky = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "POST %s",
        ("https://x/botsuper-secret-token-123/sendMessage",),
        None,
    )
    REDACTOR.filter(leaky)
    assert "super-secret-token-123" not in leaky.getMessage()
