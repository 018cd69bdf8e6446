import { ReceiptStatus } from '../schemas/status';
import type { ServiceIdentifier } from '../schemas/common';
import { buildAsic } from './asic';
import type { Inbox } from './inbox';
import type { OutgoingRecord, Outbox } from './outgoing';
import type { ServiceRegistry } from './registry';
import type { Conversation, Conversations } from './statuses';
import { RECEIPT_MESSAGE_TYPES } from '../schemas/sbd';
import { TTL_EXPIRED_DESCRIPTION, expectedResponseOf, parseDateTime } from './validation';

/** Services whose messages land in a hosted receiver's inbox (DPI and DPV are outgoing only). */
const INBOX_SERVICES: ReadonlySet<string> = new Set(['DPO', 'DPE', 'DPF']);

/** What follows SENDT for a receiver outside the simulator, one step per statusDelayMs (§8.1). */
const REMOTE_STEPS: Record<ServiceIdentifier, ReceiptStatus[]> = {
  DPO: ['MOTTATT', 'LEVERT'],
  DPE: ['MOTTATT', 'LEVERT'],
  DPI: ['MOTTATT', 'LEVERT'],
  DPH: ['MOTTATT', 'LEVERT'],
  DPV: ['LEVERT'],
  DPF: ['LEVERT'],
  UNKNOWN: [],
};

/** Timers and promises still running, so close() can stop and wait for them. */
export class Tasks {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private closed = false;

  later(ms: number, fn: () => void | Promise<void>): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.track(Promise.resolve().then(fn));
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  track<T>(promise: Promise<T>): Promise<T> {
    this.running.add(promise);
    const done = () => this.running.delete(promise);
    promise.then(done, done);
    return promise;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    while (this.running.size) await Promise.allSettled([...this.running]);
  }
}

export interface TransportOptions {
  statusDelayMs: number;
  log: (line: string) => void;
}

/**
 * Hands sent messages over: to a hosted receiver's inbox as an ASiC-E (the receiving IP's work included:
 * receipts register LEST/FEIL, status messages are consumed), or, for other receivers, through timed statuses.
 */
export class Transport {
  constructor(
    private readonly outbox: Outbox,
    private readonly inbox: Inbox,
    private readonly conversations: Conversations,
    private readonly registry: ServiceRegistry,
    private readonly tasks: Tasks,
    private readonly options: TransportOptions,
  ) {}

  /** A send was accepted: the message goes to transport after statusDelayMs. */
  queue(record: OutgoingRecord): void {
    this.tasks.later(this.options.statusDelayMs, () => this.handOver(record.messageId));
  }

  /** After a restart: queued messages and unfinished remote conversations continue where they were. */
  resume(): void {
    for (const record of this.outbox.queued()) this.queue(record);
    for (const conv of this.conversations.all()) {
      if (conv.direction === 'OUTGOING' && conv.statuses.some((s) => s.status === 'SENDT') && !this.landsInInbox(conv)) {
        this.scheduleRemoteStep(conv);
      }
    }
  }

  private landsInInbox(m: { receiverIdentifier?: string; serviceIdentifier: string }): boolean {
    return m.receiverIdentifier !== undefined && this.registry.isHosted(m.receiverIdentifier) && INBOX_SERVICES.has(m.serviceIdentifier);
  }

  private async handOver(messageId: string): Promise<void> {
    const record = this.outbox.find(messageId);
    if (!record || record.queuedAt === undefined) return; // deleted meanwhile
    const header = record.sbd.standardBusinessDocumentHeader;
    const expected = expectedResponseOf(record.sbd);
    if (expected !== undefined && parseDateTime(expected) < Date.now()) {
      this.conversations.addStatusTo(messageId, 'OUTGOING', 'LEVETID_UTLOPT', TTL_EXPIRED_DESCRIPTION);
      this.outbox.delete(messageId);
      return;
    }
    const toInbox = this.landsInInbox(record);

    if (record.type === 'status') {
      // Consumed by the receiving IP: the status is registered on the message it reports on.
      if (toInbox) {
        const status = ReceiptStatus.safeParse((record.sbd.status as { status?: string } | undefined)?.status);
        if (status.success) this.conversations.addStatusTo(messageId, 'OUTGOING', status.data);
      }
      this.outbox.delete(messageId);
      return;
    }

    const duplicate = toInbox && this.inbox.has(messageId);
    if (toInbox && !duplicate && !(RECEIPT_MESSAGE_TYPES as readonly string[]).includes(record.type) && record.files.length) {
      const files = [...record.files.filter((f) => f.primary), ...record.files.filter((f) => !f.primary)];
      try {
        await buildAsic({
          files: files.map((f) => ({ filename: f.filename, mimeType: f.mimeType, path: this.outbox.filePath(record, f) })),
          sender: header.sender?.[0]?.identifier.value ?? record.senderIdentifier,
          receiver: header.receiver?.[0]?.identifier.value ?? record.receiverIdentifier ?? '',
          outPath: this.inbox.asicPath(messageId),
        });
      } catch (err) {
        this.options.log(`building the ASiC of ${messageId} failed: ${(err as Error).message}`);
        this.conversations.addStatusTo(messageId, 'OUTGOING', 'FEIL', `Kunne ikke pakke meldingen: ${(err as Error).message}`);
        this.outbox.delete(messageId);
        return;
      }
      if (this.outbox.find(messageId) !== record) {
        this.inbox.discard(messageId); // deleted while the ASiC was built
        return;
      }
    }

    this.conversations.addStatusTo(messageId, 'OUTGOING', 'SENDT');
    if (toInbox && !duplicate) this.deliver(record);
    this.outbox.delete(messageId);
    if (!toInbox) {
      const conv = this.conversations.find(messageId, 'OUTGOING');
      if (conv) this.scheduleRemoteStep(conv);
    } else if (record.serviceIdentifier === 'DPF') {
      this.conversations.addStatusTo(messageId, 'OUTGOING', 'LEVERT'); // SvarUt: LEVERT right after sending
    }
  }

  /** The receiving IP stores the message in its inbox; an arkivmelding receipt also updates the original message. */
  private deliver(record: OutgoingRecord): void {
    const header = record.sbd.standardBusinessDocumentHeader;
    const expiry = parseDateTime(expectedResponseOf(record.sbd)!);
    const sender = header.sender?.[0]?.identifier.value;
    const receiver = header.receiver?.[0]?.identifier.value;
    this.inbox.receive(
      {
        messageId: record.messageId,
        conversationId: record.conversationId,
        processIdentifier: record.processIdentifier,
        senderIdentifier: record.senderIdentifier,
        receiverIdentifier: record.receiverIdentifier,
        serviceIdentifier: record.serviceIdentifier,
        type: record.type,
        sbd: record.sbd,
      },
      {
        conversationId: record.conversationId,
        messageId: record.messageId,
        sender,
        senderIdentifier: record.senderIdentifier,
        receiver,
        receiverIdentifier: record.receiverIdentifier,
        processIdentifier: record.processIdentifier,
        documentIdentifier: header.documentIdentification.standard,
        messageReference: record.conversationId,
        messageTitle: '',
        expiry,
        direction: 'INCOMING',
        serviceIdentifier: record.serviceIdentifier,
      },
    );
    if (record.type === 'arkivmelding_kvittering') {
      const receipt = record.sbd.arkivmelding_kvittering as { receiptType?: string; relatedToMessageId?: string };
      if (receipt.relatedToMessageId) {
        const failed = receipt.receiptType === 'ERROR' || receipt.receiptType === 'NOTSUPPORTED';
        this.conversations.addStatusTo(
          receipt.relatedToMessageId,
          'OUTGOING',
          failed ? 'FEIL' : 'LEST',
          `ArkivmeldingKvittering: ${receipt.receiptType}`,
          JSON.stringify(receipt),
        );
      }
    }
  }

  /** The next status of a message to a receiver outside the simulator, after statusDelayMs. */
  private scheduleRemoteStep(conv: Conversation): void {
    const next = REMOTE_STEPS[conv.serviceIdentifier].find((s) => !conv.statuses.some((x) => x.status === s));
    if (!next || conv.finished) return;
    this.tasks.later(this.options.statusDelayMs, () => {
      if (this.conversations.get(conv.id) !== conv || conv.finished) return;
      this.conversations.addStatus(conv, next);
      this.scheduleRemoteStep(conv);
    });
  }
}
