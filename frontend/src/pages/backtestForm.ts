// The backtest form's state and its translation into the API's run request.
import type { ParamValues } from "../components/ParamForm";

export interface BacktestForm {
  strategy: string;
  params: ParamValues;
  symbols: string;
  timeframe: string;
  start: string;
  end: string;
  market: "auto" | "krx" | "us" | "crypto";
  cash: string;
  commission: string;
  slippage_bps: string;
  sell_tax: string;
  fixed_fee: string;
  min_fee: string;
  lot_size: string;
  leverage: string;
  fractional: "" | "yes" | "no";
  allow_short: "" | "yes" | "no";
  fill_at: "next_open" | "close";
  rebalance: "on_change" | "every_bar";
  engine: "auto" | "vectorized" | "event";
  // Split/dividend-adjusted closes (the default) or the prices as traded.
  price_adjustment: "adjusted" | "raw";
}

export const emptyBacktestForm = (): BacktestForm => ({
  strategy: "sma_cross",
  params: {},
  symbols: "",
  timeframe: "1d",
  start: "",
  end: "",
  market: "auto",
  cash: "",
  commission: "",
  slippage_bps: "",
  sell_tax: "",
  fixed_fee: "",
  min_fee: "",
  lot_size: "",
  leverage: "",
  fractional: "",
  allow_short: "",
  fill_at: "next_open",
  rebalance: "on_change",
  engine: "auto",
  price_adjustment: "adjusted",
});

const NUMERIC = ["cash", "commission", "slippage_bps", "sell_tax", "fixed_fee", "min_fee", "lot_size", "leverage"] as const;

export class FormError extends Error {}

/** The request body; empty cost fields stay null so the market preset applies. */
export function buildBacktestBody(f: BacktestForm): Record<string, unknown> {
  const symbols = f.symbols
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (!symbols.length) throw new FormError("at least one symbol is required");
  if (f.start && f.end && f.start > f.end) throw new FormError("start must be before end");
  const body: Record<string, unknown> = {
    strategy: f.strategy,
    params: f.params,
    symbols,
    timeframe: f.timeframe,
    market: f.market,
    fill_at: f.fill_at,
    rebalance: f.rebalance,
    engine: f.engine,
    price_adjustment: f.price_adjustment,
  };
  if (f.start) body.start = f.start;
  if (f.end) body.end = f.end;
  for (const k of NUMERIC) {
    const raw = f[k].trim();
    if (raw === "") continue;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 0) throw new FormError(`${k} must be a non-negative number`);
    body[k] = v;
  }
  if (f.fractional) body.fractional = f.fractional === "yes";
  if (f.allow_short) body.allow_short = f.allow_short === "yes";
  return body;
}
