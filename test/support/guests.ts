/**
 * The AssemblyScript example guests as built by `npm run build:guests`
 * (examples/<name>/build/<name>.wasm), and a small reader for the few module facts the tests
 * check that the WebAssembly JS API does not expose (start section, memory limits).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const EXAMPLE_GUESTS = [
  'fib',
  'hello',
  'http-proxy',
  'inspect',
  'kv-counter',
  'notes',
  'secret-user',
  'sha256',
] as const;
export type ExampleGuest = (typeof EXAMPLE_GUESTS)[number];

/** Absolute path of an example's build output. */
export function examplePath(name: ExampleGuest): string {
  return fileURLToPath(new URL(`../../examples/${name}/build/${name}.wasm`, import.meta.url));
}

/** The example's wasm bytes; throws telling how to build them when they are missing. */
export function readExample(name: ExampleGuest): Uint8Array {
  const path = examplePath(name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build:guests\` first`);
  return new Uint8Array(readFileSync(path));
}

const compiled = new Map<ExampleGuest, WebAssembly.Module>();

/** The example compiled once per process. */
export function compileExample(name: ExampleGuest): WebAssembly.Module {
  let module = compiled.get(name);
  if (!module) {
    module = new WebAssembly.Module(readExample(name));
    compiled.set(name, module);
  }
  return module;
}

export interface RawSection {
  id: number;
  payload: Uint8Array;
}

function readUleb(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let at = offset; at < bytes.length && at < offset + 5; at++) {
    const byte = bytes[at] ?? 0;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return [value, at + 1];
  }
  throw new Error(`bad LEB128 at byte ${offset}`);
}

/** The top-level sections of a (valid) module, in order. */
export function readSections(bytes: Uint8Array): RawSection[] {
  const sections: RawSection[] = [];
  let offset = 8;
  while (offset < bytes.length) {
    const id = bytes[offset] ?? -1;
    const [size, start] = readUleb(bytes, offset + 1);
    sections.push({ id, payload: bytes.subarray(start, start + size) });
    offset = start + size;
  }
  return sections;
}

export const START_SECTION_ID = 8;
const MEMORY_SECTION_ID = 5;

/** Initial and maximum pages of the module's single defined memory, or undefined without one. */
export function memoryLimits(
  bytes: Uint8Array,
): { initial: number; maximum: number | undefined } | undefined {
  const section = readSections(bytes).find((s) => s.id === MEMORY_SECTION_ID);
  if (!section) return undefined;
  const [count, flagsAt] = readUleb(section.payload, 0);
  if (count !== 1) throw new Error(`expected one memory, found ${count}`);
  const flags = section.payload[flagsAt] ?? 0;
  const [initial, next] = readUleb(section.payload, flagsAt + 1);
  const maximum = (flags & 1) === 1 ? readUleb(section.payload, next)[0] : undefined;
  return { initial, maximum };
}
