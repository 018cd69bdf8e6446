import type { ServerResponse } from 'node:http';
import { EXCEPTION_PACKAGE } from '../schemas/error';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

export interface FieldErrorBody {
  codes?: string[];
  defaultMessage?: string;
  objectName?: string;
  field?: string;
  rejectedValue?: unknown;
  bindingFailure?: boolean;
  code?: string;
}

/**
 * An error the simulator answers with the IP's error body (§10). `exception` is the fully-qualified class
 * name; a short name such as `MessageNotFoundException` is taken to be in no.difi.meldingsutveksling.exceptions.
 */
export class SimulatorError extends Error {
  readonly status: number;
  readonly exception?: string;
  readonly description?: string;
  readonly errors?: FieldErrorBody[];

  constructor(status: number, exception: string | undefined, message: string, extra: { description?: string; errors?: FieldErrorBody[] } = {}) {
    super(message);
    this.status = status;
    this.exception = exception && !exception.includes('.') ? EXCEPTION_PACKAGE + exception : exception;
    this.description = extra.description;
    this.errors = extra.errors;
  }
}

/** The IP's 404 for a messageId it does not have. */
export function messageNotFound(messageId: string): SimulatorError {
  return new SimulatorError(404, 'MessageNotFoundException', `Message with messageId = ${messageId} was not found`);
}

/** The IP's offset date-time format, in local (Europe/Oslo-like) offset: 2025-06-03T10:05:44.201+02:00 */
export function offsetDateTime(date: Date = new Date()): string {
  const offsetMin = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMin * 60_000);
  const sign = offsetMin >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMin);
  const off = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return local.toISOString().replace('Z', off);
}

/** Pretty-printed JSON with null fields left out, as the IP's Jackson config writes it. */
export function ipJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (v === null ? undefined : v), 2);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, contentType = 'application/json'): void {
  const body = ipJson(value);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function errorBody(status: number, path: string, err: { exception?: string; message?: string; description?: string; errors?: FieldErrorBody[] }) {
  return {
    timestamp: offsetDateTime(),
    status,
    error: reasonPhrase(status),
    exception: err.exception,
    message: err.message,
    description: err.description,
    errors: err.errors,
    path,
  };
}

export function sendError(res: ServerResponse, path: string, err: SimulatorError, extraHeaders: Record<string, string> = {}, withTrace = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const fields: Record<string, unknown> = errorBody(err.status, path, err);
  if (withTrace) fields.trace = (err.stack ?? '').split('\n').map((l) => l.trim());
  const body = ipJson(fields);
  res.writeHead(err.status, { ...extraHeaders, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
