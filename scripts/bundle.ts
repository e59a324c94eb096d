/**
 * Bundles the `gojinn` CLI (and so the daemon) into minified ES modules in dist/: gojinn.mjs,
 * the three modules the sandbox's pool workers load by URL (worker-entry.mjs, runtime-runner.mjs,
 * host-imports.mjs), the db capability's executor process and its watchdog thread
 * (db-executor.mjs, db-watchdog.mjs) and the chunks they share. packages/cli/bin/gojinn runs them when they are up
 * to date with their sources.
 *
 *   node scripts/bundle.ts [--force]
 *
 * Why: a daemon loaded from ~1,200 separate modules (ours and libp2p's) keeps every module's
 * record, source text and compile-cache entry resident; the same code bundled idles ~28 MiB
 * smaller, and a worker thread that loads a few bundled modules starts ~100 ms sooner and
 * ~15 MiB smaller (bench/daemon-rss.ts, docs/operations.md, "Memory"). Tests run from the
 * sources, the e2e tests and `npm start` from the bundle, so both are exercised.
 *
 * Beside it, dist/gojinn.inputs.json records every input and output file with its size and
 * modification time; the launcher (packages/cli/bin/launch.mjs) runs the bundle only when all
 * of them still match, so an edited source or an upgraded dependency is never served stale.
 * Without --force this script rebuilds only when that check fails.
 *
 * URLs: in our sources, `new URL('./x', import.meta.url)` naming one of the bundled entries
 * becomes that entry's file in dist/; every other `import.meta.url` becomes the URL of the
 * source file it was written in, so anything read relative to a source file is found where it is. classic-level stays external: it loads a native
 * addon relative to its own package.
 */
import { readFile, rm } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { BUNDLE_FILES, bundleIsFresh, recordBundleInputs } from '../packages/cli/bin/launch.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = resolve(ROOT, 'dist');

/**
 * What goes into dist/: the CLI, the modules the sandbox's pool workers load by URL (the
 * worker entry with the worker proper, the task runner, the host imports), so a worker thread
 * too loads a few bundled modules instead of the sources, and the db executor's process and
 * watchdog thread, forked and started by URL the same way. Shared code goes into chunks beside
 * them (esbuild's splitting), so the runner and the host imports a worker loads share one copy
 * of the runtime's module state, as they do from the sources.
 */
const ENTRIES: Record<string, string> = {
  gojinn: 'packages/cli/src/main.ts',
  'worker-entry': 'packages/sandbox/src/pool/worker-entry.mjs',
  'runtime-runner': 'packages/sandbox/src/pool/runtime-runner.ts',
  'host-imports': 'packages/capabilities/src/host-imports.ts',
  'db-executor': 'packages/capabilities/src/db/executor-process.ts',
  'db-watchdog': 'packages/capabilities/src/db/executor-watchdog.ts',
};

/** Each entry's source file (absolute) to its output file name in dist/. */
const OUTPUT_OF_SOURCE = new Map(
  Object.entries(ENTRIES).map(([name, source]) => [resolve(ROOT, source), `${name}.mjs`]),
);

/** `new URL('./x', import.meta.url)` with a literal relative path. */
const URL_OF_SIBLING = /new URL\((['"])(\.{1,2}\/[^'"]+)\1, import\.meta\.url\)/g;

/**
 * Every output lands in dist/ itself (entries and chunks), so one rewrite serves them all: in our
 * own sources, `new URL('./x', import.meta.url)` naming a bundled entry becomes that entry's
 * output in dist/, and every other `import.meta.url` becomes the URL of the source file it was
 * written in (relative to dist/), so files read relative to a source are found where they are.
 */
function sourceImportMetaUrl(): Plugin {
  return {
    name: 'source-import-meta-url',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /\.(ts|mjs|js)$/ }, async (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        // The bundled entries' URLs are spelled with a marker first, so the second replacement
        // (every other import.meta.url) leaves them relative to the output.
        const marker = '__gojinn_output_url__';
        const toBundled = text.replace(URL_OF_SIBLING, (whole, _quote, path: string) => {
          const output = OUTPUT_OF_SOURCE.get(resolve(dirname(args.path), path));
          return output === undefined ? whole : `new URL(${JSON.stringify(`./${output}`)}, ${marker})`;
        });
        const fromDist = relative(DIST, args.path);
        return {
          contents: toBundled
            .replaceAll('import.meta.url', `new URL(${JSON.stringify(fromDist)}, import.meta.url).href`)
            .replaceAll(marker, 'import.meta.url'),
          loader: args.path.endsWith('.ts') ? 'ts' : 'js',
        };
      });
    },
  };
}

/** Builds the bundle unless it is fresh (or `force`); returns whether it built. */
export async function ensureBundle(force = false): Promise<boolean> {
  const files = BUNDLE_FILES(ROOT);
  if (!force && bundleIsFresh(files)) return false;
  await rm(DIST, { recursive: true, force: true });
  const result = await build({
    entryPoints: Object.fromEntries(
      Object.entries(ENTRIES).map(([name, source]) => [name, resolve(ROOT, source)]),
    ),
    outdir: DIST,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    external: ['classic-level'],
    plugins: [sourceImportMetaUrl()],
    // CommonJS dependencies inside an ES module bundle still call require().
    banner: {
      js: "import { createRequire as __gojinnCreateRequire } from 'node:module'; const require = __gojinnCreateRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'error',
  });
  // Inputs and every output: a changed source, dependency, chunk or entry makes it stale.
  recordBundleInputs(files, [
    ...Object.keys(result.metafile.inputs).map((input) => resolve(ROOT, input)),
    ...Object.keys(result.metafile.outputs).map((output) => resolve(ROOT, output)),
  ]);
  // One run through bin/gojinn fills the compile cache it uses (its own, or $NODE_COMPILE_CACHE
  // as npm start sets it) with the new bundle: a daemon started on a cold cache compiles the
  // bundle from source and idles ~8 MiB bigger (100 against 92 MiB, bench/daemon-rss.ts).
  spawnSync(join(ROOT, 'packages/cli/bin/gojinn'), ['--help'], { cwd: ROOT, stdio: 'ignore' });
  return true;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { force: { type: 'boolean', default: false } } });
  const started = performance.now();
  const built = await ensureBundle(values.force);
  const ms = Math.round(performance.now() - started);
  process.stdout.write(
    built ? `bundle: built dist/gojinn.mjs in ${ms} ms\n` : `bundle: dist/gojinn.mjs is up to date\n`,
  );
}
