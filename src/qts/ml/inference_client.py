"""A model server (`qts serve-models`) used like an in-process engine: `RemoteEngine(url)`.

Strategy workers pointed at a server by `QTS_INFERENCE_URL` bind `LiveModelAccess` to a
`RemoteEngine`: the version's description comes from `GET /v1/models/{ref}`, the history's
scores at session start from `POST /v1/score_history`, and each bar's newest scores from
`POST /v1/predict` (the server computes the features from the bars sent, as `BarStep` does in
process, and micro-batches concurrent requests into one model call). Bars travel as epoch
milliseconds and float columns; JSON keeps every float exactly, so the scores are the ones the
in-process engine would give.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from qts.core.errors import ConfigurationError, NotFoundError, QtsError, ValidationError
from qts.ml.inference import LoadedModel, Prediction, Signal
from qts.ml.recipe import ModelRecipe

BAR_COLUMNS = ("open", "high", "low", "close", "volume")
TAIL_BARS = 512  # bars of each symbol sent per prediction: enough for the tail calibration


def encode_bars(bars: Mapping[str, pd.DataFrame], tail: int | None = None) -> dict[str, Any]:
    out = {}
    for symbol, frame in bars.items():
        part = frame if tail is None else frame.iloc[-tail:]
        index = pd.DatetimeIndex(part.index)
        index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        out[symbol] = {"ts": (index.asi8 // 1_000_000).tolist(),
                       **{c: part[c].astype(float).tolist() for c in BAR_COLUMNS}}  # fmt: skip
    return out


def decode_bars(data: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, pd.DataFrame]:
    out = {}
    for symbol, cols in data.items():
        try:
            index = pd.DatetimeIndex(pd.to_datetime(cols["ts"], unit="ms", utc=True), name="ts")
            frame = pd.DataFrame({c: np.asarray(cols[c], np.float64) for c in BAR_COLUMNS},
                                 index=index)  # fmt: skip
        except (KeyError, ValueError, TypeError) as exc:
            raise ValidationError(f"bars of {symbol}: {exc}") from exc
        if not index.is_monotonic_increasing or index.has_duplicates:
            raise ValidationError(f"bars of {symbol}: times must increase")
        out[str(symbol)] = frame
    return out


@dataclass
class RemoteModel:
    """Stands in for the model on the worker side: the server holds the weights."""

    is_classifier: bool


@dataclass
class RemoteEngine:
    """The engine interface `LiveModelAccess` uses, answered by a model server."""

    url: str
    timeout: float = 30.0
    token: str | None = field(default=None, repr=False)
    _client: Any = field(default=None, repr=False)

    @property
    def client(self) -> Any:
        if self._client is None:
            import httpx

            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            self._client = httpx.Client(
                base_url=self.url.rstrip("/"), timeout=self.timeout, headers=headers
            )
        return self._client

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ConfigurationError(
                f"model server {self.url} unreachable ({type(exc).__name__})"
            ) from None
        if response.status_code == 404:
            raise NotFoundError(response.json().get("error", {}).get("message", path))
        if response.status_code >= 400:
            raise QtsError(f"model server: HTTP {response.status_code} {response.text[:300]}")
        return response.json()

    def load(self, ref: str | Any) -> LoadedModel:
        data = self._call("GET", f"/v1/models/{ref}")
        recipe = ModelRecipe.from_dict(data["recipe"])
        model = RemoteModel(bool(data["is_classifier"]))
        return LoadedModel(data["model"], data["model_version"], cast(Any, model), recipe)

    def score_history(
        self, ref: str | LoadedModel, bars: Mapping[str, pd.DataFrame], after_window: bool = True
    ) -> pd.DataFrame:
        model = str(ref) if not isinstance(ref, LoadedModel) else f"{ref.name}/{ref.version}"
        body = {"model": model, "bars": encode_bars(bars), "after_window": after_window}
        data = self._call("POST", "/v1/score_history", json=body)
        index = pd.to_datetime(data["ts"], unit="ms", utc=True)
        values = np.array(data["values"], dtype=np.float64).reshape(len(index), len(bars))
        frame = pd.DataFrame(values, index=index, columns=list(bars))
        first = next(iter(bars.values())).index
        if first.tz is None:
            frame.index = frame.index.tz_localize(None)
        return frame

    def feature_frames(self, loaded: LoadedModel, bars: Any) -> Any:
        raise ConfigurationError("feature frames are not served by a model server: run the "
                                 "strategy with the in-process engine (unset QTS_INFERENCE_URL)")  # fmt: skip

    def bar_step(self, loaded: LoadedModel) -> RemoteStep:
        return RemoteStep(self, loaded)


@dataclass
class RemoteStep:
    """`BarStep.predict` answered by the server: the newest bar of each symbol scored."""

    engine: RemoteEngine
    loaded: LoadedModel

    def predict(self, bars: Mapping[str, pd.DataFrame]) -> list[Prediction]:
        body = {"model": f"{self.loaded.name}/{self.loaded.version}",
                "bars": encode_bars(bars, TAIL_BARS)}  # fmt: skip
        data = self.engine._call("POST", "/v1/predict", json=body)
        out = []
        for p in data["predictions"]:
            ts = bars[p["symbol"]].index[-1]  # the caller's own timestamp (and time zone)
            s = p["signal"]
            signal = Signal(int(s["direction"]), _nan(s["confidence"]), s["expected_return"])
            out.append(Prediction(p["model"], p["version"], p["symbol"], pd.Timestamp(ts),
                                  float(p["value"]), int(p["horizon"]), float(p["latency_ms"]),
                                  signal))  # fmt: skip
        return out


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)
