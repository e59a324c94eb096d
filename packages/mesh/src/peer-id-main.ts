/**
 * `node packages/mesh/src/peer-id-main.ts DATA_DIR`: prints the node's peer id, creating the
 * node key on first use — what an operator needs to hand to peers for their allow lists and
 * policies before the daemon runs. Exit 2 with the error code on a refused key file.
 */
import { GojinnError } from '@gojinn/errors';
import { loadOrCreateNodeIdentity } from './identity.ts';

const dataDir = process.argv[2];
if (dataDir === undefined || process.argv.length > 3) {
  process.stderr.write('usage: peer-id-main.ts DATA_DIR\n');
  process.exit(2);
}
try {
  const identity = await loadOrCreateNodeIdentity(dataDir);
  if (identity.created) process.stderr.write(`created node key ${identity.keyPath}\n`);
  process.stdout.write(`${identity.peerId.toString()}\n`);
} catch (error) {
  if (!(error instanceof GojinnError)) throw error;
  process.stderr.write(`${error.code}: ${error.message}\n`);
  process.exit(2);
}
