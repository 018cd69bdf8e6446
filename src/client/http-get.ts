import net from 'node:net';
import tls from 'node:tls';

/**
 * A plain HTTP/1.1 GET whose response body is handed over from one reused read buffer, for large downloads.
 *
 * Why not undici: every socket read in Node allocates a new buffer outside V8's heap. For a gigabyte download
 * that is a gigabyte of short-lived external memory, and V8 answers external memory pressure with full
 * mark-compacts of the whole heap: in a Node-RED process (a heap of ~40 MB) one every 25 MB downloaded, which
 * tripled the CPU per GiB (bench/README.md). A socket created with `onread` reads into a buffer we give it, so
 * nothing is allocated per read; the body is copied out of it at once (see BodySink).
 *
 * Bodies framed by Content-Length, chunked or the close. With a ConnectionPool the connection is kept for the
 * next GET (keep-alive: no TCP and TLS handshake per message); without one, one request per connection.
 */

/** What a connection's reads land in; reused for every read on it (copied out before the next read). */
const READ_BUFFER_BYTES = 256 * 1024;
/** Idle connections a pool keeps, and for how long: less than common servers keep an idle connection (Node: 5 s). */
const MAX_IDLE_CONNECTIONS = 2;
const IDLE_MS = 4_000;
/** A status line and headers longer than this are not an answer from the IP. */
const MAX_HEAD_BYTES = 64 * 1024;
/** A chunk-size line longer than this is not chunked encoding. */
const MAX_CHUNK_LINE_BYTES = 1024;

/** A failure of the connection or of the answer's framing; `code` as undici's, so errors read the same. */
export class HttpGetError extends Error {
  readonly code: string;
  constructor(message: string, code: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'HttpGetError';
    this.code = code;
  }
}

export interface GetRequest {
  /** Full URL of the resource (path and query included). */
  url: URL;
  headers: Record<string, string>;
  /** For https: ca, cert, key, passphrase, rejectUnauthorized. */
  tls?: tls.ConnectionOptions;
  connectTimeoutMs: number;
  /** Longest wait for the answer's head and between two reads of its body; 0 for none. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface GetHead {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
}

/** Where the body goes. */
export interface BodySink {
  /**
   * Copies `buffer[start, end)` out before returning (the buffer is overwritten by the next read). Returns false to
   * pause reading until the `resume` given to `onHead` is called; it must still take what comes until the pause
   * takes hold (the rest of the current read; over TLS also what was already decrypted, some tens of KiB).
   */
  write(buffer: Buffer, start: number, end: number): boolean;
}

export interface GetResult {
  head: GetHead;
}

/** Set on errors from getInto: whether the request was written to a connection (the server may have seen it). */
export interface GetFailure {
  requestSent: boolean;
}

/** What the GET using a connection is told. */
interface ConnectionUser {
  connected(): void;
  read(bytes: number, buffer: Buffer): boolean;
  error(err: Error): void;
  closed(): void;
}

/** A socket with its own read buffer (`onread`); its reads, errors and close go to the GET using it. */
class Connection {
  readonly socket: net.Socket;
  connected = false;
  user?: ConnectionUser;
  /** While idle in a pool: what to do when the server closes it. */
  onIdleClose?: () => void;
  idleTimer?: NodeJS.Timeout;

  constructor(
    readonly key: string,
    url: URL,
    tlsOptions: tls.ConnectionOptions | undefined,
  ) {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const secure = url.protocol === 'https:';
    const options = {
      host,
      port: Number(url.port) || (secure ? 443 : 80),
      onread: {
        buffer: Buffer.allocUnsafeSlow(READ_BUFFER_BYTES),
        // Bytes while idle are not an answer to anything: drop the connection.
        callback: (bytes: number, buffer: Buffer): boolean => (this.user ? this.user.read(bytes, buffer) : (this.socket.destroy(), false)),
      },
    };
    this.socket = secure ? tls.connect({ ...tlsOptions, ...options, servername: net.isIP(host) ? undefined : host }) : net.connect(options);
    this.socket.once(secure ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      this.user?.connected();
    });
    this.socket.on('error', (err) => this.user?.error(err));
    this.socket.on('close', () => (this.user ? this.user.closed() : this.onIdleClose?.()));
  }
}

/** Connections kept between GETs to the same origin (one client's). */
export class ConnectionPool {
  private readonly idle: Connection[] = [];
  private closed = false;

  /** A live idle connection to `key`'s origin, if there is one. */
  take(key: string): Connection | undefined {
    for (;;) {
      const connection = this.idle.pop();
      if (!connection) return undefined;
      clearTimeout(connection.idleTimer);
      connection.onIdleClose = undefined;
      if (connection.key === key && !connection.socket.destroyed) {
        connection.socket.ref();
        connection.socket.resume(); // in case it was given back a moment ago and is not reading yet
        return connection;
      }
      connection.socket.destroy();
    }
  }

  /** Keeps a connection whose last answer was read to its end, or closes it when enough are kept. */
  give(connection: Connection): void {
    connection.user = undefined;
    if (this.closed || this.idle.length >= MAX_IDLE_CONNECTIONS || connection.socket.destroyed) {
      connection.socket.destroy();
      return;
    }
    const drop = () => {
      const at = this.idle.indexOf(connection);
      if (at !== -1) this.idle.splice(at, 1);
      clearTimeout(connection.idleTimer);
      connection.socket.destroy();
    };
    connection.onIdleClose = drop;
    connection.idleTimer = setTimeout(drop, IDLE_MS);
    connection.idleTimer.unref();
    connection.socket.unref();
    this.idle.push(connection);
    // Read on while idle, to notice the server closing it. (Called from inside a read, which pauses after it.)
    setImmediate(() => {
      if (this.idle.includes(connection)) connection.socket.resume();
    });
  }

  /** Closes the idle connections; later GETs each use their own. */
  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) {
      clearTimeout(connection.idleTimer);
      connection.socket.destroy();
    }
  }
}

function requestText(request: GetRequest, keepAlive: boolean): string {
  const { url } = request;
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  if (!keepAlive) lines.push('connection: close');
  for (const [name, value] of Object.entries(request.headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new HttpGetError(`header ${name} holds a line break`, 'ERR_INVALID_CHAR');
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Parses `HTTP/1.1 200 OK\r\nName: value\r\n…` (without the blank line); `http11` for an HTTP/1.1 answer. */
function parseHead(text: string): GetHead & { http11: boolean } {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]);
  if (!status) throw new HttpGetError(`the answer does not start with an HTTP/1.1 status line: ${JSON.stringify(lines[0].slice(0, 80))}`, 'HPE_INVALID_CONSTANT');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpGetError(`the answer has a malformed header line: ${JSON.stringify(line.slice(0, 80))}`, 'HPE_INVALID_HEADER_TOKEN');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(status[2]), headers, http11: status[1] === '1' };
}

/** How the body ends: after `length` bytes, with the last chunk, or when the server closes. */
type Framing = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' };

function framingOf(head: GetHead): Framing {
  if (head.status === 204 || head.status === 304) return { kind: 'none' };
  const te = head.headers['transfer-encoding'];
  if (te !== undefined) {
    if (!/(?:^|,)\s*chunked\s*$/i.test(te)) throw new HttpGetError(`the answer uses Transfer-Encoding ${te}`, 'HPE_INVALID_TRANSFER_ENCODING');
    return { kind: 'chunked' };
  }
  const cl = head.headers['content-length'];
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) throw new HttpGetError(`the answer has Content-Length ${JSON.stringify(cl)}`, 'HPE_INVALID_CONTENT_LENGTH');
    const left = Number(cl);
    return left === 0 ? { kind: 'none' } : { kind: 'length', left };
  }
  return { kind: 'close' };
}

/** Decodes chunked encoding as reads arrive, passing the data on; `done` once the last chunk and trailers are read. */
class ChunkedDecoder {
  private state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  private line = '';
  private left = 0;

  /** Bytes after the last chunk and its trailers in the read that ended the body (then the connection is not reused). */
  leftover = false;

  get done(): boolean {
    return this.state === 'done';
  }

  /** Returns whether the sink wants more (false: pause); throws on malformed framing. */
  feed(buffer: Buffer, start: number, end: number, sink: BodySink): boolean {
    let more = true;
    let at = start;
    while (at < end && this.state !== 'done') {
      if (this.state === 'data') {
        const n = Math.min(this.left, end - at);
        if (!sink.write(buffer, at, at + n)) more = false;
        at += n;
        this.left -= n;
        if (this.left === 0) this.state = 'data-end';
        continue;
      }
      // size, data-end and trailer states read lines
      const newline = buffer.indexOf(10, at);
      const stop = newline === -1 || newline >= end ? end : newline;
      this.line += buffer.toString('latin1', at, stop);
      if (this.line.length > MAX_CHUNK_LINE_BYTES) throw new HttpGetError('the answer has a malformed chunk header', 'HPE_INVALID_CHUNK_SIZE');
      at = stop;
      if (stop === end) break;
      at++; // past the \n
      const line = this.line.replace(/\r$/, '');
      this.line = '';
      if (this.state === 'size') {
        const size = /^([0-9a-fA-F]{1,12})\s*(?:;.*)?$/.exec(line);
        if (!size) throw new HttpGetError(`the answer has a malformed chunk size ${JSON.stringify(line.slice(0, 40))}`, 'HPE_INVALID_CHUNK_SIZE');
        this.left = parseInt(size[1], 16);
        this.state = this.left === 0 ? 'trailer' : 'data';
      } else if (this.state === 'data-end') {
        if (line !== '') throw new HttpGetError('the answer has a chunk longer than its size', 'HPE_INVALID_CHUNK_SIZE');
        this.state = 'size';
      } else if (line === '') {
        this.state = 'done';
        this.leftover = at < end;
      }
    }
    return more;
  }
}

/** Marks the failure of a GET on a kept connection that the server had closed meanwhile (tried again on a new one). */
const STALE = Symbol('stale connection');
/** How a kept connection the server has closed fails a new request. */
const CLOSED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/**
 * Sends the GET and hands the body to the sink `onHead` returns for the answer's head. Resolves once the whole
 * body was given to the sink; rejects with an error carrying `requestSent` (GetFailure) on any failure, after
 * closing the connection. `onHead` may throw to refuse the answer (the error is passed on). With a `pool`, a kept
 * connection is used when there is one, and the connection is kept after an answer read to its end.
 */
export async function getInto(request: GetRequest, onHead: (head: GetHead, resume: () => void) => BodySink, pool?: ConnectionPool): Promise<GetResult> {
  let text: string;
  try {
    text = requestText(request, pool !== undefined);
  } catch (err) {
    throw Object.assign(err as Error, { requestSent: false } satisfies GetFailure);
  }
  const key = request.url.origin;
  const kept = pool?.take(key);
  if (kept) {
    try {
      return await exchange(request, text, onHead, kept, pool);
    } catch (err) {
      if (!(err as { [STALE]?: boolean })[STALE]) throw err;
    }
  }
  return exchange(request, text, onHead, new Connection(key, request.url, request.tls), pool);
}

/** One GET on `connection`: kept in `pool` afterwards when the answer allows, closed otherwise. */
function exchange(request: GetRequest, text: string, onHead: (head: GetHead, resume: () => void) => BodySink, connection: Connection, pool?: ConnectionPool): Promise<GetResult> {
  const { socket } = connection;
  const reused = connection.connected;
  return new Promise<GetResult>((resolve, reject) => {
    let requestSent = false;
    let settled = false;
    let answered = false;
    let headBytes: Buffer | undefined = Buffer.alloc(0);
    let head: GetHead | undefined;
    let keepAlive = false;
    let framing: Framing | undefined;
    let sink: BodySink | undefined;
    let chunked: ChunkedDecoder | undefined;
    let timer: NodeJS.Timeout | undefined;

    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      if (err === undefined && head && keepAlive && pool) pool.give(connection);
      else {
        connection.user = undefined;
        socket.destroy();
      }
      if (err === undefined && head) resolve({ head });
      else if (aborted) reject(err); // the signal's reason, as it is
      else if (reused && !answered && CLOSED_CODES.has((err as { code?: string })?.code ?? '')) {
        reject(Object.assign(new HttpGetError('the kept connection was closed by the server', 'UND_ERR_SOCKET', err), { [STALE]: true }));
      }
      else reject(Object.assign(err instanceof Error ? err : new Error(String(err)), { requestSent } satisfies GetFailure));
    };
    const fail = (message: string, code: string) => finish(new HttpGetError(message, code));
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      finish(request.signal?.reason ?? new HttpGetError('the request was aborted', 'UND_ERR_ABORTED'));
    };

    /** (Re)arms the timeout: connecting, waiting for the head, or between reads of the body. */
    const arm = (ms: number, message: string, code: string) => {
      clearTimeout(timer);
      if (ms > 0) timer = setTimeout(() => fail(message, code), ms);
    };
    const armRead = () =>
      head
        ? arm(request.timeoutMs, `the answer stalled for ${request.timeoutMs} ms`, 'UND_ERR_BODY_TIMEOUT')
        : arm(request.timeoutMs, `no answer within ${request.timeoutMs} ms`, 'UND_ERR_HEADERS_TIMEOUT');

    const resume = () => {
      if (settled) return;
      armRead();
      socket.resume();
    };

    /** Takes the head once complete, then passes what follows it on as body. Returns false to pause. */
    const onData = (buffer: Buffer, start: number, end: number): boolean => {
      if (headBytes) {
        headBytes = Buffer.concat([headBytes, buffer.subarray(start, end)]);
        const blank = headBytes.indexOf('\r\n\r\n');
        if (blank === -1 ? headBytes.length > MAX_HEAD_BYTES : blank > MAX_HEAD_BYTES) {
          fail(`the answer's headers are longer than ${MAX_HEAD_BYTES} bytes`, 'HPE_HEADER_OVERFLOW');
          return false;
        }
        if (blank === -1) return true;
        const parsed = parseHead(headBytes.toString('latin1', 0, blank));
        const rest = headBytes.subarray(blank + 4);
        if (parsed.status >= 100 && parsed.status < 200) {
          headBytes = Buffer.alloc(0); // 100 Continue and the like: the real answer follows
          return rest.length ? onData(rest, 0, rest.length) : true;
        }
        headBytes = undefined;
        const { http11, ...answer } = parsed;
        head = answer;
        framing = framingOf(head);
        // Kept for the next GET only when the answer's end is known and the server does not close.
        keepAlive = http11 && framing.kind !== 'close' && !/(?:^|,)\s*close\s*(?:,|$)/i.test(head.headers.connection ?? '');
        sink = onHead(head, resume);
        if (framing.kind === 'chunked') chunked = new ChunkedDecoder();
        if (framing.kind === 'none') {
          if (rest.length) keepAlive = false;
          finish();
          return false;
        }
        return rest.length ? onBody(rest, 0, rest.length) : true;
      }
      return onBody(buffer, start, end);
    };

    const onBody = (buffer: Buffer, start: number, end: number): boolean => {
      if (!sink || !framing) return false;
      if (chunked) {
        const more = chunked.feed(buffer, start, end, sink);
        if (chunked.done) {
          if (chunked.leftover) keepAlive = false; // bytes we did not ask for: do not trust the connection
          finish();
        }
        return more && !chunked.done;
      }
      if (framing.kind === 'length') {
        const n = Math.min(framing.left, end - start);
        const more = sink.write(buffer, start, start + n);
        framing.left -= n;
        if (framing.left === 0) {
          if (start + n < end) keepAlive = false;
          finish();
          return false;
        }
        return more;
      }
      return sink.write(buffer, start, end);
    };

    const send = () => {
      requestSent = true;
      socket.write(text);
      armRead();
    };
    connection.user = {
      connected: () => {
        if (!settled) send();
      },
      read: (bytes, buffer) => {
        if (settled) return false;
        answered = true;
        // The head has one deadline from the request on; the body one per read.
        const hadHead = head !== undefined;
        if (hadHead) armRead();
        try {
          const more = onData(buffer, 0, bytes);
          if (!more && !settled) clearTimeout(timer); // paused by the sink: no stall timeout while we wait
          else if (!hadHead && head && !settled) armRead();
          return more;
        } catch (err) {
          finish(err);
          return false;
        }
      },
      error: (err) => finish(err),
      closed: () => {
        // Closed before we finished: the end of a close-delimited body, otherwise an answer cut short.
        if (head && framing?.kind === 'close') finish();
        else if (head && framing?.kind === 'length') fail(`the answer was ${framing.left} bytes shorter than announced`, 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH');
        else fail('the server closed the connection', 'UND_ERR_SOCKET');
      },
    };
    if (reused) send();
    else arm(request.connectTimeoutMs, `no connection within ${request.connectTimeoutMs} ms`, 'UND_ERR_CONNECT_TIMEOUT');
    if (request.signal?.aborted) onAbort();
    else request.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
