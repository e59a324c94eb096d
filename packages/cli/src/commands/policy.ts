import { UsageError, type Command } from '../command.ts';
import { ADMIN_OPTIONS_USAGE } from '../admin-client.ts';
import { runAdminCommand } from '../admin-command.ts';
import { formatTable } from '../table.ts';

const USAGE = `Usage:
  gojinn policy list [--json]
  gojinn policy set <peerId> --modules NAME[,NAME...] [--capabilities JSON] [--rate N] [--concurrent N] [--json]
  gojinn policy rm <peerId> [--json]
  (each also takes --data DIR, --admin-url URL)

Per-peer policies of a running node (admin API): which modules a peer may invoke here, the
ceiling on the capabilities its calls get, and its rate and concurrency. A policy set here is
stored by the node, survives restarts, replaces the config's [[peers]] entry for the same peer,
and applies at once. The rules are the config's (docs/config.md, [[peers]]).

Options:
  --modules LIST      module names, comma-separated, or * for any
  --capabilities JSON capability ceiling in the manifest's shapes, e.g. '{"kv.read":{"prefixes":["app/"]}}'
                      (default {}: pure functions only)
  --rate N            invocations per second the peer may start (default 50)
  --concurrent N      invocations of the peer running at once (default 8)
${ADMIN_OPTIONS_USAGE}

list shows every policy in force and where it comes from (config or admin). rm removes a policy
set here (the config's entry, if any, applies again); a config entry is changed in the config.
Exit status: 0 done, 1 failed (no such policy: not_found), 2 bad usage or a policy the rules refuse.
`;

interface Policy {
  id: string;
  modules: string[];
  capabilities: Record<string, unknown>;
  ratePerSecond: number;
  maxConcurrent: number;
  source: string;
}

function wholeNumber(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`${flag} must be a whole number`);
  return Number(text);
}

export const policyCommand: Command = {
  name: 'policy',
  summary: "List, set and remove a running node's per-peer policies (admin API)",
  usage: USAGE,
  run: (args, io) =>
    runAdminCommand(
      'policy',
      args,
      io,
      {
        modules: { type: 'string' },
        capabilities: { type: 'string' },
        rate: { type: 'string' },
        concurrent: { type: 'string' },
      },
      true,
      async (client, { values, positionals }) => {
        const [action, peer, ...extra] = positionals;
        const setFlags = ['modules', 'capabilities', 'rate', 'concurrent'] as const;
        if (action !== 'set' && setFlags.some((flag) => values[flag] !== undefined))
          throw new UsageError(
            `--${setFlags.find((flag) => values[flag] !== undefined)} is for policy set only`,
          );
        if (action === 'list') {
          if (peer !== undefined) throw new UsageError('policy list takes no arguments');
          const policies = (await client.call('GET', '/v1/policies')).policies as Policy[];
          const human =
            policies.length === 0
              ? 'no per-peer policies (unknown peers follow mesh.unknownPeers)\n'
              : formatTable(
                  ['PEER', 'SOURCE', 'MODULES', 'RATE/S', 'CONCURRENT', 'CAPABILITIES'],
                  policies.map((p) => [
                    p.id,
                    p.source,
                    p.modules.join(','),
                    String(p.ratePerSecond),
                    String(p.maxConcurrent),
                    Object.keys(p.capabilities).join(',') || '-',
                  ]),
                );
          return { json: { policies }, human };
        }
        if ((action !== 'set' && action !== 'rm') || peer === undefined || extra.length > 0)
          throw new UsageError(
            'expected: policy list | policy set <peerId> --modules ... | policy rm <peerId>',
          );
        const path = `/v1/policies/${encodeURIComponent(peer)}`;
        if (action === 'rm') {
          const answer = await client.call('DELETE', path);
          const now = answer.now === 'config' ? "; the config file's policy for it applies again" : '';
          return {
            json: { removed: peer, now: answer.now ?? null },
            human: `removed the policy of ${peer}${now}\n`,
          };
        }
        if (values.modules === undefined || values.modules === '')
          throw new UsageError('policy set needs --modules');
        let capabilities: unknown;
        if (values.capabilities !== undefined) {
          try {
            capabilities = JSON.parse(values.capabilities);
          } catch {
            throw new UsageError('--capabilities is not JSON');
          }
        }
        const rate = wholeNumber(values.rate, '--rate');
        const concurrent = wholeNumber(values.concurrent, '--concurrent');
        const answer = await client.call('PUT', path, {
          modules: values.modules.split(',').map((name) => name.trim()),
          ...(capabilities === undefined ? {} : { capabilities }),
          ...(rate === undefined ? {} : { ratePerSecond: rate }),
          ...(concurrent === undefined ? {} : { maxConcurrent: concurrent }),
        });
        const policy = answer.policy as Policy;
        return {
          json: { policy },
          human:
            `policy of ${policy.id}: modules ${policy.modules.join(',')}, ` +
            `${policy.ratePerSecond}/s, ${policy.maxConcurrent} at once, ` +
            `capabilities ${Object.keys(policy.capabilities).join(',') || 'none'}\n`,
        };
      },
    ),
};
