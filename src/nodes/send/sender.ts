import { setTimeout as sleep } from 'node:timers/promises';
import type { IntegrasjonspunktClient } from '../../client';
import type { ProgressCallback, UploadFile } from '../../client/types';
import { MULTIPART_MAX_FILE_BYTES } from '../../client/multipart';
import { summarizeSbd, type StandardBusinessDocument } from '../../schemas/sbd';
import { asIpError, exceptionNameOf, isNotFound } from '../shared/errors';
import type { OutgoingFile } from './files';
import type { PreparedMessage } from './prepare';

/** Statuses that show the IP has handed the message to transport (or tried to): repeating would not help. */
const SENT_OR_LATER = new Set(['SENDT', 'MOTTATT', 'LEVERT', 'LEST', 'FEIL', 'ANNET']);

export interface SendResult {
  /** The SBD the IP returned (after a lost answer: as the IP still has it, else as we sent it). */
  sbd: StandardBusinessDocument;
  messageId: string;
  conversationId?: string;
}

export interface MessageSenderOptions {
  /** Largest file sent in a multipart request (the IP's limit, 5 MiB). */
  multipartMaxBytes?: number;
  /** Waits between the checks for SENDT after a lost answer to a send, before repeating it once. */
  confirmDelaysMs?: number[];
}

const lost = (err: unknown) => asIpError(err)?.answerLost === true;
const alreadyExists = (err: unknown) => exceptionNameOf(err) === 'MessageAlreadyExistsException';

function uploadFileOf(file: OutgoingFile): UploadFile {
  return file.path !== undefined
    ? { filename: file.filename, mimeType: file.mimeType, title: file.title, path: file.path }
    : { filename: file.filename, mimeType: file.mimeType, title: file.title, content: file.content };
}

/**
 * Sends a prepared message through one IP: multipart when every file is at most 5 MiB, otherwise
 * create → PUT each file (streamed) → send. A lost answer is resolved by looking the messageId up before
 * anything is repeated, so it never becomes a second message; a failure after create removes what was created.
 */
export class MessageSender {
  private readonly multipartMaxBytes: number;
  private readonly confirmDelaysMs: number[];

  constructor(
    private readonly client: IntegrasjonspunktClient,
    options: MessageSenderOptions = {},
  ) {
    this.multipartMaxBytes = options.multipartMaxBytes ?? MULTIPART_MAX_FILE_BYTES;
    this.confirmDelaysMs = options.confirmDelaysMs ?? [0, 500, 1000, 2000];
  }

  async send(message: PreparedMessage, onProgress?: ProgressCallback): Promise<SendResult> {
    const small = message.files.every((f) => f.size <= this.multipartMaxBytes);
    const sbd = small ? await this.sendMultipart(message, onProgress) : await this.sendInSteps(message, onProgress);
    const summary = summarizeSbd(sbd);
    return { sbd, messageId: summary.messageId ?? message.messageId, conversationId: summary.conversationId };
  }

  // ---------------------------------------------------------------- multipart

  private async sendMultipart(message: PreparedMessage, onProgress?: ProgressCallback): Promise<StandardBusinessDocument> {
    const files = message.files.map(uploadFileOf);
    try {
      return await this.client.sendMultipart(message.sbd, files, onProgress);
    } catch (err) {
      if (alreadyExists(err) && (await this.removeLeftover(message.messageId))) return this.client.sendMultipart(message.sbd, files, onProgress);
      if (!lost(err)) {
        // The IP may have created the message before refusing a file; a clash with an existing message is not ours.
        if (!alreadyExists(err)) await this.discard(message.messageId, true);
        throw err;
      }
      if (!(await this.findConversation(message.messageId))) {
        try {
          return await this.client.sendMultipart(message.sbd, files, onProgress);
        } catch (again) {
          if (!alreadyExists(again)) {
            await this.discard(message.messageId, true);
            throw again;
          }
        }
      }
      // The IP got the request (the conversation exists): it was created and sent, or must be sent once more.
      try {
        await this.resolveLostSend(message.messageId, err);
      } catch (failed) {
        await this.discard(message.messageId, true);
        throw failed;
      }
      return (await this.findOutgoing(message.messageId)) ?? message.sbd;
    }
  }

  // ---------------------------------------------------------------- create → upload → send

  private async sendInSteps(message: PreparedMessage, onProgress?: ProgressCallback): Promise<StandardBusinessDocument> {
    const created = await this.create(message);
    try {
      const total = message.files.reduce((sum, f) => sum + f.size, 0);
      let before = 0;
      for (const file of message.files) {
        const offset = before;
        await this.upload(message.messageId, file, onProgress && ((sent) => onProgress(offset + sent, total)));
        before += file.size;
      }
      await this.sendCreated(message.messageId);
      return created;
    } catch (err) {
      await this.discard(message.messageId);
      throw err;
    }
  }

  private async create(message: PreparedMessage): Promise<StandardBusinessDocument> {
    try {
      return await this.client.createMessage(message.sbd);
    } catch (err) {
      if (alreadyExists(err) && (await this.removeLeftover(message.messageId))) return this.client.createMessage(message.sbd);
      if (!lost(err)) throw err;
      const existing = await this.findOutgoing(message.messageId);
      if (existing) return existing;
      if (await this.findConversation(message.messageId)) {
        throw new Error(`${(err as Error).message}; message ${message.messageId} is registered on the IP but no longer waiting to be sent, so it is not created again`);
      }
      try {
        return await this.client.createMessage(message.sbd);
      } catch (again) {
        const raced = alreadyExists(again) && (await this.findOutgoing(message.messageId));
        if (raced) return raced;
        throw again;
      }
    }
  }

  private async upload(messageId: string, file: OutgoingFile, onProgress?: ProgressCallback): Promise<void> {
    try {
      await this.client.uploadFile(messageId, uploadFileOf(file), onProgress);
    } catch (err) {
      if (!lost(err)) throw err;
      try {
        await this.client.uploadFile(messageId, uploadFileOf(file), onProgress);
      } catch (again) {
        // The first upload arrived whole (the IP stores a file only when its body is complete).
        if (exceptionNameOf(again) === 'DuplicateFilenameException') return;
        throw again;
      }
    }
  }

  private async sendCreated(messageId: string): Promise<void> {
    try {
      await this.client.sendMessage(messageId);
    } catch (err) {
      if (!lost(err)) throw err;
      await this.resolveLostSend(messageId, err);
    }
  }

  /** After a lost answer to a send: done if the IP shows it was sent, else send once more. */
  private async resolveLostSend(messageId: string, lostError: unknown): Promise<void> {
    if (await this.confirmSent(messageId)) return;
    try {
      await this.client.sendMessage(messageId);
    } catch (again) {
      if (await this.confirmSent(messageId)) return;
      const error = again instanceof Error ? again : new Error(String(again));
      error.message = `${(lostError as Error).message}; sending once more failed too: ${error.message}`;
      throw error;
    }
  }

  /** Whether the IP has handed the message over: a SENDT-or-later status, or the outgoing record gone. */
  private async confirmSent(messageId: string): Promise<boolean> {
    for (const delay of this.confirmDelaysMs) {
      if (delay > 0) await sleep(delay);
      const statuses = await this.client.allStatusesOf(messageId);
      if (statuses.some((s) => SENT_OR_LATER.has(s.status))) return true;
      if (!(await this.findOutgoing(messageId)) && statuses.length > 0) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- lookups and clean-up

  private async findOutgoing(messageId: string): Promise<StandardBusinessDocument | undefined> {
    try {
      return await this.client.getOutgoing(messageId);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async findConversation(messageId: string): Promise<boolean> {
    try {
      await this.client.getConversationByMessageId(messageId);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * After "already exists": removes a message with this messageId that the IP holds but never sent (no SENDT or
   * later status) - what an earlier attempt left when it stopped half-way (Node-RED killed mid-upload, a clean-up
   * that failed) - so a retry with the same messageId sends it instead of failing. False when there is none, or it
   * was sent: then "already exists" stands.
   */
  private async removeLeftover(messageId: string): Promise<boolean> {
    if (!(await this.findOutgoing(messageId))) return false;
    const statuses = await this.client.allStatusesOf(messageId);
    if (statuses.some((s) => SENT_OR_LATER.has(s.status))) return false;
    await this.client.deleteOutgoing(messageId);
    await this.client.deleteConversationByMessageId(messageId);
    return true;
  }

  /**
   * Removes a half-made message: the outgoing record and files, and its conversation so the same messageId can
   * be sent again. `onlyIfCreated`: first check that the IP has it (a refused multipart usually created nothing).
   * Best effort: the error being reported matters more than a failed clean-up.
   */
  private async discard(messageId: string, onlyIfCreated = false): Promise<void> {
    try {
      if (onlyIfCreated && !(await this.findOutgoing(messageId))) return;
      await this.client.deleteOutgoing(messageId);
      await this.client.deleteConversationByMessageId(messageId);
    } catch {
      // the original error is reported
    }
  }
}
