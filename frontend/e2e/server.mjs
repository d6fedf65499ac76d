// Starts a real `qts up` on a free port with a fresh data directory and creates one user per
// role, for the browser tests and the dashboard benchmark.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const USERS = {
  admin: { username: "ada", password: "ada-password-1" },
  trader: { username: "tom", password: "tom-password-1" },
  viewer: { username: "vic", password: "vic-password-1" },
};

const repoRoot = resolve(new URL("../..", import.meta.url).pathname);

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

export function python() {
  return process.env.QTS_PYTHON ?? "python3";
}

export function serverEnv(dataDir) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("QTS_")));
  return {
    ...env,
    QTS_PYTHON: python(),
    QTS_DATA_DIR: dataDir,
    QTS_RUN_SCHEDULER: "false",
    PYTHONPATH: [join(repoRoot, "src"), process.env.PYTHONPATH].filter(Boolean).join(":"),
  };
}

export async function startServer() {
  const root = mkdtempSync(join(tmpdir(), "qts-e2e-"));
  const dataDir = join(root, "var");
  const env = serverEnv(dataDir);
  for (const [role, u] of Object.entries(USERS)) {
    execFileSync(python(), ["-m", "qts.cli", "user", "create", u.username, "--role", role, "--password-stdin"], {
      env,
      input: `${u.password}\n`,
      stdio: ["pipe", "ignore", "inherit"],
    });
  }
  const port = await freePort();
  const logPath = join(root, "server.log");
  const log = openSync(logPath, "w");
  const proc = spawn(python(), ["-m", "qts.cli", "up", "--host", "127.0.0.1", "--port", String(port)], {
    env,
    stdio: ["ignore", log, log],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`qts up exited:\n${readFileSync(logPath, "utf8")}`);
    try {
      const r = await fetch(`${base}/health`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`qts up did not answer:\n${readFileSync(logPath, "utf8")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    base,
    dataDir,
    env,
    logPath,
    async stop() {
      proc.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(() => {
          proc.kill("SIGKILL");
          r();
        }, 10_000);
        proc.once("exit", () => {
          clearTimeout(t);
          r();
        });
      });
      if (!process.env.QTS_E2E_KEEP) rmSync(root, { recursive: true, force: true });
    },
  };
}

export async function login(base, who, pair = false) {
  // One retry: a kept-alive connection the server closed while idle fails the first try.
  const post = () => fetch(`${base}/api/v1/auth/login`, { method: "POST", body: new URLSearchParams(USERS[who]) });
  const r = await post().catch(post);
  if (!r.ok) throw new Error(`login ${who}: ${r.status}`);
  const tokens = await r.json();
  return pair ? tokens : tokens.access_token;
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function chromiumPath() {
  return process.env.QTS_CHROMIUM ?? "/usr/bin/chromium";
}
