import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IntegrasjonspunktClient } from '../src/client';
import type { StandardBusinessDocument } from '../src/schemas/sbd';
import { startSimulator } from '../src/simulator';
import { zipDigests } from './support/ip';

const MiB = 1024 * 1024;
const SIZE_MIB = 300;

/** Streams `mib` MiB of varied bytes to `file` and returns their SHA-256 (never the whole file in memory). */
async function writeLargeFile(file: string, mib: number): Promise<string> {
  const hash = createHash('sha256');
  const block = randomBytes(MiB);
  const out = fs.createWriteStream(file);
  for (let i = 0; i < mib; i++) {
    block.writeUInt32BE(i, 0);
    const chunk = Buffer.from(block);
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

describe('IntegrasjonspunktClient with a 300 MiB file', function () {
  this.timeout(300_000);
  let dir: string;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let client: IntegrasjonspunktClient;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-large-'));
    sim = await startSimulator({ port: 0, dataDir: path.join(dir, 'sim'), lockSweepMs: 100, statusDelayMs: 50 });
    client = new IntegrasjonspunktClient({ url: sim.url, timeoutMs: 120_000 });
  });
  after(async () => {
    await client?.close();
    await sim?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('streams the upload (create → PUT → send) and popToFile gives back the same document', async () => {
    const file = path.join(dir, 'Reguleringsplan kart.pdf');
    const expected = await writeLargeFile(file, SIZE_MIB);

    const sbd: StandardBusinessDocument = {
      standardBusinessDocumentHeader: {
        headerVersion: '1.0',
        sender: [{ identifier: { value: '0192:910000009', authority: 'iso6523-actorid-upis' } }],
        receiver: [{ identifier: { value: '0192:920000008', authority: 'iso6523-actorid-upis' } }],
        documentIdentification: { standard: 'urn:no:difi:avtalt:xsd::avtalt', typeVersion: '1.0', instanceIdentifier: randomUUID(), type: 'avtalt' },
        businessScope: { scope: [{ type: 'ConversationId', instanceIdentifier: randomUUID(), identifier: 'urn:no:difi:profile:avtalt:avtalt:ver1.0' }] },
      },
      avtalt: { identifier: 'stor-fil', content: {} },
    };
    const messageId = (await client.createMessage(sbd)).standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
    let lastProgress = 0;
    let progressCalls = 0;
    await client.uploadFile(messageId, { path: file }, (sent) => {
      lastProgress = sent;
      progressCalls++;
    });
    assert.equal(lastProgress, SIZE_MIB * MiB);
    assert.ok(progressCalls >= SIZE_MIB / 2, 'progress is reported as the bytes pass');
    await client.sendMessage(messageId);

    let peeked = null;
    for (let i = 0; i < 200 && !peeked; i++) {
      peeked = await client.peek({ messageId });
      if (!peeked) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(peeked, 'the message reached the inbox');
    const dest = path.join(dir, 'received.asic');
    const download = await client.popToFile(messageId, dest);
    assert.ok(download);
    assert.equal(download.size, fs.statSync(dest).size);
    assert.ok(download.size > SIZE_MIB * MiB);

    const entry = (await zipDigests(dest)).get('Reguleringsplan kart.pdf');
    assert.ok(entry, 'the document is in the ASiC');
    assert.equal(entry.size, SIZE_MIB * MiB);
    assert.equal(entry.sha256, expected);
    await client.deleteIncoming(messageId);
  });
});
