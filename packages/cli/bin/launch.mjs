// What packages/cli/bin/gojinn runs: the CLI from the bundle (dist/gojinn.mjs, built by
// scripts/bundle.ts) when the bundle is up to date with every file it was built from, else
// from the sources. Plain JavaScript so that choosing costs no type stripping: one stat per
// input file (~1,200, a few ms). GOJINN_FROM_SOURCES=1 always runs the sources.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';

/** Where the bundle and its record of inputs live under the project root. */
export function BUNDLE_FILES(root) {
  return {
    bundle: join(root, 'dist/gojinn.mjs'),
    inputs: join(root, 'dist/gojinn.inputs.json'),
    /** The build script: a change to how the bundle is made makes it stale too. */
    builder: join(root, 'scripts/bundle.ts'),
  };
}

function fingerprint(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat === undefined ? null : { size: stat.size, mtimeMs: stat.mtimeMs };
}

/** Writes the record of `inputs` (absolute paths) the freshness check compares against. */
export function recordBundleInputs(files, inputs) {
  const all = [...new Set([...inputs, files.builder, files.bundle])];
  const record = all.map((path) => ({ path, ...fingerprint(path) }));
  writeFileSync(files.inputs, JSON.stringify(record));
}

/**
 * True when the bundle exists and every recorded input (the bundle itself and the build script
 * among them) has the size and modification time it had when the bundle was built.
 */
export function bundleIsFresh(files) {
  let record;
  try {
    record = JSON.parse(readFileSync(files.inputs, 'utf8'));
  } catch {
    return false;
  }
  if (!Array.isArray(record) || !record.some((entry) => entry?.path === files.bundle)) return false;
  for (const entry of record) {
    const now = fingerprint(entry.path);
    if (now === null || now.size !== entry.size || now.mtimeMs !== entry.mtimeMs) return false;
  }
  return true;
}

/** The CLI's `main` and `processIo`, from the bundle when fresh, else from the sources. */
export async function loadCli(root = fileURLToPath(new URL('../../..', import.meta.url))) {
  const files = BUNDLE_FILES(root);
  const useBundle = process.env.GOJINN_FROM_SOURCES !== '1' && bundleIsFresh(files);
  const url = useBundle ? pathToFileURL(files.bundle) : pathToFileURL(join(root, 'packages/cli/src/main.ts'));
  const cli = await import(url.href);
  return { main: cli.main, processIo: cli.processIo, fromBundle: useBundle };
}

if (import.meta.main) {
  const { main, processIo, fromBundle } = await loadCli();
  const args = process.argv.slice(2);
  if (args[0] === 'daemon' && !fromBundle && process.env.GOJINN_FROM_SOURCES !== '1') {
    // Correct either way, but an operator should know why this node is ~28 MiB bigger.
    process.stderr.write(
      'gojinn daemon: running from the sources (dist/gojinn.mjs is missing or out of date; ' +
        '`node scripts/bundle.ts` rebuilds it: docs/operations.md, "Memory")\n',
    );
  }
  process.exitCode = await main(args, processIo());
}
