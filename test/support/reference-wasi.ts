/**
 * Runs a WASI command under Node's own `node:wasi`, as an independent reference host for the
 * guest and fixture tests ONLY. node:wasi is not a sandbox (its docs say so: it exposes real
 * clocks, randomness and whatever directory is pre-opened) and Gojinn never runs untrusted code
 * with it. Here it answers "does this guest behave as intended on a host that is not ours?",
 * so a bug in our own WASI shim cannot hide a bug in a guest, or the other way round.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';

export interface ReferenceRunOptions {
  /** Guest path → host directory, e.g. to show that a fixture would leak on a permissive host. */
  preopens?: Record<string, string>;
  /**
   * Extra imports beside `wasi_snapshot_preview1`, or a function making them that receives a
   * getter for the guest's exported memory (for host functions that read guest buffers).
   */
  imports?: WebAssembly.Imports | ((memory: () => WebAssembly.Memory) => WebAssembly.Imports);
}

export interface ReferenceRun {
  /** proc_exit's status, or 0 when `_start` returned; undefined when the guest threw. */
  exitCode: number | undefined;
  stdout: Buffer;
  stderr: Buffer;
  /** What instantiation or `_start` threw: LinkError, RuntimeError (a trap), RangeError... */
  error: Error | undefined;
}

/** Runs `module` once with `stdin` as its standard input; stdout and stderr are captured in files. */
export function runWithNodeWasi(
  module: WebAssembly.Module,
  stdin: string | Uint8Array,
  options: ReferenceRunOptions = {},
): ReferenceRun {
  const dir = mkdtempSync(join(tmpdir(), 'gojinn-reference-wasi-'));
  const paths = { stdin: join(dir, 'stdin'), stdout: join(dir, 'stdout'), stderr: join(dir, 'stderr') };
  writeFileSync(paths.stdin, stdin);
  const fds = {
    stdin: openSync(paths.stdin, 'r'),
    stdout: openSync(paths.stdout, 'w'),
    stderr: openSync(paths.stderr, 'w'),
  };
  let exitCode: number | undefined;
  let error: Error | undefined;
  try {
    const wasi = new WASI({
      version: 'preview1',
      args: ['guest'],
      env: {},
      stdin: fds.stdin,
      stdout: fds.stdout,
      stderr: fds.stderr,
      returnOnExit: true,
      preopens: options.preopens ?? {},
    });
    try {
      // Host functions run after instantiation, so by then `created.instance` is set.
      const created: { instance?: WebAssembly.Instance } = {};
      const memory = (): WebAssembly.Memory => {
        const exported = created.instance?.exports.memory;
        if (!(exported instanceof WebAssembly.Memory)) throw new Error('the guest exports no memory');
        return exported;
      };
      const extra = typeof options.imports === 'function' ? options.imports(memory) : options.imports;
      created.instance = new WebAssembly.Instance(module, { ...extra, ...wasi.getImportObject() });
      exitCode = wasi.start(created.instance);
    } catch (thrown) {
      error = thrown instanceof Error ? thrown : new Error(String(thrown));
    }
  } finally {
    closeSync(fds.stdin);
    closeSync(fds.stdout);
    closeSync(fds.stderr);
  }
  const run = { exitCode, stdout: readFileSync(paths.stdout), stderr: readFileSync(paths.stderr), error };
  rmSync(dir, { recursive: true, force: true });
  return run;
}
