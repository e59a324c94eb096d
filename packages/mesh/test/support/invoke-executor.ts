/**
 * A real executor for invoke tests: modules held in memory (name, version, bytes, declared
 * capabilities), run by a real Sandbox (worker pool with the capabilities' host imports) and a
 * real HostCallDispatcher over a real kv store — what the daemon's local resolver does, minus
 * the registry. The node grants each module what it declares; the peer's ceiling narrows it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { GojinnError } from '@gojinn/errors';
import { keyPairFromSeed, sha256Hex } from '@gojinn/manifest';
import {
  HOST_IMPORTS_URL,
  HostCallDispatcher,
  KvStore,
  createKvHandlers,
  effectiveRights,
} from '@gojinn/capabilities';
import type { CapabilityRights } from '@gojinn/capabilities';
import { openStore } from '@gojinn/store';
import type { Store } from '@gojinn/store';
import { Sandbox } from '@gojinn/sandbox';
import type { InvocationOutcome, PreparedModule, GuestRequest } from '@gojinn/sandbox';
import type { ExecuteCall, ExecuteResult, InvokeExecutor } from '../../src/invoke/protocol.ts';
import type { ModuleRef } from '../../src/invoke/messages.ts';
import type { LocalExecutor } from '../../src/routing/router.ts';

export const PUBLISHER = keyPairFromSeed(new Uint8Array(32).fill(7)).publicKey;

export interface TestModule {
  name: string;
  version: string;
  bytes: Uint8Array;
  declared?: CapabilityRights;
}

export function exampleWasm(name: string): Uint8Array {
  const url = new URL(`../../../../examples/${name}/build/${name}.wasm`, import.meta.url);
  return new Uint8Array(readFileSync(url));
}

/** What a local run returns (the router's local executor shape). */
export interface LocalRun {
  outcome: InvocationOutcome;
  moduleSha256: string;
}

export class TestExecutor {
  readonly sandbox: Sandbox;
  readonly dispatcher: HostCallDispatcher;
  readonly modules: TestModule[];
  /** Calls that reached the executor (after the policy admitted them). */
  executed = 0;
  readonly #store: Store;
  readonly #dir: string;
  readonly #prepared = new Map<string, PreparedModule>();

  private constructor(modules: TestModule[], sandbox: Sandbox, store: Store, dir: string) {
    this.modules = modules;
    this.sandbox = sandbox;
    this.#store = store;
    this.#dir = dir;
    this.dispatcher = new HostCallDispatcher({
      handlers: createKvHandlers(new KvStore(store.extension('kv'))),
      log: () => {},
    });
  }

  static async create(modules: TestModule[], poolSize = 1): Promise<TestExecutor> {
    const dir = await mkdtemp(join(tmpdir(), 'gojinn-invoke-'));
    const store = await openStore(join(dir, 'node'));
    const sandbox = new Sandbox({ pool: { size: poolSize, hostImportsUrl: HOST_IMPORTS_URL } });
    return new TestExecutor(modules, sandbox, store, dir);
  }

  find(ref: ModuleRef): TestModule {
    const found =
      'sha256' in ref
        ? this.modules.find((m) => sha256Hex(m.bytes) === ref.sha256)
        : this.modules
            .filter((m) => m.name === ref.name && semver.satisfies(m.version, ref.range))
            .sort((a, b) => semver.rcompare(a.version, b.version))[0];
    if (found === undefined) throw new GojinnError('not_found', 'no such module here');
    return found;
  }

  has(ref: ModuleRef): boolean {
    try {
      this.find(ref);
      return true;
    } catch {
      return false;
    }
  }

  /** Runs a module as the protocol's executor would, with a ceiling (none: the node's own call). */
  async run(
    module: TestModule,
    request: GuestRequest,
    options: { ceiling?: CapabilityRights; seed?: string; fuel?: number; deadlineMs: number },
  ): Promise<LocalRun> {
    const hash = sha256Hex(module.bytes);
    let prepared = this.#prepared.get(hash);
    if (prepared === undefined) {
      prepared = this.sandbox.prepare(module.bytes);
      this.#prepared.set(hash, prepared);
    }
    const declared = module.declared ?? {};
    const rights = effectiveRights({
      declared,
      granted: declared,
      ...(options.ceiling === undefined ? {} : { ceiling: options.ceiling }),
      allowDebug: false,
    });
    const host = this.dispatcher.forInvocation({
      module: { name: module.name, publisher: PUBLISHER, hash },
      rights,
      traceId: request.trace_id,
      deadline: Date.now() + options.deadlineMs,
    });
    const outcome = await this.sandbox.invoke(prepared, request, {
      granted: host.granted,
      hostHandler: host.handler,
      programName: module.name,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      limits: {
        timeoutMs: options.deadlineMs,
        ...(options.fuel === undefined ? {} : { fuel: BigInt(options.fuel) }),
      },
    });
    return { outcome, moduleSha256: hash };
  }

  /** The protocol's executor. `gate`, when set, is awaited before each run (to hold calls in flight). */
  executor(gate?: () => Promise<void>): InvokeExecutor {
    return async (call: ExecuteCall): Promise<ExecuteResult> => {
      const module = this.find(call.module);
      call.authorize(module.name);
      this.executed++;
      if (gate !== undefined) await gate();
      return this.run(module, call.request, {
        ceiling: call.ceiling,
        deadlineMs: call.deadlineMs,
        ...(call.seed === undefined ? {} : { seed: call.seed }),
        ...(call.fuel === undefined ? {} : { fuel: call.fuel }),
      });
    };
  }

  /** This node's own runs, for a router: no ceiling (the node's grants alone). */
  local(): LocalExecutor {
    return {
      find: (ref) => {
        if (!this.has(ref)) return undefined;
        const module = this.find(ref);
        return {
          run: (call) =>
            this.run(module, call.request, {
              deadlineMs: call.deadlineMs,
              ...(call.seed === undefined ? {} : { seed: call.seed }),
              ...(call.fuel === undefined ? {} : { fuel: call.fuel }),
            }),
        };
      },
    };
  }

  async close(): Promise<void> {
    await this.sandbox.close();
    await this.#store.close();
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/** A guest request with every field, as a caller sends it. */
export function guestRequest(uri: string, traceId = newTraceIdLike()): GuestRequest {
  return { method: 'GET', uri, headers: {}, body: '', trace_id: traceId };
}

let traceCounter = 0;
function newTraceIdLike(): string {
  traceCounter++;
  return traceCounter.toString(16).padStart(32, '0');
}
