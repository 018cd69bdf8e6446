import { z } from 'zod';
import { DateTime, TolerantServiceIdentifier } from './common';
import { Direction, ReceiptStatus } from './status';

export const SUBSCRIPTION_RESOURCES = ['all', 'messages'] as const;
export const SUBSCRIPTION_EVENTS = ['all', 'status'] as const;

/**
 * Filter syntax of §9.3: `key=value[,value]` parts joined by `&`; keys (case-sensitive, as the IP's parser)
 * status, serviceIdentifier, direction; only the `=` operator.
 */
export const WEBHOOK_FILTER = /^(status|serviceIdentifier|direction)=[^&]+(&(status|serviceIdentifier|direction)=[^&]+)*&?$/;

export const Subscription = z.looseObject({
  id: z.number().int().optional(),
  name: z.string().min(1, { message: 'expected a name' }),
  pushEndpoint: z.url({ message: 'expected a well-formed URL' }),
  resource: z.enum(SUBSCRIPTION_RESOURCES, { message: 'expected "all" or "messages"' }),
  event: z.enum(SUBSCRIPTION_EVENTS, { message: 'expected "all" or "status"' }),
  filter: z.string().regex(WEBHOOK_FILTER, { message: 'Must be a valid filter definition.' }).optional(),
});
export type Subscription = z.infer<typeof Subscription>;
export type SubscriptionInput = Omit<Subscription, 'id'>;

export const PingEvent = z.looseObject({
  createdTs: DateTime,
  event: z.literal('ping'),
});
export type PingEvent = z.infer<typeof PingEvent>;

export const StatusEvent = z.looseObject({
  createdTs: DateTime,
  resource: z.literal('messages'),
  event: z.literal('status'),
  messageId: z.string(),
  conversationId: z.string().optional(),
  direction: Direction,
  serviceIdentifier: TolerantServiceIdentifier.optional(),
  status: ReceiptStatus,
  description: z.string().optional(),
});
export type StatusEvent = z.infer<typeof StatusEvent>;

export const WebhookEvent = z.discriminatedUnion('event', [PingEvent, StatusEvent]);
export type WebhookEvent = z.infer<typeof WebhookEvent>;
