import type { IncomingMessage } from 'node:http';
import type { ServiceIdentifier } from '../schemas/common';
import { SimulatorError, offsetDateTime } from './errors';
import { Faults } from './faults';
import { Inbox } from './inbox';
import { MULTIPART_MAX_FILE_SIZE, receiveMultipart } from './multipart';
import { Outbox } from './outgoing';
import type { OutgoingRecord } from './outgoing';
import { ServiceRegistry } from './registry';
import type { RegistryFixture } from './registry';
import { Conversations } from './statuses';
import { DiskStore } from './store';
import { Tasks, Transport } from './transport';
import { Webhooks } from './webhooks';
import { SPRING } from './http';

export interface CoreOptions {
  dataDir: string;
  orgnr: string[];
  lockTimeoutSeconds: number;
  lockSweepMs: number;
  statusDelayMs: number;
  registry?: string | RegistryFixture;
  statusQueueIncludes: string[];
  statusCommitJitterMs: number;
  webhookTimeoutMs: number;
  uploadSizeLimits: Partial<Record<ServiceIdentifier, number>>;
  log: (line: string) => void;
}

/** Everything behind the HTTP routes: disk store, outbox, transport, inbox, conversations, webhooks, faults. */
export class SimulatorCore {
  readonly store: DiskStore;
  readonly registry: ServiceRegistry;
  readonly conversations: Conversations;
  readonly inbox: Inbox;
  readonly outbox: Outbox;
  readonly transport: Transport;
  readonly webhooks: Webhooks;
  readonly faults = new Faults();
  readonly tasks = new Tasks();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(readonly options: CoreOptions) {
    const log = options.log;
    this.store = new DiskStore(options.dataDir, (file, err) => log(`writing ${file} failed: ${err.message}`));
    const fixture = typeof options.registry === 'string' ? ServiceRegistry.readFixture(options.registry) : options.registry;
    this.registry = new ServiceRegistry(options.orgnr, fixture);
    this.webhooks = new Webhooks({ file: this.store.path('subscriptions.json'), timeoutMs: options.webhookTimeoutMs, log });
    this.conversations = new Conversations(this.store, {
      statusQueueIncludes: options.statusQueueIncludes,
      statusCommitJitterMs: options.statusCommitJitterMs,
      log,
      onStatus: (conv, status) =>
        this.webhooks.publish({
          createdTs: offsetDateTime(),
          resource: 'messages',
          event: 'status',
          messageId: conv.messageId,
          conversationId: conv.conversationId,
          direction: conv.direction,
          serviceIdentifier: conv.serviceIdentifier,
          status: status.status,
          description: status.description,
        }),
    });
    this.inbox = new Inbox(this.store, this.conversations, { lockTimeoutMs: options.lockTimeoutSeconds * 1000, log });
    this.outbox = new Outbox(this.store, this.conversations, this.registry, { defaultOrgnr: options.orgnr[0], uploadSizeLimits: options.uploadSizeLimits, log });
    this.transport = new Transport(this.outbox, this.inbox, this.conversations, this.registry, this.tasks, {
      statusDelayMs: options.statusDelayMs,
      log,
    });
  }

  /** Loads the disk state, resumes pending transport work, and starts the lock/TTL sweep. */
  async start(): Promise<void> {
    this.conversations.load();
    this.inbox.load();
    this.outbox.load();
    await this.webhooks.load();
    this.transport.resume();
    this.sweep();
    this.sweeper = setInterval(() => this.sweep(), this.options.lockSweepMs);
    this.sweeper.unref();
  }

  /** Expired locks are released; conversations past their expectedResponseDateTime get LEVETID_UTLOPT. */
  sweep(): void {
    const now = Date.now();
    try {
      this.inbox.releaseExpiredLocks(now);
      for (const conv of this.conversations.expired(now)) {
        this.conversations.addStatus(conv, 'LEVETID_UTLOPT');
        if (conv.direction === 'INCOMING') this.inbox.discard(conv.messageId);
      }
    } catch (err) {
      this.options.log(`sweep failed: ${(err as Error).message}`);
    }
  }

  /** POST /api/messages/out/{messageId}: send checks, then the message waits for transport. */
  async send(messageId: string): Promise<void> {
    const record = this.outbox.get(messageId);
    await this.outbox.checkSend(record);
    this.queueForTransport(record);
  }

  private queueForTransport(record: OutgoingRecord): void {
    if (record.queuedAt !== undefined) return;
    record.queuedAt = Date.now();
    this.outbox.save(record);
    this.transport.queue(record);
  }

  /**
   * POST /api/messages/out/multipart, in the IP's order: parse and validate `sbd`, 5 MiB and duplicate-name checks,
   * create with files (undone as a whole if a file is refused), then send (a refused send leaves the message created).
   */
  async createAndSend(req: IncomingMessage): Promise<OutgoingRecord> {
    const received = await receiveMultipart(req, () => this.store.tempPath('part'));
    try {
      if (received.sbd === undefined) {
        throw new SimulatorError(400, SPRING.missingParameter, "Required request parameter 'sbd' for method parameter type StandardBusinessDocument is not present");
      }
      let raw: unknown;
      try {
        raw = JSON.parse(received.sbd);
      } catch (err) {
        throw new SimulatorError(
          400,
          SPRING.typeMismatch,
          `Method parameter 'sbd': Failed to convert value of type 'java.lang.String' to required type 'no.difi.meldingsutveksling.domain.sbdh.StandardBusinessDocument'; ${(err as Error).message}`,
        );
      }
      const tooLarge = received.files.find((f) => f.tooLarge);
      if (tooLarge) {
        throw new SimulatorError(
          400,
          'MultipartFileToLargeException',
          `The attachment named '${tooLarge.filename}' is too large. The maximum size for multipart requests is ${MULTIPART_MAX_FILE_SIZE.toLocaleString('en-US')} bytes. Please use the non-multipart API to avoid such problems.`,
        );
      }
      // Like the IP, every occurrence of a repeated name is listed.
      const names = received.files.map((f) => f.filename);
      const duplicates = names.filter((n) => names.indexOf(n) !== names.lastIndexOf(n));
      if (duplicates.length) {
        throw new SimulatorError(400, 'DuplicateFilenameException', `Filename already exists in message: ${duplicates.join(', ')}.`);
      }

      const record = this.outbox.create(raw, 'multipart');
      try {
        for (const part of received.files) {
          await this.outbox.addFile(record.messageId, { filename: part.filename, contentType: part.mimeType, title: part.name, size: part.size }, part.path);
        }
      } catch (err) {
        this.outbox.delete(record.messageId);
        const conv = this.conversations.find(record.messageId, 'OUTGOING');
        if (conv) this.conversations.delete(conv.id);
        throw err;
      }
      await this.send(record.messageId);
      return record;
    } finally {
      for (const f of received.files) this.store.remove(f.path);
    }
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.tasks.close();
    await this.webhooks.close();
    await this.store.flush();
    this.conversations.close();
  }
}
