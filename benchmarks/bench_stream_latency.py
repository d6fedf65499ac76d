"""Bar close -> order delay of a KRX paper session fed by the bar stream (fake KIS WebSocket),
in embedded mode (in-process bus and locks) and over Redis (scale-out `qts stream`), beside the
polling path it replaces (the `strategies` job, every 60 s: a bar waits half a minute on average).

    python benchmarks/bench_stream_latency.py --bars 60 [--redis redis://127.0.0.1:6379/15]

Each row is one run on the same bars, warmed the same way (the XKRX calendar and the strategy
imports are loaded before the first run). The delay is from the moment the fake sends the next
minute's first trade (which closes the bar) to the stored order's creation time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.execution.stream_trial import KIS_ENV, make_context, order_delays, stream_session
from tests.market.krx_minutes import krx_minute_bars

POLL_INTERVAL_S = 60.0


def run(bars: int, interval_s: float, redis_url: str | None) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        extra = {"redis_url": redis_url} if redis_url else {}
        if redis_url:
            os.environ["QTS_WORKERS_KEY_PREFIX"] = f"qts-bench-{Path(tmp).name}:"
        ctx = make_context(Path(tmp), **extra)
        try:
            sid, _stream, ws = stream_session(
                ctx, krx_minute_bars(bars, symbol_offset=140), interval_s
            )
            return order_delays(ctx, sid, ws)
        finally:
            ctx.close()


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=60)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between events")
    parser.add_argument("--redis", default=None, help="also run over this Redis")
    args = parser.parse_args(argv)
    os.environ.update(KIS_ENV)
    from qts.market.calendars import sessions

    sessions("XKRX", "2024-03-04", "2024-03-04")  # warm-up: the calendar loads once
    rows: list[dict[str, object]] = []
    paths = [("stream, embedded", None)] + ([("stream, Redis", args.redis)] if args.redis else [])
    for name, url in paths:
        delays = [d * 1000 for d in run(args.bars, args.interval, url)]
        rows.append({
            "path": name, "orders": len(delays),
            "mean_ms": statistics.fmean(delays) if delays else float("nan"),
            "max_ms": max(delays) if delays else float("nan"),
        })  # fmt: skip
    half = POLL_INTERVAL_S / 2 * 1000
    rows.append({"path": "polling job (60 s)", "orders": "-", "mean_ms": half, "max_ms": half * 2})
    print(f"{'path':<22}{'orders':>8}{'mean ms':>12}{'max ms':>12}")
    for r in rows:
        print(f"{r['path']:<22}{r['orders']!s:>8}{r['mean_ms']:>12.0f}{r['max_ms']:>12.0f}")
    return rows


if __name__ == "__main__":
    main()
