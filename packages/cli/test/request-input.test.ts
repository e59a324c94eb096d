/** `--input` is bounded before parsing: MAX_INPUT_BYTES accepted, one byte more refused. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError, type CommandIo } from '../src/command.ts';
import { MAX_INPUT_BYTES, parseRequestInput } from '../src/request-input.ts';

/** A request object of exactly `size` bytes of JSON. */
function requestOfSize(size: number): string {
  const frame = '{"body":""}';
  return `{"body":"${'a'.repeat(size - frame.length)}"}`;
}

void test('an --input file of exactly MAX_INPUT_BYTES is read; one byte more is a usage error naming the limit', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-input-'));
  const io: CommandIo = {
    stdout: () => undefined,
    stderr: () => undefined,
    readStdin: () => Promise.resolve(Buffer.alloc(0)),
    env: {},
    cwd: dir,
  };
  try {
    await writeFile(join(dir, 'at.json'), requestOfSize(MAX_INPUT_BYTES));
    const request = await parseRequestInput('@at.json', io);
    assert.equal(request.body?.length, MAX_INPUT_BYTES - '{"body":""}'.length);
    await writeFile(join(dir, 'over.json'), requestOfSize(MAX_INPUT_BYTES + 1));
    await assert.rejects(
      parseRequestInput('@over.json', io),
      (error: unknown) => error instanceof UsageError && /MAX_INPUT_BYTES/.test(error.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
