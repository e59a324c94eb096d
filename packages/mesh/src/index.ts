export { loadOrCreateNodeIdentity, NODE_KEY_FILE, MAX_NODE_KEY_FILE_BYTES } from './identity.ts';
export type { NodeIdentity } from './identity.ts';
