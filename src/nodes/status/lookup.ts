import type { IntegrasjonspunktClient } from '../../client';
import type { Direction, MessageStatus, ReceiptStatus } from '../../schemas/status';
import { isFinalStatus } from './status-list';

export type LookupClient = Pick<IntegrasjonspunktClient, 'allStatusesOf' | 'listConversations'>;

/** What lookup (and a finished wait) puts on msg. */
export interface StatusLookup {
  messageId: string;
  /** Every status of the message's conversation, oldest first. */
  statuses: MessageStatus[];
  /** The latest status value, null when the IP knows no status for the messageId. */
  status: ReceiptStatus | null;
  final: boolean;
  conversationId?: string;
}

/**
 * All statuses of one message.
 *
 * `GET /api/statuses/{messageId}` returns the statuses of every conversation with that messageId. An IP that is
 * both sender and receiver of a message (sending to itself, or the simulator hosting both organisations) has an
 * OUTGOING and an INCOMING conversation for it, and the list mixes both. Then we keep the conversation in
 * `direction` (OUTGOING by default: the sender following its message), found with `GET /api/conversations?messageId=`.
 */
export async function lookupStatuses(client: LookupClient, messageId: string, direction: Direction = 'OUTGOING'): Promise<StatusLookup> {
  return (await lookupConversation(client, messageId, direction)).lookup;
}

/**
 * A lookup, and which conversations it saw: `followed` is the one whose statuses it returned (undefined when it
 * cannot tell them apart), `others` those of the other direction. With these, statuses seen later in
 * `GET /api/statuses` can be added to the lookup without asking again (see WaitRegistry).
 */
export interface ConversationLookup {
  lookup: StatusLookup;
  followed?: number;
  others: number[];
}

export async function lookupConversation(client: LookupClient, messageId: string, direction: Direction = 'OUTGOING'): Promise<ConversationLookup> {
  let statuses = await client.allStatusesOf(messageId);
  const conversationIds = new Set(statuses.map((s) => s.convId));
  let followed = conversationIds.size === 1 ? statuses[0].convId : undefined;
  let others: number[] = [];
  if (conversationIds.size > 1) {
    const conversations = (await client.listConversations({ messageId, size: 100 })).content;
    const chosen = conversations.find((c) => c.direction === direction && conversationIds.has(c.id));
    if (chosen) {
      statuses = statuses.filter((s) => s.convId === chosen.id);
      followed = chosen.id;
      others = [...conversationIds].filter((id): id is number => id !== undefined && id !== chosen.id);
    }
  }
  return { lookup: statusLookup(messageId, statuses), followed, others };
}

/** The lookup of `messageId` made of its statuses, oldest first. */
export function statusLookup(messageId: string, statuses: MessageStatus[]): StatusLookup {
  const latest = statuses.at(-1);
  const result: StatusLookup = {
    messageId,
    statuses,
    status: latest?.status ?? null,
    final: isFinalStatus(latest?.status),
  };
  const conversationId = latest?.conversationId;
  if (conversationId) result.conversationId = conversationId;
  return result;
}
