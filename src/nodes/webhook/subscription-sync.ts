import type { IntegrasjonspunktClient } from '../../client';
import type { Subscription, SubscriptionInput } from '../../schemas/webhook';

export type SubscriptionClient = Pick<
  IntegrasjonspunktClient,
  'listSubscriptions' | 'createSubscription' | 'updateSubscription' | 'deleteSubscription'
>;

export interface SyncResult {
  action: 'created' | 'updated' | 'recreated' | 'unchanged';
  subscription: Subscription;
  /** Ids of further subscriptions with the same name that were deleted (duplicates). */
  removedDuplicates: number[];
}

/** Every subscription on the IP, all pages. */
export async function listAllSubscriptions(client: SubscriptionClient): Promise<Subscription[]> {
  const all: Subscription[] = [];
  for (let page = 0; ; page++) {
    const result = await client.listSubscriptions({ page, size: 100 });
    all.push(...result.content);
    if (result.last || result.content.length === 0) return all;
  }
}

/**
 * Makes the IP hold exactly one subscription named `desired.name`, with the desired endpoint, resource, event and
 * filter. The name is the key: on every deploy or restart we find the subscription by name and create it only when
 * none exists, so it is never duplicated. A changed field is updated in place; a filter to remove is the exception:
 * the IP's partial PUT cannot clear a filter (§9.2), so that subscription is deleted and created again.
 * Further subscriptions with the same name (left by a crash between create and answer) are deleted.
 */
export async function syncSubscription(client: SubscriptionClient, desired: SubscriptionInput): Promise<SyncResult> {
  const wanted = withoutEmptyFilter(desired);
  const same = (await listAllSubscriptions(client)).filter((s) => s.name === wanted.name);
  const keep = same.find((s) => s.pushEndpoint === wanted.pushEndpoint) ?? same[0];
  const removedDuplicates: number[] = [];
  for (const extra of same) {
    if (extra === keep || extra.id === undefined) continue;
    await client.deleteSubscription(extra.id);
    removedDuplicates.push(extra.id);
  }

  if (!keep || keep.id === undefined) {
    return { action: 'created', subscription: await client.createSubscription(wanted), removedDuplicates };
  }
  if (keep.filter && !wanted.filter) {
    await client.deleteSubscription(keep.id);
    return { action: 'recreated', subscription: await client.createSubscription(wanted), removedDuplicates };
  }
  const changes: Partial<SubscriptionInput> = {};
  if (keep.pushEndpoint !== wanted.pushEndpoint) changes.pushEndpoint = wanted.pushEndpoint;
  if (keep.resource !== wanted.resource) changes.resource = wanted.resource;
  if (keep.event !== wanted.event) changes.event = wanted.event;
  if (wanted.filter && keep.filter !== wanted.filter) changes.filter = wanted.filter;
  if (Object.keys(changes).length === 0) return { action: 'unchanged', subscription: keep, removedDuplicates };
  await client.updateSubscription(keep.id, changes);
  return { action: 'updated', subscription: { ...keep, ...changes }, removedDuplicates };
}

/** Deletes the subscription(s) named `name`; `knownId` saves the listing when the id is known. Returns the ids deleted. */
export async function deleteSubscriptionNamed(client: SubscriptionClient, name: string, knownId?: number): Promise<number[]> {
  if (knownId !== undefined) {
    await client.deleteSubscription(knownId);
    return [knownId];
  }
  const ids = (await listAllSubscriptions(client)).filter((s) => s.name === name && s.id !== undefined).map((s) => s.id as number);
  for (const id of ids) await client.deleteSubscription(id);
  return ids;
}

function withoutEmptyFilter(input: SubscriptionInput): SubscriptionInput {
  const { filter, ...rest } = input;
  const trimmed = typeof filter === 'string' ? filter.trim() : '';
  return trimmed ? { ...rest, filter: trimmed } : rest;
}
