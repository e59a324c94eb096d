import { GojinnError } from '@gojinn/errors';
import { ModuleRegistry } from '@gojinn/registry';
import { StoreLockedError, openStore, type Store } from '@gojinn/store';
import { UsageError, type CommandIo } from '../command.ts';
import { AdminClient, type AdminFlags } from '../admin-client.ts';

/**
 * `gojinn modules rm | pin | unpin`: on the store itself when no node runs, else through the
 * running node's admin API (the store has one owner). Same rule either way: the registry's
 * (docs/admin-api.md, "Removing a module").
 */

export const MODULE_ACTIONS = ['rm', 'pin', 'unpin'] as const;
export type ModuleAction = (typeof MODULE_ACTIONS)[number];

export function isModuleAction(value: string | undefined): value is ModuleAction {
  return (MODULE_ACTIONS as readonly string[]).includes(value ?? '');
}

export interface ModuleActionFlags extends AdminFlags {
  force?: boolean | undefined;
  publisher?: string | undefined;
  remote?: boolean | undefined;
}

interface ActionResult {
  json: Record<string, unknown>;
  human: string;
}

/** What one action does, on a local registry and through the admin API. */
interface Runner {
  local(registry: ModuleRegistry, store: Store): Promise<ActionResult>;
  remote(client: AdminClient): Promise<ActionResult>;
}

export async function runModuleAction(
  action: ModuleAction,
  args: readonly string[],
  flags: ModuleActionFlags,
  dataDir: string,
  io: CommandIo,
): Promise<ActionResult> {
  const runner = runnerFor(action, args, flags);
  const remote = flags.remote === true || flags['admin-url'] !== undefined;
  if (!remote) {
    let store: Store | undefined;
    try {
      store = await openStore(dataDir);
    } catch (error) {
      if (!(error instanceof StoreLockedError)) throw error;
      // A node runs on the store: ask it, or report the lock when nothing answers.
      try {
        return await runner.remote(await AdminClient.connect({ ...flags, data: dataDir }, io));
      } catch (adminError) {
        const unreachable =
          adminError instanceof GojinnError &&
          (adminError.code === 'peer_unreachable' || /admin token/.test(adminError.message));
        throw unreachable ? error : adminError;
      }
    }
    try {
      return await runner.local(new ModuleRegistry({ store }), store);
    } finally {
      await store.close();
    }
  }
  return runner.remote(await AdminClient.connect({ ...flags, data: dataDir }, io));
}

function runnerFor(action: ModuleAction, args: readonly string[], flags: ModuleActionFlags): Runner {
  if (action === 'rm') {
    const [hash, ...extra] = args;
    if (hash === undefined || extra.length > 0) throw new UsageError('modules rm takes one module sha256');
    if (flags.publisher !== undefined) throw new UsageError('modules rm does not take --publisher');
    const force = flags.force === true;
    const describe = (
      removed: Array<{ name: string; version: string }>,
      states: Array<{ name: string; active: string | null }>,
    ): string =>
      `removed ${removed.map((r) => `${r.name}@${r.version}`).join(', ')}\n` +
      states
        .map((s) => `${s.name}: ${s.active === null ? 'no version left' : `serves ${s.active}`}\n`)
        .join('');
    return {
      async local(registry) {
        const result = await registry.remove(hash, { force });
        const states = result.states.map((s) => ({
          name: s.name,
          publisher: s.publisher,
          active: s.state?.active ?? null,
        }));
        return { json: { hash, removed: result.removed, states }, human: describe(result.removed, states) };
      },
      async remote(client) {
        const answer = await client.call(
          'DELETE',
          `/v1/modules/${encodeURIComponent(hash)}${force ? '?force=true' : ''}`,
        );
        const removed = answer.removed as Array<{ name: string; publisher: string; version: string }>;
        const states = answer.states as Array<{ name: string; publisher: string; active: string | null }>;
        return { json: { hash, removed, states }, human: describe(removed, states) };
      },
    };
  }
  if (flags.force !== undefined) throw new UsageError(`modules ${action} does not take --force`);
  const [name, version, ...extra] = args;
  if (
    name === undefined ||
    (action === 'pin' && version === undefined) ||
    extra.length > 0 ||
    (action === 'unpin' && version !== undefined)
  )
    throw new UsageError(
      action === 'pin' ? 'modules pin takes <name> <version>' : 'modules unpin takes <name>',
    );
  const done = (publisher: string, active: string | null): ActionResult => ({
    json: { action, name, publisher, ...(version === undefined ? {} : { version }), active },
    human:
      `${action === 'pin' ? `pinned ${name}@${version ?? ''}` : `unpinned ${name}`} (${publisher}); ` +
      `${active === null ? 'not installed yet' : `serves ${active}`}\n`,
  });
  return {
    async local(registry, store) {
      const publisher =
        flags.publisher ??
        onlyPublisher(
          name,
          (await store.modules.listStates(name, { limit: 2 })).items.map((i) => i.publisher),
        );
      if (action === 'pin') {
        const result = await registry.pin(publisher, name, version ?? '');
        return done(publisher, result.state?.active ?? null);
      }
      return done(publisher, (await registry.unpin(publisher, name))?.active ?? null);
    },
    async remote(client) {
      const publisher = flags.publisher ?? onlyPublisher(name, await remotePublishers(client, name));
      const answer =
        action === 'pin'
          ? await client.call('POST', '/v1/pins', { publisher, name, version })
          : await client.call('DELETE', '/v1/pins', { publisher, name });
      return done(publisher, (answer.active as string | null | undefined) ?? null);
    },
  };
}

function onlyPublisher(name: string, publishers: readonly string[]): string {
  const distinct = [...new Set(publishers)];
  const [only] = distinct;
  if (only === undefined)
    throw new GojinnError(
      'not_found',
      `no module ${JSON.stringify(name)} is installed; pass --publisher KEY`,
    );
  if (distinct.length > 1)
    throw new GojinnError(
      'bad_request',
      `several publishers have a module ${JSON.stringify(name)}; pass --publisher KEY`,
    );
  return only;
}

/** The publishers of the installed versions called `name`, paging the node's module list. */
async function remotePublishers(client: AdminClient, name: string): Promise<string[]> {
  const publishers: string[] = [];
  let after: string | undefined;
  do {
    const page = await client.call(
      'GET',
      `/v1/modules${after === undefined ? '' : `?after=${encodeURIComponent(after)}`}`,
    );
    for (const module of page.modules as Array<{ name: string; publisher: string }>)
      if (module.name === name) publishers.push(module.publisher);
    after = typeof page.next === 'string' ? page.next : undefined;
  } while (after !== undefined);
  return publishers;
}
