import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { LineChart, toUnix } from "../components/charts";
import { Card, ErrorText, Loading } from "../components/ui";
import { formatNumber, formatPercent, formatTime, pnlClass } from "../format";
import { useLiveInvalidate } from "../hooks";
import { useI18n } from "../i18n";
import { useDatasets } from "./catalog";
import { useModels } from "./ml";
import { PredictNow } from "./PredictNow";

export default function PredictionsPage() {
  const { t, locale } = useI18n();
  const models = useModels();
  const datasets = useDatasets();
  const [model, setModel] = useState("");
  const [symbol, setSymbol] = useState("");
  useLiveInvalidate("predictions:*", [["predictions"]]);
  const preds = useQuery({
    queryKey: ["predictions", "list", model, symbol],
    queryFn: () =>
      unwrap(api.GET("/api/v1/ml/predictions", { params: { query: { limit: 1000, ...(model ? { model } : {}), ...(symbol ? { symbol } : {}) } } })),
  });
  const ds = datasets.data?.find((d) => d.symbol === symbol);
  const bars = useQuery({
    queryKey: ["bars", "closes", symbol],
    enabled: !!ds,
    queryFn: () =>
      unwrap(api.GET("/api/v1/market/bars", { params: { query: { symbol, timeframe: ds!.timeframe, limit: 10000, offset: Math.max(0, ds!.bars - 10000) } } })),
  });
  // Realised return of the bar after each prediction: close(next) / close(at) - 1.
  const realised = useMemo(() => {
    const items = (bars.data as { items?: { ts: string; close: number }[] } | undefined)?.items ?? [];
    const map = new Map<number, number>();
    for (let i = 0; i + 1 < items.length; i++) map.set(toUnix(items[i].ts), items[i + 1].close / items[i].close - 1);
    return map;
  }, [bars.data]);
  const rows = preds.data ?? [];
  const series = useMemo(() => {
    if (!symbol) return [];
    const p = rows.filter((r) => r.symbol === symbol).sort((a, b) => a.ts.localeCompare(b.ts));
    return [
      { name: t("score"), color: "#8e44ad", data: p.map((r) => ({ time: toUnix(r.ts), value: r.value })) },
      { name: t("realised"), color: "#9aa5b1", data: p.filter((r) => realised.has(toUnix(r.ts))).map((r) => ({ time: toUnix(r.ts), value: realised.get(toUnix(r.ts))! })) },
    ];
  }, [rows, symbol, realised, t]);
  return (
    <>
      <h1>{t("predictions")}</h1>
      <PredictNow />
      <div className="form-grid">
        <div className="field">
          <label htmlFor="p-model">{t("model")}</label>
          <select id="p-model" value={model} onChange={(e) => setModel(e.target.value)}>
            <option value="">{t("all")}</option>
            {(models.data ?? []).map((m) => (
              <option key={m.name}>{m.name}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="p-symbol">{t("symbol")}</label>
          <select id="p-symbol" value={symbol} onChange={(e) => setSymbol(e.target.value)}>
            <option value="">{t("all")}</option>
            {[...new Set((datasets.data ?? []).map((d) => d.symbol))].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
      </div>
      {symbol && series[0].data.length > 0 && (
        <Card title={`${symbol}: ${t("score")} / ${t("realised")}`} id="pred-chart-title">
          <LineChart series={series} label={t("predictions")} precision={4} />
        </Card>
      )}
      <Card title={t("predictions")} id="pred-title">
        {preds.isLoading && <Loading />}
        <ErrorText error={preds.error} />
        {!preds.isLoading && !rows.length && <p className="muted">{t("none")}</p>}
        {rows.length > 0 && (
          <div className="table-wrap scroll-y" tabIndex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("time")}</th>
                  <th scope="col">{t("model")}</th>
                  <th scope="col">{t("symbol")}</th>
                  <th scope="col">{t("score")}</th>
                  <th scope="col">{t("horizon")}</th>
                  <th scope="col">{t("realised")}</th>
                </tr>
              </thead>
              <tbody>
                {rows.slice(0, 300).map((r, i) => {
                  const real = realised.get(toUnix(r.ts));
                  return (
                    <tr key={i} data-testid="prediction-row">
                      <td>{formatTime(r.ts, locale)}</td>
                      <td>
                        {r.model} v{r.version}
                      </td>
                      <td>{r.symbol}</td>
                      <td className="num">{formatNumber(r.value, locale, 5)}</td>
                      <td className="num">{r.horizon}</td>
                      <td className={`num ${pnlClass(real)}`}>{formatPercent(real, locale)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </>
  );
}
