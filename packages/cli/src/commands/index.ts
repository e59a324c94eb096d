import type { Command } from '../command.ts';
import { initCommand } from './init.ts';
import { runCommand } from './run.ts';
import { keygenCommand } from './keygen.ts';
import { signCommand } from './sign.ts';
import { verifyCommand } from './verify.ts';
import { modulesCommand } from './modules.ts';
import { revokeCommand } from './revoke.ts';
import { secretsCommand } from './secrets.ts';
import { auditCommand } from './audit.ts';
import { daemonCommand } from './daemon.ts';

/** Every subcommand, in the order `gojinn --help` lists them. */
export const COMMANDS: readonly Command[] = [
  initCommand,
  daemonCommand,
  runCommand,
  keygenCommand,
  signCommand,
  verifyCommand,
  modulesCommand,
  revokeCommand,
  secretsCommand,
  auditCommand,
];
