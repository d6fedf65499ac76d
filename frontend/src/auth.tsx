import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, session, unwrap, type Schemas } from "./api/client";
import { LiveSocket } from "./api/live";

export type Role = "admin" | "trader" | "viewer";
const RANK: Record<Role, number> = { viewer: 0, trader: 1, admin: 2 };

export const live = new LiveSocket({
  url: () => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`,
  token: () => session.accessToken,
  refreshToken: (stale) => session.refresh(stale),
});

interface AuthState {
  user: Schemas["UserRecord"] | null;
  loggedIn: boolean;
  can: (role: Role) => boolean;
}
const Ctx = createContext<AuthState>({ user: null, loggedIn: false, can: () => false });

export function AuthProvider({ children }: { children: ReactNode }) {
  const [loggedIn, setLoggedIn] = useState(() => session.accessToken !== null);
  const qc = useQueryClient();
  useEffect(
    () =>
      session.onChange((t) => {
        setLoggedIn(t !== null);
        if (t === null) qc.clear();
      }),
    [qc],
  );
  useEffect(() => {
    if (loggedIn) live.start();
    else live.stop();
  }, [loggedIn]);
  const me = useQuery({
    queryKey: ["me"],
    queryFn: () => unwrap(api.GET("/api/v1/auth/me")),
    enabled: loggedIn,
    staleTime: 60_000,
  });
  const value = useMemo<AuthState>(() => {
    const user = loggedIn ? (me.data ?? null) : null;
    return { user, loggedIn, can: (r) => !!user && RANK[user.role as Role] >= RANK[r] };
  }, [loggedIn, me.data]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useAuth(): AuthState {
  return useContext(Ctx);
}
