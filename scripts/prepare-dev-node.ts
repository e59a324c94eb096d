/**
 * The preparation half of `npm start` (scripts/start.ts runs it as a child process, so the
 * node's own process never loads the daemon from its sources): on the first run it creates the
 * node in the data dir (`gojinn init`), a local publisher key (dev-publisher.key), a development
 * config trusting that key with hello public, and signs and installs examples/hello; later runs
 * reuse all of it (a rebuilt hello is installed as the next patch version). Prints what it did
 * and how to call the node.
 *
 *   node scripts/prepare-dev-node.ts DATA_DIR HELLO_WASM
 */
import { loadConfigFile, prepareDevNode } from '@gojinn/daemon';

const [dataDir, helloPath] = process.argv.slice(2);
if (dataDir === undefined || helloPath === undefined) {
  process.stderr.write('usage: node scripts/prepare-dev-node.ts DATA_DIR HELLO_WASM\n');
  process.exit(2);
}

const dev = await prepareDevNode({ dataDir, modules: [{ name: 'hello', wasmPath: helloPath }] });
if (dev.created) {
  process.stdout.write(
    `\nCreated a development node in ${dataDir}:\n` +
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
