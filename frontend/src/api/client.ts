import createClient from "openapi-fetch";
import type { paths } from "./schema";
import { ApiError, Session, errorMessage } from "./session";

export const session = new Session();
export const api = createClient<paths>({ baseUrl: "", fetch: session.fetch });

/** Unwrap an openapi-fetch result: the data, or an ApiError with the server's message. */
export async function unwrap<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await p;
  if (error !== undefined || !response.ok) {
    const msg =
      (error as { error?: { message?: string } } | undefined)?.error?.message ?? `HTTP ${response.status}`;
    throw new ApiError(response.status, msg);
  }
  return data as T;
}

/**
 * An endpoint the generated schema may not have yet (added by a newer server): null when the
 * server answers 404/405, so the page can say "not available" instead of failing.
 */
export async function optionalGet<T>(path: string): Promise<T | null> {
  const res = await session.fetch(new Request(path));
  if (res.status === 404 || res.status === 405) return null;
  if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
  const type = res.headers.get("content-type") ?? "";
  if (!type.includes("json")) return null; // the SPA fallback answered: no such endpoint
  return (await res.json()) as T;
}

export type { paths };
export type Schemas = import("./schema").components["schemas"];
