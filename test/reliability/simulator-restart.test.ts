// Fault suite, the IP going away: the simulator (its CLI, as a user runs it) is killed with kill -9 while a real
// Node-RED is sending and receiving, and started again on the same port and data folder. Its state must be intact
// (every message it had accepted is still there and goes on), and the nodes must carry on by themselves: the inbox
// polls again after its backoff, the flow's retry (Catch → delay → send, same messageId) sends what failed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { IntegrasjonspunktClient } from '../../src/client';
import { freePort } from '../e2e/harness';
import { installedPackageDir, kill9, ledgerNodes, newUserDir, readLedger, removeUserDirs, startNodeRed, type FlowNode, type NodeRedProcess } from './processes';
import { ARKIV_PROCESS, RECEIVER, SENDER, printCounts, seedMessage, sleep, tempDir, waitFor } from './support';

const MESSAGES = 150;
const PER_SECOND = 25;

interface SimulatorChild {
  process: ChildProcess;
  output: string[];
}

/** Every simulator started here, so none outlives the tests. */
const started: SimulatorChild[] = [];

async function startSimulatorCli(port: number, dataDir: string): Promise<SimulatorChild> {
  const cli = path.join(await installedPackageDir(), 'dist', 'simulator', 'cli.js');
  const child = spawn(process.execPath, [cli, '--port', String(port), '--data-dir', dataDir, '--status-delay', '0', '--lock-timeout', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const sim: SimulatorChild = { process: child, output: [] };
  started.push(sim);
  const { output } = sim;
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => output.push(...chunk.split('\n').filter(Boolean)));
  }
  await waitFor('the simulator to listen', () => {
    if (child.exitCode !== null) throw new Error(`the simulator exited: ${output.slice(-20).join('\n')}`);
    return output.some((line) => line.startsWith('listening on '));
  });
  return sim;
}

async function killSimulator(sim: SimulatorChild | undefined): Promise<void> {
  if (!sim || sim.process.exitCode !== null || sim.process.signalCode !== null) return;
  const exited = once(sim.process, 'exit');
  sim.process.kill('SIGKILL');
  await exited;
}

describe('reliability: the simulator killed (kill -9) and restarted under load', function () {
  this.timeout(240_000);
  let workDir: string;
  let sim: SimulatorChild | undefined;
  let nodeRed: NodeRedProcess | undefined;

  before(() => {
    workDir = tempDir('sim-restart');
  });

  after(async () => {
    if (nodeRed) await kill9(nodeRed);
    for (const child of started.splice(0)) await killSimulator(child);
    await removeUserDirs();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('keeps every accepted message; the nodes reconnect by themselves and every message is delivered', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dataDir = path.join(workDir, 'sim');
    sim = await startSimulatorCli(port, dataDir);
    const prefix = randomBytes(4).toString('hex');
    const ids = Array.from({ length: MESSAGES }, (_, i) => `${prefix}-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const ledgers = { sent: path.join(workDir, 'sent.jsonl'), errors: path.join(workDir, 'errors.jsonl'), gaveUp: path.join(workDir, 'gave-up.jsonl'), received: path.join(workDir, 'received.jsonl') };

    const make = `const out = ${JSON.stringify(ids)}.map((id, i) => ({ messageId: id, payload: 'message ' + i, filename: 'brev.txt', arkivmelding: { tittel: 'message ' + i }, attempt: 0 })); return [out];`;
    // A failed send is tried again after 1 s with the same msg (and so the same messageId), up to 30 times.
    const retry = `if (!msg.messageId || msg.attempt === undefined) return null; msg.attempt++; return msg.attempt > 30 ? [null, msg] : [msg, null];`;
    const flow: FlowNode[] = [
      { id: 'load-tab', type: 'tab', label: 'load' },
      { id: 'load-cfgA', type: 'eformidling-config', name: 'sender', url, orgnr: SENDER, timeout: '10' },
      { id: 'load-cfgB', type: 'eformidling-config', name: 'receiver', url, orgnr: RECEIVER, timeout: '10' },
      { id: 'load-go', type: 'inject', z: 'load-tab', props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', crontab: '', once: true, onceDelay: 1, topic: '', wires: [['load-make']] },
      { id: 'load-make', type: 'function', z: 'load-tab', func: make, outputs: 1, wires: [['load-rate']] },
      { id: 'load-rate', type: 'delay', z: 'load-tab', pauseType: 'rate', timeout: '1', timeoutUnits: 'seconds', rate: String(PER_SECOND), nbRateUnits: '1', rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds', drop: false, outputs: 1, wires: [['load-send']] },
      { id: 'load-send', type: 'eformidling-send', z: 'load-tab', server: 'load-cfgA', receiver: RECEIVER, receiverType: 'str', process: ARKIV_PROCESS, documentType: 'arkivmelding', wires: [['sent-pick']] },
      ...ledgerNodes('sent', 'load-tab', ledgers.sent, ['messageId', 'attempt']),
      { id: 'load-catcher', type: 'catch', z: 'load-tab', scope: ['load-send'], uncaught: false, wires: [['errors-pick']] },
      ...ledgerNodes('errors', 'load-tab', ledgers.errors, ['messageId', 'error'], [['load-retry']]),
      { id: 'load-retry', type: 'function', z: 'load-tab', func: retry, outputs: 2, wires: [['load-later'], ['gaveUp-pick']] },
      { id: 'load-later', type: 'delay', z: 'load-tab', pauseType: 'delay', timeout: '1', timeoutUnits: 'seconds', rate: '1', nbRateUnits: '1', rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds', drop: false, outputs: 1, wires: [['load-send']] },
      ...ledgerNodes('gaveUp', 'load-tab', ledgers.gaveUp, ['messageId']),
      { id: 'load-inbox', type: 'eformidling-inbox', z: 'load-tab', server: 'load-cfgB', interval: 1, output: 'files', ack: 'manual', maxPerPoll: 50, wires: [['received-pick']] },
      ...ledgerNodes('received', 'load-tab', ledgers.received, ['messageId', 'redelivered'], [['load-ack']]),
      { id: 'load-ack', type: 'change', z: 'load-tab', rules: [{ t: 'set', p: 'ack', pt: 'msg', to: 'true', tot: 'bool' }], wires: [['load-inbox']] },
    ];

    const userDir = await newUserDir();
    nodeRed = await startNodeRed(userDir);
    await nodeRed.deploy(flow);

    // Kill the IP while messages go both ways, keep it down for 2 s, start it again on the same port and folder.
    await waitFor('the load to be under way', () => readLedger(ledgers.sent).length >= 40 && readLedger(ledgers.received).length >= 10, 60_000).catch((err: Error) => {
      const sizes = Object.entries(ledgers).map(([name, file]) => `${name} ${readLedger(file).length}`);
      throw new Error(`${err.message} (${sizes.join(', ')})\n${nodeRed?.child.recentOutput(30)}`);
    });
    await killSimulator(sim);
    const sentBeforeKill = new Set(readLedger<{ messageId: string }>(ledgers.sent).map((r) => r.messageId));
    const receivedBeforeKill = readLedger(ledgers.received).length;
    await sleep(2000);
    const firstOutput = sim.output;
    sim = await startSimulatorCli(port, dataDir);
    const restartedAt = Date.now();

    const ip = new IntegrasjonspunktClient({ url, timeoutMs: 30_000 });
    try {
      await waitFor(
        'every message sent (or given up) and received',
        async () => {
          const done = new Set([...readLedger<{ messageId: string }>(ledgers.sent), ...readLedger<{ messageId: string }>(ledgers.gaveUp)].map((r) => r.messageId));
          const received = new Set(readLedger<{ messageId: string }>(ledgers.received).map((r) => r.messageId));
          return done.size === MESSAGES && [...done].every((id) => received.has(id)) && (await ip.listIncoming({ size: 1 })).totalElements === 0;
        },
        150_000,
      ).catch(async (err: Error) => {
        const done = new Set(readLedger<{ messageId: string }>(ledgers.sent).map((r) => r.messageId));
        const received = new Set(readLedger<{ messageId: string }>(ledgers.received).map((r) => r.messageId));
        const left = (await ip.listIncoming({ size: 20 })).content.map((m) => m.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string);
        const missing = [...ids.filter((id) => !done.has(id) || !received.has(id)).slice(0, 5), ...left];
        const details = await Promise.all(missing.map(async (id) => `${id} sent ${done.has(id)} received ${received.has(id)}: ${(await ip.allStatusesOf(id)).map((x) => x.status).join(',')}`));
        const sizes = Object.entries(ledgers).map(([name, file]) => `${name} ${readLedger(file).length}`);
        throw new Error(`${err.message} (${sizes.join(', ')}; inbox ${(await ip.listIncoming({ size: 1 })).totalElements}, outgoing ${(await ip.listOutgoing()).totalElements})\n${details.join('\n')}\n${nodeRed?.child.recentOutput(10)}`);
      });
      await sleep(2000); // a late duplicate would show up here

      const sent = readLedger<{ messageId: string }>(ledgers.sent).map((r) => r.messageId);
      const gaveUp = readLedger<{ messageId: string }>(ledgers.gaveUp).map((r) => r.messageId);
      const received = readLedger<{ messageId: string; redelivered: boolean }>(ledgers.received);
      const receivedIds = new Set(received.map((r) => r.messageId));
      const lost = sent.filter((id) => !receivedIds.has(id));
      const duplicates = received.length - receivedIds.size;
      const unmarked = received.filter((r, i) => received.findIndex((x) => x.messageId === r.messageId) < i && r.redelivered !== true);
      printCounts('simulator kill -9', {
        'messages sent': MESSAGES,
        'confirmed sent': new Set(sent).size,
        delivered: receivedIds.size,
        duplicated: duplicates,
        lost: lost.length,
        'gave up': gaveUp.length,
        'send errors retried': readLedger(ledgers.errors).length,
        'received before the kill': receivedBeforeKill,
      });
      assert.deepEqual(lost, [], 'confirmed as sent, never received');
      assert.deepEqual(gaveUp, [], 'the flow gave up on a message');
      assert.equal(new Set(sent).size, sent.length, 'a message confirmed as sent twice');
      assert.deepEqual(unmarked, [], 'a second delivery not marked msg.redelivered');
      assert.ok(received.length > receivedBeforeKill, 'the inbox received again after the restart, without a redeploy');

      // The simulator's state is intact: every message accepted before the kill went on to LEVERT (the receiver's ack).
      for (const id of sentBeforeKill) {
        const statuses = (await ip.allStatusesOf(id)).map((s) => s.status);
        assert.ok(statuses.includes('LEVERT'), `message ${id} accepted before the kill: statuses ${statuses.join(', ')}`);
      }
      assert.equal((await ip.listOutgoing()).totalElements, 0, 'nothing half-made left');
      const unreadable = [...firstOutput, ...sim.output].filter((line) => /unreadable|failed/.test(line));
      assert.deepEqual(unreadable, [], 'the simulator found its state damaged');
      console.log(`        restarted ${Math.round((Date.now() - restartedAt) / 1000)} s before the last message was received`);
    } finally {
      await ip.close();
    }
  });
  it('killed right after an answer, it comes back with what it answered (create and send, ack)', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dataDir = path.join(workDir, 'sim-answers');
    const ip = new IntegrasjonspunktClient({ url, timeoutMs: 10_000, retries: 0 });
    const rounds = 5;
    let kept = 0;
    try {
      for (let round = 0; round < rounds; round++) {
        // A multipart send answered 200, then kill -9 at once: after the restart the message is there and goes on.
        sim = await startSimulatorCli(port, dataDir);
        const messageId = await seedMessage(ip, `round ${round}`);
        await killSimulator(sim);
        sim = await startSimulatorCli(port, dataDir);
        await waitFor(`message ${messageId} delivered after the restart`, async () => (await ip.listIncoming({ messageId })).totalElements === 1, 10_000);

        // An ack (DELETE) answered 200, then kill -9 at once: after the restart the message stays gone.
        await ip.peek({ messageId });
        await ip.deleteIncoming(messageId);
        await killSimulator(sim);
        sim = await startSimulatorCli(port, dataDir);
        assert.equal((await ip.listIncoming({ messageId })).totalElements, 0, `message ${messageId} came back after its ack`);
        assert.ok((await ip.allStatusesOf(messageId)).some((s) => s.status === 'LEVERT'));
        await killSimulator(sim);
        kept++;
      }
    } finally {
      await ip.close();
    }
    printCounts('simulator kill -9 right after answering', { rounds, 'state kept': kept });
  });
});
