import type { ServiceIdentifier } from '../schemas/common';
import type { Direction, ReceiptStatus } from '../schemas/status';
import { offsetDateTime } from './errors';
import { paginate, parsePageRequest, toPage } from './paging';
import type { SpringPage } from './paging';
import { DiskStore, JsonLog } from './store';

/** What a conversation is about; kept in conversations/<id>.json. */
export interface ConversationRecord {
  id: number;
  conversationId: string;
  messageId: string;
  sender?: string;
  senderIdentifier?: string;
  receiver?: string;
  receiverIdentifier?: string;
  processIdentifier?: string;
  documentIdentifier?: string;
  messageReference?: string;
  messageTitle?: string;
  /** ms; the last change of the record itself (title/reference), statuses count too, see lastUpdate. */
  updatedAt: number;
  /** ms; expectedResponseDateTime */
  expiry: number;
  direction: Direction;
  serviceIdentifier: ServiceIdentifier;
}

export interface StatusRecord {
  id: number;
  convId: number;
  status: ReceiptStatus;
  /** ms */
  at: number;
  description?: string;
  rawReceipt?: string;
  /** On the status queue (its service is in statusQueueIncludes). */
  queued?: boolean;
}

/** Lines of statuses.jsonl: a status, or the removal of a status from the status queue. */
type StatusLogLine = StatusRecord | { dequeued: number };

/** A conversation in memory: the record, its statuses (id order), and what follows from them. */
export interface Conversation extends ConversationRecord {
  statuses: StatusRecord[];
  /** ms, the newest of updatedAt and the statuses' times */
  lastUpdate: number;
  finished: boolean;
  pollable: boolean;
}

export type ConversationInit = Omit<ConversationRecord, 'id' | 'updatedAt'>;

const RECORD_FIELDS = [
  'id', 'conversationId', 'messageId', 'sender', 'senderIdentifier', 'receiver', 'receiverIdentifier', 'processIdentifier',
  'documentIdentifier', 'messageReference', 'messageTitle', 'updatedAt', 'expiry', 'direction', 'serviceIdentifier',
] as const;

/** Statuses that end a conversation (the IP's COMPLETABLES); LEVERT sets finished too but keeps polling. */
const COMPLETING: ReadonlySet<ReceiptStatus> = new Set(['LEST', 'FEIL', 'LEVETID_UTLOPT', 'INNKOMMENDE_LEVERT']);

/** The IP's status strategies: outgoing services whose status the IP polls from SENDT on, and what stops it. */
const STOP_POLLING: Partial<Record<ServiceIdentifier, ReceiptStatus[]>> = {
  DPV: [],
  DPF: [],
  DPI: ['MOTTATT', 'LEVERT'],
  DPH: ['FEIL', 'LEVERT'],
};

function applyStatus(conv: Conversation, s: StatusRecord): void {
  conv.lastUpdate = Math.max(conv.lastUpdate, s.at);
  const stop = STOP_POLLING[conv.serviceIdentifier];
  if (conv.direction === 'OUTGOING' && stop) {
    if (s.status === 'SENDT') conv.pollable = true;
    else if (stop.includes(s.status)) conv.pollable = false;
  }
  if (s.status === 'LEVERT') conv.finished = true;
  if (COMPLETING.has(s.status)) {
    conv.finished = true;
    conv.pollable = false;
  }
}

export interface StatusFilter {
  id?: number;
  messageId?: string;
  conversationId?: string;
  status?: string;
  from?: number;
  to?: number;
}

export interface ConversationFilter {
  conversationId?: string;
  messageId?: string;
  sender?: string;
  senderIdentifier?: string;
  receiver?: string;
  receiverIdentifier?: string;
  serviceIdentifier?: string;
  messageReference?: string;
  messageTitle?: string;
  pollable?: boolean;
  finished?: boolean;
  direction?: Direction;
  lastUpdateFrom?: number;
  lastUpdateTo?: number;
}

export interface ConversationsOptions {
  statusQueueIncludes: string[];
  /** Up to this many ms (at random) before a new status shows in GET /api/statuses (see SimulatorOptions). */
  statusCommitJitterMs?: number;
  /** Called once for every registered status (webhooks). */
  onStatus: (conv: Conversation, status: StatusRecord) => void;
  log: (line: string) => void;
}

/** Conversations and their statuses (§8): each status at most once per conversation, ids rising. */
export class Conversations {
  private readonly byId = new Map<number, Conversation>();
  private readonly byMessageId = new Map<string, Conversation[]>();
  /** Every status of a live conversation, in id order. */
  private statuses: StatusRecord[] = [];
  /** The statuses on the status queue, oldest first. */
  private queue: StatusRecord[] = [];
  private nextConversationId = 1;
  private nextStatusId = 1;
  /** Statuses not yet "committed" for GET /api/statuses: id → when they show. */
  private readonly committingUntil = new Map<number, number>();
  private readonly statusLog: JsonLog<StatusLogLine>;

  constructor(private readonly store: DiskStore, private readonly options: ConversationsOptions) {
    this.statusLog = new JsonLog(store.path('statuses.jsonl'));
  }

  load(): void {
    const records = this.store.readJsonFiles<ConversationRecord>('conversations', (file, err) =>
      this.options.log(`skipping unreadable conversation ${file}: ${err.message}`),
    );
    for (const r of records) {
      const conv: Conversation = { ...r, statuses: [], lastUpdate: r.updatedAt, finished: false, pollable: false };
      this.index(conv);
      this.nextConversationId = Math.max(this.nextConversationId, r.id + 1);
    }
    const dequeued = new Set<number>();
    const lines = this.statusLog.open((line, err) => this.options.log(`skipping unreadable line ${line} of statuses.jsonl: ${err.message}`));
    for (const line of lines) {
      if ('dequeued' in line) {
        dequeued.add(line.dequeued);
        continue;
      }
      // Ids of deleted conversations are never handed out again: their statuses are still in the log.
      this.nextStatusId = Math.max(this.nextStatusId, line.id + 1);
      this.nextConversationId = Math.max(this.nextConversationId, line.convId + 1);
      const conv = this.byId.get(line.convId);
      if (!conv || conv.statuses.some((s) => s.status === line.status)) continue;
      conv.statuses.push(line);
      applyStatus(conv, line);
      this.statuses.push(line);
    }
    this.statuses.sort((a, b) => a.id - b.id);
    this.queue = this.statuses.filter((s) => s.queued && !dequeued.has(s.id));
  }

  close(): void {
    this.statusLog.close();
  }

  private index(conv: Conversation): void {
    this.byId.set(conv.id, conv);
    const list = this.byMessageId.get(conv.messageId);
    if (list) list.push(conv);
    else this.byMessageId.set(conv.messageId, [conv]);
  }

  private save(conv: Conversation): void {
    const record: Record<string, unknown> = {};
    for (const key of RECORD_FIELDS) record[key] = conv[key];
    this.store.writeJson(this.store.path('conversations', `${conv.id}.json`), record);
  }

  /** The conversation of a message in one direction (a message between two hosted organisations has both). */
  find(messageId: string, direction?: Direction): Conversation | undefined {
    const list = this.byMessageId.get(messageId);
    if (!list) return undefined;
    return direction ? list.find((c) => c.direction === direction) : list[0];
  }

  get(id: number): Conversation | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<Conversation> {
    return this.byId.values();
  }

  /** Creates the conversation with OPPRETTET (or finds the existing one), then registers `statuses`. */
  register(init: ConversationInit, ...statuses: ReceiptStatus[]): Conversation {
    let conv = this.find(init.messageId, init.direction);
    if (!conv) {
      const now = Date.now();
      conv = { ...init, id: this.nextConversationId++, updatedAt: now, statuses: [], lastUpdate: now, finished: false, pollable: false };
      this.save(conv);
      this.index(conv);
      this.addStatus(conv, 'OPPRETTET');
    }
    for (const s of statuses) this.addStatus(conv, s);
    return conv;
  }

  /** Registers a status unless the conversation already has it; returns whether it was added. */
  addStatus(conv: Conversation, status: ReceiptStatus, description?: string, rawReceipt?: string): boolean {
    if (!this.byId.has(conv.id) || conv.statuses.some((s) => s.status === status)) return false;
    const record: StatusRecord = { id: this.nextStatusId++, convId: conv.id, status, at: Date.now() };
    if (description !== undefined) record.description = description;
    if (rawReceipt !== undefined) record.rawReceipt = rawReceipt;
    if (this.options.statusQueueIncludes.includes(conv.serviceIdentifier)) record.queued = true;
    this.statusLog.append(record);
    const jitter = this.options.statusCommitJitterMs ?? 0;
    if (jitter > 0) this.committingUntil.set(record.id, record.at + Math.random() * jitter);
    conv.statuses.push(record);
    applyStatus(conv, record);
    this.statuses.push(record);
    if (record.queued) this.queue.push(record);
    this.options.log(`${conv.direction === 'OUTGOING' ? 'out' : 'in'} ${conv.messageId} ${status}${description ? `: ${description}` : ''}`);
    this.options.onStatus(conv, record);
    return true;
  }

  /** Registers a status on the conversation of messageId in that direction, if there is one. */
  addStatusTo(messageId: string, direction: Direction, status: ReceiptStatus, description?: string, rawReceipt?: string): boolean {
    const conv = this.find(messageId, direction);
    return conv ? this.addStatus(conv, status, description, rawReceipt) : false;
  }

  /** Title and reference read from an uploaded arkivmelding.xml. */
  describe(conv: Conversation, messageTitle: string | undefined, messageReference: string | undefined): void {
    conv.messageTitle = messageTitle;
    if (messageReference !== undefined) conv.messageReference = messageReference;
    conv.updatedAt = Date.now();
    conv.lastUpdate = Math.max(conv.lastUpdate, conv.updatedAt);
    this.save(conv);
  }

  delete(id: number): void {
    const conv = this.byId.get(id);
    if (!conv) return;
    this.byId.delete(id);
    const rest = (this.byMessageId.get(conv.messageId) ?? []).filter((c) => c !== conv);
    if (rest.length) this.byMessageId.set(conv.messageId, rest);
    else this.byMessageId.delete(conv.messageId);
    this.store.remove(this.store.path('conversations', `${id}.json`));
    const gone = new Set(conv.statuses.map((s) => s.id));
    this.statuses = this.statuses.filter((s) => !gone.has(s.id));
    this.queue = this.queue.filter((s) => !gone.has(s.id));
  }

  deleteByMessageId(messageId: string): void {
    for (const conv of [...(this.byMessageId.get(messageId) ?? [])]) this.delete(conv.id);
  }

  /** Conversations whose expectedResponseDateTime has passed without them being finished. */
  expired(now: number): Conversation[] {
    const list: Conversation[] = [];
    for (const conv of this.byId.values()) if (!conv.finished && conv.expiry < now) list.push(conv);
    return list;
  }

  // ------------------------------------------------------------------ queries

  findStatuses(filter: StatusFilter, query: URLSearchParams): SpringPage<Record<string, unknown>> {
    const now = Date.now();
    for (const [id, until] of this.committingUntil) if (until <= now) this.committingUntil.delete(id);
    const matches = this.statuses.filter((s) => {
      if (this.committingUntil.has(s.id)) return false;
      if (filter.id !== undefined && s.id !== filter.id) return false;
      if (filter.status !== undefined && s.status !== filter.status) return false;
      if (filter.from !== undefined && filter.to !== undefined && (s.at < filter.from || s.at > filter.to)) return false;
      if (filter.messageId === undefined && filter.conversationId === undefined) return true;
      const conv = this.byId.get(s.convId);
      if (!conv) return false;
      if (filter.messageId !== undefined && conv.messageId !== filter.messageId) return false;
      if (filter.conversationId !== undefined && conv.conversationId !== filter.conversationId) return false;
      return true;
    });
    return this.statusPage(matches, query);
  }

  statusesOfMessage(messageId: string, query: URLSearchParams): SpringPage<Record<string, unknown>> {
    const convs = this.byMessageId.get(messageId) ?? [];
    const matches = convs.flatMap((c) => c.statuses).sort((a, b) => a.id - b.id);
    return this.statusPage(matches, query);
  }

  private statusPage(statuses: StatusRecord[], query: URLSearchParams): SpringPage<Record<string, unknown>> {
    const request = parsePageRequest(query, 'id,asc');
    if (request.sort.length === 1 && request.sort[0].property === 'id') {
      // Already in id order: page without building a view of every status (the feed polls this often).
      const ordered = request.sort[0].direction === 'asc' ? statuses : [...statuses].reverse();
      const offset = request.page * request.size;
      const content = ordered.slice(offset, offset + request.size).map((s) => {
        const conv = this.byId.get(s.convId);
        return renderStatus(s, conv?.messageId, conv?.conversationId);
      });
      return toPage(content, request, statuses.length);
    }
    const views = statuses.map((s) => {
      const conv = this.byId.get(s.convId);
      return { ...s, lastUpdate: s.at, messageId: conv?.messageId, conversationId: conv?.conversationId };
    });
    const page = paginate(views, query, 'id,asc');
    return { ...page, content: page.content.map((v) => renderStatus(v, v.messageId, v.conversationId)) };
  }

  /** The oldest status on the status queue. */
  peekQueue(): Record<string, unknown> | undefined {
    const status = this.queue[0];
    if (status === undefined) return undefined;
    const conv = this.byId.get(status.convId);
    return renderStatus(status, conv?.messageId, conv?.conversationId);
  }

  /** Removes a status from the status queue; false when it is not on it. */
  dequeue(id: number): boolean {
    const index = this.queue.findIndex((s) => s.id === id);
    if (index < 0) return false;
    this.queue.splice(index, 1);
    this.statusLog.append({ dequeued: id });
    return true;
  }

  findConversations(filter: ConversationFilter, query: URLSearchParams): SpringPage<Record<string, unknown>> {
    const matches = [...this.byId.values()].filter((c) => conversationMatches(c, filter));
    const page = paginate(matches, query, 'lastUpdate,desc');
    return { ...page, content: page.content.map(renderConversation) };
  }
}

function conversationMatches(c: Conversation, f: ConversationFilter): boolean {
  const equal: Array<keyof ConversationFilter & keyof Conversation> = [
    'conversationId', 'messageId', 'sender', 'senderIdentifier', 'receiver', 'receiverIdentifier', 'serviceIdentifier',
    'messageReference', 'messageTitle', 'pollable', 'finished', 'direction',
  ];
  for (const key of equal) {
    if (f[key] !== undefined && c[key] !== f[key]) return false;
  }
  if (f.lastUpdateFrom !== undefined && c.lastUpdate < f.lastUpdateFrom) return false;
  if (f.lastUpdateTo !== undefined && c.lastUpdate > f.lastUpdateTo) return false;
  return true;
}

/** MessageStatus JSON (§8.2). */
export function renderStatus(s: StatusRecord, messageId?: string, conversationId?: string): Record<string, unknown> {
  return {
    id: s.id,
    lastUpdate: offsetDateTime(new Date(s.at)),
    status: s.status,
    description: s.description,
    rawReceipt: s.rawReceipt,
    convId: s.convId,
    messageId,
    conversationId,
  };
}

/** Conversation JSON (§8.6); `pollable` is not part of it. */
export function renderConversation(c: Conversation): Record<string, unknown> {
  return {
    id: c.id,
    conversationId: c.conversationId,
    messageId: c.messageId,
    sender: c.sender,
    senderIdentifier: c.senderIdentifier,
    receiver: c.receiver,
    receiverIdentifier: c.receiverIdentifier,
    processIdentifier: c.processIdentifier,
    documentIdentifier: c.documentIdentifier,
    messageReference: c.messageReference,
    messageTitle: c.messageTitle,
    lastUpdate: offsetDateTime(new Date(c.lastUpdate)),
    finished: c.finished,
    expiry: offsetDateTime(new Date(c.expiry)),
    direction: c.direction,
    serviceIdentifier: c.serviceIdentifier,
    messageStatuses: c.statuses.map((s) => ({
      id: s.id,
      lastUpdate: offsetDateTime(new Date(s.at)),
      status: s.status,
      description: s.description,
    })),
  };
}
