import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { openAsic, readAsicDocuments } from '../src/asic/read';
import { IntegrasjonspunktClient } from '../src/client';
import { buildArkivmeldingXml, buildSbd } from '../src/sbd';
import type { RunningSimulator } from '../src/simulator';
import type { NodeMessage } from '../src/nodes/shared/types';

/** The part of node-red-node-test-helper used here (it ships no types). */
interface TestNode {
  receive(msg: NodeMessage): void;
  on(event: string, listener: (...args: never[]) => void): void;
  status: unknown;
}
interface TestHelper {
  init(runtimePath: string): void;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  load(nodes: unknown[], flow: object[], credentials?: object): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
}

const helper: TestHelper = require('node-red-node-test-helper');
const configNode = require('../src/nodes/eformidling-config');
const inboxNode = require('../src/nodes/eformidling-inbox');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');
import { startTestSimulator, stopTestSimulator } from './support/ip';

helper.init(require.resolve('node-red'));

const SENDER = '910000009';
const RECEIVER = '920000008';
const ARKIV_PROCESS = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';
const RESPONSE_PROCESS = 'urn:no:difi:profile:arkivmelding:response:ver1.0';
const MiB = 1024 * 1024;

interface TestFile {
  filename: string;
  mimeType?: string;
  content: Buffer;
}

interface Received extends NodeMessage {
  messageId: string;
  payload: unknown;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Pseudo-random bytes (AES-CTR keystream): incompressible, fast, and the same for one seed. */
function randomContent(size: number): Buffer {
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  return cipher.update(Buffer.alloc(size));
}

/** Writes `size` pseudo-random bytes chunk by chunk; returns the SHA-256 (hex). */
async function writeRandomFile(file: string, size: number): Promise<string> {
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const zeros = Buffer.alloc(4 * MiB);
  const hash = createHash('sha256');
  async function* chunks() {
    for (let left = size; left > 0; left -= zeros.length) {
      const chunk = cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(chunks(), fs.createWriteStream(file));
  return hash.digest('hex');
}

function arkivmeldingSbd(conversationId: string, hoveddokument: string) {
  return buildSbd({
    sender: SENDER,
    receiver: RECEIVER,
    process: ARKIV_PROCESS,
    type: 'arkivmelding',
    conversationId,
    businessMessage: { hoveddokument },
  });
}

/** Sends an arkivmelding from SENDER to RECEIVER in one multipart request; returns its messageId. */
async function sendArkivmelding(client: IntegrasjonspunktClient, conversationId: string, files: TestFile[], tittel = 'Vedtak i byggesak'): Promise<string> {
  const xml = buildArkivmeldingXml({ tittel, saksmappe: { saksaar: 2025, sakssekvensnummer: 42 }, journalpost: { journalpostnummer: 7 } }, files);
  const sbd = arkivmeldingSbd(conversationId, files[0].filename);
  const stored = await client.sendMultipart(sbd, [{ filename: 'arkivmelding.xml', mimeType: 'text/xml', content: xml }, ...files]);
  return stored.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
}

/** Sends an arkivmelding_kvittering (a receipt: no files, pop answers 204). */
async function sendReceipt(client: IntegrasjonspunktClient, conversationId: string): Promise<string> {
  const sbd = buildSbd({
    sender: SENDER,
    receiver: RECEIVER,
    process: RESPONSE_PROCESS,
    type: 'arkivmelding_kvittering',
    conversationId,
    businessMessage: { receiptType: 'OK', relatedToMessageId: randomUUID() },
  });
  const stored = await client.sendMultipart(sbd, []);
  return stored.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
}

async function incomingIds(client: IntegrasjonspunktClient, conversationId: string): Promise<string[]> {
  const page = await client.listIncoming({ conversationId, size: 2000 });
  return page.content.map((sbd) => sbd.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string);
}

async function waitForInbox(client: IntegrasjonspunktClient, conversationId: string, count: number, timeoutMs = 15_000): Promise<void> {
  await waitFor(`${count} message(s) in the inbox`, async () => (await incomingIds(client, conversationId)).length >= count, timeoutMs);
}

function inbox(id: string, settings: Record<string, unknown>, wires: string[][] = [['out']]) {
  return { id, type: 'eformidling-inbox', z: 'tab', x: 300, y: 100, server: 'cfg', name: `inbox ${id}`, interval: '0', output: 'files', ack: 'auto', wires, ...settings };
}

function flowWith(sim: RunningSimulator, nodes: object[]): object[] {
  return [
    { id: 'tab', type: 'tab', label: 'inbox test' },
    { id: 'cfg', type: 'eformidling-config', url: sim.url, orgnr: RECEIVER, timeout: '30' },
    // x/y make these flow nodes; without them Node-RED takes a node for a config node.
    { id: 'out', type: 'helper', z: 'tab', x: 500, y: 100 },
    { id: 'catcher', type: 'catch', z: 'tab', x: 300, y: 200, scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab', x: 500, y: 200 },
    ...nodes,
  ];
}

/** Collects what reaches the helper nodes `out` and `caught`. */
function collect() {
  const received: Received[] = [];
  const caught: NodeMessage[] = [];
  helper.getNode('out').on('input', (msg: Received) => received.push(msg));
  helper.getNode('caught').on('input', (msg: NodeMessage) => caught.push(msg));
  return { received, caught };
}

function lastStatusText(nodeId: string): string | undefined {
  const calls = (helper.getNode(nodeId).status as { getCalls(): Array<{ thisValue: unknown; args: Array<{ text?: string }> }> }).getCalls();
  const mine = calls.filter((c) => c.thisValue === helper.getNode(nodeId));
  return mine[mine.length - 1]?.args[0]?.text;
}

async function sha256OfEntry(zipPath: string, filename: string): Promise<string> {
  const archive = await openAsic(zipPath);
  try {
    const hash = createHash('sha256');
    for await (const chunk of await archive.openEntry(filename)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    archive.close();
  }
}

function assertSameDocuments(documents: Array<{ filename: string; content: Buffer }>, files: TestFile[]): void {
  for (const file of files) {
    const doc = documents.find((d) => d.filename === file.filename);
    assert.ok(doc, `${file.filename} is in the message`);
    assert.ok(doc.content.equals(file.content), `${file.filename} is byte-identical`);
  }
}

describe('eformidling-inbox node', function () {
  this.timeout(60_000);

  let sim: RunningSimulator;
  let client: IntegrasjonspunktClient;
  let tmp: string;

  before(async () => ({ tmp, sim, client } = await startTestSimulator('nodes-inbox-', { lockTimeoutSeconds: 2, lockSweepMs: 100, statusDelayMs: 10 })));
  after(() => stopTestSimulator({ tmp, sim, client }));

  beforeEach(() => helper.startServer());

  afterEach(async () => {
    sim.faults.clear();
    await helper.unload();
    await helper.stopServer();
  });

  const files: TestFile[] = [
    { filename: 'vedtak.pdf', mimeType: 'application/pdf', content: randomContent(300_000) },
    { filename: 'vedlegg æøå.txt', mimeType: 'text/plain', content: Buffer.from('Vedlegg med æøå\n'.repeat(100)) },
  ];

  describe('round trip in each output mode', () => {
    it('files: the documents as Buffers, byte-identical, with every msg field, then deleted', async () => {
      const conversationId = randomUUID();
      const messageId = await sendArkivmelding(client, conversationId, files);
      await waitForInbox(client, conversationId, 1);
      await helper.load([configNode, inboxNode, catchNode], flowWith(sim, [inbox('in1', { conversationId })]));
      const { received, caught } = collect();
      helper.getNode('in1').receive({ payload: 'poll' });
      await waitFor('the message', () => received.length === 1);
      const msg = received[0];
      assert.equal(msg.messageId, messageId);
      assert.equal(msg.conversationId, conversationId);
      assert.equal(msg.sender, SENDER);
      assert.equal(msg.receiver, RECEIVER);
      assert.equal(msg.process, ARKIV_PROCESS);
      assert.equal(msg.documentType, 'arkivmelding');
      assert.equal(msg.topic, 'arkivmelding');
      assert.equal((msg.sbd as { standardBusinessDocumentHeader: { documentIdentification: { instanceIdentifier: string } } }).standardBusinessDocumentHeader.documentIdentification.instanceIdentifier, messageId);
      const documents = msg.payload as Array<{ filename: string; mimeType: string; content: Buffer }>;
      assert.deepEqual(documents.map((d) => d.filename).sort(), ['arkivmelding.xml', 'vedlegg æøå.txt', 'vedtak.pdf']);
      assert.equal(documents.find((d) => d.filename === 'vedtak.pdf')?.mimeType, 'application/pdf');
      assertSameDocuments(documents, files);
      const am = msg.arkivmelding as { tittel: string; saksmappe: Record<string, unknown>; journalpost: Record<string, unknown>; documents: Array<{ filename?: string }> };
      assert.equal(am.tittel, 'Vedtak i byggesak');
      assert.equal(am.saksmappe.saksaar, 2025);
      assert.equal(am.journalpost.journalpostnummer, 7);
      assert.deepEqual(am.documents.map((d) => d.filename), ['vedtak.pdf', 'vedlegg æøå.txt']);
      await waitFor('the delete', async () => (await incomingIds(client, conversationId)).length === 0);
      await waitFor('the status', () => lastStatusText('in1') === '1 received, 1 acked');
      // With ack auto an ack coming back is not needed: no error, nothing sent on, no poll.
      helper.getNode('in1').receive({ ...msg, ack: true });
      await sleep(100);
      assert.equal(received.length, 1);
      assert.equal(caught.length, 0);
    });

    it('asic: the zip as one Buffer holding the same documents', async () => {
      const conversationId = randomUUID();
      await sendArkivmelding(client, conversationId, files);
      await waitForInbox(client, conversationId, 1);
      await helper.load([configNode, inboxNode, catchNode], flowWith(sim, [inbox('in1', { conversationId, output: 'asic' })]));
      const { received } = collect();
      helper.getNode('in1').receive({});
      await waitFor('the message', () => received.length === 1);
      const zip = received[0].payload as Buffer;
      assert.ok(Buffer.isBuffer(zip));
      assert.equal(zip.subarray(0, 2).toString('latin1'), 'PK');
      const zipPath = path.join(tmp, `${randomUUID()}.zip`);
      fs.writeFileSync(zipPath, zip);
      assertSameDocuments(await readAsicDocuments(zipPath), files);
      fs.rmSync(zipPath);
      assert.equal((received[0].arkivmelding as { tittel: string }).tittel, 'Vedtak i byggesak');
      await waitFor('the delete', async () => (await incomingIds(client, conversationId)).length === 0);
    });

    it('path: a complete <messageId>.asic.zip in the folder, nothing else left there', async () => {
      const conversationId = randomUUID();
      const messageId = await sendArkivmelding(client, conversationId, files);
      await waitForInbox(client, conversationId, 1);
      const directory = path.join(tmp, 'path-mode', 'inbox');
      await helper.load([configNode, inboxNode, catchNode], flowWith(sim, [inbox('in1', { conversationId, output: 'path', directory })]));
      const { received } = collect();
      helper.getNode('in1').receive({});
      await waitFor('the message', () => received.length === 1);
      const file = received[0].payload as string;
      assert.equal(file, path.join(directory, `${messageId}.asic.zip`));
      assert.deepEqual(fs.readdirSync(directory), [`${messageId}.asic.zip`]);
      assertSameDocuments(await readAsicDocuments(file), files);
      assert.equal((received[0].arkivmelding as { tittel: string }).tittel, 'Vedtak i byggesak');
      await waitFor('the delete', async () => (await incomingIds(client, conversationId)).length === 0);
    });
  });

  it('receipts arrive with payload null and are deleted', async () => {
    const conversationId = randomUUID();
    const messageId = await sendReceipt(client, conversationId);
    await waitForInbox(client, conversationId, 1);
    await helper.load([configNode, inboxNode, catchNode], flowWith(sim, [inbox('in1', { conversationId })]));
    const { received } = collect();
    helper.getNode('in1').receive({});
    await waitFor('the receipt', () => received.length === 1);
    assert.equal(received[0].payload, null);
    assert.equal(received[0].messageId, messageId);
    assert.equal(received[0].documentType, 'arkivmelding_kvittering');
    assert.equal(received[0].topic, 'arkivmelding_kvittering');
    assert.equal(received[0].arkivmelding, undefined);
    await waitFor('the delete', async () => (await incomingIds(client, conversationId)).length === 0);
  });

  it('refuses a message over maxBytes in files mode with a Catch-able error, and leaves it in the inbox', async () => {
    const conversationId = randomUUID();
    const messageId = await sendArkivmelding(client, conversationId, files);
    await waitForInbox(client, conversationId, 1);
    await helper.load([configNode, inboxNode, catchNode], flowWith(sim, [inbox('in1', { conversationId, maxBytes: '100000' })]));
    const { received, caught } = collect();
    helper.getNode('in1').receive({});
    await waitFor('the error', () => caught.length === 1);
    const error = caught[0].error as { message: string };
    assert.match(error.message, new RegExp(`Message ${messageId} .* is larger than maxBytes \\(100000 bytes\\)`));
    assert.match(error.message, /stays in the inbox/);
    assert.match(error.message, /output "path"/);
    assert.equal(caught[0].messageId, messageId);
    assert.equal(caught[0].conversationId, conversationId);
    assert.ok(caught[0].sbd);
    assert.equal(received.length, 0);
    assert.deepEqual(await incomingIds(client, conversationId), [messageId], 'not deleted');
  });

  describe('manual ack', () => {
    it('deletes only after the ack, and the status counts received, acked and waiting', async () => {
      const conversationId = randomUUID();
      const messageId = await sendArkivmelding(client, conversationId, files);
      await waitForInbox(client, conversationId, 1);
      await helper.load([configNode, inboxNode, catchNode], flowWith(sim, [inbox('in1', { conversationId, ack: 'manual' })]));
      const { received, caught } = collect();
      const node = helper.getNode('in1');
      node.receive({});
      await waitFor('the message', () => received.length === 1);
      await sleep(200);
      assert.deepEqual(await incomingIds(client, conversationId), [messageId], 'still in the inbox before the ack');
      await waitFor('the status', () => lastStatusText('in1') === '1 received, 0 acked, 1 waiting');

      const ack = { ...received[0], ack: true };
      node.receive(ack);
      await waitFor('the delete', async () => (await incomingIds(client, conversationId)).length === 0);
      await waitFor('the status', () => lastStatusText('in1') === '1 received, 1 acked, 0 waiting');
      await sleep(100);
      assert.equal(received.length, 1, 'an ack sends nothing on');
      assert.equal(caught.length, 0);

      node.receive({ action: 'delete', messageId: randomUUID() });
      await waitFor('the error', () => caught.length === 1);
      assert.match((caught[0].error as { message: string }).message, /msg\.messageId: message .* is not waiting for an ack on this inbox node/);
    });

    it('an unacked message is delivered again after its lock expires; an ack after the expiry says so', async () => {
      const conversationId = randomUUID();
      const messageId = await sendArkivmelding(client, conversationId, files);
      await waitForInbox(client, conversationId, 1);
      await helper.load([configNode, inboxNode, catchNode], flowWith(sim, [inbox('in1', { conversationId, ack: 'manual' })]));
      const { received, caught } = collect();
      const node = helper.getNode('in1');
      node.receive({});
      await waitFor('the message', () => received.length === 1);

      // The lock (2 s) expires without an ack: the ack now fails and nothing is deleted.
      await sleep(2600);
      node.receive({ ack: true, messageId });
      await waitFor('the error', () => caught.length === 1);
      assert.match((caught[0].error as { message: string }).message, new RegExp(`lock on message ${messageId} expired before the ack; the Integrasjonspunkt will deliver it again`));
      assert.deepEqual(await incomingIds(client, conversationId), [messageId]);

      // The next poll gets it again (at-least-once); acking that delivery works.
      node.receive({});
      await waitFor('the second delivery', () => received.length === 2);
      assert.equal(received[1].messageId, messageId);
      node.receive({ ...received[1], ack: true });
      await waitFor('the delete', async () => (await incomingIds(client, conversationId)).length === 0);
    });

    it('redelivers on its own with an interval when the flow never acks', async () => {
      const conversationId = randomUUID();
      const messageId = await sendArkivmelding(client, conversationId, files);
      await waitForInbox(client, conversationId, 1);
      await helper.load([configNode, inboxNode, catchNode], flowWith(sim, [inbox('in1', { conversationId, ack: 'manual', interval: 1 })]));
      const { received } = collect();
      await waitFor('two deliveries', () => received.length >= 2, 10_000);
      assert.deepEqual(received.slice(0, 2).map((m) => m.messageId), [messageId, messageId]);
      assert.deepEqual(await incomingIds(client, conversationId), [messageId]);
    });
  });

  it('survives the IP failing during peek, pop and delete: every message emitted complete, no partial files, nothing lost', async function () {
    this.timeout(90_000);
    const conversationId = randomUUID();
    const directory = path.join(tmp, 'faults');
    await helper.load([configNode, inboxNode, catchNode], flowWith(sim, [inbox('in1', { conversationId, output: 'path', directory })]));
    const { received } = collect();
    const node = helper.getNode('in1');
    const contents = new Map<string, Buffer>();
    // Polls only on input (interval 0), so each fault hits the request meant for it; the node's own retries
    // after a failure run by themselves, and a poll is asked for now and then for messages whose lock must expire.
    let lastTrigger = 0;
    const poke = () => {
      if (Date.now() - lastTrigger < 500) return;
      lastTrigger = Date.now();
      node.receive({});
    };

    const faults = [
      { method: 'GET', path: '^/api/messages/in/peek$', status: 500 },
      { method: 'GET', path: '^/api/messages/in/peek$', drop: 'before' as const },
      { method: 'GET', path: '^/api/messages/in/peek$', drop: 'after' as const },
      { method: 'GET', path: '^/api/messages/in/pop/', status: 500 },
      { method: 'GET', path: '^/api/messages/in/pop/', drop: 'before' as const },
      { method: 'GET', path: '^/api/messages/in/pop/', drop: 'midway' as const },
      { method: 'DELETE', path: '^/api/messages/in/', status: 500 },
      { method: 'DELETE', path: '^/api/messages/in/', drop: 'before' as const },
      { method: 'DELETE', path: '^/api/messages/in/', drop: 'after' as const },
    ];
    for (const fault of faults) {
      const content = randomContent(2 * MiB);
      const id = await sendArkivmelding(client, conversationId, [{ filename: 'stor.pdf', mimeType: 'application/pdf', content }]);
      contents.set(id, content);
      await waitForInbox(client, conversationId, 1);
      sim.faults.add(fault);
      lastTrigger = 0;
      const what = `${fault.method} ${fault.path} ${fault.status ?? fault.drop}`;
      await waitFor(`message ${id} after ${what}`, () => (poke(), received.some((m) => m.messageId === id)), 20_000);
      await waitFor(`the inbox to be empty after ${what}`, async () => (poke(), (await incomingIds(client, conversationId)).length === 0), 20_000);
      assert.deepEqual(sim.faults.list(), [], `${what} was applied`);
    }

    const ids = received.map((m) => m.messageId);
    assert.deepEqual([...new Set(ids)].sort(), [...contents.keys()].sort(), 'every message emitted');
    // Only a failed delete can make the IP deliver an emitted message again, and only after its lock expired.
    const deleteFaults = faults.filter((f) => f.method === 'DELETE').length;
    assert.ok(ids.length - new Set(ids).size <= deleteFaults, `duplicates: ${ids.length - new Set(ids).size}`);
    for (const msg of received) {
      const file = msg.payload as string;
      const [doc] = await readAsicDocuments(file).then((docs) => docs.filter((d) => d.filename === 'stor.pdf'));
      assert.ok(doc.content.equals(contents.get(msg.messageId)!), `${msg.messageId}: complete`);
    }
    const names = fs.readdirSync(directory).sort();
    assert.deepEqual(names, [...contents.keys()].map((id) => `${id}.asic.zip`).sort(), 'no partial files');
  });

  it('close during a download removes the partial file and stops polling for good', async () => {
    const conversationId = randomUUID();
    const directory = path.join(tmp, 'close');
    const big = path.join(tmp, 'close-big.bin');
    await writeRandomFile(big, 200 * MiB);
    const sbd = await client.createMessage(arkivmeldingSbd(conversationId, 'big.bin'));
    const messageId = sbd.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
    const xml = buildArkivmeldingXml({ tittel: 'Stor' }, [{ filename: 'big.bin' }]);
    await client.uploadFile(messageId, { filename: 'arkivmelding.xml', mimeType: 'text/xml', content: xml });
    await client.uploadFile(messageId, { filename: 'big.bin', mimeType: 'application/octet-stream', path: big });
    await client.sendMessage(messageId);
    fs.rmSync(big);
    await waitForInbox(client, conversationId, 1);

    await helper.load([configNode, inboxNode, catchNode], flowWith(sim, [inbox('in1', { conversationId, output: 'path', directory, interval: 1 })]));
    const { received } = collect();
    await waitFor('the download to start', () => fs.existsSync(directory) && fs.readdirSync(directory).some((n) => n.endsWith('.part')), 10_000);
    const started = Date.now();
    await helper.unload();
    assert.ok(Date.now() - started < 5000, 'close did not wait for the download');
    assert.deepEqual(fs.readdirSync(directory), [], 'no partial file');
    // No orphaned poll: after the lock has expired (2 s) nothing picks the message up.
    await sleep(3000);
    assert.deepEqual(fs.readdirSync(directory), []);
    assert.equal(received.length, 0);
    assert.deepEqual(await incomingIds(client, conversationId), [messageId]);
  });

  it('shows why the IP cannot be used and when it retries, reporting the first failure once', async () => {
    const flow = flowWith(sim, [inbox('in1', { interval: 1 })]);
    (flow[1] as { url: string }).url = 'http://127.0.0.1:1';
    await helper.load([configNode, inboxNode, catchNode], flow);
    const { caught } = collect();
    await waitFor('a retry status', () => /^IP unreachable, retry in 2s$/.test(lastStatusText('in1') ?? ''), 10_000);
    assert.equal(caught.length, 1, 'reported once, not on every failed poll');
    assert.match((caught[0].error as { message: string }).message, /Cannot reach the Integrasjonspunkt at http:\/\/127\.0\.0\.1:1/);
    assert.equal((caught[0].ipError as { status: number }).status, 0);
  });

  it('rejects bad settings with a message naming the property', async () => {
    await helper.load([configNode, inboxNode, catchNode], flowWith(sim, [inbox('in1', { output: 'path', directory: '' })]));
    const { caught } = collect();
    helper.getNode('in1').receive({});
    await waitFor('the error', () => caught.length === 1);
    assert.match((caught[0].error as { message: string }).message, /directory: expected the folder to write messages to when output is "path"/);
  });
});

describe('eformidling-inbox node with many or large messages', function () {
  this.timeout(180_000);

  let sim: RunningSimulator;
  let client: IntegrasjonspunktClient;
  let tmp: string;

  before(async () => ({ tmp, sim, client } = await startTestSimulator('nodes-inbox-big-', { lockTimeoutSeconds: 120, lockSweepMs: 100, statusDelayMs: 10 })));
  after(() => stopTestSimulator({ tmp, sim, client }));

  beforeEach(() => helper.startServer());

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  it('two inbox nodes draining 500 messages deliver each exactly once', async () => {
    const conversationId = randomUUID();
    const sent = new Set<string>();
    const content = Buffer.from('Et lite brev\n');
    for (let i = 0; i < 500; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, () => sendArkivmelding(client, conversationId, [{ filename: 'brev.txt', mimeType: 'text/plain', content }])),
      );
      batch.forEach((id) => sent.add(id));
    }
    await waitForInbox(client, conversationId, 500);

    await helper.load(
      [configNode, inboxNode, catchNode],
      flowWith(sim, [inbox('a', { conversationId, interval: 1 }, [['out']]), inbox('b', { conversationId, interval: 1 }, [['out']])]),
    );
    const { received, caught } = collect();
    const byNode = { a: 0, b: 0 };
    helper.getNode('a').on('call:send', () => byNode.a++);
    helper.getNode('b').on('call:send', () => byNode.b++);
    await waitFor('500 messages', () => received.length >= 500, 60_000);
    await waitFor('an empty inbox', async () => (await incomingIds(client, conversationId)).length === 0, 20_000);
    await sleep(1500);
    const ids = received.map((m) => m.messageId);
    assert.equal(ids.length, 500, 'no message twice');
    assert.deepEqual(new Set(ids), sent);
    assert.ok(byNode.a > 0 && byNode.b > 0, `both nodes worked: ${JSON.stringify(byNode)}`);
    assert.equal(caught.length, 0);
  });

  it('a 1 GiB message in path mode: streamed to disk, RSS grows by < 100 MB, SHA-256 intact', async () => {
    const SIZE = 1024 * MiB - 64 * 1024; // 1 GiB with the arkivmelding.xml, under the DPO upload limit of 1024 MB
    const conversationId = randomUUID();
    const big = path.join(tmp, 'stor.bin');
    const sha = await writeRandomFile(big, SIZE);

    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
    try {
      // Three steps: create, stream each file, send.
      const sbd = await client.createMessage(arkivmeldingSbd(conversationId, 'stor.bin'));
      const messageId = sbd.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
      const xml = buildArkivmeldingXml({ tittel: 'Stor fil' }, [{ filename: 'stor.bin' }]);
      await client.uploadFile(messageId, { filename: 'arkivmelding.xml', mimeType: 'text/xml', content: xml });
      await client.uploadFile(messageId, { filename: 'stor.bin', mimeType: 'application/octet-stream', path: big });
      await client.sendMessage(messageId);
      fs.rmSync(big);
      await waitForInbox(client, conversationId, 1, 120_000);

      const directory = path.join(tmp, 'big');
      await helper.load([configNode, inboxNode, catchNode], flowWith(sim, [inbox('in1', { conversationId, output: 'path', directory })]));
      const { received, caught } = collect();
      helper.getNode('in1').receive({});
      await waitFor('the message', () => received.length === 1 || caught.length > 0, 120_000);
      assert.equal(caught.length, 0, JSON.stringify(caught[0]?.error));
      const file = received[0].payload as string;
      assert.equal(file, path.join(directory, `${messageId}.asic.zip`));
      clearInterval(sampler);
      const growth = rssPeak - rssBefore;
      assert.ok(growth < 100 * MiB, `RSS grew by ${Math.round(growth / MiB)} MB`);
      assert.equal(await sha256OfEntry(file, 'stor.bin'), sha);
      assert.deepEqual(fs.readdirSync(directory), [`${messageId}.asic.zip`]);
      await waitFor('the delete', async () => (await incomingIds(client, conversationId)).length === 0);
      fs.rmSync(file);
    } finally {
      clearInterval(sampler);
    }
  });
});
