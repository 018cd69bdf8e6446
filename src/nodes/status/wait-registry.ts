import type { Direction, MessageStatus, ReceiptStatus } from '../../schemas/status';
import { lookupConversation, statusLookup, type LookupClient, type StatusLookup } from './lookup';
import { newestStatusId, statusesAfter, type StatusListClient } from './newer-statuses';

export type WaitClient = LookupClient & StatusListClient;

export interface WaitRequest {
  messageId: string;
  /** The wait ends when the message has any of these. */
  finalStatuses: readonly ReceiptStatus[];
  timeoutMs: number;
  /** Which side to follow when the IP holds both (see lookupStatuses); OUTGOING by default. */
  direction?: Direction;
}

export interface WaitRegistryOptions {
  /** Milliseconds between polls while anyone waits. */
  intervalMs: number;
  /** Longest pause after failed polls (doubling from intervalMs); default 60 000. */
  maxRetryMs?: number;
  /** After every poll: the error when it failed, and how many are still waiting. */
  onPoll?: (error: unknown, pending: number) => void;
}

/** The wait ran out of time; names the message, the last status seen and how long it waited. */
export class WaitTimeoutError extends Error {
  readonly lastStatus: ReceiptStatus | null;

  constructor(
    readonly messageId: string,
    /** The statuses seen last, when a lookup succeeded. */
    readonly lookup: StatusLookup | undefined,
    readonly waitedMs: number,
    finalStatuses: readonly ReceiptStatus[],
    lastError?: unknown,
  ) {
    const lastStatus = lookup?.status ?? null;
    const seen = lastStatus ? `last status seen: ${lastStatus}` : 'no status seen for this messageId';
    const failure = lastError ? `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}` : '';
    super(
      `Timed out after ${formatSeconds(waitedMs)} waiting for message ${messageId} to reach ${orList(finalStatuses)}; ${seen}${failure}`,
    );
    this.name = 'WaitTimeoutError';
    this.lastStatus = lastStatus;
  }
}

/** The message ended (FEIL, LEVETID_UTLOPT) without reaching a status the wait was for. */
export class WaitEndedError extends Error {
  constructor(readonly lookup: StatusLookup, finalStatuses: readonly ReceiptStatus[]) {
    const last = lookup.statuses.at(-1);
    const description = last?.description ? ` (${last.description})` : '';
    super(`Message ${lookup.messageId} ended with ${lookup.status}${description} before reaching ${orList(finalStatuses)}`);
    this.name = 'WaitEndedError';
  }
}

/** The registry was closed (node stopped or redeployed) while this wait was pending. */
export class WaitStoppedError extends Error {
  constructor(messageId: string) {
    super(`Stopped waiting for message ${messageId}: the node was stopped`);
    this.name = 'WaitStoppedError';
  }
}

/** Statuses that end a message for good: waiting longer for another one is pointless. */
const ENDING_STATUSES: readonly ReceiptStatus[] = ['FEIL', 'LEVETID_UTLOPT'];

interface Waiter {
  request: WaitRequest;
  key: string;
  startedAt: number;
  deadline: number;
  last?: StatusLookup;
  /** The conversation `last` follows, and those of the other direction, when the last lookup could tell. */
  followed?: number;
  others?: Set<number>;
  /** True until a lookup has succeeded: the next poll looks it up whether or not it saw a status for it. */
  stale: boolean;
  lastError?: unknown;
  resolve: (lookup: StatusLookup) => void;
  reject: (error: Error) => void;
}

/**
 * Many waits for final statuses, served by ONE timer. Each poll asks the IP once for the statuses newer than the
 * last one seen (across all messages), then looks up only the messages among them that someone waits for. The timer
 * runs only while someone waits, polls never overlap, and close() leaves no timer behind.
 */
export class WaitRegistry {
  private readonly waiters = new Set<Waiter>();
  /** Id of the newest status seen; undefined while nobody waits. */
  private cursor: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly client: WaitClient,
    private readonly options: WaitRegistryOptions,
  ) {}

  /** How many waits are pending. */
  get pending(): number {
    return this.waiters.size;
  }

  /** True while a poll timer is armed or a poll is running. */
  get active(): boolean {
    return this.timer !== undefined || this.polling !== undefined;
  }

  /** Resolves with the message's statuses once it has one of `finalStatuses`; rejects on timeout, FEIL/LEVETID_UTLOPT or close. */
  wait(request: WaitRequest): Promise<StatusLookup> {
    if (this.closed) return Promise.reject(new WaitStoppedError(request.messageId));
    return new Promise<StatusLookup>((resolve, reject) => {
      const now = Date.now();
      const waiter: Waiter = {
        request,
        key: `${request.messageId} ${request.direction ?? 'OUTGOING'}`,
        startedAt: now,
        deadline: now + request.timeoutMs,
        stale: true,
        resolve,
        reject,
      };
      this.waiters.add(waiter);
      // The first look happens at once, not after an interval: the message may be final already.
      if (this.polling) this.schedule();
      else this.pollNow();
    });
  }

  /** Clears the timer, rejects every pending wait with WaitStoppedError and resolves once a running poll has ended. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const waiter of [...this.waiters]) this.settle(waiter, new WaitStoppedError(waiter.request.messageId));
    await this.polling;
  }

  private pollNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.polling = this.poll().finally(() => {
      this.polling = undefined;
      this.schedule();
    });
  }

  /** Arms the one timer for the next poll: after the interval (or backoff), or earlier when a wait times out first. */
  private schedule(): void {
    if (this.closed || this.polling) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.waiters.size === 0) {
      // Nobody waits: stop, and forget the cursor so an idle registry costs nothing.
      this.cursor = undefined;
      return;
    }
    const now = Date.now();
    const pause = this.failures === 0 ? this.options.intervalMs : Math.min(this.options.maxRetryMs ?? 60_000, this.options.intervalMs * 2 ** this.failures);
    let next = now + pause;
    for (const waiter of this.waiters) {
      if (waiter.stale && this.failures === 0) next = now;
      next = Math.min(next, waiter.deadline);
    }
    this.timer = setTimeout(() => this.pollNow(), Math.max(0, next - now));
  }

  private async poll(): Promise<void> {
    let error: unknown;
    try {
      const fresh = new Map<string, MessageStatus[]>();
      if (this.cursor === undefined) {
        // Read the cursor before looking anything up, so no status can slip between the lookups and the next poll.
        this.cursor = await newestStatusId(this.client);
      } else {
        const statuses = await statusesAfter(this.client, this.cursor);
        for (const status of statuses) if (status.messageId) fresh.set(status.messageId, [...(fresh.get(status.messageId) ?? []), status]);
        if (statuses.length > 0) this.cursor = statuses[statuses.length - 1].id;
      }
      error = await this.refresh(fresh);
    } catch (err) {
      error = err;
      for (const waiter of this.waiters) waiter.lastError = err;
    }
    this.failures = error ? this.failures + 1 : 0;
    this.expire();
    if (!this.closed) this.options.onPoll?.(error, this.waiters.size);
  }

  /**
   * Settles what the new statuses already tell: a waiter whose conversations are known gets the new statuses of
   * its own conversation added without another request. Each message that is stale, or has a status from a
   * conversation not seen before, is looked up (once per message) and its waiters settled.
   */
  private async refresh(fresh: Map<string, MessageStatus[]>): Promise<unknown> {
    const byKey = new Map<string, Waiter[]>();
    for (const waiter of this.waiters) {
      const news = fresh.get(waiter.request.messageId);
      if (!waiter.stale && !news) continue;
      if (!waiter.stale && news && this.extend(waiter, news)) continue;
      byKey.set(waiter.key, [...(byKey.get(waiter.key) ?? []), waiter]);
    }
    let firstError: unknown;
    for (const group of byKey.values()) {
      if (this.closed) return firstError;
      const { messageId, direction } = group[0].request;
      try {
        const found = await lookupConversation(this.client, messageId, direction);
        for (const waiter of group) {
          waiter.followed = found.followed;
          waiter.others = new Set(found.others);
          this.check(waiter, found.lookup);
        }
      } catch (err) {
        firstError ??= err;
        for (const waiter of group) {
          waiter.stale = true;
          waiter.lastError = err;
        }
      }
    }
    return firstError;
  }

  /**
   * Adds `news` (statuses of the waiter's message from GET /api/statuses) to its last lookup, as a new lookup would
   * return them; false when one comes from a conversation the last lookup did not see (then it is looked up).
   */
  private extend(waiter: Waiter, news: MessageStatus[]): boolean {
    const { last, followed, others } = waiter;
    if (!last || followed === undefined || !news.every((s) => s.convId === followed || (s.convId !== undefined && others?.has(s.convId)))) return false;
    const seen = new Set(last.statuses.map((s) => s.id));
    const added = news.filter((s) => s.convId === followed && !seen.has(s.id));
    if (added.length) this.check(waiter, statusLookup(last.messageId, [...last.statuses, ...added].sort((a, b) => a.id - b.id)));
    return true;
  }

  private check(waiter: Waiter, lookup: StatusLookup): void {
    waiter.last = lookup;
    waiter.stale = false;
    waiter.lastError = undefined;
    const finals = waiter.request.finalStatuses;
    if (lookup.statuses.some((s) => finals.includes(s.status))) this.settle(waiter, lookup);
    else if (lookup.statuses.some((s) => ENDING_STATUSES.includes(s.status))) this.settle(waiter, new WaitEndedError(lookup, finals));
  }

  private expire(): void {
    const now = Date.now();
    for (const waiter of this.waiters) {
      if (now < waiter.deadline) continue;
      const { messageId, finalStatuses } = waiter.request;
      this.settle(waiter, new WaitTimeoutError(messageId, waiter.last, now - waiter.startedAt, finalStatuses, waiter.lastError));
    }
  }

  private settle(waiter: Waiter, outcome: StatusLookup | Error): void {
    if (!this.waiters.delete(waiter)) return;
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return seconds < 10 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds)} s`;
}
