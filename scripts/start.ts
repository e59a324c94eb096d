/**
 * `npm start`: one working local node with its data under the project (.data/node, git-ignored,
 * or $GOJINN_DATA). Builds the example guests, brings the CLI bundle up to date
 * (scripts/bundle.ts), prepares the development node (scripts/prepare-dev-node.ts: init, local
 * publisher key, hello signed and installed, all only once), then runs
 * `gojinn daemon` in this process until Ctrl-C. The first three run as child processes, so
 * this one loads only the daemon itself (from the bundle: docs/operations.md, "Memory").
 * docs/quickstart.md walks through it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadCli } from '../packages/cli/bin/launch.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** $GOJINN_DATA moves it elsewhere (the quickstart e2e test runs it in a temporary directory). */
const DATA_DIR = process.env.GOJINN_DATA ?? `${ROOT}.data/node`;
const HELLO = `${ROOT}examples/hello/build/hello.wasm`;

for (const step of [
  ['scripts/build-guests.ts'],
  ['scripts/bundle.ts'],
  ['scripts/prepare-dev-node.ts', DATA_DIR, HELLO],
]) {
  const done = spawnSync(process.execPath, step, { cwd: ROOT, stdio: 'inherit' });
  if (done.status !== 0) process.exit(done.status ?? 1);
}

const { main, processIo } = await loadCli(ROOT);
process.exitCode = await main(['daemon', '--data', DATA_DIR], processIo());
