/**
 * The launcher (bin/launch.mjs) runs the bundle only when every file it was built from is
 * unchanged: an edited source, an upgraded dependency, a changed build script or a replaced
 * bundle must send it back to the sources.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_FILES, bundleIsFresh, recordBundleInputs } from '../bin/launch.mjs';

function project(): {
  root: string;
  files: ReturnType<typeof BUNDLE_FILES>;
  source: string;
  dependency: string;
} {
  const root = mkdtempSync(join(tmpdir(), 'gojinn-launch-'));
  const files = BUNDLE_FILES(root);
  mkdirSync(join(root, 'dist'));
  mkdirSync(join(root, 'scripts'));
  mkdirSync(join(root, 'src'));
  mkdirSync(join(root, 'node_modules'));
  const source = join(root, 'src/main.ts');
  const dependency = join(root, 'node_modules/dep.js');
  writeFileSync(source, 'export const a = 1;\n');
  writeFileSync(dependency, 'module.exports = 1;\n');
  writeFileSync(files.builder, '// build\n');
  writeFileSync(files.bundle, 'export const a = 1;\n');
  recordBundleInputs(files, [source, dependency]);
  return { root, files, source, dependency };
}

void test('a bundle whose inputs are unchanged is fresh', (t) => {
  const { root, files } = project();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.equal(bundleIsFresh(files), true);
});

void test('any change to an input, the build script or the bundle makes it stale', (t) => {
  for (const change of ['source', 'dependency', 'builder', 'bundle', 'delete'] as const) {
    const { root, files, source, dependency } = project();
    t.after(() => rmSync(root, { recursive: true, force: true }));
    // Same size, later modification time (set explicitly: file times tick coarsely).
    if (change === 'source') {
      writeFileSync(source, 'export const a = 2;\n');
      utimesSync(source, new Date(), new Date(Date.now() + 5_000));
    }
    if (change === 'dependency') writeFileSync(dependency, 'module.exports = 22;\n');
    if (change === 'builder') utimesSync(files.builder, new Date(), new Date(Date.now() + 5_000));
    if (change === 'bundle') writeFileSync(files.bundle, 'export const a = 333;\n');
    if (change === 'delete') rmSync(source);
    assert.equal(bundleIsFresh(files), false, change);
  }
});

void test('no record, a malformed record or one that does not name the bundle is stale', (t) => {
  const { root, files } = project();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(files.inputs, '{not json');
  assert.equal(bundleIsFresh(files), false);
  writeFileSync(files.inputs, JSON.stringify({ path: files.bundle }));
  assert.equal(bundleIsFresh(files), false);
  writeFileSync(files.inputs, JSON.stringify([]));
  assert.equal(bundleIsFresh(files), false);
  rmSync(files.inputs);
  assert.equal(bundleIsFresh(files), false);
});
