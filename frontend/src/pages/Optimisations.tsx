import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";
import { useAuth } from "../auth";
import { Card, ErrorText, Loading, StatusBadge } from "../components/ui";
import { formatNumber, formatPercent, formatTime } from "../format";
import { useLiveInvalidate } from "../hooks";
import { useI18n } from "../i18n";
import { useCatalog, useDatasets } from "./catalog";

type OptimizationRun = Schemas["OptimizationRunOut"];
type ParamValue = boolean | number | string;

export interface OptimiseForm {
  strategy: string;
  symbols: string;
  timeframe: string;
  method: "grid" | "optuna";
  objective: string;
  trials: string;
  folds: string;
  grid: string;
}

/** `fast=5,10; slow=20,40` (or one name per line) → {fast: [5, 10], slow: [20, 40]}; empty: the declared grid. */
export function parseGrid(text: string): Record<string, ParamValue[]> | null {
  const grid: Record<string, ParamValue[]> = {};
  for (const part of text.split(/[;\n]+/).map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\w+)\s*=\s*(.+)$/.exec(part);
    if (!m) throw new Error(`grid: "${part}" is not name=v1,v2`);
    grid[m[1]] = m[2]
      .split(",")
      .map((v) => v.trim())
      .filter(Boolean)
      .map((v) => (v === "true" ? true : v === "false" ? false : v !== "" && Number.isFinite(Number(v)) ? Number(v) : v));
  }
  return Object.keys(grid).length ? grid : null;
}

function wholeNumber(raw: string, name: string, min: number, max: number): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name}: ${min} … ${max}`);
  return v;
}

export function buildOptimizationBody(f: OptimiseForm) {
  const symbols = f.symbols.split(/[\s,]+/).filter(Boolean);
  if (!symbols.length) throw new Error("at least one symbol is required");
  if (!/^\w+$/.test(f.objective)) throw new Error("objective: a metric name such as sharpe");
  return {
    strategy: f.strategy,
    symbols,
    timeframe: f.timeframe,
    method: f.method,
    objective: f.objective,
    trials: wholeNumber(f.trials, "trials", 1, 500),
    folds: wholeNumber(f.folds, "folds", 0, 10),
    grid: parseGrid(f.grid),
  };
}

export function Optimisations() {
  const { t } = useI18n();
  const { can } = useAuth();
  const [selected, setSelected] = useState<string | null>(null);
  useLiveInvalidate("optimizations", [["optimizations"]]);
  return (
    <Card title={t("optimise")} id="bt-opt-title">
      {can("trader") && <OptimiseFormCard onStarted={setSelected} />}
      <OptimisationList selected={selected} onSelect={setSelected} />
      {selected && <OptimisationDetail id={selected} />}
    </Card>
  );
}

function OptimiseFormCard({ onStarted }: { onStarted: (id: string) => void }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const catalog = useCatalog();
  const datasets = useDatasets();
  const [f, setF] = useState<OptimiseForm>({ strategy: "sma_cross", symbols: "", timeframe: "1d", method: "grid", objective: "sharpe", trials: "30", folds: "0", grid: "" });
  const [err, setErr] = useState<string | null>(null);
  const m = useMutation({
    mutationFn: (body: ReturnType<typeof buildOptimizationBody>) => unwrap(api.POST("/api/v1/optimizations", { body: body as never })),
    onSuccess: (run) => {
      onStarted(run.id);
      void qc.invalidateQueries({ queryKey: ["optimizations"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setErr(null);
    try {
      m.mutate(buildOptimizationBody({ ...f, symbols: f.symbols || (datasets.data?.[0]?.symbol ?? "") }));
    } catch (x) {
      setErr((x as Error).message);
    }
  };
  const input = (k: keyof OptimiseForm, label: string, type = "text", placeholder?: string) => (
    <div className="field">
      <label htmlFor={`opt-${k}`}>{label}</label>
      <input id={`opt-${k}`} type={type} value={f[k]} placeholder={placeholder} onChange={(e) => setF({ ...f, [k]: e.target.value })} />
    </div>
  );
  return (
    <form onSubmit={submit} aria-label={t("optimise")}>
      <div className="form-grid">
        <div className="field">
          <label htmlFor="opt-strategy">{t("strategy")}</label>
          <select id="opt-strategy" value={f.strategy} onChange={(e) => setF({ ...f, strategy: e.target.value })}>
            {(catalog.data ?? [{ name: "sma_cross" }]).map((s) => (
              <option key={s.name}>{s.name}</option>
            ))}
          </select>
        </div>
        {input("symbols", t("symbols"), "text", datasets.data?.[0]?.symbol)}
        {input("timeframe", t("timeframe"))}
        <div className="field">
          <label htmlFor="opt-method">{t("method")}</label>
          <select id="opt-method" value={f.method} onChange={(e) => setF({ ...f, method: e.target.value as OptimiseForm["method"] })}>
            <option value="grid">grid</option>
            <option value="optuna">optuna</option>
          </select>
        </div>
        {input("objective", t("objective"))}
        {f.method === "optuna" && input("trials", t("trials"), "number")}
        {input("folds", t("folds"), "number")}
        {input("grid", t("grid"), "text", "fast=5,10; slow=20,40")}
      </div>
      {err && <p className="error" role="alert">{err}</p>}
      <ErrorText error={m.error} />
      <button type="submit" data-write="" className="primary" disabled={m.isPending}>
        {t("optimise")}
      </button>
    </form>
  );
}

function progress(r: OptimizationRun): string {
  return r.trials_total ? `${r.trials_done}/${r.trials_total}` : String(r.trials_done);
}

function OptimisationList({ selected, onSelect }: { selected: string | null; onSelect: (id: string) => void }) {
  const { t, locale } = useI18n();
  const q = useQuery({
    queryKey: ["optimizations", "list"],
    queryFn: () => unwrap(api.GET("/api/v1/optimizations", { params: { query: { limit: 20 } } })),
  });
  const runs = q.data?.items ?? [];
  return (
    <>
      <h3>{t("runs")}</h3>
      {q.isLoading && <Loading />}
      <ErrorText error={q.error} />
      {q.data && !runs.length && <p className="muted">{t("none")}</p>}
      {runs.length > 0 && (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("created")}</th>
                <th scope="col">{t("strategy")}</th>
                <th scope="col">{t("symbols")}</th>
                <th scope="col">{t("method")}</th>
                <th scope="col">{t("trials")}</th>
                <th scope="col">{t("status")}</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} data-testid="optimization-row">
                  <td>
                    <button type="button" className="link" onClick={() => onSelect(r.id)} aria-pressed={r.id === selected}>
                      {formatTime(r.created_at, locale)} · {r.id.slice(0, 8)}
                    </button>
                  </td>
                  <td>{r.strategy}</td>
                  <td>{r.request.symbols.join(", ")}</td>
                  <td>
                    {r.request.method}
                    {r.request.folds ? ` · ${r.request.folds} ${t("folds")}` : ""}
                  </td>
                  <td className="num">{progress(r)}</td>
                  <td>
                    <StatusBadge value={r.status} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

const params = (p: Record<string, ParamValue> | null | undefined) =>
  Object.entries(p ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(" ");

function OptimisationDetail({ id }: { id: string }) {
  const { t, locale } = useI18n();
  const q = useQuery({
    queryKey: ["optimizations", id],
    queryFn: () => unwrap(api.GET("/api/v1/optimizations/{run_id}", { params: { path: { run_id: id } } })),
    refetchInterval: (query) => (query.state.data?.status === "done" || query.state.data?.status === "failed" ? false : 2000),
  });
  const r = q.data;
  if (!r) return q.isLoading ? <Loading /> : <ErrorText error={q.error} />;
  const search = r.result?.in_sample;
  const wf = r.result?.walk_forward;
  const trials = [...(search?.trials ?? [])].sort((a, b) => (b.score ?? -Infinity) - (a.score ?? -Infinity)).slice(0, 20);
  return (
    <div data-testid="optimization-result">
      <h3>
        {t("result")} · {r.id.slice(0, 8)}
      </h3>
      <p data-testid="optimization-status">
        <StatusBadge value={r.status} /> {t("trials")}: {progress(r)}
      </p>
      {r.error && <p className="error">{r.error}</p>}
      {search && (
        <p>
          {t("bestParams")}: <strong data-testid="best-params">{params(search.best_params)}</strong> · {search.objective}{" "}
          {formatNumber(search.best_score, locale, 4)}
        </p>
      )}
      {trials.length > 0 && (
        <div className="table-wrap scroll-y" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("parameters")}</th>
                <th scope="col">{search?.objective ?? "score"}</th>
              </tr>
            </thead>
            <tbody>
              {trials.map((tr, i) => (
                <tr key={i} data-testid="trial-row">
                  <td>{params(tr.params)}</td>
                  <td className="num">{formatNumber(tr.score, locale, 4)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {wf && (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption>walk-forward · {wf.objective}</caption>
            <thead>
              <tr>
                <th scope="col">fold</th>
                <th scope="col">{t("start")}</th>
                <th scope="col">{t("end")}</th>
                <th scope="col">{t("parameters")}</th>
                <th scope="col">in sample</th>
                <th scope="col">out of sample</th>
                <th scope="col">OOS return</th>
              </tr>
            </thead>
            <tbody>
              {wf.folds.map((fo) => (
                <tr key={fo.fold}>
                  <td>{fo.fold}</td>
                  <td>{formatTime(fo.test_start, locale)}</td>
                  <td>{formatTime(fo.test_end, locale)}</td>
                  <td>{params(fo.params)}</td>
                  <td className="num">{formatNumber(fo.in_sample, locale, 4)}</td>
                  <td className="num">{formatNumber(fo.out_of_sample, locale, 4)}</td>
                  <td className="num">{formatPercent(fo.oos_total_return, locale)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
