// The download path for large messages: getInto (a plain HTTP/1.1 GET read through one reused buffer, see
// src/client/http-get.ts), FileSink (a ring of buffers written to disk at explicit offsets) and
// IntegrasjonspunktClient.popToPath built on them. Real local servers: node:http, raw node:net servers for odd or
// malformed answers, node:https with a self-signed certificate made with openssl at test time, and the simulator.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { IntegrasjonspunktClient, IntegrasjonspunktError, SaveFileError, TooLargeError } from '../src/client';
import { FileSink } from '../src/client/file-sink';
import { ConnectionPool, HttpGetError, getInto, type BodySink, type GetHead, type GetRequest } from '../src/client/http-get';
import { startSimulator } from '../src/simulator';
import { SENDER, idOf, receiptSbd, sbdOf, sha256, waitFor, zipDigests } from './support/ip';

type RunningSimulator = Awaited<ReturnType<typeof startSimulator>>;

const MiB = 1024 * 1024;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));


// ---------------------------------------------------------------- servers

interface Served {
  url: string;
  port: number;
  /** The request heads received, as text. */
  requests: string[];
  /** Connections accepted. */
  connections: number;
  /** Connections open now. */
  open: number;
  /** Closes the open connections (as a server's keep-alive timeout does). */
  closeConnections(): Promise<void>;
  /** Calls `listener` when a connection closes. */
  onClose(listener: () => void): void;
  close(): Promise<void>;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** Keeps track of the server's sockets so close() does not wait for a connection a test left open. */
function served(server: net.Server, port: number, scheme: string, requests: string[], counter: { connections: number }): Served {
  const sockets = new Set<net.Socket>();
  const closeListeners: Array<() => void> = [];
  server.on('connection', (socket: net.Socket) => {
    counter.connections++;
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      for (const listener of closeListeners.splice(0)) listener();
    });
  });
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    requests,
    get connections() {
      return counter.connections;
    },
    get open() {
      return sockets.size;
    },
    closeConnections: async () => {
      const closing = [...sockets].map((socket) => once(socket, 'close'));
      for (const socket of sockets) socket.end();
      await Promise.all(closing);
    },
    onClose: (listener) => closeListeners.push(listener),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A raw TCP server: once a request head has arrived, `answer` writes whatever bytes it likes to the socket.
 * Nothing is answered for a head that never completes.
 */
async function rawServer(answer: (socket: net.Socket, head: string) => unknown): Promise<Served> {
  const requests: string[] = [];
  const counter = { connections: 0 };
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    let received = Buffer.alloc(0);
    const onData = (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const head = received.toString('latin1', 0, end);
      requests.push(head);
      Promise.resolve(answer(socket, head)).catch(() => socket.destroy());
    };
    socket.on('data', onData);
  });
  const port = await listen(server);
  return served(server, port, 'http', requests, counter);
}

async function httpServer(handler: http.RequestListener, tls?: { key: Buffer; cert: Buffer }): Promise<Served> {
  const requests: string[] = [];
  const counter = { connections: 0 };
  const wrapped: http.RequestListener = (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  };
  const server = tls ? https.createServer(tls, wrapped) : http.createServer(wrapped);
  server.on('tlsClientError', () => undefined);
  const port = await listen(server);
  return served(server, port, tls ? 'https' : 'http', requests, counter);
}

/** Writes `data` in pieces of random size up to `maxPiece`, yielding to the event loop now and then. */
async function writeInPieces(socket: net.Socket, data: Buffer, maxPiece: number, yieldEvery = 16): Promise<void> {
  for (let at = 0, n = 0; at < data.length; n++) {
    if (socket.destroyed) return;
    const piece = Math.min(data.length - at, 1 + Math.floor(Math.random() * maxPiece));
    const more = socket.write(data.subarray(at, at + piece));
    at += piece;
    if (!more) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
    else if (n % yieldEvery === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * `data` in chunked encoding: chunks of random size (up to `maxChunk`), sizes in lower- or upper-case hex, some with
 * leading zeros and some with chunk extensions (`;ext=1`), then the last chunk and two trailers.
 */
function chunkedEncode(data: Buffer, maxChunk: number): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  for (let at = 0; at < data.length; i++) {
    const n = Math.min(data.length - at, 1 + Math.floor(Math.random() * maxChunk));
    let size = n.toString(16);
    if (i % 2) size = size.toUpperCase();
    if (i % 5 === 0) size = `00${size}`;
    const ext = i % 3 === 0 ? ';ext=1' : i % 7 === 0 ? ' ; name="quoted value"' : '';
    parts.push(Buffer.from(`${size}${ext}\r\n`, 'latin1'), data.subarray(at, at + n), Buffer.from('\r\n'));
    at += n;
  }
  parts.push(Buffer.from('0;last=yes\r\nX-Checksum: abc\r\nX-Trailer-Two: 2\r\n\r\n'));
  return Buffer.concat(parts);
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// ---------------------------------------------------------------- sinks and requests

/** Hashes what it is given; keeps a copy when `keep` (small bodies). */
class Collector implements BodySink {
  readonly hash = createHash('sha256');
  size = 0;
  writes = 0;
  readonly parts: Buffer[] = [];
  constructor(private readonly keep = false) {}
  write(buffer: Buffer, start: number, end: number): boolean {
    this.hash.update(buffer.subarray(start, end));
    if (this.keep) this.parts.push(Buffer.from(buffer.subarray(start, end)));
    this.size += end - start;
    this.writes++;
    return true;
  }
  text(): string {
    return Buffer.concat(this.parts).toString('latin1');
  }
}

/**
 * Asks to pause when `pauseFor(writeNumber)` gives a delay, and calls resume after it. Counts writes that arrive
 * while paused, from the event-loop turn after the one that asked to pause until resume: the download did not wait.
 * (Over TLS, the rest of what was decrypted from the same TCP read still arrives in that turn, in further reads.)
 */
class PausingSink implements BodySink {
  readonly hash = createHash('sha256');
  size = 0;
  pauses = 0;
  writesWhilePaused = 0;
  private writes = 0;
  private asked = false;
  private paused = false;
  constructor(
    private readonly resume: () => void,
    private readonly pauseFor: (writeNumber: number) => number | undefined,
  ) {}
  write(buffer: Buffer, start: number, end: number): boolean {
    if (this.paused) this.writesWhilePaused++;
    this.hash.update(buffer.subarray(start, end));
    this.size += end - start;
    // More writes from the same read (over TLS, the same turn) may follow a false: they are taken, and the answer stays false.
    if (this.asked) return false;
    const delay = this.pauseFor(this.writes++);
    if (delay === undefined) return true;
    this.asked = true;
    this.pauses++;
    // Runs once the event-loop turn that brought this write is over (before any timer).
    setImmediate(() => (this.paused = true));
    setTimeout(() => {
      this.asked = false;
      this.paused = false;
      this.resume();
    }, delay);
    return false;
  }
}

function requestFor(url: string, extra: Partial<GetRequest> = {}): GetRequest {
  return { url: new URL(url), headers: {}, connectTimeoutMs: 5_000, timeoutMs: 5_000, ...extra };
}

/** GETs `url` into a Collector; the head and the collector. */
async function fetchInto(url: string, extra: Partial<GetRequest> = {}, keep = false): Promise<{ head: GetHead; body: Collector; heads: number }> {
  const body = new Collector(keep);
  let heads = 0;
  const { head } = await getInto(requestFor(url, extra), () => {
    heads++;
    return body;
  });
  return { head, body, heads };
}

/** The rejection of `promise` (fails the test when it resolves). */
async function failureOf(promise: Promise<unknown>): Promise<Error & { code?: string; requestSent?: boolean }> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the download to fail');
}

/** The rejection of a GET into a Collector, with how long it took. */
async function getFailure(url: string, extra: Partial<GetRequest> = {}): Promise<{ error: Error & { code?: string; requestSent?: boolean }; ms: number }> {
  const started = Date.now();
  const error = await failureOf(fetchInto(url, extra));
  return { error, ms: Date.now() - started };
}


// ---------------------------------------------------------------- tests

describe('downloads through one reused buffer (getInto, FileSink, popToPath)', function () {
  this.timeout(20_000);
  let dir: string;
  let certs: { key: Buffer; cert: Buffer } | undefined;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'http-get-test-'));
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', 'key.pem', '-out', 'cert.pem'],
        { cwd: dir, stdio: 'pipe' },
      );
      certs = { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
    } catch {
      console.log('      openssl is not available: the TLS tests are skipped');
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('getInto: framing the body', () => {
    it('sends a GET with Host, Connection: close and the given headers, and passes a Content-Length body on exactly', async () => {
      const data = randomBytes(5 * MiB + 123);
      const server = await rawServer(async (socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: ${data.length}\r\n\r\n`);
        await writeInPieces(socket, data, 300_000);
        // Bytes past the announced length are not part of the body.
        socket.write('GARBAGE');
      });
      try {
        const { head, body, heads } = await fetchInto(`${server.url}/api/messages/in/pop/abc?x=1&y=%20z`, { headers: { accept: '*/*', 'user-agent': 'test-agent/1' } });
        assert.equal(head.status, 200);
        assert.equal(head.headers['content-type'], 'application/zip');
        assert.equal(heads, 1);
        assert.equal(body.size, data.length);
        assert.equal(body.hash.digest('hex'), sha256(data));
        const lines = server.requests[0].split('\r\n');
        assert.equal(lines[0], 'GET /api/messages/in/pop/abc?x=1&y=%20z HTTP/1.1');
        assert.ok(lines.includes(`host: 127.0.0.1:${server.port}`), server.requests[0]);
        assert.ok(lines.includes('connection: close'), server.requests[0]);
        assert.ok(lines.includes('accept: */*') && lines.includes('user-agent: test-agent/1'), server.requests[0]);
      } finally {
        await server.close();
      }
    });

    it('decodes a 20 MiB chunked body written in small pieces, with chunk extensions and trailers', async () => {
      const data = randomBytes(20 * MiB + 7);
      const encoded = chunkedEncode(data, 100_000);
      const server = await rawServer(async (socket) => {
        socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
        // Pieces of up to 4 KiB: chunk-size lines, their CRLFs and the trailers land on every side of a read.
        await writeInPieces(socket, encoded, 4096, 64);
      });
      try {
        const { head, body } = await fetchInto(server.url);
        assert.equal(head.status, 200);
        assert.equal(body.size, data.length);
        assert.equal(body.hash.digest('hex'), sha256(data));
      } finally {
        await server.close();
      }
    });

    it('decodes chunked encoding arriving one byte per read, and finishes without waiting for the close', async () => {
      const body = 'Hei verden! '.repeat(20);
      const encoded = Buffer.concat([chunkedEncode(Buffer.from(body), 40), Buffer.from('')]);
      const server = await rawServer(async (socket) => {
        socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
        for (let i = 0; i < encoded.length && !socket.destroyed; i++) {
          socket.write(encoded.subarray(i, i + 1));
          await sleep(0);
        }
        // The connection stays open: the end of the body is known from the last chunk.
      });
      try {
        const { body: got } = await fetchInto(server.url, { timeoutMs: 2_000 }, true);
        assert.equal(got.text(), body);
        assert.ok(got.writes > 20, `the body came in ${got.writes} pieces`);
      } finally {
        await server.close();
      }
    });

    it('takes a body without length or chunking as ending with the connection', async () => {
      const data = randomBytes(3 * MiB + 1);
      const server = await rawServer(async (socket) => {
        socket.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
        await writeInPieces(socket, data, 200_000);
        socket.end();
      });
      try {
        const { head, body } = await fetchInto(server.url);
        assert.equal(head.status, 200);
        assert.equal(body.size, data.length);
        assert.equal(body.hash.digest('hex'), sha256(data));
      } finally {
        await server.close();
      }
    });

    it('passes a body from node:http (Content-Length and chunked) on exactly', async () => {
      const data = randomBytes(4 * MiB + 99);
      const server = await httpServer((req, res) => {
        if (req.url === '/length') return res.writeHead(200, { 'content-length': data.length }).end(data);
        res.writeHead(200);
        for (let at = 0; at < data.length; at += 65_537) res.write(data.subarray(at, at + 65_537));
        res.end();
      });
      try {
        for (const route of ['/length', '/chunked']) {
          const { body } = await fetchInto(server.url + route);
          assert.equal(body.hash.digest('hex'), sha256(data), route);
        }
      } finally {
        await server.close();
      }
    });

    it('keeps three downloads running at once apart, twice over', async () => {
      const bodies = [randomBytes(3 * MiB + 1), randomBytes(2 * MiB + 2), randomBytes(4 * MiB + 3)];
      const server = await rawServer(async (socket, head) => {
        const data = bodies[Number(head.split(' ')[1].slice(1))];
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`);
        await writeInPieces(socket, data, 100_000, 4);
      });
      try {
        for (let round = 0; round < 2; round++) {
          const results = await Promise.all(bodies.map((_, i) => fetchInto(`${server.url}/${i}`)));
          results.forEach(({ body }, i) => assert.equal(body.hash.digest('hex'), sha256(bodies[i]), `download ${i}, round ${round}`));
        }
      } finally {
        await server.close();
      }
    });
  });

  describe('getInto: pausing', () => {
    it('keeps every byte when the sink pauses at random, and reads nothing while paused', async () => {
      const data = randomBytes(16 * MiB + 5);
      const encoded = chunkedEncode(data, 300_000);
      const server = await rawServer(async (socket, head) => {
        if (head.startsWith('GET /chunked')) {
          socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
          await writeInPieces(socket, encoded, 200_000);
        } else {
          socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`);
          await writeInPieces(socket, data, 200_000);
        }
      });
      try {
        for (const route of ['/length', '/chunked']) {
          let sink: PausingSink | undefined;
          await getInto(requestFor(server.url + route), (_head, resume) => {
            sink = new PausingSink(resume, () => (Math.random() < 0.3 ? 1 + Math.floor(Math.random() * 8) : undefined));
            return sink;
          });
          assert.ok(sink);
          assert.ok(sink.pauses > 5, `${route}: paused ${sink.pauses} times`);
          assert.equal(sink.writesWhilePaused, 0, `${route}: data arrived while paused`);
          assert.equal(sink.size, data.length, route);
          assert.equal(sink.hash.digest('hex'), sha256(data), route);
        }
      } finally {
        await server.close();
      }
    });

    it('does not time out while the sink keeps it paused longer than timeoutMs', async () => {
      const data = randomBytes(4 * MiB);
      const server = await httpServer((_req, res) => res.writeHead(200, { 'content-length': data.length }).end(data));
      try {
        let sink: PausingSink | undefined;
        const started = Date.now();
        // Three pauses of 400 ms with a 150 ms timeout.
        await getInto(requestFor(server.url, { timeoutMs: 150 }), (_head, resume) => {
          sink = new PausingSink(resume, (n) => (n === 0 || n === 3 || n === 6 ? 400 : undefined));
          return sink;
        });
        assert.ok(sink);
        assert.equal(sink.pauses, 3);
        assert.ok(Date.now() - started >= 1_100, 'the pauses were waited for');
        assert.equal(sink.hash.digest('hex'), sha256(data));
      } finally {
        await server.close();
      }
    });
  });

  describe('getInto: heads', () => {
    it('finishes a 204 and a 304 without a body and without waiting for the close', async () => {
      const server = await rawServer((socket, head) => {
        // The connection stays open, and bytes after the head are not a body.
        if (head.startsWith('GET /204')) socket.write('HTTP/1.1 204 No Content\r\nX-Id: 1\r\n\r\n');
        else socket.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n');
      });
      try {
        for (const [route, status] of [
          ['/204', 204],
          ['/304', 304],
        ] as const) {
          const started = Date.now();
          const { head, body } = await fetchInto(server.url + route, { timeoutMs: 3_000 });
          assert.equal(head.status, status);
          assert.equal(body.writes, 0, `${route}: no body`);
          assert.ok(Date.now() - started < 1_500, `${route} took ${Date.now() - started} ms`);
        }
      } finally {
        await server.close();
      }
    });

    it('skips 100 Continue and 103 Early Hints heads, in their own reads or in one with the answer', async () => {
      const server = await rawServer(async (socket, head) => {
        const final = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';
        if (head.startsWith('GET /apart')) {
          socket.write('HTTP/1.1 100 Continue\r\n\r\n');
          await sleep(30);
          socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
          await sleep(30);
          socket.write(final);
        } else {
          socket.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n${final}`);
        }
      });
      try {
        for (const route of ['/apart', '/together']) {
          const { head, body, heads } = await fetchInto(server.url + route, {}, true);
          assert.equal(head.status, 200, route);
          assert.equal(heads, 1, `${route}: onHead is called for the final answer only`);
          assert.equal(head.headers.link, undefined, `${route}: headers of an interim answer are not kept`);
          assert.equal(body.text(), 'hello', route);
        }
      } finally {
        await server.close();
      }
    });

    it('lower-cases header names and joins repeated headers with ", "', async () => {
      const server = await rawServer((socket) => {
        socket.end(
          'HTTP/1.1 200 OK\r\nX-Mixed-CASE: Value Kept\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nVary:  Accept  \r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok',
        );
      });
      try {
        const { head } = await fetchInto(server.url);
        assert.deepEqual(head.headers, {
          'x-mixed-case': 'Value Kept',
          'set-cookie': 'a=1, b=2',
          vary: 'Accept',
          'content-type': 'text/plain',
          'content-length': '2',
        });
      } finally {
        await server.close();
      }
    });
  });

  describe('getInto: failures', () => {
    it('fails with ECONNREFUSED, not sent, when nothing listens', async () => {
      const { error } = await getFailure(`http://127.0.0.1:${await closedPort()}/`);
      assert.equal(error.code, 'ECONNREFUSED');
      assert.equal(error.requestSent, false);
    });

    it('fails with UND_ERR_RES_CONTENT_LENGTH_MISMATCH, sent, when the connection closes before Content-Length bytes', async () => {
      const server = await rawServer((socket) => socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(500)}`));
      try {
        const { error } = await getFailure(server.url);
        assert.equal(error instanceof HttpGetError, true, String(error));
        assert.equal(error.code, 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH');
        assert.equal(error.requestSent, true);
        assert.match(error.message, /500 bytes shorter/);
      } finally {
        await server.close();
      }
    });

    it('fails with UND_ERR_SOCKET when a chunked body, or the head, is cut off', async () => {
      const server = await rawServer((socket, head) => {
        if (head.startsWith('GET /head')) socket.end('HTTP/1.1 200 OK\r\nContent-Le');
        else if (head.startsWith('GET /silent')) socket.end();
        else socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nonly part');
      });
      try {
        for (const route of ['/chunked', '/head', '/silent']) {
          const { error } = await getFailure(server.url + route);
          assert.equal(error.code, 'UND_ERR_SOCKET', `${route}: ${error.message}`);
          assert.equal(error.requestSent, true, route);
        }
      } finally {
        await server.close();
      }
    });

    it('fails with UND_ERR_HEADERS_TIMEOUT after about timeoutMs when the server never answers', async () => {
      const server = await rawServer(() => undefined);
      try {
        const { error, ms } = await getFailure(server.url, { timeoutMs: 300 });
        assert.equal(error.code, 'UND_ERR_HEADERS_TIMEOUT');
        assert.equal(error.requestSent, true);
        assert.ok(ms >= 280 && ms < 2_000, `failed after ${ms} ms`);
      } finally {
        await server.close();
      }
    });

    it('fails with UND_ERR_BODY_TIMEOUT after about timeoutMs when the body stalls', async () => {
      const server = await rawServer(async (socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n');
        // Keeps the connection busy for a while, then goes quiet.
        for (let i = 0; i < 5 && !socket.destroyed; i++) {
          socket.write('x'.repeat(100));
          await sleep(100);
        }
      });
      try {
        const { error, ms } = await getFailure(server.url, { timeoutMs: 300 });
        assert.equal(error.code, 'UND_ERR_BODY_TIMEOUT');
        assert.equal(error.requestSent, true);
        assert.ok(ms >= 700 && ms < 2_500, `failed after ${ms} ms: the timeout counts from the last read`);
      } finally {
        await server.close();
      }
    });

    it('fails with UND_ERR_CONNECT_TIMEOUT, not sent, when the TLS handshake never completes', async () => {
      // A TCP server that never speaks TLS: connected, but never secure.
      const server = await rawServer(() => undefined);
      try {
        const { error, ms } = await getFailure(`https://127.0.0.1:${server.port}/`, { connectTimeoutMs: 300, timeoutMs: 10_000 });
        assert.equal(error.code, 'UND_ERR_CONNECT_TIMEOUT');
        assert.equal(error.requestSent, false);
        assert.equal(server.requests.length, 0);
        assert.ok(ms >= 280 && ms < 2_000, `failed after ${ms} ms`);
      } finally {
        await server.close();
      }
    });

    it('fails with HPE_* codes on malformed answers', async () => {
      const answers: Record<string, [string, string]> = {
        status: ['HTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'HPE_INVALID_CONSTANT'],
        'status-code': ['HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok', 'HPE_INVALID_CONSTANT'],
        'header-line': ['HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 2\r\n\r\nok', 'HPE_INVALID_HEADER_TOKEN'],
        'chunk-size': ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
        'chunk-too-long': ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
        'chunk-line-endless': [`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${'0'.repeat(5000)}`, 'HPE_INVALID_CHUNK_SIZE'],
        'content-length': ['HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\nok', 'HPE_INVALID_CONTENT_LENGTH'],
        'transfer-encoding': ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok', 'HPE_INVALID_TRANSFER_ENCODING'],
      };
      // The connection stays open: each error must come from reading the answer, not from its end.
      const server = await rawServer((socket, head) => socket.write(answers[head.split(' ')[1].slice(1)][0]));
      try {
        for (const [name, [, code]] of Object.entries(answers)) {
          const { error, ms } = await getFailure(`${server.url}/${name}`, { timeoutMs: 3_000 });
          assert.equal(error instanceof HttpGetError, true, `${name}: ${error}`);
          assert.equal(error.code, code, `${name}: ${error.message}`);
          assert.equal(error.requestSent, true, name);
          assert.ok(ms < 1_500, `${name} failed after ${ms} ms`);
        }
      } finally {
        await server.close();
      }
    });

    it('fails with HPE_HEADER_OVERFLOW when the head goes on past 64 KiB', async () => {
      const server = await rawServer(async (socket) => {
        socket.write('HTTP/1.1 200 OK\r\n');
        const line = `X-Padding: ${'p'.repeat(1000)}\r\n`;
        for (let i = 0; i < 400 && !socket.destroyed; i++) {
          socket.write(line.repeat(8));
          await sleep(1);
        }
      });
      try {
        const { error } = await getFailure(server.url, { timeoutMs: 3_000 });
        assert.equal(error.code, 'HPE_HEADER_OVERFLOW');
        assert.equal(error.requestSent, true);
      } finally {
        await server.close();
      }
    });

    it('fails with HPE_HEADER_OVERFLOW for a complete head over 64 KiB that arrives in one piece', async () => {
      const head = `HTTP/1.1 200 OK\r\n${`X-Pad: ${'a'.repeat(1000)}\r\n`.repeat(100)}Content-Length: 2\r\n\r\nok`;
      const server = await rawServer((socket) => socket.end(head));
      try {
        const { error } = await getFailure(server.url, { timeoutMs: 3_000 });
        assert.equal(error.code, 'HPE_HEADER_OVERFLOW');
      } finally {
        await server.close();
      }
    });

    it('refuses a header value holding a line break without connecting', async () => {
      const server = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
      try {
        const error = await failureOf((async () => fetchInto(server.url, { headers: { 'x-evil': 'a\r\nx-injected: 1' } }))());
        assert.equal(error.code, 'ERR_INVALID_CHAR');
        await sleep(50);
        assert.equal(server.connections, 0);
      } finally {
        await server.close();
      }
    });

    it('passes on an error thrown by onHead, and closes the connection', async () => {
      let closed: Promise<unknown> | undefined;
      const server = await rawServer((socket) => {
        closed = new Promise((resolve) => socket.once('close', resolve)); // not once(): a reset is an 'error' too
        socket.write('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100000000\r\n\r\n');
      });
      try {
        const refused = new Error('not this answer');
        const error = await failureOf(
          getInto(requestFor(server.url), () => {
            throw refused;
          }),
        );
        assert.equal(error, refused);
        assert.equal(error.requestSent, true);
        await closed;
      } finally {
        await server.close();
      }
    });

    it('stops mid-body on abort, rejecting with the reason and closing the connection', async () => {
      let closed: Promise<unknown> | undefined;
      const server = await rawServer(async (socket) => {
        closed = new Promise((resolve) => socket.once('close', resolve)); // not once(): a reset is an 'error' too
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n');
        while (!socket.destroyed) {
          socket.write(Buffer.alloc(16 * 1024, 1));
          await sleep(5);
        }
      });
      try {
        const controller = new AbortController();
        const reason = new Error('stopped by the user');
        const body = new Collector();
        const started = Date.now();
        const download = getInto(requestFor(server.url, { signal: controller.signal }), () => body);
        await waitFor('some of the body', async () => body.size > 64 * 1024);
        controller.abort(reason);
        const error = await failureOf(download);
        assert.equal(error, reason);
        assert.equal(error.requestSent, undefined, 'the reason is passed on untouched');
        assert.ok(Date.now() - started < 3_000);
        await closed;
        const size = body.size;
        await sleep(50);
        assert.equal(body.size, size, 'nothing is written after the abort');
      } finally {
        await server.close();
      }
    });

    it('rejects with the reason, not sent, when the signal is already aborted', async () => {
      const server = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
      try {
        const reason = new Error('already stopped');
        const { error } = await getFailure(server.url, { signal: AbortSignal.abort(reason) });
        assert.equal(error, reason);
        assert.equal(error.requestSent, undefined, 'the reason is passed on untouched');
        await sleep(50);
        assert.equal(server.requests.length, 0);
      } finally {
        await server.close();
      }
    });
  });

  describe('getInto with a ConnectionPool (keep-alive)', () => {
    /** GETs `url` through `pool` and returns the body as text. */
    async function pooled(url: string, pool: ConnectionPool, extra: Partial<GetRequest> = {}): Promise<string> {
      const body = new Collector(true);
      await getInto(requestFor(url, extra), () => body, pool);
      return body.text();
    }

    it('sends the next GET on the same connection, without "connection: close"', async () => {
      const server = await httpServer((_req, res) => res.end('hei'));
      const pool = new ConnectionPool();
      try {
        for (let i = 0; i < 3; i++) assert.equal(await pooled(`${server.url}/${i}`, pool), 'hei');
        assert.equal(server.connections, 1, 'one connection for three GETs');
        const chunked = await httpServer((_req, res) => {
          res.write('he');
          res.end('i');
        });
        try {
          assert.equal(await pooled(chunked.url, pool), 'hei');
          assert.equal(await pooled(chunked.url, pool), 'hei');
          assert.equal(chunked.connections, 1, 'chunked answers keep it too');
        } finally {
          await chunked.close();
        }
      } finally {
        pool.close();
        await server.close();
      }
    });

    it('does not keep a connection the answer closes, ends by closing, or follows with bytes nobody asked for', async () => {
      const answers = [
        'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nhei',
        'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nhei',
        'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nheiEXTRA',
      ];
      for (const answer of answers) {
        const server = await rawServer((socket) => socket.write(answer));
        const pool = new ConnectionPool();
        try {
          assert.equal(await pooled(server.url, pool), 'hei');
          assert.equal(await pooled(server.url, pool), 'hei');
          assert.equal(server.connections, 2, JSON.stringify(answer.split('\r\n')[0] + ' ' + answer.slice(-8)));
        } finally {
          pool.close();
          await server.close();
        }
      }
    });

    it('uses a new connection when the server closed the kept one, also when it closes it just as the next GET goes out', async () => {
      // Closed while idle (the server's keep-alive timeout): noticed, and not used again.
      const server = await httpServer((_req, res) => res.end('hei'));
      const pool = new ConnectionPool();
      try {
        await pooled(server.url, pool);
        await server.closeConnections();
        await sleep(50);
        assert.equal(await pooled(server.url, pool), 'hei');
        assert.equal(server.connections, 2);
      } finally {
        pool.close();
        await server.close();
      }
      // Closed as the next request arrives: the GET goes again on a new connection, and the caller never knows.
      let answeredOnFirst = 0;
      const racy = await rawServer((socket) => {
        // rawServer hands over the first request of each connection; the next one on it is closed unanswered.
        answeredOnFirst++;
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhei');
        let received = Buffer.alloc(0);
        socket.on('data', (data: Buffer) => {
          received = Buffer.concat([received, data]);
          if (received.includes('\r\n\r\n')) socket.destroy();
        });
      });
      const racyPool = new ConnectionPool();
      try {
        assert.equal(await pooled(racy.url, racyPool), 'hei');
        assert.equal(await pooled(racy.url, racyPool), 'hei');
        assert.equal(racy.connections, 2);
        assert.equal(answeredOnFirst, 2, 'each connection answered once');
      } finally {
        racyPool.close();
        await racy.close();
      }
    });

    it('closes the kept connections on close(), and a closed pool keeps none', async () => {
      const server = await httpServer((_req, res) => res.end('hei'));
      const pool = new ConnectionPool();
      try {
        await pooled(server.url, pool);
        const closed = new Promise<void>((resolve) => server.onClose(resolve));
        pool.close();
        await closed;
        assert.equal(await pooled(server.url, pool), 'hei');
        assert.equal(server.connections, 2);
        await sleep(50);
        assert.equal(server.open, 0, 'the GET after close() did not keep its connection');
      } finally {
        await server.close();
      }
    });
  });

  describe('getInto over TLS', () => {
    let server: Served;
    const data = randomBytes(6 * MiB + 3);

    before(async function () {
      if (!certs) return this.skip();
      server = await httpServer((req, res) => {
        if (req.url === '/chunked') {
          res.writeHead(200);
          for (let at = 0; at < data.length; at += 100_003) res.write(data.subarray(at, at + 100_003));
          return res.end();
        }
        res.writeHead(200, { 'content-length': data.length }).end(data);
      }, certs);
    });
    after(async () => server?.close());

    it('downloads exactly when the self-signed certificate is given as ca (by IP and by name)', async () => {
      const ca = certs?.cert;
      for (const url of [`${server.url}/length`, `${server.url}/chunked`, `https://localhost:${server.port}/length`]) {
        const { head, body } = await fetchInto(url, { tls: { ca } });
        assert.equal(head.status, 200, url);
        assert.equal(body.hash.digest('hex'), sha256(data), url);
      }
    });

    it('downloads exactly with rejectUnauthorized: false, pausing at random', async () => {
      let sink: PausingSink | undefined;
      await getInto(requestFor(server.url, { tls: { rejectUnauthorized: false } }), (_head, resume) => {
        sink = new PausingSink(resume, () => (Math.random() < 0.3 ? 1 + Math.floor(Math.random() * 5) : undefined));
        return sink;
      });
      assert.ok(sink && sink.pauses > 0);
      assert.equal(sink.writesWhilePaused, 0);
      assert.equal(sink.hash.digest('hex'), sha256(data));
    });

    it('refuses the self-signed certificate otherwise, before sending the request', async () => {
      const before = server.requests.length;
      const { error } = await getFailure(server.url);
      assert.match(`${error.code} ${error.message}`, /SELF_SIGNED|UNABLE_TO_VERIFY|certificate/i);
      assert.equal(error.requestSent, false);
      assert.equal(server.requests.length, before);
    });
  });

  describe('FileSink', () => {
    /** Writes `data` in pieces of up to `maxPiece`, waiting for resume whenever write asks to pause. */
    async function feed(sink: FileSink, data: Buffer, maxPiece: number): Promise<number> {
      let pauses = 0;
      for (let at = 0; at < data.length; ) {
        const n = Math.min(data.length - at, 1 + Math.floor(Math.random() * maxPiece));
        const more = sink.write(data, at, at + n);
        at += n;
        if (!more) {
          pauses++;
          await new Promise<void>((resolve) => (sink.resume = resolve));
        }
      }
      return pauses;
    }

    it('writes every byte in order, asking to pause while its buffers are on their way to disk, and hashes them', async () => {
      const data = randomBytes(21 * MiB + 4321);
      const file = path.join(dir, 'sink.bin');
      const sink = await FileSink.open(file, { hash: true });
      const pauses = await feed(sink, data, 256 * 1024);
      assert.ok(pauses > 0, 'a writer faster than the disk is asked to pause');
      assert.deepEqual(await sink.finish(), { size: data.length, sha256: sha256(data) });
      assert.equal(sha256(fs.readFileSync(file)), sha256(data));
      fs.rmSync(file);
    });

    it('empties an existing file, and reports no hash unless asked', async () => {
      const file = path.join(dir, 'existing.bin');
      fs.writeFileSync(file, Buffer.alloc(3 * MiB, 1));
      const sink = await FileSink.open(file, { durable: false });
      const data = Buffer.from('kort');
      sink.write(data, 0, data.length);
      assert.deepEqual(await sink.finish(), { size: 4, sha256: undefined });
      assert.equal(fs.readFileSync(file, 'latin1'), 'kort');
      fs.rmSync(file);
    });

    it('fails with TooLargeError past maxBytes, and discard() removes the file', async () => {
      const file = path.join(dir, 'too-large.bin');
      const sink = await FileSink.open(file, { maxBytes: 1000 });
      const piece = Buffer.alloc(600, 2);
      assert.equal(sink.write(piece, 0, piece.length), true);
      assert.throws(
        () => sink.write(piece, 0, piece.length),
        (e: Error) => e instanceof TooLargeError && e.limit === 1000 && /larger than 1000 bytes/.test(e.message),
      );
      assert.ok(fs.existsSync(file));
      await sink.discard();
      assert.equal(fs.existsSync(file), false);
    });

    it('stops a download past maxBytes with TooLargeError', async () => {
      const server = await httpServer((_req, res) => res.writeHead(200, { 'content-length': 3 * MiB }).end(Buffer.alloc(3 * MiB)));
      const file = path.join(dir, 'too-large-download.bin');
      try {
        const sink = await FileSink.open(file, { maxBytes: MiB });
        const error = await failureOf(
          getInto(requestFor(server.url), (_head, resume) => {
            sink.resume = resume;
            return sink;
          }),
        );
        assert.ok(error instanceof TooLargeError, String(error));
        await sink.discard();
        assert.equal(fs.existsSync(file), false);
      } finally {
        await server.close();
      }
    });

    it('fails with a SaveFileError naming reportPath for a missing directory', async () => {
      const file = path.join(dir, 'no-such-dir', 'x.part-123');
      const reportPath = path.join(dir, 'no-such-dir', 'melding.zip');
      await assert.rejects(FileSink.open(file, { reportPath }), (e: Error) => e instanceof SaveFileError && e.message.startsWith(`Cannot write ${reportPath}: ENOENT`));
    });
  });

  describe('popToPath against the simulator', () => {
    let sim: RunningSimulator;
    let client: IntegrasjonspunktClient;
    let out: string;

    before(async () => {
      sim = await startSimulator({ port: 0, dataDir: path.join(dir, 'sim'), lockSweepMs: 100, statusDelayMs: 50 });
      client = new IntegrasjonspunktClient({ url: sim.url, retryDelayMs: 20 });
    });
    after(async () => {
      await client?.close();
      await sim?.close();
    });
    beforeEach(() => {
      out = fs.mkdtempSync(path.join(dir, 'out-'));
    });
    afterEach(() => sim.faults.clear());

    /** Sends a message with one file and locks it (peek); its messageId. */
    async function lockedMessage(content: Buffer, as = client): Promise<string> {
      const messageId = idOf(await as.sendMultipart(sbdOf(), [{ filename: 'vedlegg.bin', content }]));
      await waitFor('the message in the inbox', () => as.peek({ messageId }));
      return messageId;
    }

    it('saves the ASiC-E, with size and SHA-256 when asked, and leaves no part file', async () => {
      const content = randomBytes(3 * MiB + 17);
      const messageId = await lockedMessage(content);
      const dest = path.join(out, 'melding.zip');
      const partPath = path.join(out, 'melding.zip.downloading');
      const saved = await client.popToPath(messageId, dest, { hash: true, partPath });
      assert.ok(saved);
      const onDisk = fs.readFileSync(dest);
      assert.deepEqual(saved, { path: dest, size: onDisk.length, sha256: sha256(onDisk) });
      assert.equal((await zipDigests(dest)).get('vedlegg.bin')?.sha256, sha256(content));
      assert.deepEqual(fs.readdirSync(out), ['melding.zip']);

      const again = await client.popToPath(messageId, path.join(out, 'again.zip'), { durable: false });
      assert.deepEqual(again, { path: path.join(out, 'again.zip'), size: onDisk.length, sha256: undefined });
      const viaPopToFile = await client.popToFile(messageId, path.join(out, 'file.zip'));
      assert.equal(viaPopToFile?.sha256, sha256(onDisk));
      await client.deleteIncoming(messageId);
    });

    it('answers null for a receipt and leaves no file', async () => {
      const receipt = receiptSbd();
      const messageId = idOf(await client.sendMultipart(receipt, []));
      await waitFor('the receipt', () => client.peek({ messageId, receiverIdentifier: SENDER }));
      assert.equal(await client.popToPath(messageId, path.join(out, 'receipt.zip')), null);
      assert.deepEqual(fs.readdirSync(out), []);
      await client.deleteIncoming(messageId);
    });

    it('fails with the IP\'s 400 for a message that is not locked, and leaves no file', async () => {
      const messageId = idOf(await client.sendMultipart(sbdOf(), [{ filename: 'a.txt', content: 'a' }]));
      await waitFor('the message in the inbox', async () => (await client.listIncoming({ messageId })).content.length > 0);
      const error = await failureOf(client.popToPath(messageId, path.join(out, 'x.zip')));
      assert.ok(error instanceof IntegrasjonspunktError, String(error));
      assert.equal(error.status, 400);
      assert.equal(error.exceptionName, 'MessageNotLockedException');
      assert.equal(error.path, `/api/messages/in/pop/${messageId}`);
      assert.deepEqual(fs.readdirSync(out), []);
      await client.peek({ messageId });
      await client.deleteIncoming(messageId);
    });

    it('fails with TooLargeError past maxBytes, leaving nothing at destPath or partPath', async () => {
      const messageId = await lockedMessage(randomBytes(256 * 1024));
      const dest = path.join(out, 'large.zip');
      const partPath = path.join(out, 'large.partial');
      const error = await failureOf(client.popToPath(messageId, dest, { maxBytes: 100_000, partPath }));
      assert.ok(error instanceof TooLargeError, String(error));
      assert.equal(error.limit, 100_000);
      assert.deepEqual(fs.readdirSync(out), []);
      await client.deleteIncoming(messageId);
    });

    it('stops on abort with the reason, leaving nothing', async () => {
      const messageId = await lockedMessage(randomBytes(1000));
      sim.faults.add({ method: 'GET', path: '^/api/messages/in/pop/', delayMs: 1_000 });
      const controller = new AbortController();
      const reason = new Error('the flow was stopped');
      setTimeout(() => controller.abort(reason), 100);
      const started = Date.now();
      const error = await failureOf(client.popToPath(messageId, path.join(out, 'aborted.zip'), { signal: controller.signal }));
      assert.equal(error, reason);
      assert.ok(Date.now() - started < 900, `stopped after ${Date.now() - started} ms`);
      assert.deepEqual(fs.readdirSync(out), []);
      await sleep(1_000); // lets the simulator's delayed answer go to the closed connection
      await client.deleteIncoming(messageId);
    });

    it('fails with status 0 for a download cut midway without retries, and retries it by default', async () => {
      const content = randomBytes(2 * MiB);
      const messageId = await lockedMessage(content);
      sim.faults.add({ method: 'GET', path: '^/api/messages/in/pop/', drop: 'midway' });
      const dest = path.join(out, 'midway.zip');
      const error = await failureOf(client.popToPath(messageId, dest, { retries: 0 }));
      assert.ok(error instanceof IntegrasjonspunktError, String(error));
      assert.equal(error.status, 0);
      assert.equal(error.requestSent, true);
      assert.equal(error.code, 'UND_ERR_SOCKET', 'the simulator streams the ASiC chunked; cut off mid-way');
      assert.deepEqual(fs.readdirSync(out), []);
      assert.deepEqual(sim.faults.list(), [], 'the fault was applied');

      sim.faults.add({ method: 'GET', path: '^/api/messages/in/pop/', drop: 'midway', times: 2 });
      const saved = await client.popToPath(messageId, dest, { hash: true });
      assert.ok(saved);
      assert.deepEqual(sim.faults.list(), [], 'both cut downloads were tried again');
      assert.equal(saved.sha256, sha256(fs.readFileSync(dest)));
      assert.equal((await zipDigests(dest)).get('vedlegg.bin')?.sha256, sha256(content));
      assert.deepEqual(fs.readdirSync(out), ['midway.zip']);
      await client.deleteIncoming(messageId);
    });

    it('tries again after a 503, and gives the 503 without retries', async () => {
      const messageId = await lockedMessage(randomBytes(1000));
      sim.faults.add({ method: 'GET', path: '^/api/messages/in/pop/', status: 503 });
      const error = await failureOf(client.popToPath(messageId, path.join(out, 'x.zip'), { retries: 0 }));
      assert.ok(error instanceof IntegrasjonspunktError, String(error));
      assert.equal(error.status, 503);
      assert.deepEqual(fs.readdirSync(out), []);
      sim.faults.add({ method: 'GET', path: '^/api/messages/in/pop/', status: 503 });
      assert.ok(await client.popToPath(messageId, path.join(out, 'x.zip')));
      assert.deepEqual(fs.readdirSync(out), ['x.zip']);
      await client.deleteIncoming(messageId);
    });

    it('downloads over HTTPS from a simulator with a self-signed certificate given as ca', async function () {
      if (!certs) return this.skip();
      const secure = await startSimulator({ port: 0, dataDir: path.join(dir, 'sim-tls'), lockSweepMs: 100, statusDelayMs: 50, tls: certs });
      const trusting = new IntegrasjonspunktClient({ url: secure.url, retryDelayMs: 20, tls: { ca: certs.cert.toString() } });
      const untrusting = new IntegrasjonspunktClient({ url: secure.url, retries: 0 });
      try {
        assert.match(secure.url, /^https:/);
        const content = randomBytes(MiB + 5);
        const messageId = await lockedMessage(content, trusting);
        const failure = await failureOf(untrusting.popToPath(messageId, path.join(out, 'untrusted.zip')));
        assert.ok(failure instanceof IntegrasjonspunktError, String(failure));
        assert.equal(failure.requestSent, false);
        assert.match(failure.message, /TLS failed|certificate/i);
        const saved = await trusting.popToPath(messageId, path.join(out, 'tls.zip'), { hash: true });
        assert.equal((await zipDigests(path.join(out, 'tls.zip'))).get('vedlegg.bin')?.sha256, sha256(content));
        assert.equal(saved?.sha256, sha256(fs.readFileSync(path.join(out, 'tls.zip'))));
        assert.deepEqual(fs.readdirSync(out), ['tls.zip']);
      } finally {
        await trusting.close();
        await untrusting.close();
        await secure.close();
      }
    });
  });
});
