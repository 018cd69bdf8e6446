// Fault suite, competing consumers: two real Node-RED processes drain one inbox of 2,000 messages at the same time.
// The IP's peek lock must give each message to one of them: every message delivered, none twice, and each
// acknowledged (DELETE answered 200) exactly once, counted from the simulator's own request log.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { IntegrasjonspunktClient } from '../../src/client';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { kill9, ledgerNodes, newUserDir, readLedger, removeUserDirs, startNodeRed, type FlowNode, type NodeRedProcess } from './processes';
import { RECEIVER, printCounts, seedMessages, sleep, tempDir, waitFor } from './support';

const MESSAGES = 2000;

function drainFlow(name: string, url: string, ledger: string): FlowNode[] {
  return [
    { id: `${name}-tab`, type: 'tab', label: name },
    { id: `${name}-cfg`, type: 'eformidling-config', name: 'IP', url, orgnr: RECEIVER, timeout: '30' },
    { id: `${name}-inbox`, type: 'eformidling-inbox', z: `${name}-tab`, server: `${name}-cfg`, interval: 1, output: 'files', ack: 'manual', wires: [[`${name}-got-pick`]] },
    // Each msg is written to the ledger first, then acked: the ack comes after the message is stored.
    ...ledgerNodes(`${name}-got`, `${name}-tab`, ledger, ['messageId', 'redelivered'], [[`${name}-ack`]]),
    { id: `${name}-ack`, type: 'change', z: `${name}-tab`, rules: [{ t: 'set', p: 'ack', pt: 'msg', to: 'true', tot: 'bool' }], wires: [[`${name}-inbox`]] },
  ];
}

describe('reliability: two Node-RED instances drain one inbox concurrently', function () {
  this.timeout(300_000);
  let workDir: string;
  let sim: RunningSimulator;
  const nodeReds: NodeRedProcess[] = [];
  /** DELETE /api/messages/in/<id> answers per messageId and status, from the simulator's request log. */
  const deletes = new Map<string, number[]>();

  before(async () => {
    workDir = tempDir('two-instances');
    sim = await startSimulator({
      port: 0,
      dataDir: path.join(workDir, 'sim'),
      statusDelayMs: 0,
      log: (line) => {
        const m = /^DELETE \/api\/messages\/in\/([0-9a-f-]{36}) (\d+|dropped) /.exec(line);
        if (m) deletes.set(m[1], [...(deletes.get(m[1]) ?? []), m[2] === 'dropped' ? 0 : Number(m[2])]);
      },
    });
  });

  after(async () => {
    for (const nodeRed of nodeReds) await kill9(nodeRed);
    await sim?.close();
    await removeUserDirs();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it(`delivers each of ${MESSAGES} messages once and acknowledges each exactly once`, async () => {
    const ip = new IntegrasjonspunktClient({ url: sim.url, timeoutMs: 60_000 });
    try {
      // Seed while the two Node-REDs start.
      const started = Date.now();
      const [ids] = await Promise.all([
        seedMessages(ip, MESSAGES, 16),
        (async () => {
          for (let i = 0; i < 2; i++) nodeReds.push(await startNodeRed(await newUserDir()));
        })(),
      ]);
      await waitFor('every seeded message in the inbox', async () => (await ip.listIncoming({ size: 1 })).totalElements === MESSAGES, 60_000);
      const seededIn = Date.now() - started;

      const ledgers = ['a', 'b'].map((name) => path.join(workDir, `ledger-${name}.jsonl`));
      const drainStart = Date.now();
      await Promise.all(nodeReds.map((nodeRed, i) => nodeRed.deploy(drainFlow(`drain-${'ab'[i]}`, sim.url, ledgers[i]))));
      await waitFor(
        'the inbox to be drained and every message acked',
        async () => (await ip.listIncoming({ size: 1 })).totalElements === 0 && ledgers.reduce((n, l) => n + readLedger(l).length, 0) >= MESSAGES,
        180_000,
      );
      const drainedIn = Date.now() - drainStart;
      await sleep(1500); // a late second delivery would show up here

      const rows = ledgers.map((l) => readLedger<{ messageId: string; redelivered: boolean }>(l));
      const all = rows.flat();
      const distinct = new Set(all.map((r) => r.messageId));
      const lost = ids.filter((id) => !distinct.has(id));
      const ackedOnce = ids.filter((id) => (deletes.get(id) ?? []).filter((s) => s === 200).length === 1).length;
      const deleteRequests = [...deletes.values()].reduce((n, list) => n + list.length, 0);
      printCounts('two instances', {
        'messages sent': MESSAGES,
        delivered: distinct.size,
        duplicated: all.length - distinct.size,
        lost: lost.length,
        'instance A': rows[0].length,
        'instance B': rows[1].length,
        'acked exactly once': ackedOnce,
        'DELETE requests': deleteRequests,
      });
      console.log(`        seeded in ${(seededIn / 1000).toFixed(1)} s (with both Node-REDs starting), drained in ${(drainedIn / 1000).toFixed(1)} s`);
      assert.deepEqual(lost, []);
      assert.equal(all.length, MESSAGES, 'no message delivered twice');
      assert.equal(ackedOnce, MESSAGES, 'every message acknowledged exactly once');
      assert.equal(deleteRequests, MESSAGES, 'no second DELETE for any message');
      assert.ok(rows[0].length > 0 && rows[1].length > 0, 'both instances took part');
      assert.ok(all.every((r) => r.redelivered === false), 'no message marked as a redelivery');
    } finally {
      await ip.close();
    }
  });
});
