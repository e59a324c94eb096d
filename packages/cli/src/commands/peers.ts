import type { Command } from '../command.ts';
import { ADMIN_OPTIONS_USAGE } from '../admin-client.ts';
import { runAdminCommand } from '../admin-command.ts';
import { formatTable } from '../table.ts';

const USAGE = `Usage: gojinn peers [--data DIR] [--admin-url URL] [--json]

Lists the peers a running node is connected to: peer id, latency, whether a per-peer policy
(config [[peers]] or gojinn policy set) admits its calls, and its addresses.

Options:
${ADMIN_OPTIONS_USAGE}

Exit status: 0 listed, 1 failed (no node running, or it runs no mesh: not_found), 2 bad usage.
`;

interface Peer {
  id: string;
  addresses: string[];
  latencyMs: number | null;
  policy: boolean;
}

export const peersCommand: Command = {
  name: 'peers',
  summary: 'List the peers of a running node (admin API)',
  usage: USAGE,
  run: (args, io) =>
    runAdminCommand('peers', args, io, {}, false, async (client) => {
      const peers = (await client.call('GET', '/v1/peers')).peers as Peer[];
      const human =
        peers.length === 0
          ? 'no peers connected\n'
          : formatTable(
              ['PEER', 'LATENCY', 'POLICY', 'ADDRESSES'],
              peers.map((p) => [
                p.id,
                p.latencyMs === null ? '-' : `${p.latencyMs.toFixed(1)} ms`,
                p.policy ? 'yes' : 'no',
                p.addresses.join(',') || '-',
              ]),
            );
      return { json: { peers }, human };
    }),
};
