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
import { statusCommand } from './status.ts';
import { peersCommand } from './peers.ts';
import { publishCommand } from './publish.ts';
import { invokeCommand } from './invoke.ts';
import { policyCommand } from './policy.ts';
import { keysCommand } from './keys.ts';

/** Every subcommand, in the order `gojinn --help` lists them. */
export const COMMANDS: readonly Command[] = [
  initCommand,
  daemonCommand,
  statusCommand,
  peersCommand,
  runCommand,
  keygenCommand,
  signCommand,
  verifyCommand,
  modulesCommand,
  publishCommand,
  invokeCommand,
  revokeCommand,
  secretsCommand,
  auditCommand,
  policyCommand,
  keysCommand,
];
