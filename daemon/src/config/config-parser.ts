import { readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { parseGrants, type GrantRule } from '@gojinn/capabilities';
import { GojinnError } from '@gojinn/errors';
import { ConfigError } from './config-error.ts';
import type { NodeConfig } from './node-config.ts';
import { CONFIG_SCHEMA, ENV_OVERRIDES, MAX_CONFIG_BYTES, type SectionSpec } from './schema.ts';
import { Problem, isLoopbackHost, type ListenAddress } from './value-kinds.ts';

/** The config file's name in a data directory. */
export const CONFIG_FILE = 'config.toml';

export interface ParseConfigOptions {
  /** Named in every error, and the base of a relative node.dataDir. */
  file: string;
  /** Environment overrides (ENV_OVERRIDES); default none. */
  env?: NodeJS.ProcessEnv;
  /** Base of a relative data dir given by GOJINN_DATA (default process.cwd()). */
  cwd?: string;
}

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** A key as named in an error: plain when it looks like a key, else quoted and cut (it came from the file). */
function showKey(key: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(key) ? key : JSON.stringify(key.slice(0, 64));
}

function checkFields(section: SectionSpec, raw: Table, at: string, source: string): Table {
  const known = section.fields.map((f) => f.key);
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw new ConfigError(
        source,
        `${at}.${showKey(key)}`,
        `unknown key (expected one of: ${known.join(', ')})`,
      );
    }
  }
  const out: Table = {};
  for (const field of section.fields) {
    const value = raw[field.key];
    if (value === undefined) {
      if (field.required === true) {
        throw new ConfigError(source, `${at}.${field.key}`, `missing (expected ${field.kind.expected})`);
      }
      if (field.default !== undefined) out[field.key] = field.default;
      continue;
    }
    const checked: unknown = field.kind.check(value);
    if (checked instanceof Problem)
      throw new ConfigError(source, `${at}.${field.key}${checked.at}`, checked.message);
    out[field.key] = checked;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** Parses TOML text (already read) into the frozen NodeConfig; throws ConfigError. */
export function parseConfig(textValue: string, options: ParseConfigOptions): NodeConfig {
  const source = options.file;
  if (textValue.length > MAX_CONFIG_BYTES) {
    throw new ConfigError(
      source,
      '',
      `is ${textValue.length} characters; the limit is MAX_CONFIG_BYTES (${MAX_CONFIG_BYTES})`,
    );
  }
  let document: Table;
  try {
    document = parse(textValue, { integersAsBigInt: 'asNeeded', unsafeKeyBehaviour: 'throw', maxDepth: 32 });
  } catch (error) {
    if (error instanceof TomlError) {
      const first = error.message.split('\n')[0] ?? 'invalid TOML';
      throw new ConfigError(
        source,
        '',
        `invalid TOML at line ${error.line}, column ${error.column}: ${first}`,
      );
    }
    throw new ConfigError(source, '', `invalid TOML: ${(error as Error).message.split('\n')[0] ?? ''}`);
  }
  return buildConfig(document, options);
}

function buildConfig(document: Table, options: ParseConfigOptions): NodeConfig {
  const source = options.file;
  const sectionNames = CONFIG_SCHEMA.map((s) => s.name);
  for (const key of Object.keys(document)) {
    if (!sectionNames.includes(key)) {
      throw new ConfigError(
        source,
        showKey(key),
        `unknown section (expected one of: ${sectionNames.join(', ')})`,
      );
    }
  }
  const sections: Record<string, unknown> = {};
  for (const section of CONFIG_SCHEMA) {
    const raw = document[section.name];
    if (section.array) {
      const entries = raw ?? [];
      const expected = `an array of tables [[${section.name}]] with at most ${section.maxEntries} entries`;
      if (!Array.isArray(entries) || entries.length > (section.maxEntries ?? 0)) {
        throw new ConfigError(source, section.name, Problem.expected(expected, raw).message);
      }
      sections[section.name] = entries.map((entry, i) => {
        const at = `${section.name}[${i}]`;
        if (!isTable(entry)) throw new ConfigError(source, at, Problem.expected('a table', entry).message);
        return checkFields(section, entry, at, source);
      });
    } else {
      if (raw !== undefined && !isTable(raw)) {
        throw new ConfigError(
          source,
          section.name,
          Problem.expected(`a table [${section.name}]`, raw).message,
        );
      }
      sections[section.name] = checkFields(section, raw ?? {}, section.name, source);
    }
  }
  applyEnvOverrides(sections, options);
  const config = sections as unknown as Mutable;
  checkCrossKeys(config, source);

  // Relative data dirs are taken from the config file's directory (GOJINN_DATA: see applyEnvOverrides).
  const node = config.node;
  node.dataDir = resolve(dirname(resolve(options.cwd ?? process.cwd(), source)), node.dataDir);
  if (config.limits.poolSize === 0) config.limits.poolSize = availableParallelism();
  const grants = parseGrantsSection(sections.grants as Table[], config, source);
  return deepFreeze({ file: source, ...config, grants } as NodeConfig);
}

type Mutable = {
  -readonly [K in keyof Omit<NodeConfig, 'file' | 'grants'>]: {
    -readonly [F in keyof NodeConfig[K]]: NodeConfig[K][F];
  };
};

function applyEnvOverrides(sections: Record<string, unknown>, options: ParseConfigOptions): void {
  const env = options.env ?? {};
  for (const override of ENV_OVERRIDES) {
    const value = env[override.name];
    if (value === undefined || value === '') continue;
    const [sectionName, key] = override.keyPath.split('.') as [string, string];
    const field = CONFIG_SCHEMA.find((s) => s.name === sectionName)?.fields.find((f) => f.key === key);
    if (field === undefined) throw new GojinnError('internal', `override ${override.name} names no key`);
    const checked: unknown = field.kind.check(value);
    if (checked instanceof Problem) {
      throw new ConfigError(`environment variable ${override.name}`, override.keyPath, checked.message);
    }
    // A data dir from the environment is relative to the working directory, like --data.
    (sections[sectionName] as Table)[key] =
      override.keyPath === 'node.dataDir'
        ? resolve(options.cwd ?? process.cwd(), checked as string)
        : checked;
  }
}

function checkCrossKeys(config: Mutable, source: string): void {
  if (config.node.allowDebug && config.node.mode === 'strict') {
    throw new ConfigError(
      source,
      'node.allowDebug',
      'expected false on a strict node (set node.mode = "development" to allow debug)',
    );
  }
  const admin: ListenAddress = config.admin.listen;
  if (!isLoopbackHost(admin.host) && !config.admin.allowNonLoopback) {
    throw new ConfigError(
      source,
      'admin.listen',
      `expected a loopback address (127.0.0.1, [::1] or localhost), got "${admin.host}"; set admin.allowNonLoopback = true to expose the admin API deliberately`,
    );
  }
  // Checked even when metrics.enabled is false, so turning it on later cannot expose it by surprise.
  const metrics: ListenAddress = config.metrics.listen;
  if (!isLoopbackHost(metrics.host) && !config.metrics.allowNonLoopback) {
    throw new ConfigError(
      source,
      'metrics.listen',
      `expected a loopback address (127.0.0.1, [::1] or localhost), got "${metrics.host}"; set metrics.allowNonLoopback = true to expose the metrics deliberately`,
    );
  }
  // A body the sandbox would not hand to the guest whole is better refused by the gateway (413).
  if (config.gateway.maxBodyBytes > config.limits.maxStdinBytes) {
    throw new ConfigError(
      source,
      'gateway.maxBodyBytes',
      `expected at most limits.maxStdinBytes (${config.limits.maxStdinBytes}), got the integer ${config.gateway.maxBodyBytes}`,
    );
  }
  const seen = new Set<string>();
  config.peers.forEach((peer, i) => {
    if (seen.has(peer.id))
      throw new ConfigError(
        source,
        `peers[${i}].id`,
        `repeats an earlier [[peers]] entry for ${peer.id} (merge them)`,
      );
    seen.add(peer.id);
  });
}

/** The checked [[grants]] entries through parseGrants (selectors, duplicates, debug on strict nodes). */
function parseGrantsSection(entries: Table[], config: Mutable, source: string) {
  try {
    return parseGrants(
      { rules: entries as unknown as GrantRule[], allowDebug: config.node.allowDebug },
      { strict: config.node.mode === 'strict', at: 'grants' },
    );
  } catch (error) {
    if (!(error instanceof GojinnError)) throw error;
    // parseGrants says "grants.rules[i].x <problem>"; the file says grants[i].x.
    const message = error.message.replace(/^grants\.rules\[/, 'grants[');
    const space = message.indexOf(' ');
    throw new ConfigError(
      source,
      message.slice(0, space),
      message.slice(space + 1).replace(/^must be /, 'expected '),
    );
  }
}

/** Where the config file is: `flag` (--config), else $GOJINN_CONFIG, else <data dir>/config.toml. */
export function configFilePath(options: {
  flag?: string | undefined;
  /** The data directory the CLI chose (--data, $GOJINN_DATA or its default). */
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}): string {
  const fromEnv = options.env?.GOJINN_CONFIG;
  const chosen = options.flag ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv);
  const cwd = options.cwd ?? process.cwd();
  return chosen === undefined ? resolve(cwd, options.dataDir, CONFIG_FILE) : resolve(cwd, chosen);
}

/** Every default, as if from an empty file in `dataDir`'s config.toml. */
export function defaultConfig(dataDir: string): NodeConfig {
  return parseConfig('', { file: resolve(dataDir, CONFIG_FILE) });
}

/**
 * Reads and parses a config file. A missing file is a ConfigError unless `missingOk`, in
 * which case the defaults apply (with the file's directory as the data dir).
 */
export async function loadConfigFile(
  file: string,
  options: { env?: NodeJS.ProcessEnv; cwd?: string; missingOk?: boolean } = {},
): Promise<NodeConfig> {
  const path = resolve(options.cwd ?? process.cwd(), file);
  let textValue: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ConfigError(path, '', 'is not a regular file');
    if (info.size > MAX_CONFIG_BYTES) {
      throw new ConfigError(
        path,
        '',
        `is ${info.size} bytes; the limit is MAX_CONFIG_BYTES (${MAX_CONFIG_BYTES})`,
      );
    }
    textValue = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT' && options.missingOk === true) textValue = '';
    else throw new ConfigError(path, '', `cannot read the config file: ${code}`);
  }
  return parseConfig(textValue, {
    file: path,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
}
