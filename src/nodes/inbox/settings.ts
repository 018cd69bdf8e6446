import { SERVICE_IDENTIFIERS } from '../../schemas/common';
import type { IncomingFilter } from '../../client/types';

export const OUTPUT_MODES = ['files', 'asic', 'path'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];
export const ACK_MODES = ['auto', 'manual'] as const;
export type AckMode = (typeof ACK_MODES)[number];

/** The defaults the editor shows; an empty or absent property takes these. */
export const INBOX_DEFAULTS = {
  interval: 30,
  output: 'files' as OutputMode,
  ack: 'auto' as AckMode,
  maxPerPoll: 100,
  maxBytes: 100 * 1024 * 1024,
};

/** The node's configuration, checked and in the units the code uses. */
export interface InboxSettings {
  /** Milliseconds between polls; 0 = poll only when a msg arrives. */
  intervalMs: number;
  output: OutputMode;
  /** Folder for output "path". */
  directory?: string;
  ack: AckMode;
  filter: IncomingFilter;
  maxPerPoll: number;
  /** Largest message accepted in output "files" or "asic". */
  maxBytes: number;
}

/** The node's properties as they arrive from the editor (strings) or a hand-written flow (numbers). */
export interface InboxConfig {
  interval?: unknown;
  output?: unknown;
  directory?: unknown;
  ack?: unknown;
  serviceIdentifier?: unknown;
  process?: unknown;
  conversationId?: unknown;
  senderIdentifier?: unknown;
  receiverIdentifier?: unknown;
  maxPerPoll?: unknown;
  maxBytes?: unknown;
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function text(value: unknown): string | undefined {
  return isBlank(value) ? undefined : String(value).trim();
}

/** Reads a number given as 30 or "30"; blank gives the default. */
function readNumber(config: InboxConfig, field: keyof InboxConfig, fallback: number, what: string, valid: (n: number) => boolean): number {
  const value = config[field];
  if (isBlank(value)) return fallback;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isFinite(n) || !valid(n)) throw new Error(`${field}: expected ${what}, got ${JSON.stringify(value)}`);
  return n;
}

function readChoice<T extends string>(config: InboxConfig, field: keyof InboxConfig, choices: readonly T[], fallback: T): T {
  const value = text(config[field]);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new Error(`${field}: expected one of ${choices.join(', ')}, got ${JSON.stringify(config[field])}`);
  }
  return value as T;
}

/** `0192:910000009` or `910000009` → `910000009`: the IP's filters take the bare number. */
function readIdentifier(config: InboxConfig, field: 'senderIdentifier' | 'receiverIdentifier'): string | undefined {
  const value = text(config[field]);
  if (value === undefined) return undefined;
  const bare = value.replace(/^0192:/, '');
  if (!/^(\d{9}|\d{11})$/.test(bare)) {
    throw new Error(`${field}: expected an organisation number such as 910000009 (or an 11-digit person id), got ${JSON.stringify(config[field])}`);
  }
  return bare;
}

/** Checks the node's properties; a bad one throws an Error naming the property and what was expected. */
export function readInboxSettings(config: InboxConfig): InboxSettings {
  const interval = readNumber(config, 'interval', INBOX_DEFAULTS.interval, 'seconds between polls: 0 (only on input) or at least 1', (n) => n === 0 || n >= 1);
  const output = readChoice(config, 'output', OUTPUT_MODES, INBOX_DEFAULTS.output);
  const ack = readChoice(config, 'ack', ACK_MODES, INBOX_DEFAULTS.ack);
  const maxPerPoll = readNumber(config, 'maxPerPoll', INBOX_DEFAULTS.maxPerPoll, 'a whole number of messages, at least 1', (n) => Number.isInteger(n) && n >= 1);
  const maxBytes = readNumber(config, 'maxBytes', INBOX_DEFAULTS.maxBytes, 'a whole number of bytes, at least 1', (n) => Number.isInteger(n) && n >= 1);
  const directory = text(config.directory);
  if (output === 'path' && directory === undefined) {
    throw new Error('directory: expected the folder to write messages to when output is "path"');
  }

  const filter: IncomingFilter = {};
  const serviceIdentifier = text(config.serviceIdentifier);
  if (serviceIdentifier !== undefined) {
    if (!(SERVICE_IDENTIFIERS as readonly string[]).includes(serviceIdentifier)) {
      throw new Error(`serviceIdentifier: expected one of ${SERVICE_IDENTIFIERS.join(', ')}, got ${JSON.stringify(config.serviceIdentifier)}`);
    }
    filter.serviceIdentifier = serviceIdentifier;
  }
  const process = text(config.process);
  if (process !== undefined) filter.process = process;
  const conversationId = text(config.conversationId);
  if (conversationId !== undefined) filter.conversationId = conversationId;
  const senderIdentifier = readIdentifier(config, 'senderIdentifier');
  if (senderIdentifier !== undefined) filter.senderIdentifier = senderIdentifier;
  const receiverIdentifier = readIdentifier(config, 'receiverIdentifier');
  if (receiverIdentifier !== undefined) filter.receiverIdentifier = receiverIdentifier;

  return { intervalMs: interval * 1000, output, directory: output === 'path' ? directory : undefined, ack, filter, maxPerPoll, maxBytes };
}
