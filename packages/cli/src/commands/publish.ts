import { resolve } from 'node:path';
import { GojinnError } from '@gojinn/errors';
import { UsageError, type Command, type CommandIo } from '../command.ts';
import { ADMIN_OPTIONS_USAGE } from '../admin-client.ts';
import { runAdminCommand } from '../admin-command.ts';
import { defaultManifestPath, readBoundedFile } from '../module-files.ts';

/** Largest module file read for upload; the node refuses anything over its own maxModuleBytes. */
export const MAX_PUBLISH_FILE_BYTES = 256 * 1024 * 1024;
/** Largest manifest file read (the store's maxManifestBytes default). */
export const MAX_MANIFEST_FILE_BYTES = 64 * 1024;
/** Uploads at least this large show progress on a terminal (or with --progress). */
export const PROGRESS_MIN_BYTES = 1024 * 1024;

const USAGE = `Usage: gojinn publish <module.wasm> [--manifest FILE] [--progress] [--data DIR] [--admin-url URL] [--json]

Uploads a module and its signed manifest to a running node (admin API), which verifies and
installs it exactly as any module (signature, trusted publisher, revocation, rollback rule,
declared capabilities) and announces it to the mesh. Prints what was installed and how many
peers the announcement reached.

Options:
  --manifest FILE   the signed manifest (default: <module>.manifest.json next to the module,
                    as gojinn sign writes it)
  --progress        show upload progress on stderr even when it is not a terminal (it is shown
                    on a terminal for uploads of 1 MiB or more)
${ADMIN_OPTIONS_USAGE}

Exit status: 0 installed (or already installed), 1 refused (the error code says why:
signature_invalid, untrusted_publisher, revoked, rollback, invalid_module, ...), 2 bad usage.
`;

/** Reports upload progress on stderr: redrawn in place on a terminal, in 25% steps otherwise. */
function progressReporter(
  io: CommandIo,
  always: boolean,
): ((sent: number, total: number) => void) | undefined {
  const tty = io.stderrIsTTY === true;
  if (!tty && !always) return undefined;
  let lastStep = -1;
  return (sent, total) => {
    if (total < PROGRESS_MIN_BYTES && !always) return;
    const percent = Math.floor((sent / total) * 100);
    const mib = (n: number): string => (n / (1024 * 1024)).toFixed(1);
    const text = `publish: uploaded ${mib(sent)} of ${mib(total)} MiB (${percent}%)`;
    if (tty) {
      io.stderr(`\r${text}${sent === total ? '\n' : ''}`);
    } else if (Math.floor(percent / 25) > lastStep) {
      lastStep = Math.floor(percent / 25);
      io.stderr(`${text}\n`);
    }
  };
}

export const publishCommand: Command = {
  name: 'publish',
  summary: 'Upload a signed module to a running node, which installs and announces it',
  usage: USAGE,
  run: (args, io) =>
    runAdminCommand(
      'publish',
      args,
      io,
      { manifest: { type: 'string' }, progress: { type: 'boolean' } },
      true,
      async (client, { values, positionals }) => {
        const [modulePath, ...extra] = positionals;
        if (modulePath === undefined || extra.length > 0)
          throw new UsageError('publish takes exactly one module file');
        if (values.manifest === '') throw new UsageError('--manifest needs a file');
        const moduleFile = resolve(io.cwd, modulePath);
        const manifestFile =
          values.manifest === undefined ? defaultManifestPath(moduleFile) : resolve(io.cwd, values.manifest);
        const moduleBytes = await readBoundedFile(moduleFile, 'module', MAX_PUBLISH_FILE_BYTES);
        const manifestBytes = await readBoundedFile(
          manifestFile,
          'manifest',
          MAX_MANIFEST_FILE_BYTES,
          'signature_invalid',
        );
        const onProgress = progressReporter(io, values.progress === true);
        const answer = await client.call(
          'POST',
          '/v1/modules',
          {
            module: Buffer.from(moduleBytes).toString('base64'),
            manifest: Buffer.from(manifestBytes).toString('base64'),
          },
          onProgress === undefined ? {} : { onProgress },
        );
        const module = answer.module as { name: string; version: string; hash: string; active: boolean };
        const announced = answer.announced as
          { ok: true; recipients: number } | { ok: false; error: { code: string; message: string } } | null;
        if (module === undefined)
          throw new GojinnError('internal', 'admin API answered a publish without the module');
        const what = `${module.name}@${module.version} (sha256 ${module.hash})`;
        const announcement =
          announced === null
            ? 'not announced (this node runs no mesh)'
            : announced.ok
              ? `announced to ${announced.recipients} peer(s)`
              : `NOT announced: ${announced.error.code}: ${announced.error.message}`;
        const human =
          `${answer.installed === true ? 'installed' : 'already installed'} ${what}` +
          `${module.active ? ', active' : ''}\n${announcement}\n`;
        const { ok: _ok, ...json } = answer;
        return { json, human };
      },
    ),
};
