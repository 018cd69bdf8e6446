import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { SimulatorError, reasonPhrase, sendError } from './errors';

/** A fault to inject into matching requests (contracts.md). */
export interface FaultRule {
  /** e.g. 'PUT'; any method when absent */
  method?: string;
  /** A RegExp, or the source of one, matched against the URL path (no query). */
  path: string | RegExp;
  /** How many matching requests it applies to, default 1. */
  times?: number;
  /** Answer with this status and an IP error body, without doing the work. */
  status?: number;
  exception?: string;
  /** Wait this long before handling (then handle normally unless status/drop is also given). */
  delayMs?: number;
  /**
   * before: destroy the socket without doing the work; after: do the work, then destroy the socket instead of
   * answering; midway: cut the connection halfway through the request body (uploads) or the response body (downloads).
   */
  drop?: 'before' | 'after' | 'midway';
}

interface ActiveFault {
  rule: FaultRule;
  pattern: RegExp;
  remaining: number;
}

const DROPS = ['before', 'after', 'midway'];

/** Checks a rule (e.g. the JSON body of POST /__simulator/faults); errors name the field. */
export function parseFaultRule(input: unknown): FaultRule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error('expected a JSON object with at least "path"');
  const r = input as Record<string, unknown>;
  if (!(r.path instanceof RegExp) && typeof r.path !== 'string') throw new Error('path: expected a regular expression (string) matched against the URL path');
  if (typeof r.path === 'string') {
    try {
      new RegExp(r.path);
    } catch (err) {
      throw new Error(`path: not a valid regular expression: ${(err as Error).message}`);
    }
  }
  if (r.method !== undefined && (typeof r.method !== 'string' || !/^[A-Za-z]+$/.test(r.method))) throw new Error('method: expected an HTTP method such as "PUT"');
  if (r.times !== undefined && !(Number.isInteger(r.times) && (r.times as number) >= 1)) throw new Error('times: expected a whole number of at least 1');
  if (r.status !== undefined && !(Number.isInteger(r.status) && (r.status as number) >= 200 && (r.status as number) <= 599)) {
    throw new Error('status: expected an HTTP status between 200 and 599');
  }
  if (r.exception !== undefined && typeof r.exception !== 'string') throw new Error('exception: expected an exception class name');
  if (r.delayMs !== undefined && !(typeof r.delayMs === 'number' && r.delayMs >= 0)) throw new Error('delayMs: expected milliseconds (a number of at least 0)');
  if (r.drop !== undefined && !DROPS.includes(r.drop as string)) throw new Error('drop: expected "before", "after" or "midway"');
  if (r.status === undefined && r.delayMs === undefined && r.drop === undefined) throw new Error('expected at least one of status, delayMs or drop');
  if (r.status !== undefined && r.drop !== undefined) throw new Error('status and drop exclude each other: a fault either answers or drops the connection');
  return {
    path: r.path as string | RegExp,
    method: r.method as string | undefined,
    times: r.times as number | undefined,
    status: r.status as number | undefined,
    exception: r.exception as string | undefined,
    delayMs: r.delayMs as number | undefined,
    drop: r.drop as FaultRule['drop'],
  };
}

/** The active fault rules; each applies to the next `times` matching requests, in the order added. */
export class Faults {
  private rules: ActiveFault[] = [];

  add(rule: FaultRule): void {
    const checked = parseFaultRule(rule);
    const pattern = checked.path instanceof RegExp ? checked.path : new RegExp(checked.path);
    this.rules.push({ rule: checked, pattern, remaining: checked.times ?? 1 });
  }

  clear(): void {
    this.rules = [];
  }

  /** The rules still active, as JSON (path as the regex source), with how many requests each still applies to. */
  list(): Array<Record<string, unknown>> {
    return this.rules.map(({ rule, pattern, remaining }) => ({ ...rule, path: pattern.source, times: remaining }));
  }

  /** The first rule matching this request, used up by one. */
  take(method: string, path: string): FaultRule | undefined {
    const index = this.rules.findIndex(
      (f) => (!f.rule.method || f.rule.method.toUpperCase() === method.toUpperCase()) && f.pattern.test(path),
    );
    if (index < 0) return undefined;
    const fault = this.rules[index];
    if (--fault.remaining <= 0) this.rules.splice(index, 1);
    return fault.rule;
  }
}

/** Size of a streamed response body without Content-Length (the ASiC of pop), for cutting it in the middle. */
const expectedBodySizes = new WeakMap<ServerResponse, number>();

export function expectBodySize(res: ServerResponse, size: number): void {
  expectedBodySizes.set(res, size);
}

/** Runs `handle` under a fault: delayed, answered with an error instead, or with its connection dropped. */
export async function withFault(fault: FaultRule | undefined, req: IncomingMessage, res: ServerResponse, path: string, handle: () => Promise<void>): Promise<void> {
  if (!fault) return handle();
  if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
  if (fault.drop === 'before') {
    req.socket.destroy();
    return;
  }
  if (fault.status !== undefined) {
    if (fault.status === 204) {
      res.writeHead(204);
      res.end();
    } else {
      sendError(res, path, new SimulatorError(fault.status, fault.exception, `Simulated fault: ${fault.status} ${reasonPhrase(fault.status)}`));
    }
    return;
  }
  if (fault.drop === 'after') loseAnswer(res);
  if (fault.drop === 'midway') {
    cutRequestMidway(req);
    cutResponseMidway(res);
  }
  return handle();
}

/** The work is done, but the answer never arrives: the socket is destroyed when the handler starts answering. */
function loseAnswer(res: ServerResponse): void {
  const kill = () => {
    res.socket?.destroy();
    return res;
  };
  res.writeHead = kill as unknown as ServerResponse['writeHead'];
  res.write = (() => true) as unknown as ServerResponse['write'];
  res.end = kill as unknown as ServerResponse['end'];
}

/** Destroys the socket once half of the request body (by Content-Length; else 64 KiB) has arrived. */
function cutRequestMidway(req: IncomingMessage): void {
  const length = Number(req.headers['content-length']);
  const hasBody = (Number.isFinite(length) && length > 0) || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return;
  const threshold = Number.isFinite(length) && length > 0 ? Math.floor(length / 2) : 64 * 1024;
  let seen = 0;
  let cut = false;
  const push = req.push.bind(req);
  req.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (cut) {
      // A small body may already have been parsed whole; its end must not arrive either, or the handler would
      // take the first half for the whole body. The request breaks off as when the network cuts it.
      if (chunk === null) process.nextTick(() => req.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
      return false;
    }
    if (chunk === null || !Buffer.isBuffer(chunk)) return push(chunk, encoding);
    if (seen + chunk.length < threshold) {
      seen += chunk.length;
      return push(chunk, encoding);
    }
    const keep = threshold - seen;
    seen = threshold;
    cut = true;
    if (keep > 0) push(chunk.subarray(0, keep));
    req.socket.destroy();
    return false;
  };
}

function contentLengthOf(headers: unknown): number | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [key, value] of Object.entries(headers as OutgoingHttpHeaders)) {
    if (key.toLowerCase() === 'content-length') return Number(value);
  }
  return undefined;
}

/** Sends the first half of the response body (by Content-Length or expectBodySize), then destroys the socket. */
function cutResponseMidway(res: ServerResponse): void {
  let total: number | undefined;
  let sent = 0;
  let cut = false;
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  const write = res.write.bind(res) as (chunk: unknown, cb?: () => void) => boolean;
  const cutAfter = (chunk: Buffer) => {
    cut = true;
    write(chunk, () => res.socket?.destroy());
  };
  res.writeHead = ((...args: unknown[]) => {
    total = contentLengthOf(args.find((a) => typeof a === 'object')) ?? (Number(res.getHeader('content-length')) || undefined);
    return writeHead(...args);
  }) as ServerResponse['writeHead'];
  res.write = ((chunk: unknown, encoding?: unknown) => {
    if (cut) return true;
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    const half = Math.floor((total ?? expectedBodySizes.get(res) ?? 0) / 2);
    if (sent + buffer.length < half) {
      sent += buffer.length;
      return write(buffer);
    }
    cutAfter(buffer.subarray(0, Math.max(0, half - sent)));
    return true;
  }) as ServerResponse['write'];
  res.end = ((chunk?: unknown, encoding?: unknown) => {
    if (chunk !== undefined && typeof chunk !== 'function') res.write(chunk as Buffer, encoding as BufferEncoding);
    if (!cut) cutAfter(Buffer.alloc(0));
    return res;
  }) as ServerResponse['end'];
}
