import { describe, expect, it } from "vitest";
import { useState } from "react";
import { fireEvent, render, screen } from "@testing-library/react";
import { ParamForm, defaultsOf, validateParams, type ParamSpec } from "../src/components/ParamForm";
import { buildBacktestBody, emptyBacktestForm } from "../src/pages/backtestForm";
import { buildTrainBody } from "../src/pages/Training";
import { buildOptimizationBody, parseGrid } from "../src/pages/Optimisations";
import { currencyOf, formatMoney } from "../src/format";

const SPECS: ParamSpec[] = [
  { name: "fast", type: "int", default: 10, low: 2, high: 200, step: 1, description: "fast window" },
  { name: "band", type: "float", default: 0.5, low: 0, high: 1 },
  { name: "allow_short", type: "bool", default: false },
  { name: "mode", type: "str", default: "close", choices: ["close", "open"] },
];

function Harness({ onValues }: { onValues: (v: Record<string, unknown>) => void }) {
  const [v, setV] = useState(defaultsOf(SPECS));
  return (
    <ParamForm
      specs={SPECS}
      values={v}
      idPrefix="p"
      onChange={(next) => {
        setV(next);
        onValues(next);
      }}
    />
  );
}

describe("ParamForm", () => {
  it("builds one labelled input per declared parameter with its type, range and default", () => {
    render(<Harness onValues={() => {}} />);
    const fast = screen.getByLabelText("fast") as HTMLInputElement;
    expect(fast.type).toBe("number");
    expect(fast.min).toBe("2");
    expect(fast.max).toBe("200");
    expect(fast.value).toBe("10");
    expect((screen.getByLabelText("allow_short") as HTMLInputElement).type).toBe("checkbox");
    expect((screen.getByLabelText("mode") as HTMLSelectElement).value).toBe("close");
  });

  it("reports out-of-range and fractional values next to the input", () => {
    let last: Record<string, unknown> = {};
    render(<Harness onValues={(v) => (last = v)} />);
    fireEvent.change(screen.getByLabelText("fast"), { target: { value: "500" } });
    expect(last.fast).toBe(500);
    expect(screen.getByText("must be ≤ 200")).toBeInTheDocument();
    expect(screen.getByLabelText("fast")).toHaveAttribute("aria-invalid", "true");
    fireEvent.change(screen.getByLabelText("fast"), { target: { value: "2.5" } });
    expect(screen.getByText("must be a whole number")).toBeInTheDocument();
    fireEvent.click(screen.getByLabelText("allow_short"));
    expect(last.allow_short).toBe(true);
    fireEvent.change(screen.getByLabelText("mode"), { target: { value: "open" } });
    expect(last.mode).toBe("open");
  });

  it("offers suggestions for free-text parameters such as a model reference", () => {
    const specs: ParamSpec[] = [{ name: "model", type: "str", default: "" }];
    const { container } = render(
      <ParamForm specs={specs} values={{ model: "" }} idPrefix="s" onChange={() => {}} suggestions={{ model: ["m@production", "m/2"] }} />,
    );
    expect(screen.getByLabelText("model")).toHaveAttribute("list", "s-model-list");
    expect([...container.querySelectorAll("datalist option")].map((o) => o.getAttribute("value"))).toEqual(["m@production", "m/2"]);
  });

  it("validates without rendering", () => {
    expect(validateParams(SPECS, { fast: 10, band: 0.5 })).toEqual({});
    expect(validateParams(SPECS, { fast: 1, band: Number.NaN })).toEqual({ fast: "must be ≥ 2", band: "a number is required" });
  });
});

describe("backtest form", () => {
  it("sends only the cost fields the user filled, so the market preset fills the rest", () => {
    const body = buildBacktestBody({
      ...emptyBacktestForm(),
      symbols: "005930, 000660",
      params: { fast: 5 },
      commission: "0.00015",
      sell_tax: "0.0018",
      fractional: "no",
      start: "2024-01-01",
    });
    expect(body).toEqual({
      strategy: "sma_cross",
      params: { fast: 5 },
      symbols: ["005930", "000660"],
      timeframe: "1d",
      market: "auto",
      fill_at: "next_open",
      rebalance: "on_change",
      engine: "auto",
      price_adjustment: "adjusted",
      start: "2024-01-01",
      commission: 0.00015,
      sell_tax: 0.0018,
      fractional: false,
    });
  });

  it("sends the chosen price basis", () => {
    expect(buildBacktestBody({ ...emptyBacktestForm(), symbols: "AAPL", price_adjustment: "raw" }).price_adjustment).toBe("raw");
  });

  it("refuses empty symbols, reversed dates and negative costs with a clear message", () => {
    expect(() => buildBacktestBody(emptyBacktestForm())).toThrow("at least one symbol");
    expect(() => buildBacktestBody({ ...emptyBacktestForm(), symbols: "A", start: "2024-02-01", end: "2024-01-01" })).toThrow("start must be before end");
    expect(() => buildBacktestBody({ ...emptyBacktestForm(), symbols: "A", cash: "-5" })).toThrow("cash must be a non-negative number");
  });
});

describe("training form", () => {
  it("builds the request and checks epochs and the name", () => {
    const f = { model: "lightgbm" as const, symbols: "005930 AAPL", timeframe: "1d", horizon: 1, epochs: "", name: "", features: "basic, time", seed: "7" };
    expect(buildTrainBody(f)).toEqual({ model: "lightgbm", symbols: ["005930", "AAPL"], timeframe: "1d", horizon: 1, epochs: null, name: null, features: ["basic", "time"], seed: 7 });
    expect(buildTrainBody({ ...f, seed: "" }).seed).toBe(0);
    expect(() => buildTrainBody({ ...f, seed: "-1" })).toThrow("seed");
    expect(() => buildTrainBody({ ...f, features: " " })).toThrow("feature");
    expect(() => buildTrainBody({ ...f, epochs: "0" })).toThrow("epochs");
    expect(() => buildTrainBody({ ...f, name: "bad name!" })).toThrow("name");
  });
});

describe("optimisation form", () => {
  const f = { strategy: "sma_cross", symbols: "AAPL", timeframe: "1d", method: "grid" as const, objective: "sharpe", trials: "30", folds: "2", grid: "" };
  it("parses the grid into typed values, empty meaning the declared grid", () => {
    expect(parseGrid("")).toBeNull();
    expect(parseGrid("fast=5,10; slow=20, 40\nkind=ema,sma\nflag=true")).toEqual({ fast: [5, 10], slow: [20, 40], kind: ["ema", "sma"], flag: [true] });
    expect(() => parseGrid("fast 5")).toThrow("name=v1,v2");
  });
  it("builds the request and checks trials, folds and the objective", () => {
    expect(buildOptimizationBody({ ...f, grid: "fast=5,10" })).toEqual({
      strategy: "sma_cross", symbols: ["AAPL"], timeframe: "1d", method: "grid", objective: "sharpe", trials: 30, folds: 2, grid: { fast: [5, 10] },
    });
    expect(() => buildOptimizationBody({ ...f, folds: "11" })).toThrow("folds");
    expect(() => buildOptimizationBody({ ...f, trials: "0" })).toThrow("trials");
    expect(() => buildOptimizationBody({ ...f, objective: "a b" })).toThrow("objective");
    expect(() => buildOptimizationBody({ ...f, symbols: " " })).toThrow("symbol");
  });
});

describe("money formats", () => {
  it("shows won without decimals and dollars with cents, in Korean and English", () => {
    expect(formatMoney(1234567.89, "KRW", "ko-KR")).toBe("₩1,234,568");
    expect(formatMoney(1234.5, "USD", "en-US")).toBe("$1,234.50");
    expect(formatMoney(1234.5, "USDT", "ko-KR")).toBe("US$1,234.50");
    expect(formatMoney(null, "KRW", "ko-KR")).toBe("–");
    expect(currencyOf("005930")).toBe("KRW");
    expect(currencyOf("BTC/KRW")).toBe("KRW");
    expect(currencyOf("AAPL")).toBe("USD");
  });
});
