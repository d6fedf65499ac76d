import { memo, useMemo, useRef, useState } from "react";
import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { api, unwrap, type Schemas } from "../api/client";
import { useAuth } from "../auth";
import { Card, ErrorText, KeyValues, Loading, StatusBadge } from "../components/ui";
import { formatMoney, formatNumber, formatTime } from "../format";
import { useLiveInvalidate } from "../hooks";
import { useI18n } from "../i18n";
import { PositionsTable, useCurrency, type Order } from "./common";

const PAGE = 200;
const ROW_PX = 34;
const OPEN = new Set(["new", "submitting", "submitted", "partially_filled"]);
const STATUSES: Schemas["OrderStatus"][] = ["new", "submitting", "submitted", "partially_filled", "filled", "cancelled", "rejected", "expired"];

interface Filters {
  symbol: string;
  status: string;
  side: string;
  account: string;
  strategy_id: string;
}

export default function OrdersPage() {
  const { t } = useI18n();
  const [filters, setFilters] = useState<Filters>({ symbol: "", status: "", side: "", account: "", strategy_id: "" });
  const [selected, setSelected] = useState<number | null>(null);
  useLiveInvalidate("orders", [["orders"], ["positions"]]);
  useLiveInvalidate("positions", [["positions"]]);
  const positions = useQuery({ queryKey: ["positions"], queryFn: () => unwrap(api.GET("/api/v1/positions")) });
  return (
    <>
      <h1>{t("orders")}</h1>
      <FilterBar filters={filters} onChange={setFilters} />
      <OrderTable filters={filters} onSelect={setSelected} />
      {selected !== null && <OrderDetail id={selected} onClose={() => setSelected(null)} />}
      <Card title={t("positions")} id="orders-pos-title">
        {positions.isLoading ? <Loading /> : <PositionsTable positions={positions.data ?? []} />}
      </Card>
    </>
  );
}

function FilterBar({ filters, onChange }: { filters: Filters; onChange: (f: Filters) => void }) {
  const { t } = useI18n();
  const set = (k: keyof Filters, v: string) => onChange({ ...filters, [k]: v });
  return (
    <form className="filters form-grid" aria-label={t("filters")} onSubmit={(e) => e.preventDefault()}>
      <div className="field">
        <label htmlFor="f-symbol">{t("symbol")}</label>
        <input id="f-symbol" value={filters.symbol} onChange={(e) => set("symbol", e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="f-status">{t("status")}</label>
        <select id="f-status" value={filters.status} onChange={(e) => set("status", e.target.value)}>
          <option value="">{t("all")}</option>
          {STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-side">{t("side")}</label>
        <select id="f-side" value={filters.side} onChange={(e) => set("side", e.target.value)}>
          <option value="">{t("all")}</option>
          <option value="buy">{t("buy")}</option>
          <option value="sell">{t("sell")}</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-account">{t("account")}</label>
        <input id="f-account" value={filters.account} onChange={(e) => set("account", e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="f-strategy">{t("strategy")} ID</label>
        <input id="f-strategy" inputMode="numeric" value={filters.strategy_id} onChange={(e) => set("strategy_id", e.target.value.replace(/\D/g, ""))} />
      </div>
    </form>
  );
}

function queryOf(f: Filters, offset: number) {
  return {
    limit: PAGE,
    offset,
    ...(f.symbol ? { symbol: f.symbol.trim() } : {}),
    ...(f.status ? { status: [f.status as Schemas["OrderStatus"]] } : {}),
    ...(f.side ? { side: f.side as "buy" | "sell" } : {}),
    ...(f.account ? { account: f.account.trim() } : {}),
    ...(f.strategy_id ? { strategy_id: Number(f.strategy_id) } : {}),
  };
}

/** Every order matching the filters in one scrolling table; only the rows in view are in the
 * DOM, and pages of 200 are fetched as they scroll into view. */
function OrderTable({ filters, onSelect }: { filters: Filters; onSelect: (id: number) => void }) {
  const { t, locale } = useI18n();
  const { can } = useAuth();
  const ccy = useCurrency();
  const qc = useQueryClient();
  const scroller = useRef<HTMLDivElement>(null);
  const first = useQuery({
    queryKey: ["orders", "page", filters, 0],
    queryFn: () => unwrap(api.GET("/api/v1/orders", { params: { query: queryOf(filters, 0) } })),
  });
  const total = first.data?.total ?? 0;
  const virtual = useVirtualizer({ count: total, getScrollElement: () => scroller.current, estimateSize: () => ROW_PX, overscan: 10 });
  const items = virtual.getVirtualItems();
  // The pages under the visible rows, as a stable array while they stay the same.
  const pageKey = [...new Set(items.map((i) => Math.floor(i.index / PAGE)))].filter((p) => p > 0).join(",");
  const pagesNeeded = useMemo(() => (pageKey ? pageKey.split(",").map(Number) : []), [pageKey]);
  const pages = useQueries({
    queries: pagesNeeded.map((p) => ({
      queryKey: ["orders", "page", filters, p],
      queryFn: () => unwrap(api.GET("/api/v1/orders", { params: { query: queryOf(filters, p * PAGE) } })),
      staleTime: 10_000,
    })),
  });
  const rowAt = (index: number): Order | undefined => {
    const p = Math.floor(index / PAGE);
    const data = p === 0 ? first.data : pages[pagesNeeded.indexOf(p)]?.data;
    return data?.items[index - p * PAGE];
  };
  const cancel = useMutation({
    mutationFn: (id: number) => unwrap(api.POST("/api/v1/orders/{order_id}/cancel", { params: { path: { order_id: id } } })),
    onSettled: () => qc.invalidateQueries({ queryKey: ["orders"] }),
  });
  const cols = "12rem 6rem 4rem 5rem 7rem 7rem 8rem 7rem 1fr 5rem";
  return (
    <Card title={`${t("orderList")} · ${formatNumber(total, locale, 0)}`} id="orders-table-title">
      <ErrorText error={first.error ?? cancel.error} />
      <div className="vtable" role="table" aria-label={t("orders")} aria-rowcount={total + 1}>
        <div className="vrow vhead" role="row" style={{ gridTemplateColumns: cols }}>
          {["time", "symbol", "side", "type", "quantity", "filled", "price", "status", "account"].map((k) => (
            <span role="columnheader" key={k}>
              {t(k as never)}
            </span>
          ))}
          <span role="columnheader">{can("trader") ? t("cancel") : ""}</span>
        </div>
        <div ref={scroller} role="rowgroup" className="vbody" data-testid="orders-scroller" tabIndex={0} aria-label={t("orders")}>
          <div role="presentation" style={{ height: virtual.getTotalSize(), position: "relative" }}>
            {items.map((v) => {
              const o = rowAt(v.index);
              return (
                <OrderVRow
                  key={v.key}
                  index={v.index}
                  start={v.start}
                  cols={cols}
                  order={o}
                  currency={o ? ccy(o.symbol) : ""}
                  canCancel={can("trader")}
                  onSelect={onSelect}
                  onCancel={cancel.mutate}
                />
              );
            })}
          </div>
        </div>
      </div>
    </Card>
  );
}

interface RowProps {
  index: number;
  start: number;
  cols: string;
  order: Order | undefined;
  currency: string;
  canCancel: boolean;
  onSelect: (id: number) => void;
  onCancel: (id: number) => void;
}

/** One table row; memoised so scrolling re-renders only the rows that moved in. */
const OrderVRow = memo(function OrderVRow({ index, start, cols, order: o, currency, canCancel, onSelect, onCancel }: RowProps) {
  const { t, locale } = useI18n();
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      className="vrow"
      data-testid="order-vrow"
      style={{ gridTemplateColumns: cols, transform: `translateY(${start}px)`, height: ROW_PX }}
    >
      {o ? (
        <>
          <span role="cell">
            <button type="button" className="link" onClick={() => onSelect(o.id)}>
              {formatTime(o.created_at, locale)}
            </button>
          </span>
          <span role="cell">{o.symbol}</span>
          <span role="cell" className={o.side === "buy" ? "pos" : "neg"}>
            {t(o.side === "buy" ? "buy" : "sell")}
          </span>
          <span role="cell">{o.type}</span>
          <span role="cell" className="num">
            {formatNumber(o.quantity, locale, 8)}
          </span>
          <span role="cell" className="num">
            {formatNumber(o.filled_quantity, locale, 8)}
          </span>
          <span role="cell" className="num">
            {formatMoney(o.average_fill_price ?? o.limit_price, currency, locale)}
          </span>
          <span role="cell">
            <StatusBadge value={o.status} />
          </span>
          <span role="cell">{o.account}</span>
          <span role="cell">
            {canCancel && OPEN.has(o.status) && (
              <button type="button" data-write="" className="danger small" onClick={() => onCancel(o.id)}>
                {t("cancel")}
              </button>
            )}
          </span>
        </>
      ) : (
        <span role="cell" className="muted">
          …
        </span>
      )}
    </div>
  );
});

function OrderDetail({ id, onClose }: { id: number; onClose: () => void }) {
  const { t, locale } = useI18n();
  const ccy = useCurrency();
  const q = useQuery({ queryKey: ["orders", "detail", id], queryFn: () => unwrap(api.GET("/api/v1/orders/{order_id}", { params: { path: { order_id: id } } })) });
  const o = q.data;
  const meta = (o?.meta ?? {}) as Record<string, unknown>;
  const modelVersion = meta.model_version ?? meta.model ?? null;
  return (
    <Card title={`${t("details")} #${id}`} id="order-detail-title" actions={<button type="button" onClick={onClose}>{t("close")}</button>}>
      {q.isLoading && <Loading />}
      <ErrorText error={q.error} />
      {o && (
        <>
          <KeyValues
            data={{
              client_order_id: o.client_order_id,
              [t("symbol")]: o.symbol,
              [t("side")]: o.side,
              [t("status")]: o.status,
              [t("account")]: o.account,
              [t("strategy")]: o.strategy_id ?? "–",
              [t("modelVersion")]: modelVersion === null ? "–" : String(modelVersion),
              ...(o.reject_reason ? { reject: `${o.reject_rule}: ${o.reject_reason}` } : {}),
            }}
          />
          <h3>{t("events")}</h3>
          <ol className="events">
            {o.events.map((e, i) => (
              <li key={i}>
                {formatTime(e.ts, locale)} · {e.from_status || "∅"} → <strong>{e.to_status}</strong> {Object.keys(e.details ?? {}).length ? JSON.stringify(e.details) : ""}
              </li>
            ))}
          </ol>
          <h3>{t("fills")}</h3>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("time")}</th>
                <th scope="col">{t("quantity")}</th>
                <th scope="col">{t("price")}</th>
                <th scope="col">{t("fees")}</th>
              </tr>
            </thead>
            <tbody>
              {o.fills.map((f) => (
                <tr key={f.fill_id}>
                  <td>{formatTime(f.ts, locale)}</td>
                  <td className="num">{formatNumber(f.quantity, locale, 8)}</td>
                  <td className="num">{formatMoney(f.price, ccy(o.symbol), locale)}</td>
                  <td className="num">{formatMoney(f.fee, ccy(o.symbol), locale)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <details>
            <summary>meta</summary>
            <pre className="small">{JSON.stringify(meta, null, 1)}</pre>
          </details>
        </>
      )}
    </Card>
  );
}
