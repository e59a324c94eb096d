// Debug events (capability debug.enable): opt-in, off by default, and refused at link time on a
// node that does not allow debug (every strict/production node). A guest that imports this can
// only run where debugging is allowed: keep it out of production builds. Events are logged by
// the node as `debug_event` records (cut at 4096 bytes), rate-limited with the guest's log lines.
import { finishCall } from './call';
import * as gojinn from './gojinn';

/** Emits one debug event (JSON text recommended); false when the host refused it. Needs debug.enable. */
export function debugEvent(event: string): bool {
  const bytes = String.UTF8.encode(event);
  const at = changetype<usize>(bytes);
  return finishCall(gojinn.debug_event(at, <usize>bytes.byteLength, 0, 0), bytes) !== null;
}
