export { loadOrCreateNodeIdentity, NODE_KEY_FILE, MAX_NODE_KEY_FILE_BYTES } from './identity.ts';
export type { NodeIdentity } from './identity.ts';
export { createMeshNode, GOJINN_DHT_PROTOCOL, DATASTORE_DIR, DEFAULT_CONNECTION_LIMITS } from './node.ts';
export type { MeshNode, MeshNodeOptions, MeshServices, MeshConnectionLimits } from './node.ts';
