import { Uuid } from '../../schemas/common';
import { FINAL_STATUSES, type Direction, type ReceiptStatus } from '../../schemas/status';
import { toNumber } from '../shared/typed';
import type { FeedFilter } from './status-feed';
import { parseDirectionList, parseServiceList, parseStatusList } from './status-list';

export const STATUS_MODES = ['lookup', 'wait', 'feed'] as const;
export type StatusMode = (typeof STATUS_MODES)[number];

/** The eformidling-status node's properties as they arrive in the flow (numbers as "30" or 30). */
export interface StatusNodeProperties {
  mode?: unknown;
  finalStatuses?: unknown;
  timeout?: unknown;
  interval?: unknown;
  statusFilter?: unknown;
  directionFilter?: unknown;
  serviceFilter?: unknown;
}

export interface StatusSettings {
  mode: StatusMode;
  /** wait: the statuses that end the wait. */
  finalStatuses: ReceiptStatus[];
  /** wait: how long to wait. */
  timeoutMs: number;
  /** wait and feed: pause between polls; 0 in feed = poll only when a msg arrives. */
  intervalMs: number;
  /** feed: what to emit. */
  filter: FeedFilter;
}

export const DEFAULT_TIMEOUT_SECONDS = 300;
export const DEFAULT_INTERVAL_SECONDS = 10;
/** Polling faster than this only loads the IP. */
const MIN_INTERVAL_SECONDS = 0.1;
/** Longest setTimeout delay Node.js accepts (about 24.8 days). */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Reads and checks the node's settings; a bad one is an error naming the property. */
export function readStatusSettings(props: StatusNodeProperties): StatusSettings {
  const mode = (typeof props.mode === 'string' && props.mode.trim() !== '' ? props.mode.trim() : 'lookup') as StatusMode;
  if (!STATUS_MODES.includes(mode)) throw new Error(`mode: expected lookup, wait or feed, got "${String(props.mode)}"`);

  const timeout = toNumber(props.timeout, DEFAULT_TIMEOUT_SECONDS, 'timeout');
  if (timeout <= 0) throw new Error(`timeout: expected a number of seconds above 0, got "${String(props.timeout)}"`);

  let interval = toNumber(props.interval, DEFAULT_INTERVAL_SECONDS, 'interval');
  if (interval < 0) throw new Error(`interval: expected a number of seconds, 0 or more, got "${String(props.interval)}"`);
  // A wait must poll; only a feed may be driven by input msgs alone.
  if (interval === 0 && mode !== 'feed') interval = DEFAULT_INTERVAL_SECONDS;
  if (interval > 0) interval = Math.max(interval, MIN_INTERVAL_SECONDS);

  return {
    mode,
    finalStatuses: parseStatusList(props.finalStatuses, 'finalStatuses', FINAL_STATUSES),
    timeoutMs: Math.min(timeout * 1000, MAX_DELAY_MS),
    intervalMs: Math.min(interval * 1000, MAX_DELAY_MS),
    filter: {
      statuses: parseStatusList(props.statusFilter, 'statusFilter', []),
      directions: parseDirectionList(props.directionFilter, 'directionFilter'),
      serviceIdentifiers: parseServiceList(props.serviceFilter, 'serviceFilter'),
    },
  };
}

/** `msg.messageId` as a non-empty string, or an error saying what is missing. */
export function messageIdOf(value: unknown): string {
  // Every messageId is a UUID (the IP refuses others), so anything else is a mistake in the flow, not an unknown message.
  if (typeof value !== 'string' || !Uuid.safeParse(value.trim()).success) {
    const got = value === undefined ? 'nothing' : JSON.stringify(value);
    throw new Error(`msg.messageId: expected the messageId of a message (a UUID such as 5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13), got ${got}`);
  }
  return value.trim();
}

/** `msg.direction` (which side to follow when the IP holds both): OUTGOING unless INCOMING is asked for. */
export function directionOf(value: unknown): Direction {
  if (value === undefined || value === null || value === '') return 'OUTGOING';
  const direction = String(value).toUpperCase();
  if (direction !== 'INCOMING' && direction !== 'OUTGOING') throw new Error(`msg.direction: expected INCOMING or OUTGOING, got "${String(value)}"`);
  return direction;
}

/** `msg.cursor` (feed): the status id to continue after, a whole number 0 or more. */
export function cursorOf(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isInteger(n) || n < 0) throw new Error(`msg.cursor: expected a status id (a whole number, 0 or more), got ${JSON.stringify(value)}`);
  return n;
}
