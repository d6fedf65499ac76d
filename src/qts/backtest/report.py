"""Self-contained HTML report: inline SVG charts (equity, drawdown, price with trades) and tables.

No scripts or network resources: the file renders offline in any browser.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from qts.backtest.result import BacktestResult

_W, _H, _PAD = 960, 260, 48
_MAX_POINTS = 1500
_MAX_MARKERS = 400


def _thin(series: pd.Series) -> pd.Series:
    if len(series) <= _MAX_POINTS:
        return series
    step = int(np.ceil(len(series) / _MAX_POINTS))
    return series.iloc[np.unique(np.r_[np.arange(0, len(series), step), len(series) - 1])]


class _Axes:
    def __init__(self, index: pd.DatetimeIndex, lo: float, hi: float, height: int = _H) -> None:
        self.t0 = index[0].value
        self.t1 = max(index[-1].value, self.t0 + 1)
        self.lo, self.hi = lo, hi if hi > lo else lo + 1.0
        self.height = height

    def x(self, ts: pd.Timestamp) -> float:
        return _PAD + (ts.value - self.t0) / (self.t1 - self.t0) * (_W - 2 * _PAD)

    def y(self, v: float) -> float:
        return self.height - _PAD / 2 - (v - self.lo) / (self.hi - self.lo) * (self.height - _PAD)


def _polyline(series: pd.Series, axes: _Axes, color: str, width: float = 1.5) -> str:
    pts = " ".join(
        f"{axes.x(ts):.1f},{axes.y(v):.1f}"
        for ts, v in zip(series.index, series.to_numpy(), strict=True)
        if np.isfinite(v)
    )
    return f'<polyline fill="none" stroke="{color}" stroke-width="{width}" points="{pts}"/>'


def _frame(axes: _Axes, title: str, fmt: str = "{:,.2f}") -> str:
    parts = [f'<text x="{_PAD}" y="16" class="t">{html.escape(title)}</text>']
    for frac in (0.0, 0.5, 1.0):
        v = axes.lo + frac * (axes.hi - axes.lo)
        y = axes.y(v)
        parts.append(f'<line x1="{_PAD}" x2="{_W - _PAD}" y1="{y:.1f}" y2="{y:.1f}" class="g"/>')
        parts.append(f'<text x="2" y="{y + 4:.1f}" class="a">{html.escape(fmt.format(v))}</text>')
    return "".join(parts)


def _svg(body: str, height: int = _H) -> str:
    return f'<svg viewBox="0 0 {_W} {height}" width="100%" role="img">{body}</svg>'


def equity_svg(result: BacktestResult) -> str:
    eq, bench = _thin(result.equity), _thin(result.benchmark)
    values = np.r_[eq.to_numpy(), bench.to_numpy()]
    axes = _Axes(eq.index, float(np.nanmin(values)), float(np.nanmax(values)))
    return _svg(
        _frame(axes, "Equity (blue) vs buy-and-hold (grey)")
        + _polyline(bench, axes, "#999")
        + _polyline(eq, axes, "#1f5fbf", 2)
    )


def drawdown_svg(result: BacktestResult) -> str:
    dd = _thin(result.drawdown) * 100
    axes = _Axes(dd.index, float(min(dd.min(), -0.01)), 0.0, 180)
    return _svg(_frame(axes, "Drawdown (%)", "{:.1f}%") + _polyline(dd, axes, "#c0392b"), 180)


def price_svg(result: BacktestResult, symbol: str) -> str:
    close = _thin(result.prices[symbol].dropna())
    if close.empty:
        return ""
    axes = _Axes(close.index, float(close.min()), float(close.max()))
    marks = []
    trades = result.trades[result.trades["symbol"] == symbol].head(_MAX_MARKERS)
    for tr in trades.itertuples(index=False):
        color = "#1e8e3e" if tr.side == "long" else "#c0392b"
        x, y = axes.x(tr.entry_time), axes.y(tr.entry_price)
        marks.append(
            f'<path d="M{x:.1f},{y - 7:.1f} l5,9 h-10 z" fill="{color}">'
            f"<title>{tr.side} entry {tr.entry_time} @ {tr.entry_price:.4g}</title></path>"
        )
        if tr.status == "closed":
            x, y = axes.x(tr.exit_time), axes.y(tr.exit_price)
            marks.append(
                f'<path d="M{x:.1f},{y + 7:.1f} l5,-9 h-10 z" fill="#333">'
                f"<title>exit {tr.exit_time} @ {tr.exit_price:.4g}, "
                f"pnl {tr.pnl:,.2f}</title></path>"
            )
    title = f"{symbol} close with trades (▲ entry, ▼ exit)"
    return _svg(_frame(axes, title) + _polyline(close, axes, "#444", 1.2) + "".join(marks))


def _fmt(key: str, value: object) -> str:
    if isinstance(value, float):
        if not np.isfinite(value):
            return "—"
        pct = ("return", "cagr", "drawdown", "volatility", "win_rate", "exposure", "alpha")
        if any(p in key for p in pct) and "duration" not in key:
            return f"{value * 100:,.2f}%"
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return html.escape(str(value))


def render_html(result: BacktestResult) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_fmt(k, v)}</td></tr>"
        for k, v in result.metrics.items()
    )
    trade_rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(v))}</td>"
            for v in (
                t.symbol,
                t.side,
                f"{t.size:g}",
                t.entry_time,
                f"{t.entry_price:.6g}",
                t.exit_time,
                f"{t.exit_price:.6g}",
                f"{t.pnl:,.2f}",
                f"{t.fees:,.2f}",
                t.status,
            )
        )
        + "</tr>"
        for t in result.trades.head(1000).itertuples(index=False)
    )
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    charts = (
        equity_svg(result)
        + drawdown_svg(result)
        + "".join(price_svg(result, s) for s in result.symbols[:10])
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>qts backtest: {html.escape(result.strategy)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}}
table{{border-collapse:collapse;font-size:13px}}
td,th{{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}} th{{font-weight:600}}
svg{{margin:8px 0;background:#fcfcfc}}
.t{{font-size:13px;font-weight:600}} .a{{font-size:10px;fill:#666}} .g{{stroke:#e4e4e4}}
.cols{{display:flex;gap:32px;flex-wrap:wrap}}
</style></head><body>
<h1>{html.escape(result.strategy)} <small>({html.escape(params)})</small></h1>
<p>Symbols: {html.escape(", ".join(result.symbols))} &middot; {result.equity.index[0]} &rarr;
{result.equity.index[-1]} &middot; fills at {html.escape(result.config.fill_at)}</p>
{charts}
<div class="cols"><div><h2>Metrics</h2><table>{rows}</table></div></div>
<h2>Trades ({len(result.trades)})</h2>
<table><tr><th>symbol</th><th>side</th><th>size</th><th>entry</th><th>price</th><th>exit</th>
<th>price</th><th>pnl</th><th>fees</th><th>status</th></tr>{trade_rows}</table>
</body></html>
"""


def write_html_report(result: BacktestResult, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(result), encoding="utf-8")
    return target
