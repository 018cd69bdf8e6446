import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IntegrasjonspunktClient } from '../src/client';
import { InboxReceiver, type ReceivedMessage, type RefusedMessageError } from '../src/nodes/inbox/receiver';
import { readInboxSettings, type InboxConfig } from '../src/nodes/inbox/settings';
import { buildArkivmeldingXml, buildSbd } from '../src/sbd';
import { startSimulator, type RunningSimulator } from '../src/simulator';

const SENDER = '910000009';
const RECEIVER = '920000008';
const PROCESS = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';

async function send(client: IntegrasjonspunktClient, conversationId: string, content: Buffer): Promise<string> {
  const sbd = buildSbd({ sender: SENDER, receiver: RECEIVER, process: PROCESS, type: 'arkivmelding', conversationId, businessMessage: { hoveddokument: 'brev.pdf' } });
  const xml = buildArkivmeldingXml({ tittel: 'Brev' }, [{ filename: 'brev.pdf' }]);
  const stored = await client.sendMultipart(sbd, [
    { filename: 'arkivmelding.xml', mimeType: 'text/xml', content: xml },
    { filename: 'brev.pdf', mimeType: 'application/pdf', content },
  ]);
  return stored.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
}

async function inInbox(client: IntegrasjonspunktClient, conversationId: string): Promise<string[]> {
  const page = await client.listIncoming({ conversationId, size: 100 });
  return page.content.map((s) => s.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string);
}

async function waitForInbox(client: IntegrasjonspunktClient, conversationId: string, count: number): Promise<void> {
  const until = Date.now() + 10_000;
  while ((await inInbox(client, conversationId)).length < count) {
    if (Date.now() > until) throw new Error('message did not arrive');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('inbox receiver', function () {
  this.timeout(30_000);

  let sim: RunningSimulator;
  let client: IntegrasjonspunktClient;
  let tmp: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'inbox-receiver-'));
    // A long lock: whatever is retried here is retried because the receiver remembers it, not because the lock expired.
    sim = await startSimulator({ port: 0, dataDir: path.join(tmp, 'sim'), lockTimeoutSeconds: 60, lockSweepMs: 100, statusDelayMs: 10 });
    client = new IntegrasjonspunktClient({ url: sim.url, retries: 0 });
  });

  after(async () => {
    await client?.close();
    await sim?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(() => sim.faults.clear());

  function receiver(config: InboxConfig, extra: { lockMs?: number } = {}) {
    const emitted: ReceivedMessage[] = [];
    const refused: RefusedMessageError[] = [];
    const warnings: string[] = [];
    const r = new InboxReceiver({
      client,
      settings: readInboxSettings({ interval: 0, ...config }),
      emit: (msg) => emitted.push(msg),
      refuse: (err) => refused.push(err),
      warn: (text) => warnings.push(text),
      tmpDir: tmp,
      ...extra,
    });
    return { r, emitted, refused, warnings };
  }

  const signal = () => new AbortController().signal;

  it('pops a message again at the next poll after its download broke off, without waiting for the lock', async () => {
    const conversationId = randomUUID();
    const content = randomBytes(1024 * 1024);
    const id = await send(client, conversationId, content);
    await waitForInbox(client, conversationId, 1);
    const { r, emitted } = receiver({ conversationId });
    sim.faults.add({ method: 'GET', path: '^/api/messages/in/pop/', drop: 'midway' });
    await assert.rejects(r.drain(signal()));
    assert.equal(emitted.length, 0, 'a partial download is never emitted');
    assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith('eformidling-inbox-')), [], 'temp download removed');
    await r.drain(signal());
    assert.equal(emitted.length, 1);
    assert.equal(emitted[0].messageId, id);
    const doc = (emitted[0].payload as Array<{ filename: string; content: Buffer }>).find((d) => d.filename === 'brev.pdf');
    assert.ok(doc?.content.equals(content));
    assert.deepEqual(await inInbox(client, conversationId), []);
  });

  it('retries a failed delete at the next poll instead of emitting the message twice', async () => {
    const conversationId = randomUUID();
    await send(client, conversationId, Buffer.from('hei'));
    await waitForInbox(client, conversationId, 1);
    const { r, emitted } = receiver({ conversationId });
    sim.faults.add({ method: 'DELETE', path: '^/api/messages/in/', status: 500 });
    await assert.rejects(r.drain(signal()), /500/);
    assert.equal(emitted.length, 1);
    assert.equal(r.acked, 0);
    await r.drain(signal());
    assert.equal(emitted.length, 1);
    assert.equal(r.acked, 1);
    assert.deepEqual(await inInbox(client, conversationId), []);
  });

  it('counts a delete whose answer was lost as done (the retry finds the message gone)', async () => {
    const conversationId = randomUUID();
    await send(client, conversationId, Buffer.from('hei'));
    await waitForInbox(client, conversationId, 1);
    const { r, emitted } = receiver({ conversationId });
    sim.faults.add({ method: 'DELETE', path: '^/api/messages/in/', drop: 'after' });
    await assert.rejects(r.drain(signal()));
    await r.drain(signal());
    assert.equal(emitted.length, 1);
    assert.equal(r.acked, 1);
  });

  it('never pops a message another receiver holds the lock on', async () => {
    const conversationId = randomUUID();
    await send(client, conversationId, Buffer.from('hei'));
    await waitForInbox(client, conversationId, 1);
    const a = receiver({ conversationId, ack: 'manual' });
    const b = receiver({ conversationId, ack: 'manual' });
    await a.r.drain(signal());
    await b.r.drain(signal());
    assert.equal(a.emitted.length, 1);
    assert.equal(b.emitted.length, 0);
    const id = a.emitted[0].messageId;
    await assert.rejects(b.r.ack(id), /not waiting for an ack on this inbox node/);
    assert.deepEqual(await inInbox(client, conversationId), [id], 'b did not delete it');
    await a.r.ack(id);
    assert.deepEqual(await inInbox(client, conversationId), []);
  });

  it('refuses an ack once the lock time has passed, without deleting (another node may hold the message by then)', async () => {
    const conversationId = randomUUID();
    const id = await send(client, conversationId, Buffer.from('hei'));
    await waitForInbox(client, conversationId, 1);
    // Long enough that a busy machine still counts the message as waiting right after the pop.
    const { r } = receiver({ conversationId, ack: 'manual' }, { lockMs: 1_000 });
    await r.drain(signal());
    assert.equal(r.waiting, 1);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await assert.rejects(r.ack(id), new RegExp(`The lock on message ${id} expired before the ack; the Integrasjonspunkt will deliver it again`));
    assert.equal(r.waiting, 0);
    assert.deepEqual(await inInbox(client, conversationId), [id]);
  });

  it('refuses a zip over maxBytes in asic mode and goes on with the next message', async () => {
    const conversationId = randomUUID();
    const big = await send(client, conversationId, randomBytes(200_000));
    await waitForInbox(client, conversationId, 1);
    const small = await send(client, conversationId, Buffer.from('hei'));
    await waitForInbox(client, conversationId, 2);
    const { r, emitted, refused } = receiver({ conversationId, output: 'asic', maxBytes: 100_000 });
    await r.drain(signal());
    assert.equal(refused.length, 1);
    assert.equal(refused[0].messageId, big);
    assert.match(refused[0].message, /larger than maxBytes \(100000 bytes\) for output "asic"/);
    assert.deepEqual(emitted.map((m) => m.messageId), [small]);
    assert.deepEqual(await inInbox(client, conversationId), [big], 'the refused message stays');
  });

  it('stops when aborted and leaves no temp files', async () => {
    const conversationId = randomUUID();
    await send(client, conversationId, randomBytes(4 * 1024 * 1024));
    await waitForInbox(client, conversationId, 1);
    const { r, emitted } = receiver({ conversationId });
    const controller = new AbortController();
    sim.faults.add({ method: 'GET', path: '^/api/messages/in/pop/', delayMs: 300 });
    const draining = r.drain(controller.signal);
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(draining);
    assert.equal(emitted.length, 0);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith('eformidling-inbox-')), []);
  });
});
