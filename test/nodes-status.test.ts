import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { IntegrasjonspunktClient } from '../src/client';
import type { NodeMessage } from '../src/nodes/shared/types';
import type { WaitRegistry } from '../src/nodes/status/wait-registry';
import { newestStatusId, statusesAfter } from '../src/nodes/status/newer-statuses';
import type { MessageStatus } from '../src/schemas/status';
import type { RunningSimulator } from '../src/simulator';
import { receiveAndDelete, sendArkivmelding, sendOkReceipt, sleep, waitFor } from './status-webhook-support';

/** The part of node-red-node-test-helper used here (it ships no types). */
interface TestNode {
  receive(msg: NodeMessage): void;
  on(event: string, listener: (...args: never[]) => void): void;
  context(): { get(key: string): unknown };
  waitRegistry?: WaitRegistry;
  client?: IntegrasjonspunktClient;
}
interface TestHelper {
  init(runtimePath: string): void;
  settings(settings: Record<string, unknown>): void;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  load(nodes: unknown[], flow: object[], credentials?: object): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  /** Internals used to restart with a persistent context store (see restartNodeRed). */
  _redNodes: { loadContextsPlugin(): Promise<void>; closeContextsPlugin(): Promise<void> };
  _context: { clean(config?: unknown): Promise<void> };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper: TestHelper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const configNode = require('../src/nodes/eformidling-config');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const statusNode = require('../src/nodes/eformidling-status');
import { startTestSimulator, stopTestSimulator } from './support/ip';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

helper.init(require.resolve('node-red'));

/** Loaded with the node modules: sets up the context stores of settings.contextStorage, as Node-RED does at start. */
const loadContextStores = () => helper._redNodes.loadContextsPlugin();

interface Output extends NodeMessage {
  messageId: string;
  status: string | null;
  final: boolean;
}

describe('eformidling-status node', function () {
  this.timeout(30_000);

  let sim: RunningSimulator;
  let client: IntegrasjonspunktClient;
  let tmp: string;

  before(async () => ({ tmp, sim, client } = await startTestSimulator('nodes-status-', { statusDelayMs: 20, lockSweepMs: 100 })));
  after(() => stopTestSimulator({ tmp, sim, client }));

  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    helper.settings({});
  });

  function flow(status: Record<string, unknown>): object[] {
    return [
      { id: 'tab', type: 'tab', label: 'status test' },
      { id: 'cfg', type: 'eformidling-config', url: sim.url, orgnr: '910000009', timeout: '30' },
      { id: 'st', type: 'eformidling-status', z: 'tab', server: 'cfg', name: 'status under test', interval: '0.05', wires: [['out']], ...status },
      { id: 'out', type: 'helper', z: 'tab' },
      { id: 'on-error', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
  }

  function collect() {
    const out: Output[] = [];
    const caught: Array<NodeMessage & { error: { message: string } }> = [];
    helper.getNode('out').on('input', (msg: Output) => out.push(msg));
    helper.getNode('caught').on('input', (msg: NodeMessage & { error: { message: string } }) => caught.push(msg));
    return { out, caught };
  }

  const statusValues = (msg: NodeMessage) => (msg.payload as MessageStatus[]).map((s) => s.status);

  describe('lookup', () => {
    it("gives a message's full history, oldest first, with the latest status and final", async () => {
      const sent = await sendArkivmelding(client);
      await receiveAndDelete(client, sent.messageId);
      await waitFor('LEVERT', async () => (await client.allStatusesOf(sent.messageId)).some((s) => s.status === 'LEVERT'));

      await helper.load([configNode, statusNode, catchNode], flow({ mode: 'lookup' }));
      const { out } = collect();
      helper.getNode('st').receive({ messageId: sent.messageId, topic: 'keep me' });
      const [msg] = await waitFor('the lookup', () => (out.length ? out : undefined));
      assert.deepEqual(statusValues(msg), ['OPPRETTET', 'SENDT', 'MOTTATT', 'LEVERT']);
      assert.equal(msg.status, 'LEVERT');
      assert.equal(msg.final, true);
      assert.equal(msg.messageId, sent.messageId);
      assert.equal(msg.conversationId, sent.conversationId);
      assert.equal(msg.topic, 'keep me', 'the input msg goes on');

      helper.getNode('st').receive({ messageId: sent.messageId, direction: 'INCOMING' });
      const incoming = await waitFor('the incoming lookup', () => out[1]);
      assert.deepEqual(statusValues(incoming), ['OPPRETTET', 'INNKOMMENDE_MOTTATT', 'INNKOMMENDE_LEVERT']);
      assert.equal(incoming.final, true);
    });

    it('reports a missing msg.messageId to a Catch node without asking the IP', async () => {
      await helper.load([configNode, statusNode, catchNode], flow({ mode: 'lookup' }));
      const { out, caught } = collect();
      helper.getNode('st').receive({ payload: 'no id' });
      const [msg] = await waitFor('the error', () => (caught.length ? caught : undefined));
      assert.match(msg.error.message, /^Error: msg\.messageId: expected the messageId of a message/);
      assert.equal(out.length, 0);
    });
  });

  describe('wait', () => {
    it('resolves at LEVERT after the receiver deletes the message', async () => {
      await helper.load([configNode, statusNode, catchNode], flow({ mode: 'wait', timeout: '20' }));
      const { out, caught } = collect();
      const sent = await sendArkivmelding(client);
      helper.getNode('st').receive({ messageId: sent.messageId });
      await sleep(200);
      assert.equal(out.length, 0, 'nothing before the receiver has the message');
      await receiveAndDelete(client, sent.messageId);
      const [msg] = await waitFor('the wait to end', () => (out.length ? out : undefined));
      assert.equal(msg.status, 'LEVERT');
      assert.equal(msg.final, true);
      assert.deepEqual(statusValues(msg), ['OPPRETTET', 'SENDT', 'MOTTATT', 'LEVERT']);
      await sleep(200);
      assert.equal(out.length, 1, 'emitted once');
      assert.equal(caught.length, 0);
    });

    it('resolves at LEST after an OK arkivmelding_kvittering when waiting for LEST', async () => {
      await helper.load([configNode, statusNode, catchNode], flow({ mode: 'wait', timeout: 20, finalStatuses: 'LEST' }));
      const { out } = collect();
      const sent = await sendArkivmelding(client);
      helper.getNode('st').receive({ messageId: sent.messageId });
      await receiveAndDelete(client, sent.messageId);
      await waitFor('LEVERT', async () => (await client.allStatusesOf(sent.messageId)).some((s) => s.status === 'LEVERT'));
      await sleep(200);
      assert.equal(out.length, 0, 'LEVERT does not end a wait for LEST');
      await sendOkReceipt(client, sent);
      const [msg] = await waitFor('the wait to end', () => (out.length ? out : undefined));
      assert.equal(msg.status, 'LEST');
      assert.deepEqual(statusValues(msg), ['OPPRETTET', 'SENDT', 'MOTTATT', 'LEVERT', 'LEST']);
    });

    it('times out with a clear message naming the messageId, the last status and the time waited', async () => {
      await helper.load([configNode, statusNode, catchNode], flow({ mode: 'wait', timeout: '0.5' }));
      const { out, caught } = collect();
      const sent = await sendArkivmelding(client);
      await waitFor('MOTTATT', async () => (await client.allStatusesOf(sent.messageId)).some((s) => s.status === 'MOTTATT'));
      helper.getNode('st').receive({ messageId: sent.messageId });
      const [msg] = await waitFor('the timeout', () => (caught.length ? caught : undefined));
      assert.match(
        msg.error.message,
        new RegExp(`^WaitTimeoutError: Timed out after 0\\.\\d s waiting for message ${sent.messageId} to reach LEVERT, LEST, FEIL, LEVETID_UTLOPT or INNKOMMENDE_LEVERT; last status seen: MOTTATT$`),
      );
      assert.equal(msg.status, 'MOTTATT', 'what was seen is on the msg');
      assert.equal(out.length, 0);
    });

    it('serves many concurrent waits from one timer with one request per poll, and leaves no timer after a redeploy', async () => {
      await helper.load([configNode, statusNode, catchNode], flow({ mode: 'wait', timeout: '20', interval: '0.1' }));
      const { out } = collect();
      const node = helper.getNode('st');
      const registry = node.waitRegistry as WaitRegistry;
      const configClient = helper.getNode('cfg').client as IntegrasjonspunktClient;
      const requests = { list: 0, lookups: 0 };
      const listStatuses = configClient.listStatuses.bind(configClient);
      configClient.listStatuses = (filter) => {
        requests.list++;
        return listStatuses(filter);
      };
      const allStatusesOf = configClient.allStatusesOf.bind(configClient);
      configClient.allStatusesOf = (messageId) => {
        requests.lookups++;
        return allStatusesOf(messageId);
      };

      const sent = await Promise.all(Array.from({ length: 15 }, () => sendArkivmelding(client)));
      for (const m of sent) {
        await waitFor('MOTTATT', async () => (await client.allStatusesOf(m.messageId)).some((s) => s.status === 'MOTTATT'));
      }
      for (const m of sent) node.receive({ messageId: m.messageId });
      await waitFor('15 pending waits', () => registry.pending === 15);
      await sleep(300);
      const before = { ...requests };
      await sleep(1_000);
      const polls = requests.list - before.list;
      // Nothing happens to the messages: each poll is one request for all fifteen waits, and no lookups.
      assert.ok(polls >= 5 && polls <= 12, `${polls} list requests in one second at a 0.1 s interval, for 15 waits`);
      assert.equal(requests.lookups - before.lookups, 0, 'no per-message lookups while nothing changes');

      for (const m of sent.slice(0, 10)) await receiveAndDelete(client, m.messageId);
      await waitFor('10 waits to end', () => out.length === 10);
      assert.deepEqual(new Set(out.map((m) => m.messageId)), new Set(sent.slice(0, 10).map((m) => m.messageId)));
      assert.equal(registry.pending, 5);
      assert.equal(registry.active, true);

      await helper.unload();
      assert.equal(registry.active, false, 'no timer after the node is stopped');
      assert.equal(registry.pending, 0);
      await helper.load([configNode, statusNode, catchNode], flow({ mode: 'wait' }));
    });
  });

  describe('feed', () => {
    /**
     * Stops Node-RED the way a restart does with a persistent context store: the flows stop and the localfilesystem
     * store writes its cache to disk on close. node-red-node-test-helper's unload() also deletes every node's
     * context (it cleans the stores as if all nodes were removed), which no real restart does, so that clean is
     * skipped here. Starting again (helper.load with loadContextStores) makes a fresh store that reads the files.
     */
    async function stopNodeRed(): Promise<void> {
      const clean = helper._context.clean;
      helper._context.clean = () => Promise.resolve();
      try {
        await helper.unload();
      } finally {
        helper._context.clean = clean;
      }
      await helper._redNodes.closeContextsPlugin();
    }

    it('emits every status exactly once, in order, across a restart of Node-RED (persistent localfilesystem context)', async () => {
      const contextDir = path.join(tmp, 'context');
      helper.settings({ contextStorage: { default: { module: 'localfilesystem', config: { dir: contextDir, flushInterval: 30 } } } });
      await helper.load([configNode, statusNode, catchNode, loadContextStores], flow({ mode: 'feed', interval: '0.05' }));
      const beforeRestart = collect();
      const start = await waitFor('the feed to start', () => helper.getNode('st').context().get('cursor') as number | undefined);
      assert.equal(start, await newestStatusId(client), 'a new feed starts after the newest status');

      const a = await sendArkivmelding(client);
      await receiveAndDelete(client, a.messageId);
      const b = await sendArkivmelding(client);
      await waitFor('LEVERT of the first message', () => beforeRestart.out.some((m) => m.messageId === a.messageId && m.status === 'LEVERT'));

      // Stopped while the second message's statuses keep coming, then delivered while Node-RED is down.
      await stopNodeRed();
      await receiveAndDelete(client, b.messageId);
      await waitFor('LEVERT', async () => (await client.allStatusesOf(b.messageId)).some((s) => s.status === 'LEVERT'));
      const cursorFile = path.join(contextDir, 'context', 'tab', 'st.json');
      assert.ok(fs.existsSync(cursorFile), 'the cursor is in the context store on disk');

      // Started again polling only on input, so nothing is sent before the test listens.
      await helper.load([configNode, statusNode, catchNode, loadContextStores], flow({ mode: 'feed', interval: '0' }));
      const afterRestart = collect();
      helper.getNode('st').receive({});
      await waitFor('LEVERT of the second message', () => afterRestart.out.some((m) => m.messageId === b.messageId && m.status === 'LEVERT'));
      await sleep(200);
      assert.ok(beforeRestart.out.length > 0 && afterRestart.out.length > 0, 'statuses came before and after the restart');
      const received = [...beforeRestart.out, ...afterRestart.out];

      const expected = await statusesAfter(client, start);
      assert.deepEqual(
        received.map((m) => (m.payload as MessageStatus).id),
        expected.map((s) => s.id),
        'every status after the start, once, in id order',
      );
      assert.ok(received.length >= 14, `${received.length} statuses for two messages, both directions`);
      const first = received.find((m) => m.status === 'LEVERT' && m.messageId === a.messageId) as Output;
      assert.equal(first.topic, 'LEVERT');
      assert.equal(first.final, true);
      assert.equal(first.direction, 'OUTGOING');
      assert.equal(first.serviceIdentifier, 'DPO');
      assert.equal(first.conversationId, a.conversationId);

      await stopNodeRed();
      helper.settings({});
      await helper.load([configNode, statusNode, catchNode], flow({ mode: 'lookup' }));
    });

    it('polls when a msg arrives, and msg.cursor replays from a status id', async () => {
      await helper.load([configNode, statusNode, catchNode], flow({ mode: 'feed', interval: '0', statusFilter: 'LEVERT', directionFilter: 'OUTGOING' }));
      const { out } = collect();
      const node = helper.getNode('st');
      node.receive({});
      const start = await waitFor('the feed to start', () => node.context().get('cursor') as number | undefined);
      const sent = await sendArkivmelding(client);
      await receiveAndDelete(client, sent.messageId);
      await waitFor('LEVERT', async () => (await client.allStatusesOf(sent.messageId)).some((s) => s.status === 'LEVERT'));
      await sleep(200);
      assert.equal(out.length, 0, 'interval 0: nothing without an input msg');
      node.receive({});
      await waitFor('the LEVERT status', () => out.length === 1);
      assert.equal(out[0].messageId, sent.messageId);
      assert.equal(out[0].status, 'LEVERT');

      node.receive({ cursor: start });
      await waitFor('the replay', () => out.length === 2);
      await sleep(100);
      assert.equal(out.length, 2);
      assert.equal((out[1].payload as MessageStatus).id, (out[0].payload as MessageStatus).id);
    });
  });
});
