import { useEffect, useRef } from "react";
import {
  createChart,
  type IChartApi,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from "lightweight-charts";
import { useTheme } from "../theme";

export interface LinePoint {
  time: number | string;
  value: number;
}
export interface LineSpec {
  name: string;
  data: LinePoint[];
  color: string;
  area?: boolean;
}
export interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume?: number;
}

export const toUnix = (iso: string): UTCTimestamp => Math.floor(Date.parse(iso) / 1000) as UTCTimestamp;

/** Points at ISO times → one finite value per second, ascending (the chart refuses repeated or
 * unordered times); the last value given for a time wins. */
export function timeLine<T>(items: T[], ts: (x: T) => string | null, value: (x: T) => number | null | undefined): LinePoint[] {
  const by = new Map<number, number>();
  for (const x of items) {
    const time = ts(x);
    const v = value(x);
    if (time && v !== null && v !== undefined && Number.isFinite(v)) by.set(toUnix(time), v);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([time, v]) => ({ time, value: v }));
}

function baseOptions(dark: boolean, height: number) {
  return {
    height,
    autoSize: true,
    layout: {
      background: { color: dark ? "#15191f" : "#ffffff" },
      textColor: dark ? "#d5dbe3" : "#1f2933",
      fontFamily: "system-ui, sans-serif",
      attributionLogo: false,
    },
    grid: {
      vertLines: { color: dark ? "#242a33" : "#eef1f4" },
      horzLines: { color: dark ? "#242a33" : "#eef1f4" },
    },
    timeScale: { borderVisible: false },
    rightPriceScale: { borderVisible: false },
  };
}

function useChart(height: number, build: (chart: IChartApi) => void, deps: unknown[]) {
  const ref = useRef<HTMLDivElement>(null);
  const { dark } = useTheme();
  useEffect(() => {
    if (!ref.current) return;
    const chart = createChart(ref.current, baseOptions(dark, height));
    build(chart);
    chart.timeScale().fitContent();
    return () => chart.remove();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dark, height, ...deps]);
  return ref;
}

/** Line (or area) series on one time axis; times are unix seconds, or numbers for epochs. */
export function LineChart({ series, height = 260, label, precision, xLabel }: {
  series: LineSpec[];
  height?: number;
  label: string;
  precision?: number;
  /** The x values are steps (epochs), not times: label them "xLabel N". */
  xLabel?: string;
}) {
  const ref = useChart(
    height,
    (chart) => {
      if (xLabel) {
        chart.applyOptions({
          timeScale: { tickMarkFormatter: (t: Time) => String(t) },
          localization: { timeFormatter: (t: Time) => `${xLabel} ${String(t)}` },
        });
      }
      for (const s of series) {
        const opts = {
          color: s.color,
          lineWidth: 2 as const,
          title: s.name,
          priceFormat: precision === undefined ? undefined : { type: "price" as const, precision, minMove: 10 ** -precision },
        };
        const line = s.area
          ? chart.addAreaSeries({ ...opts, lineColor: s.color, topColor: `${s.color}55`, bottomColor: `${s.color}05` })
          : chart.addLineSeries(opts);
        line.setData(s.data.map((p) => ({ time: p.time as Time, value: p.value })));
      }
    },
    [series, precision, xLabel],
  );
  return (
    <figure className="chart" aria-label={label}>
      <div ref={ref} style={{ height }} data-testid="chart" />
      <figcaption className="legend">
        {series.map((s) => (
          <span key={s.name}>
            <i style={{ background: s.color }} aria-hidden="true" /> {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

export interface Overlay {
  name: string;
  color: string;
  data: LinePoint[];
}

/** Candles with volume below, trade markers and optional overlay lines on their own scale. */
export function CandleChart({ candles, markers, overlays = [], height = 420, label, precision = 2 }: {
  candles: Candle[];
  markers?: SeriesMarker<Time>[];
  overlays?: Overlay[];
  height?: number;
  label: string;
  precision?: number;
}) {
  const ref = useChart(
    height,
    (chart) => {
      const price = chart.addCandlestickSeries({
        upColor: "#d64545",
        downColor: "#2f6fd6",
        borderVisible: false,
        wickUpColor: "#d64545",
        wickDownColor: "#2f6fd6",
        priceFormat: { type: "price", precision, minMove: 10 ** -precision },
      });
      price.setData(candles.map((c) => ({ ...c, time: c.time as Time })));
      if (markers?.length) price.setMarkers([...markers].sort((a, b) => Number(a.time) - Number(b.time)));
      const volume = chart.addHistogramSeries({ priceScaleId: "vol", priceFormat: { type: "volume" }, color: "#8a94a6" });
      chart.priceScale("vol").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
      volume.setData(candles.map((c) => ({ time: c.time as Time, value: c.volume ?? 0 })));
      for (const o of overlays) {
        const s = chart.addLineSeries({
          color: o.color,
          lineWidth: 2,
          priceScaleId: "left",
          title: o.name,
          priceFormat: { type: "price", precision: 4, minMove: 0.0001 },
        });
        s.setData(o.data.map((p) => ({ time: p.time as Time, value: p.value })));
        chart.priceScale("left").applyOptions({ visible: true });
      }
    },
    [candles, markers, overlays, precision],
  );
  return (
    <figure className="chart" aria-label={label}>
      <div ref={ref} style={{ height }} data-testid="chart" />
    </figure>
  );
}

/** Horizontal bars for a ranked list (feature importance); plain HTML, no chart library. */
export function BarList({ items, label, format }: { items: { name: string; value: number }[]; label: string; format: (v: number) => string }) {
  const max = Math.max(...items.map((i) => Math.abs(i.value)), 1e-12);
  return (
    <figure className="bars" aria-label={label}>
      <ol>
        {items.map((i) => (
          <li key={i.name}>
            <span className="bar-name">{i.name}</span>
            <span className="bar-track">
              <span className="bar-fill" style={{ width: `${(Math.abs(i.value) / max) * 100}%` }} />
            </span>
            <span className="bar-value">{format(i.value)}</span>
          </li>
        ))}
      </ol>
    </figure>
  );
}
