// A stand-in for the qts server inside jsdom: the real client (openapi-fetch, Session, unwrap)
// sends its requests here (tests/setup.ts lets Request take the client's relative URLs).
import { vi } from "vitest";

export type Handler = (url: URL) => unknown;

export function installFakeApi(routes: Record<string, Handler>): URL[] {
  const seen: URL[] = [];
  vi.stubGlobal("fetch", async (input: Request) => {
    const url = new URL(input.url);
    seen.push(url);
    const handler = routes[url.pathname];
    if (!handler) return new Response(JSON.stringify({ error: { message: `no route ${url.pathname}` } }), { status: 404 });
    return new Response(JSON.stringify(handler(url)), { status: 200, headers: { "content-type": "application/json" } });
  });
  return seen;
}
