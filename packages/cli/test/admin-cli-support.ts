/** Runs the CLI in-process against a real admin server (daemon/test/admin-harness.ts). */
import { main } from '../src/main.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function gojinn(
  cwd: string,
  args: readonly string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv; tty?: boolean } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main([...args], {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    readStdin: () => Promise.resolve(Buffer.from(options.stdin ?? '')),
    env: options.env ?? {},
    cwd,
    stderrIsTTY: options.tty === true,
  });
  return { code, stdout, stderr };
}

/** The one JSON object a --json run printed. */
export function jsonOf(run: CliRun): Record<string, unknown> {
  const lines = run.stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one JSON line, got: ${run.stdout}`);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
}
