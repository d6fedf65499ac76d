import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { useAuth } from "../auth";
import { LineChart, toUnix } from "../components/charts";
import { ParamForm, defaultsOf, validateParams } from "../components/ParamForm";
import { Card, ErrorText, Loading, StatusBadge } from "../components/ui";
import { formatMoney, formatNumber, formatPercent, formatTime, pnlClass } from "../format";
import { useLiveInvalidate } from "../hooks";
import { useI18n } from "../i18n";
import { buildBacktestBody, emptyBacktestForm, type BacktestForm } from "./backtestForm";
import { useCatalog, useDatasets } from "./catalog";
import { modelReferences, useModels } from "./ml";
import { Optimisations } from "./Optimisations";

interface Trade { symbol: string; side: string; size: number; entry_time: string; entry_price: number; exit_time: string | null; exit_price: number | null; pnl: number; return: number; status: string }
interface CurvePoint { ts: string; equity: number; drawdown: number; benchmark?: number | null }

export default function BacktestsPage() {
  const { t } = useI18n();
  const { can } = useAuth();
  const [selected, setSelected] = useState<string | null>(null);
  const [compare, setCompare] = useState<string[]>([]);
  useLiveInvalidate("backtests", [["backtests"]]);
  return (
    <>
      <h1>{t("backtests")}</h1>
      {can("trader") && <RunForm onStarted={setSelected} />}
      <RunList selected={selected} onSelect={setSelected} compare={compare} setCompare={setCompare} />
      {compare.length === 2 && <Compare ids={compare} />}
      {selected && <RunDetail id={selected} />}
      <Optimisations />
    </>
  );
}

function RunForm({ onStarted }: { onStarted: (id: string) => void }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const catalog = useCatalog();
  const datasets = useDatasets();
  const modelRefs = modelReferences(useModels().data);
  const [form, setForm] = useState<BacktestForm>(emptyBacktestForm);
  const [formError, setFormError] = useState<string | null>(null);
  const spec = catalog.data?.find((s) => s.name === form.strategy);
  useEffect(() => {
    if (spec) setForm((f) => ({ ...f, params: defaultsOf(spec.params) }));
  }, [spec]);
  // Suggest a stored series once; a field the user cleared stays empty (no refill under the cursor).
  const suggested = useRef(false);
  useEffect(() => {
    if (suggested.current || !datasets.data?.length) return;
    suggested.current = true;
    const d = datasets.data.find((x) => x.timeframe === "1d") ?? datasets.data[0];
    setForm((f) => (f.symbols ? f : { ...f, symbols: d.symbol, timeframe: d.timeframe }));
  }, [datasets.data]);
  const m = useMutation({
    mutationFn: (body: Record<string, unknown>) => unwrap(api.POST("/api/v1/backtests", { body: body as never })),
    onSuccess: (run) => {
      onStarted(run.id);
      void qc.invalidateQueries({ queryKey: ["backtests"] });
    },
  });
  const set = <K extends keyof BacktestForm>(k: K, v: BacktestForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    if (spec && Object.keys(validateParams(spec.params, form.params)).length) return setFormError(t("parameters"));
    try {
      m.mutate(buildBacktestBody(form));
    } catch (err) {
      setFormError((err as Error).message);
    }
  };
  const text = (k: keyof BacktestForm, label: string, type = "text") => (
    <div className="field">
      <label htmlFor={`bt-${k}`}>{label}</label>
      <input id={`bt-${k}`} type={type} value={String(form[k])} onChange={(e) => set(k, e.target.value as never)} />
    </div>
  );
  const choice = (k: keyof BacktestForm, label: string, options: [string, string][]) => (
    <div className="field">
      <label htmlFor={`bt-${k}`}>{label}</label>
      <select id={`bt-${k}`} value={String(form[k])} onChange={(e) => set(k, e.target.value as never)}>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </div>
  );
  const timeframes = [...new Set((datasets.data ?? []).map((d) => d.timeframe))];
  return (
    <Card title={t("run")} id="bt-form-title">
      <form onSubmit={submit} aria-label={t("backtests")}>
        <div className="form-grid">
          {choice("strategy", t("strategy"), (catalog.data ?? []).map((s) => [s.name, s.name]))}
          {text("symbols", t("symbols"))}
          {choice("timeframe", t("timeframe"), (timeframes.length ? timeframes : ["1d"]).map((x) => [x, x]))}
          {text("start", t("start"), "date")}
          {text("end", t("end"), "date")}
          {choice("price_adjustment", t("prices"), [["adjusted", t("pricesAdjusted")], ["raw", t("pricesRaw")]])}
        </div>
        {spec && (
          <>
            <h3>{t("parameters")}</h3>
            <ParamForm specs={spec.params} values={form.params} onChange={(p) => set("params", p)} idPrefix="bt-param" suggestions={{ model: modelRefs }} />
          </>
        )}
        <details>
          <summary>{t("costs")}</summary>
          <div className="form-grid">
            {choice("market", t("marketPreset"), [["auto", t("auto")], ["krx", "KRX"], ["us", "US"], ["crypto", "Crypto"]])}
            {text("cash", t("cash"), "number")}
            {text("commission", t("commission"), "number")}
            {text("slippage_bps", t("slippage"), "number")}
            {text("sell_tax", t("sellTax"), "number")}
            {text("fixed_fee", t("fixedFee"), "number")}
            {text("min_fee", t("minFee"), "number")}
            {text("lot_size", t("lotSize"), "number")}
            {text("leverage", t("leverage"), "number")}
            {choice("fractional", t("fractional"), [["", t("auto")], ["yes", "✓"], ["no", "✗"]])}
            {choice("allow_short", t("allowShort"), [["", t("auto")], ["yes", "✓"], ["no", "✗"]])}
            {choice("fill_at", t("fillAt"), [["next_open", "next_open"], ["close", "close"]])}
            {choice("rebalance", t("rebalance"), [["on_change", "on_change"], ["every_bar", "every_bar"]])}
            {choice("engine", t("engine"), [["auto", t("auto")], ["vectorized", "vectorized"], ["event", "event"]])}
          </div>
        </details>
        {formError && <p className="error" role="alert">{formError}</p>}
        <ErrorText error={m.error} />
        <button type="submit" data-write="" className="primary" disabled={m.isPending}>
          {t("run")}
        </button>
      </form>
    </Card>
  );
}

function RunList({ selected, onSelect, compare, setCompare }: { selected: string | null; onSelect: (id: string) => void; compare: string[]; setCompare: (ids: string[]) => void }) {
  const { t, locale } = useI18n();
  const q = useQuery({
    queryKey: ["backtests", "list"],
    queryFn: () => unwrap(api.GET("/api/v1/backtests", { params: { query: { limit: 50 } } })),
    refetchInterval: (query) => (query.state.data?.items.some((r) => r.status === "queued" || r.status === "running") ? 1000 : false),
  });
  const toggle = (id: string) => setCompare(compare.includes(id) ? compare.filter((x) => x !== id) : [...compare, id].slice(-2));
  return (
    <Card title={t("runs")} id="bt-runs-title">
      <p className="muted small">{t("selectTwo")}</p>
      {q.isLoading && <Loading />}
      <div className="table-wrap" tabIndex={0}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t("compare")}</th>
              <th scope="col">{t("created")}</th>
              <th scope="col">{t("strategy")}</th>
              <th scope="col">{t("symbols")}</th>
              <th scope="col">{t("status")}</th>
              <th scope="col">return</th>
              <th scope="col">sharpe</th>
            </tr>
          </thead>
          <tbody>
            {(q.data?.items ?? []).map((r) => {
              const m = (r.metrics ?? {}) as Record<string, number>;
              return (
                <tr key={r.id} className={selected === r.id ? "selected" : ""} data-testid="backtest-row">
                  <td>
                    <input type="checkbox" aria-label={`${t("compare")} ${r.id.slice(0, 8)}`} checked={compare.includes(r.id)} onChange={() => toggle(r.id)} />
                  </td>
                  <td>
                    <button type="button" className="link" onClick={() => onSelect(r.id)}>
                      {formatTime(r.created_at, locale)}
                    </button>
                  </td>
                  <td>{r.strategy}</td>
                  <td>{((r.request as { symbols?: string[] }).symbols ?? []).join(", ")}</td>
                  <td>
                    <StatusBadge value={r.status} />
                  </td>
                  <td className={`num ${pnlClass(m.total_return)}`}>{formatPercent(m.total_return, locale)}</td>
                  <td className="num">{formatNumber(m.sharpe, locale)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

function useRun(id: string) {
  return useQuery({
    queryKey: ["backtests", "run", id],
    queryFn: () => unwrap(api.GET("/api/v1/backtests/{run_id}", { params: { path: { run_id: id } } })),
    refetchInterval: (query) => (query.state.data && ["done", "failed"].includes(query.state.data.status) ? false : 700),
  });
}

const METRICS: [string, "pct" | "num" | "money"][] = [
  ["total_return", "pct"], ["cagr", "pct"], ["sharpe", "num"], ["sortino", "num"], ["max_drawdown", "pct"],
  ["volatility", "pct"], ["win_rate", "pct"], ["profit_factor", "num"], ["trades", "num"], ["exposure", "pct"],
  ["benchmark_return", "pct"], ["alpha", "num"], ["beta", "num"], ["fees", "money"], ["final_equity", "money"],
];

function RunDetail({ id }: { id: string }) {
  const { t, locale } = useI18n();
  const q = useRun(id);
  const run = q.data;
  const result = (run?.result ?? null) as { equity_curve?: CurvePoint[]; trades?: Trade[]; config?: { currency?: string; fx_pairs?: string[]; price_adjustment?: string } } | null;
  const currency = result?.config?.currency ?? "USD";
  const curves = useMemo(() => {
    const pts = result?.equity_curve ?? [];
    return {
      equity: [
        { name: t("equity"), color: "#2f6fd6", data: pts.map((p) => ({ time: toUnix(p.ts), value: p.equity })) },
        ...(pts.some((p) => p.benchmark != null)
          ? [{ name: t("benchmark"), color: "#9aa5b1", data: pts.filter((p) => p.benchmark != null).map((p) => ({ time: toUnix(p.ts), value: p.benchmark as number })) }]
          : []),
      ],
      drawdown: [{ name: t("drawdown"), color: "#d64545", area: true, data: pts.map((p) => ({ time: toUnix(p.ts), value: p.drawdown * 100 })) }],
    };
  }, [result, t]);
  if (q.isLoading) return <Loading />;
  if (!run) return <ErrorText error={q.error} />;
  const m = (run.metrics ?? {}) as Record<string, number>;
  const fmt = (v: number, kind: string) => (kind === "pct" ? formatPercent(v, locale) : kind === "money" ? formatMoney(v, currency, locale) : formatNumber(v, locale));
  return (
    <Card title={`${t("result")} · ${run.strategy} · ${run.id.slice(0, 8)}`} id="bt-detail-title">
      <p data-testid="backtest-status">
        <StatusBadge value={run.status} /> {run.status === "running" || run.status === "queued" ? <progress aria-label={t("running")} /> : null}
      </p>
      {run.error && <p className="error">{run.error}</p>}
      {run.status === "done" && (
        <>
          <dl className="metrics">
            {METRICS.filter(([k]) => m[k] !== undefined).map(([k, kind]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd className={k.includes("return") ? pnlClass(m[k]) : ""}>{fmt(m[k], kind)}</dd>
              </div>
            ))}
          </dl>
          <RunConfigNote config={result?.config} />
          <h3>{t("equity")}</h3>
          <LineChart series={curves.equity} label={t("equity")} />
          <h3>{t("drawdown")} (%)</h3>
          <LineChart series={curves.drawdown} label={t("drawdown")} height={160} />
          <h3>
            {t("trades")} ({result?.trades?.length ?? 0})
          </h3>
          <div className="table-wrap scroll-y" tabIndex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("symbol")}</th>
                  <th scope="col">{t("side")}</th>
                  <th scope="col">{t("quantity")}</th>
                  <th scope="col">{t("start")}</th>
                  <th scope="col">{t("price")}</th>
                  <th scope="col">{t("end")}</th>
                  <th scope="col">{t("price")}</th>
                  <th scope="col">P&amp;L</th>
                  <th scope="col">%</th>
                </tr>
              </thead>
              <tbody>
                {(result?.trades ?? []).map((tr, i) => (
                  <tr key={i} data-testid="trade-row">
                    <td>{tr.symbol}</td>
                    <td>{tr.side}</td>
                    <td className="num">{formatNumber(tr.size, locale, 8)}</td>
                    <td>{tr.entry_time.slice(0, 10)}</td>
                    <td className="num">{formatMoney(tr.entry_price, currency, locale)}</td>
                    <td>{tr.exit_time?.slice(0, 10) ?? "–"}</td>
                    <td className="num">{formatMoney(tr.exit_price, currency, locale)}</td>
                    <td className={`num ${pnlClass(tr.pnl)}`}>{formatMoney(tr.pnl, currency, locale)}</td>
                    <td className={`num ${pnlClass(tr.return)}`}>{formatPercent(tr.return, locale)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Card>
  );
}

/** The run's price basis and the FX pairs that converted its foreign symbols, when any. */
function RunConfigNote({ config }: { config?: { fx_pairs?: string[]; price_adjustment?: string } }) {
  const { t } = useI18n();
  const pairs = config?.fx_pairs ?? [];
  const prices = config?.price_adjustment;
  if (!prices && !pairs.length) return null;
  return (
    <p className="muted small" data-testid="run-config">
      {prices && `${t("prices")}: ${prices === "raw" ? t("pricesRaw") : t("pricesAdjusted")}`}
      {prices && pairs.length > 0 && " · "}
      {pairs.length > 0 && <span data-testid="fx-pairs">{`${t("fxPairs")}: ${pairs.join(", ")}`}</span>}
    </p>
  );
}

function Compare({ ids }: { ids: string[] }) {
  const { t, locale } = useI18n();
  const a = useRun(ids[0]);
  const b = useRun(ids[1]);
  const runs = [a.data, b.data];
  if (!runs[0] || !runs[1]) return <Loading />;
  const colors = ["#2f6fd6", "#e08a1e"];
  const series = runs.map((r, i) => {
    const pts = ((r!.result as { equity_curve?: CurvePoint[] } | null)?.equity_curve ?? []) as CurvePoint[];
    const first = pts[0]?.equity || 1;
    const params = Object.entries(r!.params)
      .filter(([, v]) => typeof v !== "boolean")
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(" ");
    return { name: `${r!.strategy} ${params} · ${r!.id.slice(0, 6)}`, color: colors[i], data: pts.map((p) => ({ time: toUnix(p.ts), value: (p.equity / first) * 100 })) };
  });
  return (
    <Card title={t("compare")} id="bt-compare-title">
      <LineChart series={series} label={t("compare")} />
      <table>
        <thead>
          <tr>
            <th scope="col">metric</th>
            {series.map((s) => (
              <th scope="col" key={s.name}>
                {s.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {METRICS.filter(([, k]) => k !== "money").map(([k, kind]) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              {runs.map((r, i) => {
                const v = ((r!.metrics ?? {}) as Record<string, number>)[k];
                return (
                  <td key={i} className="num">
                    {kind === "pct" ? formatPercent(v, locale) : formatNumber(v, locale)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}
