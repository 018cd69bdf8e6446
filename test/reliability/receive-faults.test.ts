// Fault suite, receiving: the IP answers 500 or 503, answers too late (past the config node's timeout), or drops the
// connection before or after answering, or in the middle of the download, at each step of receiving (peek, pop,
// delete). Every message must arrive exactly once, as a whole file, and leave the inbox; the failures on the way are
// errors a Catch node gets; no partial file is left in the folder. In-process (node-red-node-test-helper).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openAsic } from '../../src/asic';
import { IntegrasjonspunktClient } from '../../src/client';
import { startSimulator, type FaultRule, type RunningSimulator } from '../../src/simulator';
import { caughtText, helper, inboxCount, printCounts, seedMessage, sleep, tempDir, waitFor, type Msg } from './support';

const configNode = require('../../src/nodes/eformidling-config');
const inboxNode = require('../../src/nodes/eformidling-inbox');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

const TIMEOUT_SECONDS = 1;
const SLOW_MS = 1500;
/** Short, so a message locked by a lost peek comes back soon; longer than any delay here. */
const LOCK_SECONDS = 3;

const PEEK = '^/api/messages/in/peek$';
const POP = '^/api/messages/in/pop/';
const DELETE = '^/api/messages/in/[0-9a-f-]{36}$';

type FaultKind = '500' | '503' | 'slow' | 'drop before' | 'drop after' | 'drop midway';

function ruleFor(kind: FaultKind, method: string, pathPattern: string): FaultRule {
  if (kind === '500') return { method, path: pathPattern, status: 500, exception: 'java.lang.RuntimeException' };
  if (kind === '503') return { method, path: pathPattern, status: 503 };
  if (kind === 'slow') return { method, path: pathPattern, delayMs: SLOW_MS };
  return { method, path: pathPattern, drop: kind.slice('drop '.length) as FaultRule['drop'] };
}

const BASIC: FaultKind[] = ['500', '503', 'slow', 'drop before', 'drop after'];
const CASES: Array<{ step: string; fault: FaultKind; rule: FaultRule }> = [
  ...BASIC.map((fault) => ({ step: 'peek', fault, rule: ruleFor(fault, 'GET', PEEK) })),
  ...[...BASIC, 'drop midway' as const].map((fault) => ({ step: 'pop', fault, rule: ruleFor(fault, 'GET', POP) })),
  ...BASIC.map((fault) => ({ step: 'delete', fault, rule: ruleFor(fault, 'DELETE', DELETE) })),
];

describe('reliability: IP faults at each step of receiving', function () {
  this.timeout(180_000);
  let sim: RunningSimulator;
  let ip: IntegrasjonspunktClient;
  let workDir: string;
  let folder: string;
  const delivered = new Map<string, Msg[]>();
  const caught: Msg[] = [];

  before(async () => {
    workDir = tempDir('receive-faults');
    folder = path.join(workDir, 'inbox');
    sim = await startSimulator({ port: 0, dataDir: path.join(workDir, 'sim'), statusDelayMs: 0, lockSweepMs: 100, lockTimeoutSeconds: LOCK_SECONDS });
    ip = new IntegrasjonspunktClient({ url: sim.url, timeoutMs: 30_000 });
    await helper.startServer();
  });

  /** An inbox node polling only on input, into `folder`, with its output and a Catch node recorded. */
  async function load(ack: 'auto' | 'manual'): Promise<void> {
    await helper.unload();
    const flow = [
      { id: 'tab', type: 'tab' },
      { id: 'cfg', type: 'eformidling-config', url: sim.url, orgnr: '920000008', timeout: String(TIMEOUT_SECONDS) },
      { id: 'inbox', type: 'eformidling-inbox', z: 'tab', server: 'cfg', interval: 0, output: 'path', directory: folder, ack, wires: [['out']] },
      { id: 'out', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
    await helper.load([configNode, inboxNode, catchNode], flow);
    helper.getNode('out').on('input', (m: Msg) => {
      const id = String(m.messageId);
      delivered.set(id, [...(delivered.get(id) ?? []), m]);
    });
    helper.getNode('caught').on('input', (m: Msg) => caught.push(m));
  }

  after(async () => {
    await helper.unload();
    await helper.stopServer();
    await ip?.close();
    await sim?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('every message arrives exactly once, whole, and leaves the inbox; the failures on the way are Catch-able', async () => {
    const counts = { 'messages sent': 0, delivered: 0, duplicated: 0, lost: 0, 'errors caught': 0 };
    const problems: string[] = [];
    const table: string[] = [];
    await load('auto');
    for (const c of CASES) {
      const text = `${c.step} ${c.fault}`;
      const messageId = await seedMessage(ip, text);
      counts['messages sent']++;
      await waitFor('the message in the inbox', async () => (await inboxCount(ip, messageId)) === 1);
      sim.faults.clear();
      sim.faults.add(c.rule);
      const errorsBefore = caught.length;

      // Poll (a msg into the node) until the message came out and the inbox is empty, as an interval would.
      const deadline = Date.now() + (LOCK_SECONDS + 8) * 1000;
      while (Date.now() < deadline) {
        helper.getNode('inbox').receive({ payload: 'poll' });
        await sleep(300);
        if ((delivered.get(messageId)?.length ?? 0) > 0 && (await inboxCount(ip)) === 0) break;
      }
      await sleep(c.fault === 'slow' ? SLOW_MS : 200); // late answers and late deliveries get their chance
      helper.getNode('inbox').receive({ payload: 'poll' });
      await sleep(300);

      const msgs = delivered.get(messageId) ?? [];
      const errors = caught.slice(errorsBefore);
      counts['errors caught'] += errors.length;
      const left = await inboxCount(ip);
      table.push(`${c.step.padEnd(6)} ${c.fault.padEnd(11)} → delivered ${msgs.length}x, errors caught ${errors.length}${errors[0] ? ` (${caughtText(errors[0]).slice(0, 70)})` : ''}, left in inbox ${left}`);
      if (msgs.length === 0) {
        counts.lost++;
        problems.push(`${text}: never delivered`);
      } else {
        counts.delivered++;
        if (msgs.length > 1) {
          counts.duplicated++;
          if (!msgs.slice(1).every((m) => m.redelivered === true)) problems.push(`${text}: delivered ${msgs.length} times, not marked redelivered`);
          else problems.push(`${text}: delivered ${msgs.length} times (marked redelivered)`);
        }
        // The file handed on is whole: a readable ASiC-E holding exactly what was sent.
        const file = String(msgs[0].payload);
        assert.equal(path.dirname(file), folder);
        const archive = await openAsic(file);
        try {
          assert.equal((await archive.readEntry('brev.txt')).toString('utf8'), text, `${text}: the file's content`);
        } finally {
          archive.close();
        }
        if (msgs[0].redelivered !== false) problems.push(`${text}: the first delivery is marked redelivered`);
      }
      if (left !== 0) problems.push(`${text}: ${left} message(s) left in the inbox`);
      for (const e of errors) if (!caughtText(e)) problems.push(`${text}: an error without text`);
      const partial = fs.readdirSync(folder).filter((f) => !f.endsWith('.asic.zip'));
      if (partial.length) problems.push(`${text}: partial files in the folder: ${partial.join(', ')}`);
    }
    sim.faults.clear();
    console.log(table.map((line) => `        ${line}`).join('\n'));
    printCounts('receive faults', counts);
    assert.deepEqual(problems, []);
  });
  it('manual ack: a failed ack is retried by the node itself; an unacked message comes again marked redelivered', async () => {
    await load('manual');
    const poll = () => helper.getNode('inbox').receive({ payload: 'poll' });
    const arrived = (messageId: string) => waitFor('the message in the inbox', async () => (await inboxCount(ip, messageId)) === 1);

    // The IP fails the ack (503, then a dropped connection): the ack msg gets the error, the node deletes at its next poll.
    for (const fault of ['503', 'drop before'] as const) {
      const messageId = await seedMessage(ip, `manual ack ${fault}`);
      await arrived(messageId);
      poll();
      const [msg] = await waitFor('the delivery', () => delivered.get(messageId));
      sim.faults.clear();
      sim.faults.add(ruleFor(fault, 'DELETE', DELETE));
      const errorsBefore = caught.length;
      helper.getNode('inbox').receive({ ...msg, ack: true });
      const failed = await waitFor('the failed ack', () => caught.slice(errorsBefore).find((m) => m.messageId === messageId));
      assert.match(caughtText(failed), /tries the delete again at its next poll/);
      assert.equal(await inboxCount(ip, messageId), 1, 'not deleted yet');
      poll();
      await waitFor('the retried delete', async () => (await inboxCount(ip, messageId)) === 0);
      assert.equal(delivered.get(messageId)?.length, 1, 'delivered once');
    }

    // No ack: when the lock expires the message comes again, marked; the ack of the second delivery deletes it.
    const messageId = await seedMessage(ip, 'never acked');
    await arrived(messageId);
    poll();
    await waitFor('the first delivery', () => delivered.get(messageId));
    const deadline = Date.now() + (LOCK_SECONDS + 5) * 1000;
    while ((delivered.get(messageId)?.length ?? 0) < 2 && Date.now() < deadline) {
      await sleep(300);
      poll();
    }
    const [first, second] = delivered.get(messageId) ?? [];
    assert.equal(first.redelivered, false);
    assert.equal(second?.redelivered, true, 'the second delivery is marked');
    helper.getNode('inbox').receive({ ...second, ack: true });
    await waitFor('the ack', async () => (await inboxCount(ip, messageId)) === 0);
    printCounts('manual ack faults', { 'messages sent': 3, delivered: 3, 'failed acks retried by the node': 2, 'marked redelivered': 1, lost: 0 });
  });
});
