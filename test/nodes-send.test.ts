import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { IntegrasjonspunktClient } from '../src/client';
import { openAsic } from '../src/asic';
import { parseArkivmeldingXml } from '../src/sbd';
import { startSimulator, type RunningSimulator } from '../src/simulator';
import type { RegistryFixture } from '../src/simulator/registry';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
const configNode = require('../src/nodes/eformidling-config');
const sendNode = require('../src/nodes/eformidling-send');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

helper.init(require.resolve('node-red'));

const USERNAME = 'efm';
const PASSWORD = 'efm-password';
const SENDER = '910000009';
const RECEIVER = '920000008';
/** Outside the simulator, reached by DPE (eInnsyn): 2 MB per message. */
const EINNSYN_RECEIVER = '940000005';
const ADMINISTRASJON = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';
const INNSYNSKRAV = 'urn:no:difi:profile:einnsyn:innsynskrav:ver1.0';
const MiB = 1024 * 1024;

const registry: RegistryFixture = {
  receivers: [
    {
      identifier: EINNSYN_RECEIVER,
      name: 'eInnsyn',
      capabilities: [
        { process: INNSYNSKRAV, serviceIdentifier: 'DPE', documentTypes: [{ type: 'innsynskrav', standard: 'urn:no:difi:einnsyn:xsd::innsynskrav' }] },
      ],
    },
  ],
};

interface Msg {
  [key: string]: unknown;
}
interface Status {
  fill?: string;
  shape?: string;
  text?: string;
}

/** Writes `size` bytes to `file` in 1 MiB chunks, never holding more than one chunk. */
async function writeLargeFile(file: string, size: number): Promise<void> {
  const chunk = Buffer.alloc(MiB);
  const pattern = randomBytes(16 * 1024);
  for (let i = 0; i < chunk.length; i += pattern.length) pattern.copy(chunk, i);
  const out = fs.createWriteStream(file);
  for (let written = 0; written < size; written += chunk.length) {
    const part = size - written >= chunk.length ? chunk : chunk.subarray(0, size - written);
    if (!out.write(part)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function eventually<T>(what: string, check: () => Promise<T | null | undefined>, ms = 10000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('eformidling-send node', function () {
  this.timeout(60000);
  let sim: RunningSimulator;
  let dataDir: string;
  let workDir: string;
  /** The receiving side and the test's own view of the IP. */
  let ip: IntegrasjonspunktClient;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodes-send-sim-'));
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodes-send-'));
    sim = await startSimulator({ port: 0, dataDir, registry, username: USERNAME, password: PASSWORD, statusDelayMs: 100, lockSweepMs: 100 });
    ip = new IntegrasjonspunktClient({ url: sim.url, username: USERNAME, password: PASSWORD, timeoutMs: 120000 });
  });

  after(async () => {
    await ip.close();
    await sim.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  beforeEach(() => helper.startServer());

  afterEach(async () => {
    sim.faults.clear();
    await helper.unload();
    await helper.stopServer();
  });

  async function load(settings: Record<string, unknown> = {}) {
    const flow = [
      { id: 'tab', type: 'tab' },
      { id: 'cfg', type: 'eformidling-config', url: sim.url, orgnr: SENDER, timeout: '120' },
      {
        id: 'send',
        type: 'eformidling-send',
        z: 'tab',
        server: 'cfg',
        receiver: RECEIVER,
        receiverType: 'str',
        process: ADMINISTRASJON,
        documentType: 'arkivmelding',
        ...settings,
        wires: [['out']],
      },
      { id: 'out', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
    await helper.load([configNode, sendNode, catchNode], flow, { cfg: { username: USERNAME, password: PASSWORD } });
    // The config node checks the connection right after deploy; let that status pass before testing ours.
    await eventually('connected', async () => statusesOf('send').find((s) => s.fill === 'green'));
  }

  /** Sends msg into the node; resolves with what came out, or what the Catch node got. */
  function run(msg: Msg): Promise<{ out?: Msg; caught?: Msg }> {
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    return new Promise((resolve) => {
      const finish = (result: { out?: Msg; caught?: Msg }) => {
        out.removeAllListeners('input');
        caught.removeAllListeners('input');
        resolve(result);
      };
      out.on('input', (m: Msg) => finish({ out: m }));
      caught.on('input', (m: Msg) => finish({ caught: m }));
      helper.getNode('send').receive(msg);
    });
  }

  async function sent(msg: Msg): Promise<Msg> {
    const { out, caught } = await run(msg);
    assert.ok(out, `expected the message to be sent, got: ${(caught?.error as { message?: string } | undefined)?.message}`);
    return out;
  }

  async function failed(msg: Msg): Promise<{ message: string; msg: Msg }> {
    const { out, caught } = await run(msg);
    assert.ok(caught, `expected a Catch-able error, but the message was sent: ${JSON.stringify(out?.messageId)}`);
    return { message: (caught.error as { message: string }).message.replace(/^\w*Error: /, ''), msg: caught };
  }

  function statusesOf(id: string): Status[] {
    const calls: Array<{ thisValue: { id: string }; args: Status[] }> = helper.getNode(id).status.getCalls();
    return calls.filter((c) => c.thisValue.id === id).map((c) => c.args[0]);
  }

  /** The message as the receiver gets it: peek, pop the ASiC to a file, read it, then acknowledge. */
  async function receive(messageId: string): Promise<{ sbd: Msg; files: Map<string, { size: number; content?: Buffer }>; primary?: string }> {
    const sbd = await eventually(`message ${messageId} in ${RECEIVER}'s inbox`, () => ip.peek({ messageId }));
    const zip = path.join(workDir, `${messageId}.zip`);
    const download = await ip.popToFile(messageId, zip);
    assert.ok(download, 'expected an ASiC');
    const archive = await openAsic(zip);
    const files = new Map<string, { size: number; content?: Buffer }>();
    try {
      for (const entry of archive.documents) {
        files.set(entry.filename, { size: entry.size, content: entry.size <= MiB ? await archive.readEntry(entry.filename) : undefined });
      }
      await ip.deleteIncoming(messageId);
      return { sbd: sbd as unknown as Msg, files, primary: archive.primary?.filename };
    } finally {
      archive.close();
      fs.rmSync(zip, { force: true });
    }
  }

  async function outgoingCount(): Promise<number> {
    return (await ip.listOutgoing()).totalElements;
  }

  async function inboxCount(): Promise<number> {
    return (await ip.listIncoming({ receiverIdentifier: RECEIVER })).totalElements;
  }

  // ---------------------------------------------------------------- sending

  it('sends several small files in one multipart request into the receiver inbox', async () => {
    await load();
    const pdf = randomBytes(200 * 1024);
    const diskFile = path.join(workDir, 'vedlegg 2.txt');
    fs.writeFileSync(diskFile, 'Vedlegg fra disk\n');
    const out = await sent({
      files: [
        { filename: 'vedtak.pdf', content: pdf, title: 'Vedtak' },
        { filename: 'notat.txt', content: 'Et lite notat', mimeType: 'text/plain' },
        { path: diskFile },
      ],
      arkivmelding: { tittel: 'Vedtak om tilskudd' },
      topic: 'kept',
    });
    assert.match(out.messageId as string, /^[0-9a-f-]{36}$/);
    assert.match(out.conversationId as string, /^[0-9a-f-]{36}$/);
    assert.equal(out.topic, 'kept');
    const sbd = out.payload as { standardBusinessDocumentHeader: { documentIdentification: { instanceIdentifier: string } }; arkivmelding: { hoveddokument: string } };
    assert.equal(sbd.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier, out.messageId);
    assert.equal(sbd.arkivmelding.hoveddokument, 'vedtak.pdf');

    const received = await receive(out.messageId as string);
    assert.deepEqual([...received.files.keys()].sort(), ['arkivmelding.xml', 'notat.txt', 'vedlegg 2.txt', 'vedtak.pdf']);
    assert.ok(received.files.get('vedtak.pdf')?.content?.equals(pdf));
    assert.equal(received.files.get('notat.txt')?.content?.toString(), 'Et lite notat');
    assert.equal(received.files.get('vedlegg 2.txt')?.content?.toString(), 'Vedlegg fra disk\n');
    assert.equal(received.primary, 'vedtak.pdf');
    assert.equal(await outgoingCount(), 0);

    const green = statusesOf('send').filter((s) => s.fill === 'green').pop();
    assert.equal(green?.text, `sent ${(out.messageId as string).slice(0, 8)}`);
  });

  it('sends msg.payload named by msg.filename (a path from a file-in node works)', async () => {
    await load({ receiver: '' });
    const out = await sent({
      receiver: `0192:${RECEIVER}`,
      payload: Buffer.from('%PDF-1.4 brev'),
      filename: '/data/brev/brev.pdf',
      arkivmelding: { tittel: 'Brev' },
      businessMessage: { sikkerhetsnivaa: 3 },
      ttlHours: 48,
    });
    const received = await receive(out.messageId as string);
    assert.equal(received.files.get('brev.pdf')?.content?.toString(), '%PDF-1.4 brev');
    assert.equal(received.primary, 'brev.pdf');
  });

  it('generates an arkivmelding.xml that lists the sent files, the first as hoveddokument', async () => {
    await load();
    const out = await sent({
      files: [
        { filename: 'vedtak.pdf', content: Buffer.from('%PDF vedtak'), title: 'Vedtak om tilskudd' },
        { filename: 'vedlegg.pdf', content: Buffer.from('%PDF vedlegg'), title: 'Søknaden' },
      ],
      arkivmelding: {
        tittel: 'Vedtak om tilskudd',
        saksmappe: { mappeID: '2025/118', saksaar: 2025, sakssekvensnummer: 118 },
        journalpost: { journalpostnummer: 4, korrespondansepart: [{ korrespondansepartNavn: 'Testkommune' }] },
      },
    });
    const received = await receive(out.messageId as string);
    assert.equal(received.primary, 'vedtak.pdf', 'hoveddokument is the first real document, not arkivmelding.xml');
    const xml = received.files.get('arkivmelding.xml')?.content?.toString('utf8');
    assert.ok(xml, 'the ASiC holds arkivmelding.xml');
    const summary = parseArkivmeldingXml(xml);
    assert.equal(summary.tittel, 'Vedtak om tilskudd');
    assert.deepEqual(
      summary.documents.map((d) => [d.filename, d.tilknyttetRegistreringSom, d.tittel]),
      [
        ['vedtak.pdf', 'Hoveddokument', 'Vedtak om tilskudd'],
        ['vedlegg.pdf', 'Vedlegg', 'Søknaden'],
      ],
    );
    assert.equal(summary.saksmappe?.mappeID, '2025/118');
  });

  it('sends a file over 5 MiB as create, streamed PUT, send, showing progress', async () => {
    await load();
    const big = path.join(workDir, 'stor.pdf');
    await writeLargeFile(big, 6 * MiB + 123);
    // Any multipart request fails, so this only passes through the three-step API.
    sim.faults.add({ method: 'POST', path: '^/api/messages/out/multipart$', status: 500, times: 10 });
    try {
      const out = await sent({ files: [{ path: big }, { filename: 'liten.txt', content: 'liten' }], arkivmelding: { tittel: 'Stor fil' } });
      const received = await receive(out.messageId as string);
      assert.equal(received.files.get('stor.pdf')?.size, 6 * MiB + 123);
      assert.equal(received.files.get('liten.txt')?.content?.toString(), 'liten');
      assert.equal(received.primary, 'stor.pdf');
      assert.ok(statusesOf('send').some((s) => s.fill === 'blue' && /^uploading \d+%$/.test(s.text ?? '')), JSON.stringify(statusesOf('send')));
      assert.equal(await outgoingCount(), 0);
    } finally {
      fs.rmSync(big, { force: true });
    }
  });

  it('takes the process and document type URN from msg.capability (a capabilities node before it)', async () => {
    await load();
    const plan = 'urn:no:difi:profile:arkivmelding:planByggOgGeodata:ver1.0';
    const capability = { process: plan, serviceIdentifier: 'DPO', documentTypes: [{ type: 'arkivmelding', standard: 'urn:no:difi:arkivmelding:xsd::arkivmelding' }] };
    const out = await sent({ capability, payload: 'plan', filename: 'plan.txt', arkivmelding: { tittel: 'Plan' } });
    const header = (out.payload as { standardBusinessDocumentHeader: { businessScope: { scope: Array<{ type: string; identifier?: string }> } } }).standardBusinessDocumentHeader;
    assert.equal(header.businessScope.scope.find((scope) => scope.type === 'ConversationId')?.identifier, plan);
    await receive(out.messageId as string);
  });

  it('sends a whole msg.sbd as given', async () => {
    await load();
    const messageId = randomUUID();
    const sbd = {
      standardBusinessDocumentHeader: {
        headerVersion: '1.0',
        sender: [{ identifier: { value: `0192:${SENDER}`, authority: 'iso6523-actorid-upis' } }],
        receiver: [{ identifier: { value: `0192:${RECEIVER}`, authority: 'iso6523-actorid-upis' } }],
        documentIdentification: { standard: 'urn:no:difi:arkivmelding:xsd::arkivmelding', typeVersion: '2.0', type: 'arkivmelding', instanceIdentifier: messageId },
        businessScope: { scope: [{ type: 'ConversationId', identifier: ADMINISTRASJON }] },
      },
      arkivmelding: {},
    };
    const out = await sent({ sbd, payload: 'hei', filename: 'hei.txt', arkivmelding: { tittel: 'Hei' } });
    assert.equal(out.messageId, messageId);
    const received = await receive(messageId);
    assert.equal(received.primary, 'hei.txt');
  });

  // ---------------------------------------------------------------- bad input

  describe('bad input ends in a Catch-able error naming the problem, with nothing left on the IP', () => {
    const file = { filename: 'a.pdf', content: Buffer.from('%PDF a') };
    const cases: Array<{ name: string; settings?: Record<string, unknown>; msg: () => Msg; expect: RegExp; ipError?: string }> = [
      { name: 'no receiver', settings: { receiver: '' }, msg: () => ({ files: [file], arkivmelding: { tittel: 't' } }), expect: /^receiver: expected the receiver's organisation number/ },
      { name: 'a bad organisation number', msg: () => ({ receiver: '92000000', files: [file], arkivmelding: { tittel: 't' } }), expect: /^msg\.receiver: expected an organisation number \(9 digits/ },
      { name: 'an unknown message type', msg: () => ({ documentType: 'brev', files: [file] }), expect: /^msg\.documentType: unknown message type "brev", expected one of arkivmelding/ },
      {
        name: 'a process the receiver does not support',
        msg: () => ({ process: 'urn:no:difi:profile:digitalpost:vedtak:ver1.0', files: [file], arkivmelding: { tittel: 't' } }),
        expect: /400 ReceiverDoesNotAcceptProcessException: Receiver do not accept the document process urn:no:difi:profile:digitalpost:vedtak:ver1\.0.*administrasjon:ver1\.0/,
        ipError: 'ReceiverDoesNotAcceptProcessException',
      },
      { name: 'a file missing on disk', msg: () => ({ files: [file, { path: path.join(workDir, 'finnes-ikke.pdf') }], arkivmelding: { tittel: 't' } }), expect: /^msg\.files\[1\]\.path: file not found: .*finnes-ikke\.pdf/ },
      { name: 'a duplicate file name', msg: () => ({ files: [file, { ...file }], arkivmelding: { tittel: 't' } }), expect: /^msg\.files\[1\]\.filename: duplicate file name "a\.pdf" \(also msg\.files\[0\]\.filename\)/ },
      { name: 'a file name with a folder', msg: () => ({ files: [{ filename: '../a.pdf', content: 'x' }], arkivmelding: { tittel: 't' } }), expect: /^msg\.files\[0\]\.filename: "\.\.\/a\.pdf" is not a usable file name/ },
      { name: 'an arkivmelding without arkivmelding.xml or msg.arkivmelding', msg: () => ({ files: [file] }), expect: /^msg\.arkivmelding: an arkivmelding needs an arkivmelding\.xml/ },
      { name: 'an arkivmelding description without a title', msg: () => ({ files: [file], arkivmelding: { titel: 'typo' } }), expect: /^msg\.arkivmelding/ },
      { name: 'no files', msg: () => ({ arkivmelding: { tittel: 't' }, payload: 1234 }), expect: /^msg\.files: an arkivmelding message needs at least one file/ },
      { name: 'a hoveddokument that is not sent', msg: () => ({ files: [file], arkivmelding: { tittel: 't' }, businessMessage: { hoveddokument: 'b.pdf' } }), expect: /^msg\.businessMessage\.hoveddokument: "b\.pdf" is not among the files \(a\.pdf, arkivmelding\.xml\)/ },
      { name: 'a bad messageId', msg: () => ({ files: [file], arkivmelding: { tittel: 't' }, messageId: '42' }), expect: /^msg\.messageId: expected a UUID/ },
      {
        name: 'files over the service limit (multipart)',
        msg: () => ({ receiver: EINNSYN_RECEIVER, process: INNSYNSKRAV, documentType: 'innsynskrav', businessMessage: { orgnr: RECEIVER, epost: 'a@example.no' }, files: [{ filename: 'a.pdf', content: Buffer.alloc(3 * MiB) }] }),
        expect: /400 MaxFileSizeExceededException: The combined file size for all attachments \(3MB\) exceeds the maximum allowed upload size for the target service \(DPE, 2MB\)/,
        ipError: 'MaxFileSizeExceededException',
      },
      {
        name: 'a file over the service limit (after create)',
        msg: () => ({ receiver: EINNSYN_RECEIVER, process: INNSYNSKRAV, documentType: 'innsynskrav', businessMessage: { orgnr: RECEIVER, epost: 'a@example.no' }, files: [{ filename: 'a.pdf', content: Buffer.alloc(6 * MiB) }] }),
        expect: /400 MaxFileSizeExceededException: .*\(DPE, 2MB\)/,
        ipError: 'MaxFileSizeExceededException',
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        await load(c.settings);
        const conversationsBefore = (await ip.listConversations({ size: 1 })).totalElements;
        const { message, msg } = await failed(c.msg());
        assert.match(message, c.expect);
        if (c.ipError) {
          const ipError = msg.ipError as { status: number; exception: string; message: string; path: string };
          assert.equal(ipError.status, 400);
          assert.match(ipError.exception, new RegExp(`\\.${c.ipError}$`));
          assert.match(ipError.path, /^\/api\/messages\/out/);
          assert.ok(ipError.message);
        } else {
          assert.equal(msg.ipError, undefined);
          assert.equal((await ip.listConversations({ size: 1 })).totalElements, conversationsBefore, 'invalid input never reaches the IP');
        }
        assert.equal(await outgoingCount(), 0, 'no outgoing message is left behind');
        const red = statusesOf('send').pop();
        assert.equal(red?.fill, 'red');
        assert.ok(red?.text, 'a short reason');
      });
    }
  });

  // ---------------------------------------------------------------- lost answers

  describe('a lost answer never becomes a second message', () => {
    async function sendWithFault(rule: Parameters<RunningSimulator['faults']['add']>[0], large: boolean): Promise<void> {
      await load();
      const before = await inboxCount();
      const big = path.join(workDir, `lost-${randomUUID()}.pdf`);
      const files = large ? [{ path: big }] : [{ filename: 'lite.pdf', content: Buffer.from('%PDF lite') }];
      if (large) await writeLargeFile(big, 5 * MiB + 1);
      try {
        sim.faults.add(rule);
        const out = await sent({ files, arkivmelding: { tittel: 'Tapt svar' } });
        assert.deepEqual(sim.faults.list(), [], 'the answer was lost once');
        const received = await receive(out.messageId as string);
        assert.equal(received.files.size, 2);
        if (large) assert.equal(received.files.get(path.basename(big))?.size, 5 * MiB + 1);
        await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive after statusDelayMs
        assert.equal(await inboxCount(), before, 'exactly one message arrived (and was acknowledged)');
        const conversations = await ip.listConversations({ messageId: out.messageId as string });
        assert.equal(conversations.totalElements, 2, 'one outgoing and one incoming conversation');
        assert.equal(await outgoingCount(), 0);
      } finally {
        fs.rmSync(big, { force: true });
      }
    }

    it('on create', () => sendWithFault({ method: 'POST', path: '^/api/messages/out$', drop: 'after' }, true));
    it('on a file upload', () => sendWithFault({ method: 'PUT', path: '^/api/messages/out/[^/]+$', drop: 'after' }, true));
    it('on send', () => sendWithFault({ method: 'POST', path: '^/api/messages/out/(?!multipart)[^/]+$', drop: 'after' }, true));
    it('on a multipart send', () => sendWithFault({ method: 'POST', path: '^/api/messages/out/multipart$', drop: 'after' }, false));
  });

  // ---------------------------------------------------------------- memory

  it('sends a 1 GiB file from disk with the process RSS growing by less than 100 MB', async function () {
    this.timeout(600000);
    await load();
    const huge = path.join(workDir, 'huge.bin');
    await writeLargeFile(huge, 1024 * MiB);
    try {
      global.gc?.();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 25);
      let out: Msg;
      try {
        // avtalt: no arkivmelding.xml beside it, so exactly 1 GiB fits DPO's 1 GiB limit
        out = await sent({
          process: 'urn:no:difi:profile:avtalt:avtalt:ver1.0',
          documentType: 'avtalt',
          businessMessage: { identifier: 'stor-fil', content: { note: '1 GiB' } },
          files: [{ path: huge, mimeType: 'application/octet-stream' }],
        });
        // the receiving side has it: the simulator built the ASiC (streamed, in this process too)
        await eventually('the message in the inbox', () => ip.peek({ messageId: out.messageId as string }), 300000);
      } finally {
        clearInterval(sampler);
      }
      const grown = (peak - baseline) / MiB;
      assert.ok(grown < 100, `RSS grew by ${grown.toFixed(1)} MB`);
      const incoming = await ip.listIncoming({ messageId: out.messageId as string });
      assert.equal(incoming.totalElements, 1);
      await ip.deleteIncoming(out.messageId as string);
    } finally {
      fs.rmSync(huge, { force: true });
    }
  });
});
