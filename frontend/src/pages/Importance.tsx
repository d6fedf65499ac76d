import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { BarList } from "../components/charts";
import { Card, ErrorText, Loading } from "../components/ui";
import { formatNumber } from "../format";
import { useI18n } from "../i18n";
import { useModels } from "./ml";

export default function ImportancePage() {
  const { t, locale } = useI18n();
  const models = useModels();
  const [name, setName] = useState("");
  // "production" / "staging" (an alias) or a version number.
  const [which, setWhich] = useState("production");
  const model = models.data?.find((m) => m.name === name) ?? models.data?.[0];
  const q = useQuery({
    queryKey: ["importance", model?.name, which],
    enabled: !!model,
    retry: false,
    queryFn: () =>
      which === "production" || which === "staging"
        ? unwrap(api.GET("/api/v1/ml/models/{name}/importance", { params: { path: { name: model!.name }, query: { alias: which, top: 30 } } }))
        : unwrap(
            api.GET("/api/v1/ml/models/{name}/versions/{version}/importance", {
              params: { path: { name: model!.name, version: Number(which) }, query: { top: 30 } },
            }),
          ),
  });
  const items = Object.entries(q.data?.importance ?? {})
    .map(([n, v]) => ({ name: n, value: v }))
    .sort((a, b) => b.value - a.value);
  return (
    <>
      <h1>{t("importance")}</h1>
      {models.isLoading && <Loading />}
      {models.data && !models.data.length && <p className="muted">{t("none")}</p>}
      {model && (
        <div className="form-grid">
          <div className="field">
            <label htmlFor="fi-model">{t("model")}</label>
            <select id="fi-model" value={model.name} onChange={(e) => setName(e.target.value)}>
              {models.data!.map((m) => (
                <option key={m.name}>{m.name}</option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="fi-version">{t("version")}</label>
            <select id="fi-version" value={which} onChange={(e) => setWhich(e.target.value)}>
              <option value="production">production</option>
              <option value="staging">staging</option>
              {[...model.versions]
                .sort((a, b) => b.version - a.version)
                .map((v) => (
                  <option key={v.version} value={String(v.version)}>
                    v{v.version}
                    {v.aliases.length ? ` (${v.aliases.join(", ")})` : ""}
                  </option>
                ))}
            </select>
          </div>
        </div>
      )}
      {model && (
        <Card title={q.data ? `${q.data.name} v${q.data.version} · ${q.data.method}` : t("importance")} id="fi-title">
          {q.isLoading && <Loading />}
          <ErrorText error={q.error} />
          {items.length > 0 && <BarList items={items} label={t("importance")} format={(v) => formatNumber(v, locale, 5)} />}
        </Card>
      )}
    </>
  );
}
