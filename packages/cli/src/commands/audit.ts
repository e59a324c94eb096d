import { stat } from 'node:fs/promises';
import type { AuditVerification } from '@gojinn/daemon';
import { GojinnError } from '@gojinn/errors';
import { parsePublicKey } from '@gojinn/manifest';
import { openStore } from '@gojinn/store';
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { reportFailure } from '../module-files.ts';
import { DEFAULT_DATA_DIR, dataDirectory } from './modules.ts';

const USAGE = `Usage: gojinn audit verify [--data DIR] [--key PUBKEY] [--json]

Checks a node's audit log (invocations and admin actions): every entry is present, in order,
unchanged, linked to the previous one by its hash and signed by the node key (through the
signed seal of its append batch, or on its own for entries written before seals), and the
signed head matches the last entry. When retention has pruned the oldest entries, the chain starts at
the signed checkpoint they left (printed). Reads the store directly (no daemon): stop a node
using DIR first.

Options:
  --data DIR     the node's data directory (default: $GOJINN_DATA, else ./${DEFAULT_DATA_DIR})
  --key PUBKEY   the public key (ed25519:...) every entry must be signed by (default: the
                 node key in DIR/node.key; without one, whichever key signed entry 0)
  --json         print exactly one JSON object: {"ok": ..., "dataDir": "...", "entriesVerified": N,
                 "sealsVerified": N, "checkpoint": {"seq", "hash", "time", "pruned"} when
                 pruned, ...}
  -h, --help     this text

Exit status: 0 the log is intact, 1 it is broken (the first broken entry's number is printed)
or the store could not be read, 2 bad usage.
`;

const OPTIONS = {
  data: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const auditCommand: Command = {
  name: 'audit',
  summary: "Verify this node's tamper-evident audit log",
  usage: USAGE,
  async run(args, io) {
    const json = args.includes('--json');
    try {
      const { values, positionals } = parseCommandArgs(args, OPTIONS, true);
      if (positionals.length !== 1 || positionals[0] !== 'verify') {
        throw new UsageError(
          `expected the subcommand 'verify', got ${JSON.stringify(positionals.join(' '))}`,
        );
      }
      if (values.data === '') throw new GojinnError('bad_request', '--data needs a directory');
      if (values.key !== undefined) parsePublicKey(values.key);
      const dataDir = dataDirectory(values.data, io);
      const { report, keySource } = await verifyDirectory(dataDir, values.key);
      if (json) io.stdout(`${JSON.stringify({ ...report, keySource, dataDir })}\n`);
      else io.stdout(formatReport(report, dataDir, keySource));
      return report.ok ? EXIT_OK : EXIT_FAILED;
    } catch (error) {
      return reportFailure('audit', error, json, io);
    }
  },
};

/** Where the key the log is checked against came from. */
type KeySource = '--key' | 'node.key' | 'entry 0';

async function verifyDirectory(
  dataDir: string,
  keyFlag: string | undefined,
): Promise<{ report: AuditVerification; keySource: KeySource }> {
  const info = await stat(dataDir).catch(() => undefined);
  // Verifying must not create a store as a side effect.
  if (info === undefined) throw new GojinnError('not_found', `data directory ${dataDir} does not exist`);
  if (!info.isDirectory())
    throw new GojinnError('bad_request', `data directory ${dataDir} is not a directory`);
  // Loaded on use: the daemon package (config, gateway, libp2p keys) takes about a second to
  // import, which every other gojinn command would otherwise pay at start.
  const { readNodePublicKey, verifyAuditLog } = await import('@gojinn/daemon');
  const nodeKey = keyFlag === undefined ? await readNodePublicKey(dataDir) : undefined;
  const publicKey = keyFlag ?? nodeKey;
  const keySource: KeySource =
    keyFlag !== undefined ? '--key' : nodeKey !== undefined ? 'node.key' : 'entry 0';
  const store = await openStore(dataDir);
  try {
    const report = await verifyAuditLog(
      store.extension('audit'),
      publicKey === undefined ? {} : { publicKey },
    );
    return { report, keySource };
  } finally {
    await store.close();
  }
}

/** The line about pruned history, when retention left a (verified) checkpoint. */
function checkpointLine(report: AuditVerification): string {
  const checkpoint = report.checkpoint;
  if (checkpoint === undefined) return '';
  const range = checkpoint.seq === 0 ? 'entry 0' : `entries 0–${checkpoint.seq}`;
  return (
    `${range} pruned (${checkpoint.pruned}); signed checkpoint of ${checkpoint.time}: ` +
    `entry ${checkpoint.seq} had sha-256 ${checkpoint.hash}\n`
  );
}

function formatReport(report: AuditVerification, dataDir: string, keySource: KeySource): string {
  if (report.broken !== undefined) {
    return (
      `audit log in ${dataDir} is BROKEN at entry ${report.broken.seq}: ${report.broken.reason}\n` +
      `(${report.entriesVerified} entries before it verified)\n` +
      checkpointLine(report)
    );
  }
  if (report.signer === undefined) return `audit log in ${dataDir} is empty\n`;
  const first = report.checkpoint === undefined ? 'entry 0' : 'the checkpoint';
  const note =
    keySource === 'entry 0'
      ? ` (the key of ${first}: no node.key in DIR; pass --key to check it is the node key)`
      : ` (${keySource})`;
  const seals =
    report.sealsVerified === 0
      ? ''
      : `${report.sealsVerified} batch seals verified (each signs the entries of one append batch)\n`;
  return (
    `audit log in ${dataDir} intact: ${report.entriesVerified} entries signed by ${report.signer}${note}\n` +
    seals +
    checkpointLine(report)
  );
}
