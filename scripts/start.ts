/**
 * `npm start`: builds the example guests (skipped when up to date) and runs the hello example
 * once in the sandbox through `gojinn run`, printing the response and what the run cost. The
 * node daemon replaces this when it lands (docs/quickstart.md will say so).
 */
import { spawnSync } from 'node:child_process';

function step(args: string[]): number {
  const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
  return result.status ?? 1;
}

const built = step(['scripts/build-guests.ts']);
if (built !== 0) process.exit(built);

const name = process.env.USER ?? 'world';
process.stdout.write(`\n$ gojinn run examples/hello/build/hello.wasm --input '{"uri":"/?name=${name}"}'\n`);
const status = step([
  'packages/cli/src/main.ts',
  'run',
  'examples/hello/build/hello.wasm',
  '--input',
  JSON.stringify({ uri: `/?name=${encodeURIComponent(name)}` }),
]);
process.stdout.write(
  `\nThat ran examples/hello in a fresh sandbox: no capabilities, deterministic fuel, a memory ceiling and a timeout.\n` +
    `Try: packages/cli/bin/gojinn run examples/hello/build/hello.wasm --json --input '{"uri":"/?name=you"}'\n` +
    `     packages/cli/bin/gojinn --help\n`,
);
process.exit(status);
