import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { TooLargeError, partialPathOf, safeFileName, saveStream } from '../src/nodes/inbox/download';

describe('inbox download', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inbox-download-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the file atomically and reports size and SHA-256', async () => {
    const data = Buffer.alloc(300_000, 7);
    const dest = path.join(dir, 'a.asic.zip');
    const saved = await saveStream(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), dest);
    assert.equal(saved.size, data.length);
    assert.equal(saved.sha256, createHash('sha256').update(data).digest('hex'));
    assert.deepEqual(fs.readdirSync(dir), ['a.asic.zip']);
    assert.ok(fs.readFileSync(dest).equals(data));
  });

  it('leaves nothing behind when the stream breaks off', async () => {
    const body = new PassThrough();
    const dest = path.join(dir, 'b.asic.zip');
    const saving = saveStream(body, dest);
    body.write(Buffer.alloc(1000));
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(fs.existsSync(partialPathOf(dest)), 'the partial file is hidden beside the destination');
    body.destroy(new Error('connection dropped'));
    await assert.rejects(saving, /connection dropped/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('leaves nothing behind when aborted, even before the file was opened', async () => {
    const body = new PassThrough();
    const controller = new AbortController();
    const saving = saveStream(body, path.join(dir, 'c.asic.zip'), { signal: controller.signal });
    controller.abort();
    await assert.rejects(saving);
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.ok(body.destroyed);
  });

  it('stops at maxBytes with TooLargeError', async () => {
    const body = Readable.from([Buffer.alloc(600), Buffer.alloc(600)]);
    await assert.rejects(saveStream(body, path.join(dir, 'd'), { maxBytes: 1000 }), TooLargeError);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('makes names that stay inside the folder', () => {
    assert.equal(safeFileName('5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13.asic.zip'), '5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13.asic.zip');
    assert.equal(safeFileName('../../etc/passwd'), '__.._etc_passwd');
    assert.equal(safeFileName(''), '_');
  });
});
