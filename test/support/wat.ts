/**
 * WAT → wasm for tests, through wabt (parse, resolve names, validate, encode), and the
 * adversarial fixtures under test/fixtures/wat/.
 *
 * Each fixture starts with a header of `;; Key: value` lines that the tests read:
 *   ;; Fixture: <name, = file name without .wat>
 *   ;; Attacks: <what it tries>
 *   ;; Expect: <the error code the sandbox must produce, or `ok`>
 *   ;; Features: <wabt features it needs to assemble, comma separated, or `none`>
 * Optional `;; Note:` lines explain details (e.g. what an `ok` response must contain).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, type ErrorCode } from '@gojinn/errors';
import wabtFactory from 'wabt';

export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/wat/', import.meta.url));

/** The wabt features a fixture may ask for (wabt's own names). */
export const WAT_FEATURES = [
  'exceptions',
  'mutable_globals',
  'sat_float_to_int',
  'sign_extension',
  'simd',
  'threads',
  'function_references',
  'multi_value',
  'tail_call',
  'bulk_memory',
  'reference_types',
  'gc',
  'memory64',
  'extended_const',
  'relaxed_simd',
] as const;

export type WatFeature = (typeof WAT_FEATURES)[number];
export type WatFeatures = Partial<Record<WatFeature, boolean>>;

/** What the sandbox must make of a fixture: an error code, or `ok` for a normal response. */
export type FixtureExpectation = ErrorCode | 'ok';

export interface FixtureHeader {
  name: string;
  attacks: string;
  expect: FixtureExpectation;
  features: WatFeature[];
  notes: string[];
}

type Wabt = Awaited<ReturnType<typeof wabtFactory>>;
let wabtInstance: Promise<Wabt> | undefined;

function wabt(): Promise<Wabt> {
  wabtInstance ??= wabtFactory();
  return wabtInstance;
}

/**
 * Assembles WAT source text, or the .wat file at a path, into wasm bytes. Throws wabt's
 * message when the text does not parse or the module does not validate.
 */
export async function assembleWat(textOrPath: string, features: WatFeatures = {}): Promise<Uint8Array> {
  const isText = textOrPath.trimStart().startsWith('(') || textOrPath.trimStart().startsWith(';;');
  const text = isText ? textOrPath : readFileSync(textOrPath, 'utf8');
  const name = isText ? 'inline.wat' : textOrPath;
  const module = (await wabt()).parseWat(name, text, features);
  try {
    module.resolveNames();
    // wabt's validate takes the same feature options as parseWat (its typings omit them).
    (module.validate as (options?: WatFeatures) => void).call(module, features);
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

/** Names of all fixtures (file names without `.wat`), sorted. */
export function listFixtures(): string[] {
  return readdirSync(FIXTURES_DIR)
    .filter((file) => file.endsWith('.wat'))
    .map((file) => file.slice(0, -'.wat'.length))
    .sort();
}

export function fixturePath(name: string): string {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad fixture name ${JSON.stringify(name)}`);
  return `${FIXTURES_DIR}${name}.wat`;
}

/** Parses a fixture's header; throws naming the fixture and the missing or bad line. */
export function readFixtureHeader(name: string): FixtureHeader {
  const fields = new Map<string, string>();
  const notes: string[] = [];
  for (const line of readFileSync(fixturePath(name), 'utf8').split('\n')) {
    const match = /^;;\s*([A-Za-z]+):\s*(.*)$/.exec(line);
    if (!match) {
      if (line.startsWith(';;') || line.trim() === '') continue;
      break; // the header ends at the first line of code
    }
    const [, key = '', value = ''] = match;
    if (key === 'Note') notes.push(value.trim());
    else fields.set(key, value.trim());
  }
  const field = (key: string): string => {
    const value = fields.get(key);
    if (value === undefined || value === '') throw new Error(`fixture ${name}: header has no "${key}:" line`);
    return value;
  };
  if (field('Fixture') !== name) throw new Error(`fixture ${name}: header names it ${field('Fixture')}`);
  const expect = field('Expect');
  if (expect !== 'ok' && !(ERROR_CODES as readonly string[]).includes(expect)) {
    throw new Error(`fixture ${name}: Expect ${expect} is neither ok nor a Gojinn error code`);
  }
  const featureText = field('Features');
  const features = featureText === 'none' ? [] : featureText.split(',').map((f) => f.trim());
  for (const feature of features) {
    if (!(WAT_FEATURES as readonly string[]).includes(feature)) {
      throw new Error(`fixture ${name}: unknown feature ${feature}`);
    }
  }
  return {
    name,
    attacks: field('Attacks'),
    expect: expect as FixtureExpectation,
    features: features as WatFeature[],
    notes,
  };
}

/** Assembles fixture `name` with the features its header asks for. */
export async function loadFixture(name: string): Promise<Uint8Array> {
  const header = readFixtureHeader(name);
  const features: WatFeatures = {};
  for (const feature of header.features) features[feature] = true;
  return assembleWat(fixturePath(name), features);
}
