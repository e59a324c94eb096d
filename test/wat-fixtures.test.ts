/**
 * The adversarial WAT fixtures (test/fixtures/wat) and the malformed-bytes helpers
 * (test/support/fixtures.ts): every fixture assembles, has a well-formed header and the shape
 * its header promises; and the fixtures that end on their own do, under Node's own node:wasi,
 * exactly what their header says they attempt — so a sandbox test that uses one is testing
 * the attack it names, not a typo.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  minimalCommand,
  moduleOfSize,
  truncatedModule,
  withBadMagic,
  withBadSectionId,
  withBadVersion,
  withTrailingGarbage,
} from './support/fixtures.ts';
import { runWithNodeWasi, type ReferenceRun } from './support/reference-wasi.ts';
import { assembleWat, listFixtures, loadFixture, readFixtureHeader } from './support/wat.ts';

const OK_RESPONSE = '{"status":200,"body":"ok"}';

/** Fixtures whose point is to break the WASI-command shape, so they lack memory or _start. */
const NOT_A_COMMAND_ON_PURPOSE = new Set(['no-memory-export', 'no-start-export']);

const compiled = new Map<string, WebAssembly.Module>();
async function compileFixture(name: string): Promise<WebAssembly.Module> {
  let module = compiled.get(name);
  if (!module) {
    module = new WebAssembly.Module(await loadFixture(name));
    compiled.set(name, module);
  }
  return module;
}

async function runFixture(
  name: string,
  options: Parameters<typeof runWithNodeWasi>[2] = {},
): Promise<ReferenceRun> {
  return runWithNodeWasi(await compileFixture(name), '', options);
}

function assertTrap(run: ReferenceRun, message: RegExp): void {
  assert.ok(
    run.error instanceof WebAssembly.RuntimeError,
    `expected a trap, got ${run.error?.name ?? 'none'}`,
  );
  assert.match(run.error.message, message);
}

/**
 * What each fixture that ends on its own does on a permissive reference host. Fixtures that
 * would not end (loops, floods, bombs) or would block the thread are listed in NOT_RUN with why.
 */
const REFERENCE_BEHAVIOUR: Record<string, () => Promise<void>> = {
  'respond-ok': async () => {
    const run = await runFixture('respond-ok');
    assert.equal(run.exitCode, 0);
    assert.equal(run.stdout.toString(), OK_RESPONSE);
  },
  'respond-then-exit-0': async () => {
    const run = await runFixture('respond-then-exit-0');
    assert.equal(run.error, undefined);
    assert.equal(run.exitCode, 0);
    assert.equal(run.stdout.toString(), OK_RESPONSE);
  },
  unreachable: async () => assertTrap(await runFixture('unreachable'), /unreachable/),
  'divide-by-zero': async () => assertTrap(await runFixture('divide-by-zero'), /divide by zero/),
  'out-of-bounds-load': async () => assertTrap(await runFixture('out-of-bounds-load'), /out of bounds/),
  'call-indirect-signature-mismatch': async () =>
    assertTrap(await runFixture('call-indirect-signature-mismatch'), /signature mismatch/),
  'call-indirect-null-slot': async () =>
    assertTrap(await runFixture('call-indirect-null-slot'), /null function|signature mismatch/),
  'deep-recursion': async () => {
    const run = await runFixture('deep-recursion');
    assert.ok(run.error instanceof RangeError, `expected a stack overflow, got ${run.error?.name ?? 'none'}`);
    assert.match(run.error.message, /Maximum call stack size exceeded/);
  },
  'proc-exit-3': async () => {
    const run = await runFixture('proc-exit-3');
    assert.equal(run.error, undefined);
    assert.equal(run.exitCode, 3);
  },
  'stdout-not-json': async () => {
    const run = await runFixture('stdout-not-json');
    assert.equal(run.exitCode, 0);
    assert.throws(() => JSON.parse(run.stdout.toString()) as unknown, SyntaxError);
  },
  'stderr-flood': async () => {
    const run = await runFixture('stderr-flood');
    assert.equal(run.exitCode, 0);
    assert.equal(run.stderr.length, 1024 * 1024);
    assert.equal(run.stdout.toString(), OK_RESPONSE);
  },
  'memory-cpu-hungry': async () => {
    const run = await runFixture('memory-cpu-hungry');
    assert.equal(run.error, undefined);
    assert.equal(run.stdout.toString(), OK_RESPONSE);
  },
  'wasi-path-open': async () => {
    // Without pre-opened directories both opens fail and the errnos are reported...
    const denied = await runFixture('wasi-path-open');
    assert.equal(denied.exitCode, 0);
    const { status, body } = JSON.parse(denied.stdout.toString()) as { status: number; body: string };
    assert.equal(status, 200);
    const errnos = /^path_open errno (\d+) (\d+)$/.exec(body);
    assert.ok(errnos, body);
    assert.ok(
      errnos.slice(1).every((errno) => Number(errno) !== 0),
      body,
    );
    // ...and on a host that pre-opens a directory as fd 3, the fixture really reads and leaks the file.
    const root = mkdtempSync(join(tmpdir(), 'gojinn-fixture-root-'));
    try {
      mkdirSync(join(root, 'etc'));
      writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:SECRET-SENTINEL');
      const leaked = await runFixture('wasi-path-open', { preopens: { '/': root } });
      assert.match(leaked.stdout.toString(), /SECRET-SENTINEL/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  'wasi-sockets': async () => {
    const run = await runFixture('wasi-sockets');
    assert.equal(run.exitCode, 0);
    const { body } = JSON.parse(run.stdout.toString()) as { body: string };
    const errnos = /^sock_accept errno (\d+) sock_recv errno (\d+)$/.exec(body);
    assert.ok(errnos, body);
    assert.ok(
      errnos.slice(1).every((errno) => Number(errno) !== 0),
      body,
    );
  },
  'import-unknown-module': async () => {
    // V8 reports a missing import module as a TypeError, a missing function as a LinkError.
    const run = await runFixture('import-unknown-module');
    assert.ok(run.error instanceof TypeError, 'env.foo must not link on a WASI-only host');
    assert.match(run.error.message, /"env"/);
  },
  'import-unknown-wasi-function': async () => {
    const run = await runFixture('import-unknown-wasi-function');
    assert.ok(run.error instanceof WebAssembly.LinkError, 'fd_frobnicate is not a preview1 function');
    assert.match(run.error.message, /fd_frobnicate/);
  },
  'import-gojinn-kv-get': async () => {
    const withoutHost = await runFixture('import-gojinn-kv-get');
    assert.ok(withoutHost.error instanceof TypeError);
    assert.match(withoutHost.error.message, /"gojinn"/);
    // With the host function provided, it links and responds without ever calling it.
    const refuse = (): never => {
      throw new Error('kv_get was called');
    };
    const run = await runFixture('import-gojinn-kv-get', { imports: { gojinn: { kv_get: refuse } } });
    assert.equal(run.error, undefined);
    assert.equal(run.stdout.toString(), OK_RESPONSE);
  },
  'no-memory-export': async () => {
    const run = await runFixture('no-memory-export');
    assert.ok(run.error, 'node:wasi refuses a command without an exported memory');
  },
  'no-start-export': async () => {
    const run = await runFixture('no-start-export');
    assert.ok(run.error, 'node:wasi refuses a command without _start');
  },
};

const NOT_RUN: Record<string, string> = {
  'loop-in-start-export': 'never ends',
  'loop-in-start-function': 'never ends (hangs instantiation)',
  'memory-grow-bomb': 'would grow to 4 GiB on an unmetered host',
  'memory-huge-initial': 'would reserve 3.66 GiB',
  'table-grow-bomb': 'would grow a table to V8 maximum (tens of MB of host memory)',
  'stdout-flood': 'never ends (writes forever)',
  'memory-fill-loop': 'never ends',
  'memory-copy-loop': 'never ends',
  'shared-memory-atomic-wait': 'blocks the thread forever',
  'reserved-export-name': 'runs normally: only the sandbox gives the name a meaning',
  'import-memory': 'links only when handed a memory: only the sandbox refuses it',
};

void describe('WAT fixtures', () => {
  void test('there are fixtures, and each is either checked on the reference host or says why not', () => {
    const names = listFixtures();
    assert.ok(names.length >= 25, `only ${names.length} fixtures`);
    for (const name of names) {
      assert.ok(
        Object.hasOwn(REFERENCE_BEHAVIOUR, name) !== Object.hasOwn(NOT_RUN, name),
        `${name} must be in exactly one of REFERENCE_BEHAVIOUR and NOT_RUN`,
      );
    }
    for (const name of [...Object.keys(REFERENCE_BEHAVIOUR), ...Object.keys(NOT_RUN)]) {
      assert.ok(names.includes(name), `no fixture ${name}.wat`);
    }
  });

  for (const name of listFixtures()) {
    void test(`${name} assembles, is valid wasm, and has the shape its header promises`, async () => {
      const header = readFixtureHeader(name);
      assert.ok(header.attacks.length > 10, 'the header says what it attacks');
      const bytes = await loadFixture(name);
      assert.ok(WebAssembly.validate(bytes), 'V8 accepts the module');
      const module = await compileFixture(name);
      const exports = WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`);
      if (!NOT_A_COMMAND_ON_PURPOSE.has(name)) {
        assert.ok(exports.includes('memory:memory'), `${name} exports memory`);
        assert.ok(exports.includes('_start:function'), `${name} exports _start`);
      }
    });
  }

  void test('a fixture needing a feature does not assemble without it', async () => {
    const header = readFixtureHeader('shared-memory-atomic-wait');
    assert.deepEqual(header.features, ['threads']);
    await assert.rejects(
      assembleWat(join(import.meta.dirname, 'fixtures/wat/shared-memory-atomic-wait.wat')),
      /shared/,
    );
  });

  void test("the fixture table in docs/guests.md lists every fixture with its header's expectation", () => {
    const doc = readFileSync(join(import.meta.dirname, '../docs/guests.md'), 'utf8');
    const documented = new Map<string, string>();
    for (const match of doc.matchAll(/^\| `([a-z0-9-]+)` +\| `([a-z_]+)` +\|/gm)) {
      documented.set(match[1] ?? '', match[2] ?? '');
    }
    const actual = new Map(listFixtures().map((name) => [name, readFixtureHeader(name).expect as string]));
    assert.deepEqual(documented, actual);
  });

  void test('headers are parsed strictly', () => {
    assert.throws(() => readFixtureHeader('../etc/passwd'), /bad fixture name/);
    assert.throws(() => readFixtureHeader('no-such-fixture'), /ENOENT/);
  });

  void describe('behave as their headers say on the node:wasi reference host', () => {
    for (const [name, check] of Object.entries(REFERENCE_BEHAVIOUR)) {
      void test(name, check);
    }
  });
});

void describe('malformed and oversized module helpers', () => {
  void test('the minimal command is valid; each corruption of it is not', () => {
    const minimal = minimalCommand();
    assert.ok(WebAssembly.validate(minimal));
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(minimal)).map((e) => e.name);
    assert.deepEqual(exports, ['memory', '_start']);
    for (const [what, bytes] of Object.entries({
      truncated: truncatedModule(minimal),
      'cut inside the first section': truncatedModule(minimal, 10),
      'bad magic': withBadMagic(minimal),
      'bad version': withBadVersion(minimal),
      'bad section id': withBadSectionId(minimal),
      'trailing garbage': withTrailingGarbage(minimal),
    })) {
      assert.equal(WebAssembly.validate(bytes), false, what);
    }
  });

  void test('moduleOfSize builds valid modules of exactly the requested size', () => {
    for (const via of ['custom', 'data'] as const) {
      const smallest = via === 'custom' ? minimalCommand().length + 3 : 70;
      for (let size = smallest; size < smallest + 300; size++) {
        const bytes = moduleOfSize(size, via);
        assert.equal(bytes.length, size, `${via} ${size}`);
        assert.ok(WebAssembly.validate(bytes), `${via} ${size} is valid`);
      }
      // Around the default maxModuleBytes (16 MiB): at the limit and one byte over.
      for (const size of [16 * 1024 * 1024, 16 * 1024 * 1024 + 1]) {
        const bytes = moduleOfSize(size, via);
        assert.equal(bytes.length, size);
        assert.ok(WebAssembly.validate(bytes));
      }
    }
  });

  void test('moduleOfSize refuses sizes it cannot build', () => {
    assert.throws(() => moduleOfSize(10), /too small/);
    assert.throws(() => moduleOfSize(minimalCommand().length + 1), /at least 3/);
  });
});
