import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { PageRequest } from '../schemas/page';
import type { StatusEvent, Subscription } from '../schemas/webhook';
import { SimulatorError, ipJson, offsetDateTime } from './errors';
import type { FieldErrorBody } from './errors';
import { paginate } from './paging';
import type { SpringPage } from './paging';

export interface WebhooksOptions {
  /** JSON file the subscriptions are kept in. */
  file: string;
  /** Timeout of each push (connect + answer), in ms. */
  timeoutMs: number;
  log?: (line: string) => void;
}

interface StoredState {
  nextId: number;
  subscriptions: Subscription[];
}

const FILTER_KEYS = ['status', 'serviceIdentifier', 'direction'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];
/** The IP's WebhookFilterParser part pattern: name, operator (only `=` exists), value. */
const FILTER_PART = /^(\w+)(=)(.+)$/;

/** Java's String.split: trailing empty strings are dropped. */
function javaSplit(value: string, separator: string): string[] {
  if (!value.includes(separator)) return [value];
  const parts = value.split(separator);
  while (parts.length && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Parses a filter as the IP does; null when it is not a valid filter definition. */
export function parseFilter(filter: string): Array<{ key: FilterKey; values: string[] }> | null {
  const parts: Array<{ key: FilterKey; values: string[] }> = [];
  for (const part of javaSplit(filter, '&')) {
    const m = FILTER_PART.exec(part);
    if (!m || !(FILTER_KEYS as readonly string[]).includes(m[1])) return null;
    parts.push({ key: m[1] as FilterKey, values: m[3].split(',') });
  }
  return parts;
}

/** Whether a status event passes a subscription's filter: AND across parts, OR within one, case-insensitive. */
export function filterMatches(filter: string | undefined, event: StatusEvent): boolean {
  if (!filter || !filter.trim()) return true;
  const parts = parseFilter(filter);
  if (!parts) return false;
  return parts.every(({ key, values }) => {
    const actual = event[key];
    return typeof actual === 'string' && values.some((v) => v.toLowerCase() === actual.toLowerCase());
  });
}

function fieldError(field: string, code: string, defaultMessage: string, rejectedValue: unknown): FieldErrorBody {
  return {
    codes: [`${code}.subscription.${field}`, `${code}.${field}`, `${code}.java.lang.String`, code],
    defaultMessage,
    objectName: 'subscription',
    field,
    rejectedValue,
    bindingFailure: false,
    code,
  };
}

function isValidUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

type SubscriptionFields = Partial<Record<'name' | 'pushEndpoint' | 'resource' | 'event' | 'filter', string>> & { id?: unknown };

/** Reads the JSON body's fields as Jackson would bind them to strings (numbers and booleans become text). */
function readFields(input: unknown): SubscriptionFields {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SimulatorError(400, 'org.springframework.http.converter.HttpMessageNotReadableException', 'JSON parse error: expected a subscription object');
  }
  const body = input as Record<string, unknown>;
  const fields: SubscriptionFields = {};
  for (const key of ['name', 'pushEndpoint', 'resource', 'event', 'filter'] as const) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value === 'object') {
      throw new SimulatorError(
        400,
        'org.springframework.http.converter.HttpMessageNotReadableException',
        `JSON parse error: ${key}: expected a string, got ${Array.isArray(value) ? 'an array' : 'an object'}`,
      );
    }
    fields[key] = String(value);
  }
  if (body.id !== undefined && body.id !== null) fields.id = body.id;
  return fields;
}

/** Bean validation of a subscription (§9.1); `creating` adds the create group's required/absent checks. */
function validate(fields: SubscriptionFields, creating: boolean): void {
  const errors: FieldErrorBody[] = [];
  if (creating) {
    if (fields.id !== undefined) errors.push(fieldError('id', 'Null', 'must be null', fields.id));
    for (const key of ['name', 'pushEndpoint', 'resource', 'event'] as const) {
      if (fields[key] === undefined) errors.push(fieldError(key, 'NotNull', 'must not be null', null));
    }
  }
  if (fields.pushEndpoint !== undefined && !isValidUrl(fields.pushEndpoint)) {
    errors.push(fieldError('pushEndpoint', 'URL', 'must be a valid URL', fields.pushEndpoint));
  }
  if (fields.resource !== undefined && fields.resource !== 'all' && fields.resource !== 'messages') {
    errors.push(fieldError('resource', 'OneOf', `'${fields.resource}' is not expected. Allowed values are: all, messages`, fields.resource));
  }
  if (fields.event !== undefined && fields.event !== 'all' && fields.event !== 'status') {
    errors.push(fieldError('event', 'OneOf', `'${fields.event}' is not expected. Allowed values are: all, status`, fields.event));
  }
  if (fields.filter !== undefined && parseFilter(fields.filter) === null) {
    errors.push(fieldError('filter', 'WebhookFilter', 'Must be a valid filter definition.', fields.filter));
  }
  if (errors.length) {
    const method = creating ? 'createSubscription' : 'updateSubscription';
    const message = errors.map((e) => `${method}.subscription.${e.field}: ${e.defaultMessage}`).join(', ');
    throw new SimulatorError(400, 'jakarta.validation.ConstraintViolationException', message, { errors });
  }
}

function notFound(id: number): SimulatorError {
  return new SimulatorError(404, 'SubscriptionNotFoundException', `Subscription with id = ${id} was not found`);
}

function duplicate(): SimulatorError {
  return new SimulatorError(400, 'SubscriptionWithSameNameAndPushEndpointAlreadyExists', 'Subscription with same name and push endpoint already exists.');
}

/** Webhook subscriptions (§9): validated, persisted in a JSON file, pinged on create, pushed status events once. */
export class Webhooks {
  private readonly file: string;
  private readonly timeoutMs: number;
  private readonly log: (line: string) => void;
  private subscriptions: Subscription[] = [];
  private nextId = 1;
  private readonly inFlight = new Set<{ request: http.ClientRequest; done: Promise<void> }>();
  private closed = false;

  constructor(options: WebhooksOptions) {
    this.file = options.file;
    this.timeoutMs = options.timeoutMs;
    this.log = options.log ?? (() => {});
  }

  /** Reads the persisted subscriptions; a missing file means none. */
  async load(): Promise<void> {
    if (!existsSync(this.file)) return;
    let state: StoredState;
    try {
      state = JSON.parse(readFileSync(this.file, 'utf8')) as StoredState;
    } catch (err) {
      throw new Error(`Cannot read the webhook subscriptions in ${this.file}: ${(err as Error).message}`);
    }
    this.subscriptions = Array.isArray(state.subscriptions) ? state.subscriptions : [];
    const highest = this.subscriptions.reduce((max, s) => Math.max(max, s.id ?? 0), 0);
    this.nextId = Math.max(Number(state.nextId) || 1, highest + 1);
  }

  list(page: PageRequest = {}): SpringPage<Subscription> {
    const query = new URLSearchParams();
    if (page.page !== undefined) query.set('page', String(page.page));
    if (page.size !== undefined) query.set('size', String(page.size));
    for (const s of ([] as string[]).concat(page.sort ?? [])) query.append('sort', s);
    return paginate(this.subscriptions.map((s) => ({ ...s })), query);
  }

  get(id: number): Subscription {
    const found = this.subscriptions.find((s) => s.id === id);
    if (!found) throw notFound(id);
    return { ...found };
  }

  async create(input: unknown): Promise<Subscription> {
    const fields = readFields(input);
    validate(fields, true);
    const name = fields.name as string;
    const pushEndpoint = fields.pushEndpoint as string;
    if (this.findByNameAndEndpoint(name, pushEndpoint)) throw duplicate();

    await this.ping(pushEndpoint);
    // Checked again: another create with the same pair may have finished while we pinged.
    if (this.findByNameAndEndpoint(name, pushEndpoint)) throw duplicate();

    const subscription: Subscription = {
      id: this.nextId++,
      name,
      pushEndpoint,
      resource: fields.resource as Subscription['resource'],
      event: fields.event as Subscription['event'],
      ...(fields.filter !== undefined ? { filter: fields.filter } : {}),
    };
    this.subscriptions.push(subscription);
    this.save();
    return { ...subscription };
  }

  /** Partial update: only the fields given (non-null) change; a changed pushEndpoint is pinged. */
  async update(id: number, input: unknown): Promise<void> {
    const fields = readFields(input);
    validate(fields, false);
    const existing = this.subscriptions.find((s) => s.id === id);
    if (!existing) throw notFound(id);

    const name = fields.name ?? existing.name;
    const pushEndpoint = fields.pushEndpoint ?? existing.pushEndpoint;
    const other = this.findByNameAndEndpoint(name, pushEndpoint);
    if (other && other.id !== id) throw duplicate();

    if (fields.pushEndpoint !== undefined && fields.pushEndpoint !== existing.pushEndpoint) {
      await this.ping(fields.pushEndpoint);
    }
    const current = this.subscriptions.find((s) => s.id === id);
    if (!current) throw notFound(id);
    if (fields.name !== undefined) current.name = fields.name;
    if (fields.pushEndpoint !== undefined) current.pushEndpoint = fields.pushEndpoint;
    if (fields.resource !== undefined) current.resource = fields.resource as Subscription['resource'];
    if (fields.event !== undefined) current.event = fields.event as Subscription['event'];
    if (fields.filter !== undefined) current.filter = fields.filter;
    this.save();
  }

  delete(id: number): void {
    const index = this.subscriptions.findIndex((s) => s.id === id);
    if (index < 0) throw notFound(id);
    this.subscriptions.splice(index, 1);
    this.save();
  }

  deleteAll(): void {
    this.subscriptions = [];
    this.save();
  }

  /** POSTs the event once to every matching subscription; no retries, failures only logged. */
  publish(event: StatusEvent): void {
    if (this.closed) return;
    const body = ipJson(event);
    for (const s of this.subscriptions) {
      const resourceOk = s.resource === 'all' || s.resource === event.resource;
      const eventOk = s.event === 'all' || s.event === event.event;
      if (resourceOk && eventOk && filterMatches(s.filter, event)) {
        void this.post(s.pushEndpoint, body);
      }
    }
  }

  /** Aborts pushes still under way and waits until they have ended. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.inFlight];
    for (const p of pending) p.request.destroy(new Error('simulator closing'));
    await Promise.all(pending.map((p) => p.done));
  }

  private findByNameAndEndpoint(name: string, pushEndpoint: string): Subscription | undefined {
    return this.subscriptions.find((s) => s.name === name && s.pushEndpoint === pushEndpoint);
  }

  private ping(pushEndpoint: string): Promise<void> {
    return this.post(pushEndpoint, ipJson({ createdTs: offsetDateTime(), event: 'ping' }));
  }

  /** Writes the state to a temp file and renames it, so a crash never leaves half a file. */
  private save(): void {
    const state: StoredState = { nextId: this.nextId, subscriptions: this.subscriptions };
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 2));
    renameSync(tmp, this.file);
  }

  /** One POST; resolves when it has ended either way (errors and non-2xx answers are logged). */
  private post(endpoint: string, body: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      this.log(`webhook push to ${endpoint} skipped: not a URL`);
      return Promise.resolve();
    }
    const transport = url.protocol === 'https:' ? https : http;
    const payload = Buffer.from(body, 'utf8');
    let request!: http.ClientRequest;
    const done = new Promise<void>((resolve) => {
      request = transport.request(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length },
        timeout: this.timeoutMs,
      });
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      request.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) this.log(`webhook push to ${endpoint} answered ${status}`);
        res.resume();
        res.on('end', resolve);
        res.on('error', () => resolve());
        res.on('close', resolve);
      });
      request.on('error', (err) => {
        this.log(`webhook push to ${endpoint} failed: ${err.message}`);
        resolve();
      });
      request.end(payload);
    });
    const entry = { request, done };
    this.inFlight.add(entry);
    void done.then(() => this.inFlight.delete(entry));
    return done;
  }
}
