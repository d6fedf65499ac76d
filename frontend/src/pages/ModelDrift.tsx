import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";
import { useAuth } from "../auth";
import { LineChart, timeLine } from "../components/charts";
import { Card, ErrorText, Loading, StatusBadge } from "../components/ui";
import { formatNumber, formatTime } from "../format";
import { useI18n } from "../i18n";
import { useModels } from "./ml";

type Check = Schemas["MonitoringRecord"];
/** Too few rows after the training window for a verdict: neither ok nor a breach. */
const verdict = (c: Check) => (c.breach ? "breach" : c.report.verdict === false ? "unknown" : "ok");

/** A model's drift checks: PSI / KS per feature and of the scores against the training
 * reference, realised IC after the training window, breaches; traders run a check now. */
export function ModelDrift() {
  const { t, locale } = useI18n();
  const { can } = useAuth();
  const qc = useQueryClient();
  const models = useModels();
  const [name, setName] = useState("");
  const model = models.data?.find((m) => m.name === name) ?? models.data?.[0];
  const checks = useQuery({
    queryKey: ["ml-monitoring", model?.name],
    enabled: !!model,
    queryFn: () => unwrap(api.GET("/api/v1/ml/models/{name}/monitoring", { params: { path: { name: model!.name }, query: { limit: 100 } } })),
  });
  const run = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/ml/models/{name}/monitoring", { params: { path: { name: model!.name } }, body: { alias: "production", retrain: false } })),
    onSettled: () => qc.invalidateQueries({ queryKey: ["ml-monitoring"] }),
  });
  const list = checks.data ?? [];
  const latest = list[0];
  const ic = timeLine(list, (c) => c.checked_at, (c) => c.ic);
  return (
    <Card title={`${t("drift")} · IC`} id="mon-drift-title">
      {models.isLoading && <Loading />}
      {models.data && !models.data.length && <p className="muted">{t("none")}</p>}
      {model && (
        <div className="form-grid">
          <div className="field">
            <label htmlFor="mon-model">{t("model")}</label>
            <select id="mon-model" value={model.name} onChange={(e) => setName(e.target.value)}>
              {models.data!.map((m) => (
                <option key={m.name}>{m.name}</option>
              ))}
            </select>
          </div>
        </div>
      )}
      {model && can("trader") && (
        <p>
          <button type="button" data-write="" disabled={run.isPending} onClick={() => run.mutate()}>
            {t("runCheck")} (production)
          </button>
        </p>
      )}
      <ErrorText error={run.error ?? checks.error} />
      {checks.isLoading && <Loading />}
      {checks.data && !list.length && <p className="muted">{t("none")}</p>}
      {latest && <LatestCheck check={latest} />}
      {ic.length > 1 && <LineChart series={[{ name: `${t("liveIc")}`, color: "#2f6fd6", data: ic }]} label={t("liveIc")} height={180} precision={4} />}
      {list.length > 0 && (
        <div className="table-wrap scroll-y" tabIndex={0}>
          <table>
            <caption className="sr-only">{t("history")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("checkedAt")}</th>
                <th scope="col">{t("version")}</th>
                <th scope="col">{t("rows")}</th>
                <th scope="col">{t("liveIc")}</th>
                <th scope="col">max PSI</th>
                <th scope="col">score PSI</th>
                <th scope="col">score KS</th>
                <th scope="col">{t("status")}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((c) => (
                <tr key={c.id} data-testid="drift-check-row">
                  <td>{formatTime(c.checked_at, locale)}</td>
                  <td>v{c.version}</td>
                  <td className="num">{c.rows}</td>
                  <td className="num">{formatNumber(c.ic, locale, 4)}</td>
                  <td className="num">{formatNumber(c.max_feature_psi, locale, 3)}</td>
                  <td className="num">{formatNumber(c.prediction_psi, locale, 3)}</td>
                  <td className="num">{formatNumber(c.prediction_ks, locale, 3)}</td>
                  <td>
                    <StatusBadge value={verdict(c)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function LatestCheck({ check }: { check: Check }) {
  const { t, locale } = useI18n();
  const features = Object.entries(check.report.features).sort((a, b) => (b[1].psi ?? 0) - (a[1].psi ?? 0));
  const breaches = check.report.breaches;
  const retrained = check.report.retraining;
  return (
    <>
      <p data-testid="drift-latest">
        <StatusBadge value={verdict(check)} /> v{check.version} · {formatTime(check.checked_at, locale)} · {t("liveIc")} ({check.ic_kind}):{" "}
        {formatNumber(check.ic, locale, 4)} · {check.rows} {t("rows")}
        {check.retraining_run_id && ` · ${t("retraining")} ${check.retraining_run_id.slice(0, 8)}`}
        {retrained?.status && ` (${retrained.status}${retrained.version ? ` → v${retrained.version}` : ""}${retrained.error ? `: ${retrained.error}` : ""})`}
      </p>
      {breaches.length > 0 && (
        <ul className="plain" aria-label={t("breaches")}>
          {breaches.map((b, i) => (
            <li key={i} className="neg">
              {b.column} · {b.metric} {formatNumber(b.value, locale, 4)} (≥ {formatNumber(b.threshold, locale, 4)})
            </li>
          ))}
        </ul>
      )}
      {features.length > 0 && (
        <details>
          <summary>
            PSI / KS · {features.length} {t("features")}
          </summary>
          <div className="table-wrap scroll-y" tabIndex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("features")}</th>
                  <th scope="col">PSI</th>
                  <th scope="col">KS</th>
                  <th scope="col">KS p</th>
                </tr>
              </thead>
              <tbody>
                {features.map(([f, s]) => (
                  <tr key={f} className={s.breach.length ? "neg" : ""}>
                    <td>{f}</td>
                    <td className="num">{formatNumber(s.psi, locale, 4)}</td>
                    <td className="num">{formatNumber(s.ks, locale, 4)}</td>
                    <td className="num">{formatNumber(s.ks_pvalue, locale, 4)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </>
  );
}
