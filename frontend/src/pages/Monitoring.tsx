import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { Card, ErrorText, KeyValues, Loading, StatusBadge } from "../components/ui";
import { formatTime } from "../format";
import { useLiveInvalidate } from "../hooks";
import { useI18n } from "../i18n";
import { ModelDrift } from "./ModelDrift";

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
      <ModelDrift />
    </>
  );
}
