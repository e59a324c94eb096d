/**
 * `npm run bench [-- NAME...]`: runs the benchmark scripts in bench/ one after another (each
 * prints its figures beside a baseline measured in the same run), or only the named ones.
 * `npm run bench -- --list` lists them. Benchmarks are never part of `npm test`: timings on a
 * shared machine are not assertions.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = fileURLToPath(new URL('../bench/', import.meta.url));
const all = readdirSync(BENCH_DIR)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -3))
  .sort();
const args = process.argv.slice(2);
if (args.includes('--list')) {
  process.stdout.write(`${all.join('\n')}\n`);
  process.exit(0);
}
const unknown = args.filter((name) => !all.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${all.join(', ')}\n`);
  process.exit(2);
}
let failed = 0;
for (const name of args.length > 0 ? args : all) {
  process.stdout.write(`\n=== bench/${name}.ts\n`);
  const run = spawnSync(process.execPath, [`${BENCH_DIR}${name}.ts`], { stdio: 'inherit' });
  if (run.status !== 0) {
    failed++;
    process.stderr.write(`bench/${name}.ts exited with ${String(run.status ?? run.signal)}\n`);
  }
}
process.exit(failed === 0 ? 0 : 1);
