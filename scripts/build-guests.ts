/**
 * `npm run build:guests`: compiles the AssemblyScript guests from source.
 *
 * A guest is a folder `examples/<name>/` holding a `build.json` (`{"entry": ..., "ascFlags": [...]}`,
 * the only place its compiler flags live) and its sources under `assembly/`. The output is
 * `examples/<name>/build/<name>.wasm` (git-ignored). Every guest is a WASI command built
 * against `@assemblyscript/wasi-shim`, so the flags every guest shares are set here.
 *
 * A build is skipped when its stamp file (`build/.stamp`) holds the hash of everything that
 * went into it: the guest's files, the SDK's sources, its flags, the shared flags and the
 * versions of asc and the shim. So an up-to-date run only reads and hashes a few files.
 * `--force` rebuilds everything. Exit status 1 when any build fails, with asc's diagnostics.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type AscCompiler from 'assemblyscript/asc';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES_DIR = join(ROOT, 'examples');
const SDK_SOURCES_DIR = join(ROOT, 'packages/sdk-assemblyscript/assembly');
const SHIM_DIR = join(ROOT, 'node_modules/@assemblyscript/wasi-shim');
const ASC_PACKAGE = join(ROOT, 'node_modules/assemblyscript/package.json');

/** Flags every guest gets: WASI imports through the shim, `_start` exported (a WASI command). */
const SHARED_FLAGS = ['--config', 'node_modules/@assemblyscript/wasi-shim/asconfig.json'];
/** Flags a build.json may not set, because this script decides them. */
const RESERVED_FLAGS = new Set(['--config', '--outFile', '-o', '--textFile', '-t', '--baseDir', '--target']);
/** Bumped when the meaning of a stamp changes, so every guest rebuilds once. */
const STAMP_VERSION = 'gojinn-guest-build-v1';

interface GuestBuildConfig {
  /** Entry file, relative to the guest's folder. */
  entry: string;
  /** asc flags for this guest (runtime, optimisation, ...). */
  ascFlags: string[];
}

interface Guest {
  name: string;
  dir: string;
  config: GuestBuildConfig;
  outFile: string;
  stampFile: string;
}

function fail(message: string): never {
  process.stderr.write(`build-guests: ${message}\n`);
  process.exit(1);
}

function parseConfig(path: string): GuestBuildConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    fail(`${relative(ROOT, path)} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) fail(`${relative(ROOT, path)} must hold an object`);
  const { entry, ascFlags } = parsed as Record<string, unknown>;
  if (typeof entry !== 'string' || entry === '') fail(`${relative(ROOT, path)}: "entry" must be a file name`);
  if (!Array.isArray(ascFlags) || !ascFlags.every((flag): flag is string => typeof flag === 'string')) {
    fail(`${relative(ROOT, path)}: "ascFlags" must be an array of strings`);
  }
  const reserved = ascFlags.find((flag) => RESERVED_FLAGS.has(flag.split('=')[0] ?? flag));
  if (reserved !== undefined) fail(`${relative(ROOT, path)}: flag ${reserved} is set by the build script`);
  return { entry, ascFlags };
}

function discoverGuests(): Guest[] {
  if (!existsSync(EXAMPLES_DIR)) return [];
  return readdirSync(EXAMPLES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(EXAMPLES_DIR, entry.name, 'build.json')))
    .map((entry) => {
      const dir = join(EXAMPLES_DIR, entry.name);
      return {
        name: entry.name,
        dir,
        config: parseConfig(join(dir, 'build.json')),
        outFile: join(dir, 'build', `${entry.name}.wasm`),
        stampFile: join(dir, 'build', '.stamp'),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Every file below `dir` except build outputs, sorted, as paths relative to ROOT. */
function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (relative(dir, path).split('/').includes('build')) continue;
    files.push(relative(ROOT, path));
  }
  return files.sort();
}

function readVersion(packageJsonPath: string): string {
  const { version } = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { version?: unknown };
  if (typeof version !== 'string') fail(`no version in ${relative(ROOT, packageJsonPath)}`);
  return version;
}

function inputHash(guest: Guest, toolVersions: string): string {
  const hash = createHash('sha256');
  const field = (text: string): void => {
    hash.update(`${Buffer.byteLength(text)}:`).update(text);
  };
  field(STAMP_VERSION);
  field(toolVersions);
  field(JSON.stringify(SHARED_FLAGS));
  field(JSON.stringify(guest.config));
  // Every example's sources, not only this guest's: an example may import another's files
  // (secret-user uses sha256's), and a stamp must change whenever any input does.
  for (const file of [...listFiles(EXAMPLES_DIR), ...listFiles(SDK_SOURCES_DIR)]) {
    field(file);
    const content = readFileSync(join(ROOT, file));
    hash.update(`${content.length}:`).update(content);
  }
  return hash.digest('hex');
}

function isUpToDate(guest: Guest, hash: string): boolean {
  if (!existsSync(guest.outFile) || !existsSync(guest.stampFile)) return false;
  return readFileSync(guest.stampFile, 'utf8').trim() === hash;
}

type Asc = typeof AscCompiler;

async function compile(asc: Asc, guest: Guest): Promise<string | undefined> {
  const args = [
    relative(ROOT, join(guest.dir, guest.config.entry)),
    ...SHARED_FLAGS,
    ...guest.config.ascFlags,
    '--outFile',
    relative(ROOT, guest.outFile),
  ];
  let diagnostics = '';
  const collect = asc.createMemoryStream((chunk) => {
    diagnostics += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  });
  const result = await asc.main(args, { stdout: collect, stderr: collect });
  if (result.error) return diagnostics.trim() === '' ? result.error.message : diagnostics.trim();
  if (!existsSync(guest.outFile)) return `${diagnostics}\nasc reported success but wrote no output`.trim();
  return undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { force: { type: 'boolean', default: false } } });
  // asc resolves the shim's library folder and package imports from the working directory.
  process.chdir(ROOT);
  if (!existsSync(ASC_PACKAGE) || !existsSync(SHIM_DIR)) {
    fail('assemblyscript or @assemblyscript/wasi-shim is not installed: run `npm ci` first');
  }
  const toolVersions = `asc ${readVersion(ASC_PACKAGE)}; wasi-shim ${readVersion(join(SHIM_DIR, 'package.json'))}`;
  const guests = discoverGuests();
  if (guests.length === 0) {
    process.stdout.write('build-guests: no guests found under examples/\n');
    return;
  }

  let asc: Asc | undefined;
  const failures: string[] = [];
  for (const guest of guests) {
    const hash = inputHash(guest, toolVersions);
    if (!values.force && isUpToDate(guest, hash)) {
      process.stdout.write(`  ${guest.name}: up to date\n`);
      continue;
    }
    // Imported only when something needs building: loading the compiler takes longer than
    // checking every stamp.
    asc ??= (await import('assemblyscript/asc')).default;
    mkdirSync(join(guest.dir, 'build'), { recursive: true });
    // No stamp survives a failed build, so the next run tries again.
    rmSync(guest.stampFile, { force: true });
    const started = performance.now();
    const error = await compile(asc, guest);
    if (error !== undefined) {
      process.stderr.write(`\n${error}\n`);
      failures.push(guest.name);
      process.stderr.write(`  ${guest.name}: FAILED (asc could not compile ${relative(ROOT, guest.dir)})\n`);
      continue;
    }
    writeFileSync(guest.stampFile, `${hash}\n`);
    const kib = (statSync(guest.outFile).size / 1024).toFixed(1);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `  ${guest.name}: built ${relative(ROOT, guest.outFile)} (${kib} KiB) in ${seconds}s\n`,
    );
  }
  if (failures.length > 0) fail(`${failures.length} guest build(s) failed: ${failures.join(', ')}`);
}

await main();
