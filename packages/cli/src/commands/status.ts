import type { Command } from '../command.ts';
import { ADMIN_OPTIONS_USAGE } from '../admin-client.ts';
import { runAdminCommand } from '../admin-command.ts';

const USAGE = `Usage: gojinn status [--data DIR] [--admin-url URL] [--json]

Asks a running node (its admin API) how it is: node key, uptime, audit log length, and what
else the daemon reports (pool, peers, ...).

Options:
${ADMIN_OPTIONS_USAGE}

Exit status: 0 answered, 1 failed (no node running: peer_unreachable; wrong token: unauthorized),
2 bad usage.
`;

export const statusCommand: Command = {
  name: 'status',
  summary: "Show a running node's status (admin API)",
  usage: USAGE,
  run: (args, io) =>
    runAdminCommand('status', args, io, {}, false, async (client) => {
      const { ok: _ok, ...status } = await client.call('GET', '/v1/status');
      const lines = Object.entries(status).map(
        ([key, value]) => `${key.padEnd(14)}  ${typeof value === 'string' ? value : JSON.stringify(value)}`,
      );
      return {
        json: { admin: client.url, ...status },
        human: `admin           ${client.url}\n${lines.join('\n')}\n`,
      };
    }),
};
