import type { IntegrasjonspunktClient } from '../../client';
import type { Conversation, Direction, MessageStatus, ReceiptStatus } from '../../schemas/status';
import { newestStatusId, statusesAfter } from './newer-statuses';

export type FeedClient = Pick<IntegrasjonspunktClient, 'listStatuses' | 'listConversations'>;

/** Where the feed keeps the id of the last status it has handled (node context in the node). */
export interface CursorStore {
  get(): Promise<number | undefined>;
  set(id: number): Promise<void>;
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
 * A feed of every new status on the IP, in id order, each once. The cursor (the last handled status id) is written
 * after each status, so a restart resumes right after the last one handed out. A feed without a cursor starts
 * after the newest existing status instead of replaying the IP's whole history. When a poll is aborted (the node
 * stops) the cursor is not moved past a status whose hand-over was cut short: at a stop, a status may come twice,
 * never not at all.
 */
export class StatusFeed {
  private readonly conversations = new Map<number, Conversation | null>();

  constructor(
    private readonly client: FeedClient,
    private readonly cursor: CursorStore,
    private readonly filter: FeedFilter,
    /** Hands a status on; may resolve once it has been delivered. */
    private readonly emit: (item: FeedItem) => void | Promise<void>,
  ) {}

  /** One poll: hands every status newer than the cursor to `emit`, in order. Stops between statuses once `signal` aborts. */
  async poll(signal?: AbortSignal): Promise<FeedPollResult> {
    const after = await this.cursor.get();
    if (after === undefined) {
      const newest = await newestStatusId(this.client);
      await this.cursor.set(newest);
      return { emitted: 0, cursor: newest, started: true };
    }
    let emitted = 0;
    let cursor = after;
    for (const status of await statusesAfter(this.client, after)) {
      if (signal?.aborted) break;
      const item = await this.describe(status);
      if (signal?.aborted) break;
      if (this.matches(item)) {
        await this.emit(item);
        emitted += 1;
      }
      // Stopped while handing it over: it may not have arrived, so the cursor stays and it comes again next time.
      if (signal?.aborted) break;
      cursor = status.id;
      await this.cursor.set(cursor);
    }
    return { emitted, cursor, started: false };
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
