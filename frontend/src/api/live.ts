// One WebSocket to /ws for the whole app. Authenticates with its first message (the token is
// never in the URL), reference-counts topic subscriptions, and on any drop reconnects with
// backoff and subscribes again to every topic someone still listens to.

export interface LiveEvent {
  topic: string;
  data: Record<string, unknown>;
  ts?: string;
}
export type LiveStatus = "idle" | "connecting" | "open" | "closed";
type Handler = (e: LiveEvent) => void;

export interface LiveOptions {
  url: () => string;
  token: () => Promise<string | null> | string | null;
  /** Called when the server refuses the token: return a fresh one, or null to stop. */
  refreshToken?: (stale: string | null) => Promise<string | null>;
  WebSocketImpl?: typeof WebSocket;
  backoffMs?: (attempt: number) => number;
}

export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern === topic) return true;
  if (pattern.endsWith("*")) return topic.startsWith(pattern.slice(0, -1));
  return false;
}

export class LiveSocket {
  private ws: WebSocket | null = null;
  private handlers = new Map<string, Set<Handler>>();
  private statusListeners = new Set<(s: LiveStatus) => void>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  private lastToken: string | null = null;
  status: LiveStatus = "idle";

  constructor(private readonly opts: LiveOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close();
    this.setStatus("idle");
  }

  subscribe(topic: string, handler: Handler): () => void {
    let set = this.handlers.get(topic);
    const isNew = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    set.add(handler);
    if (isNew) this.send({ action: "subscribe", topics: [topic] });
    return () => {
      const s = this.handlers.get(topic);
      if (!s) return;
      s.delete(handler);
      if (s.size === 0) {
        this.handlers.delete(topic);
        this.send({ action: "unsubscribe", topics: [topic] });
      }
    };
  }

  onStatus(listener: (s: LiveStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  get topics(): string[] {
    return [...this.handlers.keys()].sort();
  }

  private setStatus(s: LiveStatus): void {
    this.status = s;
    for (const l of this.statusListeners) l(s);
  }

  private send(msg: object): void {
    if (this.ws && this.status === "open") this.ws.send(JSON.stringify(msg));
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const token = await this.opts.token();
    if (this.stopped) return;
    if (!token) {
      this.setStatus("closed");
      return;
    }
    this.lastToken = token;
    this.setStatus("connecting");
    const Impl = this.opts.WebSocketImpl ?? WebSocket;
    const ws = new Impl(this.opts.url());
    this.ws = ws;
    let refused = false;
    ws.onopen = () => ws.send(JSON.stringify({ action: "auth", token }));
    ws.onmessage = (ev: MessageEvent) => {
      let msg: { type?: string; topic?: string; data?: Record<string, unknown>; ts?: string; error?: { code?: string } };
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (msg.type === "welcome") {
        this.attempt = 0;
        this.setStatus("open");
        const topics = this.topics;
        if (topics.length) this.send({ action: "subscribe", topics });
      } else if (msg.type === "event" && msg.topic) {
        this.dispatch({ topic: msg.topic, data: msg.data ?? {}, ts: msg.ts });
      } else if (msg.type === "error" && msg.error?.code === "unauthorized") {
        refused = true;
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setStatus("closed");
      void this.scheduleReconnect(refused);
    };
  }

  private async scheduleReconnect(refused: boolean): Promise<void> {
    if (this.stopped) return;
    if (refused && this.opts.refreshToken) {
      const fresh = await this.opts.refreshToken(this.lastToken);
      if (!fresh) return;
    }
    const delay = (this.opts.backoffMs ?? defaultBackoff)(this.attempt++);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }

  private dispatch(e: LiveEvent): void {
    for (const [pattern, set] of this.handlers) {
      if (topicMatches(pattern, e.topic)) for (const h of set) h(e);
    }
  }
}

function defaultBackoff(attempt: number): number {
  return Math.min(10_000, 250 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
}
