// Fault suite, sending: the IP answers 500 or 503, answers too late (past the config node's timeout), or drops
// the connection before, after or in the middle of the request, at each step of a send: the one multipart request,
// or create → PUT of each file → send. Every message must either arrive exactly once, or end in an error a Catch
// node gets, with nothing half-made left on the IP (GET /api/messages/out is empty) and nothing delivered.
// The nodes run in-process (node-red-node-test-helper): a real Node-RED process adds nothing to HTTP faults.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { IntegrasjonspunktClient } from '../../src/client';
import { buildSbd } from '../../src/sbd';
import { startSimulator, type FaultRule, type RunningSimulator } from '../../src/simulator';
import { ARKIV_PROCESS, MiB, RECEIVER, SENDER, caughtText, helper, inboxCount, printCounts, sleep, tempDir, waitFor, writeFileOfSize, type Msg } from './support';

const configNode = require('../../src/nodes/eformidling-config');
const sendNode = require('../../src/nodes/eformidling-send');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

/** The config node's timeout; a "slow" IP answers later than this. */
const TIMEOUT_SECONDS = 1;
const SLOW_MS = 1500;
const STATUS_DELAY_MS = 50;

const MULTIPART = '^/api/messages/out/multipart$';
const CREATE = '^/api/messages/out$';
const ONE_MESSAGE = '^/api/messages/out/[0-9a-f-]{36}$';

type FaultKind = '500' | '503' | 'slow' | 'drop before' | 'drop after' | 'drop midway';

function ruleFor(kind: FaultKind, method: string, pathPattern: string): FaultRule {
  switch (kind) {
    case '500':
      return { method, path: pathPattern, status: 500, exception: 'java.lang.RuntimeException' };
    case '503':
      return { method, path: pathPattern, status: 503 };
    case 'slow':
      return { method, path: pathPattern, delayMs: SLOW_MS };
    case 'drop before':
      return { method, path: pathPattern, drop: 'before' };
    case 'drop after':
      return { method, path: pathPattern, drop: 'after' };
    case 'drop midway':
      return { method, path: pathPattern, drop: 'midway' };
  }
}

interface Case {
  step: string;
  fault: FaultKind;
  /** The send goes create → PUT → send (a file over 5 MiB) instead of one multipart request. */
  large: boolean;
  rules: FaultRule[];
}

const ALL: FaultKind[] = ['500', '503', 'slow', 'drop before', 'drop after', 'drop midway'];
const NO_BODY: FaultKind[] = ['500', '503', 'slow', 'drop before', 'drop after'];

function cases(): Case[] {
  const list: Case[] = [];
  for (const fault of ALL) list.push({ step: 'multipart', fault, large: false, rules: [ruleFor(fault, 'POST', MULTIPART)] });
  for (const fault of ALL) list.push({ step: 'create', fault, large: true, rules: [ruleFor(fault, 'POST', CREATE)] });
  // Three PUTs: the large file, a small one, the generated arkivmelding.xml. Earlier PUTs pass a no-op rule first.
  for (let put = 1; put <= 3; put++) {
    for (const fault of ALL) {
      const passThrough: FaultRule[] = Array.from({ length: put - 1 }, () => ({ method: 'PUT', path: ONE_MESSAGE, delayMs: 0 }));
      list.push({ step: `PUT #${put}`, fault, large: true, rules: [...passThrough, ruleFor(fault, 'PUT', ONE_MESSAGE)] });
    }
  }
  for (const fault of NO_BODY) list.push({ step: 'send', fault, large: true, rules: [ruleFor(fault, 'POST', ONE_MESSAGE)] });
  return list;
}

describe('reliability: IP faults at each step of a send', function () {
  this.timeout(180_000);
  let sim: RunningSimulator;
  let ip: IntegrasjonspunktClient;
  let workDir: string;
  let largeFile: string;

  /** What came out of the send node and what the Catch node got, per msg.messageId (late arrivals included). */
  const outs = new Map<string, Msg[]>();
  const caught = new Map<string, Msg[]>();
  function record(into: Map<string, Msg[]>, msg: Msg): void {
    const id = String(msg.messageId);
    into.set(id, [...(into.get(id) ?? []), msg]);
  }

  before(async () => {
    workDir = tempDir('send-faults');
    sim = await startSimulator({ port: 0, dataDir: path.join(workDir, 'sim'), statusDelayMs: STATUS_DELAY_MS, lockSweepMs: 100 });
    ip = new IntegrasjonspunktClient({ url: sim.url, timeoutMs: 30_000 });
    largeFile = path.join(workDir, 'vedtak.pdf');
    await writeFileOfSize(largeFile, 6 * MiB, 'vedtak');
    await helper.startServer();
    const flow = [
      { id: 'tab', type: 'tab' },
      { id: 'cfg', type: 'eformidling-config', url: sim.url, orgnr: SENDER, timeout: String(TIMEOUT_SECONDS) },
      { id: 'send', type: 'eformidling-send', z: 'tab', server: 'cfg', receiver: RECEIVER, receiverType: 'str', process: ARKIV_PROCESS, documentType: 'arkivmelding', wires: [['out']] },
      { id: 'out', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
    await helper.load([configNode, sendNode, catchNode], flow);
    helper.getNode('out').on('input', (m: Msg) => record(outs, m));
    helper.getNode('caught').on('input', (m: Msg) => record(caught, m));
  });

  after(async () => {
    await helper.unload();
    await helper.stopServer();
    await ip?.close();
    await sim?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  /** Sends `msg` into the send node and waits until it came out or was caught. */
  async function run(msg: Msg & { messageId: string }): Promise<void> {
    const answers = () => (outs.get(msg.messageId)?.length ?? 0) + (caught.get(msg.messageId)?.length ?? 0);
    const before = answers();
    helper.getNode('send').receive(msg);
    await waitFor('the send to succeed or fail', () => answers() > before, 30_000);
  }

  it('every message arrives exactly once or fails Catch-ably with nothing half-made left on the IP', async () => {
    const counts = { 'messages sent': 0, delivered: 0, duplicated: 0, lost: 0, 'failed cleanly': 0 };
    const table: string[] = [];
    const problems: string[] = [];
    const ids: string[] = [];
    for (const c of cases()) {
      sim.faults.clear();
      for (const rule of c.rules) sim.faults.add(rule);
      const messageId = randomUUID();
      ids.push(messageId);
      const files = c.large
        ? [{ path: largeFile }, { filename: 'vedlegg.txt', content: `vedlegg ${messageId}` }]
        : [{ filename: 'vedtak.txt', content: `vedtak ${messageId}` }];
      counts['messages sent']++;
      await run({ messageId, files, arkivmelding: { tittel: `${c.step} ${c.fault}` } });

      // Let late work finish: a slow request is still handled after the client gave up; transport takes STATUS_DELAY_MS.
      await sleep(c.fault === 'slow' ? SLOW_MS + 300 : 150);
      const outgoing = await waitFor('the outgoing list to settle', async () => ((await ip.listOutgoing()).totalElements === 0 ? 0 : undefined), 3000).catch(
        async () => (await ip.listOutgoing()).totalElements,
      );
      const arrived = await inboxCount(ip, messageId);
      const label = `${c.step.padEnd(9)} ${c.fault.padEnd(11)}`;
      const sentOn = outs.get(messageId) ?? [];
      const errors = caught.get(messageId) ?? [];
      const outcome = sentOn.length > 0 ? `sent (${sentOn.length}x)` : `error: ${caughtText(errors[0]).slice(0, 90)}`;
      table.push(`${label} → ${outcome}; in inbox ${arrived}, outgoing ${outgoing}`);

      if (sentOn.length > 0) {
        if (sentOn.length > 1) {
          counts.duplicated++;
          problems.push(`${label}: sent on ${sentOn.length} times`);
        }
        if (arrived === 1) counts.delivered++;
        else {
          counts.lost++;
          problems.push(`${label}: reported as sent, but ${arrived} copies in the receiver's inbox`);
        }
        if (sentOn[0].messageId !== messageId) problems.push(`${label}: msg.messageId changed to ${String(sentOn[0].messageId)}`);
      } else {
        counts['failed cleanly']++;
        if (errors.length !== 1) problems.push(`${label}: ${errors.length} errors for one msg`);
        if (!caughtText(errors[0])) problems.push(`${label}: the error has no text`);
        if (errors[0]?.messageId !== messageId) problems.push(`${label}: the caught msg lost its messageId`);
        if (arrived !== 0) {
          counts.duplicated++;
          problems.push(`${label}: reported as failed, but delivered (a retry would send it twice)`);
        }
      }
      if (outgoing !== 0) problems.push(`${label}: ${outgoing} half-made message(s) left in GET /api/messages/out`);
      // Empty the receiver's inbox for the next case (a delete needs the lock, so peek first).
      if (arrived > 0) {
        await ip.peek({ messageId });
        await ip.deleteIncoming(messageId);
      }
    }
    sim.faults.clear();
    // Nothing came out late: every msg was answered exactly once (sent on or caught), never both.
    for (const id of ids) {
      const answers = (outs.get(id)?.length ?? 0) + (caught.get(id)?.length ?? 0);
      if (answers !== 1) problems.push(`message ${id}: ${answers} answers (sent on or caught) for one msg`);
    }
    console.log(table.map((line) => `        ${line}`).join('\n'));
    printCounts('send faults', counts);
    assert.deepEqual(problems, []);
    assert.equal(counts.lost, 0);
    assert.equal(counts.duplicated, 0);
  });
  it('a retry with the same messageId sends a message an earlier attempt left half-made, but never one already sent', async () => {
    // Left half-made: created on the IP (OPPRETTET), never sent, e.g. by a Node-RED killed mid-upload.
    const leftover = randomUUID();
    await ip.createMessage(buildSbd({ sender: SENDER, receiver: RECEIVER, process: ARKIV_PROCESS, type: 'arkivmelding', messageId: leftover, businessMessage: {} }));
    await ip.uploadFile(leftover, { filename: 'halv.txt', content: 'half' });
    await run({ messageId: leftover, files: [{ filename: 'vedtak.txt', content: 'retry' }], arkivmelding: { tittel: 'retry' } });
    assert.equal(outs.get(leftover)?.length, 1, `the retry is sent: ${caughtText(caught.get(leftover)?.[0])}`);
    await waitFor('the retry in the inbox', async () => (await inboxCount(ip, leftover)) === 1);
    assert.equal((await ip.listOutgoing()).totalElements, 0);

    // Already sent: the same messageId again is refused, and the receiver still has it once.
    await run({ messageId: leftover, files: [{ filename: 'vedtak.txt', content: 'twice' }], arkivmelding: { tittel: 'twice' } });
    assert.equal(caught.get(leftover)?.length, 1);
    assert.match(caughtText(caught.get(leftover)?.[0]), /MessageAlreadyExistsException/);
    assert.equal((caught.get(leftover)?.[0].ipError as { exception?: string }).exception?.endsWith('MessageAlreadyExistsException'), true);
    await sleep(300);
    assert.equal(await inboxCount(ip, leftover), 1);
    assert.equal((await ip.listOutgoing()).totalElements, 0);
  });
});
