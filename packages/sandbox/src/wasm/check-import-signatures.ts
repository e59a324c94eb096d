import { HOST_FUNCTIONS, HOST_MODULE, WASI_MODULE, type WasmValueType } from '@gojinn/abi';
import { WASI_SIGNATURES } from '../wasi/signatures.ts';
import type { ParsedModule } from './parse-module.ts';
import { invalidModule } from './reader.ts';
import { ValType, type FuncType } from './types.ts';

interface Signature {
  params: readonly WasmValueType[];
  results: readonly WasmValueType[];
}

const VALUE_TYPE_CODES: Readonly<Record<WasmValueType, number>> = { i32: ValType.i32, i64: ValType.i64 };
const VALUE_TYPE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ValType).map(([name, code]) => [code, name]),
);

function expectedSignature(module: string, name: string): Signature | undefined {
  if (module === WASI_MODULE && Object.hasOwn(WASI_SIGNATURES, name)) {
    return WASI_SIGNATURES[name as keyof typeof WASI_SIGNATURES];
  }
  if (module === HOST_MODULE && Object.hasOwn(HOST_FUNCTIONS, name)) return HOST_FUNCTIONS[name];
  return undefined;
}

function matches(actual: FuncType, expected: Signature): boolean {
  const same = (codes: Uint8Array, names: readonly WasmValueType[]) =>
    codes.length === names.length && names.every((n, i) => codes[i] === VALUE_TYPE_CODES[n]);
  return same(actual.params, expected.params) && same(actual.results, expected.results);
}

function describeType(params: readonly string[], results: readonly string[]): string {
  return `(${params.join(', ')}) -> (${results.join(', ')})`;
}

/**
 * Every imported WASI or `gojinn` function must have exactly the signature the host provides.
 * V8 would refuse a mismatch only at instantiation, as a LinkError the runtime could not tell
 * from a host bug; refusing here gives the publisher an `invalid_module` naming the import at
 * `sign` time. Unknown names are left to the linker (`capability_denied`).
 */
export function checkImportSignatures(m: ParsedModule): void {
  let functionIndex = 0;
  for (const { module, name, kind } of m.imports) {
    if (kind !== 'function') continue;
    const actual = m.types[m.functionTypes[functionIndex++] as number] as FuncType;
    const expected = expectedSignature(module, name);
    if (expected === undefined || matches(actual, expected)) continue;
    const names = (codes: Uint8Array) =>
      Array.from(codes, (c) => VALUE_TYPE_NAMES.get(c) ?? `0x${c.toString(16)}`);
    throw invalidModule(
      `import ${JSON.stringify(module)}.${JSON.stringify(name)} has type ${describeType(names(actual.params), names(actual.results))}; ` +
        `the host provides ${describeType(expected.params, expected.results)}`,
    );
  }
}
