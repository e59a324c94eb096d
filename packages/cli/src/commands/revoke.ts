import { resolve } from 'node:path';
import {
  encodeRevocation,
  formatPublicKey,
  parsePublicKey,
  readPrivateKeyFile,
  signRevocation,
  type RevocationTarget,
} from '@gojinn/manifest';
import { ModuleRegistry } from '@gojinn/registry';
import { openStore } from '@gojinn/store';
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { reportFailure, writeFileAtomic } from '../module-files.ts';
import { dataDirectory } from './modules.ts';
import { AdminClient } from '../admin-client.ts';

/** Where `gojinn revoke` writes the signed record without --out. */
export const DEFAULT_REVOCATION_FILE = 'revocation.json';

const USAGE = `Usage: gojinn revoke --key FILE [--publisher KEY] [--name NAME --version SEMVER]
                     [--reason TEXT] [--out FILE] [--apply | --publish] [--data DIR] [--json]

Signs a revocation record. Without --name/--version it revokes a publisher key (every module it
signed); with them, one version of one module. The record is signed with --key: the revoked
publisher's own key (the default --publisher is that key's public key), or an operator key.
Nodes that receive the record stop serving and refuse what it covers (code 'revoked').

Options:
  --key FILE         the signing private key (from gojinn keygen)
  --publisher KEY    the publisher whose key or module is revoked (default: the --key's own)
  --name NAME        with --version: revoke this module version only
  --version SEMVER
  --reason TEXT      a short note for operators (printable ASCII)
  --out FILE         where to write the record (default ./${DEFAULT_REVOCATION_FILE})
  --apply            also apply it to the local node's store (--data), as that node's operator
                     (the node must be stopped)
  --publish          also send it to the running node (--data, its admin API), which applies it
                     and announces it to the whole mesh
  --data DIR         the node's data directory (default $GOJINN_DATA or ./.data/node)
  --json             print exactly one JSON object
  -h, --help         this text

Exit status: 0 signed (and applied or published), 1 failed, 2 bad usage or unreadable input.
`;

const OPTIONS = {
  key: { type: 'string' },
  publisher: { type: 'string' },
  name: { type: 'string' },
  version: { type: 'string' },
  reason: { type: 'string' },
  out: { type: 'string' },
  apply: { type: 'boolean' },
  publish: { type: 'boolean' },
  data: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const revokeCommand: Command = {
  name: 'revoke',
  summary: 'Sign a revocation of a publisher key or of one module version',
  usage: USAGE,
  async run(args, io) {
    const json = args.includes('--json');
    try {
      const { values } = parseCommandArgs(args, OPTIONS, false);
      if (values.key === undefined) throw new UsageError('--key FILE is required');
      if ((values.name === undefined) !== (values.version === undefined)) {
        throw new UsageError('--name and --version go together');
      }
      if (values.data !== undefined && values.apply !== true && values.publish !== true)
        throw new UsageError('--data goes with --apply or --publish');
      if (values.apply === true && values.publish === true)
        throw new UsageError('--apply (node stopped) and --publish (node running) exclude each other');
      const pair = await readPrivateKeyFile(resolve(io.cwd, values.key));
      const publisher =
        values.publisher === undefined ? pair.publicKey : formatPublicKey(parsePublicKey(values.publisher));
      const target: RevocationTarget =
        values.name === undefined || values.version === undefined
          ? { kind: 'publisher', publisher }
          : { kind: 'version', publisher, name: values.name, version: values.version };
      const record = encodeRevocation(
        signRevocation(
          { target, ...(values.reason === undefined ? {} : { reason: values.reason }) },
          pair.secretKey,
        ),
      );
      const outFile = resolve(io.cwd, values.out ?? DEFAULT_REVOCATION_FILE);
      await writeFileAtomic(outFile, record);
      let appliedTo: string | undefined;
      if (values.apply === true) {
        appliedTo = dataDirectory(values.data, io);
        const store = await openStore(appliedTo);
        try {
          // Whoever can open the node's data directory is its operator: their key is an operator key here.
          await new ModuleRegistry({ store, trust: { operators: [pair.publicKey] } }).applyRevocation(record);
        } finally {
          await store.close();
        }
      }
      let recipients: number | undefined;
      if (values.publish === true) {
        const client = await AdminClient.connect({ data: values.data }, io);
        const answer = await client.call(
          'POST',
          '/v1/revocations',
          JSON.parse(new TextDecoder().decode(record)),
        );
        recipients = typeof answer.recipients === 'number' ? answer.recipients : 0;
      }
      const what =
        target.kind === 'publisher'
          ? `publisher ${publisher}`
          : `${target.name}@${target.version} of ${publisher}`;
      if (json) {
        io.stdout(
          `${JSON.stringify({ ok: true, revocationFile: outFile, target, appliedTo: appliedTo ?? null, announcedTo: recipients ?? null })}\n`,
        );
      } else {
        io.stdout(`revoked ${what} → ${outFile}\n`);
        if (appliedTo !== undefined) io.stdout(`applied to the store in ${appliedTo}\n`);
        if (recipients !== undefined)
          io.stdout(`published through the running node: applied, and announced to ${recipients} peer(s)\n`);
      }
      return EXIT_OK;
    } catch (error) {
      return reportFailure('revoke', error, json, io);
    }
  },
};
