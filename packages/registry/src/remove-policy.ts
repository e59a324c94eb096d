import { GojinnError } from '@gojinn/errors';
import type { ModuleState } from '@gojinn/store';
import semver from 'semver';

/**
 * The removal rule (docs/admin-api.md, "Removing a module"), as a pure function of what is on
 * disk, for one (publisher, name) losing `removed` of its installed versions:
 * - a PINNED version is never removed: the operator unpins it first (`bad_request`);
 * - the ACTIVE version is removed only with `force`; the highest remaining version then
 *   becomes active;
 * - the rollback bar (`highest`) stays where it was, so removing a version never reopens the
 *   versions below it (re-installing the removed top version needs a pin, like any rollback);
 * - when no version remains the state is dropped (undefined) and with it the bar.
 */
export function stateAfterRemoval(
  current: ModuleState,
  pin: string | undefined,
  installed: readonly string[],
  removed: ReadonlySet<string>,
  force: boolean,
  /** How refusals name a version, e.g. `hello@1.0.0 (publisher ed25519:…)`. */
  label: (version: string) => string,
): ModuleState | undefined {
  for (const version of removed) {
    if (pin === version) {
      throw new GojinnError(
        'bad_request',
        `${label(version)} is pinned; unpin it before removing it (nothing was removed)`,
      );
    }
    if (current.active === version && !force) {
      throw new GojinnError(
        'bad_request',
        `${label(version)} is the active version; removing it needs force (the highest remaining version becomes active; nothing was removed)`,
      );
    }
  }
  const remaining = installed.filter((version) => !removed.has(version));
  if (remaining.length === 0) return undefined;
  if (!removed.has(current.active)) return current;
  return { active: highestVersion(remaining), highest: current.highest };
}

/** The highest of non-empty semantic versions. */
export function highestVersion(versions: readonly string[]): string {
  return versions.reduce((best, version) => (semver.gt(version, best) ? version : best));
}
