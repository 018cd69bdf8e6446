import { STATUS_CODES } from 'node:http';
import { IpErrorBody } from '../schemas/error';

export interface IntegrasjonspunktErrorInit {
  status: number;
  method: string;
  path: string;
  exception?: string;
  ipMessage?: string;
  description?: string;
  body?: IpErrorBody;
  code?: string;
  /** False when the request certainly never left this process (e.g. connection refused). */
  requestSent?: boolean;
  cause?: unknown;
}

/**
 * A request to the Integrasjonspunkt that failed: either the IP answered with a non-2xx status (then `status`,
 * `exception`, `ipMessage`… come from its error body), or no answer came (`status` 0, `code` says why).
 */
export class IntegrasjonspunktError extends Error {
  /** HTTP status; 0 = no answer (network failure or timeout). */
  readonly status: number;
  /** Fully-qualified exception class name from the IP's error body. */
  readonly exception?: string;
  /** Simple class name, e.g. MessageAlreadyExistsException. */
  readonly exceptionName?: string;
  /** The IP's own `message` field. */
  readonly ipMessage?: string;
  /** Extra detail (ReceiverDoesNotAcceptProcessException). */
  readonly description?: string;
  readonly method: string;
  /** The API path, without query string, e.g. /api/messages/out. */
  readonly path: string;
  readonly body?: IpErrorBody;
  /** Error code for failures without an answer, e.g. ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT. */
  readonly code?: string;
  readonly requestSent: boolean;

  constructor(message: string, init: IntegrasjonspunktErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'IntegrasjonspunktError';
    this.status = init.status;
    this.exception = init.exception;
    this.exceptionName = init.exception ? init.exception.slice(init.exception.lastIndexOf('.') + 1) : undefined;
    this.ipMessage = init.ipMessage;
    this.description = init.description;
    this.method = init.method;
    this.path = init.path;
    this.body = init.body;
    this.code = init.code;
    this.requestSent = init.requestSent ?? true;
  }

  /**
   * True when the IP may have done the work although we got no usable answer: no answer after the request was
   * sent, or a gateway error (502/503/504). Resolve it (e.g. look the message up) before repeating a POST/PUT/DELETE.
   */
  get answerLost(): boolean {
    if (this.status === 0) return this.requestSent;
    return this.status === 502 || this.status === 503 || this.status === 504;
  }
}

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown Status';
}

/**
 * The error for a non-2xx answer, from the IP's error body (§10) when there is one.
 * `baseUrl` names the server when the body is not the IP's.
 */
export function errorFromResponse(method: string, path: string, status: number, contentType: string | undefined, text: string, baseUrl: string): IntegrasjonspunktError {
  const prefix = `${method} ${path} failed: ${status}`;
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const parsed = IpErrorBody.safeParse(json);
  if (!parsed.success) {
    const what = text.trim() ? `a non-JSON body${contentType ? ` (${contentType.split(';')[0]})` : ''}` : 'an empty body';
    const hint = status === 401 ? 'check the username and password' : 'is the URL the Integrasjonspunkt?';
    const message = `${method} ${path} failed: the server at ${baseUrl} answered ${status} ${reasonPhrase(status)} with ${json === undefined ? what : 'a JSON body that is not an Integrasjonspunkt error'}; ${hint}`;
    return new IntegrasjonspunktError(message, { status, method, path });
  }
  const body = parsed.data;
  const exceptionName = body.exception ? body.exception.slice(body.exception.lastIndexOf('.') + 1) : undefined;
  let message = `${prefix} ${exceptionName ?? body.error ?? reasonPhrase(status)}`;
  if (body.message) message += `: ${body.message}`;
  if (body.description) message += ` (${body.description})`;
  if (body.errors?.length) {
    const fields = body.errors.slice(0, 5).map((e) => (e.field ? `${e.field}: ${e.defaultMessage ?? e.code ?? 'invalid'}` : (e.defaultMessage ?? e.code ?? 'invalid')));
    message += ` [${fields.join('; ')}]`;
  }
  if (status === 401) message += ' (check the username and password)';
  return new IntegrasjonspunktError(message, {
    status,
    method,
    path,
    exception: body.exception,
    ipMessage: body.message,
    description: body.description,
    body,
  });
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the server closed the connection',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'the answer stalled',
  UND_ERR_CLOSED: 'the client is closed',
  UND_ERR_DESTROYED: 'the client is closed',
  UND_ERR_ABORTED: 'the request was aborted',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'the upload did not have the announced size',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'the answer was shorter than announced',
};

/** The code of a network error; undici and net put it on `code`, Node's happy-eyeballs AggregateError on its parts. */
export function networkErrorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: unknown[]; cause?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (Array.isArray(e?.errors)) {
    for (const inner of e.errors) {
      const code = networkErrorCode(inner);
      if (code) return code;
    }
  }
  if (e?.cause && e.cause !== err) return networkErrorCode(e.cause);
  return undefined;
}

/** A failure without an answer, turned into one sentence naming the URL. */
export function errorFromNetwork(method: string, path: string, err: unknown, baseUrl: string, requestSent: boolean, timeouts: { headersMs: number; connectMs: number }): IntegrasjonspunktError {
  const code = networkErrorCode(err) ?? 'UNKNOWN';
  let reason = NETWORK_REASONS[code] ?? ((err as Error)?.message || 'unknown error');
  if (code === 'UND_ERR_HEADERS_TIMEOUT') reason = `no answer within ${timeouts.headersMs} ms`;
  else if (code === 'UND_ERR_BODY_TIMEOUT') reason = `the answer stalled for ${timeouts.headersMs} ms`;
  else if (code === 'UND_ERR_CONNECT_TIMEOUT') reason = `no connection within ${timeouts.connectMs} ms`;
  else if (!NETWORK_REASONS[code] && /cert|ssl|tls/i.test(`${code} ${(err as Error)?.message}`)) reason = `TLS failed: ${(err as Error).message}`;
  let message: string;
  if (!requestSent) {
    message = `Cannot reach the Integrasjonspunkt at ${baseUrl}: ${reason} (${code})`;
  } else if (method === 'GET') {
    message = `${method} ${path} failed: no answer from the Integrasjonspunkt at ${baseUrl}: ${reason} (${code})`;
  } else {
    message = `${method} ${path} failed: the answer from the Integrasjonspunkt at ${baseUrl} was lost: ${reason} (${code}); it may have done the work, check before repeating`;
  }
  return new IntegrasjonspunktError(message, { status: 0, method, path, code, requestSent, cause: err });
}
