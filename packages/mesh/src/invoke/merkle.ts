/**
 * The Merkle tree of RFC 9162 §2.1 (Certificate Transparency v2), over SHA-256: the hash of a
 * leaf is SHA-256(0x00 ‖ leaf bytes), of an inner node SHA-256(0x01 ‖ left ‖ right), and a tree
 * of n leaves splits at k, the largest power of two below n. The distinct prefixes keep a leaf
 * from ever passing for an inner node (no second-preimage by reinterpretation). Batch-signed
 * receipts (receipt.ts) sign the root once and give each receipt its inclusion path.
 *
 * Hashes are 64 lowercase hex characters throughout — the form they travel in (`batch.path`),
 * are signed in (the root) and are cached under — and hex is also the cheapest digest output
 * of node:crypto's one-shot `hash` (a Buffer result costs about three times as much per hash).
 */
import { hash } from 'node:crypto';

/** SHA-256(0x00 ‖ bytes): the hash of one leaf, hex. */
export function merkleLeafHash(bytes: Uint8Array): string {
  const input = Buffer.allocUnsafe(1 + bytes.byteLength);
  input[0] = 0x00;
  input.set(bytes, 1);
  return hash('sha256', input, 'hex');
}

/**
 * SHA-256(0x01 ‖ left ‖ right): the hash of an inner node, hex. `left` and `right` must be 64
 * lowercase hex characters (parseReceipt checks those that come from peers).
 */
export function merkleNodeHash(left: string, right: string): string {
  return hash('sha256', Buffer.from(`01${left}${right}`, 'hex'), 'hex');
}

/** A tree built once: its root and every leaf's inclusion path (leaf side first). */
export interface MerkleTree {
  root: string;
  /** paths[i] is the audit path of leaf i, RFC 9162 §2.1.3.1 order (nearest the leaf first). */
  paths: string[][];
}

/**
 * The root and all inclusion paths of a tree over `leafHashes` (n ≥ 1), in one pass: each inner
 * node's hash is computed once and appended, as the sibling, to the paths of the leaves below
 * its other half. n − 1 node hashes in all.
 */
export function buildMerkleTree(leafHashes: readonly string[]): MerkleTree {
  if (leafHashes.length === 0) throw new RangeError('a Merkle tree needs at least one leaf');
  const paths: string[][] = leafHashes.map(() => []);
  const subtree = (start: number, end: number): string => {
    if (end - start === 1) return leafHashes[start] as string;
    const split = start + largestPowerOfTwoBelow(end - start);
    const left = subtree(start, split);
    const right = subtree(split, end);
    for (let i = start; i < split; i++) (paths[i] as string[]).push(right);
    for (let i = split; i < end; i++) (paths[i] as string[]).push(left);
    return merkleNodeHash(left, right);
  };
  return { root: subtree(0, leafHashes.length), paths };
}

/**
 * The number of path entries RFC 9162 gives leaf `index` of a tree of `size`: the depth of that
 * leaf (the tree is not balanced when size is not a power of two). Undefined when index ≥ size.
 */
export function merklePathLength(index: number, size: number): number | undefined {
  if (!(index >= 0 && index < size)) return undefined;
  let length = 0;
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const split = start + largestPowerOfTwoBelow(end - start);
    if (index < split) end = split;
    else start = split;
    length++;
  }
  return length;
}

/**
 * The root that leaf hash `leaf` at `index` of a tree of `size` leads to through `path` (hex
 * hashes): RFC 9162 §2.1.3.2's verification algorithm. Undefined when the path cannot belong to
 * such a tree (index out of range, too many or too few entries): the caller then refuses it.
 */
export function merkleRootFromPath(
  leaf: string,
  index: number,
  size: number,
  path: readonly string[],
): string | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    return undefined;
  }
  let fn = index;
  let sn = size - 1;
  let root = leaf;
  for (const sibling of path) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      root = merkleNodeHash(sibling, root);
      // A right edge (fn even): climb past the levels where this node has no right sibling.
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      root = merkleNodeHash(root, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? root : undefined;
}

/** The largest power of two strictly below n (n ≥ 2). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
