import "@testing-library/jest-dom/vitest";

// A browser's Request resolves a relative URL against the page; Node's (which jsdom leaves in
// place) refuses it. The API client is built with baseUrl "" at import, so this must come first.
// A proxy, not a subclass, so that `instanceof Request` and clone() behave as before.
globalThis.Request = new Proxy(globalThis.Request, {
  construct(Target, [input, init]: [RequestInfo | URL, RequestInit | undefined]) {
    return new Target(typeof input === "string" ? new URL(input, location.href).href : input, init);
  },
});
