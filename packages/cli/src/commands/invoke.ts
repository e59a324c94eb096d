import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError, type Command, type CommandIo } from '../command.ts';
import { ADMIN_OPTIONS_USAGE } from '../admin-client.ts';
import { runAdminCommand } from '../admin-command.ts';
import { EXIT_FAILED, EXIT_OK } from '../command.ts';

/** Largest --body read from a file or stdin (the admin API's maxBodyBytes bounds the request again). */
export const MAX_INVOKE_BODY_BYTES = 64 * 1024;

const USAGE = `Usage: gojinn invoke <name> [--remote] [--peer ID] [--verify] [--method M] [--path /P] [--header 'Name: value']...
                     [--body TEXT | --body @file | --body -] [--data DIR] [--admin-url URL] [--json]

Calls function <name> through a running node (admin API): locally when it is installed and
allowed, else on a peer that has it (--remote forces a peer, --peer names one). Prints the
response body on stdout; status, headers, fuel, the serving peer and the receipt (for a
federated call) on stderr.

Options:
  --remote          run it on a peer even if it is installed here
  --peer ID         run it on this peer (a peer id)
  --verify          after a deterministic remote run, run it again on this node (same module
                    bytes, request and seed) and compare with the peer's receipt; a mismatch is
                    recorded against the peer in the audit log (kind receipt-mismatch)
  --method M        HTTP method the guest sees (default GET)
  --path /P         the request path and query the guest sees (default /)
  --header H        'Name: value'; repeat for more
  --body B          the request body: text, @file, or - for standard input
${ADMIN_OPTIONS_USAGE}

Exit status: 0 the guest answered, 1 the call failed (the code says how: not_found,
peer_denied, peer_unreachable, fuel_exhausted, timeout, ...), 2 bad usage.
`;

async function bodyOf(flag: string | undefined, io: CommandIo): Promise<string> {
  if (flag === undefined) return '';
  let bytes: Buffer;
  if (flag === '-') bytes = await io.readStdin();
  else if (flag.startsWith('@')) {
    try {
      bytes = await readFile(resolve(io.cwd, flag.slice(1)));
    } catch (error) {
      throw new UsageError(
        `cannot read --body file ${flag.slice(1)}: ${(error as NodeJS.ErrnoException).code}`,
      );
    }
  } else bytes = Buffer.from(flag, 'utf8');
  if (bytes.byteLength > MAX_INVOKE_BODY_BYTES)
    throw new UsageError(
      `--body is ${bytes.byteLength} bytes; the limit MAX_INVOKE_BODY_BYTES is ${MAX_INVOKE_BODY_BYTES}`,
    );
  return bytes.toString('utf8');
}

function headersOf(flags: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const flag of flags) {
    const colon = flag.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header ${JSON.stringify(flag)} is not 'Name: value'`);
    headers[flag.slice(0, colon).trim().toLowerCase()] = flag.slice(colon + 1).trim();
  }
  return headers;
}

interface Outcome {
  ok: boolean;
  response?: { status: number; headers: Record<string, string>; body: string };
  error?: { code: string; message: string };
  fuelUsed: string;
  durationMs: number;
}

export const invokeCommand: Command = {
  name: 'invoke',
  summary: 'Call a function through a running node, locally or on a peer (admin API)',
  usage: USAGE,
  run: (args, io) =>
    runAdminCommand(
      'invoke',
      args,
      io,
      {
        remote: { type: 'boolean' },
        peer: { type: 'string' },
        verify: { type: 'boolean' },
        method: { type: 'string' },
        path: { type: 'string' },
        header: { type: 'string', multiple: true },
        body: { type: 'string' },
      },
      true,
      async (client, { values, positionals }) => {
        const [name, ...extra] = positionals;
        if (name === undefined || extra.length > 0)
          throw new UsageError('invoke takes exactly one function name');
        const request = {
          method: (values.method ?? 'GET').toUpperCase(),
          uri: values.path ?? '/',
          headers: headersOf(values.header ?? []),
          body: await bodyOf(values.body, io),
        };
        const answer = await client.call('POST', '/v1/invoke', {
          name,
          request,
          ...(values.remote === true ? { remote: true } : {}),
          ...(values.peer === undefined ? {} : { peer: values.peer }),
          ...(values.verify === true ? { verify: true } : {}),
        });
        const outcome = answer.outcome as Outcome;
        const servedBy = answer.servedBy as string;
        const receipt = answer.receipt;
        const { ok: _ok, ...rest } = answer;
        const human = !args.includes('--json');
        const served = `served by ${servedBy}, fuel ${outcome.fuelUsed}, ${outcome.durationMs.toFixed(1)} ms`;
        if (!outcome.ok) {
          const error = outcome.error ?? { code: 'internal', message: 'the call failed' };
          if (human) io.stderr(`gojinn invoke: ${error.code}: ${error.message} (${served})\n`);
          return { json: { ok: false, error, ...rest }, human: '', exit: EXIT_FAILED };
        }
        const response = outcome.response ?? { status: 0, headers: {}, body: '' };
        if (human) {
          const headerLines = Object.entries(response.headers)
            .map(([k, v]) => `${k}: ${v}\n`)
            .join('');
          const proof = receipt === undefined ? '' : `receipt ${JSON.stringify(receipt)}\n`;
          const check =
            typeof answer.reExecution === 'string' ? `re-execution here: ${answer.reExecution}\n` : '';
          io.stderr(`status ${response.status}\n${headerLines}${served}\n${proof}${check}`);
        }
        return { json: rest, human: response.body, exit: EXIT_OK };
      },
    ),
};
