/**
 * `npm test`: everything CI checks, in order, stopping at the first failing step.
 *   1. build the guest modules from source (AssemblyScript examples, WAT fixtures are assembled by the tests)
 *      and the CLI bundle (scripts/bundle.ts) that packages/cli/bin/gojinn runs, so the e2e tests run it
 *   2. type check (tsc --noEmit, strict)
 *   3. lint and format check (eslint, prettier)
 *   4. unit and integration tests (node:test): packages/<name>/test, test/
 *   5. end-to-end tests with real daemon processes on loopback: e2e/
 * `npm test -- --only unit` (or build, bundle, typecheck, lint, e2e) runs one step.
 */
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Step {
  name: string;
  command: string[];
  /** Test steps list their file patterns so a step with no files yet is skipped, not failed. */
  patterns?: string[];
}

const testRunner = (patterns: string[]): string[] => [
  process.execPath,
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${process.env.GOJINN_TEST_CONCURRENCY ?? '2'}`,
  '--test-timeout=300000',
  ...patterns,
];

function testStep(name: string, patterns: string[]): Step {
  return { name, command: testRunner(patterns), patterns };
}

const STEPS: Step[] = [
  { name: 'build', command: [process.execPath, 'scripts/build-guests.ts'] },
  { name: 'bundle', command: [process.execPath, 'scripts/bundle.ts'] },
  { name: 'typecheck', command: ['tsc', '-p', 'tsconfig.json', '--noEmit'] },
  { name: 'lint', command: ['eslint', '--max-warnings=0', '.'] },
  { name: 'format', command: ['prettier', '--check', '--log-level=warn', '.'] },
  testStep('unit', ['packages/*/test/**/*.test.ts', 'daemon/test/**/*.test.ts', 'test/**/*.test.ts']),
  testStep('e2e', ['e2e/**/*.test.ts']),
];

const { values } = parseArgs({ options: { only: { type: 'string', multiple: true } } });
const selected = values.only ? STEPS.filter((s) => values.only?.includes(s.name)) : STEPS;

for (const step of selected) {
  if (step.patterns && step.patterns.every((p) => globSync(p).length === 0)) {
    process.stdout.write(`\n== ${step.name}: no test files yet, skipped\n`);
    continue;
  }
  const started = Date.now();
  process.stdout.write(`\n== ${step.name}: ${step.command.join(' ')}\n`);
  const [cmd, ...args] = step.command as [string, ...string[]];
  const result = spawnSync(cmd, args, { stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    process.stdout.write(
      `\n== ${step.name} FAILED after ${seconds}s (exit ${result.status ?? result.signal})\n`,
    );
    process.exit(1);
  }
  process.stdout.write(`== ${step.name} ok in ${seconds}s\n`);
}
