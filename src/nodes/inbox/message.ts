import { bareIdentifier, summarizeSbd, type StandardBusinessDocument } from '../../schemas/sbd';

/** The fields every msg from the inbox node carries, read from the SBD that peek returned. */
export interface IncomingFields {
  sbd: StandardBusinessDocument;
  messageId: string;
  conversationId?: string;
  /** Bare organisation number (910000009) or person id of the sender. */
  sender?: string;
  /** Bare organisation number of the receiver (useful when the IP serves several organisations). */
  receiver?: string;
  process?: string;
  /** The business message type, e.g. arkivmelding. */
  documentType: string;
  /** Same as documentType, so Switch nodes can route on msg.topic. */
  topic: string;
}

/** Reads the routing fields of an incoming message; an SBD without a messageId cannot be acknowledged, so it is refused. */
export function incomingFields(sbd: StandardBusinessDocument): IncomingFields {
  const summary = summarizeSbd(sbd);
  if (!summary.messageId) {
    throw new Error('The Integrasjonspunkt returned an incoming SBD without documentIdentification.instanceIdentifier (the messageId)');
  }
  const type = summary.type.toLowerCase();
  const fields: IncomingFields = { sbd, messageId: summary.messageId, documentType: type, topic: type };
  if (summary.conversationId) fields.conversationId = summary.conversationId;
  const sender = bareIdentifier(summary.sender);
  if (sender) fields.sender = sender;
  const receiver = bareIdentifier(summary.receiver);
  if (receiver) fields.receiver = receiver;
  if (summary.process) fields.process = summary.process;
  return fields;
}
