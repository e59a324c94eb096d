import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { GuestRequest } from '@gojinn/sandbox';
import { UsageError, type CommandIo } from './command.ts';

/** Largest request `--input` accepts, before parsing (the sandbox bounds stdin again). */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

const STRING_FIELDS = ['method', 'uri', 'body', 'trace_id'] as const;

/**
 * Reads `--input` (inline JSON, `@file` or `-` for stdin) into a partial request: any of
 * method, uri, headers, body, trace_id; the rest take the defaults of an empty GET. Anything
 * else — an unknown field, a wrong type, not an object — is a usage error naming the field.
 */
export async function parseRequestInput(
  input: string | undefined,
  io: CommandIo,
): Promise<Partial<GuestRequest>> {
  if (input === undefined) return {};
  const text = await readInputText(input, io);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--input is not valid JSON: ${(error as Error).message}`);
  }
  return toPartialRequest(value);
}

async function readInputText(input: string, io: CommandIo): Promise<string> {
  let bytes: Buffer;
  if (input === '-') {
    bytes = await io.readStdin();
  } else if (input.startsWith('@')) {
    try {
      bytes = await readFile(resolve(io.cwd, input.slice(1)));
    } catch (error) {
      throw new UsageError(
        `cannot read --input file ${input.slice(1)}: ${(error as NodeJS.ErrnoException).code}`,
      );
    }
  } else {
    bytes = Buffer.from(input, 'utf8');
  }
  if (bytes.length > MAX_INPUT_BYTES) {
    throw new UsageError(`--input is ${bytes.length} bytes; limit MAX_INPUT_BYTES is ${MAX_INPUT_BYTES}`);
  }
  return bytes.toString('utf8');
}

export function toPartialRequest(value: unknown): Partial<GuestRequest> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError('--input must be a JSON object with any of method, uri, headers, body, trace_id');
  }
  const request: Partial<GuestRequest> = {};
  for (const [key, field] of Object.entries(value)) {
    if ((STRING_FIELDS as readonly string[]).includes(key)) {
      if (typeof field !== 'string') throw new UsageError(`--input field '${key}' must be a string`);
      request[key as (typeof STRING_FIELDS)[number]] = field;
    } else if (key === 'headers') {
      request.headers = toHeaders(field);
    } else {
      throw new UsageError(`--input has unknown field '${key}'`);
    }
  }
  return request;
}

function toHeaders(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError("--input field 'headers' must be an object of strings");
  }
  const headers: Record<string, string> = {};
  for (const [name, headerValue] of Object.entries(value)) {
    if (typeof headerValue !== 'string') throw new UsageError(`--input header '${name}' must be a string`);
    headers[name.toLowerCase()] = headerValue;
  }
  return headers;
}
