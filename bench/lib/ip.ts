// The benchmark's own calls to the simulator (setting up and clearing away between runs), through our client.
import { IntegrasjonspunktClient } from '../../src/client';
import { buildArkivmeldingXml } from '../../src/sbd/arkivmelding';
import { buildSbd } from '../../src/sbd/build';
import type { StandardBusinessDocument } from '../../src/schemas/sbd';
import { ARKIVMELDING_PROCESS, RECEIVER, SENDER } from './flows';
import { onCleanup } from './processes';

export function benchClient(url: string): IntegrasjonspunktClient {
  const client = new IntegrasjonspunktClient({ url, timeoutMs: 600_000 });
  onCleanup(() => client.close());
  return client;
}

/** An arkivmelding SBD from 910000009 to 920000008 whose main document is `hoveddokument`. */
export function arkivmeldingSbd(hoveddokument: string, process = ARKIVMELDING_PROCESS): StandardBusinessDocument {
  return buildSbd({ sender: SENDER, receiver: RECEIVER, process, type: 'arkivmelding', businessMessage: { hoveddokument } });
}

export function messageIdOf(sbd: StandardBusinessDocument): string {
  return sbd.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
}

/**
 * Sends `file` as an arkivmelding from 910000009 to 920000008 (create, PUT, send) and waits until the simulator has
 * put it in 920000008's inbox. Returns its messageId.
 */
export async function putInInbox(client: IntegrasjonspunktClient, file: { path: string; filename: string }, process = ARKIVMELDING_PROCESS): Promise<string> {
  const messageId = messageIdOf(await client.createMessage(arkivmeldingSbd(file.filename, process)));
  await client.uploadFile(messageId, { path: file.path, filename: file.filename, mimeType: 'application/pdf' });
  const xml = buildArkivmeldingXml({ tittel: 'Benchmark' }, [{ filename: file.filename, mimeType: 'application/pdf' }]);
  await client.uploadFile(messageId, { content: xml, filename: 'arkivmelding.xml', mimeType: 'application/xml' });
  await client.sendMessage(messageId);
  for (let i = 0; i < 1200; i++) {
    if ((await client.listIncoming({ messageId })).content.length > 0) return messageId;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`message ${messageId} did not reach the inbox within 2 minutes`);
}
