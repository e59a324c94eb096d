import { UsageError, type Command } from '../command.ts';
import { ADMIN_OPTIONS_USAGE } from '../admin-client.ts';
import { runAdminCommand } from '../admin-command.ts';
import { formatTable } from '../table.ts';

const USAGE = `Usage:
  gojinn keys list [--json]
  gojinn keys create --functions NAME[,NAME...] [--id ID] [--rate N --burst N] [--json]
  gojinn keys rm <id> [--json]
  (each also takes --data DIR, --admin-url URL)

API keys of a running node's HTTP gateway (admin API). A key lets its holder call the listed
functions through the gateway (Authorization: Bearer <key>). The node stores only the key's
sha-256: create prints the key ONCE, on stdout — keep it then, it cannot be shown again. rm
revokes a key at once. Keys survive restarts.

Options:
  --functions LIST  the functions (module names) the key may call, comma-separated
  --id ID           a name for the key in lists and logs (default key-<random>)
  --rate N          the key's own rate limit, requests per second (with --burst)
  --burst N         the key's bucket size (with --rate)
${ADMIN_OPTIONS_USAGE}

Exit status: 0 done, 1 failed (no such key: not_found), 2 bad usage or a request the node refuses.
`;

interface KeyInfo {
  id: string;
  functions: string[];
  rateLimit?: { perSecond: number; burst: number };
  createdAt: string;
}

function positive(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}(\.\d{1,6})?$/.test(text)) throw new UsageError(`${flag} must be a positive number`);
  return Number(text);
}

export const keysCommand: Command = {
  name: 'keys',
  summary: "List, create and revoke a running node's gateway API keys (admin API)",
  usage: USAGE,
  run: (args, io) =>
    runAdminCommand(
      'keys',
      args,
      io,
      {
        functions: { type: 'string' },
        id: { type: 'string' },
        rate: { type: 'string' },
        burst: { type: 'string' },
      },
      true,
      async (client, { values, positionals }) => {
        const [action, id, ...extra] = positionals;
        const createFlags = ['functions', 'id', 'rate', 'burst'] as const;
        if (action !== 'create' && createFlags.some((flag) => values[flag] !== undefined))
          throw new UsageError(
            `--${createFlags.find((flag) => values[flag] !== undefined)} is for keys create only`,
          );
        if (action === 'list' && id === undefined) {
          const keys = (await client.call('GET', '/v1/api-keys')).keys as KeyInfo[];
          const human =
            keys.length === 0
              ? 'no API keys created through the admin API\n'
              : formatTable(
                  ['ID', 'CREATED', 'RATE', 'FUNCTIONS'],
                  keys.map((k) => [
                    k.id,
                    k.createdAt,
                    k.rateLimit === undefined
                      ? 'default'
                      : `${k.rateLimit.perSecond}/s burst ${k.rateLimit.burst}`,
                    k.functions.join(','),
                  ]),
                );
          return { json: { keys }, human };
        }
        if (action === 'rm' && id !== undefined && extra.length === 0) {
          await client.call('DELETE', `/v1/api-keys/${encodeURIComponent(id)}`);
          return { json: { removed: id }, human: `revoked API key ${id}\n` };
        }
        if (action !== 'create' || id !== undefined)
          throw new UsageError('expected: keys list | keys create --functions ... | keys rm <id>');
        if (values.functions === undefined || values.functions === '')
          throw new UsageError('keys create needs --functions');
        const rate = positive(values.rate, '--rate');
        const burst = positive(values.burst, '--burst');
        if ((rate === undefined) !== (burst === undefined))
          throw new UsageError('--rate and --burst go together');
        const answer = await client.call('POST', '/v1/api-keys', {
          functions: values.functions.split(',').map((name) => name.trim()),
          ...(values.id === undefined ? {} : { id: values.id }),
          ...(rate === undefined || burst === undefined ? {} : { rateLimit: { perSecond: rate, burst } }),
        });
        const { ok: _ok, ...created } = answer;
        if (!args.includes('--json'))
          io.stderr(
            `created API key ${String(answer.id)} for ${(answer.functions as string[]).join(',')}; ` +
              'the key is printed once, below: store it now\n',
          );
        return { json: created, human: `${String(answer.key)}\n` };
      },
    ),
};
