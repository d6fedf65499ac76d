import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { LineChart, timeLine } from "../components/charts";
import { ErrorText, Loading } from "../components/ui";
import { useI18n } from "../i18n";

/** An account's equity and P&L over time: the stored snapshots, then the figures now.
 * Its own module so the chart library loads only when the dashboard draws it. */
export default function AccountEquity({ account }: { account: string }) {
  const { t } = useI18n();
  const q = useQuery({
    queryKey: ["accounts", "equity", account],
    queryFn: () => unwrap(api.GET("/api/v1/accounts/equity", { params: { query: { account, limit: 2000 } } })),
  });
  if (q.isLoading) return <Loading />;
  if (!q.data) return <ErrorText error={q.error} />;
  const points = [...q.data.points, q.data.now];
  const equity = timeLine(points, (p) => p.ts, (p) => p.equity);
  const pnl = timeLine(points, (p) => p.ts, (p) => p.pnl);
  // Live accounts have no equity here (their cash is at the broker): their P&L instead.
  const series = equity.length
    ? [{ name: t("equity"), color: "#2f6fd6", data: equity, area: true }]
    : [{ name: "P&L", color: "#e08a1e", data: pnl }];
  return (
    <div data-testid="equity-history" data-points={points.length}>
      <LineChart series={series} label={`${t("equityHistory")} · ${account}`} height={200} />
    </div>
  );
}
