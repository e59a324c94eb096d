/**
 * The Merkle tree of RFC 9162 §2.1 (Certificate Transparency v2), over SHA-256: the hash of a
 * leaf is SHA-256(0x00 ‖ leaf bytes), of an inner node SHA-256(0x01 ‖ left ‖ right), and a tree
 * of n leaves splits at k, the largest power of two below n. The distinct prefixes keep a leaf
 * from ever passing for an inner node (no second-preimage by reinterpretation). Batch-signed
 * receipts (receipt.ts) sign the root once and give each receipt its inclusion path.
 */
import { hash } from 'node:crypto';

// One-shot hashing of one buffer: about half the cost of a createHash object per node (the
// caller hashes a leaf and up to MAX_RECEIPT_PATH_LENGTH nodes per receipt).

/** SHA-256(0x00 ‖ bytes): the hash of one leaf. */
export function merkleLeafHash(bytes: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + bytes.byteLength);
  input[0] = 0x00;
  input.set(bytes, 1);
  return hash('sha256', input, 'buffer');
}

/** SHA-256(0x01 ‖ left ‖ right): the hash of an inner node. */
export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + left.byteLength + right.byteLength);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 1 + left.byteLength);
  return hash('sha256', input, 'buffer');
}

/** A tree built once: its root and every leaf's inclusion path (leaf side first). */
export interface MerkleTree {
  root: Buffer;
  /** paths[i] is the audit path of leaf i, RFC 9162 §2.1.3.1 order (nearest the leaf first). */
  paths: Buffer[][];
}

/**
 * The root and all inclusion paths of a tree over `leafHashes` (n ≥ 1), in one pass: each inner
 * node's hash is computed once and appended, as the sibling, to the paths of the leaves below
 * its other half. 2n − 1 hashes for the root, n⌈log2 n⌉ path entries in all.
 */
export function buildMerkleTree(leafHashes: readonly Buffer[]): MerkleTree {
  if (leafHashes.length === 0) throw new RangeError('a Merkle tree needs at least one leaf');
  const paths: Buffer[][] = leafHashes.map(() => []);
  const subtree = (start: number, end: number): Buffer => {
    if (end - start === 1) return leafHashes[start] as Buffer;
    const split = start + largestPowerOfTwoBelow(end - start);
    const left = subtree(start, split);
    const right = subtree(split, end);
    for (let i = start; i < split; i++) (paths[i] as Buffer[]).push(right);
    for (let i = split; i < end; i++) (paths[i] as Buffer[]).push(left);
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
 * The root that leaf hash `leaf` at `index` of a tree of `size` leads to through `path`: RFC 9162
 * §2.1.3.2's verification algorithm. Undefined when the path cannot belong to such a tree (index
 * out of range, too many or too few entries): the caller then refuses the proof outright.
 */
export function merkleRootFromPath(
  leaf: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
): Buffer | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    return undefined;
  }
  let fn = index;
  let sn = size - 1;
  let root: Buffer = Buffer.from(leaf);
  for (const sibling of path) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      root = merkleNodeHash(sibling, root);
      // A right edge: climb past the levels where this node has no right sibling.
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
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
