/**
 * `npm start`: one working local node with its data under the project (.data/node, git-ignored,
 * or $GOJINN_DATA).
 * First run: builds the example guests, runs `gojinn init`, creates a local publisher key
 * (.data/node/dev-publisher.key), writes a development config trusting that key with hello
 * public, signs examples/hello with the key and installs it through the registry. Later runs
 * reuse all of it (a rebuilt hello is installed as the next patch version). Then it runs
 * `gojinn daemon` in this process until Ctrl-C. docs/quickstart.md walks through it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, prepareDevNode } from '@gojinn/daemon';
import { main, processIo } from '../packages/cli/src/main.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** $GOJINN_DATA moves it elsewhere (the quickstart e2e test runs it in a temporary directory). */
const DATA_DIR = process.env.GOJINN_DATA ?? `${ROOT}.data/node`;
const HELLO = `${ROOT}examples/hello/build/hello.wasm`;

const built = spawnSync(process.execPath, ['scripts/build-guests.ts'], { cwd: ROOT, stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

const dev = await prepareDevNode({ dataDir: DATA_DIR, modules: [{ name: 'hello', wasmPath: HELLO }] });
if (dev.created) {
  process.stdout.write(
    `\nCreated a development node in ${DATA_DIR}:\n` +
      `  config.toml        trusts the local publisher key below; hello is public\n` +
      `  dev-publisher.key  ${dev.publicKey} (signed examples/hello)\n`,
  );
}
if (dev.installed.length > 0) process.stdout.write(`Installed ${dev.installed.join(', ')}\n`);

// The address the config names (edits to it included), for the example below.
const { listen } = (await loadConfigFile(dev.configFile)).gateway;
const base = `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
process.stdout.write(
  `\nStarting the node (Ctrl-C stops it). Then, in another terminal:\n` +
    `  curl '${base}/fn/hello?name=you'\n\n`,
);
process.exitCode = await main(['daemon', '--data', DATA_DIR], processIo());
