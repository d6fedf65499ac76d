import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import type { ParamSpec } from "../components/ParamForm";

export interface StrategySpec {
  name: string;
  kind: string;
  description: string;
  params: ParamSpec[];
}
export interface Dataset {
  exchange: string;
  symbol: string;
  timeframe: string;
  bars: number;
  first: string;
  last: string;
}

export function useCatalog() {
  return useQuery({
    queryKey: ["catalog"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/strategies-catalog"))) as unknown as StrategySpec[],
    staleTime: 300_000,
  });
}

export function useDatasets() {
  return useQuery({
    queryKey: ["datasets"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/market/datasets"))) as unknown as Dataset[],
    staleTime: 60_000,
  });
}
