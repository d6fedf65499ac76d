import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { LineChart, timeLine } from "../components/charts";
import { Card, ErrorText, Loading } from "../components/ui";
import { formatNumber, formatPercent, pnlClass } from "../format";
import { useI18n } from "../i18n";
import { metricGroup, useModels } from "./ml";

const COLORS = ["#2f6fd6", "#e08a1e", "#2e9e5b", "#8e44ad", "#d64545"];

export default function PerformancePage() {
  const { t, locale } = useI18n();
  const models = useModels();
  const [name, setName] = useState<string>("");
  const model = models.data?.find((m) => m.name === name) ?? models.data?.[0];
  const ic = useQuery({
    queryKey: ["ic", model?.name],
    enabled: !!model,
    queryFn: () => unwrap(api.GET("/api/v1/ml/models/{name}/ic", { params: { path: { name: model!.name } } })),
  });
  // Each version's walk-forward folds (at the end of each test block), newest versions first,
  // and the evaluation job's runs of the served version.
  const series = useMemo(() => {
    const d = ic.data;
    if (!d) return [];
    const versions = [...d.versions].sort((a, b) => b.version - a.version).slice(0, 4);
    const out = versions.map((v, i) => ({
      name: `v${v.version} IC`,
      color: COLORS[i % COLORS.length],
      data: timeLine(d.points.filter((p) => p.version === v.version), (p) => p.end ?? p.start, (p) => p.ic),
    }));
    const evals = timeLine(d.evaluations, (p) => p.end ?? p.start, (p) => p.ic);
    if (evals.length) out.push({ name: "evaluation IC", color: COLORS[4], data: evals });
    return out.filter((s) => s.data.length > 0);
  }, [ic.data]);
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
            <ErrorText error={ic.error} />
            {ic.data && !series.length && <p className="muted">{t("none")}</p>}
            {series.length > 0 && <LineChart label={t("icOverTime")} precision={4} series={series} />}
            {ic.data && ic.data.versions.length > 0 && (
              <p className="small" data-testid="ic-versions">
                {ic.data.versions.map((v) => `v${v.version}${v.aliases.length ? ` (${v.aliases.join(", ")})` : ""}: ${t("meanIc")} ${formatNumber(v.mean_ic, locale, 4)} · ${v.folds} ${t("folds")}`).join(" | ")}
              </p>
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
