import { z } from 'zod';
import { DateTime, TolerantServiceIdentifier } from './common';

/** The IP's ten ReceiptStatus values (§8.1). */
export const RECEIPT_STATUSES = [
  'OPPRETTET',
  'SENDT',
  'MOTTATT',
  'LEVERT',
  'LEST',
  'FEIL',
  'ANNET',
  'INNKOMMENDE_MOTTATT',
  'INNKOMMENDE_LEVERT',
  'LEVETID_UTLOPT',
] as const;
export const ReceiptStatus = z.enum(RECEIPT_STATUSES, { message: `expected one of ${RECEIPT_STATUSES.join(', ')}` });
export type ReceiptStatus = z.infer<typeof ReceiptStatus>;

/** Statuses after which nothing more happens to a message (design.md, `msg.final`). */
export const FINAL_STATUSES: readonly ReceiptStatus[] = ['LEVERT', 'LEST', 'FEIL', 'LEVETID_UTLOPT', 'INNKOMMENDE_LEVERT'];

export const MessageStatus = z.looseObject({
  id: z.number().int(),
  lastUpdate: DateTime,
  status: ReceiptStatus,
  description: z.string().optional(),
  rawReceipt: z.string().optional(),
  convId: z.number().int().optional(),
  messageId: z.string().optional(),
  conversationId: z.string().optional(),
});
export type MessageStatus = z.infer<typeof MessageStatus>;

export const DIRECTIONS = ['INCOMING', 'OUTGOING'] as const;
export const Direction = z.enum(DIRECTIONS);
export type Direction = z.infer<typeof Direction>;

export const ConversationStatus = z.looseObject({
  id: z.number().int(),
  lastUpdate: DateTime,
  status: ReceiptStatus,
  description: z.string().optional(),
});

export const Conversation = z.looseObject({
  id: z.number().int(),
  conversationId: z.string(),
  messageId: z.string(),
  sender: z.string().optional(),
  senderIdentifier: z.string().optional(),
  receiver: z.string().optional(),
  receiverIdentifier: z.string().optional(),
  processIdentifier: z.string().optional(),
  documentIdentifier: z.string().optional(),
  messageReference: z.string().optional(),
  messageTitle: z.string().optional(),
  lastUpdate: DateTime,
  finished: z.boolean(),
  expiry: DateTime.optional(),
  direction: Direction,
  serviceIdentifier: TolerantServiceIdentifier.optional(),
  externalSystemReference: z.string().optional(),
  messageStatuses: z.array(ConversationStatus).default([]),
});
export type Conversation = z.infer<typeof Conversation>;
