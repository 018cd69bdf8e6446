import type { IntegrasjonspunktClient } from '../../client';
import type { MessageStatus } from '../../schemas/status';

export type StatusListClient = Pick<IntegrasjonspunktClient, 'listStatuses'>;

/** Statuses read per request while catching up. */
const PAGE_SIZE = 500;

/** The id of the newest status the IP has, 0 when it has none. */
export async function newestStatusId(client: StatusListClient): Promise<number> {
  const page = await client.listStatuses({ sort: 'id,desc', size: 1 });
  return page.content[0]?.id ?? 0;
}

/**
 * Every status with an id above `afterId`, oldest first.
 *
 * The IP's `id` query parameter is an equality filter (MessageStatusRepository: `messageStatus.id.eq(id)`), so
 * "everything after id N" cannot be asked for directly. Reading pages sorted by id descending until a status at or
 * below `afterId` turns up finds exactly the new ones, whatever their count, in one request when little happened.
 * A status written while we page shifts later pages by one; the duplicate that causes is dropped by id.
 */
export async function statusesAfter(client: StatusListClient, afterId: number, pageSize = PAGE_SIZE): Promise<MessageStatus[]> {
  const found = new Map<number, MessageStatus>();
  for (let page = 0; ; page++) {
    const result = await client.listStatuses({ sort: 'id,desc', size: pageSize, page });
    let reachedOld = false;
    for (const status of result.content) {
      if (status.id <= afterId) {
        reachedOld = true;
        break;
      }
      found.set(status.id, status);
    }
    if (reachedOld || result.last || result.content.length === 0) break;
  }
  return [...found.values()].sort((a, b) => a.id - b.id);
}
