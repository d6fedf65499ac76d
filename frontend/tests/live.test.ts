import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveSocket, topicMatches } from "../src/api/live";

/** A WebSocket double that records what the client sends and lets the test play the server. */
class FakeSocket {
  static all: FakeSocket[] = [];
  sent: Record<string, unknown>[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(s: string) {
    this.sent.push(JSON.parse(s));
  }
  close() {
    this.closed = true;
    this.onclose?.();
  }
  serverOpen() {
    this.onopen?.();
  }
  serverSays(msg: object) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop() {
    this.onclose?.();
  }
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1];
const flush = () => new Promise((r) => setTimeout(r, 0));

describe("LiveSocket", () => {
  beforeEach(() => {
    FakeSocket.all = [];
  });
  afterEach(() => vi.useRealTimers());

  function make(token: () => string | null = () => "tok-1", refreshToken?: (s: string | null) => Promise<string | null>) {
    return new LiveSocket({
      url: () => "ws://server/ws",
      token,
      refreshToken,
      WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
      backoffMs: (n) => 10 * (n + 1),
    });
  }

  it("authenticates with its first message and never puts the token in the URL", async () => {
    const live = make();
    live.start();
    await flush();
    const ws = last();
    expect(ws.url).toBe("ws://server/ws");
    expect(ws.url).not.toContain("tok-1");
    ws.serverOpen();
    expect(ws.sent[0]).toEqual({ action: "auth", token: "tok-1" });
  });

  it("subscribes after the welcome and delivers events to matching handlers", async () => {
    const live = make();
    const got: string[] = [];
    live.subscribe("orders", (e) => got.push(`o:${String(e.data.id)}`));
    live.subscribe("training:*", (e) => got.push(`t:${e.topic}`));
    live.start();
    await flush();
    const ws = last();
    ws.serverOpen();
    expect(ws.sent).toHaveLength(1); // nothing before the server accepted the token
    ws.serverSays({ type: "welcome", user: "ada", role: "admin" });
    expect(ws.sent[1]).toEqual({ action: "subscribe", topics: ["orders", "training:*"] });
    expect(live.status).toBe("open");
    ws.serverSays({ type: "event", topic: "orders", data: { id: 7 } });
    ws.serverSays({ type: "event", topic: "training:abc", data: { epoch: 1 } });
    ws.serverSays({ type: "event", topic: "positions", data: {} });
    expect(got).toEqual(["o:7", "t:training:abc"]);
  });

  it("reconnects after a drop and subscribes again to every live topic", async () => {
    vi.useFakeTimers();
    const live = make();
    const off = live.subscribe("orders", () => {});
    live.subscribe("positions", () => {});
    live.start();
    await vi.advanceTimersByTimeAsync(0);
    let ws = last();
    ws.serverOpen();
    ws.serverSays({ type: "welcome" });
    off(); // unsubscribed while connected
    expect(ws.sent.at(-1)).toEqual({ action: "unsubscribe", topics: ["orders"] });
    live.subscribe("system", () => {});
    ws.drop();
    expect(live.status).toBe("closed");
    await vi.advanceTimersByTimeAsync(10);
    expect(FakeSocket.all).toHaveLength(2);
    ws = last();
    ws.serverOpen();
    ws.serverSays({ type: "welcome" });
    expect(ws.sent).toEqual([
      { action: "auth", token: "tok-1" },
      { action: "subscribe", topics: ["positions", "system"] },
    ]);
    // A second drop backs off longer, then recovers again.
    ws.drop();
    await vi.advanceTimersByTimeAsync(10);
    expect(FakeSocket.all).toHaveLength(3);
  });

  it("gets a fresh token when the server refuses the old one", async () => {
    vi.useFakeTimers();
    let token = "old";
    const refresh = vi.fn(async () => {
      token = "new";
      return token;
    });
    const live = make(() => token, refresh);
    live.start();
    await vi.advanceTimersByTimeAsync(0);
    const ws = last();
    ws.serverOpen();
    ws.serverSays({ type: "error", error: { code: "unauthorized" } });
    ws.drop();
    await vi.advanceTimersByTimeAsync(20);
    expect(refresh).toHaveBeenCalledWith("old");
    last().serverOpen();
    expect(last().sent[0]).toEqual({ action: "auth", token: "new" });
  });

  it("stops for good on stop() and does not reconnect", async () => {
    vi.useFakeTimers();
    const live = make();
    live.start();
    await vi.advanceTimersByTimeAsync(0);
    live.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(live.status).toBe("idle");
  });

  it("matches wildcard topics by prefix only", () => {
    expect(topicMatches("training:*", "training:x")).toBe(true);
    expect(topicMatches("orders", "orders")).toBe(true);
    expect(topicMatches("orders", "orders2")).toBe(false);
  });
});
