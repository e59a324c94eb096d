import { resolve } from 'node:path';
import { generateKeyPair, writePrivateKeyFile } from '@gojinn/manifest';
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { reportFailure } from '../module-files.ts';

/** Where `gojinn keygen` writes the private key without --out. */
export const DEFAULT_KEY_FILE = 'publisher.key';

const USAGE = `Usage: gojinn keygen [--out FILE] [--force] [--json]

Creates a publisher key pair (ed25519). The private key goes to FILE (default ./${DEFAULT_KEY_FILE}),
created with mode 0600 and never overwritten unless --force is given. The public key is printed
in the text form nodes accept for --trust and in their config: ed25519:<43 base64url characters>.

Options:
  --out FILE   where to write the private key file (default ./${DEFAULT_KEY_FILE})
  --force      replace an existing FILE
  --json       print exactly one JSON object: {"ok": true, "publicKey": "...", "keyFile": "..."}
  -h, --help   this text

Exit status: 0 created, 1 failed, 2 bad usage or FILE exists (without --force).
`;

const OPTIONS = {
  out: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const keygenCommand: Command = {
  name: 'keygen',
  summary: 'Create a publisher key pair (ed25519) for signing modules',
  usage: USAGE,
  async run(args, io) {
    const json = args.includes('--json');
    try {
      const { values } = parseCommandArgs(args, OPTIONS, false);
      if (values.out === '') throw new UsageError('--out needs a file name');
      const keyFile = resolve(io.cwd, values.out ?? DEFAULT_KEY_FILE);
      const pair = generateKeyPair();
      await writePrivateKeyFile(keyFile, pair, { force: values.force === true });
      if (json) {
        io.stdout(`${JSON.stringify({ ok: true, publicKey: pair.publicKey, keyFile })}\n`);
      } else {
        io.stdout(`${pair.publicKey}\n`);
        io.stderr(
          `private key written to ${keyFile} (mode 0600); keep it secret, share the public key above\n`,
        );
      }
      return EXIT_OK;
    } catch (error) {
      return reportFailure('keygen', error, json, io);
    }
  },
};
