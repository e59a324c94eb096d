import { EXIT_OK, parseCommandArgs, type CommandIo } from './command.ts';
import { ADMIN_OPTIONS, AdminClient } from './admin-client.ts';
import { reportFailure } from './module-files.ts';

/** What an admin-API command produced: the --json object, the human text, and its exit status. */
export interface AdminOutput {
  json: Record<string, unknown>;
  human: string;
  /** Default EXIT_OK. */
  exit?: number;
}

type ParseOptions = NonNullable<Parameters<typeof parseCommandArgs>[1]>;

/**
 * Runs one admin-API command: parses `args` with the admin flags plus `options`, connects
 * (URL and token from the data dir), runs `body`, prints its output (or the failure, with the
 * stable code) and returns the exit status (docs/cli.md: 0, 1 failed, 2 bad usage).
 */
export async function runAdminCommand<T extends ParseOptions>(
  name: string,
  args: string[],
  io: CommandIo,
  options: T,
  allowPositionals: boolean,
  body: (
    client: AdminClient,
    parsed: ReturnType<typeof parseCommandArgs<T & typeof ADMIN_OPTIONS>>,
  ) => Promise<AdminOutput>,
): Promise<number> {
  const json = args.includes('--json');
  try {
    const parsed = parseCommandArgs(args, { ...ADMIN_OPTIONS, ...options }, allowPositionals);
    const client = await AdminClient.connect(parsed.values as Record<string, string | undefined>, io);
    const output = await body(client, parsed);
    io.stdout(json ? `${JSON.stringify({ ok: true, ...output.json })}\n` : output.human);
    return output.exit ?? EXIT_OK;
  } catch (error) {
    return reportFailure(name, error, json, io);
  }
}
