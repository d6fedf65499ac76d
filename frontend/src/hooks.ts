import { useEffect, useState } from "react";
import { useQueryClient, type QueryKey } from "@tanstack/react-query";
import { live } from "./auth";
import type { LiveEvent, LiveStatus } from "./api/live";

/** Run `handler` for every event on `topic` while mounted. */
export function useLive(topic: string | null, handler: (e: LiveEvent) => void): void {
  useEffect(() => {
    if (!topic) return;
    return live.subscribe(topic, handler);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [topic]);
}

/** Refetch the given queries when `topic` has news (throttled to one refetch per 250 ms). */
export function useLiveInvalidate(topic: string, keys: QueryKey[]): void {
  const qc = useQueryClient();
  useEffect(() => {
    let pending: ReturnType<typeof setTimeout> | null = null;
    const off = live.subscribe(topic, () => {
      if (pending) return;
      pending = setTimeout(() => {
        pending = null;
        for (const k of keys) void qc.invalidateQueries({ queryKey: k });
      }, 250);
    });
    return () => {
      off();
      if (pending) clearTimeout(pending);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [topic, qc]);
}

export function useLiveStatus(): LiveStatus {
  const [s, setS] = useState<LiveStatus>(live.status);
  useEffect(() => live.onStatus(setS), []);
  return s;
}
