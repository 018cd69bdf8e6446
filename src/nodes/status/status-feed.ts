import type { IntegrasjonspunktClient } from '../../client';
import type { Conversation, Direction, MessageStatus, ReceiptStatus } from '../../schemas/status';
import { newestStatusId, statusesAfter } from './newer-statuses';

export type FeedClient = Pick<IntegrasjonspunktClient, 'listStatuses' | 'listConversations'>;

/** Where the feed keeps its place (node context in the node). */
export interface CursorStore {
  /** The cursor: every status up to this id has been handled. */
  get(): Promise<number | undefined>;
  set(id: number): Promise<void>;
  /** Ids above the cursor handled already, while an older one is still missing (see StatusFeed). */
  getAhead(): Promise<number[]>;
  setAhead(ids: number[]): Promise<void>;
}

/** Empty lists let everything through. */
export interface FeedFilter {
  statuses?: readonly ReceiptStatus[];
  directions?: readonly Direction[];
  serviceIdentifiers?: readonly string[];
}

/** One new status, with the direction and service of its conversation when the IP still has it. */
export interface FeedItem {
  status: MessageStatus;
  direction?: Direction;
  serviceIdentifier?: string;
}

export interface FeedPollResult {
  /** Statuses handed to `emit` in this poll. */
  emitted: number;
  /** The cursor after the poll. */
  cursor: number;
  /** True when there was no cursor yet and the feed now starts after the newest existing status. */
  started: boolean;
}

/** Conversations remembered for their direction and service; they never change. */
const CONVERSATION_CACHE_SIZE = 1000;

/**
 * How long a missing status id is waited for. The IP writes statuses in concurrent database transactions, so a
 * status can show up after one with a higher id; one that never shows was rolled back or deleted.
 */
export const GAP_WAIT_MS = 60_000;

/**
 * A feed of every new status on the IP, each once, in id order as they show up. The cursor (every status up to it
 * handled) and the ids handled above it are written after each status, so a restart resumes right after the last
 * one handed out. A status that shows up late, below ids already handed out, still comes: the cursor stays below a
 * missing id until it shows, or for GAP_WAIT_MS (by our clock, or by the IP's timestamps of the statuses around
 * it). A feed without a cursor starts after the newest existing status instead of replaying the IP's whole
 * history. When a poll is aborted (the node stops) a status whose hand-over was cut short is not marked handled:
 * at a stop, a status may come twice, never not at all.
 */
export class StatusFeed {
  private readonly conversations = new Map<number, Conversation | null>();
  /** Missing ids (by the first id of a run of them) and when we first noticed them. */
  private readonly gapSince = new Map<number, number>();

  constructor(
    private readonly client: FeedClient,
    private readonly cursor: CursorStore,
    private readonly filter: FeedFilter,
    /** Hands a status on; may resolve once it has been delivered. */
    private readonly emit: (item: FeedItem) => void | Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  /** One poll: hands every status newer than the cursor to `emit`, in order. Stops between statuses once `signal` aborts. */
  async poll(signal?: AbortSignal): Promise<FeedPollResult> {
    const after = await this.cursor.get();
    if (after === undefined) {
      const newest = await newestStatusId(this.client);
      await this.cursor.set(newest);
      return { emitted: 0, cursor: newest, started: true };
    }
    const place = { cursor: after, ahead: new Set((await this.cursor.getAhead()).filter((id) => id > after)) };
    const statuses = await statusesAfter(this.client, after);
    let emitted = 0;
    for (const status of statuses) {
      if (signal?.aborted) break;
      if (status.id <= place.cursor || place.ahead.has(status.id)) continue; // handed out already
      const item = await this.describe(status);
      if (signal?.aborted) break;
      if (this.matches(item)) {
        await this.emit(item);
        emitted += 1;
      }
      // Stopped while handing it over: it may not have arrived, so it is not marked and comes again next time.
      if (signal?.aborted) break;
      place.ahead.add(status.id);
      await this.settle(place, statuses, false);
    }
    // Now that every status read is handled, a missing id may have waited long enough (also when nothing new came).
    if (!signal?.aborted) await this.settle(place, statuses, true);
    return { emitted, cursor: place.cursor, started: false };
  }

  /**
   * Moves the cursor over the handed-out ids that follow it and, with `skipGaps` (once every status read in this
   * poll is handled, so what is missing is really missing), over runs of missing ids waited for long enough.
   * Saves what changed (the ids ahead first: a crash in between then repeats nothing).
   */
  private async settle(place: { cursor: number; ahead: Set<number> }, seen: MessageStatus[], skipGaps: boolean): Promise<void> {
    const before = { cursor: place.cursor, ahead: place.ahead.size };
    const ids = [...place.ahead].sort((a, b) => a - b);
    let cursor = place.cursor;
    let previous = place.cursor;
    let blocked = false;
    for (const id of ids) {
      // Every run of missing ids is timed from when it is first seen, also those behind one still waited for.
      const passable = id === previous + 1 || (skipGaps && this.waitedLongEnough(previous + 1, id, seen));
      if (!passable) blocked = true;
      if (!blocked) cursor = id;
      previous = id;
    }
    for (const id of ids) if (id <= cursor) place.ahead.delete(id);
    for (const start of this.gapSince.keys()) if (start <= cursor) this.gapSince.delete(start);
    place.cursor = cursor;
    if (place.ahead.size > 0 || before.ahead > 0) await this.cursor.setAhead([...place.ahead]);
    if (cursor !== before.cursor) await this.cursor.set(cursor);
  }

  /** Whether the missing ids from `start` up to (not including) `nextId` need not be waited for any longer. */
  private waitedLongEnough(start: number, nextId: number, seen: MessageStatus[]): boolean {
    // The status after them was written GAP_WAIT_MS before the IP's newest: they would have shown by now.
    const next = seen.find((s) => s.id === nextId);
    const newest = seen.at(-1);
    if (next && newest && Date.parse(newest.lastUpdate) - Date.parse(next.lastUpdate) >= GAP_WAIT_MS) return true;
    const now = this.now();
    const since = this.gapSince.get(start) ?? now;
    this.gapSince.set(start, since);
    return now - since >= GAP_WAIT_MS;
  }

  private matches(item: FeedItem): boolean {
    const { statuses, directions, serviceIdentifiers } = this.filter;
    if (statuses?.length && !statuses.includes(item.status.status)) return false;
    if (directions?.length && (!item.direction || !directions.includes(item.direction))) return false;
    if (serviceIdentifiers?.length && (!item.serviceIdentifier || !serviceIdentifiers.includes(item.serviceIdentifier))) return false;
    return true;
  }

  private async describe(status: MessageStatus): Promise<FeedItem> {
    const conversation = await this.conversationOf(status);
    const item: FeedItem = { status };
    if (conversation) {
      item.direction = conversation.direction;
      if (conversation.serviceIdentifier) item.serviceIdentifier = conversation.serviceIdentifier;
    }
    return item;
  }

  /**
   * The conversation a status belongs to. `GET /api/conversations/{id}` only knows outgoing ones, so we search by
   * messageId (which finds both directions) and pick the one with the status's convId.
   */
  private async conversationOf(status: MessageStatus): Promise<Conversation | undefined> {
    if (status.convId !== undefined && this.conversations.has(status.convId)) return this.conversations.get(status.convId) ?? undefined;
    if (!status.messageId) return undefined;
    const found = (await this.client.listConversations({ messageId: status.messageId, size: 100 })).content;
    for (const conversation of found) this.remember(conversation.id, conversation);
    if (status.convId === undefined) return found.length === 1 ? found[0] : undefined;
    if (!this.conversations.has(status.convId)) this.remember(status.convId, null);
    return this.conversations.get(status.convId) ?? undefined;
  }

  private remember(id: number, conversation: Conversation | null): void {
    this.conversations.delete(id);
    this.conversations.set(id, conversation);
    if (this.conversations.size > CONVERSATION_CACHE_SIZE) {
      const oldest = this.conversations.keys().next().value;
      if (oldest !== undefined) this.conversations.delete(oldest);
    }
  }
}
