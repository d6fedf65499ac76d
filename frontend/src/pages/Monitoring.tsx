import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { Card, ErrorText, KeyValues, Loading, StatusBadge } from "../components/ui";
import { formatTime } from "../format";
import { useLiveInvalidate } from "../hooks";
import { useI18n } from "../i18n";
import { ModelDrift } from "./ModelDrift";

export default function MonitoringPage() {
  const { t, locale } = useI18n();
  useLiveInvalidate("system", [["monitor"]]);
  const mon = useQuery({
    queryKey: ["monitor"],
    queryFn: () => unwrap(api.GET("/api/v1/system/monitor")),
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
            {/* A component not checked in this mode is null; an error is a plain string. */}
            {Object.entries(mon.data.components).map(([name, c]) =>
              c === null || c === undefined ? null : typeof c === "object" ? (
                <details key={name}>
                  <summary>{name}</summary>
                  <KeyValues data={c as Record<string, unknown>} />
                </details>
              ) : (
                <p key={name} className="error">
                  {name}: {String(c)}
                </p>
              ),
            )}
          </>
        )}
      </Card>
      <ModelDrift />
    </>
  );
}
