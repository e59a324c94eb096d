import { HOST_MODULE, WASI_MODULE, classifyImport, type Capability } from '@gojinn/abi';
import { toErrorInfo, type ErrorInfo } from '@gojinn/errors';
import { METER_EXPORTS } from '../meter-abi.ts';
import { createPreview1Imports } from '../wasi/index.ts';
import {
  RUNTIME_IMPORT_MODULE,
  RUNTIME_MEMORY_IMPORT,
  readMemoryShape,
  type MemoryShape,
} from '../wasm/runtime-imports.ts';
import { ACTIVE } from './active-invocation.ts';
import type { HostImports } from './types.ts';

/** A `gojinn` function the module imports and what linking it requires. */
export interface HostImport {
  name: string;
  requires: Capability | 'log';
}

/**
 * What the linker decided about one compiled module, once: the static verdict (an import that
 * can never link, an export the runtime needs but is missing), the `gojinn` imports whose
 * capabilities each invocation must grant, and the import object every instance shares.
 * A module that imports its memory from the runtime (`memoryShape` set) is instantiated by the
 * runtime with `importsWithMemory(plan, memory)`, a shallow copy per instantiation holding a
 * recycled memory; the shared import object itself gives a new memory to each instantiation
 * (for tools and tests that instantiate a prepared module themselves).
 */
export interface LinkPlan {
  /** Set when the module can never run, whatever is granted. */
  readonly error: ErrorInfo | null;
  readonly hostImports: readonly HostImport[];
  readonly importObject: WebAssembly.Imports;
  /**
   * The limits of the memory the module imports as RUNTIME_IMPORT_MODULE.RUNTIME_MEMORY_IMPORT
   * (prepared with `importMemory`), read from the module itself; null when it defines its own.
   */
  readonly memoryShape: MemoryShape | null;
  /** The module exports `__gojinn_start` (its original start function). */
  readonly hasStartFunction: boolean;
}

/** The meter globals a prepared module exports (meter-abi.ts); without them a module is not metered. */
const REQUIRED_GLOBALS = [
  METER_EXPORTS.fuel,
  METER_EXPORTS.stack,
  METER_EXPORTS.memoryLimitPages,
  METER_EXPORTS.memoryDenied,
] as const;

const PREVIEW1 = createPreview1Imports(ACTIVE);
const plans = new WeakMap<WebAssembly.Module, LinkPlan>();

/** The link plan of `module` (computed on first use, then cached for the module's lifetime). */
export function linkPlanFor(module: WebAssembly.Module): LinkPlan {
  let plan = plans.get(module);
  if (plan === undefined) {
    plan = buildPlan(module);
    plans.set(module, plan);
  }
  return plan;
}

/**
 * The one place that decides whether this invocation may link: every `gojinn` import needs its
 * capability granted and an implementation offered (`log` is always linked; the runtime has a
 * built-in one). Returns the first refusal, or null.
 */
export function checkGrants(
  plan: LinkPlan,
  granted: readonly Capability[],
  host: HostImports | undefined,
): ErrorInfo | null {
  for (const { name, requires } of plan.hostImports) {
    if (requires === 'log') continue;
    if (!granted.includes(requires)) {
      return denied(`import ${HOST_MODULE}.${name} needs capability ${requires}, which is not granted`);
    }
    if (typeof host?.[name] !== 'function') {
      return denied(
        `import ${HOST_MODULE}.${name} needs capability ${requires}, which is granted but not provided to this invocation`,
      );
    }
  }
  return null;
}

function buildPlan(module: WebAssembly.Module): LinkPlan {
  const hostImports: HostImport[] = [];
  const dispatchers: Record<string, (...args: number[]) => number> = {};
  let error: ErrorInfo | null = null;
  let memoryShape: MemoryShape | null = null;
  for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
    const label = `${from}.${name}`;
    if (from === RUNTIME_IMPORT_MODULE) {
      // The rewriter's memory import, and nothing else: the runtime provides no other import, and
      // a guest cannot name this module (parse-module.ts refuses it before it gets here).
      if (name === RUNTIME_MEMORY_IMPORT && kind === 'memory') {
        try {
          memoryShape = readMemoryShape(module);
        } catch (shapeError) {
          error ??= toErrorInfo(shapeError);
        }
      } else {
        error ??= invalid(
          `import ${label} is a ${kind} of the module name reserved for the runtime, which provides only its memory`,
        );
      }
      continue;
    }
    if (kind !== 'function') {
      error ??= invalid(`import ${label} is a ${kind}; a guest may import only functions`);
      continue;
    }
    const requirement = classifyImport(from, name);
    if (requirement.kind === 'unknown') {
      const what = from === WASI_MODULE ? 'a WASI preview1 function' : 'a Gojinn host function';
      error ??= denied(`import ${label} is not ${what}`);
    } else if (requirement.kind !== 'wasi') {
      hostImports.push({ name, requires: requirement.kind === 'log' ? 'log' : requirement.capability });
      dispatchers[name] = hostDispatcher(name);
    }
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get('memory') !== 'memory') error ??= invalid('module does not export its memory as "memory"');
  if (exports.get('_start') !== 'function') {
    error ??= invalid('module does not export a "_start" function; a guest must be a WASI command');
  }
  for (const name of REQUIRED_GLOBALS) {
    if (exports.get(name) !== 'global') {
      error ??= invalid(
        `module is not prepared for the sandbox: it does not export the meter global ${name}`,
      );
    }
  }
  const importObject: WebAssembly.Imports = { [WASI_MODULE]: PREVIEW1 };
  if (hostImports.length > 0) importObject[HOST_MODULE] = dispatchers;
  if (memoryShape !== null) importObject[RUNTIME_IMPORT_MODULE] = newMemoryEachTime(memoryShape);
  return {
    error,
    hostImports,
    importObject,
    memoryShape,
    hasStartFunction: exports.get(METER_EXPORTS.start) === 'function',
  };
}

/**
 * The imports of one instantiation of a module that imports its memory: the plan's shared
 * functions plus this instance's memory, in a new object each time so that no instantiation can
 * see another's memory through shared state.
 */
export function importsWithMemory(plan: LinkPlan, memory: WebAssembly.Memory): WebAssembly.Imports {
  return { ...plan.importObject, [RUNTIME_IMPORT_MODULE]: { [RUNTIME_MEMORY_IMPORT]: memory } };
}

/**
 * The runtime's import module for the shared import object: reading `memory` creates a new
 * memory of the module's limits, so every instantiation through the shared object gets its own
 * (the engine reads each import once per instantiation) and nothing is ever shared.
 */
function newMemoryEachTime(shape: MemoryShape): WebAssembly.ModuleImports {
  return {
    get [RUNTIME_MEMORY_IMPORT](): WebAssembly.Memory {
      return new WebAssembly.Memory({ initial: shape.initialPages, maximum: shape.maxPages });
    },
  };
}

/** Forwards a `gojinn` call to the running invocation's frame; one per imported name, shared by all instances. */
function hostDispatcher(name: string): (...args: number[]) => number {
  return (...args) => {
    const frame = ACTIVE.host;
    if (frame === null) throw new Error(`${HOST_MODULE}.${name} called outside an invocation`);
    return frame.call(name, args);
  };
}

function invalid(message: string): ErrorInfo {
  return { code: 'invalid_module', message };
}

function denied(message: string): ErrorInfo {
  return { code: 'capability_denied', message };
}
