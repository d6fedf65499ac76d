import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { useAuth } from "../auth";
import { Card, ErrorText, Loading } from "../components/ui";
import { formatNumber } from "../format";
import { useI18n } from "../i18n";
import { metricGroup, useModels, type ModelInfo } from "./ml";

const SHOWN = ["n", "ts_corr", "ts_rank_corr", "pooled_corr", "directional_accuracy", "mse", "sharpe"];

export default function ModelsPage() {
  const { t } = useI18n();
  const q = useModels();
  return (
    <>
      <h1>{t("models")}</h1>
      {q.isLoading && <Loading />}
      <ErrorText error={q.error} />
      {q.data && !q.data.length && <p className="muted">{t("none")}</p>}
      {(q.data ?? []).map((m) => (
        <ModelCard key={m.name} model={m} />
      ))}
    </>
  );
}

function ModelCard({ model }: { model: ModelInfo }) {
  const { t, locale } = useI18n();
  const { can } = useAuth();
  return (
    <Card title={`${model.name} · ${model.model_type}`} id={`model-${model.name}`}>
      <p>
        {t("aliases")}:{" "}
        {Object.entries(model.aliases).length
          ? Object.entries(model.aliases).map(([a, v]) => (
              <span className="badge" key={a} data-testid="alias">
                {a} → v{String(v)}
              </span>
            ))
          : "–"}
      </p>
      <div className="table-wrap" tabIndex={0}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t("version")}</th>
              <th scope="col">{t("aliases")}</th>
              {SHOWN.map((k) => (
                <th scope="col" key={k}>
                  fold {k}
                </th>
              ))}
              <th scope="col">oos ts_corr</th>
              {can("admin") && <th scope="col">{t("promote")}</th>}
            </tr>
          </thead>
          <tbody>
            {model.versions.map((v) => {
              const fold = metricGroup(v.metrics, "fold_");
              return (
                <tr key={String(v.version)} data-testid="version-row">
                  <td>v{String(v.version)}</td>
                  <td>{v.aliases.join(", ") || "–"}</td>
                  {SHOWN.map((k) => (
                    <td className="num" key={k}>
                      {formatNumber(fold[k], locale, 4)}
                    </td>
                  ))}
                  <td className="num">{formatNumber(v.metrics.oos_ts_corr, locale, 4)}</td>
                  {can("admin") && (
                    <td>
                      <Promote name={model.name} version={Number(v.version)} />
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

function Promote({ name, version }: { name: string; version: number }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [alias, setAlias] = useState<"production" | "staging">("production");
  const [gate, setGate] = useState(true);
  const m = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/ml/models/{name}/promote", { params: { path: { name } }, body: { version, alias, gate } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["models"] }),
  });
  const id = `promote-${name}-${version}`;
  return (
    <div className="promote">
      <label htmlFor={`${id}-alias`} className="sr-only">
        {t("alias")}
      </label>
      <select id={`${id}-alias`} value={alias} onChange={(e) => setAlias(e.target.value as "production" | "staging")}>
        <option value="production">production</option>
        <option value="staging">staging</option>
      </select>
      <label className="inline small">
        <input type="checkbox" checked={gate} onChange={(e) => setGate(e.target.checked)} /> {t("gate")}
      </label>
      <button type="button" data-write="" className="primary" onClick={() => m.mutate()} disabled={m.isPending}>
        {t("promote")}
      </button>
      <ErrorText error={m.error} />
      {m.data && <PromoteResult result={m.data as PromoteOutcome} />}
    </div>
  );
}

interface PromoteOutcome {
  who?: string;
  when?: string;
  what?: { alias?: string; version?: string | number; previous_version?: string | number | null };
  gate?: Record<string, unknown>;
}

/** The audit record of a promotion and what the gate decided, on one line. */
function PromoteResult({ result }: { result: PromoteOutcome }) {
  const { t } = useI18n();
  const gate = Object.entries(result.gate ?? {})
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(", ");
  return (
    <p role="status" data-testid="promote-result" className="small">
      ✓ {result.what?.alias} → v{String(result.what?.version)} ({t("last")}: {result.what?.previous_version ? `v${String(result.what.previous_version)}` : "–"}) · {result.who}
      {gate && ` · ${t("gate").split(" (")[0]}: ${gate}`}
    </p>
  );
}
