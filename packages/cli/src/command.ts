import { parseArgs } from 'node:util';

/**
 * What every `gojinn` subcommand looks like. Each command lives in its own file under
 * commands/ and is listed once in commands/index.ts.
 *
 * Exit codes (docs/cli.md): 0 success, 1 the operation failed (the error code says how),
 * 2 bad usage or unreadable input.
 */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Where a command writes; tests pass their own to capture output. */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads all of standard input (for `--input -`). */
  readStdin: () => Promise<Buffer>;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Whether stderr is a terminal (progress is shown there by default then). Default false. */
  stderrIsTTY?: boolean;
}

export interface Command {
  name: string;
  /** One line for `gojinn --help`. */
  summary: string;
  /** Full text for `gojinn <name> --help`. */
  usage: string;
  run(args: string[], io: CommandIo): Promise<number>;
}

/** Thrown by argument parsing: printed with the command's usage, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** parseArgs with Gojinn's conventions: unknown flags and stray arguments are usage errors. */
export function parseCommandArgs<T extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(
  args: string[],
  options: T,
  allowPositionals: boolean,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
