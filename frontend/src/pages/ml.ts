import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";

export type ModelVersion = Schemas["ModelVersionOut"];
export type ModelInfo = Schemas["ModelOut"];
/** A stored prediction: `value` is the model's score for `symbol` at `ts`. */
export type Prediction = Schemas["PredictionOut"];

export function useModels() {
  return useQuery({
    queryKey: ["models"],
    queryFn: () => unwrap(api.GET("/api/v1/ml/models")),
  });
}

/** Metrics of one kind from a version's flat metric map: prefix "fold_" → {n, ts_corr, ...}. */
export function metricGroup(metrics: Record<string, number | null>, prefix: string): Record<string, number> {
  return Object.fromEntries(
    Object.entries(metrics)
      .filter((e): e is [string, number] => e[0].startsWith(prefix) && typeof e[1] === "number")
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
