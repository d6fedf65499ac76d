import createClient from "openapi-fetch";
import type { paths } from "./schema";
import { ApiError, Session } from "./session";

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

export type { paths };
export type Schemas = import("./schema").components["schemas"];
