/**
 * The daemon as `npm start` and operators run it — `packages/cli/bin/gojinn`, from the bundle in
 * dist/ — serving the `notes` example with `db.query`: the node says nothing about running from
 * the sources, notes are written and read back over HTTP, and the SQLite executor process the
 * capability forks is the bundled `dist/db-executor.mjs` (not the TypeScript sources). Every wait
 * is bounded; the daemon is killed in `after` whatever happened.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareDevNode } from '@gojinn/daemon';
import { ROOT, eventually, http, killAll, startDaemon, stopProcess } from './support-mesh-daemons.ts';

const NOTES = join(ROOT, 'examples/notes/build/notes.wasm');

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gojinn-e2e-bundle-db-'));
});
after(async () => {
  await killAll();
  await rm(root, { recursive: true, force: true });
});

/** The processes whose parent is `pid`, with their command lines (Linux /proc). */
async function childrenOf(pid: number): Promise<{ pid: number; commandLine: string }[]> {
  const children: { pid: number; commandLine: string }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      const commandLine = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ');
      children.push({ pid: Number(entry), commandLine });
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

void test('the bundled daemon serves notes through db.query with the bundled executor process', async () => {
  const dataDir = join(root, 'node');
  await prepareDevNode({
    dataDir,
    modules: [{ name: 'notes', wasmPath: NOTES, capabilities: { 'db.query': {} } }],
    gateway: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    mesh: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  });
  const daemon = await startDaemon(dataDir);
  assert.doesNotMatch(daemon.stderr(), /running from the sources/);

  const posted = await http(`${daemon.gateway}/fn/notes`, { method: 'POST', body: '{"body":"bundled"}' });
  assert.equal(posted.status, 201, posted.body);
  const listed = await http(`${daemon.gateway}/fn/notes`);
  assert.equal(listed.status, 200, listed.body);
  assert.deepEqual(JSON.parse(listed.body), { notes: [{ id: 1, body: 'bundled' }] });

  // The executor is the daemon's child, or its grandchild if bin/gojinn runs node as a child.
  const pid = daemon.child.pid as number;
  const executor = await eventually('the db executor process', async () => {
    const children = await childrenOf(pid);
    for (const parent of [pid, ...children.map((child) => child.pid)]) {
      const found = (await childrenOf(parent)).find((child) =>
        /db-executor|executor-process/.test(child.commandLine),
      );
      if (found !== undefined) return found.commandLine;
    }
    return undefined;
  });
  assert.match(executor, /dist\/db-executor\.mjs/);
  assert.doesNotMatch(executor, /executor-process\.ts/);

  await stopProcess(daemon.child, 'SIGTERM');
  assert.equal(daemon.child.exitCode, 0, daemon.stderr());
});
