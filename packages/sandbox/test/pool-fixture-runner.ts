/**
 * A PoolTaskRunner for the pool's own tests: it runs real wasm in the worker, but offers the
 * guest a few imports that a real runtime never would (exit the thread, exhaust the JS heap) so
 * the tests can make a worker die on purpose. Host calls go through the real bridge.
 *
 * The invocation's stdin is JSON: { "calls": [{ "method", "size", "fill" }] } — what the guest's
 * `fixture.call_host` import sends, one callHost per entry, each payload `size` bytes of `fill`.
 */
import { threadId } from 'node:worker_threads';
import type { InvocationOutcome, InvocationSpec } from '../src/runtime/types.ts';
import { callHost } from '../src/pool/call-host.ts';
import type { PoolTaskRunner } from '../src/pool/task-runner.ts';

interface FixtureCall {
  method: string;
  size: number;
  fill: number;
}

export interface FixtureReply {
  threadId: number;
  warmed: number;
  /** The guest's exported `tag` global, if any: which module ran. */
  tag: number | null;
  /** Per host call: result length and the sum of its bytes. */
  results: { length: number; sum: number }[];
}

let warmed = 0;

function sum(bytes: Uint8Array): number {
  let total = 0;
  for (const byte of bytes) total += byte;
  return total;
}

export const runner: PoolTaskRunner = {
  warm() {
    warmed++;
  },
  run(module: WebAssembly.Module, _info: unknown, spec: InvocationSpec): InvocationOutcome {
    const started = performance.now();
    const request = JSON.parse(new TextDecoder().decode(spec.stdin)) as { calls?: FixtureCall[] };
    const results: FixtureReply['results'] = [];
    const imports = {
      fixture: {
        call_host: (): void => {
          for (const call of request.calls ?? []) {
            const reply = callHost(call.method, new Uint8Array(call.size).fill(call.fill));
            results.push({ length: reply.byteLength, sum: sum(reply) });
          }
        },
        exit: (code: number): void => process.exit(code),
        exhaust_heap: (): void => {
          const hoard: number[][] = [];
          for (;;) hoard.push(new Array<number>(1 << 20).fill(1.5));
        },
      },
    };
    const instance = new WebAssembly.Instance(module, imports); // runs the start function
    const run = instance.exports.run;
    if (typeof run === 'function') (run as () => void)();
    const tag = instance.exports.tag;
    const reply: FixtureReply = {
      threadId,
      warmed,
      results,
      tag: tag instanceof WebAssembly.Global ? (tag.value as number) : null,
    };
    return {
      ok: true,
      response: { status: 200, headers: {}, body: JSON.stringify(reply) },
      fuelUsed: 0n,
      durationMs: performance.now() - started,
      seed: spec.seed,
      stderr: new Uint8Array(0),
      stderrTruncated: false,
      deterministic: true,
    };
  },
};
