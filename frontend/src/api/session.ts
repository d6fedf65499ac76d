// Access + refresh tokens shared by every tab of the dashboard. A refresh is single-flight:
// within a tab one promise is shared, and across tabs a Web Lock serialises refreshes so a
// refresh token is spent once (the server revokes a family when a spent token is replayed);
// a tab that waited for the lock picks up the pair the other tab stored. A BroadcastChannel
// tells the other tabs about logins, refreshes and logouts. Each tab's localStorage copy
// takes the other tab's write a moment later (Chromium syncs renderer processes
// asynchronously), so a tab that had to wait for the lock gives that write `settleMs` to
// arrive before it decides the pair is still stale.

export interface TokenPair {
  access_token: string;
  refresh_token: string;
}

export interface LockManagerLike {
  // navigator.locks: with `ifAvailable` the callback gets null when another tab holds it.
  request<T>(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<T>): Promise<T>;
}

export interface SessionOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  storage?: Storage;
  locks?: LockManagerLike | null;
  channel?: BroadcastChannel | null;
  settleMs?: number;
}

type Listener = (tokens: TokenPair | null) => void;
const STORAGE_KEY = "qts.tokens";
const LOCK_NAME = "qts.refresh";

export class Session {
  private readonly baseUrl: string;
  private readonly doFetch: typeof fetch;
  private readonly storage: Storage;
  private readonly locks: LockManagerLike | null;
  private readonly channel: BroadcastChannel | null;
  private readonly settleMs: number;
  private inFlight: Promise<string | null> | null = null;
  private listeners = new Set<Listener>();
  private waiters = new Set<() => void>();

  constructor(opts: SessionOptions = {}) {
    this.baseUrl = opts.baseUrl ?? "";
    this.doFetch = opts.fetch ?? ((...args) => globalThis.fetch(...args));
    this.storage = opts.storage ?? globalThis.localStorage;
    this.locks =
      opts.locks !== undefined ? opts.locks : ((globalThis.navigator?.locks as LockManagerLike | undefined) ?? null);
    this.channel =
      opts.channel !== undefined
        ? opts.channel
        : typeof BroadcastChannel === "undefined"
          ? null
          : new BroadcastChannel("qts.session");
    this.settleMs = opts.settleMs ?? 1000;
    this.channel?.addEventListener("message", () => this.emit());
    // Also follow the storage event, which every browser fires in the other tabs.
    globalThis.addEventListener?.("storage", (e: StorageEvent) => {
      if (e.key === STORAGE_KEY || e.key === null) this.emit();
    });
  }

  get tokens(): TokenPair | null {
    const raw = this.storage.getItem(STORAGE_KEY);
    if (!raw) return null;
    try {
      return JSON.parse(raw) as TokenPair;
    } catch {
      return null;
    }
  }

  get accessToken(): string | null {
    return this.tokens?.access_token ?? null;
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async login(username: string, password: string): Promise<void> {
    const body = new URLSearchParams({ username, password });
    const res = await this.doFetch(`${this.baseUrl}/api/v1/auth/login`, { method: "POST", body });
    if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
    this.store((await res.json()) as TokenPair);
  }

  logout(): void {
    this.store(null);
  }

  /** A fresh access token after `stale` was refused; null when the session is over. */
  refresh(stale: string | null): Promise<string | null> {
    if (!this.inFlight) {
      this.inFlight = this.underLock(stale).finally(() => {
        this.inFlight = null;
      });
    }
    return this.inFlight;
  }

  private async underLock(stale: string | null): Promise<string | null> {
    const locks = this.locks;
    if (!locks) return this.refreshOnce(stale, false);
    const free = await locks.request(LOCK_NAME, { ifAvailable: true }, async (lock) =>
      lock ? { token: await this.refreshOnce(stale, false) } : null,
    );
    if (free) return free.token;
    // Another tab is refreshing: wait for it, then for its pair to reach this tab.
    return locks.request(LOCK_NAME, {}, () => this.refreshOnce(stale, true));
  }

  /** Resolves at the next change of the stored pair seen by this tab, or after `ms`. */
  private changeOrTimeout(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  private async refreshOnce(stale: string | null, waited: boolean): Promise<string | null> {
    if (waited && this.tokens?.access_token === stale) await this.changeOrTimeout(this.settleMs);
    const current = this.tokens;
    if (!current) return null;
    // Another tab refreshed while this one waited for the lock: use its pair.
    if (current.access_token !== stale) return current.access_token;
    const res = await this.doFetch(`${this.baseUrl}/api/v1/auth/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: current.refresh_token }),
    });
    if (!res.ok) {
      if (res.status === 401 || res.status === 403) this.store(null);
      return null;
    }
    const pair = (await res.json()) as TokenPair;
    this.store(pair);
    return pair.access_token;
  }

  /** fetch with the bearer token; on a 401 refresh once and retry. */
  fetch = async (input: Request): Promise<Response> => {
    const retry = input.clone();
    const token = this.accessToken;
    if (token) input.headers.set("authorization", `Bearer ${token}`);
    const res = await this.doFetch(input);
    if (res.status !== 401 || !token) return res;
    const fresh = await this.refresh(token);
    if (!fresh) return res;
    retry.headers.set("authorization", `Bearer ${fresh}`);
    return this.doFetch(retry);
  };

  private store(tokens: TokenPair | null): void {
    if (tokens) {
      this.storage.setItem(
        STORAGE_KEY,
        JSON.stringify({ access_token: tokens.access_token, refresh_token: tokens.refresh_token }),
      );
    } else {
      this.storage.removeItem(STORAGE_KEY);
    }
    this.channel?.postMessage({ type: tokens ? "tokens" : "logout" });
    this.emit();
  }

  private emit(): void {
    const tokens = this.tokens;
    for (const l of this.listeners) l(tokens);
    for (const w of [...this.waiters]) w();
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function errorMessage(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string }; detail?: unknown };
    if (body.error?.message) return body.error.message;
    if (body.detail) return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch {
    /* not JSON */
  }
  return `HTTP ${res.status}`;
}
