import { useQuery } from "@tanstack/react-query";
import { api, optionalGet, unwrap } from "../api/client";
import { Card, ErrorText, KeyValues, Loading, NotAvailable, StatusBadge } from "../components/ui";
import { formatTime } from "../format";
import { useLiveInvalidate } from "../hooks";
import { useI18n } from "../i18n";

interface Monitor {
  status: string;
  checked_at: string | null;
  components: Record<string, Record<string, unknown>>;
}

export default function MonitoringPage() {
  const { t, locale } = useI18n();
  useLiveInvalidate("system", [["monitor"]]);
  const mon = useQuery({
    queryKey: ["monitor"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/system/monitor"))) as unknown as Monitor,
    refetchInterval: 30_000,
  });
  const drift = useQuery({ queryKey: ["ml-monitoring"], queryFn: () => optionalGet<unknown>("/api/v1/ml/monitoring") });
  return (
    <>
      <h1>{t("monitoring")}</h1>
      <Card title={t("system")} id="mon-sys-title">
        {mon.isLoading && <Loading />}
        <ErrorText error={mon.error} />
        {mon.data && (
          <>
            <p>
              <StatusBadge value={mon.data.status} /> {t("checkedAt")}: {formatTime(mon.data.checked_at, locale)}
            </p>
            {Object.entries(mon.data.components).map(([name, c]) => (
              <details key={name}>
                <summary>{name}</summary>
                <KeyValues data={c} />
              </details>
            ))}
          </>
        )}
      </Card>
      <Card title={`${t("drift")} · IC`} id="mon-drift-title">
        {drift.isLoading && <Loading />}
        {drift.data === null && <NotAvailable />}
        {drift.data != null && <pre className="small">{JSON.stringify(drift.data, null, 1)}</pre>}
      </Card>
    </>
  );
}
