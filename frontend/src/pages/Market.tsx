import { useEffect, useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import type { SeriesMarker, Time } from "lightweight-charts";
import { api, unwrap } from "../api/client";
import { CandleChart, toUnix, type Candle } from "../components/charts";
import { Card, ErrorText, Loading } from "../components/ui";
import { currencyOf, formatDate, formatNumber } from "../format";
import { useLive } from "../hooks";
import { useI18n } from "../i18n";
import { useDatasets } from "./catalog";
import { NewsCard } from "./MarketNews";

const SHOWN_BARS = 1500;

export default function MarketPage() {
  const { t, locale } = useI18n();
  const datasets = useDatasets();
  const [pick, setPick] = useState<{ symbol: string; timeframe: string; exchange: string } | null>(null);
  useEffect(() => {
    if (!pick && datasets.data?.length) {
      const d = datasets.data[0];
      setPick({ symbol: d.symbol, timeframe: d.timeframe, exchange: d.exchange });
    }
  }, [datasets.data, pick]);
  const ds = datasets.data?.find((d) => pick && d.symbol === pick.symbol && d.timeframe === pick.timeframe && d.exchange === pick.exchange);
  const symbols = [...new Set((datasets.data ?? []).map((d) => d.symbol))];
  const timeframes = (datasets.data ?? []).filter((d) => d.symbol === pick?.symbol).map((d) => d.timeframe);
  return (
    <>
      <h1>{t("market")}</h1>
      <div className="form-grid">
        <div className="field">
          <label htmlFor="m-symbol">{t("symbol")}</label>
          <select
            id="m-symbol"
            value={pick?.symbol ?? ""}
            onChange={(e) => {
              const d = datasets.data!.find((x) => x.symbol === e.target.value)!;
              setPick({ symbol: d.symbol, timeframe: d.timeframe, exchange: d.exchange });
            }}
          >
            {symbols.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="m-tf">{t("timeframe")}</label>
          <select id="m-tf" value={pick?.timeframe ?? ""} onChange={(e) => pick && setPick({ ...pick, timeframe: e.target.value })}>
            {timeframes.map((x) => (
              <option key={x}>{x}</option>
            ))}
          </select>
        </div>
      </div>
      {pick && ds && <PriceChart symbol={pick.symbol} timeframe={pick.timeframe} exchange={pick.exchange} bars={ds.bars} />}
      {pick && <NewsCard symbol={pick.symbol} />}
      <Card title={t("datasets")} id="ds-title">
        {datasets.isLoading && <Loading />}
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">exchange</th>
                <th scope="col">{t("symbol")}</th>
                <th scope="col">{t("timeframe")}</th>
                <th scope="col">{t("bars")}</th>
                <th scope="col">{t("first")}</th>
                <th scope="col">{t("last")}</th>
              </tr>
            </thead>
            <tbody>
              {(datasets.data ?? []).map((d) => (
                <tr key={`${d.exchange}-${d.symbol}-${d.timeframe}`} data-testid="dataset-row">
                  <td>{d.exchange}</td>
                  <td>
                    <button type="button" className="link" onClick={() => setPick({ symbol: d.symbol, timeframe: d.timeframe, exchange: d.exchange })}>
                      {d.symbol}
                    </button>
                  </td>
                  <td>{d.timeframe}</td>
                  <td className="num">{formatNumber(d.bars, locale, 0)}</td>
                  <td>{formatDate(d.first, locale)}</td>
                  <td>{formatDate(d.last, locale)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
    </>
  );
}

function PriceChart({ symbol, timeframe, exchange, bars }: { symbol: string; timeframe: string; exchange: string; bars: number }) {
  const { t } = useI18n();
  const [extra, setExtra] = useState<Candle[]>([]);
  const q = useQuery({
    queryKey: ["bars", exchange, symbol, timeframe],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/market/bars", {
          params: { query: { symbol, timeframe, exchange, limit: SHOWN_BARS, offset: Math.max(0, bars - SHOWN_BARS) } },
        }),
      ),
  });
  const fills = useQuery({
    queryKey: ["orders", "fills", symbol],
    queryFn: () => unwrap(api.GET("/api/v1/orders", { params: { query: { symbol, status: ["filled"], limit: 500 } } })),
  });
  const preds = useQuery({
    queryKey: ["predictions", symbol],
    queryFn: () => unwrap(api.GET("/api/v1/ml/predictions", { params: { query: { symbol, limit: 2000 } } })),
  });
  useLive(`bars:${symbol}`, (e) => {
    const b = e.data as { ts?: string; open?: number; high?: number; low?: number; close?: number; volume?: number; timeframe?: string };
    if (!b.ts || b.open === undefined || (b.timeframe && b.timeframe !== timeframe)) return;
    setExtra((x) => [...x, { time: toUnix(b.ts!), open: b.open!, high: b.high!, low: b.low!, close: b.close!, volume: b.volume }]);
  });
  const candles = useMemo(() => {
    const items = (q.data as { items?: { ts: string; open: number; high: number; low: number; close: number; volume: number }[] } | undefined)?.items ?? [];
    const base = items.map((b) => ({ time: toUnix(b.ts), open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume }));
    const last = base.at(-1)?.time ?? 0;
    return [...base, ...extra.filter((c) => c.time > last)];
  }, [q.data, extra]);
  const markers = useMemo<SeriesMarker<Time>[]>(() => {
    const start = candles[0]?.time ?? 0;
    const out: SeriesMarker<Time>[] = [];
    for (const o of fills.data?.items ?? []) {
      // A fill lands on the bar it was decided on: the order's bar time is in its id when present.
      const ms = Number(o.client_order_id.split("-").at(-1));
      const time = Number.isFinite(ms) && ms > 1e11 ? Math.floor(ms / 1000) : toUnix(o.created_at);
      if (time < start) continue;
      out.push({
        time: time as Time,
        position: o.side === "buy" ? "belowBar" : "aboveBar",
        color: o.side === "buy" ? "#d64545" : "#2f6fd6",
        shape: o.side === "buy" ? "arrowUp" : "arrowDown",
        text: o.side,
      });
    }
    return out;
  }, [fills.data, candles]);
  const overlays = useMemo(() => {
    const p = (preds.data ?? []).filter((x) => Number.isFinite(x.value)).sort((a, b) => a.ts.localeCompare(b.ts));
    if (!p.length) return [];
    return [{ name: t("score"), color: "#8e44ad", data: p.map((x) => ({ time: toUnix(x.ts), value: x.value })) }];
  }, [preds.data, t]);
  if (q.isLoading) return <Loading />;
  return (
    <Card title={`${symbol} · ${timeframe}`} id="price-title">
      <ErrorText error={q.error} />
      <CandleChart candles={candles} markers={markers} overlays={overlays} label={`${symbol} ${timeframe}`} precision={currencyOf(symbol, exchange) === "KRW" ? 0 : 2} />
      <p className="muted small">
        {t("trades")}: {markers.length} · {t("predictions")}: {preds.data?.length ?? 0}
      </p>
    </Card>
  );
}
