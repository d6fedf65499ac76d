"""Technical features from TA-Lib plus Alpha158-style price/volume ratios.

Oscillators keep TA-Lib's own scales (RSI, ADX, CCI, Stochastic, MFI: 0-100 or ±); price-level
indicators are divided by the close so every column is comparable across symbols. All of them
are causal: row t uses bars up to t only.

Speed: TA-Lib outputs become columns as they are (no copy), derived ratios take one numpy pass
each and are written over an array computed here rather than into a new one (no allocation, no
fresh pages to fault in on large inputs), and denominators are arranged so a zero gives 0/0 = NaN rather than inf, which spares a
clean-up pass (volume, the one input that may be 0 alone, is replaced by NaN where it is 0).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import talib

from .context import FeatureContext
from .definition import FeatureDefinition

DEFAULT_PARAMS: dict[str, Any] = {
    "return_horizons": [1, 2, 3, 5, 10, 20, 60],
    "sma_windows": [5, 10, 20, 60],
    "ema_windows": [12, 26],
    "rsi_windows": [6, 14, 24],
    "alpha_windows": [5, 20, 60],
    "vol_windows": [5, 20, 60],
}

FIXED_COLUMNS = (
    "sma5_sma20", "sma20_sma60", "macd", "macd_signal", "macd_hist", "bb_pos_20", "bb_width_20",
    "natr_5", "natr_14", "adx_14", "plus_di_14", "minus_di_14", "cci_14", "cci_20", "stoch_k",
    "stoch_d", "willr_14", "ultosc", "mfi_14", "obv_flow_10", "obv_z_20", "roc_12", "roc_25",
    "parkinson_20", "vol_ratio_5", "vol_ratio_20", "vol_sma5_sma20",
)  # fmt: skip
# Alpha158 k-line shape: close/open, high/low, body/range, high/top, bottom/low, wicks/range.
CANDLE_COLUMNS = ("kmid", "klen", "kmid2", "kup", "kup2", "klow", "klow2", "kpos")
ALPHA_PER_WINDOW = (
    "std", "beta", "rsqr", "linreg", "max", "min", "rsv", "aroon_up", "aroon_down", "imxd",
    "corr", "cord", "cntp", "cntd", "sump", "vma", "vstd", "wvma", "vsump",
)  # fmt: skip


def technical_columns(params: dict[str, Any]) -> tuple[str, ...]:
    cols: list[str] = [f"ret_{h}" for h in params["return_horizons"]]
    cols += [f"close_sma_{w}" for w in params["sma_windows"]]
    cols += [f"close_ema_{w}" for w in params["ema_windows"]]
    cols += [f"rsi_{w}" for w in params["rsi_windows"]]
    cols += [f"rvol_{w}" for w in params["vol_windows"]]
    cols += list(FIXED_COLUMNS)
    cols += list(CANDLE_COLUMNS)
    cols += [f"{name}_{w}" for w in params["alpha_windows"] for name in ALPHA_PER_WINDOW]
    return tuple(cols)


@lru_cache(maxsize=32)
def _column_index(columns: tuple[str, ...]) -> pd.Index:
    return pd.Index(columns)


def _lagged_diff(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    out[0] = np.nan
    np.subtract(x[1:], x[:-1], out=out[1:])
    return out


class ColumnSink:
    """Where the columns go, in order. With a block (small inputs) each column is written
    straight into its row of the frame's own (columns, rows) array: derived columns are
    computed there, TA-Lib outputs copied in, and no stacking copy follows. Without one (large
    inputs) the arrays themselves are the columns: TA-Lib outputs as they are, derived columns
    written over a scratch array (`into`) or a new one. Same ufuncs either way, same values."""

    def __init__(self, block: np.ndarray | None = None) -> None:
        self.block = block
        self.columns: list[np.ndarray] = []

    def put(self, x: np.ndarray) -> None:
        if self.block is not None:
            self.block[len(self.columns)] = x
            x = self.block[len(self.columns)]
        self.columns.append(x)

    def ufunc(self, fn: np.ufunc, *args: np.ndarray, into: np.ndarray | None = None) -> None:
        """Put `fn(*args)`; `into` is an array of ours that may be overwritten (else a new one
        is made when there is no block)."""
        out = self.block[len(self.columns)] if self.block is not None else into
        self.columns.append(fn(*args, out=out))


def technical_arrays(
    o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray, p: dict[str, Any]
) -> list[np.ndarray]:
    """The columns of `technical_columns(p)`, in order, as float64 arrays."""
    sink = ColumnSink()
    fill_technical(sink, o, h, lo, c, v, p)
    return sink.columns


def fill_technical(
    sink: ColumnSink,
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    p: dict[str, Any],
) -> None:
    inv_c = 1.0 / c
    _trend_and_oscillators(sink, h, lo, c, v, p, inv_c)
    _candles(sink, o, h, lo, c)
    _alpha_windows(sink, h, lo, c, v, p, inv_c)


def _trend_and_oscillators(
    sink: ColumnSink,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    p: dict[str, Any],
    inv_c: np.ndarray,
) -> None:
    put, ufunc = sink.put, sink.ufunc
    for hz in p["return_horizons"]:
        put(talib.ROCP(c, timeperiod=hz))
    smas = {w: talib.SMA(c, timeperiod=w) for w in sorted({*p["sma_windows"], 5, 20, 60})}
    for w in p["sma_windows"]:
        ufunc(np.divide, c, smas[w])
    for w in p["ema_windows"]:
        ema = talib.EMA(c, timeperiod=w)
        ufunc(np.divide, c, ema, into=ema)
    for w in p["rsi_windows"]:
        put(talib.RSI(c, timeperiod=w))
    logret = _lagged_diff(np.log(c))
    for w in p["vol_windows"]:
        put(talib.STDDEV(logret, timeperiod=w, nbdev=1.0))

    ufunc(np.divide, smas[5], smas[20])
    ufunc(np.divide, smas[20], smas[60])
    macd, signal, hist = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    ufunc(np.multiply, macd, inv_c, into=macd)
    ufunc(np.multiply, signal, inv_c, into=signal)
    ufunc(np.multiply, hist, inv_c, into=hist)
    upper, middle, lower = talib.BBANDS(c, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
    band = np.subtract(upper, lower, out=upper)
    ufunc(np.divide, np.subtract(c, lower, out=lower), band, into=lower)
    ufunc(np.divide, band, middle, into=band)
    put(talib.NATR(h, lo, c, timeperiod=5))
    put(talib.NATR(h, lo, c, timeperiod=14))
    put(talib.ADX(h, lo, c, timeperiod=14))
    put(talib.PLUS_DI(h, lo, c, timeperiod=14))
    put(talib.MINUS_DI(h, lo, c, timeperiod=14))
    put(talib.CCI(h, lo, c, timeperiod=14))
    put(talib.CCI(h, lo, c, timeperiod=20))
    slowk, slowd = talib.STOCH(h, lo, c, fastk_period=14, slowk_period=3, slowd_period=3)
    put(slowk)
    put(slowd)
    put(talib.WILLR(h, lo, c, timeperiod=14))
    put(talib.ULTOSC(h, lo, c))
    put(talib.MFI(h, lo, c, v, timeperiod=14))
    obv = talib.OBV(c, v)
    mom = talib.MOM(obv, timeperiod=10)
    ufunc(np.divide, mom, talib.SUM(v, timeperiod=10), into=mom)
    obv_dev = talib.SMA(obv, timeperiod=20)
    np.subtract(obv, obv_dev, out=obv_dev)
    ufunc(np.divide, obv_dev, talib.STDDEV(obv, timeperiod=20), into=obv_dev)
    put(talib.ROC(c, timeperiod=12))
    put(talib.ROC(c, timeperiod=25))
    loghl = np.log(h / lo)
    loghl *= loghl
    park = talib.SMA(loghl, timeperiod=20)
    park *= 1.0 / (4.0 * np.log(2.0))
    ufunc(np.sqrt, park, into=park)
    vsma5, vsma20 = talib.SMA(v, timeperiod=5), talib.SMA(v, timeperiod=20)
    ufunc(np.divide, v, vsma5)
    ufunc(np.divide, v, vsma20)
    ufunc(np.divide, vsma5, vsma20, into=vsma20)


def _candles(sink: ColumnSink, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> None:
    ufunc = sink.ufunc
    rng = h - lo
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    ufunc(np.divide, c, o)
    ufunc(np.divide, h, lo)
    body = c - o
    ufunc(np.divide, body, rng, into=body)
    ufunc(np.divide, h, top)
    ufunc(np.divide, np.subtract(h, top, out=top), rng, into=top)
    ufunc(np.divide, bottom, lo)
    ufunc(np.divide, np.subtract(bottom, lo, out=bottom), rng, into=bottom)
    close_low = c - lo
    ufunc(np.divide, close_low, rng, into=close_low)


def _alpha_windows(
    sink: ColumnSink,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    p: dict[str, Any],
    inv_c: np.ndarray,
) -> None:
    put, ufunc = sink.put, sink.ufunc
    n = len(c)
    t = np.arange(n, dtype=np.float64)
    logv = np.log1p(v)
    cratio = np.empty(n)
    cratio[0] = np.nan
    np.multiply(c[1:], inv_c[:-1], out=cratio[1:])
    dlogv = _lagged_diff(logv)
    dc = _lagged_diff(c)
    sign = np.sign(dc)
    up = np.maximum(sign, 0.0)  # NaN stays NaN at bar 0
    gain = np.maximum(dc, 0.0)
    absdc = np.abs(dc)
    dv = _lagged_diff(v)
    vgain = np.maximum(dv, 0.0)
    absdv = np.abs(dv)
    wv = np.abs(cratio - 1.0)
    wv *= v
    inv_v = 1.0 / np.where(v > 0, v, np.nan)  # x / volume is NaN, not inf, on zero-volume bars
    for w in p["alpha_windows"]:
        for x in (talib.STDDEV(c, timeperiod=w), talib.LINEARREG_SLOPE(c, timeperiod=w)):
            ufunc(np.multiply, x, inv_c, into=x)
        r = talib.CORREL(t, c, timeperiod=w)
        ufunc(np.multiply, r, r, into=r)
        for x in (
            talib.LINEARREG(c, timeperiod=w),
            talib.MAX(h, timeperiod=w),
            talib.MIN(lo, timeperiod=w),
        ):
            ufunc(np.multiply, x, inv_c, into=x)
        put(talib.STOCHF(h, lo, c, fastk_period=w, fastd_period=1)[0])
        aroon_down, aroon_up = talib.AROON(h, lo, timeperiod=w)
        put(aroon_up)
        put(aroon_down)
        put(talib.AROONOSC(h, lo, timeperiod=w))
        put(talib.CORREL(c, logv, timeperiod=w))
        put(talib.CORREL(cratio, dlogv, timeperiod=w))
        put(talib.SMA(up, timeperiod=w))
        put(talib.SMA(sign, timeperiod=w))
        x = talib.SUM(gain, timeperiod=w)
        ufunc(np.divide, x, talib.SUM(absdc, timeperiod=w), into=x)
        for x in (talib.SMA(v, timeperiod=w), talib.STDDEV(v, timeperiod=w)):
            ufunc(np.multiply, x, inv_v, into=x)
        x = talib.STDDEV(wv, timeperiod=w)
        ufunc(np.divide, x, talib.SMA(wv, timeperiod=w), into=x)
        x = talib.SUM(vgain, timeperiod=w)
        ufunc(np.divide, x, talib.SUM(absdv, timeperiod=w), into=x)


def _as_input(bars: pd.DataFrame, name: str) -> np.ndarray:
    return np.ascontiguousarray(bars[name].to_numpy(dtype=np.float64))


def compute_technical(bars: pd.DataFrame, ctx: FeatureContext, **params: Any) -> pd.DataFrame:
    p = {**DEFAULT_PARAMS, **params}
    columns = _column_index(technical_columns(p))
    if len(bars) == 0:
        return pd.DataFrame(np.empty((0, len(columns))), index=bars.index, columns=columns)
    o, h, lo, c, v = (_as_input(bars, k) for k in ("open", "high", "low", "close", "volume"))
    # Small frames: one (columns, rows) block, the layout pandas keeps, filled in place. Large
    # ones: one array per column, so no TA-Lib output is copied.
    block = np.empty((len(columns), len(bars))) if len(bars) < 50_000 else None
    sink = ColumnSink(block)
    with np.errstate(divide="ignore", invalid="ignore"):
        fill_technical(sink, o, h, lo, c, v, p)
    if block is None:
        return pd.DataFrame(
            dict(zip(columns, sink.columns, strict=True)), index=bars.index, copy=False
        )
    if len(sink.columns) != len(columns):
        raise AssertionError("technical columns and values are out of step")
    return pd.DataFrame(block.T, index=bars.index, columns=columns, copy=False)


TECHNICAL = FeatureDefinition(
    name="technical",
    fn=compute_technical,
    group="technical",
    params=DEFAULT_PARAMS,
    columns=technical_columns(DEFAULT_PARAMS),
    description="TA-Lib indicators (returns, MA ratios, RSI, MACD, Bollinger, ATR, ADX, CCI, "
    "Stochastic, MFI, OBV, ROC, realized volatility, volume ratios) and Alpha158-style features",
    helpers=(
        technical_columns,
        fill_technical,
        _trend_and_oscillators,
        _candles,
        _alpha_windows,
        _lagged_diff,
        ColumnSink,
    ),
)
