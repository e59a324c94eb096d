/**
 * What the router knows about modules this node does not run: the hashes gossip (or sync)
 * announced under each name — trusted or not, since forwarding a call is not running it — and
 * which peers announced them, the first providers to ask. Bounded: past MAX_ROUTABLE_NAMES the
 * name heard least recently is forgotten (its calls then fall back to the DHT and connected
 * peers), and each name keeps its MAX_HASHES_PER_NAME most recent hashes.
 */
import type { PeerId } from '@libp2p/interface';
import semver from 'semver';
import type { Manifest } from '@gojinn/manifest';
import type { ModuleRef } from '@gojinn/mesh';

/** Default most module names remembered. */
export const MAX_ROUTABLE_NAMES = 10_000;
/** Default most hashes remembered per name. */
export const MAX_HASHES_PER_NAME = 8;

/** Remembers which hashes gossip announced under a name, and who announced them. */
export class RoutingIndex {
  readonly #maxNames: number;
  readonly #maxHashesPerName: number;
  readonly #byName = new Map<string, Map<string, { manifest: Manifest; from: Set<string> }>>();

  constructor(options: { maxNames?: number; maxHashesPerName?: number } = {}) {
    this.#maxNames = options.maxNames ?? MAX_ROUTABLE_NAMES;
    this.#maxHashesPerName = options.maxHashesPerName ?? MAX_HASHES_PER_NAME;
  }

  /** Names remembered now. */
  get size(): number {
    return this.#byName.size;
  }

  add(manifest: Manifest, from: PeerId): void {
    let hashes = this.#byName.get(manifest.name);
    if (hashes === undefined) {
      if (this.#byName.size >= this.#maxNames) {
        const oldest = this.#byName.keys().next().value;
        if (oldest !== undefined) this.#byName.delete(oldest);
      }
      hashes = new Map();
    }
    // Re-inserted on every announcement: the Map's order is then least recently heard first.
    this.#byName.delete(manifest.name);
    this.#byName.set(manifest.name, hashes);
    const entry = hashes.get(manifest.sha256) ?? { manifest, from: new Set<string>() };
    entry.from.add(from.toString());
    hashes.delete(manifest.sha256);
    hashes.set(manifest.sha256, entry);
    if (hashes.size > this.#maxHashesPerName) {
      const oldest = hashes.keys().next().value;
      if (oldest !== undefined) hashes.delete(oldest);
    }
  }

  /** The highest announced version matching the reference, with who announced it. */
  best(ref: ModuleRef): { sha256: string; from: string[] } | undefined {
    if ('sha256' in ref) {
      for (const hashes of this.#byName.values()) {
        const entry = hashes.get(ref.sha256);
        if (entry !== undefined) return { sha256: ref.sha256, from: [...entry.from] };
      }
      return { sha256: ref.sha256, from: [] };
    }
    let best: { manifest: Manifest; from: Set<string> } | undefined;
    for (const entry of this.#byName.get(ref.name)?.values() ?? []) {
      const { manifest } = entry;
      if (ref.publisher !== undefined && manifest.publisher !== ref.publisher) continue;
      if (!semver.satisfies(manifest.version, ref.range)) continue;
      if (best === undefined || semver.gt(manifest.version, best.manifest.version)) best = entry;
    }
    return best === undefined ? undefined : { sha256: best.manifest.sha256, from: [...best.from] };
  }
}
