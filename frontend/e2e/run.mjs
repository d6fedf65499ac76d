// End-to-end tests in the machine's Chromium against a real `qts up` on a fresh data directory.
// Every flow runs even when an earlier one fails; the exit code is 1 when any failed.
// Screenshots of every page go to e2e-artifacts/ (QTS_E2E_ARTIFACTS to change).
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, USERS, chromiumPath, login, python, startServer } from "./server.mjs";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const ARTIFACTS = process.env.QTS_E2E_ARTIFACTS ?? new URL("../e2e-artifacts/", import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });

export const PAGES = [
  ["dashboard", "/"],
  ["backtests", "/backtests"],
  ["strategies", "/strategies"],
  ["orders", "/orders"],
  ["market", "/market"],
  ["models", "/models"],
  ["performance", "/performance"],
  ["predictions", "/predictions"],
  ["importance", "/importance"],
  ["training", "/training"],
  ["monitoring", "/monitoring"],
  ["users", "/users"],
];

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/** A context whose every request must go to the qts server; anything else is aborted and recorded. */
async function guardedContext(browser, base, foreign) {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: "en-US" });
  const host = new URL(base).host;
  await ctx.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.protocol === "blob:" || url.host === host) return route.continue();
    foreign.push(url.href);
    return route.abort();
  });
  return ctx;
}

async function logIn(page, base, who, lang = "en") {
  await page.goto(`${base}/`);
  await page.evaluate((l) => localStorage.setItem("qts.lang", l), lang);
  await page.reload();
  await page.fill("#username", USERS[who].username);
  await page.fill("#password", USERS[who].password);
  await page.click("button[type=submit]");
  await page.waitForSelector(`[data-testid=user]:has-text("${USERS[who].username}")`);
}

async function go(page, path) {
  await page.click(`nav a[href="${path}"]`);
  await page.waitForFunction((p) => location.pathname === p, path);
  await page.waitForSelector("main h1");
  await page.waitForFunction(() => !document.querySelector("main")?.textContent?.includes("Loading…"), null, { timeout: 15_000 }).catch(() => {});
}

async function axe(page, name) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () => {
    const r = await globalThis.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert(!bad.length, `axe on ${name}: ${JSON.stringify(bad)}`);
}

async function shot(page, name) {
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

async function apiCall(base, token, method, path, body) {
  const r = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}

const flows = [];
const flow = (name, fn) => flows.push({ name, fn });

flow("log in, then the backtest form runs and shows its chart and trades", async ({ page }) => {
  await go(page, "/backtests");
  await page.fill("#bt-symbols", "AAPL");
  await page.selectOption("#bt-strategy", "sma_cross");
  await page.fill("#bt-param-fast", "10");
  await page.fill("#bt-param-slow", "30");
  await page.click("form[aria-label=Backtests] button[type=submit]");
  await page.waitForSelector("[data-testid=backtest-status] .badge-done", { timeout: 60_000 });
  await page.waitForSelector("[data-testid=chart] canvas");
  const trades = await page.locator("[data-testid=trade-row]").count();
  assert(trades > 0, "no trades listed");
  await shot(page, "backtest-result");
  // A second run with other parameters, then both compared on one chart.
  await page.fill("#bt-param-fast", "5");
  await page.fill("#bt-param-slow", "20");
  await page.click("form[aria-label=Backtests] button[type=submit]");
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=backtest-row]").length >= 2);
  await page.waitForSelector("[data-testid=backtest-status] .badge-done", { timeout: 60_000 });
  const boxes = page.locator("[data-testid=backtest-row] input[type=checkbox]");
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await page.waitForSelector("section[aria-labelledby=bt-compare-title] [data-testid=chart] canvas");
  await shot(page, "backtest-compare");
  // A small grid search through POST /optimizations, followed to its best parameters.
  await page.fill("#opt-symbols", "AAPL");
  await page.fill("#opt-grid", "fast=5,10; slow=20,30");
  await page.click("form[aria-label=Optimise] button[type=submit]");
  await page.waitForSelector("[data-testid=optimization-status] .badge-done", { timeout: 60_000 });
  const best = await page.locator("[data-testid=best-params]").innerText();
  assert(/fast=(5|10) slow=(20|30)/.test(best), `best parameters: ${best}`);
  assert((await page.locator("[data-testid=trial-row]").count()) === 4, "a 2x2 grid should list 4 trials");
  assert((await page.locator("[data-testid=optimization-row]").count()) >= 1, "the run is not listed");
  await shot(page, "optimization-result");
});

flow("the dashboard lists accounts and draws the equity history from /accounts/equity", async ({ page, base }) => {
  const equity = page.waitForResponse((r) => r.url().includes("/api/v1/accounts/equity?") && r.ok(), { timeout: 15_000 });
  await page.goto(`${base}/`);
  await page.waitForSelector('[data-testid=account-row]:has-text("paper:seed-replay")', { timeout: 15_000 });
  const body = await (await equity).json();
  assert(body.account && body.now && Array.isArray(body.points), `equity history: ${JSON.stringify(body).slice(0, 200)}`);
  await page.waitForSelector("[data-testid=equity-history] [data-testid=chart] canvas");
  const cash = await page.locator('[data-testid=account-row]:has-text("paper:seed-replay") [data-testid=cash-by-currency]').innerText();
  assert(/^₩[\d,]+$/.test(cash.trim()), `cash per currency of a won account: ${cash}`);
  await page.locator("[data-testid=account-row] button", { hasText: "paper:seed-replay" }).click();
  await page.waitForSelector('section[aria-labelledby=acct-title] h3:has-text("paper:seed-replay")');
  await page.waitForSelector("[data-testid=equity-history] [data-testid=chart] canvas");
});

flow("a paper replay started in one tab shows its orders live in another", async ({ page, ctx }) => {
  await go(page, "/orders");
  await page.waitForSelector("[data-testid=live-status].live-open", { timeout: 15_000 });
  const before = await page.locator("[data-testid=order-vrow]").count();
  const other = await ctx.newPage();
  await other.goto(page.url().replace(/\/orders$/, "/"));
  await go(other, "/strategies");
  await other.fill("#st-name", "e2e-replay");
  await other.selectOption("#st-class", "sma_cross");
  await other.fill("#st-symbols", "005930");
  await other.click("form button[type=submit]");
  const row = other.locator("[data-testid=strategy-row]", { hasText: "e2e-replay" });
  await row.waitFor();
  await row.locator("[data-testid=start]").click();
  // The orders tab is never reloaded: the replay's orders arrive through /ws.
  await page.waitForSelector('[data-testid=order-vrow]:has-text("paper:e2e-replay")', { timeout: 60_000 });
  assert(before === 0 || (await page.locator("[data-testid=order-vrow]").count()) >= before, "rows went missing");
  await other.close();
  await page.waitForTimeout(1500);
  await shot(page, "orders-live");
  // Order detail: its state transitions and fills.
  await page.locator("[data-testid=order-vrow] button.link").first().click();
  await page.waitForSelector("ol.events li");
  assert((await page.locator("ol.events li").count()) >= 2, "order detail lists fewer than 2 events");
  await shot(page, "order-detail");
});

flow("a small model trains with its curve drawn live, then an admin promotes it", async ({ page }) => {
  await go(page, "/training");
  await page.fill("#tr-symbols", "005930");
  await page.fill("#tr-epochs", "5");
  await page.fill("#tr-features", "basic");
  await page.fill("#tr-name", "e2e-lgbm");
  await page.click("form[aria-label=Training] button[type=submit]");
  await page.waitForFunction(() => Number(document.querySelector("[data-testid=epoch-count]")?.textContent ?? 0) > 0, null, { timeout: 120_000 });
  await page.waitForSelector("[data-testid=training-status] .badge-done", { timeout: 180_000 });
  await page.waitForSelector("[data-testid=chart] canvas");
  await page.waitForSelector('[data-testid=training-run-row]:has-text("e2e-lgbm") .badge-done', { timeout: 15_000 });
  await shot(page, "training");
  await go(page, "/models");
  const v = page.locator("section", { has: page.locator("#model-e2e-lgbm") }).locator("[data-testid=version-row]").first();
  await v.locator("button[data-write]").click();
  await page.waitForSelector("[data-testid=promote-result]", { timeout: 60_000 });
  await page.waitForSelector('[data-testid=alias]:has-text("production")');
  await shot(page, "models-promoted");
});

flow("the market page lists the selected symbol's news, newest first, with its sentiment", async ({ page }) => {
  await go(page, "/market");
  await page.selectOption("#m-symbol", "AAPL");
  const en = page.locator("[data-testid=news-row]", { hasText: "Apple shares surge" });
  await en.waitFor({ timeout: 15_000 });
  const score = en.locator("[data-testid=news-sentiment]");
  const text = (await score.innerText()).trim();
  assert(/^\+\d\.\d\d$/.test(text) && (await score.getAttribute("class")).includes("pos"), `English sentiment: ${text}`);
  assert((await score.getAttribute("title")).includes("vader"), "no model tooltip");
  await page.selectOption("#m-symbol", "005930");
  // Korean headlines stay unscored here: the e2e server has no Korean sentiment model.
  const ko = page.locator("[data-testid=news-row]", { hasText: "삼성전자" });
  await ko.waitFor({ timeout: 15_000 });
  assert((await ko.locator("[data-testid=news-sentiment]").innerText()).trim() === "—", "an unscored item shows a score");
  await axe(page, "market with news");
  await shot(page, "market-news");
});

flow("every page renders with no serious or critical axe violation, light and dark", async ({ page }) => {
  for (const [name, path] of PAGES) {
    await go(page, path);
    await page.waitForTimeout(400);
    await axe(page, name);
    await shot(page, `page-${name}`);
  }
  await page.click("header button[aria-pressed]");
  await go(page, "/");
  await page.waitForTimeout(400);
  await axe(page, "dashboard (dark)");
  await shot(page, "page-dashboard-dark");
  await page.click("header button[aria-pressed]");
});

flow("Korean UI formats won without decimals", async ({ page }) => {
  await page.selectOption("header select", "ko");
  await go(page, "/");
  await page.waitForSelector("[data-testid=position-row]", { timeout: 15_000 });
  const text = await page.locator("[data-testid=position-row]").first().innerText();
  assert(/₩[\d,]+(?!\.)/.test(text) && !/₩[\d,]+\.\d/.test(text), `won amounts: ${text}`);
  await shot(page, "page-dashboard-ko");
  await page.selectOption("header select", "en");
});

flow("a viewer sees no write controls and no admin pages", async ({ browser, base, foreign }) => {
  const ctx = await guardedContext(browser, base, foreign);
  const page = await ctx.newPage();
  await logIn(page, base, "viewer");
  assert((await page.locator('nav a[href="/users"]').count()) === 0, "viewer sees Users");
  // A fresh browser: the training history comes from GET /ml/runs, not from this tab's storage.
  const runs = page.waitForResponse((r) => /\/api\/v1\/ml\/runs\?/.test(r.url()) && r.ok());
  await go(page, "/training");
  assert((await (await runs).json()).total >= 1, "GET /ml/runs lists no run");
  await page.waitForSelector('[data-testid=training-run-row]:has-text("e2e-lgbm")', { timeout: 15_000 });
  for (const [name, path] of PAGES.filter(([n]) => n !== "users")) {
    await go(page, path);
    await page.waitForTimeout(300);
    const writes = await page.locator("main [data-write], main form button[type=submit]").count();
    assert(writes === 0, `viewer sees ${writes} write controls on ${name}`);
  }
  await ctx.close();
});

flow("a trader sees write controls but no admin controls", async ({ browser, base, foreign }) => {
  const ctx = await guardedContext(browser, base, foreign);
  const page = await ctx.newPage();
  await logIn(page, base, "trader");
  assert((await page.locator('nav a[href="/users"]').count()) === 0, "trader sees Users");
  assert((await page.locator("main [data-write]").count()) > 0, "trader has no kill switch");
  await go(page, "/models");
  assert((await page.locator("main .promote").count()) === 0, "trader can promote");
  await ctx.close();
});

flow("two tabs refreshing an expired token at once stay logged in (one refresh)", async ({ browser, base, foreign }) => {
  const ctx = await guardedContext(browser, base, foreign);
  const a = await ctx.newPage();
  await logIn(a, base, "trader");
  const b = await ctx.newPage();
  await b.goto(`${base}/`);
  await b.waitForSelector("[data-testid=user]:has-text('tom')");
  let refreshes = 0;
  ctx.on("request", (r) => {
    if (r.url().endsWith("/api/v1/auth/refresh")) refreshes += 1;
  });
  // Spoil the access token both tabs share: their next calls get 401 and must refresh.
  await a.evaluate(() => {
    const t = JSON.parse(localStorage.getItem("qts.tokens"));
    localStorage.setItem("qts.tokens", JSON.stringify({ ...t, access_token: "expired.token.value" }));
  });
  await Promise.all([a.reload(), b.reload()]);
  await Promise.all([a, b].map((p) => p.waitForSelector("[data-testid=user]:has-text('tom')", { timeout: 20_000 })));
  await Promise.all([a, b].map((p) => p.waitForSelector("[data-testid=kill-state]")));
  assert((await a.locator("#username").count()) === 0 && (await b.locator("#username").count()) === 0, "a tab was logged out");
  assert(refreshes === 1, `expected one refresh across both tabs, saw ${refreshes}`);
  await ctx.close();
});

flow("log out ends the session in every tab", async ({ browser, base, foreign }) => {
  const ctx = await guardedContext(browser, base, foreign);
  const a = await ctx.newPage();
  await logIn(a, base, "viewer");
  const b = await ctx.newPage();
  await b.goto(`${base}/`);
  await b.waitForSelector("[data-testid=user]");
  await a.click("header button:has-text('Log out')");
  await b.waitForSelector("#username", { timeout: 10_000 });
  await ctx.close();
});

flow("/docs renders the operations list offline", async ({ browser, base }) => {
  const foreign = [];
  const ctx = await guardedContext(browser, base, foreign);
  const page = await ctx.newPage();
  await page.goto(`${base}/docs`);
  await page.waitForSelector(".opblock", { timeout: 15_000 }).catch(() => {});
  const ops = await page.locator(".opblock").count();
  await shot(page, "docs");
  await ctx.close();
  assert(ops > 10 && !foreign.length, `/docs shows ${ops} operations; requests to other hosts: ${foreign.join(", ") || "none"}`);
});

async function main() {
  const server = await startServer();
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  const foreign = [];
  const failures = [];
  try {
    // Data the pages show: a position and filled orders from a finished replay.
    const token = await login(server.base, "admin");
    const s = await apiCall(server.base, token, "POST", "/strategies", {
      name: "seed-replay", strategy_class: "sma_cross", parameters: { fast: 5, slow: 20 }, symbols: ["005930"], timeframe: "1d",
    });
    await apiCall(server.base, token, "POST", `/strategies/${s.id}/start`, { kind: "replay" });
    // Let that replay finish, so orders arriving later come from the flows' own sessions.
    for (let i = 0; i < 240 && (await apiCall(server.base, token, "GET", `/strategies/${s.id}`)).state === "running"; i++) {
      await new Promise((r) => setTimeout(r, 500));
    }
    // News for the market page, through the CLI a user runs (English scored by VADER).
    const headlines = new URL("../../tests/data/news/headlines.csv", import.meta.url).pathname;
    execFileSync(python(), ["-m", "qts.cli", "data", "news", "import", headlines], { env: server.env, stdio: ["ignore", "pipe", "pipe"] });
    const ctx = await guardedContext(browser, server.base, foreign);
    const page = await ctx.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const t0 = Date.now();
    await logIn(page, server.base, "admin");
    console.log(`ok   log in (${Date.now() - t0} ms)`);
    const only = process.env.QTS_E2E_ONLY;
    for (const f of flows.filter((x) => !only || x.name.includes(only))) {
      const t = Date.now();
      try {
        await f.fn({ page, ctx, browser, base: server.base, foreign });
        console.log(`ok   ${f.name} (${Date.now() - t} ms)`);
      } catch (e) {
        failures.push(f.name);
        console.log(`FAIL ${f.name}: ${e.message.split("\n")[0]}`);
        await shot(page, `failure-${failures.length}`).catch(() => {});
      }
    }
    if (errors.length) {
      failures.push("page errors");
      console.log(`FAIL uncaught errors in the page: ${errors.join("; ")}`);
    }
    if (foreign.length) {
      failures.push("foreign requests");
      console.log(`FAIL requests to hosts other than the server: ${[...new Set(foreign)].join(", ")}`);
    } else {
      console.log("ok   no request to any host but the server");
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  console.log(`${failures.length} failed`);
  process.exit(failures.length ? 1 : 0);
}

await main();
