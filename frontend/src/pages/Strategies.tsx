import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";
import { useAuth } from "../auth";
import { ParamForm, defaultsOf, validateParams, type ParamValues } from "../components/ParamForm";
import { Card, ConfirmDialog, ErrorText, KeyValues, Loading, StatusBadge } from "../components/ui";
import { formatMoney, pnlClass } from "../format";
import { useLiveInvalidate } from "../hooks";
import { useI18n } from "../i18n";
import { useCatalog, useDatasets } from "./catalog";
import { modelReferences, useModels } from "./ml";
import { summariseAccounts, useCurrency } from "./common";

type Stored = Schemas["StrategyRecord"];

export default function StrategiesPage() {
  const { t } = useI18n();
  const { can } = useAuth();
  const [editing, setEditing] = useState<Stored | null>(null);
  useLiveInvalidate("orders", [["strategies"], ["positions"]]);
  useLiveInvalidate("system", [["strategies"]]);
  return (
    <>
      <h1>{t("strategies")}</h1>
      <StoredList onEdit={setEditing} />
      {can("trader") && <StrategyEditor key={editing?.id ?? "new"} editing={editing} onDone={() => setEditing(null)} />}
      <Catalogue />
    </>
  );
}

function Catalogue() {
  const { t } = useI18n();
  const q = useCatalog();
  return (
    <Card title={t("catalogue")} id="cat-title">
      {q.isLoading && <Loading />}
      <ul className="catalog">
        {(q.data ?? []).map((s) => (
          <li key={s.name}>
            <strong>{s.name}</strong> <span className="badge">{s.kind}</span>
            <p className="muted small">{s.description}</p>
            <p className="small">
              {s.params.map((p) => `${p.name}=${String(p.default)}`).join(" · ")}
            </p>
          </li>
        ))}
      </ul>
    </Card>
  );
}

function StrategyEditor({ editing, onDone }: { editing: Stored | null; onDone: () => void }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const catalog = useCatalog();
  const datasets = useDatasets();
  const modelRefs = modelReferences(useModels().data);
  const [name, setName] = useState(editing?.name ?? "");
  const [cls, setCls] = useState(editing?.strategy_class ?? "sma_cross");
  const [symbols, setSymbols] = useState((editing?.symbols as string[] | undefined)?.join(", ") ?? "");
  const [timeframe, setTimeframe] = useState(editing?.timeframe ?? "1d");
  const [params, setParams] = useState<ParamValues>((editing?.parameters as ParamValues) ?? {});
  const spec = catalog.data?.find((s) => s.name === cls);
  useEffect(() => {
    if (spec && !editing) setParams(defaultsOf(spec.params));
  }, [spec, editing]);
  const m = useMutation({
    mutationFn: async () => {
      const body = {
        name,
        strategy_class: cls,
        parameters: params,
        symbols: symbols.split(/[\s,]+/).filter(Boolean),
        timeframe,
      };
      if (editing) return unwrap(api.PATCH("/api/v1/strategies/{strategy_id}", { params: { path: { strategy_id: editing.id } }, body }));
      return unwrap(api.POST("/api/v1/strategies", { body: { ...body, mode: "paper", description: "" } }));
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ["strategies"] });
      if (!editing) setName("");
      onDone();
    },
  });
  const invalid = spec ? Object.keys(validateParams(spec.params, params)).length > 0 : false;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!invalid) m.mutate();
  };
  const timeframes = [...new Set((datasets.data ?? []).map((d) => d.timeframe))];
  return (
    <Card title={editing ? `${t("edit")} · ${editing.name}` : t("create")} id="st-form-title">
      <form onSubmit={submit}>
        <div className="form-grid">
          <div className="field">
            <label htmlFor="st-name">{t("name")}</label>
            <input id="st-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={128} />
          </div>
          <div className="field">
            <label htmlFor="st-class">{t("strategy")}</label>
            <select id="st-class" value={cls} onChange={(e) => setCls(e.target.value)}>
              {(catalog.data ?? []).map((s) => (
                <option key={s.name} value={s.name}>
                  {s.name}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="st-symbols">{t("symbols")}</label>
            <input id="st-symbols" value={symbols} onChange={(e) => setSymbols(e.target.value)} placeholder="005930, AAPL" />
          </div>
          <div className="field">
            <label htmlFor="st-tf">{t("timeframe")}</label>
            <select id="st-tf" value={timeframe} onChange={(e) => setTimeframe(e.target.value)}>
              {(timeframes.length ? timeframes : ["1d"]).map((x) => (
                <option key={x}>{x}</option>
              ))}
            </select>
          </div>
        </div>
        {spec && <ParamForm specs={spec.params} values={params} onChange={setParams} idPrefix="st-param" suggestions={{ model: modelRefs }} />}
        <ErrorText error={m.error} />
        <div className="row">
          <button type="submit" data-write="" className="primary" disabled={m.isPending || invalid}>
            {editing ? t("save") : t("create")}
          </button>
          {editing && (
            <button type="button" onClick={onDone}>
              {t("cancel")}
            </button>
          )}
        </div>
      </form>
    </Card>
  );
}

function StoredList({ onEdit }: { onEdit: (s: Stored) => void }) {
  const { t, locale } = useI18n();
  const { can } = useAuth();
  const qc = useQueryClient();
  const ccy = useCurrency();
  const q = useQuery({
    queryKey: ["strategies"],
    queryFn: () => unwrap(api.GET("/api/v1/strategies", { params: { query: { limit: 200 } } })),
    refetchInterval: 5000,
  });
  const positions = useQuery({ queryKey: ["positions"], queryFn: () => unwrap(api.GET("/api/v1/positions")) });
  const [speed, setSpeed] = useState("max");
  const act = useMutation({
    mutationFn: async ({ id, action }: { id: number; action: "start" | "stop" | "delete" }) => {
      const path = { params: { path: { strategy_id: id } } };
      if (action === "start") {
        const feed = { kind: "replay" as const, speed: speed === "max" ? null : Number(speed) };
        return unwrap(api.POST("/api/v1/strategies/{strategy_id}/start", { ...path, body: feed }));
      }
      if (action === "stop") return unwrap(api.POST("/api/v1/strategies/{strategy_id}/stop", path));
      const { response } = await api.DELETE("/api/v1/strategies/{strategy_id}", path);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return null;
    },
    onSettled: () => qc.invalidateQueries({ queryKey: ["strategies"] }),
  });
  const accounts = summariseAccounts(positions.data ?? [], ccy);
  const [deleting, setDeleting] = useState<Stored | null>(null);
  return (
    <Card
      title={t("stored")}
      id="st-list-title"
      actions={
        can("trader") ? (
          <label className="inline">
            {t("replay")} {t("speed")}{" "}
            <select value={speed} onChange={(e) => setSpeed(e.target.value)}>
              <option value="max">max</option>
              <option value="1">1×</option>
              <option value="10">10×</option>
              <option value="100">100×</option>
            </select>
          </label>
        ) : null
      }
    >
      {q.isLoading && <Loading />}
      <ErrorText error={act.error} />
      <ConfirmDialog
        open={deleting !== null}
        message={`${t("delete")}: ${deleting?.name ?? ""}?`}
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          if (deleting) act.mutate({ id: deleting.id, action: "delete" });
          setDeleting(null);
        }}
      />
      <div className="table-wrap" tabIndex={0}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t("name")}</th>
              <th scope="col">{t("strategy")}</th>
              <th scope="col">{t("symbols")}</th>
              <th scope="col">{t("state")}</th>
              <th scope="col">P&amp;L</th>
              <th scope="col">{t("details")}</th>
              {can("trader") && <th scope="col">{t("run")}</th>}
            </tr>
          </thead>
          <tbody>
            {(q.data?.items ?? []).map((s) => {
              const account = `${s.mode}:${s.name}`;
              const pnl = accounts.filter((a) => a.account === account);
              return (
                <tr key={s.id} data-testid="strategy-row">
                  <td>{s.name}</td>
                  <td>{s.strategy_class}</td>
                  <td>{(s.symbols as string[]).join(", ")}</td>
                  <td>
                    <StatusBadge value={s.state} />
                  </td>
                  <td>
                    {pnl.length
                      ? pnl.map((a) => (
                          <span key={a.currency} className={pnlClass(a.realized + a.unrealized)}>
                            {formatMoney(a.realized + a.unrealized, a.currency, locale)}{" "}
                          </span>
                        ))
                      : "–"}
                  </td>
                  <td>
                    <details>
                      <summary>{t("details")}</summary>
                      <KeyValues data={{ ...(s.parameters as object), ...(s.runtime_state as object) }} />
                    </details>
                  </td>
                  {can("trader") && (
                    <td className="row">
                      {s.state === "running" ? (
                        <button type="button" data-write="" onClick={() => act.mutate({ id: s.id, action: "stop" })}>
                          {t("stop")}
                        </button>
                      ) : (
                        <button type="button" data-write="" data-testid="start" className="primary" onClick={() => act.mutate({ id: s.id, action: "start" })}>
                          {t("start")}
                        </button>
                      )}
                      <button type="button" data-write="" onClick={() => onEdit(s)} disabled={s.state === "running"}>
                        {t("edit")}
                      </button>
                      <button type="button" data-write="" className="danger" onClick={() => setDeleting(s)} disabled={s.state === "running"}>
                        {t("delete")}
                      </button>
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
