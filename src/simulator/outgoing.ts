import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { ServiceIdentifier } from '../schemas/common';
import { RECEIPT_MESSAGE_TYPES, type MessageType, type StandardBusinessDocument } from '../schemas/sbd';
import { readArkivmelding } from './arkivmelding';
import { mimeTypeFor } from './asic';
import { SimulatorError, messageNotFound } from './errors';
import { paginate } from './paging';
import type { SpringPage } from './paging';
import type { ServiceRegistry } from './registry';
import type { ConversationInit, Conversations } from './statuses';
import type { DiskStore } from './store';
import { TTL_EXPIRED_DESCRIPTION, checkNewMessage, expectedResponseOf, parseDateTime } from './validation';
import type { NewMessage, SbdSource } from './validation';

export interface OutgoingFile {
  /** Name of the stored file under out-files/<messageId>/ */
  id: string;
  filename: string;
  mimeType: string;
  title?: string;
  /** From Content-Length; -1 for a chunked upload (as the IP records it). */
  size: number;
  primary: boolean;
}

/** An outgoing message not yet handed to transport (the IP's NextMoveOutMessage), kept in out/<messageId>.json. */
export interface OutgoingRecord {
  id: number;
  messageId: string;
  conversationId: string;
  processIdentifier: string;
  senderIdentifier: string;
  receiverIdentifier?: string;
  serviceIdentifier: ServiceIdentifier;
  type: MessageType;
  sbd: StandardBusinessDocument;
  files: OutgoingFile[];
  /** ms */
  lastUpdated: number;
  /** ms; set when a send was accepted and the message waits for transport */
  queuedAt?: number;
}

export interface OutgoingFilter {
  messageId?: string;
  conversationId?: string;
  processIdentifier?: string;
  receiverIdentifier?: string;
  senderIdentifier?: string;
  serviceIdentifier?: string;
}

/** A file about to be added: from a PUT (not yet received) or a multipart part (already on disk). */
export interface NewFile {
  filename: string;
  /** Content-Type as given ('' or application/octet-stream → derived from the extension). */
  contentType: string;
  title?: string;
  size: number;
}

const MB = 1024 * 1024;
/** Default per-message limit on the total size of all files, per service (difi.move.*.upload-size-limit). */
export const UPLOAD_SIZE_LIMITS: Partial<Record<ServiceIdentifier, number>> = {
  DPO: 1024 * MB,
  DPV: 250 * MB,
  DPI: 50 * MB,
  DPF: 1024 * MB,
  DPE: 2 * MB,
  DPH: 18 * MB,
};

const ARKIVMELDING_FILE = 'arkivmelding.xml';
/** arkivmelding.xml is read whole to find its title and file references; no real one comes near this. */
const MAX_ARKIVMELDING_BYTES = 32 * MB;


function fileMimeType(contentType: string, filename: string): string {
  return !contentType || contentType === 'application/octet-stream' ? mimeTypeFor(filename) : contentType;
}

/** Outgoing messages (§6): create, upload, send checks; the transport takes them from here. */
export class Outbox {
  private readonly messages = new Map<string, OutgoingRecord>();
  private nextId = 1;

  constructor(
    private readonly store: DiskStore,
    private readonly conversations: Conversations,
    private readonly registry: ServiceRegistry,
    private readonly options: { defaultOrgnr: string; uploadSizeLimits: Partial<Record<ServiceIdentifier, number>>; log: (line: string) => void },
  ) {}

  /** Loads the records and removes stored files no record refers to (uploads cut off by a crash). */
  load(): void {
    const records = this.store.readJsonFiles<OutgoingRecord>('out', (file, err) => this.options.log(`skipping unreadable outgoing message ${file}: ${err.message}`));
    for (const r of records) {
      this.messages.set(r.messageId, r);
      this.nextId = Math.max(this.nextId, r.id + 1);
    }
    for (const dir of readdirSync(this.store.path('out-files'))) {
      const record = this.messages.get(dir);
      if (!record) {
        this.store.remove(this.store.path('out-files', dir));
        continue;
      }
      const known = new Set(record.files.map((f) => f.id));
      for (const name of readdirSync(this.store.path('out-files', dir))) {
        if (!known.has(name)) this.store.remove(this.store.path('out-files', dir, name));
      }
    }
  }

  find(messageId: string): OutgoingRecord | undefined {
    return this.messages.get(messageId);
  }

  get(messageId: string): OutgoingRecord {
    const record = this.messages.get(messageId);
    if (!record) throw messageNotFound(messageId);
    return record;
  }

  queued(): OutgoingRecord[] {
    return [...this.messages.values()].filter((m) => m.queuedAt !== undefined);
  }

  filePath(record: OutgoingRecord, file: OutgoingFile): string {
    return this.store.path('out-files', record.messageId, file.id);
  }

  save(record: OutgoingRecord): void {
    record.lastUpdated = Date.now();
    this.store.writeJson(this.store.path('out', `${record.messageId}.json`), record);
  }

  /** Checks an SBD (§5.4), fills in defaults (§5.3), stores it, and registers the conversation (OPPRETTET). */
  create(raw: unknown, source: SbdSource): OutgoingRecord {
    const message = checkNewMessage(raw, source, {
      registry: this.registry,
      defaultOrgnr: this.options.defaultOrgnr,
      messageIdInUse: (messageId, type) =>
        this.messages.has(messageId) || (type !== 'status' && this.conversations.find(messageId) !== undefined),
    });
    const record: OutgoingRecord = {
      id: this.nextId++,
      messageId: message.messageId,
      conversationId: message.conversationId,
      processIdentifier: message.process,
      senderIdentifier: message.senderIdentifier,
      receiverIdentifier: message.receiverIdentifier,
      serviceIdentifier: message.serviceIdentifier,
      type: message.type,
      sbd: message.sbd,
      files: [],
      lastUpdated: Date.now(),
    };
    this.save(record);
    this.messages.set(record.messageId, record);
    // A status message reuses the messageId of the message it reports on: its conversation is that one.
    if (!this.conversations.find(message.messageId)) this.conversations.register(conversationOf(message));
    return record;
  }

  /** Removes a message and its files (DELETE, or after hand-over to transport); the conversation stays. */
  delete(messageId: string): void {
    this.messages.delete(messageId);
    this.store.remove(this.store.path('out', `${messageId}.json`));
    this.store.remove(this.store.path('out-files', messageId));
  }

  list(filter: OutgoingFilter, query: URLSearchParams): SpringPage<StandardBusinessDocument> {
    const keys = Object.keys(filter) as Array<keyof OutgoingFilter>;
    const found = [...this.messages.values()]
      .filter((m) => keys.every((k) => filter[k] === undefined || m[k] === filter[k]))
      .sort((a, b) => a.id - b.id);
    const page = paginate(found, query);
    return { ...page, content: page.content.map((m) => m.sbd) };
  }

  /** The IP's checks before a file is stored (NextMoveValidator.validateFile). */
  checkFile(record: OutgoingRecord, file: NewFile): void {
    if (record.files.some((f) => f.filename === file.filename)) {
      throw new SimulatorError(400, 'DuplicateFilenameException', `Filename already exists in message: ${file.filename}.`);
    }
    const limit = this.options.uploadSizeLimits[record.serviceIdentifier];
    if (limit === undefined) throw new SimulatorError(500, 'no.difi.meldingsutveksling.nextmove.NextMoveRuntimeException', 'Unknown Service Identifier');
    const total = record.files.reduce((sum, f) => sum + f.size, file.size);
    if (total > limit) {
      const [shown, shownLimit] = total < MB ? [`${total}b`, `${limit}b`] : [`${Math.floor(total / MB)}MB`, `${Math.floor(limit / MB)}MB`];
      throw new SimulatorError(
        400,
        'MaxFileSizeExceededException',
        `The combined file size for all attachments (${shown}) exceeds the maximum allowed upload size for the target service (${record.serviceIdentifier}, ${shownLimit})`,
      );
    }
    const primary = this.isPrimary(record, file.filename);
    if (primary && record.files.some((f) => f.primary)) {
      throw new SimulatorError(400, 'MultiplePrimaryDocumentsNotAllowedException', 'Messages can only contain one primary document');
    }
    const titleMissing = !file.title?.trim();
    if (record.serviceIdentifier === 'DPV' && titleMissing) {
      throw new SimulatorError(400, 'MissingFileTitleException', 'Title is required for the following capabilities: DPV');
    }
    if (record.serviceIdentifier === 'DPI' && titleMissing && !primary) {
      const metadataFiles = Object.values(this.businessMessage(record).metadataFiler ?? {});
      if (record.type !== 'digital' || !metadataFiles.includes(file.filename)) {
        throw new SimulatorError(400, 'MissingFileTitleException', 'Title is required for the following capabilities: DPI');
      }
    }
  }

  private businessMessage(record: OutgoingRecord): { hoveddokument?: string; metadataFiler?: Record<string, string> } {
    return (record.sbd[record.type] ?? {}) as { hoveddokument?: string; metadataFiler?: Record<string, string> };
  }

  private isPrimary(record: OutgoingRecord, filename: string): boolean {
    return filename === this.businessMessage(record).hoveddokument;
  }

  /**
   * Adds a file already on disk at `path` (moved into the message's folder). Checks again, since another upload may
   * have finished meanwhile. arkivmelding.xml gives the conversation its title and reference.
   */
  async addFile(messageId: string, file: NewFile, path: string): Promise<void> {
    const record = this.get(messageId);
    this.checkFile(record, file);
    const stored: OutgoingFile = {
      id: randomUUID(),
      filename: file.filename,
      mimeType: fileMimeType(file.contentType, file.filename),
      title: file.title?.trim() ? file.title : undefined,
      size: file.size,
      primary: this.isPrimary(record, file.filename),
    };
    mkdirSync(this.store.path('out-files', messageId), { recursive: true });
    const target = this.filePath(record, stored);
    renameSync(path, target);
    if (file.filename === ARKIVMELDING_FILE) {
      try {
        const facts = readArkivmelding(await readSmallFile(target));
        const conv = this.conversations.find(messageId, 'OUTGOING');
        if (conv) this.conversations.describe(conv, facts.offentligTittel, facts.reference);
      } catch (err) {
        this.store.remove(target);
        throw err;
      }
    }
    // The message may have been sent or deleted while arkivmelding.xml was read.
    if (this.messages.get(messageId) !== record) {
      this.store.remove(target);
      throw messageNotFound(messageId);
    }
    record.files.push(stored);
    this.save(record);
  }

  /** PUT /api/messages/out/{messageId}: the raw body streams to disk, then the file is added. */
  async upload(messageId: string, req: IncomingMessage, file: NewFile): Promise<void> {
    this.checkFile(this.get(messageId), file);
    const temp = this.store.tempPath();
    try {
      // 1 MiB buffered: while one write is under way the next pieces gather and go to disk in one writev.
      await pipeline(req, createWriteStream(temp, { highWaterMark: 1024 * 1024 }));
      await this.addFile(messageId, file, temp);
    } finally {
      this.store.remove(temp);
    }
  }

  /** The IP's checks when a send is requested (NextMoveValidator.validate(message)); TTL passed → LEVETID_UTLOPT. */
  async checkSend(record: OutgoingRecord): Promise<void> {
    const fileRequired = record.type !== 'status' && !(RECEIPT_MESSAGE_TYPES as readonly string[]).includes(record.type) && record.type !== 'avtalt';
    if (fileRequired && record.files.length === 0) {
      throw new SimulatorError(400, 'MissingFileException', 'There must always be at least one attachment');
    }
    const expected = expectedResponseOf(record.sbd);
    if (expected !== undefined && parseDateTime(expected) < Date.now()) {
      const conv = this.conversations.find(record.messageId);
      if (conv) this.conversations.addStatus(conv, 'LEVETID_UTLOPT', TTL_EXPIRED_DESCRIPTION);
      throw new SimulatorError(400, 'TimeToLiveException', `ExpectedResponseDateTime ${expected} has been exceeded. Please resend the message`);
    }
    const filenames = new Set(record.files.map((f) => f.filename));
    if (record.type === 'arkivmelding') {
      const arkivmelding = record.files.find((f) => f.filename === ARKIVMELDING_FILE);
      if (!arkivmelding) throw new SimulatorError(400, 'MissingArkivmeldingException', 'DPO message type requires arkivmelding.xml attachment');
      const facts = readArkivmelding(await readSmallFile(this.filePath(record, arkivmelding)));
      const missing = facts.files.filter((f) => !filenames.has(f));
      if (missing.length) {
        throw new SimulatorError(400, 'MissingArkivmeldingFileException', `File(s) defined in arkivmelding, but not found in message: ${missing.join(',')}`);
      }
    }
    if (record.type === 'digital') {
      const metadata = this.businessMessage(record).metadataFiler ?? {};
      const referenced = new Set([...Object.keys(metadata), ...Object.values(metadata)]);
      const missing = [...referenced].filter((f) => !filenames.has(f));
      if (missing.length) throw new SimulatorError(404, 'FileNotFoundException', `File(s) named ${missing.join(', ')} was not found`);
    }
    const needsPrimary = record.serviceIdentifier === 'DPI' || (record.serviceIdentifier === 'DPH' && record.type === 'dialogmelding');
    if (needsPrimary && !record.files.some((f) => f.primary)) {
      throw new SimulatorError(
        400,
        'MissingPrimaryDocumentException',
        'Missing a primary document. Please specify the hoveddokument property in the business message and verify that is equal to one of the filenames.',
      );
    }
  }
}

function conversationOf(message: NewMessage): ConversationInit {
  return {
    conversationId: message.conversationId,
    messageId: message.messageId,
    sender: message.sender,
    senderIdentifier: message.senderIdentifier,
    receiver: message.receiver,
    receiverIdentifier: message.receiverIdentifier,
    processIdentifier: message.process,
    documentIdentifier: message.standard,
    messageReference: message.conversationId,
    messageTitle: '',
    expiry: message.expiry,
    direction: 'OUTGOING',
    serviceIdentifier: message.serviceIdentifier,
  };
}

/** Reads a file expected to be small (arkivmelding.xml) as UTF-8; a huge one is refused, not loaded. */
async function readSmallFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > MAX_ARKIVMELDING_BYTES) {
      throw new SimulatorError(500, 'no.difi.meldingsutveksling.nextmove.NextMoveRuntimeException', 'Failed to get Arkivmelding');
    }
    return (await handle.readFile()).toString('utf8');
  } finally {
    await handle.close();
  }
}
