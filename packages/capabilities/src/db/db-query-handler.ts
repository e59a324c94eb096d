import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GojinnError } from '@gojinn/errors';
import {
  HostCallFailure,
  type CallContext,
  type CapabilityHandler,
  type ModuleIdentity,
} from '../handler.ts';
import { DbExecutorPool, type DbExecutorEvent, type DbPoolStats } from './db-executor-pool.ts';
import { QueryFailedError } from './db-executor.ts';
import { resolveDbLimits, type DbLimits } from './db-limits.ts';
import { parseDbRequest } from './db-request.ts';

/** The folder under the node's data directory that holds the module databases. */
export const DB_DIRECTORY = 'db';

/** Domain tag of a database file's name: versioned, so a new naming scheme never collides. */
const FILE_NAME_DOMAIN = 'gojinn/db/v1\n';

export interface DbQueryHandlerOptions {
  /** The node's data directory; databases live in `<dataDir>/db/` (created, mode 0700; files 0600). */
  dataDir: string;
  limits?: Partial<DbLimits>;
  /** Executor exits (crashes, deadline kills) for the node's log. */
  onExecutorEvent?: (event: DbExecutorEvent) => void;
}

const utf8 = new TextEncoder();

/**
 * The `db.query` capability: one SQLite database per module (publisher + name, so every version
 * of a module shares its data and no two modules share a file). `db_query` takes the JSON request
 * of docs/capabilities-db-secrets.md and answers `{"results": [...]}` — or `{"error": {...}}` when
 * SQLite refused a statement, so the guest can see why. Policy denials are `-DENIED` (logged as
 * security events), limits `-LIMIT`, a full database `-QUOTA`, the deadline `-TIMEOUT`.
 */
export class DbQueryHandler implements CapabilityHandler<'db.query'> {
  readonly capability = 'db.query' as const;
  readonly limits: Readonly<DbLimits>;
  /** Absolute path of the folder holding the databases. */
  readonly directory: string;
  readonly #pool: DbExecutorPool;

  constructor(options: DbQueryHandlerOptions) {
    this.limits = resolveDbLimits(options.limits);
    this.directory = resolve(options.dataDir, DB_DIRECTORY);
    mkdirSync(this.directory, { recursive: true, mode: 0o700 });
    this.#pool = new DbExecutorPool(this.limits, options.onExecutorEvent);
  }

  get stats(): DbPoolStats {
    return this.#pool.stats;
  }

  /**
   * The database file of a module: a hash of its identity, so the name never comes from guest
   * input and no publisher or name spelling can reach outside the folder or another's file.
   */
  databasePath(module: Pick<ModuleIdentity, 'name' | 'publisher'>): string {
    const digest = createHash('sha256')
      .update(`${FILE_NAME_DOMAIN}${module.publisher}\n${module.name}`)
      .digest('hex');
    return join(this.directory, `${digest}.sqlite`);
  }

  /** Starts the executor processes now rather than at the first query. */
  warm(): Promise<void> {
    return this.#pool.warm();
  }

  async handle(method: string, request: Uint8Array, ctx: CallContext<'db.query'>): Promise<Uint8Array> {
    if (method !== 'db_query') throw new HostCallFailure('INVALID', `db.query has no function ${method}`);
    // The answer depends on the module's stored data, and SQL can read the real clock
    // (datetime('now')) and entropy (random()): never part of a deterministic outcome.
    ctx.markNondeterministic('db.query');
    const parsed = parseDbRequest(request, this.limits);
    try {
      const json = await this.#pool.query({
        path: this.databasePath(ctx.module),
        statements: parsed.statements,
        deadline: ctx.deadline,
        signal: ctx.signal,
      });
      return utf8.encode(json);
    } catch (error) {
      if (!(error instanceof QueryFailedError)) {
        if (error instanceof GojinnError && error.code === 'timeout') {
          throw new HostCallFailure('TIMEOUT', error.message);
        }
        throw error; // overloaded, a dead executor: logged by the dispatcher, -UNAVAILABLE
      }
      const { kind, message, statement } = error.failure;
      const where = statement === undefined ? 'db request' : `db statements[${statement}]`;
      switch (kind) {
        case 'sql':
          return utf8.encode(
            JSON.stringify({ error: statement === undefined ? { message } : { message, statement } }),
          );
        case 'denied':
          return ctx.deny(`${where}: ${message}`);
        case 'limit':
          throw new HostCallFailure('LIMIT', `${where}: ${message}`);
        case 'quota':
          throw new HostCallFailure('QUOTA', `${where}: ${message}`);
        default:
          throw new GojinnError('internal', `${where}: ${message}`);
      }
    }
  }

  /** Stops the executor processes (a running request fails). */
  close(): Promise<void> {
    return this.#pool.close();
  }
}
