import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { optionalGet } from "../api/client";
import { LineChart, toUnix } from "../components/charts";
import { Card, Loading, NotAvailable } from "../components/ui";
import { formatNumber, formatPercent, pnlClass } from "../format";
import { useI18n } from "../i18n";
import { metricGroup, useModels } from "./ml";

interface IcPoint {
  ts: string;
  ic: number;
  rank_ic?: number;
}

export default function PerformancePage() {
  const { t, locale } = useI18n();
  const models = useModels();
  const [name, setName] = useState<string>("");
  const model = models.data?.find((m) => m.name === name) ?? models.data?.[0];
  const ic = useQuery({
    queryKey: ["ic", model?.name],
    enabled: !!model,
    queryFn: () => optionalGet<{ points?: IcPoint[] } | IcPoint[]>(`/api/v1/ml/models/${encodeURIComponent(model!.name)}/ic`),
  });
  const points = Array.isArray(ic.data) ? ic.data : (ic.data?.points ?? []);
  return (
    <>
      <h1>{t("performance")}</h1>
      {models.isLoading && <Loading />}
      {models.data && !models.data.length && <p className="muted">{t("none")}</p>}
      {model && (
        <>
          <div className="field">
            <label htmlFor="perf-model">{t("model")}</label>
            <select id="perf-model" value={model.name} onChange={(e) => setName(e.target.value)}>
              {models.data!.map((m) => (
                <option key={m.name}>{m.name}</option>
              ))}
            </select>
          </div>
          <Card title={t("icOverTime")} id="ic-title">
            {ic.isLoading && <Loading />}
            {ic.data === null && <NotAvailable />}
            {points.length > 0 && (
              <LineChart
                label={t("icOverTime")}
                precision={4}
                series={[
                  { name: "IC", color: "#2f6fd6", data: points.map((p) => ({ time: toUnix(p.ts), value: p.ic })) },
                  ...(points.some((p) => p.rank_ic != null)
                    ? [{ name: "Rank IC", color: "#e08a1e", data: points.map((p) => ({ time: toUnix(p.ts), value: p.rank_ic ?? 0 })) }]
                    : []),
                ]}
              />
            )}
          </Card>
          <Card title={`${t("oosIc")} · ${t("modelVsBuyHold")}`} id="perf-title">
            <div className="table-wrap" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t("version")}</th>
                    <th scope="col">OOS IC</th>
                    <th scope="col">OOS Rank IC</th>
                    <th scope="col">{t("model")} return</th>
                    <th scope="col">buy &amp; hold return</th>
                    <th scope="col">{t("model")} sharpe</th>
                    <th scope="col">buy &amp; hold sharpe</th>
                    <th scope="col">max drawdown</th>
                  </tr>
                </thead>
                <tbody>
                  {model.versions.map((v) => {
                    const mdl = metricGroup(v.metrics, "model_");
                    const bh = metricGroup(v.metrics, "buy_and_hold_");
                    return (
                      <tr key={String(v.version)} data-testid="perf-row">
                        <td>v{String(v.version)}</td>
                        <td className="num">{formatNumber(v.metrics.oos_ts_corr ?? v.metrics.oos_pooled_corr, locale, 4)}</td>
                        <td className="num">{formatNumber(v.metrics.oos_ts_rank_corr, locale, 4)}</td>
                        <td className={`num ${pnlClass(mdl.total_return)}`}>{formatPercent(mdl.total_return, locale)}</td>
                        <td className={`num ${pnlClass(bh.total_return)}`}>{formatPercent(bh.total_return, locale)}</td>
                        <td className="num">{formatNumber(mdl.sharpe, locale)}</td>
                        <td className="num">{formatNumber(bh.sharpe, locale)}</td>
                        <td className="num">{formatPercent(mdl.max_drawdown, locale)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </Card>
        </>
      )}
    </>
  );
}
