import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CAPABILITIES, isCapability, type Capability } from '@gojinn/abi';
import { GojinnError, toErrorInfo, type ErrorInfo } from '@gojinn/errors';
import {
  DEFAULT_INVOCATION_LIMITS,
  MAX_INVOCATION_LIMITS as RUN_CEILINGS,
  Sandbox,
  newSeed,
  parseSeed,
  type GuestRequest,
  type InvocationLimits,
  type InvocationOutcome,
} from '@gojinn/sandbox';
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  parseCommandArgs,
  type Command,
  type CommandIo,
} from '../command.ts';
import { parseDuration, parseSize } from '../units.ts';
import { parseRequestInput } from '../request-input.ts';

const USAGE = `Usage: gojinn run <module.wasm> [options]

Runs one module once, locally, in the sandbox — no daemon, no signature needed. Capabilities
are denied unless granted with --grant.

Options:
  --input JSON | @FILE | -   the request: a JSON object with any of method, uri, headers, body,
                             trace_id (default: an empty GET of "/"); @FILE reads a file, - stdin
  --fuel N                   fuel limit (default ${DEFAULT_INVOCATION_LIMITS.fuel})
  --memory SIZE              memory ceiling: bytes or a number with KiB, MiB, GiB (default ${DEFAULT_INVOCATION_LIMITS.memoryBytes / 1048576} MiB)
  --timeout DURATION         wall-clock limit: milliseconds or a number with ms, s (default ${DEFAULT_INVOCATION_LIMITS.timeoutMs} ms)
  --seed HEX                 the invocation seed, 64 hex digits (default: random, printed with --json)
  --grant CAP[,CAP...]       grant capabilities: ${CAPABILITIES.join(', ')}
  --json                     print exactly one JSON object
  -h, --help                 this text

Exit status: 0 success, 1 the guest failed (the error code says how), 2 bad usage or unreadable input.
`;

const OPTIONS = {
  input: { type: 'string' },
  fuel: { type: 'string' },
  memory: { type: 'string' },
  timeout: { type: 'string' },
  seed: { type: 'string' },
  grant: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;

interface RunPlan {
  modulePath: string;
  request: Partial<GuestRequest>;
  limits: InvocationLimits;
  seed: string;
  granted: Capability[];
}

function parseFuel(text: string): bigint {
  if (!/^[1-9][0-9]{0,18}$/.test(text))
    throw new UsageError(`--fuel must be a positive integer, got '${text}'`);
  const fuel = BigInt(text);
  if (fuel > RUN_CEILINGS.fuel)
    throw new UsageError(`--fuel ${text} is above the maximum ${RUN_CEILINGS.fuel}`);
  return fuel;
}

function parseGrants(values: string[] | undefined): Capability[] {
  const granted = new Set<Capability>();
  for (const value of values ?? []) {
    for (const name of value.split(',')) {
      if (!isCapability(name)) {
        throw new UsageError(`--grant: unknown capability '${name}' (known: ${CAPABILITIES.join(', ')})`);
      }
      granted.add(name);
    }
  }
  return [...granted];
}

function bounded(name: string, value: number, max: number, unit: string): number {
  if (value > max) throw new UsageError(`${name} ${value} ${unit} is above the maximum ${max} ${unit}`);
  return value;
}

async function plan(args: string[], io: CommandIo): Promise<RunPlan & { json: boolean }> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, true);
  if (positionals.length !== 1) throw new UsageError('expected exactly one module path');
  const limits: InvocationLimits = { ...DEFAULT_INVOCATION_LIMITS };
  if (values.fuel !== undefined) limits.fuel = parseFuel(values.fuel);
  if (values.memory !== undefined) {
    limits.memoryBytes = bounded('--memory', parseSize(values.memory), RUN_CEILINGS.memoryBytes, 'bytes');
  }
  if (values.timeout !== undefined) {
    limits.timeoutMs = bounded('--timeout', parseDuration(values.timeout), RUN_CEILINGS.timeoutMs, 'ms');
  }
  let seed: string;
  try {
    seed = values.seed === undefined ? newSeed() : values.seed.toLowerCase();
    parseSeed(seed);
  } catch (error) {
    throw new UsageError(`--seed: ${(error as Error).message}`);
  }
  return {
    modulePath: positionals[0] as string,
    request: await parseRequestInput(values.input, io),
    limits,
    seed,
    granted: parseGrants(values.grant),
    json: values.json === true,
  };
}

function printHuman(outcome: InvocationOutcome, io: CommandIo): void {
  const stats = `fuel ${outcome.fuelUsed} · ${outcome.durationMs.toFixed(3)} ms · seed ${outcome.seed}`;
  if (outcome.stderr.length > 0) {
    io.stderr(`--- guest stderr${outcome.stderrTruncated ? ' (truncated)' : ''}\n`);
    io.stderr(`${Buffer.from(outcome.stderr).toString('utf8')}\n---\n`);
  }
  if (outcome.ok && outcome.response) {
    const { status, headers, body } = outcome.response;
    const headerLines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\n`);
    io.stderr(`status ${status}\n${headerLines.join('')}${stats}\n`);
    io.stdout(body.endsWith('\n') || body === '' ? body : `${body}\n`);
  } else {
    const error = outcome.error as ErrorInfo;
    io.stderr(`gojinn run: ${error.code}: ${error.message}\n${stats}\n`);
  }
}

function printJson(outcome: InvocationOutcome, io: CommandIo): void {
  const fuelUsed = Number(outcome.fuelUsed);
  const object = outcome.ok
    ? { ok: true, response: outcome.response, fuelUsed, durationMs: outcome.durationMs, seed: outcome.seed }
    : { ok: false, error: outcome.error, fuelUsed };
  io.stdout(`${JSON.stringify(object)}\n`);
}

function failUsage(error: ErrorInfo, json: boolean, io: CommandIo): number {
  if (json) io.stdout(`${JSON.stringify({ ok: false, error, fuelUsed: 0 })}\n`);
  else io.stderr(`gojinn run: ${error.message}\n`);
  return EXIT_USAGE;
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a module once, locally, in the sandbox',
  usage: USAGE,
  async run(args, io) {
    const json = args.includes('--json');
    let runPlan: RunPlan;
    try {
      runPlan = await plan(args, io);
    } catch (error) {
      if (error instanceof UsageError && !json) throw error;
      const message = error instanceof Error ? error.message : String(error);
      return failUsage({ code: 'bad_request', message }, json, io);
    }
    let bytes: Uint8Array;
    try {
      bytes = await readFile(resolve(io.cwd, runPlan.modulePath));
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      return failUsage(
        { code: 'bad_request', message: `cannot read module ${runPlan.modulePath}: ${reason}` },
        json,
        io,
      );
    }
    const sandbox = new Sandbox({ ceilings: RUN_CEILINGS, pool: { size: 1 } });
    let outcome: InvocationOutcome;
    try {
      const prepared = sandbox.prepare(bytes);
      outcome = await sandbox.invoke(prepared, runPlan.request, {
        limits: runPlan.limits,
        seed: runPlan.seed,
        granted: runPlan.granted,
      });
    } catch (error) {
      if (!(error instanceof GojinnError)) throw error;
      outcome = failedOutcome(toErrorInfo(error), runPlan.seed);
    } finally {
      await sandbox.close();
    }
    if (json) printJson(outcome, io);
    else printHuman(outcome, io);
    return outcome.ok ? EXIT_OK : EXIT_FAILED;
  },
};

function failedOutcome(error: ErrorInfo, seed: string): InvocationOutcome {
  return {
    ok: false,
    error,
    fuelUsed: 0n,
    durationMs: 0,
    seed,
    stderr: new Uint8Array(0),
    stderrTruncated: false,
    deterministic: true,
  };
}
