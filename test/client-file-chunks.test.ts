import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import busboy from 'busboy';
import { IntegrasjonspunktClient } from '../src/client';
import { fileChunks } from '../src/client/file-chunks';
import { sbdOf } from './support/ip';

const MiB = 1024 * 1024;

/** A file of `bytes` random bytes (not a multiple of 1 MiB, so the last chunk is short); returns its SHA-256. */
function writeRandomFile(file: string, bytes: number): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'w');
  for (let left = bytes; left > 0; ) {
    const block = randomBytes(Math.min(left, 3 * MiB + 17));
    hash.update(block);
    fs.writeSync(fd, block);
    left -= block.length;
  }
  fs.closeSync(fd);
  return hash.digest('hex');
}

/** Pauses `req` now and then, as a slow server would. */
function readUnevenly(req: http.IncomingMessage): void {
  req.on('data', () => {
    if (Math.random() < 0.3) {
      req.pause();
      setTimeout(() => req.resume(), Math.floor(Math.random() * 15));
    }
  });
}

/** The multipart endpoint: each file part's SHA-256 goes to `received`; the answer is the sbd part, as the IP's. */
function receiveMultipart(req: http.IncomingMessage, res: http.ServerResponse, received: Array<{ sha256: string; bytes: number }>): void {
  let sbd = '';
  const bb = busboy({ headers: req.headers });
  bb.on('field', (name, value) => (sbd = name === 'sbd' ? value : sbd));
  bb.on('file', (_name, stream) => {
    const hash = createHash('sha256');
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    stream.on('end', () => received.push({ sha256: hash.digest('hex'), bytes }));
  });
  bb.on('close', () => res.writeHead(200, { 'content-type': 'application/json' }).end(sbd));
  readUnevenly(req);
  req.pipe(bb);
}

/**
 * An upload endpoint that reads slowly and unevenly: it pauses the request at random for up to 15 ms, so the
 * client's socket fills, its writes are queued and it must wait for 'drain' before reusing a buffer.
 */
async function startPausingServer(): Promise<{ url: string; received: Array<{ sha256: string; bytes: number }>; close(): Promise<void> }> {
  const received: Array<{ sha256: string; bytes: number }> = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/api/messages/out/multipart') return receiveMultipart(req, res, received);
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    readUnevenly(req);
    req.on('end', () => {
      received.push({ sha256: hash.digest('hex'), bytes });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('uploading a file from disk in reused buffers', function () {
  this.timeout(120_000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'file-chunks-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a file as 1 MiB chunks with a short last one, and nothing for an empty file', async () => {
    const file = path.join(dir, 'chunks.bin');
    const expected = writeRandomFile(file, 2 * MiB + 5);
    const sizes: number[] = [];
    const hash = createHash('sha256');
    for await (const chunk of fileChunks(file)) {
      sizes.push(chunk.length);
      hash.update(chunk);
    }
    assert.deepEqual(sizes, [MiB, MiB, 5]);
    assert.equal(hash.digest('hex'), expected);

    const empty = path.join(dir, 'empty.bin');
    fs.writeFileSync(empty, '');
    const chunks: Buffer[] = [];
    for await (const chunk of fileChunks(empty)) chunks.push(chunk);
    assert.deepEqual(chunks, []);
  });

  it('fails with the file system error for a file that is gone', async () => {
    await assert.rejects(async () => {
      for await (const chunk of fileChunks(path.join(dir, 'missing.bin'))) assert.fail(`read ${chunk.length} bytes`);
    }, { code: 'ENOENT' });
  });

  it('delivers every byte unchanged to a server that reads with random pauses', async () => {
    const server = await startPausingServer();
    const client = new IntegrasjonspunktClient({ url: server.url, timeoutMs: 60_000 });
    try {
      const file = path.join(dir, 'Byggesak tegninger.pdf');
      const size = 48 * MiB + 12_345;
      const expected = writeRandomFile(file, size);
      // Three uploads at once, so several sockets and reads take turns on the event loop.
      const messageIds = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333'];
      let progressBytes = 0;
      await Promise.all(
        messageIds.map((id, i) => client.uploadFile(id, { path: file }, i === 0 ? (sent) => (progressBytes = sent) : undefined)),
      );
      assert.equal(server.received.length, 3);
      for (const upload of server.received) assert.deepEqual(upload, { sha256: expected, bytes: size });
      assert.equal(progressBytes, size, 'progress reached the file size');
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('delivers every file of a multipart send unchanged to a server that reads with random pauses', async () => {
    const server = await startPausingServer();
    const client = new IntegrasjonspunktClient({ url: server.url, timeoutMs: 60_000 });
    try {
      const files = Array.from({ length: 6 }, (_, i) => {
        const file = path.join(dir, `vedlegg-${i}.pdf`);
        const bytes = 4 * MiB + i * 1_001;
        return { file, bytes, sha256: writeRandomFile(file, bytes) };
      });
      const sbd = sbdOf({ body: { identifier: 'pauses', content: { hello: 'world' } } });
      await client.sendMultipart(sbd, [...files.map((f) => ({ path: f.file })), { filename: 'notat.txt', content: 'notat' }]);
      assert.deepEqual(server.received, [
        ...files.map((f) => ({ sha256: f.sha256, bytes: f.bytes })),
        { sha256: createHash('sha256').update('notat').digest('hex'), bytes: 5 },
      ]);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
