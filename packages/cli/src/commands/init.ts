import { basename } from 'node:path';
import { CONFIG_FILE, DATA_DIR_FILES, initDataDir, loadConfigFile } from '@gojinn/daemon';
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { reportFailure } from '../module-files.ts';
import { DEFAULT_DATA_DIR, dataDirectory } from './modules.ts';

const USAGE = `Usage: gojinn init [--data DIR] [--force] [--json]

Creates a node's data directory (mode 0700) holding:
  ${CONFIG_FILE}   every config key with its default, commented out (docs/config.md)
  admin.token   the admin API token: 32 random bytes as hex (mode 0600; never printed)
  node.key      the node's libp2p identity (ed25519, mode 0600); its peer id is printed.
                It is created once and kept, with or without --force: a new key is a new node.
Existing files are never overwritten unless --force is given; with --force, ${DATA_DIR_FILES.map((f) => f.name).join(' and ')}
are replaced (a new admin token) and nothing else in DIR (store, keys, secrets) is touched.

Options:
  --data DIR   the data directory (default: $GOJINN_DATA, else ./${DEFAULT_DATA_DIR})
  --force      replace the files init writes if they exist
  --json       print exactly one JSON object: {"ok": true, "dataDir": "...", "files": [...], "peerId": "..."}
  -h, --help   this text

Exit status: 0 created, 1 failed, 2 bad usage, DIR unusable, or a file exists (without --force).
`;

const OPTIONS = {
  data: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const initCommand: Command = {
  name: 'init',
  summary: 'Create a node data directory: a commented config.toml, an admin token and the node identity',
  usage: USAGE,
  async run(args, io) {
    const json = args.includes('--json');
    try {
      const { values } = parseCommandArgs(args, OPTIONS, false);
      if (values.data === '') throw new UsageError('--data needs a directory');
      const dataDir = dataDirectory(values.data, io);
      const result = await initDataDir(dataDir, { force: values.force === true });
      // The file just written must be one the daemon starts with (it is generated from the
      // same schema; this catches a template the parser would refuse before the operator does).
      await loadConfigFile(result.files[0] as string);
      // Loaded here, not at the top: libp2p is heavy and only init and the daemon need it.
      const { loadOrCreateNodeIdentity } = await import('@gojinn/mesh');
      const identity = await loadOrCreateNodeIdentity(dataDir);
      const peerId = identity.peerId.toString();
      if (json) {
        io.stdout(`${JSON.stringify({ ok: true, dataDir, files: result.files, peerId })}\n`);
      } else {
        io.stdout(`${dataDir}\n`);
        io.stderr(`node identity ${identity.created ? 'created' : 'kept'}: peer id ${peerId}\n`);
        io.stderr(
          `initialised ${dataDir} (mode 0700): ${result.files.map((f) => basename(f)).join(', ')} (mode 0600)\n` +
            `edit ${CONFIG_FILE} there to configure the node; keep admin.token secret\n`,
        );
      }
      return EXIT_OK;
    } catch (error) {
      return reportFailure('init', error, json, io);
    }
  },
};
