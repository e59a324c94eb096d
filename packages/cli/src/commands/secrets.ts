import { stat } from 'node:fs/promises';
import { SecretStore, checkSecretName, loadMasterKey, type SecretListing } from '@gojinn/capabilities';
import { GojinnError } from '@gojinn/errors';
import { isPublicKeyText } from '@gojinn/manifest';
import { StoreLockedError, openStore, type Store } from '@gojinn/store';
import { AdminClient } from '../admin-client.ts';
import { EXIT_OK, UsageError, parseCommandArgs, type Command, type CommandIo } from '../command.ts';
import { reportFailure } from '../module-files.ts';
import { DEFAULT_DATA_DIR, dataDirectory } from './modules.ts';

const USAGE = `Usage:
  gojinn secrets set <module> <name> (--value-stdin | --value V) [--publisher KEY] [--data DIR] [--json]
  gojinn secrets list [<module>] [--data DIR] [--json]
  gojinn secrets rm <module> <name> [--publisher KEY] [--data DIR] [--json]

Manages the secrets a node hands to modules granted secrets.read. Values are sealed with the
node's master key ($GOJINN_MASTER_KEY, else <data>/master.key, created on first use with mode
0600) and stored in the node's store. No output ever shows a value: list prints names only.

While a node runs on DIR (the store is in use), list asks its admin API instead (names only);
set and rm need the node stopped.

A secret belongs to a module name and publisher. Without --publisher, the one publisher of
<module> installed in the store is used (it is an error if there are none or several).

Options:
  --value-stdin   read the value from standard input (one trailing newline is removed)
  --value V       the value on the command line (visible in the process list and shell history:
                  prefer --value-stdin)
  --publisher KEY the module's publisher key (ed25519:...)
  --data DIR      the node's data directory (default: $GOJINN_DATA, else ./${DEFAULT_DATA_DIR})
  --json          print exactly one JSON object
  -h, --help      this text

The store has one owner at a time: stop a node that uses DIR first.
Exit status: 0 done, 1 failed (store in use, no such secret or module), 2 bad usage.
`;

const OPTIONS = {
  'value-stdin': { type: 'boolean' },
  value: { type: 'string' },
  publisher: { type: 'string' },
  data: { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values'];

/** The positionals each action takes (module, name), and which flags it accepts. */
const ACTIONS = {
  set: {
    positionals: ['module', 'name'],
    optional: 0,
    flags: ['value-stdin', 'value', 'publisher', 'data', 'json'],
  },
  list: { positionals: ['module'], optional: 1, flags: ['data', 'json'] },
  rm: { positionals: ['module', 'name'], optional: 0, flags: ['publisher', 'data', 'json'] },
} as const;

type Action = keyof typeof ACTIONS;

function isAction(value: string | undefined): value is Action {
  return value !== undefined && Object.hasOwn(ACTIONS, value);
}

export const secretsCommand: Command = {
  name: 'secrets',
  summary: 'Set, list (names only) and remove the secrets of modules',
  usage: USAGE,
  async run(args, io) {
    const json = args.includes('--json');
    try {
      const [action, ...rest] = args;
      if (!isAction(action)) throw new UsageError('expected an action: set, list or rm');
      // Positionals are counted here, never echoed: a value typed where a name belongs must
      // not end up in an error message.
      const { values, positionals } = parseCommandArgs(rest, OPTIONS, true);
      const spec = ACTIONS[action];
      const needed = spec.positionals.length - spec.optional;
      if (positionals.length < needed || positionals.length > spec.positionals.length) {
        throw new UsageError(
          `${action} takes ${spec.positionals.map((p, i) => (i < needed ? `<${p}>` : `[<${p}>]`)).join(' ')}; got ${positionals.length} argument(s)`,
        );
      }
      const unexpected = (Object.keys(values) as (keyof Values)[]).find(
        (flag) => !(spec.flags as readonly string[]).includes(flag),
      );
      if (unexpected !== undefined) throw new UsageError(`${action} does not take --${unexpected}`);
      if (values.data === '') throw new GojinnError('bad_request', '--data needs a directory');
      const dataDir = dataDirectory(values.data, io);
      if (action === 'list') return await listSecrets(dataDir, positionals[0], json, io);
      const [module = '', name = ''] = positionals;
      checkSecretName(name);
      if (action === 'set') {
        const value = await readValue(values, io);
        return await setSecret(dataDir, module, name, value, values.publisher, json, io);
      }
      return await removeSecret(dataDir, module, name, values.publisher, json, io);
    } catch (error) {
      return reportFailure('secrets', error, json, io);
    }
  },
};

/** The value from --value-stdin or --value (exactly one). Empty values are refused. */
async function readValue(values: Values, io: CommandIo): Promise<Uint8Array> {
  const fromStdin = values['value-stdin'] === true;
  if (fromStdin === (values.value !== undefined)) {
    throw new UsageError('set needs exactly one of --value-stdin and --value');
  }
  let value: Uint8Array;
  if (fromStdin) {
    const input = await io.readStdin();
    const cut = input.at(-1) === 0x0a ? (input.at(-2) === 0x0d ? 2 : 1) : 0;
    value = new Uint8Array(input.subarray(0, input.byteLength - cut));
  } else {
    io.stderr(
      'gojinn secrets: warning: --value is visible in the process list and shell history; prefer --value-stdin\n',
    );
    value = new TextEncoder().encode(values.value);
  }
  if (value.byteLength === 0) throw new GojinnError('bad_request', 'the secret value is empty');
  return value;
}

async function withStore<T>(dataDir: string, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(dataDir);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** --publisher, else the single publisher of `module` installed in the store. */
async function publisherOf(store: Store, module: string, flag: string | undefined): Promise<string> {
  if (flag !== undefined) {
    if (!isPublicKeyText(flag))
      throw new GojinnError('bad_request', '--publisher must be a public key (ed25519:...)');
    return flag;
  }
  const page = await store.modules.listStates(module, { limit: 2 });
  const publishers = page.items.map((item) => item.publisher);
  const [only] = publishers;
  if (only === undefined) {
    throw new GojinnError(
      'not_found',
      `no module ${JSON.stringify(module)} is installed; pass --publisher KEY`,
    );
  }
  if (publishers.length > 1) {
    throw new GojinnError(
      'bad_request',
      `several publishers have a module ${JSON.stringify(module)}; pass --publisher KEY`,
    );
  }
  return only;
}

function secretStore(store: Store, dataDir: string, io: CommandIo): SecretStore {
  return new SecretStore(store.extension('secrets'), () => loadMasterKey({ dataDir, env: io.env }));
}

async function setSecret(
  dataDir: string,
  module: string,
  name: string,
  value: Uint8Array,
  publisherFlag: string | undefined,
  json: boolean,
  io: CommandIo,
): Promise<number> {
  try {
    const publisher = await withStore(dataDir, async (store) => {
      const owner = { name: module, publisher: await publisherOf(store, module, publisherFlag) };
      await secretStore(store, dataDir, io).set(owner, name, value);
      return owner.publisher;
    });
    if (json) io.stdout(`${JSON.stringify({ ok: true, action: 'set', module, publisher, name })}\n`);
    else io.stdout(`secret ${name} set for ${module} (${publisher})\n`);
    return EXIT_OK;
  } finally {
    value.fill(0);
  }
}

async function removeSecret(
  dataDir: string,
  module: string,
  name: string,
  publisherFlag: string | undefined,
  json: boolean,
  io: CommandIo,
): Promise<number> {
  if ((await stat(dataDir).catch(() => undefined)) === undefined) {
    throw new GojinnError('not_found', `no data directory ${dataDir}`);
  }
  const { publisher, removed } = await withStore(dataDir, async (store) => {
    const owner = { name: module, publisher: await publisherOf(store, module, publisherFlag) };
    return { publisher: owner.publisher, removed: await secretStore(store, dataDir, io).delete(owner, name) };
  });
  if (!removed) throw new GojinnError('not_found', `module ${module} (${publisher}) has no secret ${name}`);
  if (json) io.stdout(`${JSON.stringify({ ok: true, action: 'rm', module, publisher, name })}\n`);
  else io.stdout(`secret ${name} removed from ${module} (${publisher})\n`);
  return EXIT_OK;
}

async function listSecrets(
  dataDir: string,
  module: string | undefined,
  json: boolean,
  io: CommandIo,
): Promise<number> {
  // Listing must not create a store as a side effect: a missing directory holds no secrets.
  const exists = (await stat(dataDir).catch(() => undefined)) !== undefined;
  let secrets: SecretListing[] = [];
  let admin: string | undefined;
  try {
    if (exists) secrets = await withStore(dataDir, (store) => secretStore(store, dataDir, io).list(module));
  } catch (error) {
    if (!(error instanceof StoreLockedError)) throw error;
    // A node runs on the store: its admin API lists the names instead (never values).
    const remote = await listRemote(dataDir, module, io).catch((adminError: unknown) => {
      const unreachable =
        adminError instanceof GojinnError &&
        (adminError.code === 'bad_request' || adminError.code === 'peer_unreachable');
      throw unreachable ? error : adminError;
    });
    secrets = remote.secrets;
    admin = remote.admin;
  }
  const where = admin === undefined ? dataDir : `the node at ${admin}`;
  if (json) {
    io.stdout(
      `${JSON.stringify({ ok: true, ...(admin === undefined ? { dataDir } : { admin }), secrets })}\n`,
    );
  } else if (secrets.length === 0) {
    io.stdout(`no secrets${module === undefined ? '' : ` for ${module}`} in ${where}\n`);
  } else {
    const width = Math.max(6, ...secrets.map((s) => s.module.length));
    const nameWidth = Math.max(4, ...secrets.map((s) => s.name.length));
    io.stdout(`${'MODULE'.padEnd(width)}  ${'NAME'.padEnd(nameWidth)}  PUBLISHER\n`);
    for (const s of secrets)
      io.stdout(`${s.module.padEnd(width)}  ${s.name.padEnd(nameWidth)}  ${s.publisher}\n`);
  }
  return EXIT_OK;
}

/** The secret names of a running node, from its admin API. */
async function listRemote(
  dataDir: string,
  module: string | undefined,
  io: CommandIo,
): Promise<{ admin: string; secrets: SecretListing[] }> {
  const client = await AdminClient.connect({ data: dataDir }, io);
  const query = module === undefined ? '' : `?module=${encodeURIComponent(module)}`;
  const answer = await client.call('GET', `/v1/secrets${query}`);
  return { admin: client.url, secrets: answer.secrets as SecretListing[] };
}
