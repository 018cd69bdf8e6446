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
 * One request per connection (`Connection: close`), bodies framed by Content-Length, chunked or the close.
 */

/** What each socket read lands in; reused for every read of every download (copied out before the next read). */
const READ_BUFFER_BYTES = 256 * 1024;
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

let sharedReadBuffer: Buffer | undefined;
let sharedBufferInUse = false;

/** The shared read buffer when no other download uses it (downloads at once get one each). */
function takeReadBuffer(): { buffer: Buffer; release(): void } {
  if (!sharedBufferInUse) {
    sharedBufferInUse = true;
    sharedReadBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    return { buffer: sharedReadBuffer, release: () => (sharedBufferInUse = false) };
  }
  return { buffer: Buffer.allocUnsafeSlow(READ_BUFFER_BYTES), release: () => undefined };
}

function requestText(request: GetRequest): string {
  const { url } = request;
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, 'connection: close'];
  for (const [name, value] of Object.entries(request.headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new HttpGetError(`header ${name} holds a line break`, 'ERR_INVALID_CHAR');
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Parses `HTTP/1.1 200 OK\r\nName: value\r\n…` (without the blank line). */
function parseHead(text: string): GetHead {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0]);
  if (!status) throw new HttpGetError(`the answer does not start with an HTTP/1.1 status line: ${JSON.stringify(lines[0].slice(0, 80))}`, 'HPE_INVALID_CONSTANT');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpGetError(`the answer has a malformed header line: ${JSON.stringify(line.slice(0, 80))}`, 'HPE_INVALID_HEADER_TOKEN');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(status[1]), headers };
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
      }
    }
    return more;
  }
}

/**
 * Sends the GET and hands the body to the sink `onHead` returns for the answer's head. Resolves once the whole
 * body was given to the sink; rejects with an error carrying `requestSent` (GetFailure) on any failure, after
 * closing the connection. `onHead` may throw to refuse the answer (the error is passed on).
 */
export function getInto(request: GetRequest, onHead: (head: GetHead, resume: () => void) => BodySink): Promise<GetResult> {
  const { url } = request;
  const secure = url.protocol === 'https:';
  const port = Number(url.port) || (secure ? 443 : 80);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let text: string;
  try {
    text = requestText(request);
  } catch (err) {
    return Promise.reject(Object.assign(err as Error, { requestSent: false } satisfies GetFailure));
  }

  return new Promise<GetResult>((resolve, reject) => {
    const read = takeReadBuffer();
    let requestSent = false;
    let settled = false;
    let headBytes: Buffer | undefined = Buffer.alloc(0);
    let head: GetHead | undefined;
    let framing: Framing | undefined;
    let sink: BodySink | undefined;
    let chunked: ChunkedDecoder | undefined;
    let timer: NodeJS.Timeout | undefined;

    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      // The socket never reads again once destroyed; release the buffer after its last callback returned.
      setImmediate(read.release);
      if (err === undefined && head) resolve({ head });
      else if (aborted) reject(err); // the signal's reason, as it is
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
        head = parsed;
        framing = framingOf(head);
        sink = onHead(head, resume);
        if (framing.kind === 'chunked') chunked = new ChunkedDecoder();
        if (framing.kind === 'none') {
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
        if (chunked.done) finish();
        return more && !chunked.done;
      }
      if (framing.kind === 'length') {
        const n = Math.min(framing.left, end - start);
        const more = sink.write(buffer, start, start + n);
        framing.left -= n;
        if (framing.left === 0) {
          finish();
          return false;
        }
        return more;
      }
      return sink.write(buffer, start, end);
    };

    const options = {
      host,
      port,
      onread: {
        buffer: read.buffer,
        callback: (bytes: number, buffer: Buffer): boolean => {
          if (settled) return false;
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
      },
    };
    const socket: net.Socket = secure ? tls.connect({ ...request.tls, ...options, servername: net.isIP(host) ? undefined : host }) : net.connect(options);
    arm(request.connectTimeoutMs, `no connection within ${request.connectTimeoutMs} ms`, 'UND_ERR_CONNECT_TIMEOUT');
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      if (settled) return;
      requestSent = true;
      socket.write(text);
      armRead();
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => {
      // Closed before we finished: the end of a close-delimited body, otherwise an answer cut short.
      if (head && framing?.kind === 'close') finish();
      else if (head && framing?.kind === 'length') fail(`the answer was ${framing.left} bytes shorter than announced`, 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH');
      else fail('the server closed the connection', 'UND_ERR_SOCKET');
    });
    if (request.signal?.aborted) onAbort();
    else request.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
