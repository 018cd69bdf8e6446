import type { ServiceIdentifier } from '../schemas/common';
import { RECEIPT_MESSAGE_TYPES, type StandardBusinessDocument } from '../schemas/sbd';
import { SimulatorError, messageNotFound } from './errors';
import { paginate } from './paging';
import type { SpringPage } from './paging';
import type { ConversationInit, Conversations } from './statuses';
import type { DiskStore } from './store';

/** An incoming message (the IP's NextMoveInMessage), kept in in/<messageId>.json. */
export interface IncomingRecord {
  id: number;
  messageId: string;
  conversationId: string;
  processIdentifier: string;
  senderIdentifier: string;
  receiverIdentifier?: string;
  serviceIdentifier: ServiceIdentifier;
  type: string;
  sbd: StandardBusinessDocument;
  /** ms */
  lastUpdated: number;
  /** ms; null when not locked */
  lockTimeout: number | null;
}

export interface InboxFilter {
  serviceIdentifier?: string;
  process?: string;
  conversationId?: string;
  messageId?: string;
  senderIdentifier?: string;
  receiverIdentifier?: string;
}

/** Services for which the receiving IP sends MOTTATT and LEVERT back (difi.move.nextmove.status-services). */
export const STATUS_SERVICES: ReadonlySet<string> = new Set(['DPO', 'DPE']);

function matches(m: IncomingRecord, f: InboxFilter): boolean {
  return (
    (f.conversationId === undefined || m.conversationId === f.conversationId) &&
    (f.messageId === undefined || m.messageId === f.messageId) &&
    (f.receiverIdentifier === undefined || m.receiverIdentifier === f.receiverIdentifier) &&
    (f.senderIdentifier === undefined || m.senderIdentifier === f.senderIdentifier) &&
    (f.serviceIdentifier === undefined || m.serviceIdentifier === f.serviceIdentifier) &&
    (f.process === undefined || m.processIdentifier === f.process)
  );
}


/** The local inbox (§7): peek locks, pop streams the ASiC, delete acknowledges; locks expire. */
export class Inbox {
  private readonly messages = new Map<string, IncomingRecord>();
  private nextId = 1;

  constructor(
    private readonly store: DiskStore,
    private readonly conversations: Conversations,
    private readonly options: { lockTimeoutMs: number; log: (line: string) => void },
  ) {}

  load(): void {
    const records = this.store.readJsonFiles<IncomingRecord>('in', (file, err) => this.options.log(`skipping unreadable incoming message ${file}: ${err.message}`));
    for (const r of records) {
      this.messages.set(r.messageId, r);
      this.nextId = Math.max(this.nextId, r.id + 1);
    }
  }

  asicPath(messageId: string): string {
    return this.store.path('in-files', `${messageId}.asic`);
  }

  has(messageId: string): boolean {
    return this.messages.has(messageId);
  }

  private save(record: IncomingRecord): void {
    this.store.writeJson(this.store.path('in', `${record.messageId}.json`), record);
  }

  /** Stores an arrived message (its ASiC, if any, already at asicPath) and registers INNKOMMENDE_MOTTATT. */
  receive(record: Omit<IncomingRecord, 'id' | 'lastUpdated' | 'lockTimeout'>, conversation: ConversationInit): void {
    const stored: IncomingRecord = { ...record, id: this.nextId++, lastUpdated: Date.now(), lockTimeout: null };
    this.save(stored);
    this.messages.set(stored.messageId, stored);
    this.conversations.register(conversation, 'INNKOMMENDE_MOTTATT');
    if (STATUS_SERVICES.has(record.serviceIdentifier)) {
      this.conversations.addStatusTo(record.messageId, 'OUTGOING', 'MOTTATT');
    }
  }

  list(filter: InboxFilter, query: URLSearchParams): SpringPage<StandardBusinessDocument> {
    const found = [...this.messages.values()].filter((m) => matches(m, filter)).sort((a, b) => a.id - b.id);
    const page = paginate(found, query);
    return { ...page, content: page.content.map((m) => m.sbd) };
  }

  /**
   * Locks the unlocked matching message with the oldest lastUpdated (then the lowest id). Synchronous, so two peeks
   * never get the same one. One pass, no sorting: with 10,000 messages held, sorting them all made every peek take
   * about 16 ms (bench/simulator.ts).
   */
  peek(filter: InboxFilter): StandardBusinessDocument | undefined {
    let message: IncomingRecord | undefined;
    for (const m of this.messages.values()) {
      if (m.lockTimeout !== null || !matches(m, filter)) continue;
      if (!message || m.lastUpdated < message.lastUpdated || (m.lastUpdated === message.lastUpdated && m.id < message.id)) message = m;
    }
    if (!message) return undefined;
    message.lockTimeout = Date.now() + this.options.lockTimeoutMs;
    this.save(message);
    return message.sbd;
  }

  private locked(messageId: string): IncomingRecord {
    const message = this.messages.get(messageId);
    if (!message) throw messageNotFound(messageId);
    if (message.lockTimeout === null) {
      throw new SimulatorError(400, 'MessageNotLockedException', `Message with messageId = ${messageId} was not locked`);
    }
    return message;
  }

  /** The path of the ASiC to stream, or null (204) for receipts and messages without one. */
  pop(messageId: string): string | null {
    const message = this.locked(messageId);
    if ((RECEIPT_MESSAGE_TYPES as readonly string[]).includes(message.type)) return null;
    return this.asicPath(message.messageId);
  }

  /** Acknowledges a locked message: removes it, INNKOMMENDE_LEVERT here, LEVERT to the sender. */
  remove(messageId: string): StandardBusinessDocument {
    const message = this.locked(messageId);
    this.discard(messageId);
    this.conversations.addStatusTo(messageId, 'INCOMING', 'INNKOMMENDE_LEVERT');
    if (STATUS_SERVICES.has(message.serviceIdentifier)) {
      this.conversations.addStatusTo(messageId, 'OUTGOING', 'LEVERT');
    }
    return message.sbd;
  }

  /** Removes a message and its ASiC without any status. */
  discard(messageId: string): void {
    if (!this.messages.delete(messageId)) return;
    this.store.remove(this.store.path('in', `${messageId}.json`));
    this.store.remove(this.asicPath(messageId));
  }

  /** Clears expired locks: those messages can be peeked again (NextMoveInMessageUnlocker). */
  releaseExpiredLocks(now: number): void {
    for (const message of this.messages.values()) {
      if (message.lockTimeout !== null && message.lockTimeout <= now) {
        message.lockTimeout = null;
        this.save(message);
        this.options.log(`lock of incoming ${message.messageId} expired`);
      }
    }
  }
}
