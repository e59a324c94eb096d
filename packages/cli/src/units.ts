import { UsageError } from './command.ts';

/**
 * The two unit-bearing flag formats of the CLI (docs/cli.md): SIZE for --memory, DURATION for
 * --timeout. Integers only, no spaces, case-sensitive suffixes — one spelling for each value —
 * and results within the exactly representable integers. Bad input is a UsageError (exit 2).
 */

const SIZE_PATTERN = /^(0|[1-9][0-9]*)(KiB|MiB|GiB)?$/;
const SIZE_UNITS: Readonly<Record<string, number>> = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
const DURATION_PATTERN = /^(0|[1-9][0-9]*)(ms|s)?$/;
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000 };

/** SIZE: a number of bytes, or a number followed by KiB, MiB or GiB (`64MiB` = 67108864). */
export function parseSize(text: string, flag?: string): number {
  return parseWithUnit(
    text,
    SIZE_PATTERN,
    SIZE_UNITS,
    flag,
    'a size: bytes, or a whole number followed by KiB, MiB or GiB',
  );
}

/** DURATION: milliseconds, or a number followed by ms or s (`5s` = 5000). */
export function parseDuration(text: string, flag?: string): number {
  return parseWithUnit(
    text,
    DURATION_PATTERN,
    DURATION_UNITS,
    flag,
    'a duration: milliseconds, or a whole number followed by ms or s',
  );
}

function parseWithUnit(
  text: string,
  pattern: RegExp,
  units: Readonly<Record<string, number>>,
  flag: string | undefined,
  expected: string,
): number {
  const prefix = flag === undefined ? '' : `${flag}: `;
  const match = pattern.exec(text);
  if (match === null) throw new UsageError(`${prefix}${JSON.stringify(text)} is not ${expected}`);
  const [, digits = '', unit] = match;
  const value = Number(digits) * (unit === undefined ? 1 : (units[unit] ?? 1));
  if (!Number.isSafeInteger(value) || digits.length > 16) {
    throw new UsageError(`${prefix}${JSON.stringify(text)} is too large (above ${Number.MAX_SAFE_INTEGER})`);
  }
  return value;
}
