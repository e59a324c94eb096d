import type { Command } from '../command.ts';

/** Every subcommand, in the order `gojinn --help` lists them. */
export const COMMANDS: readonly Command[] = [];
