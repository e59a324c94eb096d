/**
 * The capabilities a module can declare (in its signed manifest) and a node can grant.
 * There are no others and no implicit ones (SECURITY_MODEL.md, "Capability-Based Security").
 */
export const CAPABILITIES = [
  'kv.read',
  'kv.write',
  'db.query',
  'net.http',
  'secrets.read',
  'debug.enable',
] as const;

export type Capability = (typeof CAPABILITIES)[number];

const CAPABILITY_SET: ReadonlySet<string> = new Set(CAPABILITIES);

export function isCapability(value: unknown): value is Capability {
  return typeof value === 'string' && CAPABILITY_SET.has(value);
}
