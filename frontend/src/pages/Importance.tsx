import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { BarList } from "../components/charts";
import { Card, ErrorText, Loading } from "../components/ui";
import { formatNumber } from "../format";
import { useI18n } from "../i18n";
import { useModels } from "./ml";

interface Importance {
  name: string;
  version: string;
  method: string;
  importance: Record<string, number>;
}

export default function ImportancePage() {
  const { t, locale } = useI18n();
  const models = useModels();
  const [name, setName] = useState("");
  const [alias, setAlias] = useState<"production" | "staging">("production");
  const model = models.data?.find((m) => m.name === name) ?? models.data?.[0];
  const q = useQuery({
    queryKey: ["importance", model?.name, alias],
    enabled: !!model,
    retry: false,
    queryFn: async () =>
      (await unwrap(
        api.GET("/api/v1/ml/models/{name}/importance", { params: { path: { name: model!.name }, query: { alias, top: 30 } } }),
      )) as unknown as Importance,
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
            <label htmlFor="fi-alias">{t("alias")}</label>
            <select id="fi-alias" value={alias} onChange={(e) => setAlias(e.target.value as "production" | "staging")}>
              <option value="production">production</option>
              <option value="staging">staging</option>
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
