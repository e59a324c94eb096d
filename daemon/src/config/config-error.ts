import { GojinnError } from '@gojinn/errors';

/**
 * A config file (or an environment override) the daemon cannot start with. The code is
 * `bad_request` (the operator's input is wrong); the message always names where the problem is
 * (the file, or the environment variable), the key path and what was expected, so the operator
 * can fix it without reading code. docs/config.md documents the message forms.
 */
export class ConfigError extends GojinnError {
  /** The file (or `environment variable NAME`) the problem is in. */
  readonly source: string;
  /** The key path, e.g. `gateway.maxBodyBytes` or `peers[2].id`; empty for whole-file problems. */
  readonly keyPath: string;

  constructor(source: string, keyPath: string, problem: string) {
    super('bad_request', keyPath === '' ? `${source}: ${problem}` : `${source}: ${keyPath}: ${problem}`);
    this.source = source;
    this.keyPath = keyPath;
  }
}

/** How a value found in a config file is shown in an error: short, quoted, typed. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 64 ? `${value.slice(0, 64)}…` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'bigint') return `the integer ${value}`;
  if (typeof value === 'number') {
    return Number.isInteger(value) ? `the integer ${value}` : `the float ${value}`;
  }
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Date || (typeof value === 'object' && value?.constructor?.name === 'TomlDate')) {
    return 'a date';
  }
  if (typeof value === 'object' && value !== null) return 'a table';
  return String(value);
}
