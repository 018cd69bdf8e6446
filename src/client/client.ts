import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import { z } from 'zod';
import { version } from '../../package.json';
import { Capabilities } from '../schemas/capabilities';
import { ValidationError, formatZodError, parseWith } from '../schemas/format';
import { Page, type PageRequest } from '../schemas/page';
import { StandardBusinessDocumentHeader, parseSbd, type StandardBusinessDocument } from '../schemas/sbd';
import { Conversation, MessageStatus } from '../schemas/status';
import { Subscription, type SubscriptionInput } from '../schemas/webhook';
import { SaveFileError } from './download';
import { IntegrasjonspunktError, errorFromNetwork, errorFromResponse } from './errors';
import { FileSink, TooLargeError } from './file-sink';
import { ConnectionPool, getInto, type BodySink, type GetFailure } from './http-get';
import { buildMultipart, checkMultipartSizes, contentDisposition, resolveUploadFile } from './multipart';
import type {
  ClientOptions,
  ConversationFilter,
  DownloadResult,
  IncomingFilter,
  OutgoingFilter,
  PopResult,
  PopToPathOptions,
  SavedDownload,
  ProgressCallback,
  StatusFilter,
  UploadFile,
} from './types';

export const USER_AGENT = `node-red-contrib-eformidling/${version} (node ${process.version})`;

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type QueryValue = string | number | boolean | null | undefined | ReadonlyArray<string | number | boolean>;
type Query = Record<string, QueryValue>;

/** A request body we can produce (again, when `reopenable`) for each attempt. */
interface UploadBody {
  open(): Buffer | Readable | AsyncIterable<Buffer>;
  length?: number;
  reopenable: boolean;
  headers: Record<string, string>;
  onProgress?: ProgressCallback;
}

interface Call {
  method: Method;
  /** API path with encoded segments, e.g. /api/messages/out/<id>. */
  path: string;
  query?: Query;
  json?: unknown;
  upload?: UploadBody;
  accept?: string;
}

/** Per-attempt state shared with the dispatch interceptor. */
interface AttemptState {
  /** Set once undici hands the request to a connected socket: from then on the IP may have received it. */
  sent: boolean;
  /** Called with each piece of the request body as it is written to the socket. */
  onBodyBytes?: (n: number) => void;
  /** Set when our own upload source failed (then that error is the one to report). */
  bodyError?: unknown;
}

const ATTEMPT_STATE = Symbol('eformidling.attemptState');

/** Errors worth another try (for a GET, or for any request that never reached a socket). */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);
const GATEWAY_STATUSES = new Set([502, 503, 504]);

const SbdResponse = z.looseObject({ standardBusinessDocumentHeader: StandardBusinessDocumentHeader });
const SbdPage = Page(SbdResponse);
const StatusPage = Page(MessageStatus);
const ConversationPage = Page(Conversation);
const SubscriptionPage = Page(Subscription);
const SubscriptionCreate = Subscription.extend({ id: z.undefined({ message: 'must be absent; the IP assigns the id' }).optional() });
const SubscriptionChanges = Subscription.omit({ id: true }).partial();

/**
 * Watches one request inside undici: `onConnect` means the request is being written to a socket (so it may reach
 * the IP), `onBodySent` reports body bytes as they are written, with no extra stream in the upload's path.
 * undici's handler interface with these two callbacks is the (deprecated but supported in undici 7) legacy one, so
 * this handler speaks it and passes everything on to undici's own handler.
 */
class AttemptTracker {
  constructor(
    private readonly inner: LegacyHandler,
    private readonly state: AttemptState,
  ) {}
  onConnect(abort: (err?: Error) => void, context?: unknown): void {
    this.state.sent = true;
    this.inner.onConnect(abort, context);
  }
  onBodySent(chunk: Buffer | string): void {
    this.state.onBodyBytes?.(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length);
  }
  onResponseStarted(): void {
    this.inner.onResponseStarted?.();
  }
  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    return this.inner.onHeaders(statusCode, headers, resume, statusText);
  }
  onData(chunk: Buffer): boolean {
    return this.inner.onData(chunk);
  }
  onComplete(trailers: string[] | null): void {
    this.inner.onComplete(trailers);
  }
  onError(err: Error): void {
    this.inner.onError(err);
  }
  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: unknown): void {
    this.inner.onUpgrade?.(statusCode, headers, socket);
  }
}

/** The legacy handler methods undici's compose() wrapper offers to an interceptor. */
interface LegacyHandler {
  onConnect(abort: (err?: Error) => void, context?: unknown): void;
  onResponseStarted?(): void;
  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | null): void;
  onError(err: Error): void;
  onUpgrade?(statusCode: number, headers: Buffer[] | string[] | null, socket: unknown): void;
}

/** Passes `chunks` on one by one, noting a failure of our own source (reading the file) as the error to report. */
async function* noticeErrors(chunks: AsyncIterable<Buffer>, state: AttemptState): AsyncGenerator<Buffer> {
  try {
    yield* chunks;
  } catch (err) {
    state.bodyError = err;
    throw err;
  }
}

function trackAttempts(dispatch: Dispatcher['dispatch']): Dispatcher['dispatch'] {
  return (opts, handler) => {
    const state = (opts as unknown as { [ATTEMPT_STATE]?: AttemptState })[ATTEMPT_STATE];
    if (!state) return dispatch(opts, handler);
    return dispatch(opts, new AttemptTracker(handler as unknown as LegacyHandler, state) as unknown as Dispatcher.DispatchHandler);
  };
}

/** Collects an error answer's body (at most 1 MiB of it), for the error message. */
function textSink(): BodySink & { text(): string } {
  const parts: Buffer[] = [];
  let size = 0;
  return {
    write(buffer, start, end) {
      const n = Math.min(end - start, 1024 * 1024 - size);
      if (n > 0) parts.push(Buffer.from(buffer.subarray(start, start + n)));
      size += n;
      return true;
    },
    text: () => Buffer.concat(parts).toString('utf8'),
  };
}

/** `?a=1&sort=x&sort=y`: only defined, non-empty values; booleans as true/false; arrays repeated. */
export function queryString(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function segment(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(`${field}: expected a non-empty string, got ${JSON.stringify(value)}`);
  return encodeURIComponent(value);
}

function numericId(value: unknown, field: string): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ValidationError(`${field}: expected a whole number such as 12, got ${JSON.stringify(value)}`);
  }
  return String(value);
}

function pageQuery(page: PageRequest | undefined): Query {
  if (!page) return {};
  if (page.page !== undefined && !(Number.isInteger(page.page) && page.page >= 0)) {
    throw new ValidationError(`page: expected a page number from 0, got ${JSON.stringify(page.page)}`);
  }
  if (page.size !== undefined && !(Number.isInteger(page.size) && page.size >= 1 && page.size <= 2000)) {
    throw new ValidationError(`size: expected a page size from 1 to 2000, got ${JSON.stringify(page.size)}`);
  }
  return { page: page.page, size: page.size, sort: page.sort };
}

/** A list filter as a query: its own fields as they are, its page fields checked. */
function filterQuery<F extends PageRequest>({ page, size, sort, ...rest }: F): Query {
  return { ...(rest as Query), ...pageQuery({ page, size, sort }) };
}

function nonNegative(value: number | undefined, fallback: number, field: string, unit: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ValidationError(`${field}: expected a number of ${unit} (0 or more), got ${JSON.stringify(value)}`);
  return value;
}

/**
 * A client for the Integrasjonspunkt's REST API (integrasjonspunkt-api.md): one method per endpoint, JSON answers
 * validated, files streamed both ways, every failure an IntegrasjonspunktError.
 */
export class IntegrasjonspunktClient {
  /** Base URL without credentials or trailing slash, e.g. http://localhost:9093 */
  readonly url: string;
  private readonly basePath: string;
  private readonly pool: Pool;
  private readonly dispatcher: Dispatcher;
  private readonly authorization?: string;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly tls: Record<string, unknown>;
  /** Connections kept between downloads (popToPath does not go through undici's pool). */
  private readonly downloads = new ConnectionPool();

  constructor(options: ClientOptions) {
    if (typeof options !== 'object' || options === null) throw new ValidationError('options: expected an object with at least url');
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new ValidationError(`url: expected the Integrasjonspunkt's base URL such as http://localhost:9093, got ${JSON.stringify(options.url)}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ValidationError(`url: expected an http:// or https:// URL, got ${parsed.protocol}`);
    }
    // Credentials in the URL are moved to the Authorization header, and never appear in messages.
    const username = options.username ?? (parsed.username ? decodeURIComponent(parsed.username) : undefined);
    const password = options.password ?? (parsed.password ? decodeURIComponent(parsed.password) : '');
    this.basePath = parsed.pathname.replace(/\/+$/, '');
    this.url = parsed.origin + this.basePath;
    if (username) this.authorization = `Basic ${Buffer.from(`${username}:${password ?? ''}`, 'utf8').toString('base64')}`;
    this.userAgent = options.userAgent || USER_AGENT;
    this.timeoutMs = nonNegative(options.timeoutMs, 30_000, 'timeoutMs', 'milliseconds');
    this.connectTimeoutMs = nonNegative(options.connectTimeoutMs, 10_000, 'connectTimeoutMs', 'milliseconds');
    this.retries = Math.floor(nonNegative(options.retries, 2, 'retries', 'retries'));
    this.retryDelayMs = nonNegative(options.retryDelayMs, 200, 'retryDelayMs', 'milliseconds');

    const tls = options.tls ?? {};
    this.tls = {};
    for (const key of ['ca', 'cert', 'key', 'passphrase', 'rejectUnauthorized'] as const) {
      if (tls[key] !== undefined) this.tls[key] = tls[key];
    }
    this.pool = new Pool(parsed.origin, { connect: { ...this.tls, timeout: this.connectTimeoutMs }, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    this.dispatcher = this.pool.compose(trackAttempts);
  }

  // ---------------------------------------------------------------- capabilities

  async capabilities(receiverIdentifier: string, query: { process?: string; securityLevel?: number } = {}): Promise<Capabilities> {
    const path = `/api/capabilities/${segment(receiverIdentifier, 'receiverIdentifier')}`;
    const call: Call = { method: 'GET', path, query: { process: query.process, securityLevel: query.securityLevel } };
    return this.json(call, Capabilities, 'capabilities');
  }

  // ---------------------------------------------------------------- outgoing

  /** Step 1 of the three-step send: the SBD is checked here first, then the IP returns it with its defaults. */
  async createMessage(sbd: StandardBusinessDocument): Promise<StandardBusinessDocument> {
    parseSbd(sbd, 'sbd');
    return this.sbd({ method: 'POST', path: '/api/messages/out', json: sbd });
  }

  /** Step 2: one attachment as a raw streamed PUT with Content-Length when the size is known. */
  async uploadFile(messageId: string, file: UploadFile, onProgress?: ProgressCallback): Promise<void> {
    const path = `/api/messages/out/${segment(messageId, 'messageId')}`;
    const resolved = await resolveUploadFile(file, 'file');
    const headers: Record<string, string> = {
      'content-type': resolved.mimeType,
      'content-disposition': contentDisposition('attachment', { name: resolved.title, filename: resolved.filename }),
    };
    // A file on disk goes as chunks in reused buffers (undici writes each before it asks for the next).
    const open = resolved.chunks ?? resolved.open;
    const upload: UploadBody = { open, length: resolved.size, reopenable: resolved.reopenable, headers, onProgress };
    await this.empty({ method: 'PUT', path, query: { title: resolved.title }, upload });
  }

  /** Step 3: hand the message to transport. Never repeated automatically. */
  async sendMessage(messageId: string): Promise<void> {
    await this.empty({ method: 'POST', path: `/api/messages/out/${segment(messageId, 'messageId')}` });
  }

  /** Create, attach and send in one request (every file ≤ 5 MiB; larger ones are refused before any request). */
  async sendMultipart(sbd: StandardBusinessDocument, files: UploadFile[], onProgress?: ProgressCallback): Promise<StandardBusinessDocument> {
    parseSbd(sbd, 'sbd');
    if (!Array.isArray(files)) throw new ValidationError('files: expected an array of files (it may be empty)');
    const resolved = [];
    for (let i = 0; i < files.length; i++) resolved.push(await resolveUploadFile(files[i], `files[${i}]`));
    checkMultipartSizes(resolved);
    const body = buildMultipart(JSON.stringify(sbd), resolved);
    const upload: UploadBody = { open: body.open, length: body.contentLength, reopenable: body.reopenable, headers: { 'content-type': body.contentType }, onProgress };
    return this.sbd({ method: 'POST', path: '/api/messages/out/multipart', upload });
  }

  async listOutgoing(filter: OutgoingFilter = {}): Promise<Page<StandardBusinessDocument>> {
    const query = filterQuery(filter);
    return this.json({ method: 'GET', path: '/api/messages/out', query }, SbdPage, 'page of messages') as Promise<Page<StandardBusinessDocument>>;
  }

  async getOutgoing(messageId: string): Promise<StandardBusinessDocument> {
    return this.sbd({ method: 'GET', path: `/api/messages/out/${segment(messageId, 'messageId')}` });
  }

  async deleteOutgoing(messageId: string): Promise<void> {
    await this.empty({ method: 'DELETE', path: `/api/messages/out/${segment(messageId, 'messageId')}` });
  }

  // ---------------------------------------------------------------- incoming

  async listIncoming(filter: IncomingFilter & PageRequest = {}): Promise<Page<StandardBusinessDocument>> {
    const query = filterQuery(filter);
    return this.json({ method: 'GET', path: '/api/messages/in', query }, SbdPage, 'page of messages') as Promise<Page<StandardBusinessDocument>>;
  }

  /** Locks and returns the oldest matching incoming message, or null when there is none (204). */
  async peek(filter: IncomingFilter = {}): Promise<StandardBusinessDocument | null> {
    return this.exchange({ method: 'GET', path: '/api/messages/in/peek', query: { ...filter } }, async (res, call) => {
      if (res.statusCode === 204) {
        await res.body.dump();
        return null;
      }
      return (await this.readJson(res, call, SbdResponse, 'SBD')) as StandardBusinessDocument;
    });
  }

  /**
   * The ASiC-E of a locked message as a stream (consume or destroy it); null for receipts (204). Does not remove
   * the message: acknowledge with deleteIncoming.
   */
  async pop(messageId: string): Promise<PopResult | null> {
    const call: Call = { method: 'GET', path: `/api/messages/in/pop/${segment(messageId, 'messageId')}`, accept: '*/*' };
    return this.exchange(call, async (res) => {
      if (res.statusCode === 204) {
        await res.body.dump();
        return null;
      }
      const length = Number(res.headers['content-length']);
      return {
        body: res.body,
        contentType: typeof res.headers['content-type'] === 'string' ? res.headers['content-type'] : undefined,
        contentLength: Number.isFinite(length) && res.headers['content-length'] !== undefined ? length : undefined,
      };
    });
  }

  /**
   * pop, streamed to `destPath` through a temp file in the same directory (fsync, then rename), with its size and
   * SHA-256. A download cut off by the network is tried again (GET is safe); on failure nothing is left at destPath.
   */
  async popToFile(messageId: string, destPath: string): Promise<DownloadResult | null> {
    return (await this.popToPath(messageId, destPath, { hash: true })) as DownloadResult | null;
  }

  /**
   * pop straight into a file, for large messages: written to `partPath` (by default a temp name beside
   * `destPath`), flushed to disk (unless `durable` is false), then renamed to `destPath`. null for receipts (204).
   * The body is read through one reused buffer (see http-get.ts), so a gigabyte costs no more garbage collection
   * than a kilobyte. Fails with an IntegrasjonspunktError (the IP's answer, or none), a SaveFileError (the local
   * file), a TooLargeError (past `maxBytes`) or the abort reason; nothing is left at `partPath` or `destPath` then.
   */
  async popToPath(messageId: string, destPath: string, options: PopToPathOptions = {}): Promise<SavedDownload | null> {
    if (typeof destPath !== 'string' || destPath === '') throw new ValidationError(`destPath: expected a file path, got ${JSON.stringify(destPath)}`);
    const path = `/api/messages/in/pop/${segment(messageId, 'messageId')}`;
    const partPath = options.partPath ?? `${destPath}.part-${randomBytes(6).toString('hex')}`;
    const retries = options.retries ?? this.retries;
    const request = {
      url: new URL(this.url + path),
      headers: this.requestHeaders('*/*'),
      tls: this.tls,
      connectTimeoutMs: this.connectTimeoutMs,
      timeoutMs: this.timeoutMs,
      signal: options.signal,
    };
    for (let attempt = 0; ; attempt++) {
      const file = await FileSink.open(partPath, { maxBytes: options.maxBytes, durable: options.durable, hash: options.hash, reportPath: destPath });
      let status: number;
      const errorBody = textSink();
      let contentType: string | undefined;
      try {
        ({ head: { status, headers: { 'content-type': contentType } } } = await getInto(
          request,
          (head, resume) => {
            if (head.status >= 200 && head.status < 300) {
              file.resume = resume;
              return file;
            }
            return errorBody;
          },
          this.downloads,
        ));
      } catch (err) {
        await file.discard();
        if (options.signal?.aborted || err instanceof TooLargeError || err instanceof SaveFileError) throw err;
        const error = errorFromNetwork('GET', path, err, this.url, (err as Partial<GetFailure>).requestSent ?? false, this.timeouts());
        if (attempt >= retries || !TRANSIENT_CODES.has(error.code ?? '')) throw error;
        await sleep(this.backoff(attempt));
        continue;
      }
      if (status === 204 || status < 200 || status >= 300) {
        await file.discard();
        if (status === 204) return null;
        if (attempt < retries && GATEWAY_STATUSES.has(status)) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw errorFromResponse('GET', path, status, contentType, errorBody.text(), this.url);
      }
      let saved: { size: number; sha256?: string };
      try {
        saved = await file.finish();
        await rename(partPath, destPath).catch((err) => Promise.reject(new SaveFileError(destPath, err)));
      } catch (err) {
        await rm(partPath, { force: true });
        throw err;
      }
      return { path: destPath, ...saved };
    }
  }

  /** Acknowledges (removes) a locked incoming message; returns its SBD. */
  async deleteIncoming(messageId: string): Promise<StandardBusinessDocument> {
    return this.sbd({ method: 'DELETE', path: `/api/messages/in/${segment(messageId, 'messageId')}` });
  }

  // ---------------------------------------------------------------- statuses

  async listStatuses(filter: StatusFilter = {}): Promise<Page<MessageStatus>> {
    const query = filterQuery(filter);
    return this.json({ method: 'GET', path: '/api/statuses', query }, StatusPage, 'page of statuses') as Promise<Page<MessageStatus>>;
  }

  async statusesOf(messageId: string, page?: PageRequest): Promise<Page<MessageStatus>> {
    const call: Call = { method: 'GET', path: `/api/statuses/${segment(messageId, 'messageId')}`, query: pageQuery(page) };
    return this.json(call, StatusPage, 'page of statuses') as Promise<Page<MessageStatus>>;
  }

  /** Every status of one message, oldest first, walking all pages. */
  async allStatusesOf(messageId: string): Promise<MessageStatus[]> {
    const all: MessageStatus[] = [];
    for (let page = 0; ; page++) {
      const result = await this.statusesOf(messageId, { page, size: 100, sort: 'id,asc' });
      all.push(...result.content);
      if (result.last || result.content.length === 0) return all;
    }
  }

  /** Head of the IP's status queue, or null when it is empty (204). */
  async peekStatus(): Promise<MessageStatus | null> {
    return this.exchange({ method: 'GET', path: '/api/statuses/peek' }, async (res, call) => {
      if (res.statusCode === 204) {
        await res.body.dump();
        return null;
      }
      return this.readJson(res, call, MessageStatus, 'status');
    });
  }

  /** Removes a status from the status queue; false when it was not there (404). */
  async deleteStatus(id: number): Promise<boolean> {
    try {
      await this.empty({ method: 'DELETE', path: `/api/statuses/${numericId(id, 'id')}` });
      return true;
    } catch (err) {
      if (err instanceof IntegrasjonspunktError && err.status === 404) return false;
      throw err;
    }
  }

  // ---------------------------------------------------------------- conversations

  async listConversations(filter: ConversationFilter = {}): Promise<Page<Conversation>> {
    const query = filterQuery(filter);
    return this.json({ method: 'GET', path: '/api/conversations', query }, ConversationPage, 'page of conversations') as Promise<Page<Conversation>>;
  }

  async getConversation(id: number): Promise<Conversation> {
    return this.json({ method: 'GET', path: `/api/conversations/${numericId(id, 'id')}` }, Conversation, 'conversation');
  }

  async getConversationByMessageId(messageId: string): Promise<Conversation> {
    return this.json({ method: 'GET', path: `/api/conversations/messageId/${segment(messageId, 'messageId')}` }, Conversation, 'conversation');
  }

  async deleteConversation(id: number): Promise<void> {
    await this.empty({ method: 'DELETE', path: `/api/conversations/${numericId(id, 'id')}` });
  }

  async deleteConversationByMessageId(messageId: string): Promise<void> {
    await this.empty({ method: 'DELETE', path: `/api/conversations/messageId/${segment(messageId, 'messageId')}` });
  }

  /** Conversations the IP still polls status for. */
  async conversationQueue(page?: PageRequest): Promise<Page<Conversation>> {
    const call: Call = { method: 'GET', path: '/api/conversations/queue', query: pageQuery(page) };
    return this.json(call, ConversationPage, 'page of conversations') as Promise<Page<Conversation>>;
  }

  // ---------------------------------------------------------------- subscriptions

  async listSubscriptions(page?: PageRequest): Promise<Page<Subscription>> {
    const call: Call = { method: 'GET', path: '/api/subscriptions', query: pageQuery(page) };
    return this.json(call, SubscriptionPage, 'page of subscriptions') as Promise<Page<Subscription>>;
  }

  async getSubscription(id: number): Promise<Subscription> {
    return this.json({ method: 'GET', path: `/api/subscriptions/${numericId(id, 'id')}` }, Subscription, 'subscription');
  }

  async createSubscription(input: SubscriptionInput): Promise<Subscription> {
    parseWith(SubscriptionCreate, input, 'subscription');
    return this.json({ method: 'POST', path: '/api/subscriptions', json: input }, Subscription, 'subscription');
  }

  /** Partial update: only the given fields change (a filter cannot be cleared; delete and recreate). */
  async updateSubscription(id: number, changes: Partial<SubscriptionInput>): Promise<void> {
    const path = `/api/subscriptions/${numericId(id, 'id')}`;
    parseWith(SubscriptionChanges, changes, 'subscription changes');
    await this.empty({ method: 'PUT', path, json: changes });
  }

  async deleteSubscription(id: number): Promise<void> {
    await this.empty({ method: 'DELETE', path: `/api/subscriptions/${numericId(id, 'id')}` });
  }

  async deleteAllSubscriptions(): Promise<void> {
    await this.empty({ method: 'DELETE', path: '/api/subscriptions' });
  }

  /** Closes the connection pool; requests made afterwards fail. */
  async close(): Promise<void> {
    this.downloads.close();
    if (!this.pool.closed && !this.pool.destroyed) await this.pool.close();
  }

  // ---------------------------------------------------------------- plumbing

  private timeouts() {
    return { headersMs: this.timeoutMs, connectMs: this.connectTimeoutMs };
  }

  private backoff(attempt: number): number {
    return this.retryDelayMs * 2 ** attempt;
  }

  private sbd(call: Call): Promise<StandardBusinessDocument> {
    return this.json(call, SbdResponse, 'SBD') as Promise<StandardBusinessDocument>;
  }

  private json<T extends z.ZodType>(call: Call, schema: T, what: string): Promise<z.infer<T>> {
    return this.exchange(call, (res) => this.readJson(res, call, schema, what));
  }

  private empty(call: Call): Promise<void> {
    return this.exchange(call, async (res) => {
      await res.body.dump();
    });
  }

  private async readJson<T extends z.ZodType>(res: Dispatcher.ResponseData, call: Call, schema: T, what: string): Promise<z.infer<T>> {
    const text = await res.body.text();
    const fail = (why: string) =>
      new IntegrasjonspunktError(`${call.method} ${call.path} failed: the server at ${this.url} answered ${res.statusCode} ${why}`, {
        status: res.statusCode,
        method: call.method,
        path: call.path,
        code: 'EFM_INVALID_RESPONSE',
      });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw fail(`with a non-JSON body; is the URL the Integrasjonspunkt?`);
    }
    const result = schema.safeParse(json);
    if (!result.success) throw fail(`with a body that is not what the Integrasjonspunkt sends: ${formatZodError(result.error, what)}`);
    return result.data;
  }

  /** The headers of every request: who we are, what we take, and the credentials. */
  private requestHeaders(accept: string): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, accept };
    if (this.authorization) headers.authorization = this.authorization;
    return headers;
  }

  private headersFor(call: Call, state: AttemptState): { headers: Record<string, string>; body?: Buffer | Readable | AsyncIterable<Buffer> } {
    const headers = this.requestHeaders(call.accept ?? 'application/json');
    if (call.json !== undefined) {
      headers['content-type'] = 'application/json';
      return { headers, body: Buffer.from(JSON.stringify(call.json), 'utf8') };
    }
    if (!call.upload) return { headers };
    const { upload } = call;
    Object.assign(headers, upload.headers);
    if (upload.length !== undefined) headers['content-length'] = String(upload.length);
    if (upload.onProgress) {
      const { onProgress } = upload;
      let sentBytes = 0;
      state.onBodyBytes = (n) => onProgress((sentBytes += n), upload.length);
    }
    const content = upload.open();
    if (Buffer.isBuffer(content)) return { headers, body: content };
    if (content instanceof Readable) {
      content.once('error', (err) => (state.bodyError = err));
      return { headers, body: content };
    }
    return { headers, body: noticeErrors(content, state) };
  }

  /**
   * One request with retries where repeating is safe: a GET after a network failure or 502/503/504, and any
   * request that failed before it reached a socket. `read` turns a 2xx answer into the result.
   */
  private async exchange<T>(call: Call, read: (res: Dispatcher.ResponseData, call: Call) => Promise<T>): Promise<T> {
    const fullPath = this.basePath + call.path + queryString(call.query);
    const repeatable = !call.upload || call.upload.reopenable;
    for (let attempt = 0; ; attempt++) {
      const state: AttemptState = { sent: false };
      const canRetry = attempt < this.retries && repeatable;
      try {
        const { headers, body } = this.headersFor(call, state);
        const options = { path: fullPath, method: call.method, headers, body, [ATTEMPT_STATE]: state };
        const res = await this.dispatcher.request(options as Dispatcher.RequestOptions);
        if (res.statusCode >= 200 && res.statusCode < 300) {
          return await read(res, call);
        }
        const text = await res.body.text();
        if (canRetry && call.method === 'GET' && GATEWAY_STATUSES.has(res.statusCode)) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw errorFromResponse(call.method, call.path, res.statusCode, res.headers['content-type'] as string | undefined, text, this.url);
      } catch (err) {
        if (err instanceof IntegrasjonspunktError || err instanceof ValidationError) throw err;
        if (state.bodyError) throw state.bodyError;
        const error = errorFromNetwork(call.method, call.path, err, this.url, state.sent, this.timeouts());
        const safe = call.method === 'GET' || !state.sent;
        if (!(canRetry && safe && TRANSIENT_CODES.has(error.code ?? ''))) throw error;
        await sleep(this.backoff(attempt));
      }
    }
  }
}
