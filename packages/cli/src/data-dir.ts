import { resolve } from 'node:path';
import type { CommandIo } from './command.ts';

/** The node's data directory when neither --data nor $GOJINN_DATA names one (relative to the working directory). */
export const DEFAULT_DATA_DIR = '.data/node';

/** --data, else $GOJINN_DATA, else ./.data/node; relative paths are taken from the working directory. */
export function dataDirectory(flag: string | undefined, io: CommandIo): string {
  const chosen = flag ?? (io.env.GOJINN_DATA === '' ? undefined : io.env.GOJINN_DATA) ?? DEFAULT_DATA_DIR;
  return resolve(io.cwd, chosen);
}
