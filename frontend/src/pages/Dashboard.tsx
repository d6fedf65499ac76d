import { lazy, Suspense, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";
import { useAuth } from "../auth";
import { Card, ConfirmDialog, ErrorText, KeyValues, Loading, StatusBadge } from "../components/ui";
import { formatMoney, formatNumber, formatTime, pnlClass } from "../format";
import { useLiveInvalidate } from "../hooks";
import { useI18n } from "../i18n";
import { OrderHead, OrderRows, PositionsTable, useCurrency } from "./common";

const AccountEquity = lazy(() => import("./AccountEquity"));

interface JobsResponse {
  runs: { id: number; job: string; outcome: string; started_at: string; duration_s?: number }[];
  schedule: { name: string; trigger: string; enabled: boolean; next_run: string | null; description: string }[];
}

export function DashboardPage() {
  const { t } = useI18n();
  useLiveInvalidate("orders", [["orders"], ["positions"]]);
  useLiveInvalidate("fills", [["orders", "fills"], ["positions"], ["accounts"]]);
  useLiveInvalidate("accounts", [["accounts"]]);
  useLiveInvalidate("positions", [["positions"]]);
  useLiveInvalidate("system", [["kill-switch"], ["status"]]);
  useLiveInvalidate("jobs", [["jobs"]]);
  return (
    <>
      <h1>{t("dashboard")}</h1>
      <div className="dash">
        <div className="dash-main">
          <LatestOrders />
          <Positions />
        </div>
        <div className="dash-side">
          <KillSwitch />
          <Accounts />
          <SystemStatus />
          <Jobs />
        </div>
      </div>
    </>
  );
}

function SystemStatus() {
  const { t } = useI18n();
  const q = useQuery({ queryKey: ["status"], queryFn: () => unwrap(api.GET("/api/v1/system/status")), refetchInterval: 30_000 });
  const d = q.data as Record<string, unknown> | undefined;
  const components = (d?.components ?? {}) as Record<string, { ok?: boolean } | null>;
  return (
    <Card title={t("system")} id="sys-title">
      {q.isLoading && <Loading />}
      <ErrorText error={q.error} />
      {d && (
        <>
          <KeyValues data={{ [t("version")]: d.version, [t("mode")]: d.mode, database: d.database, profile: d.profile }} />
          <ul className="plain">
            {Object.entries(components).map(([name, c]) => (
              <li key={name}>
                <StatusBadge value={c?.ok === false ? "down" : "ok"} /> {name}
              </li>
            ))}
          </ul>
        </>
      )}
    </Card>
  );
}

function KillSwitch() {
  const { t } = useI18n();
  const { can } = useAuth();
  const qc = useQueryClient();
  const [asking, setAsking] = useState(false);
  const q = useQuery({ queryKey: ["kill-switch"], queryFn: () => unwrap(api.GET("/api/v1/system/kill-switch")) });
  const on = Boolean((q.data as { on?: boolean } | undefined)?.on);
  const m = useMutation({
    mutationFn: (next: boolean) => unwrap(api.POST("/api/v1/system/kill-switch", { body: { on: next } })),
    onSettled: () => qc.invalidateQueries({ queryKey: ["kill-switch"] }),
  });
  return (
    <Card title={t("killSwitch")} id="kill-title">
      <p className={on ? "kill-on" : ""} data-testid="kill-state">
        {on ? t("killOn") : t("killOff")}
      </p>
      {can("trader") && (
        <button type="button" data-write="" className={on ? "" : "danger"} onClick={() => setAsking(true)} disabled={q.isLoading || m.isPending}>
          {on ? t("turnOff") : t("turnOn")}
        </button>
      )}
      <ErrorText error={m.error} />
      <ConfirmDialog
        open={asking}
        message={on ? t("confirmKillOff") : t("confirmKillOn")}
        onCancel={() => setAsking(false)}
        onConfirm={() => {
          setAsking(false);
          m.mutate(!on);
        }}
      />
    </Card>
  );
}

function Accounts() {
  const { t, locale } = useI18n();
  const ccy = useCurrency();
  const positions = useQuery({ queryKey: ["positions"], queryFn: () => unwrap(api.GET("/api/v1/positions")) });
  const q = useQuery({ queryKey: ["accounts", "list"], queryFn: () => unwrap(api.GET("/api/v1/accounts")) });
  const [picked, setPicked] = useState<string | null>(null);
  const rows = q.data ?? [];
  const selected = rows.find((a) => a.account === picked)?.account ?? rows[0]?.account;
  // The account's base currency, else that of its positions; mixed or none: plain numbers.
  const currencyOf = (a: Schemas["AccountSummary"]) => {
    if (a.now.currency) return a.now.currency;
    const set = new Set((positions.data ?? []).filter((p) => p.account === a.account).map((p) => ccy(p.symbol)));
    return set.size === 1 ? [...set][0] : null;
  };
  return (
    <Card title={t("accounts")} id="acct-title">
      {q.isLoading && <Loading />}
      <ErrorText error={q.error} />
      {q.data && !rows.length && <p className="muted">{t("none")}</p>}
      {rows.length > 0 && (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("account")}</th>
                <th scope="col">{t("equity")}</th>
                <th scope="col">{t("cashHeld")}</th>
                <th scope="col">P&amp;L</th>
                <th scope="col">{t("unrealized")}</th>
                <th scope="col">{t("realized")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => {
                const c = currencyOf(a);
                const money = (v: number | null) => (c ? formatMoney(v, c, locale) : formatNumber(v, locale));
                return (
                  <tr key={a.account} data-testid="account-row">
                    <td>
                      <button type="button" className="link" onClick={() => setPicked(a.account)} aria-pressed={a.account === selected}>
                        {a.account}
                      </button>
                    </td>
                    <td className="num">{money(a.now.equity)}</td>
                    <td className="num">
                      <CashByCurrency point={a.now} />
                    </td>
                    <td className={`num ${pnlClass(a.now.pnl)}`}>{money(a.now.pnl)}</td>
                    <td className={`num ${pnlClass(a.now.unrealized_pnl)}`}>{money(a.now.unrealized_pnl)}</td>
                    <td className={`num ${pnlClass(a.now.realized_pnl)}`}>{money(a.now.realized_pnl)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {rows.map((a) => (
        <MissingFx key={a.account} account={a.account} pairs={a.now.missing_fx ?? []} />
      ))}
      {selected && (
        <>
          <h3>
            {t("equityHistory")} · {selected}
          </h3>
          <Suspense fallback={<Loading />}>
            <AccountEquity account={selected} />
          </Suspense>
        </>
      )}
    </Card>
  );
}

/** Cash held in each currency (₩ without decimals, $ with cents); the rates used as a tooltip. */
export function CashByCurrency({ point }: { point: Schemas["AccountPoint"] }) {
  const { locale } = useI18n();
  const held = Object.entries(point.cash_by_currency ?? {});
  if (!held.length) return <>–</>;
  const rates = Object.entries(point.fx_rates ?? {}).map(([pair, r]) => `${pair} ${formatNumber(r, locale, 4)}`);
  return (
    <span className="cash-list" title={rates.join(", ") || undefined} data-testid="cash-by-currency">
      {held.map(([ccy, v]) => (
        <span key={ccy}>{formatMoney(v, ccy, locale)}</span>
      ))}
    </span>
  );
}

/** Pairs an account's figures need but that have no stored rate, with the command that fetches them. */
export function MissingFx({ account, pairs }: { account: string; pairs: string[] }) {
  const { t } = useI18n();
  if (!pairs.length) return null;
  return (
    <ul className="plain warn" data-testid="missing-fx">
      {pairs.map((p) => (
        <li key={p}>
          {account}: {t("missingFx").replaceAll("{pair}", p)}
        </li>
      ))}
    </ul>
  );
}

function Positions() {
  const { t } = useI18n();
  const q = useQuery({ queryKey: ["positions"], queryFn: () => unwrap(api.GET("/api/v1/positions")) });
  return (
    <Card title={t("positions")} id="pos-title">
      {q.isLoading ? <Loading /> : <PositionsTable positions={q.data ?? []} />}
    </Card>
  );
}

function LatestOrders() {
  const { t } = useI18n();
  const q = useQuery({
    queryKey: ["orders", "latest"],
    queryFn: () => unwrap(api.GET("/api/v1/orders", { params: { query: { limit: 15 } } })),
  });
  const fills = useQuery({
    queryKey: ["orders", "fills"],
    queryFn: () => unwrap(api.GET("/api/v1/orders", { params: { query: { limit: 10, status: ["filled", "partially_filled"] } } })),
  });
  return (
    <Card title={t("latestOrders")} id="orders-title">
      <ErrorText error={q.error} />
      {q.isLoading && <Loading />}
      {q.data && !q.data.items.length && <p className="muted">{t("none")}</p>}
      {q.data && q.data.items.length > 0 && (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption className="sr-only">{t("latestOrders")}</caption>
            <thead>
              <OrderHead />
            </thead>
            <tbody>
              <OrderRows orders={q.data.items} />
            </tbody>
          </table>
        </div>
      )}
      <h3>{t("latestFills")}</h3>
      {fills.data && fills.data.items.length > 0 ? (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption className="sr-only">{t("latestFills")}</caption>
            <thead>
              <OrderHead />
            </thead>
            <tbody>
              <OrderRows orders={fills.data.items} />
            </tbody>
          </table>
        </div>
      ) : (
        <p className="muted">{t("none")}</p>
      )}
    </Card>
  );
}

function Jobs() {
  const { t, locale } = useI18n();
  const q = useQuery({ queryKey: ["jobs"], queryFn: async () => (await unwrap(api.GET("/api/v1/system/jobs"))) as unknown as JobsResponse });
  return (
    <Card title={t("jobs")} id="jobs-title">
      {q.isLoading && <Loading />}
      {q.data && (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("name")}</th>
                <th scope="col">trigger</th>
                <th scope="col">next</th>
                <th scope="col">{t("last")}</th>
              </tr>
            </thead>
            <tbody>
              {q.data.schedule.map((s) => {
                const last = q.data.runs.find((r) => r.job === s.name);
                return (
                  <tr key={s.name}>
                    <td title={s.description}>{s.name}</td>
                    <td>{s.trigger}</td>
                    <td>{s.enabled ? formatTime(s.next_run, locale) : "–"}</td>
                    <td>{last ? <StatusBadge value={last.outcome} /> : "–"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
