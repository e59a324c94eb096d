/**
 * Bundles the `gojinn` CLI (and so the daemon) into one minified ES module, dist/gojinn.mjs,
 * which packages/cli/bin/gojinn runs when it is up to date with its sources.
 *
 *   node scripts/bundle.ts [--force]
 *
 * Why: a daemon loaded from ~1,200 separate modules (ours and libp2p's) keeps every module's
 * record, source text and compile-cache entry resident; the same code as one minified module
 * idles ~28 MiB smaller (bench/daemon-rss.ts, docs/operations.md, "Memory"). Tests run from the
 * sources, the e2e tests and `npm start` from the bundle, so both are exercised.
 *
 * Beside the bundle, dist/gojinn.inputs.json records every input file with its size and
 * modification time; the launcher (packages/cli/bin/launch.mjs) runs the bundle only when all
 * of them still match, so an edited source or an upgraded dependency is never served stale.
 * Without --force this script rebuilds only when that check fails.
 *
 * Files the code loads at run time by URL (worker entries, the host-imports module, the db
 * executor) stay separate: each `import.meta.url` in our sources becomes that source file's
 * URL, relative to the bundle, so `new URL('./x.ts', import.meta.url)` still names the source.
 * classic-level stays external: it loads a native addon relative to its own package.
 */
import { readFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { BUNDLE_FILES, bundleIsFresh, recordBundleInputs } from '../packages/cli/bin/launch.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = resolve(ROOT, 'packages/cli/src/main.ts');

/** Rewrites `import.meta.url` in our own sources to the URL of the file it was written in. */
function sourceImportMetaUrl(outfile: string): Plugin {
  return {
    name: 'source-import-meta-url',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /\.(ts|mjs|js)$/ }, async (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const fromBundle = relative(dirname(outfile), args.path);
        return {
          contents: text.replaceAll(
            'import.meta.url',
            `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`,
          ),
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
  const result = await build({
    entryPoints: [ENTRY],
    outfile: files.bundle,
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    external: ['classic-level'],
    plugins: [sourceImportMetaUrl(files.bundle)],
    // CommonJS dependencies inside an ES module bundle still call require().
    banner: {
      js: "import { createRequire as __gojinnCreateRequire } from 'node:module'; const require = __gojinnCreateRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'error',
  });
  recordBundleInputs(
    files,
    Object.keys(result.metafile.inputs).map((input) => resolve(ROOT, input)),
  );
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
