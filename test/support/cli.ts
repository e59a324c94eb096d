/** Runs the `gojinn` CLI in-process, capturing what it prints: the tests' way to drive it as a user would. */
import { main } from '../../packages/cli/src/main.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runGojinn(cwd: string, args: readonly string[], stdin = ''): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main([...args], {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    readStdin: () => Promise.resolve(Buffer.from(stdin)),
    env: {},
    cwd,
  });
  return { code, stdout, stderr };
}
