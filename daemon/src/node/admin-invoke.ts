/**
 * `POST /v1/invoke` (and `gojinn invoke`) on a running node: the call goes through the mesh's
 * router — here when installed, else on a provider, or on the peer the operator named — and
 * the answer is an outcome either way: a failure is `ok: false` with its stable code, so the
 * CLI reports it like a local run.
 */
import { toErrorInfo } from '@gojinn/errors';
import type { JsonValue } from '@gojinn/manifest';
import type { InvocationOutcome } from '@gojinn/sandbox';
import type { AdminInvokeCall, AdminInvokeResult } from '../admin/index.ts';
import type { MeshPeer } from './mesh-peer.ts';

function outcomeOf(partial: Partial<InvocationOutcome> & Pick<InvocationOutcome, 'ok'>): InvocationOutcome {
  return {
    fuelUsed: 0n,
    durationMs: 0,
    seed: '',
    stderr: new Uint8Array(),
    stderrTruncated: false,
    deterministic: false,
    ...partial,
  };
}

export async function adminInvoke(
  mesh: Pick<MeshPeer, 'invoke'>,
  self: string,
  call: AdminInvokeCall,
  deadlineMs: number,
): Promise<AdminInvokeResult> {
  const started = performance.now();
  try {
    const { routed, reExecution } = await mesh.invoke(
      { module: { name: call.name, range: '*' }, request: call.request, deadlineMs, remote: call.remote },
      { ...(call.peer === undefined ? {} : { peer: call.peer }), reExecute: call.verify === true },
    );
    const durationMs = performance.now() - started;
    if (routed.where === 'local') {
      return {
        outcome: outcomeOf({
          ok: true,
          response: routed.response,
          fuelUsed: BigInt(routed.fuelUsed),
          durationMs,
          seed: routed.seed,
          deterministic: routed.deterministic,
        }),
        servedBy: self,
      };
    }
    return {
      outcome: outcomeOf({
        ok: true,
        response: routed.response,
        fuelUsed: BigInt(routed.receipt.fuelUsed),
        durationMs,
        seed: routed.receipt.seed,
        deterministic: routed.receipt.deterministic,
      }),
      receipt: routed.receipt as unknown as JsonValue,
      servedBy: routed.peer,
      ...(reExecution === undefined ? {} : { reExecution }),
    };
  } catch (error) {
    return {
      outcome: outcomeOf({ ok: false, error: toErrorInfo(error), durationMs: performance.now() - started }),
      servedBy: call.peer ?? self,
    };
  }
}
