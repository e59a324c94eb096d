import { stat } from 'node:fs/promises';
import { GojinnError } from '@gojinn/errors';
import { ModuleRegistry, type ListedModule } from '@gojinn/registry';
import { StoreLockedError, checkStoreIntegrity, openStore, type IntegrityReport } from '@gojinn/store';
import { AdminClient } from '../admin-client.ts';
import { DEFAULT_DATA_DIR, dataDirectory } from '../data-dir.ts';

// Other commands import these from here.
export { DEFAULT_DATA_DIR, dataDirectory } from '../data-dir.ts';
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { isModuleAction, runModuleAction } from './module-actions.ts';
import { reportFailure } from '../module-files.ts';

const USAGE = `Usage:
  gojinn modules [--data DIR] [--json] [--check] [--remote] [--admin-url URL]
  gojinn modules rm <sha256> [--force] [--data DIR] [--remote] [--json]
  gojinn modules pin <name> <version> [--publisher KEY] [--data DIR] [--remote] [--json]
  gojinn modules unpin <name> [--publisher KEY] [--data DIR] [--remote] [--json]

Lists the modules installed in a node — publisher, name, version, declared capabilities,
content hash, and whether each version is active, pinned or revoked. With no node running it
reads the store directly; while a node runs on DIR (the store is in use) it asks that node's
admin API instead. --remote or --admin-url always ask the admin API.

rm removes every version whose module bytes have that sha256. A pinned version is never removed
(unpin it first); the active one only with --force, and the highest remaining version becomes
active. pin makes a version the one served (and allows installing it below the highest
installed); unpin serves the highest version again. --publisher is needed only when several
publishers have a module of that name. Like the listing, these act on the store, or through the
running node's admin API.

Options:
  --data DIR        the node's data directory (default: $GOJINN_DATA, else ./${DEFAULT_DATA_DIR})
  --json            print exactly one JSON object: {"ok": true, "dataDir": "...", "modules": [...]}
                    (from the admin API: {"ok": true, "admin": "<url>", "modules": [...]})
  --check           also re-hash every stored module and manifest and check the index (exit 1 on a
                    problem); reads the store, so the node must be stopped
  --remote          ask the running node's admin API (URL from DIR's config, token DIR/admin.token)
  --admin-url URL   the admin API to ask (implies --remote)
  --config FILE     the config naming the admin address (default: $GOJINN_CONFIG, else DIR/config.toml)
  --force           rm: also remove the active version
  --publisher KEY   pin, unpin: the module's publisher (ed25519:...)
  -h, --help        this text

Exit status: 0 listed or done, 1 failed (store damaged, --check found a problem, node unreachable,
not_found, revoked), 2 bad usage (or a refused removal: pinned, or active without --force).
`;

const OPTIONS = {
  data: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
  check: { type: 'boolean' },
  remote: { type: 'boolean' },
  'admin-url': { type: 'string' },
  config: { type: 'string' },
  force: { type: 'boolean' },
  publisher: { type: 'string' },
} as const;

export const modulesCommand: Command = {
  name: 'modules',
  summary: "List a node's modules; remove, pin and unpin versions",
  usage: USAGE,
  async run(args, io) {
    const json = args.includes('--json');
    try {
      const { values, positionals } = parseCommandArgs(args, OPTIONS, true);
      const dataFlag = values.data ?? values['data-dir'];
      if (dataFlag === '') throw new GojinnError('bad_request', '--data needs a directory');
      const [action, ...actionArgs] = positionals;
      if (action !== undefined) {
        if (!isModuleAction(action))
          throw new UsageError(`unknown action ${JSON.stringify(action)} (expected rm, pin or unpin)`);
        if (values.check === true) throw new UsageError('--check is for the listing');
        const result = await runModuleAction(action, actionArgs, values, dataDirectory(dataFlag, io), io);
        io.stdout(json ? `${JSON.stringify({ ok: true, ...result.json })}\n` : result.human);
        return EXIT_OK;
      }
      if (values.force !== undefined || values.publisher !== undefined)
        throw new UsageError('--force and --publisher are for modules rm, pin and unpin');
      const remote = values.remote === true || values['admin-url'] !== undefined;
      if (remote && values.check === true)
        throw new GojinnError(
          'bad_request',
          '--check reads the store itself: stop the node and drop --remote',
        );
      const dataDir = dataDirectory(dataFlag, io);
      let installed;
      let locked: StoreLockedError | undefined;
      try {
        installed = remote ? undefined : await readInstalled(dataDir, values.check === true);
      } catch (error) {
        // The store has one owner: while a node runs on it, that node answers instead.
        if (!(error instanceof StoreLockedError) || values.check === true) throw error;
        locked = error;
      }
      if (installed === undefined) {
        let client: AdminClient;
        let modules: ListedModule[];
        try {
          client = await AdminClient.connect({ ...values, data: dataFlag }, io);
          modules = await listRemote(client);
        } catch (error) {
          // Whatever holds the store is not a node this CLI can ask (no token, nothing listening):
          // the lock is the failure to report.
          const unreachable =
            error instanceof GojinnError &&
            (error.code === 'bad_request' || error.code === 'peer_unreachable');
          if (locked !== undefined && unreachable) throw locked;
          throw error;
        }
        io.stdout(
          json
            ? `${JSON.stringify({ ok: true, admin: client.url, modules })}\n`
            : formatTable(modules, `the node at ${client.url}`),
        );
        return EXIT_OK;
      }
      const { modules, integrity } = installed;
      const failed = integrity !== undefined && integrity.problems.length > 0;
      if (json) {
        io.stdout(
          `${JSON.stringify({ ok: !failed, dataDir, modules, ...(integrity === undefined ? {} : { integrity }) })}\n`,
        );
      } else {
        io.stdout(formatTable(modules, dataDir));
        if (integrity !== undefined) io.stdout(formatIntegrity(integrity));
      }
      return failed ? EXIT_FAILED : EXIT_OK;
    } catch (error) {
      return reportFailure('modules', error, json, io);
    }
  },
};

/** Every installed version, page by page, from a running node's admin API. */
async function listRemote(client: AdminClient): Promise<ListedModule[]> {
  const modules: ListedModule[] = [];
  let after: string | undefined;
  do {
    const query = after === undefined ? '' : `?after=${encodeURIComponent(after)}`;
    const page = await client.call('GET', `/v1/modules${query}`);
    modules.push(...(page.modules as ListedModule[]));
    after = typeof page.next === 'string' ? page.next : undefined;
  } while (after !== undefined);
  return modules;
}

/** Every installed version (page by page) and, with `check`, the integrity report. */
async function readInstalled(
  dataDir: string,
  check: boolean,
): Promise<{ modules: ListedModule[]; integrity?: IntegrityReport }> {
  const info = await stat(dataDir).catch(() => undefined);
  // Listing must not create a store as a side effect: a missing directory holds no modules.
  if (info === undefined)
    return check ? { modules: [], integrity: { modulesChecked: 0, problems: [] } } : { modules: [] };
  if (!info.isDirectory())
    throw new GojinnError('bad_request', `data directory ${dataDir} is not a directory`);
  const store = await openStore(dataDir);
  try {
    const registry = new ModuleRegistry({ store });
    const modules: ListedModule[] = [];
    let after: string | undefined;
    do {
      const page = await registry.list(after === undefined ? {} : { after });
      modules.push(...page.items);
      after = page.next;
    } while (after !== undefined);
    return check ? { modules, integrity: await checkStoreIntegrity(store) } : { modules };
  } finally {
    await store.close();
  }
}

function formatTable(modules: readonly ListedModule[], where: string): string {
  if (modules.length === 0) return `no modules installed in ${where}\n`;
  const rows = modules.map((m) => [
    `${m.name}@${m.version}`,
    [m.active ? 'active' : '', m.pinned ? 'pinned' : '', m.revoked ? 'REVOKED' : '']
      .filter(Boolean)
      .join(',') || '-',
    m.capabilities.length === 0 ? '-' : m.capabilities.join(','),
    m.publisher,
    m.hash,
  ]);
  const header = ['MODULE', 'STATE', 'CAPABILITIES', 'PUBLISHER', 'SHA256'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function formatIntegrity(report: IntegrityReport): string {
  if (report.problems.length === 0) return `check: ${report.modulesChecked} module versions intact\n`;
  return `check: ${report.problems.length} problem(s):\n${report.problems.map((p) => `  ${p}\n`).join('')}`;
}
