import { basename } from 'node:path';
import {
  CONFIG_FILE,
  ConfigError,
  DATA_DIR_FILES,
  initDataDir,
  loadConfigFile,
  parseConfig,
  renderConfigTemplate,
  type ConfigSettings,
} from '@gojinn/daemon';
import { EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { reportFailure } from '../module-files.ts';
import { DEFAULT_DATA_DIR, dataDirectory } from './modules.ts';

const USAGE = `Usage: gojinn init [--data DIR] [--force] [--json] [SETTINGS...]

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

Settings written into config.toml as active lines (checked like the rest of the file before
anything is written; docs/config.md):
  --gateway HOST:PORT   gateway.listen                  --admin HOST:PORT   admin.listen
  --listen MULTIADDR    listen.addresses (repeatable)   --bootstrap MULTIADDR  mesh.bootstrap (repeatable)
  --trust KEY           trust.publishers (repeatable)   --public NAME       gateway.publicFunctions (repeatable)
  --metrics HOST:PORT   metrics.listen

Exit status: 0 created, 1 failed, 2 bad usage, DIR unusable, or a file exists (without --force).
`;

const OPTIONS = {
  data: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  gateway: { type: 'string' },
  admin: { type: 'string' },
  metrics: { type: 'string' },
  listen: { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  trust: { type: 'string', multiple: true },
  public: { type: 'string', multiple: true },
} as const;

type InitValues = {
  gateway?: string | undefined;
  admin?: string | undefined;
  metrics?: string | undefined;
  listen?: string[] | undefined;
  bootstrap?: string[] | undefined;
  trust?: string[] | undefined;
  public?: string[] | undefined;
};

/** The command line's settings by config section and key (only those given). */
function settingsOf(values: InitValues): ConfigSettings {
  const settings: Record<string, Record<string, string | string[]>> = {};
  const set = (section: string, key: string, value: string | string[] | undefined): void => {
    if (value === undefined) return;
    (settings[section] ??= {})[key] = value;
  };
  set('gateway', 'listen', values.gateway);
  set('admin', 'listen', values.admin);
  set('metrics', 'listen', values.metrics);
  set('listen', 'addresses', values.listen);
  set('mesh', 'bootstrap', values.bootstrap);
  set('trust', 'publishers', values.trust);
  set('gateway', 'publicFunctions', values.public);
  return settings;
}

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
      const settings = settingsOf(values);
      // Checked before anything is written: a bad value is a usage error naming the key.
      try {
        parseConfig(renderConfigTemplate(settings), { file: 'the command line', env: {}, cwd: dataDir });
      } catch (error) {
        if (error instanceof ConfigError) throw new UsageError(error.message);
        throw error;
      }
      const result = await initDataDir(dataDir, { force: values.force === true, settings });
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
