import { GojinnError } from '@gojinn/errors';
import type { ModuleState } from '@gojinn/store';
import semver from 'semver';

/**
 * The rollback rule, as a pure function of what is on disk. For one (publisher, name):
 * - the first version installed becomes active;
 * - a version above the highest ever installed raises the bar and becomes active — unless
 *   the operator's pin holds the active version, which then stays active;
 * - a version below the highest ever installed is a `rollback`, unless it is exactly the
 *   version the operator pinned; then it is installed and becomes active.
 * The bar is the highest version ever installed, not the active one: a pin lowers what is
 * served but never reopens the versions in between to anyone who offers them.
 */
export function nextState(
  current: ModuleState | undefined,
  pin: string | undefined,
  version: string,
  /** How the refusal names the version, e.g. `hello@1.0.0 (publisher ed25519:…)`. */
  label: string,
): ModuleState {
  if (current === undefined) return { active: version, highest: version };
  const order = semver.compare(version, current.highest);
  if (order > 0) {
    const holdPinned = pin !== undefined && pin === current.active;
    return { active: holdPinned ? current.active : version, highest: version };
  }
  if (pin === version) return { active: version, highest: current.highest };
  throw new GojinnError(
    'rollback',
    `${label} is not above ${current.highest}, the highest version installed; ` +
      `refused as a rollback (an operator may allow it with: pin ${version})`,
  );
}

/** The state after the operator pins `version`: it becomes active if it is installed. */
export function pinnedState(
  current: ModuleState | undefined,
  version: string,
  installed: boolean,
): ModuleState | undefined {
  if (!installed || current === undefined) return undefined;
  return { active: version, highest: current.highest };
}

/** The state after the operator removes a pin: the highest version installed is active again. */
export function unpinnedState(current: ModuleState | undefined): ModuleState | undefined {
  return current === undefined ? undefined : { active: current.highest, highest: current.highest };
}
