"""What an open MLflow training run logs: parameters (nested ones flattened), finite metrics
under MLflow-safe keys, per-epoch curves, figures, dicts and tags."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class RunLogger:
    """What a training run logs while it is open."""

    client: Any
    run_id: str
    step: int = 0

    def log_params(self, params: dict[str, Any]) -> None:
        for key, value in _flat(params).items():
            self.client.log_param(self.run_id, key, str(value)[:6000])

    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        for key, value in metrics.items():
            if isinstance(value, int | float) and math.isfinite(float(value)):
                self.client.log_metric(self.run_id, _safe_key(key), float(value), step=step or 0)

    def epoch_callback(self, prefix: str = "") -> Any:
        """A trainer progress callback that logs every epoch's losses and metrics."""

        def log(epoch: int, losses: dict[str, float], metrics: dict[str, float]) -> None:
            self.log_metrics({f"{prefix}{k}": v for k, v in {**losses, **metrics}.items()}, epoch)

        return log

    def log_figure(self, figure: Any, name: str) -> None:
        self.client.log_figure(self.run_id, figure, name)

    def log_dict(self, data: dict[str, Any], name: str) -> None:
        self.client.log_dict(self.run_id, data, name)

    def set_tag(self, key: str, value: str) -> None:
        self.client.set_tag(self.run_id, key, value)


def _flat(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _safe_key(key: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-./ " else "_" for ch in key)
