import type { IncomingMessage } from 'node:http';
import { formatZodError } from '../../schemas/format';
import { WebhookEvent } from '../../schemas/webhook';

/** Largest event body accepted; real events are well under 1 KiB. */
export const MAX_EVENT_BYTES = 1024 * 1024;

export type EventBodyResult = { ok: true; event: WebhookEvent } | { ok: false; status: 400 | 413; reason: string };

/** A request as Express hands it over: a body parser may already have read the body into `body`. */
export interface EventRequest extends IncomingMessage {
  body?: unknown;
  /** Set by body-parser once it has consumed the stream. */
  _body?: boolean;
}

/**
 * Reads and validates one webhook event (ping or status) from a request. Copes with a body Node-RED's body parser
 * already parsed (an object), read as text or raw (string/Buffer), or still unread (streamed here, at most
 * `limitBytes`).
 */
export async function readWebhookEvent(req: EventRequest, limitBytes = MAX_EVENT_BYTES): Promise<EventBodyResult> {
  // Checked first, also for a body a parser already read: with Node-RED's defaults (httpAdminRoot and httpNodeRoot
  // both "/") the editor's JSON parser reads every request body, up to its own 5 MB limit, before it gets here.
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) return tooLarge(limitBytes);
  let body: unknown;
  if (req._body === true || req.readableEnded || typeof req.body === 'string' || Buffer.isBuffer(req.body)) {
    body = req.body;
    const parsed = body !== null && typeof body === 'object' && !Buffer.isBuffer(body);
    if (parsed && Buffer.byteLength(JSON.stringify(body)) > limitBytes) return tooLarge(limitBytes);
  } else {
    const raw = await readLimited(req, limitBytes);
    if (raw === undefined) return tooLarge(limitBytes);
    body = raw;
  }
  if (Buffer.isBuffer(body)) {
    if (body.length > limitBytes) return tooLarge(limitBytes);
    body = body.toString('utf8');
  }
  if (typeof body === 'string') {
    if (Buffer.byteLength(body) > limitBytes) return tooLarge(limitBytes);
    if (body.trim() === '') return { ok: false, status: 400, reason: 'Invalid webhook event: the body is empty' };
    try {
      body = JSON.parse(body);
    } catch (err) {
      return { ok: false, status: 400, reason: `Invalid webhook event: the body is not JSON (${(err as Error).message})` };
    }
  }
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, status: 400, reason: 'Invalid webhook event: expected a JSON object' };
  }
  const parsed = WebhookEvent.safeParse(body);
  if (!parsed.success) return { ok: false, status: 400, reason: formatZodError(parsed.error, 'webhook event') };
  return { ok: true, event: parsed.data };
}

function tooLarge(limitBytes: number): EventBodyResult {
  return { ok: false, status: 413, reason: `Webhook event too large: more than ${limitBytes} bytes` };
}

/** The body as a Buffer, or undefined as soon as it grows past `limitBytes` (the rest is then left unread). */
function readLimited(req: IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        cleanup();
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
