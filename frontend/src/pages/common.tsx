import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";
import { currencyOf, formatMoney, formatNumber, formatTime, pnlClass } from "../format";
import { useI18n } from "../i18n";
import { StatusBadge } from "../components/ui";

export type Order = Schemas["OrderRecord"];
export type Position = Schemas["PositionRecord"];

export interface SymbolInfo {
  symbol: string;
  exchange?: string;
  currency?: string;
  asset_class?: string;
}

/** Currency per symbol from the symbol master, falling back to the symbol's shape. */
export function useCurrency(): (symbol: string) => string {
  const q = useQuery({
    queryKey: ["symbols"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/market/symbols"))) as unknown as SymbolInfo[],
    staleTime: 300_000,
  });
  const map = new Map((q.data ?? []).map((s) => [s.symbol, s.currency]));
  return (symbol) => {
    const c = map.get(symbol);
    return c ? (c === "USDT" ? "USD" : c) : currencyOf(symbol);
  };
}

export function OrderRows({ orders, onSelect }: { orders: Order[]; onSelect?: (o: Order) => void }) {
  const { t, locale } = useI18n();
  const ccy = useCurrency();
  return (
    <>
      {orders.map((o) => (
        <tr key={o.id} data-testid="order-row" onClick={onSelect ? () => onSelect(o) : undefined}>
          <td>{formatTime(o.created_at, locale)}</td>
          <td>{o.symbol}</td>
          <td className={o.side === "buy" ? "pos" : "neg"}>{t(o.side === "buy" ? "buy" : "sell")}</td>
          <td>{o.type}</td>
          <td className="num">{formatNumber(o.quantity, locale, 8)}</td>
          <td className="num">{formatNumber(o.filled_quantity, locale, 8)}</td>
          <td className="num">{formatMoney(o.average_fill_price ?? o.limit_price, ccy(o.symbol), locale)}</td>
          <td>
            <StatusBadge value={o.status} />
          </td>
          <td>{o.account}</td>
        </tr>
      ))}
    </>
  );
}

export function OrderHead() {
  const { t } = useI18n();
  return (
    <tr>
      <th scope="col">{t("time")}</th>
      <th scope="col">{t("symbol")}</th>
      <th scope="col">{t("side")}</th>
      <th scope="col">{t("type")}</th>
      <th scope="col">{t("quantity")}</th>
      <th scope="col">{t("filled")}</th>
      <th scope="col">{t("price")}</th>
      <th scope="col">{t("status")}</th>
      <th scope="col">{t("account")}</th>
    </tr>
  );
}

export function PositionsTable({ positions }: { positions: Position[] }) {
  const { t, locale } = useI18n();
  const ccy = useCurrency();
  if (!positions.length) return <p className="muted">{t("none")}</p>;
  return (
    <div className="table-wrap" tabIndex={0}>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("account")}</th>
            <th scope="col">{t("symbol")}</th>
            <th scope="col">{t("quantity")}</th>
            <th scope="col">{t("avgPrice")}</th>
            <th scope="col">{t("lastPrice")}</th>
            <th scope="col">{t("unrealized")}</th>
            <th scope="col">{t("realized")}</th>
          </tr>
        </thead>
        <tbody>
          {positions.map((p) => {
            const c = ccy(p.symbol);
            return (
              <tr key={`${p.account}-${p.symbol}`} data-testid="position-row">
                <td>{p.account}</td>
                <td>{p.symbol}</td>
                <td className="num">{formatNumber(p.quantity, locale, 8)}</td>
                <td className="num">{formatMoney(p.average_price, c, locale)}</td>
                <td className="num">{formatMoney(p.last_price, c, locale)}</td>
                <td className={`num ${pnlClass(p.unrealized_pnl)}`}>{formatMoney(p.unrealized_pnl, c, locale)}</td>
                <td className={`num ${pnlClass(p.realized_pnl)}`}>{formatMoney(p.realized_pnl, c, locale)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export interface AccountSummary {
  account: string;
  currency: string;
  marketValue: number;
  unrealized: number;
  realized: number;
  fees: number;
}

/** Per account and currency: market value and P&L summed over its positions. */
export function summariseAccounts(positions: Position[], ccy: (s: string) => string): AccountSummary[] {
  const by = new Map<string, AccountSummary>();
  for (const p of positions) {
    const currency = ccy(p.symbol);
    const key = `${p.account}|${currency}`;
    const a = by.get(key) ?? { account: p.account, currency, marketValue: 0, unrealized: 0, realized: 0, fees: 0 };
    a.marketValue += p.quantity * (p.last_price ?? p.average_price);
    a.unrealized += p.unrealized_pnl ?? 0;
    a.realized += p.realized_pnl;
    a.fees += p.fees;
    by.set(key, a);
  }
  return [...by.values()].sort((a, b) => a.account.localeCompare(b.account) || a.currency.localeCompare(b.currency));
}
