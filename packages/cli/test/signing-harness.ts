/** Shared by the keygen/sign/verify tests: runs `gojinn` in-process in a temporary directory. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/main.ts';
import { assembleWat } from '../../../test/support/wat.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function gojinn(cwd: string, ...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    readStdin: () => Promise.resolve(Buffer.alloc(0)),
    env: {},
    cwd,
  });
  return { code, stdout, stderr };
}

/** Parses stdout as exactly one JSON object (what --json promises). */
export function onlyJson(result: CliResult): Record<string, unknown> {
  const lines = result.stdout.trimEnd().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line of JSON, got ${lines.length}: ${result.stdout}`);
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

/** Assembles WAT text into module bytes (the project's one wabt helper). */
export const assemble = (wat: string): Promise<Uint8Array> => assembleWat(wat);

/** A WASI command that imports fd_write and the given `gojinn` host functions. */
export function moduleImporting(...hostFunctions: string[]): Promise<Uint8Array> {
  const imports = hostFunctions.map(
    (name) => `(import "gojinn" "${name}" (func (param i32 i32 i32 i32) (result i32)))`,
  );
  return assemble(`(module
    (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
    ${imports.join('\n')}
    (memory (export "memory") 1)
    (func (export "_start")))`);
}

/** A temporary directory holding `hello.wasm` (importing gojinn.kv_get); removed by `cleanup`. */
export async function workspace(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-cli-'));
  await writeFile(join(dir, 'hello.wasm'), await moduleImporting('kv_get'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
