import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";
import { useAuth } from "../auth";
import { LineChart } from "../components/charts";
import { Card, ErrorText, KeyValues, Loading, StatusBadge } from "../components/ui";
import { formatNumber, formatTime } from "../format";
import { useLive, useLiveInvalidate } from "../hooks";
import { useI18n } from "../i18n";
import { useDatasets } from "./catalog";

const MODELS = ["lightgbm", "lstm", "transformer", "tcn", "nbeats", "cnn", "attention", "stacking"] as const;
type ModelType = (typeof MODELS)[number];
const RECENT_KEY = "qts.trainingRuns";
const COLORS = ["#2f6fd6", "#e08a1e", "#2e9e5b", "#8e44ad", "#d64545"];

interface EpochPoint {
  epoch: number;
  losses: Record<string, number>;
  metrics: Record<string, number>;
}
type RunSummary = Schemas["TrainingRunSummary"];

export interface TrainForm {
  model: ModelType;
  symbols: string;
  timeframe: string;
  horizon: number;
  epochs: string;
  name: string;
  features: string;
  seed: string;
}

export function buildTrainBody(f: TrainForm) {
  const symbols = f.symbols.split(/[\s,]+/).filter(Boolean);
  if (!symbols.length) throw new Error("at least one symbol is required");
  if (f.name && !/^[\w.-]+$/.test(f.name)) throw new Error("name: letters, digits, . _ - only");
  const epochs = f.epochs.trim() === "" ? null : Number(f.epochs);
  if (epochs !== null && (!Number.isInteger(epochs) || epochs < 1 || epochs > 1000)) throw new Error("epochs: 1 … 1000");
  const features = f.features.split(/[\s,]+/).filter(Boolean);
  if (!features.length) throw new Error("at least one feature group or name is required");
  const seed = f.seed.trim() === "" ? 0 : Number(f.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error("seed: a whole number ≥ 0");
  return {
    model: f.model,
    symbols,
    timeframe: f.timeframe,
    horizon: f.horizon,
    epochs,
    name: f.name || null,
    features,
    seed,
  };
}

function recentRuns(): string[] {
  try {
    return JSON.parse(localStorage.getItem(RECENT_KEY) ?? "[]") as string[];
  } catch {
    return [];
  }
}

export default function TrainingPage() {
  const { t } = useI18n();
  const { can } = useAuth();
  const [runId, setRunId] = useState<string | null>(() => recentRuns()[0] ?? null);
  return (
    <>
      <h1>{t("training")}</h1>
      {can("trader") && (
        <TrainingForm
          onStarted={(id) => {
            localStorage.setItem(RECENT_KEY, JSON.stringify([id, ...recentRuns().filter((x) => x !== id)].slice(0, 20)));
            setRunId(id);
          }}
        />
      )}
      {runId && <RunProgress id={runId} />}
      <History onSelect={setRunId} />
    </>
  );
}

export function TrainingForm({ onStarted }: { onStarted: (id: string) => void }) {
  const { t } = useI18n();
  const datasets = useDatasets();
  const [f, setF] = useState<TrainForm>({ model: "lightgbm", symbols: "", timeframe: "1d", horizon: 1, epochs: "20", name: "", features: "basic", seed: "0" });
  const [err, setErr] = useState<string | null>(null);
  // Suggest a stored symbol once; a field the user cleared stays empty (no refill under the cursor).
  const suggested = useRef(false);
  useEffect(() => {
    if (suggested.current || !datasets.data?.length) return;
    suggested.current = true;
    setF((x) => (x.symbols ? x : { ...x, symbols: datasets.data!.find((d) => d.timeframe === "1d")?.symbol ?? "" }));
  }, [datasets.data]);
  const m = useMutation({
    mutationFn: (body: ReturnType<typeof buildTrainBody>) => unwrap(api.POST("/api/v1/ml/train", { body })),
    onSuccess: (run) => onStarted(run.id),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setErr(null);
    try {
      m.mutate(buildTrainBody(f));
    } catch (x) {
      setErr((x as Error).message);
    }
  };
  const input = (k: keyof TrainForm, label: string, type = "text") => (
    <div className="field">
      <label htmlFor={`tr-${k}`}>{label}</label>
      <input id={`tr-${k}`} type={type} value={String(f[k])} onChange={(e) => setF({ ...f, [k]: type === "number" && k === "horizon" ? Number(e.target.value) : e.target.value })} />
    </div>
  );
  return (
    <Card title={t("run")} id="tr-form-title">
      <form onSubmit={submit} aria-label={t("training")}>
        <div className="form-grid">
          <div className="field">
            <label htmlFor="tr-model">{t("model")}</label>
            <select id="tr-model" value={f.model} onChange={(e) => setF({ ...f, model: e.target.value as ModelType })}>
              {MODELS.map((x) => (
                <option key={x}>{x}</option>
              ))}
            </select>
          </div>
          {input("symbols", t("symbols"))}
          {input("timeframe", t("timeframe"))}
          {input("horizon", t("horizon"), "number")}
          {input("epochs", t("epochs"), "number")}
          {input("features", t("features"))}
          {input("seed", t("seed"), "number")}
          {input("name", t("name"))}
        </div>
        {err && <p className="error" role="alert">{err}</p>}
        <ErrorText error={m.error} />
        <button type="submit" data-write="" className="primary" disabled={m.isPending}>
          {t("run")}
        </button>
      </form>
    </Card>
  );
}

function RunProgress({ id }: { id: string }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [live, setLive] = useState<EpochPoint[]>([]);
  const q = useQuery({
    queryKey: ["training", id],
    queryFn: () => unwrap(api.GET("/api/v1/ml/runs/{run_id}", { params: { path: { run_id: id } } })),
    refetchInterval: (query) => {
      const s = (query.state.data as { status?: string } | undefined)?.status;
      return s === "done" || s === "failed" ? false : 3000;
    },
  });
  useEffect(() => setLive([]), [id]);
  useLive(`training:${id}`, (e) => {
    const d = e.data as { epoch?: number; losses?: Record<string, number>; metrics?: Record<string, number>; status?: string };
    if (typeof d.epoch === "number") setLive((x) => [...x, { epoch: d.epoch!, losses: d.losses ?? {}, metrics: d.metrics ?? {} }]);
    if (d.status) void qc.invalidateQueries({ queryKey: ["training"] });
  });
  const run = q.data as { status: string; model_type: string; error?: string; history?: { data?: EpochPoint }[]; metrics?: Record<string, unknown> } | undefined;
  const points = useMemo(() => {
    const stored = (run?.history ?? [])
      .map((h) => h.data as Partial<EpochPoint> | undefined)
      .filter((d) => !!d && typeof d.epoch === "number")
      .map((d) => ({ epoch: d!.epoch!, losses: d!.losses ?? {}, metrics: d!.metrics ?? {} }));
    const byEpoch = new Map<number, EpochPoint>();
    for (const p of [...stored, ...live]) byEpoch.set(p.epoch, p);
    return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  }, [run, live]);
  const series = useMemo(() => {
    const keys = [...new Set(points.flatMap((p) => [...Object.keys(p.losses), ...Object.keys(p.metrics)]))];
    return keys.map((k, i) => ({
      name: k,
      color: COLORS[i % COLORS.length],
      data: points
        .filter((p) => typeof (p.losses[k] ?? p.metrics[k]) === "number")
        .map((p) => ({ time: p.epoch, value: (p.losses[k] ?? p.metrics[k]) as number })),
    }));
  }, [points]);
  const oos = (run?.metrics?.oos ?? null) as Record<string, unknown> | null;
  return (
    <Card title={`${t("training")} · ${id.slice(0, 8)}`} id="tr-run-title">
      {q.isLoading && <Loading />}
      {run && (
        <p data-testid="training-status">
          <StatusBadge value={run.status} /> {run.model_type} · {t("epochs")}: <span data-testid="epoch-count">{points.length}</span>
        </p>
      )}
      {run?.error && <p className="error">{run.error}</p>}
      {series.length > 0 && <LineChart series={series} label={t("loss")} height={220} precision={6} xLabel={t("epochs")} />}
      {oos && (
        <>
          <h3>{t("oosIc")}</h3>
          <KeyValues data={oos} />
        </>
      )}
    </Card>
  );
}

function History({ onSelect }: { onSelect: (id: string) => void }) {
  const { t, locale } = useI18n();
  useLiveInvalidate("training:*", [["training", "list"]]);
  const listed = useQuery({
    queryKey: ["training", "list"],
    queryFn: () => unwrap(api.GET("/api/v1/ml/runs", { params: { query: { limit: 50 } } })),
    refetchInterval: (query) => (query.state.data?.items.some((r) => r.status === "queued" || r.status === "running") ? 5000 : false),
  });
  const runs: RunSummary[] = listed.data?.items ?? [];
  return (
    <Card title={t("history")} id="tr-hist-title">
      {listed.isLoading && <Loading />}
      <ErrorText error={listed.error} />
      {listed.data && !runs.length && <p className="muted">{t("none")}</p>}
      {runs.length > 0 && (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("created")}</th>
                <th scope="col">{t("model")}</th>
                <th scope="col">{t("name")}</th>
                <th scope="col">OOS IC</th>
                <th scope="col">{t("status")}</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} data-testid="training-run-row">
                  <td>
                    <button type="button" className="link" onClick={() => onSelect(r.id)}>
                      {formatTime(r.created_at, locale)} · {r.id.slice(0, 8)}
                    </button>
                  </td>
                  <td>{r.model_type}</td>
                  <td>{String(r.metrics.model_name ?? r.params.name ?? "–")}</td>
                  <td className="num">{formatNumber(oosIc(r.metrics.oos), locale, 4)}</td>
                  <td>
                    <StatusBadge value={r.status} />
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

function oosIc(oos: Record<string, number | boolean | null> | null | undefined): number | null {
  const v = oos?.ts_corr ?? oos?.pooled_corr ?? oos?.cs_corr;
  return typeof v === "number" ? v : null;
}
