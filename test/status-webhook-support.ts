// Shared by the status and webhook tests: real messages through the simulator, sent and received with the client.
import { randomUUID } from 'node:crypto';
import type { IntegrasjonspunktClient } from '../src/client';
import { buildArkivmeldingXml, buildSbd } from '../src/sbd';
import { RECEIVER, RESPONSE_PROCESS, SENDER, waitFor as waitForEvery } from './support/ip';

export { RECEIVER, RESPONSE_PROCESS, SENDER };
export const ARKIV_PROCESS = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';

/** A status webhook event as the IP pushes it. */
export const STATUS_EVENT = {
  createdTs: '2025-06-03T10:02:17.904+02:00',
  resource: 'messages',
  event: 'status',
  messageId: 'a41c7b0e-2f6d-4b83-9c15-e8d0a6f3b271',
  conversationId: '7d2e9f14-0b5a-4c6e-a8d3-1f9b7c4e2a60',
  direction: 'INCOMING',
  serviceIdentifier: 'DPO',
  status: 'INNKOMMENDE_MOTTATT',
};

export interface SentMessage {
  messageId: string;
  conversationId: string;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** waitFor with the status tests' pace: every 20 ms, for up to 15 s by default. */
export function waitFor<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  return waitForEvery(what, check, timeoutMs, 20);
}

/** Sends a small arkivmelding from SENDER to RECEIVER in one multipart request. */
export async function sendArkivmelding(client: IntegrasjonspunktClient, tittel = 'Vedtak i byggesak'): Promise<SentMessage> {
  const conversationId = randomUUID();
  const files = [{ filename: 'vedtak.pdf', mimeType: 'application/pdf', content: Buffer.from('%PDF-1.4 vedtak\n') }];
  const xml = buildArkivmeldingXml({ tittel }, files);
  const sbd = buildSbd({
    sender: SENDER,
    receiver: RECEIVER,
    process: ARKIV_PROCESS,
    type: 'arkivmelding',
    conversationId,
    businessMessage: { hoveddokument: 'vedtak.pdf' },
  });
  const stored = await client.sendMultipart(sbd, [{ filename: 'arkivmelding.xml', mimeType: 'text/xml', content: xml }, ...files]);
  return { messageId: stored.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string, conversationId };
}

/** As the receiver: waits for the message in the inbox, peeks (locks), downloads and deletes it (LEVERT for the sender). */
export async function receiveAndDelete(client: IntegrasjonspunktClient, messageId: string): Promise<void> {
  await waitFor(`message ${messageId} in the inbox`, () => client.peek({ messageId }));
  const popped = await client.pop(messageId);
  if (popped) for await (const chunk of popped.body) void chunk;
  await client.deleteIncoming(messageId);
}

/** As the receiver: an OK arkivmelding_kvittering for `original`, from RECEIVER back to SENDER (LEST for the sender). */
export async function sendOkReceipt(client: IntegrasjonspunktClient, original: SentMessage): Promise<string> {
  const sbd = buildSbd({
    sender: RECEIVER,
    receiver: SENDER,
    process: RESPONSE_PROCESS,
    type: 'arkivmelding_kvittering',
    conversationId: original.conversationId,
    businessMessage: { receiptType: 'OK', relatedToMessageId: original.messageId },
  });
  const stored = await client.sendMultipart(sbd, []);
  return stored.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
}

/** The status values of the OUTGOING conversation of a message, oldest first. */
export async function outgoingStatuses(client: IntegrasjonspunktClient, messageId: string): Promise<string[]> {
  const conversation = await client.getConversationByMessageId(messageId);
  return [...conversation.messageStatuses].sort((a, b) => a.id - b.id).map((s) => s.status);
}
