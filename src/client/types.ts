import type { Readable } from 'node:stream';
import type { PageRequest } from '../schemas/page';
import type { ReceiptStatus, Direction } from '../schemas/status';
import type { ServiceIdentifier } from '../schemas/common';

export interface TlsOptions {
  /** PEM CA certificate(s) to trust for the IP's server certificate. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** PEM client certificate and key, for an IP behind a proxy that asks for one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  /** Default true. Only turn off for a test IP with a self-signed certificate. */
  rejectUnauthorized?: boolean;
}

export interface ClientOptions {
  /** Base URL of the IP, e.g. http://localhost:9093 */
  url: string;
  /** HTTP Basic credentials (the IP's difi.security.user.*). */
  username?: string;
  password?: string;
  /** Milliseconds to wait for response headers and between body chunks (default 30 000). */
  timeoutMs?: number;
  /** Milliseconds to wait for a TCP/TLS connection (default 10 000). */
  connectTimeoutMs?: number;
  tls?: TlsOptions;
  /** How many times a safe request is repeated after a connection failure or 502/503/504 (default 2). */
  retries?: number;
  /** Base backoff in ms between retries, doubled each time (default 200). */
  retryDelayMs?: number;
  /** Overrides `node-red-contrib-eformidling/<version> (node <version>)`. */
  userAgent?: string;
}

/** A file to attach: exactly one of content, path or stream. */
export interface UploadFile {
  /** File name inside the ASiC; defaults to the base name of `path`. */
  filename?: string;
  /** MIME type; derived from the extension when absent. */
  mimeType?: string;
  /** Attachment title (required by the IP for DPV attachments). */
  title?: string;
  content?: Buffer | string;
  /** A file on disk, streamed, never read into memory. */
  path?: string;
  stream?: Readable;
  /** Size in bytes of `stream` when known (sent as Content-Length). */
  size?: number;
}

/** Reports bytes sent so far for long uploads. */
export type ProgressCallback = (sentBytes: number, totalBytes: number | undefined) => void;

export interface OutgoingFilter extends PageRequest {
  messageId?: string;
  conversationId?: string;
  processIdentifier?: string;
  receiverIdentifier?: string;
  senderIdentifier?: string;
  serviceIdentifier?: ServiceIdentifier;
}

export interface IncomingFilter {
  serviceIdentifier?: ServiceIdentifier | string;
  process?: string;
  conversationId?: string;
  messageId?: string;
  senderIdentifier?: string;
  receiverIdentifier?: string;
}

export interface StatusFilter extends PageRequest {
  id?: number;
  messageId?: string;
  conversationId?: string;
  status?: ReceiptStatus;
  fromDateTime?: string;
  toDateTime?: string;
}

export interface ConversationFilter extends PageRequest {
  conversationId?: string;
  messageId?: string;
  sender?: string;
  senderIdentifier?: string;
  receiver?: string;
  receiverIdentifier?: string;
  serviceIdentifier?: ServiceIdentifier;
  messageReference?: string;
  messageTitle?: string;
  pollable?: boolean;
  finished?: boolean;
  direction?: Direction;
  lastUpdateFrom?: string;
  lastUpdateTo?: string;
}

export interface PopResult {
  /** The ASiC-E zip, streamed. Consume or destroy it. */
  body: Readable;
  contentType?: string;
  contentLength?: number;
}

export interface DownloadResult {
  path: string;
  size: number;
  sha256: string;
}

/** A message saved by popToPath; `sha256` only when asked for with `hash`. */
export interface SavedDownload {
  path: string;
  size: number;
  sha256?: string;
}

export interface PopToPathOptions {
  /** Stops the download (and removes the partial file); the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Stop with a TooLargeError past this many bytes. */
  maxBytes?: number;
  /** fsync before the rename (default true); false for temporary files. */
  durable?: boolean;
  /** Compute the SHA-256 (about 0.6 s of CPU per GiB); default false. */
  hash?: boolean;
  /** Where the file is written before the rename; default `<destPath>.part-<random>`. */
  partPath?: string;
  /** Tries after a network failure or 502/503/504; default the client's `retries`. */
  retries?: number;
}
