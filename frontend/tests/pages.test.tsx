import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ReactNode } from "react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { Schemas } from "../src/api/client";
import { I18nProvider } from "../src/i18n";
import { NEWS_PAGE, NewsCard } from "../src/pages/MarketNews";
import { CashByCurrency, MissingFx } from "../src/pages/Dashboard";
import { TrainingForm } from "../src/pages/Training";
import { installFakeApi } from "./fakeApi";

type NewsItem = Schemas["NewsItemOut"];

function item(i: number, over: Partial<NewsItem> = {}): NewsItem {
  const ts = new Date(Date.UTC(2024, 9, 30, 9, 0) - i * 3_600_000).toISOString();
  return {
    id: 1000 - i, published_at: ts, known_at: ts, symbols: ["005930"], headline: `headline ${i}`, body: "",
    source: "demo", url: `https://news.example/${i}`, sentiment: 0.1, sentiment_model: "vader", language: "en", ...over,
  };
}

// 25 stored items for 005930, newest first, the first four unusual.
const STORED: NewsItem[] = Array.from({ length: 25 }, (_, i) => item(i));
STORED[0] = item(0, { sentiment: 0.62, headline: "Samsung beats estimates" });
STORED[1] = item(1, { sentiment: -0.41, headline: "Chip prices fall" });
STORED[2] = item(2, { sentiment: null, sentiment_model: "", language: "ko", headline: "삼성전자 3분기 실적" });
STORED[3] = item(3, { url: "javascript:alert(1)", headline: "feed with a script link" });

function newsPage(url: URL) {
  const symbol = url.searchParams.get("symbol");
  const limit = Number(url.searchParams.get("limit") ?? 100);
  const offset = Number(url.searchParams.get("offset") ?? 0);
  const all = STORED.filter((n) => !symbol || n.symbols.includes(symbol));
  const items = all.slice(offset, offset + limit);
  return { items, limit, offset, next_offset: offset + limit < all.length ? offset + limit : null };
}

function wrap(children: ReactNode) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return (
    <QueryClientProvider client={qc}>
      <I18nProvider>{children}</I18nProvider>
    </QueryClientProvider>
  );
}

beforeEach(() => localStorage.setItem("qts.lang", "en"));
afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe("news card", () => {
  it("lists the symbol's newest news with links, sources and signed, coloured sentiment", async () => {
    const seen = installFakeApi({ "/api/v1/market/news": newsPage });
    render(wrap(<NewsCard symbol="005930" />));
    const rows = await screen.findAllByTestId("news-row");
    expect(rows).toHaveLength(NEWS_PAGE);
    expect(seen.map((u) => [u.searchParams.get("symbol"), u.searchParams.get("limit"), u.searchParams.get("offset")])).toEqual([["005930", "20", "0"]]);
    expect(within(rows[0]).getByRole("link")).toHaveAttribute("href", "https://news.example/0");
    expect(within(rows[0]).getByRole("link")).toHaveAttribute("target", "_blank");
    expect(within(rows[0]).getByRole("link")).toHaveAttribute("rel", "noopener noreferrer");
    expect(within(rows[0]).getByRole("link")).toHaveTextContent("Samsung beats estimates");
    expect(rows[0]).toHaveTextContent("demo");
    expect(rows[0]).toHaveTextContent("10/30/24");
    const sentiment = rows.map((r) => within(r).getByTestId("news-sentiment"));
    expect(sentiment[0]).toHaveTextContent("+0.62");
    expect(sentiment[0]).toHaveClass("pos");
    expect(sentiment[0]).toHaveAttribute("title", "Scored by: vader");
    expect(sentiment[1]).toHaveTextContent("-0.41");
    expect(sentiment[1]).toHaveClass("neg");
    expect(sentiment[2]).toHaveTextContent("—");
    expect(sentiment[2]).not.toHaveClass("pos");
    expect(sentiment[2]).not.toHaveClass("neg");
    expect(sentiment[2]).toHaveAttribute("title", "Not scored");
    // A feed's script address is shown as text, never as a link.
    expect(within(rows[3]).queryByRole("link")).toBeNull();
    expect(rows[3]).toHaveTextContent("feed with a script link");
    expect(screen.getByRole("columnheader", { name: "Sentiment" })).toHaveAttribute("scope", "col");
  });

  it("loads the next page from next_offset and hides 'More' at the end", async () => {
    const seen = installFakeApi({ "/api/v1/market/news": newsPage });
    render(wrap(<NewsCard symbol="005930" />));
    await screen.findAllByTestId("news-row");
    fireEvent.click(screen.getByRole("button", { name: "More" }));
    await waitFor(() => expect(screen.getAllByTestId("news-row")).toHaveLength(25));
    expect(seen.map((u) => u.searchParams.get("offset"))).toEqual(["0", "20"]);
    expect(screen.getAllByTestId("news-row").map((r) => within(r).getAllByRole("cell")[1].textContent)).toEqual(
      STORED.map((n) => n.headline + (n.url.startsWith("https") ? " (opens in a new tab)" : "")),
    );
    expect(screen.queryByRole("button", { name: "More" })).toBeNull();
  });

  it("says so when the symbol has no news, in Korean too", async () => {
    localStorage.setItem("qts.lang", "ko");
    installFakeApi({ "/api/v1/market/news": newsPage });
    render(wrap(<NewsCard symbol="AAPL" />));
    expect(await screen.findByText("이 종목의 저장된 뉴스가 없습니다")).toBeInTheDocument();
    expect(screen.queryByRole("table")).toBeNull();
    expect(screen.queryByRole("button")).toBeNull();
  });

  it("shows the server's error", async () => {
    installFakeApi({});
    render(wrap(<NewsCard symbol="005930" />));
    expect(await screen.findByRole("alert")).toHaveTextContent("no route /api/v1/market/news");
  });
});

function point(over: Partial<Schemas["AccountPoint"]>): Schemas["AccountPoint"] {
  return {
    ts: "2024-10-30T00:00:00Z", cash: null, positions_value: 0, equity: null, realized_pnl: 0, unrealized_pnl: 0,
    fees: 0, open_positions: 0, pnl: null, fx_rates: {}, missing_fx: [], ...over,
  };
}

describe("cash per currency", () => {
  const held = point({ currency: "KRW", cash_by_currency: { KRW: 8_500_000, USD: 1_200.5 }, fx_rates: { "USD/KRW": 1380.25 } });

  it("shows won without decimals and dollars with cents, with the rates as a tooltip", () => {
    localStorage.setItem("qts.lang", "ko");
    render(wrap(<CashByCurrency point={held} />));
    const cell = screen.getByTestId("cash-by-currency");
    expect([...cell.children].map((c) => c.textContent)).toEqual(["₩8,500,000", "US$1,200.50"]);
    expect(cell).toHaveAttribute("title", "USD/KRW 1,380.25");
  });

  it("formats dollars the English way and shows a dash when cash is unknown", () => {
    const { container } = render(wrap(<><CashByCurrency point={held} /><CashByCurrency point={point({ cash_by_currency: null })} /></>));
    expect([...screen.getByTestId("cash-by-currency").children].map((c) => c.textContent)).toEqual(["₩8,500,000", "$1,200.50"]);
    expect(container.textContent).toMatch(/–$/);
  });

  it("warns about each missing FX rate with the command that fetches it", () => {
    const { container } = render(wrap(<><MissingFx account="paper" pairs={["USD/KRW"]} /><MissingFx account="live:kis" pairs={[]} /></>));
    expect(screen.getAllByTestId("missing-fx")).toHaveLength(1);
    expect(container).toHaveTextContent("paper: No FX rate for USD/KRW: run qts data fx fetch --pair USD/KRW");
  });
});

describe("training form", () => {
  it("suggests a stored symbol once and leaves a field the user cleared empty", async () => {
    installFakeApi({
      "/api/v1/market/datasets": () => [
        { exchange: "XKRX", symbol: "000660", timeframe: "1d", bars: 10, first: "2024-01-02", last: "2024-01-15" },
      ],
    });
    render(wrap(<TrainingForm onStarted={() => {}} />));
    const field = screen.getByLabelText("Symbols") as HTMLInputElement;
    await waitFor(() => expect(field.value).toBe("000660"));
    fireEvent.change(field, { target: { value: "" } });
    await new Promise((r) => setTimeout(r, 50));
    expect(field.value).toBe("");
    fireEvent.change(field, { target: { value: "005930" } });
    expect(field.value).toBe("005930");
  });
});
