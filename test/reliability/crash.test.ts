// Fault suite, crashes: a real Node-RED process (the packed package installed in its user directory) is killed with
// kill -9 in the middle of an upload, in the middle of a download, and between handing a message on and acking it,
// then started again on the same user directory. No message may be lost, no partial file may be presented as
// complete, and a message handed on before the crash comes again marked msg.redelivered = true.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { openAsic } from '../../src/asic';
import { IntegrasjonspunktClient } from '../../src/client';
import { buildArkivmeldingXml, buildSbd } from '../../src/sbd';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { kill9, ledgerNodes, newUserDir, readLedger, removeUserDirs, startNodeRed, type FlowNode, type NodeRedProcess } from './processes';
import { ARKIV_PROCESS, MiB, RECEIVER, SENDER, inboxCount, printCounts, seedMessage, sleep, tempDir, waitFor, writeFileOfSize } from './support';

const LARGE = 64 * MiB;
/** The simulator's peek lock: short, so a message locked by the killed process comes back soon. */
const LOCK_SECONDS = 6;

interface LedgerRow {
  messageId: string;
  redelivered?: boolean;
  payload?: string;
  error?: { message?: string };
}

async function sha256OfEntry(zip: string, filename: string): Promise<string> {
  const archive = await openAsic(zip);
  try {
    const hash = createHash('sha256');
    await pipeline(await archive.openEntry(filename), hash);
    return hash.digest('hex');
  } finally {
    archive.close();
  }
}

/** The size of the largest file under `dir` whose name matches `pattern` (0 when none). */
function largestFile(dir: string, pattern: RegExp): number {
  if (!fs.existsSync(dir)) return 0;
  let largest = 0;
  for (const name of fs.readdirSync(dir)) {
    if (!pattern.test(name)) continue;
    try {
      largest = Math.max(largest, fs.statSync(path.join(dir, name)).size);
    } catch {
      // renamed or removed meanwhile
    }
  }
  return largest;
}

describe('reliability: Node-RED killed (kill -9) or stopped, and restarted', function () {
  this.timeout(240_000);
  let sim: RunningSimulator;
  let ip: IntegrasjonspunktClient;
  let workDir: string;
  let nodeRed: NodeRedProcess | undefined;
  const counts = { 'messages sent': 0, delivered: 0, duplicated: 0, 'marked redelivered': 0, lost: 0 };

  before(async () => {
    workDir = tempDir('crash');
    sim = await startSimulator({ port: 0, dataDir: path.join(workDir, 'sim'), statusDelayMs: 50, lockSweepMs: 100, lockTimeoutSeconds: LOCK_SECONDS });
    ip = new IntegrasjonspunktClient({ url: sim.url, timeoutMs: 60_000 });
  });

  afterEach(async () => {
    if (nodeRed) await kill9(nodeRed);
    nodeRed = undefined;
  });

  after(async () => {
    printCounts('Node-RED kill -9 and restart', counts);
    await ip?.close();
    await sim?.close();
    await removeUserDirs();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('mid-upload: the half-sent message is never delivered; the flow resends it after the restart and it arrives once, whole', async () => {
    const big = path.join(workDir, 'stor-fil.pdf');
    const sha = await writeFileOfSize(big, LARGE, 'mid-upload');
    const messageId = randomUUID();
    const sentLedger = path.join(workDir, 'upload-sent.jsonl');
    const errorLedger = path.join(workDir, 'upload-errors.jsonl');
    const flow: FlowNode[] = [
      { id: 'crash-t1', type: 'tab', label: 'send' },
      { id: 'crash-cfg', type: 'eformidling-config', name: 'IP', url: sim.url, orgnr: SENDER, timeout: '60' },
      // On every start the flow sends what it has not confirmed yet, with the messageId it chose for it.
      {
        id: 'crash-start',
        type: 'inject',
        z: 'crash-t1',
        props: [
          { p: 'messageId', v: messageId, vt: 'str' },
          { p: 'files', v: JSON.stringify([{ path: big }]), vt: 'json' },
          { p: 'arkivmelding', v: JSON.stringify({ tittel: 'Stor fil' }), vt: 'json' },
        ],
        repeat: '',
        crontab: '',
        once: true,
        onceDelay: 0.5,
        topic: '',
        wires: [['crash-send']],
      },
      { id: 'crash-send', type: 'eformidling-send', z: 'crash-t1', server: 'crash-cfg', receiver: RECEIVER, receiverType: 'str', process: ARKIV_PROCESS, documentType: 'arkivmelding', wires: [['sent-pick']] },
      ...ledgerNodes('sent', 'crash-t1', sentLedger, ['messageId']),
      { id: 'crash-catcher', type: 'catch', z: 'crash-t1', scope: null, uncaught: false, wires: [['errors-pick']] },
      ...ledgerNodes('errors', 'crash-t1', errorLedger, ['messageId', 'error']),
    ];
    counts['messages sent']++;
    const userDir = await newUserDir();
    nodeRed = await startNodeRed(userDir);
    await nodeRed.deploy(flow);

    // Kill while the simulator is receiving the file: its upload is under way in the simulator's tmp/.
    const tmp = path.join(sim.dataDir, 'tmp');
    await waitFor('the upload to be under way', () => largestFile(tmp, /^upload-/) > 2 * MiB, 60_000);
    await kill9(nodeRed);
    const partial = largestFile(tmp, /^upload-/);
    assert.ok(readLedger(sentLedger).length === 0, 'nothing was confirmed as sent before the kill');
    await sleep(500);
    assert.equal(await inboxCount(ip, messageId), 0, 'the half-sent message is not delivered');
    console.log(`        killed with ${Math.round(partial / MiB)} of ${LARGE / MiB} MiB uploaded; ${(await ip.listOutgoing()).totalElements} half-made message(s) on the IP`);

    nodeRed = await startNodeRed(userDir);
    await waitFor('the flow to confirm the resend', () => readLedger(sentLedger).length + readLedger(errorLedger).length > 0, 30_000).catch((err) => { console.log(nodeRed?.child.recentOutput(80)); throw err; });
    const errors = readLedger<LedgerRow>(errorLedger);
    assert.deepEqual(errors.map((e) => e.error?.message), [], 'the resend after the restart fails');
    assert.deepEqual(readLedger<LedgerRow>(sentLedger).map((r) => r.messageId), [messageId]);

    await waitFor('the message in the receiver inbox', async () => (await inboxCount(ip, messageId)) === 1, 30_000);
    await waitFor('nothing half-made left on the IP', async () => (await ip.listOutgoing()).totalElements === 0, 10_000);
    await ip.peek({ messageId });
    const zip = path.join(workDir, 'received.zip');
    await ip.popToFile(messageId, zip);
    assert.equal(await sha256OfEntry(zip, 'stor-fil.pdf'), sha, 'the receiver gets the whole file');
    await ip.deleteIncoming(messageId);
    fs.rmSync(zip);
    fs.rmSync(big);
    counts.delivered++;
  });

  /** A flow that receives into `folder`, writes each msg to a ledger and only then acks it (after `ackDelayMs`). */
  function receiveFlow(folder: string, ledger: string, ackDelayMs: number, output: 'path' | 'files' = 'path'): FlowNode[] {
    return [
      { id: 'crash-t2', type: 'tab', label: 'receive' },
      { id: 'crash-cfg2', type: 'eformidling-config', name: 'IP', url: sim.url, orgnr: RECEIVER, timeout: '60' },
      { id: 'crash-inbox', type: 'eformidling-inbox', z: 'crash-t2', server: 'crash-cfg2', interval: 1, output, directory: folder, ack: 'manual', wires: [['got-pick']] },
      ...ledgerNodes('got', 'crash-t2', ledger, ['messageId', 'redelivered', 'payload'], [['crash-wait']]),
      { id: 'crash-wait', type: 'delay', z: 'crash-t2', pauseType: 'delay', timeout: String(ackDelayMs), timeoutUnits: 'milliseconds', rate: '1', nbRateUnits: '1', rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds', drop: false, outputs: 1, wires: [['crash-ack']] },
      { id: 'crash-ack', type: 'change', z: 'crash-t2', rules: [{ t: 'set', p: 'ack', pt: 'msg', to: 'true', tot: 'bool' }], wires: [['crash-inbox']] },
    ];
  }

  it('mid-download: no partial file under the final name, nothing handed on; after the restart it arrives once, whole', async () => {
    const big = path.join(workDir, 'innkommende.pdf');
    const sha = await writeFileOfSize(big, LARGE, 'mid-download');
    const sbd = buildSbd({ sender: SENDER, receiver: RECEIVER, process: ARKIV_PROCESS, type: 'arkivmelding', businessMessage: { hoveddokument: 'innkommende.pdf' } });
    const messageId = sbd.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
    await ip.createMessage(sbd);
    await ip.uploadFile(messageId, { path: big, mimeType: 'application/pdf' });
    await ip.uploadFile(messageId, { filename: 'arkivmelding.xml', mimeType: 'text/xml', content: buildArkivmeldingXml({ tittel: 'Stor' }, [{ filename: 'innkommende.pdf' }]) });
    await ip.sendMessage(messageId);
    counts['messages sent']++;
    await waitFor('the large message in the inbox', async () => (await inboxCount(ip, messageId)) === 1, 60_000);

    const folder = path.join(workDir, 'download-folder');
    const ledger = path.join(workDir, 'download-ledger.jsonl');
    const userDir = await newUserDir();
    nodeRed = await startNodeRed(userDir);
    await nodeRed.deploy(receiveFlow(folder, ledger, 0));
    await waitFor('the download to be under way', () => largestFile(folder, /\.part$/) > 2 * MiB, 60_000);
    await kill9(nodeRed);
    const names = fs.readdirSync(folder);
    console.log(`        killed with ${Math.round(largestFile(folder, /\.part$/) / MiB)} of ${LARGE / MiB} MiB downloaded; folder holds ${JSON.stringify(names)}`);
    assert.ok(!names.includes(`${messageId}.asic.zip`), 'no file under the final name');
    assert.ok(names.every((n) => n.startsWith('.') && n.endsWith('.part')), 'only a hidden .part file');
    assert.equal(readLedger(ledger).length, 0, 'nothing was handed on');

    nodeRed = await startNodeRed(userDir); // the lock of the killed process expires after LOCK_SECONDS
    const rows = await waitFor('the message to be handed on after the restart', () => (readLedger(ledger).length > 0 ? readLedger<LedgerRow>(ledger) : undefined), 60_000);
    await waitFor('the ack to empty the inbox', async () => (await inboxCount(ip)) === 0, 30_000);
    await sleep(1500); // a second delivery would show up here
    const all = readLedger<LedgerRow>(ledger);
    assert.deepEqual(all.map((r) => r.messageId), [messageId], 'handed on exactly once');
    assert.equal(rows[0].redelivered, false, 'never handed on before the crash, so not a redelivery');
    assert.equal(await sha256OfEntry(String(rows[0].payload), 'innkommende.pdf'), sha, 'the file is whole');
    assert.deepEqual(fs.readdirSync(folder), [`${messageId}.asic.zip`], 'the partial file was replaced by the whole one');
    fs.rmSync(big);
    counts.delivered++;
  });

  it('between hand-on and ack: the message comes again after the restart, marked msg.redelivered = true, and is acked once', async () => {
    const messageId = await seedMessage(ip, 'mellom pop og ack');
    counts['messages sent']++;
    const folder = path.join(workDir, 'ack-folder');
    const ledger = path.join(workDir, 'ack-ledger.jsonl');
    const userDir = await newUserDir();
    nodeRed = await startNodeRed(userDir);
    await nodeRed.deploy(receiveFlow(folder, ledger, 3000));
    await waitFor('the message to be handed on', () => readLedger(ledger).length > 0, 30_000);
    await kill9(nodeRed); // during the 3 s before the ack
    assert.equal(await inboxCount(ip, messageId), 1, 'not acked before the kill');

    nodeRed = await startNodeRed(userDir);
    await waitFor('the redelivery', () => readLedger(ledger).length > 1, 60_000);
    await waitFor('the ack to empty the inbox', async () => (await inboxCount(ip)) === 0, 30_000);
    await sleep(1500);
    const rows = readLedger<LedgerRow>(ledger);
    assert.deepEqual(
      rows.map((r) => [r.messageId, r.redelivered]),
      [
        [messageId, false],
        [messageId, true],
      ],
    );
    const statuses = await ip.allStatusesOf(messageId);
    assert.equal(statuses.filter((s) => s.status === 'INNKOMMENDE_LEVERT').length, 1, 'acknowledged once');
    counts.delivered++;
    counts.duplicated++;
    counts['marked redelivered']++;
  });
  it('a graceful restart between hand-on and ack (output files): node context remembers, the redelivery is marked', async () => {
    const messageId = await seedMessage(ip, 'restart before ack');
    counts['messages sent']++;
    const ledger = path.join(workDir, 'context-ledger.jsonl');
    const userDir = await newUserDir();
    nodeRed = await startNodeRed(userDir);
    await nodeRed.deploy(receiveFlow('', ledger, 3000, 'files'));
    await waitFor('the message to be handed on', () => readLedger(ledger).length > 0, 30_000);
    await nodeRed.stop(); // Ctrl-C before the ack: Node-RED writes its context to disk (localfilesystem) on the way out
    assert.equal(await inboxCount(ip, messageId), 1, 'not acked before the stop');

    nodeRed = await startNodeRed(userDir);
    await waitFor('the redelivery', () => readLedger(ledger).length > 1, 60_000);
    await waitFor('the ack to empty the inbox', async () => (await inboxCount(ip)) === 0, 30_000);
    assert.deepEqual(
      readLedger<LedgerRow>(ledger).map((r) => [r.messageId, r.redelivered]),
      [
        [messageId, false],
        [messageId, true],
      ],
    );
    counts.delivered++;
    counts.duplicated++;
    counts['marked redelivered']++;
  });
});
