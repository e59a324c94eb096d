/**
 * `prepareWasm`: the one door untrusted module bytes go through. Synchronous and pure:
 *   1. size limit, then a bounded structural parse that checks every static limit and refuses
 *      unsupported features (parse-module.ts);
 *   2. WebAssembly.validate, so the rewriter can trust arities and types;
 *   3. the single-pass rewrite (body-rewriter.ts) and assembly (emit-module.ts), with the reset
 *      function that lets the runtime reuse instances when the module allows it (reset-function.ts)
 *      and, on request, the memory turned into an import the runtime provides (runtime-imports.ts).
 * Any failure is a GojinnError: `invalid_module`, or `memory_limit` for a memory that starts
 * above the ceiling.
 */
import { GojinnError } from '@gojinn/errors';
import { MAX_MEMORY_PAGES, type ModuleLimits } from '../limits.ts';
import type { RewriteContext } from './body-rewriter.ts';
import { emitModule, type EmitPlan } from './emit-module.ts';
import { DEFAULT_FUEL_COSTS, costTable, type FuelCosts } from './instrument-fuel.ts';
import { DEFAULT_STACK_BUDGET, MAX_STACK_BUDGET } from './instrument-stack.ts';
import { parseModule, type ParsedModule } from './parse-module.ts';
import { invalidModule } from './reader.ts';
import { structuralReuseBlocker } from './reset-function.ts';
import { EMPTY_BLOCK_TYPE, ValType, type FuncType, type ModuleInfo, type ReuseVerdict } from './types.ts';
import { checkLimit } from './validate.ts';
import { checkImportSignatures } from './check-import-signatures.ts';

export interface PrepareOptions {
  limits: ModuleLimits;
  /** Most 64 KiB pages the module's memory may ever have; its declared maximum is clamped to this. */
  memoryCeilingPages: number;
  /** Initial `__gojinn_stack` budget (DEFAULT_STACK_BUDGET). The runtime may set it per invocation. */
  stackBudget?: number;
  /** Fuel cost table (DEFAULT_FUEL_COSTS). */
  costs?: FuelCosts;
  /**
   * true: the prepared module imports its memory from the runtime (runtime-imports.ts: module
   * "gojinn:runtime", field "memory", the same initial pages and clamped maximum) instead of
   * defining it, so that the runtime can give each new instance a recycled, zeroed memory
   * (docs/sandbox.md, "Fresh instances and recycled memories"). The Sandbox prepares modules
   * this way. false (the default): the module defines its memory, and whoever instantiates the
   * prepared bytes needs to provide nothing but its WASI and `gojinn` functions.
   */
  importMemory?: boolean;
}

export interface PreparedWasm {
  /** The rewritten module, ready for `new WebAssembly.Module`. */
  bytes: Uint8Array;
  info: ModuleInfo;
}

/** Pages of a 32-bit memory: the largest ceiling that means anything. */
export const MAX_MEMORY_CEILING_PAGES = MAX_MEMORY_PAGES;

export function prepareWasm(bytes: Uint8Array, options: PrepareOptions): PreparedWasm {
  const limits = options.limits;
  const ceiling = options.memoryCeilingPages;
  const stackBudget = options.stackBudget ?? DEFAULT_STACK_BUDGET;
  const fuelCosts = options.costs ?? DEFAULT_FUEL_COSTS;
  checkOptions(ceiling, stackBudget);
  const costs = costTable(fuelCosts);

  checkLimit(limits, 'maxModuleBytes', bytes.length, 'module is', 'bytes');
  const m = parseModule(bytes, limits);
  if (m.memory && m.memory.min > ceiling) {
    throw new GojinnError(
      'memory_limit',
      `module needs ${m.memory.min} initial pages of memory; limit memoryCeilingPages is ${ceiling}`,
    );
  }
  checkEngineValidates(bytes);
  checkImportSignatures(m);

  const { addedTypes, wrapperBlockTypes, typeReturningI32 } = planWrapperTypes(m);
  const globalCount = m.globalTypes.length;
  const ctx: RewriteContext = {
    module: m,
    costs,
    fuelCosts,
    slots: {
      fuelGlobal: globalCount,
      stackGlobal: globalCount + 1,
      memoryLimitGlobal: globalCount + 2,
      memoryDeniedGlobal: globalCount + 3,
      scratch64: 0,
      scratch32: 0,
    },
    wrapperBlockTypes,
    typeHasV128: Uint8Array.from(m.types, (t) =>
      t.params.includes(ValType.v128) || t.results.includes(ValType.v128) ? 1 : 0,
    ),
    globalIsV128: Uint8Array.from(m.globalTypes, (t) => (t === ValType.v128 ? 1 : 0)),
    sequences: new Map(),
    reuseBlocker: structuralReuseBlocker(m),
  };
  const memoryMax = m.memory ? Math.min(m.memory.max ?? ceiling, ceiling) : 0;
  const plan: EmitPlan = {
    addedTypes,
    tableMax: m.tables.map((t) => Math.min(t.max ?? limits.maxTableElements, limits.maxTableElements)),
    memoryMax,
    importMemory: options.importMemory ?? false,
    stackBudget,
    memoryLimitPages: ceiling,
    resetTypeIndex: m.bodies.length > 0 ? typeReturningI32() : null,
  };
  const prepared = emitModule(m, ctx, plan);
  return {
    bytes: prepared,
    info: {
      imports: m.imports,
      exports: m.exports,
      memory: m.memory ? { initialPages: m.memory.min, maxPages: memoryMax } : null,
      hasStart: m.start !== null,
      functionCount: m.functionTypes.length,
      sizeBytes: bytes.length,
      preparedSizeBytes: prepared.length,
      reuse: reuseVerdict(plan.resetTypeIndex !== null, ctx.reuseBlocker),
    },
  };
}

/** The verdict the emitted reset function encodes (it returns 1 only when this says reusable). */
function reuseVerdict(hasResetFunction: boolean, blocker: string | null): ReuseVerdict {
  if (!hasResetFunction) return { reusable: false, reason: 'module defines no functions' };
  return blocker === null ? { reusable: true } : { reusable: false, reason: blocker };
}

function checkOptions(ceiling: number, stackBudget: number): void {
  if (!Number.isInteger(ceiling) || ceiling < 0 || ceiling > MAX_MEMORY_CEILING_PAGES) {
    throw new RangeError(
      `memoryCeilingPages must be an integer from 0 to ${MAX_MEMORY_CEILING_PAGES}, got ${ceiling}`,
    );
  }
  if (!Number.isInteger(stackBudget) || stackBudget < 1 || stackBudget > MAX_STACK_BUDGET) {
    throw new RangeError(`stackBudget must be an integer from 1 to ${MAX_STACK_BUDGET}, got ${stackBudget}`);
  }
}

/** Runs V8's validator; on failure, compiles once to recover its reason for the message. */
function checkEngineValidates(bytes: Uint8Array): void {
  if (WebAssembly.validate(bytes)) return;
  let reason = 'rejected by the engine';
  try {
    new WebAssembly.Module(bytes);
  } catch (error) {
    if (error instanceof Error) reason = error.message.replace(/^WebAssembly\.Module\(\): /, '');
  }
  throw invalidModule(`module is not valid WebAssembly: ${reason}`);
}

/**
 * The wrapper block around each body has the function's results and no params. One or no
 * result encodes inline; several need a type `[] -> results`, reused if the module has one,
 * appended otherwise (appending keeps every existing type index). The reset function's type
 * `[] -> [i32]` is found or appended the same way, on request (only modules with code get one).
 */
function planWrapperTypes(m: ParsedModule): {
  addedTypes: FuncType[];
  wrapperBlockTypes: Uint8Array[];
  typeReturningI32: () => number;
} {
  const addedTypes: FuncType[] = [];
  const byResults = new Map<string, number>();
  m.types.forEach((t, i) => {
    const key = t.results.join(',');
    if (t.params.length === 0 && !byResults.has(key)) byResults.set(key, i);
  });
  const wrapperBlockTypes = m.types.map((t) => {
    if (t.results.length === 0) return Uint8Array.of(EMPTY_BLOCK_TYPE);
    if (t.results.length === 1) return Uint8Array.of(t.results[0]!);
    const key = t.results.join(',');
    let index = byResults.get(key);
    if (index === undefined) {
      index = m.types.length + addedTypes.length;
      addedTypes.push({ params: new Uint8Array(0), results: t.results });
      byResults.set(key, index);
    }
    return encodeTypeIndex(index);
  });
  const typeReturningI32 = (): number => {
    const results = Uint8Array.of(ValType.i32);
    const key = results.join(',');
    let index = byResults.get(key);
    if (index === undefined) {
      index = m.types.length + addedTypes.length;
      addedTypes.push({ params: new Uint8Array(0), results });
      byResults.set(key, index);
    }
    return index;
  };
  return { addedTypes, wrapperBlockTypes, typeReturningI32 };
}

function encodeTypeIndex(index: number): Uint8Array {
  const out: number[] = [];
  let v = index;
  for (;;) {
    const byte = v & 0x7f;
    v >>>= 7;
    if (v === 0 && (byte & 0x40) === 0) {
      out.push(byte);
      return Uint8Array.from(out);
    }
    out.push(byte | 0x80);
  }
}
