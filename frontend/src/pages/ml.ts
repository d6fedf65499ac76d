import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";

export interface ModelVersion {
  version: number | string;
  aliases: string[];
  metrics: Record<string, number>;
  created_at?: string;
  run_id?: string;
  [k: string]: unknown;
}
export interface ModelInfo {
  name: string;
  model_type: string;
  aliases: Record<string, string | number>;
  versions: ModelVersion[];
}
export interface Prediction {
  model?: string;
  version?: string | number;
  symbol: string;
  ts: string;
  score: number;
  signal?: number | string | null;
  [k: string]: unknown;
}

export function useModels() {
  return useQuery({
    queryKey: ["models"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/ml/models"))) as unknown as ModelInfo[],
  });
}

/** Metrics of one kind from a version's flat metric map: prefix "fold_" → {n, ts_corr, ...}. */
export function metricGroup(metrics: Record<string, number>, prefix: string): Record<string, number> {
  return Object.fromEntries(
    Object.entries(metrics)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

/** `name@alias` and `name/version` references a strategy's `model` parameter accepts. */
export function modelReferences(models: ModelInfo[] | undefined): string[] {
  const out: string[] = [];
  for (const m of models ?? []) {
    for (const a of Object.keys(m.aliases)) out.push(`${m.name}@${a}`);
    for (const v of m.versions) out.push(`${m.name}/${String(v.version)}`);
  }
  return out;
}
