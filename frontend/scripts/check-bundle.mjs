// CI check: the generated API types match the API, the sources type-check, and a fresh build
// is byte-identical to the bundle committed in src/qts/static.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("..", import.meta.url));
const committed = fileURLToPath(new URL("../../src/qts/static", import.meta.url));
const run = (cmd, args, env = {}) => execFileSync(cmd, args, { cwd: here, stdio: "inherit", env: { ...process.env, ...env } });

function files(dir) {
  const out = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

run("node", ["scripts/gen-api.mjs", "--check"]);
run("npx", ["tsc", "-p", "."]);
const tmp = mkdtempSync(join(tmpdir(), "qts-bundle-"));
try {
  run("npx", ["vite", "build", "--logLevel", "warn"], { QTS_BUNDLE_OUT: tmp });
  const fresh = files(tmp);
  const old = files(committed);
  const problems = [];
  for (const [name, data] of fresh) {
    if (!old.has(name)) problems.push(`missing from the committed bundle: ${name}`);
    else if (!old.get(name).equals(data)) problems.push(`differs: ${name}`);
  }
  for (const name of old.keys()) if (!fresh.has(name)) problems.push(`stale file in the committed bundle: ${name}`);
  if (problems.length) {
    console.error(`src/qts/static does not match a build of frontend/ — run \`npm run build\` in frontend/ and commit:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`src/qts/static matches a fresh build (${fresh.size} files)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
