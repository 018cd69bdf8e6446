import { access, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AsicError, openAsic, readAsicDocuments } from '../../asic/read';
import { parseArkivmeldingXml, type ArkivmeldingSummary } from '../../sbd/arkivmelding';
import { TooLargeError, type IntegrasjonspunktClient } from '../../client';
import type { StandardBusinessDocument } from '../../schemas/sbd';
import { asIpError, exceptionNameOf, isNotFound } from '../shared/errors';
import { partialPathOf, safeFileName } from './download';
import { incomingFields, type IncomingFields } from './message';
import type { InboxSettings } from './settings';

/** The IP's default peek lock (difi.move.nextmove.lockTimeoutMinutes = 5). */
export const DEFAULT_LOCK_MS = 5 * 60 * 1000;
/** Room for the zip's own bytes (headers, manifests, signature) on top of the documents in output "files". */
const ZIP_OVERHEAD_BYTES = 1024 * 1024;

export type InboxClient = Pick<IntegrasjonspunktClient, 'peek' | 'popToPath' | 'deleteIncoming'>;

export interface AsicDocument {
  filename: string;
  mimeType: string;
  content: Buffer;
}

/** A msg the inbox node sends: the SBD's fields, the content by output mode, and the parsed arkivmelding.xml. */
export interface ReceivedMessage extends IncomingFields {
  /** files: the documents; asic: the zip; path: the file's path; null for a receipt (no ASiC). */
  payload: AsicDocument[] | Buffer | string | null;
  arkivmelding?: ArkivmeldingSummary;
  /** True when this message may have been handed on before (it was not deleted then, so the IP offers it again). */
  redelivered: boolean;
  [key: string]: unknown;
}

/**
 * The messageIds handed on and not yet deleted. The node keeps it in its context, so that a message handed on
 * before a restart (or a crash) and offered again is recognised; without one the receiver remembers in memory.
 */
export interface HandedOnRecord {
  has(messageId: string): boolean;
  add(messageId: string): void;
  delete(messageId: string): void;
}

/** A message that was peeked but is not handed on (too large, unreadable). It stays in the inbox. */
export class RefusedMessageError extends Error {
  readonly messageId: string;
  constructor(message: string, messageId: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RefusedMessageError';
    this.messageId = messageId;
  }
}

/** A download that did not complete (connection cut, disk full); the message is popped again next poll. */
export class DownloadFailedError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'DownloadFailedError';
  }
}

export interface InboxReceiverOptions {
  client: InboxClient;
  settings: InboxSettings;
  /** Hands a message on (node.send). */
  emit(msg: ReceivedMessage): void;
  /** Reports a message that is not handed on; it stays locked in the inbox until the lock expires. */
  refuse(error: RefusedMessageError, fields: IncomingFields): void;
  warn?(text: string): void;
  /** The counts or the current download changed. */
  onChange?(): void;
  /** Messages handed on and not yet deleted, to mark a redelivery (msg.redelivered); default: in memory. */
  handedOn?: HandedOnRecord;
  /** How long the IP's peek lock holds; default 5 minutes. */
  lockMs?: number;
  /** Folder for the temporary download in output files/asic; default os.tmpdir(). */
  tmpDir?: string;
  now?: () => number;
}

function isNotLocked(err: unknown): boolean {
  return exceptionNameOf(err) === 'MessageNotLockedException' || (asIpError(err)?.status === 400 && /not locked/i.test(asIpError(err)?.message ?? ''));
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('The inbox poll was stopped');
}

/**
 * Waits for `promise` unless `signal` aborts first. A result that arrives after the abort goes to `discard`
 * (e.g. to close a download nobody will read).
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal, discard?: (late: T) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) discard?.(value);
        else resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * The inbox's work for one poll, without Node-RED: peek (with the filters) → pop → hand on → delete (auto) or
 * wait for an ack (manual). It only pops and deletes messages it peeked itself, so several receivers (in one or
 * several Node-RED instances) can share one inbox: the IP's peek lock gives each message to one of them.
 */
export class InboxReceiver {
  received = 0;
  acked = 0;
  /** The messageId being downloaded now, if any. */
  current: string | undefined;

  private readonly options: InboxReceiverOptions;
  private readonly lockMs: number;
  private readonly now: () => number;
  /** Peeked (we hold the lock) but not handed on yet, e.g. the download broke off: popped again next poll. */
  private readonly unfinished = new Map<string, { sbd: StandardBusinessDocument; lockedAt: number }>();
  /** Handed on, but the delete (ack mode auto, or a manual ack) failed: deleted again next poll while the lock holds. */
  private readonly undeleted = new Map<string, number>();
  /** Handed on in ack mode manual, waiting for the ack: messageId → when it was locked. */
  private readonly waitingAcks = new Map<string, number>();
  private readonly handedOn: HandedOnRecord;

  constructor(options: InboxReceiverOptions) {
    this.options = options;
    this.handedOn = options.handedOn ?? new Set<string>();
    this.lockMs = options.lockMs ?? DEFAULT_LOCK_MS;
    this.now = options.now ?? Date.now;
  }

  /** Messages handed on in ack mode manual whose lock has not expired yet. */
  get waiting(): number {
    for (const [id, lockedAt] of this.waitingAcks) if (this.expired(lockedAt)) this.waitingAcks.delete(id);
    return this.waitingAcks.size;
  }

  /**
   * One poll: finishes what an earlier poll left (deletes, downloads), then peeks until the IP answers 204 or
   * maxPerPoll messages were handled. Throws on an IP failure; whatever is not finished is retried next poll.
   */
  async drain(signal: AbortSignal): Promise<void> {
    const { settings } = this.options;
    await this.retryDeletes(signal);
    let handled = 0;
    for (const [id, { sbd, lockedAt }] of [...this.unfinished]) {
      if (this.expired(lockedAt)) {
        this.unfinished.delete(id); // the lock is gone: the IP will offer it again
        continue;
      }
      await this.receive(sbd, lockedAt, signal);
      handled++;
    }
    while (handled < settings.maxPerPoll) {
      if (signal.aborted) throw abortError(signal);
      const lockedAt = this.now();
      const sbd = await abortable(this.options.client.peek(settings.filter), signal);
      if (!sbd) return;
      await this.receive(sbd, lockedAt, signal);
      handled++;
    }
  }

  /**
   * Deletes a message handed on in ack mode manual. Refuses messages this receiver did not hand on (another
   * inbox node may be working on them) and messages whose lock has expired (the IP delivers those again).
   */
  async ack(messageId: string): Promise<void> {
    const lockedAt = this.waitingAcks.get(messageId) ?? this.undeleted.get(messageId);
    if (lockedAt === undefined) {
      throw new Error(`msg.messageId: message ${messageId} is not waiting for an ack on this inbox node (it was not delivered by this node, or it was already acked)`);
    }
    if (this.expired(lockedAt)) {
      this.waitingAcks.delete(messageId);
      throw new Error(lockExpiredText(messageId));
    }
    try {
      await this.options.client.deleteIncoming(messageId);
    } catch (err) {
      if (isNotLocked(err)) {
        this.waitingAcks.delete(messageId);
        this.undeleted.delete(messageId);
        throw new Error(lockExpiredText(messageId), { cause: err });
      }
      // 404: already gone, e.g. an earlier ack whose answer was lost did delete it.
      if (!isNotFound(err)) {
        // The IP failed or could not be reached: the delete is tried again at the next poll, while the lock holds.
        this.waitingAcks.delete(messageId);
        this.undeleted.set(messageId, lockedAt);
        if (err instanceof Error) err.message += '; the node tries the delete again at its next poll';
        throw err;
      }
    }
    this.waitingAcks.delete(messageId);
    this.undeleted.delete(messageId);
    this.handedOn.delete(messageId);
    this.acked++;
    this.options.onChange?.();
  }

  private expired(lockedAt: number): boolean {
    return this.now() - lockedAt >= this.lockMs;
  }

  private async retryDeletes(signal: AbortSignal): Promise<void> {
    for (const [id, lockedAt] of [...this.undeleted]) {
      if (this.expired(lockedAt)) {
        this.undeleted.delete(id);
        this.options.warn?.(`Message ${id} was handed on but could not be deleted before its lock expired; the IP will deliver it again`);
        continue;
      }
      await this.remove(id, lockedAt, signal);
    }
  }

  /** Pops, hands on and (ack mode auto) deletes one peeked message. */
  private async receive(sbd: StandardBusinessDocument, lockedAt: number, signal: AbortSignal): Promise<void> {
    const fields = incomingFields(sbd);
    const id = fields.messageId;
    this.unfinished.set(id, { sbd, lockedAt });
    let msg: ReceivedMessage;
    this.current = id;
    this.options.onChange?.();
    try {
      msg = await this.fetch(fields, signal);
    } catch (err) {
      if (err instanceof RefusedMessageError) {
        this.unfinished.delete(id);
        this.options.refuse(err, fields);
        return;
      }
      if (isNotLocked(err)) {
        this.unfinished.delete(id); // the lock expired before the download; the IP offers it again
        return;
      }
      if (isNotFound(err)) {
        this.unfinished.delete(id);
        this.options.warn?.(`Message ${id} is no longer in the inbox (it expired or the IP discarded it): ${(err as Error).message}`);
        return;
      }
      throw err;
    } finally {
      this.current = undefined;
      this.options.onChange?.();
    }
    this.unfinished.delete(id);
    if (signal.aborted) {
      // Closing: do not hand on a message we can no longer acknowledge; its lock expires and it comes back.
      // A complete file in output "path" stays: it is whole, and the redelivery overwrites it.
      throw abortError(signal);
    }
    if (this.handedOn.has(id)) msg.redelivered = true;
    this.handedOn.add(id);
    this.options.emit(msg);
    this.received++;
    if (this.options.settings.ack === 'auto') {
      await this.remove(id, lockedAt, signal);
    } else {
      this.waitingAcks.set(id, lockedAt);
    }
    this.options.onChange?.();
  }

  /** Deletes a handed-on message (ack mode auto); a failed delete is kept and retried next poll. */
  private async remove(id: string, lockedAt: number, signal: AbortSignal): Promise<void> {
    try {
      await abortable(this.options.client.deleteIncoming(id), signal);
    } catch (err) {
      if (isNotLocked(err)) {
        this.undeleted.delete(id);
        this.options.warn?.(`Message ${id} was handed on, but its lock expired before it was deleted; the IP will deliver it again`);
        return;
      }
      if (!isNotFound(err)) {
        this.undeleted.set(id, lockedAt);
        throw err;
      }
      // 404: already gone, e.g. an earlier delete whose answer was lost did the work.
    }
    this.undeleted.delete(id);
    this.handedOn.delete(id);
    this.acked++;
    this.options.onChange?.();
  }

  /** Downloads one message and builds its msg by output mode. */
  private async fetch(fields: IncomingFields, signal: AbortSignal): Promise<ReceivedMessage> {
    const { settings, client } = this.options;
    const id = fields.messageId;
    // Failed downloads are not tried again here: the next poll pops the message again.
    const pop = (dest: string, options: { maxBytes?: number; durable?: boolean; partPath?: string }) =>
      download(id, () => client.popToPath(id, dest, { ...options, signal, retries: 0 }), signal);

    if (settings.output === 'path') {
      const directory = settings.directory as string;
      await mkdir(directory, { recursive: true });
      const dest = path.join(directory, safeFileName(`${id}.asic.zip`));
      // The whole file from an earlier delivery is still there: handed on before, e.g. before a crash.
      const existed = await access(dest).then(() => true, () => false);
      if (!(await pop(dest, { partPath: partialPathOf(dest) }))) return { ...fields, payload: null, redelivered: false }; // a receipt: no ASiC
      const msg: ReceivedMessage = { ...fields, payload: dest, redelivered: existed };
      await this.addArkivmelding(msg, dest);
      return msg;
    }

    const tmp = await mkdtemp(path.join(this.options.tmpDir ?? os.tmpdir(), 'eformidling-inbox-'));
    try {
      const file = path.join(tmp, 'asic.zip');
      const limit = settings.output === 'asic' ? settings.maxBytes : settings.maxBytes + Math.ceil(settings.maxBytes / 100) + ZIP_OVERHEAD_BYTES;
      try {
        if (!(await pop(file, { maxBytes: limit, durable: false }))) return { ...fields, payload: null, redelivered: false }; // a receipt
      } catch (err) {
        if (err instanceof TooLargeError) throw new RefusedMessageError(tooLargeText(fields, settings), id, err);
        throw err;
      }
      const msg: ReceivedMessage = { ...fields, payload: null, redelivered: false };
      try {
        if (settings.output === 'asic') {
          msg.payload = await readFile(file);
        } else {
          msg.payload = await readAsicDocuments(file, { maxBytes: settings.maxBytes });
        }
      } catch (err) {
        // readAsicDocuments refuses documents over maxBytes (in total) before reading any of them.
        if (err instanceof AsicError && err.code === 'ASIC_TOO_LARGE') throw new RefusedMessageError(tooLargeText(fields, settings), id);
        throw new RefusedMessageError(`Message ${id}: the ASiC-E from the Integrasjonspunkt could not be read: ${(err as Error).message}. ${STAYS_TEXT}`, id, err);
      }
      await this.addArkivmelding(msg, file);
      return msg;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Puts the parsed arkivmelding.xml on msg.arkivmelding; a missing or odd one only gives a warning. */
  private async addArkivmelding(msg: ReceivedMessage, zipPath: string): Promise<void> {
    if (msg.documentType !== 'arkivmelding') return;
    try {
      let xml: string | undefined;
      if (Array.isArray(msg.payload)) {
        xml = msg.payload.find((doc) => doc.filename === 'arkivmelding.xml')?.content.toString('utf8');
      } else {
        const archive = await openAsic(zipPath);
        try {
          if (archive.documents.some((doc) => doc.filename === 'arkivmelding.xml')) xml = (await archive.readEntry('arkivmelding.xml')).toString('utf8');
        } finally {
          archive.close();
        }
      }
      if (xml === undefined) {
        this.options.warn?.(`Message ${msg.messageId} is an arkivmelding without arkivmelding.xml; msg.arkivmelding is not set`);
        return;
      }
      msg.arkivmelding = parseArkivmeldingXml(xml);
    } catch (err) {
      this.options.warn?.(`Message ${msg.messageId}: arkivmelding.xml could not be read, msg.arkivmelding is not set: ${(err as Error).message}`);
    }
  }
}

/**
 * Runs a download; a failure on the way (the connection cut after the request went out, the disk) becomes a
 * DownloadFailedError. The IP's own answers (400 not locked, 404, 500) and an unreachable IP pass on as they are.
 */
async function download<T>(messageId: string, save: () => Promise<T>, signal: AbortSignal): Promise<T> {
  try {
    return await save();
  } catch (err) {
    const ipError = asIpError(err);
    if (signal.aborted || err instanceof TooLargeError || (ipError && !(ipError.status === 0 && ipError.requestSent))) throw err;
    const { message, code } = err as NodeJS.ErrnoException;
    throw new DownloadFailedError(`The download of message ${messageId} failed: ${message}${code && !message.includes(`(${code})`) ? ` (${code})` : ''}`, err);
  }
}

const STAYS_TEXT =
  'It stays in the inbox: it is not deleted, its lock expires (after 5 minutes by default) and the Integrasjonspunkt delivers it again';

function tooLargeText(fields: IncomingFields, settings: InboxSettings): string {
  return (
    `Message ${fields.messageId} (${fields.documentType}${fields.sender ? ` from ${fields.sender}` : ''}) is larger than maxBytes ` +
    `(${settings.maxBytes} bytes) for output "${settings.output}". ${STAYS_TEXT}. Use output "path" for large messages, or raise maxBytes.`
  );
}

function lockExpiredText(messageId: string): string {
  return `The lock on message ${messageId} expired before the ack; the Integrasjonspunkt will deliver it again`;
}
