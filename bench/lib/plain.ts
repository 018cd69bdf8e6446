// What a plain script sends, written out by hand (no code of this package): an arkivmelding SBD and the
// multipart/form-data body of POST /api/messages/out/multipart.
import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'undici';

const PROCESS = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';

export function arkivmeldingSbdJson(messageId: string): string {
  return JSON.stringify({
    standardBusinessDocumentHeader: {
      headerVersion: '1.0',
      sender: [{ identifier: { value: '0192:910000009', authority: 'iso6523-actorid-upis' } }],
      receiver: [{ identifier: { value: '0192:920000008', authority: 'iso6523-actorid-upis' } }],
      documentIdentification: {
        standard: 'urn:no:difi:arkivmelding:xsd::arkivmelding',
        typeVersion: '2.0',
        instanceIdentifier: messageId,
        type: 'arkivmelding',
        creationDateAndTime: new Date().toISOString(),
      },
      businessScope: { scope: [{ type: 'ConversationId', instanceIdentifier: randomUUID(), identifier: PROCESS }] },
    },
    arkivmelding: { hoveddokument: 'brev.pdf' },
  });
}

/** sbd, brev.pdf and arkivmelding.xml as one multipart body. */
export function multipartArkivmelding(messageId: string, pdf: Buffer, xml: Buffer): { body: Buffer; contentType: string } {
  const boundary = `----plain-${randomBytes(12).toString('hex')}`;
  const part = (headers: string, content: Buffer | string) => [Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), Buffer.from(content), Buffer.from('\r\n')];
  const body = Buffer.concat([
    ...part('Content-Disposition: form-data; name="sbd"\r\nContent-Type: application/json', arkivmeldingSbdJson(messageId)),
    ...part('Content-Disposition: form-data; name="brev.pdf"; filename="brev.pdf"\r\nContent-Type: application/pdf', pdf),
    ...part('Content-Disposition: form-data; name="arkivmelding.xml"; filename="arkivmelding.xml"\r\nContent-Type: application/xml', xml),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** undici requests to the IP, each answer read whole; anything but 2xx is an error. */
export class PlainIp {
  requests = 0;
  private readonly pool: Pool;

  constructor(url: string) {
    this.pool = new Pool(url);
  }

  async call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: Buffer, contentType?: string): Promise<{ status: number; body: Buffer }> {
    this.requests++;
    const res = await this.pool.request({ method, path, body, headers: contentType ? { 'content-type': contentType } : {} });
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
    const data = Buffer.concat(chunks);
    if (res.statusCode >= 300) throw new Error(`${method} ${path} answered ${res.statusCode}: ${data.toString().slice(0, 300)}`);
    return { status: res.statusCode, body: data };
  }

  /** Sends one small arkivmelding (multipart); returns its messageId. */
  async sendSmall(pdf: Buffer, xml: Buffer): Promise<string> {
    const messageId = randomUUID();
    const { body, contentType } = multipartArkivmelding(messageId, pdf, xml);
    await this.call('POST', '/api/messages/out/multipart', body, contentType);
    return messageId;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
