import { describe, expect, it, vi } from "vitest";
import { Session, type LockManagerLike } from "../src/api/session";

class MemoryStorage implements Storage {
  private m = new Map<string, string>();
  get length() {
    return this.m.size;
  }
  clear() {
    this.m.clear();
  }
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  key(i: number) {
    return [...this.m.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

/** A lock manager shared by several Session objects, as navigator.locks is by the tabs. */
class FifoLocks implements LockManagerLike {
  private tail: Promise<unknown> = Promise.resolve();
  private held = 0;
  request<T>(_name: string, options: { ifAvailable?: boolean }, cb: (lock: unknown) => Promise<T>): Promise<T> {
    if (options.ifAvailable && this.held > 0) return cb(null);
    this.held += 1;
    const granted = async () => {
      try {
        return await cb({});
      } finally {
        this.held -= 1;
      }
    };
    const run = this.tail.then(granted, granted);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** One tab's copy of localStorage: another tab's writes arrive `lagMs` later, then a
 * storage event fires here (as Chromium syncs localStorage between renderer processes). */
class LaggingStorage extends MemoryStorage {
  peers: LaggingStorage[] = [];
  channel = Object.assign(new EventTarget(), { postMessage: () => undefined });
  constructor(private lagMs: number) {
    super();
  }
  setItem(k: string, v: string) {
    super.setItem(k, v);
    for (const p of this.peers)
      setTimeout(() => {
        p.replicate(k, v);
      }, this.lagMs);
  }
  replicate(k: string, v: string) {
    super.setItem(k, v);
    this.channel.dispatchEvent(new Event("message"));
  }
}

/** A fake auth server: refresh tokens are single-use, like the real one. */
function fakeServer() {
  let n = 0;
  const spent = new Set<string>();
  const calls = { refresh: 0, api: 0 };
  let valid = "a0";
  const fetchImpl = vi.fn(async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/api/v1/auth/refresh") {
      calls.refresh += 1;
      const { refresh_token } = (await req.json()) as { refresh_token: string };
      await new Promise((r) => setTimeout(r, 5));
      if (spent.has(refresh_token)) return new Response(JSON.stringify({ error: { message: "reused" } }), { status: 401 });
      spent.add(refresh_token);
      n += 1;
      valid = `a${n}`;
      return Response.json({ access_token: valid, refresh_token: `r${n}`, expires_in: 900 });
    }
    calls.api += 1;
    const auth = req.headers.get("authorization");
    if (auth !== `Bearer ${valid}`) return new Response("{}", { status: 401 });
    return Response.json({ ok: true, token: valid });
  });
  return { fetchImpl, calls, expire: () => (valid = "nothing-valid-yet") };
}

describe("Session", () => {
  it("retries a 401 once after a refresh and keeps the new pair", async () => {
    const storage = new MemoryStorage();
    const srv = fakeServer();
    storage.setItem("qts.tokens", JSON.stringify({ access_token: "stale", refresh_token: "r0" }));
    const s = new Session({ fetch: srv.fetchImpl as typeof fetch, storage, locks: null, channel: null, baseUrl: "http://x" });
    const res = await s.fetch(new Request("http://x/api/v1/orders"));
    expect(res.status).toBe(200);
    expect(srv.calls.refresh).toBe(1);
    expect(s.tokens).toEqual({ access_token: "a1", refresh_token: "r1" });
  });

  it("shares one refresh between concurrent requests in a tab", async () => {
    const storage = new MemoryStorage();
    const srv = fakeServer();
    storage.setItem("qts.tokens", JSON.stringify({ access_token: "stale", refresh_token: "r0" }));
    const s = new Session({ fetch: srv.fetchImpl as typeof fetch, storage, locks: null, channel: null, baseUrl: "http://x" });
    const results = await Promise.all(Array.from({ length: 8 }, () => s.fetch(new Request("http://x/api/v1/orders"))));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(srv.calls.refresh).toBe(1);
  });

  it("spends a refresh token once across tabs that share storage and a lock", async () => {
    const storage = new MemoryStorage();
    const locks = new FifoLocks();
    const srv = fakeServer();
    storage.setItem("qts.tokens", JSON.stringify({ access_token: "stale", refresh_token: "r0" }));
    const tabs = [1, 2, 3].map(
      () => new Session({ fetch: srv.fetchImpl as typeof fetch, storage, locks, channel: null, baseUrl: "http://x" }),
    );
    const res = await Promise.all(tabs.map((t) => t.fetch(new Request("http://x/api/v1/orders"))));
    expect(res.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(srv.calls.refresh).toBe(1);
    expect(tabs.every((t) => t.accessToken === "a1")).toBe(true);
  });

  async function twoLaggingTabs(settleMs?: number) {
    const srv = fakeServer();
    const [one, two] = [new LaggingStorage(40), new LaggingStorage(40)];
    one.peers = [two];
    two.peers = [one];
    for (const s of [one, two]) s.replicate("qts.tokens", JSON.stringify({ access_token: "stale", refresh_token: "r0" }));
    const locks = new FifoLocks();
    const tabs = [one, two].map(
      (storage) =>
        new Session({
          fetch: srv.fetchImpl as typeof fetch, storage, locks, baseUrl: "http://x", settleMs,
          channel: storage.channel as unknown as BroadcastChannel,
        }),
    );
    const res = await Promise.all(tabs.map((t) => t.fetch(new Request("http://x/api/v1/orders"))));
    return { srv, tabs, statuses: res.map((r) => r.status) };
  }

  it("a tab that waited for the lock waits for the other tab's pair to reach its storage", async () => {
    const { srv, tabs, statuses } = await twoLaggingTabs();
    expect(statuses).toEqual([200, 200]);
    expect(srv.calls.refresh).toBe(1);
    expect(tabs.map((t) => t.accessToken)).toEqual(["a1", "a1"]);
  });

  it("without that wait the second tab re-spends the refresh token (why it waits)", async () => {
    const { srv } = await twoLaggingTabs(0);
    expect(srv.calls.refresh).toBe(2);
  });

  it("without the lock two tabs would spend the same refresh token (why the lock exists)", async () => {
    const storage = new MemoryStorage();
    const srv = fakeServer();
    storage.setItem("qts.tokens", JSON.stringify({ access_token: "stale", refresh_token: "r0" }));
    const tabs = [1, 2].map(() => new Session({ fetch: srv.fetchImpl as typeof fetch, storage, locks: null, channel: null, baseUrl: "http://x" }));
    await Promise.all(tabs.map((t) => t.fetch(new Request("http://x/api/v1/orders"))));
    expect(srv.calls.refresh).toBe(2);
  });

  it("ends the session when the refresh token is refused, and tells listeners", async () => {
    const storage = new MemoryStorage();
    const srv = fakeServer();
    storage.setItem("qts.tokens", JSON.stringify({ access_token: "stale", refresh_token: "r0" }));
    const s = new Session({ fetch: srv.fetchImpl as typeof fetch, storage, locks: null, channel: null, baseUrl: "http://x" });
    await s.fetch(new Request("http://x/api/v1/orders")); // spends r0
    storage.setItem("qts.tokens", JSON.stringify({ access_token: "stale2", refresh_token: "r0" }));
    const seen: unknown[] = [];
    s.onChange((t) => seen.push(t));
    const res = await s.fetch(new Request("http://x/api/v1/orders"));
    expect(res.status).toBe(401);
    expect(s.tokens).toBeNull();
    expect(seen).toEqual([null]);
  });

  it("logs in with the OAuth2 form and reports the server's message on failure", async () => {
    const storage = new MemoryStorage();
    const fetchImpl = vi.fn(async (_u: RequestInfo | URL, init?: RequestInit) => {
      const body = new URLSearchParams(String(init?.body));
      if (body.get("password") === "right-password")
        return Response.json({ access_token: "a", refresh_token: "r", expires_in: 1 });
      return Response.json({ error: { code: "unauthorized", message: "invalid username or password" } }, { status: 401 });
    });
    const s = new Session({ fetch: fetchImpl as typeof fetch, storage, locks: null, channel: null });
    await expect(s.login("ada", "wrong")).rejects.toThrow("invalid username or password");
    expect(s.tokens).toBeNull();
    await s.login("ada", "right-password");
    expect(s.accessToken).toBe("a");
    s.logout();
    expect(s.tokens).toBeNull();
  });
});
