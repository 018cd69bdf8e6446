import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { IntegrasjonspunktClient } from '../src/client';
import type { NodeMessage } from '../src/nodes/shared/types';
import type { Subscription } from '../src/schemas/webhook';
import type { RunningSimulator } from '../src/simulator';
import { STATUS_EVENT, sendArkivmelding, sleep, waitFor } from './status-webhook-support';

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
interface Router {
  stack: Array<{ route?: { path?: string } }>;
}

/** The part of node-red-node-test-helper used here (it ships no types). */
interface TestNode {
  on(event: string, listener: (...args: never[]) => void): void;
  status: { getCalls(): Array<{ thisValue: unknown; args: Array<{ text?: string }> }> };
  warn: { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> };
}
interface TestHelper {
  init(runtimePath: string): void;
  settings(settings: Record<string, unknown>): void;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  load(nodes: unknown[], flow: object[], credentials?: object): Promise<void>;
  setFlows(flow: object[], type: string, credentials?: object): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  url(): string;
  /** The express app behind helper.url() (see mountHttpNode). */
  _app: { use(handler: Handler): void };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper: TestHelper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const configNode = require('../src/nodes/eformidling-config');
import { startTestSimulator, stopTestSimulator } from './support/ip';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const webhookNode = require('../src/nodes/eformidling-webhook-in');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const statusNode = require('../src/nodes/eformidling-status');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const express = require('express') as { json(): Handler };
/** The core nodes the example flow uses. */
const coreNodes = ['common/20-inject.js', 'common/21-debug.js', 'common/25-catch.js', 'common/90-comment.js', 'function/10-function.js', 'function/10-switch.js', 'function/15-change.js'].map(
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (file) => require(`@node-red/nodes/core/${file}`),
);

helper.init(require.resolve('node-red'));

const PATH = '/efm/events';
const TOKEN = 'c2VjcmV0LXRva2VuLWZvci10aGUtd2ViaG9vay10ZXN0cw';
const NAME = 'node-red test hook';
/** RED.httpNode of the latest load (the helper makes a new one per load). */
let httpNode: (Handler & { _router?: Router }) | undefined;
const captureHttpNode = (RED: { httpNode: Handler }) => {
  httpNode = RED.httpNode;
};

interface Event extends NodeMessage {
  topic: string;
  messageId?: string;
  status?: string;
}

describe('eformidling-webhook-in node', function () {
  this.timeout(30_000);

  let sim: RunningSimulator;
  let client: IntegrasjonspunktClient;
  let tmp: string;

  before(async () => ({ tmp, sim, client } = await startTestSimulator('nodes-webhook-', { statusDelayMs: 20 })));
  after(() => stopTestSimulator({ tmp, sim, client }));

  beforeEach(async () => {
    await helper.startServer();
    // The helper serves only its admin app on helper.url(); Node-RED serves RED.httpNode there too.
    helper._app.use((req, res, next) => (httpNode ? httpNode(req, res, next) : next()));
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    helper.settings({});
    httpNode = undefined;
    await client.deleteAllSubscriptions();
  });

  function flow(hook: Record<string, unknown> = {}, withHook = true): object[] {
    return [
      { id: 'tab', type: 'tab', label: 'webhook test' },
      { id: 'cfg', type: 'eformidling-config', url: sim.url, orgnr: '910000009', timeout: '30' },
      ...(withHook
        ? [
            {
              id: 'hook',
              type: 'eformidling-webhook-in',
              z: 'tab',
              server: 'cfg',
              name: 'webhook under test',
              path: PATH,
              publicUrl: helper.url(),
              subscriptionName: NAME,
              resource: 'all',
              event: 'all',
              filter: '',
              manage: true,
              deleteOnRemove: true,
              wires: [['out']],
              ...hook,
            },
          ]
        : []),
      { id: 'out', type: 'helper', z: 'tab' },
    ];
  }
  const credentials = { hook: { token: TOKEN } };

  function collect(): Event[] {
    const events: Event[] = [];
    helper.getNode('out').on('input', (msg: Event) => events.push(msg));
    return events;
  }

  function statusTexts(id: string): string[] {
    const node = helper.getNode(id);
    return node.status
      .getCalls()
      .filter((c) => c.thisValue === node)
      .map((c) => c.args[0]?.text ?? '');
  }

  const named = async (): Promise<Subscription[]> => (await client.listSubscriptions({ size: 2000 })).content.filter((s) => s.name === NAME);

  async function subscribed(): Promise<Subscription> {
    const [subscription] = await waitFor('the subscription', async () => {
      const found = await named();
      return found.length > 0 && statusTexts('hook').some((t) => t.startsWith('subscribed #')) ? found : undefined;
    });
    return subscription;
  }

  /** POSTs to the webhook path; token null = no token parameter at all. */
  async function post(body: string, token: string | null = TOKEN): Promise<number> {
    const query = token === null ? '' : `?token=${encodeURIComponent(token)}`;
    const res = await fetch(`${helper.url()}${PATH}${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    await res.arrayBuffer();
    return res.status;
  }

  function routesOnPath(): number {
    return (httpNode?._router?.stack ?? []).filter((layer) => layer.route?.path === PATH).length;
  }

  it('creates the subscription once over three redeploys and a restart, and gets its ping as a msg', async () => {
    await helper.load([configNode, webhookNode, captureHttpNode], flow(), credentials);
    const events = collect();
    const created = await subscribed();
    assert.equal(created.pushEndpoint, `${helper.url()}${PATH}?token=${TOKEN}`);
    assert.deepEqual([created.resource, created.event, created.filter], ['all', 'all', undefined]);
    const ping = await waitFor('the ping', () => events.find((m) => m.topic === 'ping'));
    assert.equal((ping.payload as { event: string }).event, 'ping');
    assert.ok(statusTexts('hook').some((t) => t.startsWith(`subscribed #${created.id}`)));

    for (let deploy = 1; deploy <= 3; deploy++) {
      await helper.setFlows(flow(), 'full', credentials);
      await subscribed();
      await sleep(100);
      const now = await named();
      assert.equal(now.length, 1, `one subscription after redeploy ${deploy}`);
      assert.equal(now[0].id, created.id, 'the same subscription, not a new one');
      assert.equal(routesOnPath(), 1, 'the old route was removed');
    }

    await helper.unload();
    await helper.load([configNode, webhookNode, captureHttpNode], flow(), credentials);
    await subscribed();
    assert.deepEqual((await named()).map((s) => s.id), [created.id], 'still one after a restart');
  });

  it('sends each status event as a msg with topic, messageId and status', async () => {
    await helper.load([configNode, webhookNode, captureHttpNode], flow(), credentials);
    const events = collect();
    await subscribed();
    const sent = await sendArkivmelding(client);
    await waitFor('MOTTATT of the message', () => events.some((m) => m.messageId === sent.messageId && m.status === 'MOTTATT'));
    const mine = events.filter((m) => m.topic === 'status' && m.messageId === sent.messageId);
    const outgoing = mine.filter((m) => m.direction === 'OUTGOING').map((m) => m.status);
    assert.deepEqual(outgoing, ['OPPRETTET', 'SENDT', 'MOTTATT']);
    assert.ok(mine.some((m) => m.direction === 'INCOMING' && m.status === 'INNKOMMENDE_MOTTATT'));
    const event = mine[0].payload as Record<string, unknown>;
    assert.equal(event.event, 'status');
    assert.equal(event.messageId, sent.messageId);
    assert.equal(mine[0].conversationId, sent.conversationId);
    assert.equal(mine[0].serviceIdentifier, 'DPO');
    assert.match(statusTexts('hook').at(-1) ?? '', /^subscribed #\d+ · event \d\d:\d\d:\d\d$/);
  });

  it('answers a request without the right token with 401 and sends no msg', async () => {
    await helper.load([configNode, webhookNode, captureHttpNode], flow({ manage: false }), credentials);
    const events = collect();
    assert.equal(await post(JSON.stringify(STATUS_EVENT), 'wrong-token'), 401);
    assert.equal(await post(JSON.stringify(STATUS_EVENT), `${TOKEN}x`), 401);
    assert.equal(await post(JSON.stringify(STATUS_EVENT), null), 401);
    assert.equal(await post(JSON.stringify(STATUS_EVENT), ''), 401);
    await sleep(100);
    assert.equal(events.length, 0);
    assert.equal(await post(JSON.stringify(STATUS_EVENT)), 200);
    const [msg] = await waitFor('the event', () => (events.length ? events : undefined));
    assert.equal(msg.topic, 'status');
    assert.equal(msg.messageId, STATUS_EVENT.messageId);
    assert.equal(msg.status, 'INNKOMMENDE_MOTTATT');
    assert.deepEqual(await named(), [], 'manage off: no subscription');
  });

  it('answers malformed JSON and invalid events with 400 and a too large body with 413, and sends no msg', async () => {
    await helper.load([configNode, webhookNode, captureHttpNode], flow({ manage: false }), credentials);
    const events = collect();
    assert.equal(await post('{"event": "status", "messageId": '), 400);
    assert.equal(await post(''), 400);
    assert.equal(await post(JSON.stringify({ ...STATUS_EVENT, status: 'DONE' })), 400);
    assert.equal(await post(JSON.stringify({ ...STATUS_EVENT, description: 'x'.repeat(1024 * 1024 + 1) })), 413);
    await sleep(100);
    assert.equal(events.length, 0);
    const hook = helper.getNode('hook');
    const warnings = hook.warn.getCalls().filter((c) => c.thisValue === hook).map((c) => String(c.args[0]));
    assert.ok(warnings.some((w) => /^Refused a webhook request: Invalid webhook event: the body is not JSON/.test(w)), warnings.join('\n'));
  });

  it("copes with a body Node-RED's JSON parser (httpNodeMiddleware) has already read", async () => {
    helper.settings({ httpNodeMiddleware: express.json() });
    await helper.load([configNode, webhookNode, captureHttpNode], flow({ manage: false }), credentials);
    const events = collect();
    assert.equal(await post(JSON.stringify(STATUS_EVENT)), 200);
    await waitFor('the event', () => events.length === 1);
    assert.equal(await post(JSON.stringify({ ...STATUS_EVENT, direction: 'SIDEWAYS' })), 400);
    await sleep(100);
    assert.equal(events.length, 1);
  });

  it('updates the subscription in place when the node changes, and recreates it to drop a filter', async () => {
    await helper.load([configNode, webhookNode, captureHttpNode], flow(), credentials);
    const created = await subscribed();
    await helper.setFlows(flow({ event: 'status', filter: 'direction=OUTGOING' }), 'full', credentials);
    const updated = await waitFor('the update', async () => {
      const [s] = await named();
      return s?.filter === 'direction=OUTGOING' ? s : undefined;
    });
    assert.equal(updated.id, created.id);
    assert.equal(updated.event, 'status');

    await helper.setFlows(flow({ event: 'status', filter: '' }), 'full', credentials);
    const recreated = await waitFor('the filter to go', async () => {
      const found = await named();
      return found.length === 1 && found[0].filter === undefined ? found[0] : undefined;
    });
    assert.notEqual(recreated.id, created.id);
    assert.equal(recreated.event, 'status');
  });

  it('deletes the subscription when the node is removed (deleteOnRemove), and keeps it otherwise', async () => {
    await helper.load([configNode, webhookNode, captureHttpNode], flow(), credentials);
    await subscribed();
    await helper.setFlows(flow({}, false), 'full', credentials);
    await waitFor('the subscription to be deleted', async () => (await named()).length === 0);
    assert.equal(routesOnPath(), 0, 'the route is gone');
    assert.equal(await post(JSON.stringify(STATUS_EVENT)), 404);

    await helper.setFlows(flow({ deleteOnRemove: false }), 'full', credentials);
    await subscribed();
    await helper.setFlows(flow({}, false), 'full', credentials);
    await sleep(300);
    assert.equal((await named()).length, 1, 'deleteOnRemove off: kept');
  });

  it('generates a token when none is set, and the subscription carries it', async () => {
    await helper.load([configNode, webhookNode, captureHttpNode], flow());
    const events = collect();
    const created = await subscribed();
    const token = new URL(created.pushEndpoint).searchParams.get('token') ?? '';
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await post(JSON.stringify(STATUS_EVENT), token), 200);
    await waitFor('the event', () => events.some((m) => m.topic === 'status'));
    const hook = helper.getNode('hook');
    assert.ok(hook.warn.getCalls().some((c) => c.thisValue === hook && /No token was set: generated one/.test(String(c.args[0]))));
  });

  it('runs the example flow: webhook and status feed both reach the "once per status" handler, which passes each status once', async () => {
    const example = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'examples', 'status-webhook-and-feed.json'), 'utf8')) as Array<Record<string, unknown>>;
    const config = example.find((n) => n.type === 'eformidling-config') as Record<string, unknown>;
    assert.equal(config.url, 'http://localhost:9093');
    assert.equal(config.orgnr, '910000009');
    assert.ok(example.some((n) => n.type === 'comment'));
    // Pointed at this test's simulator and Node-RED; the feed polls fast, the handler's output goes to a test node.
    const handler = example.find((n) => n.name === 'once per status') as Record<string, unknown>;
    const flowUnderTest = example.map((n) => {
      if (n.type === 'eformidling-config') return { ...n, url: sim.url };
      if (n.type === 'eformidling-webhook-in') return { ...n, publicUrl: helper.url() };
      if (n.type === 'eformidling-status' && n.mode === 'feed') return { ...n, interval: '0.1' };
      if (n === handler) return { ...n, wires: [['handled']] };
      return n;
    });
    flowUnderTest.push({ id: 'handled', type: 'helper', z: handler.z });
    await helper.load([configNode, webhookNode, statusNode, captureHttpNode, ...coreNodes], flowUnderTest);
    const handled: Array<Event & { source: string }> = [];
    helper.getNode('handled').on('input', (msg: Event & { source: string }) => handled.push(msg));
    const hookId = String(example.find((n) => n.type === 'eformidling-webhook-in')?.id);
    await waitFor('the example subscription', async () => {
      const found = (await client.listSubscriptions({ size: 2000 })).content.filter((s) => s.name === 'node-red example statuses');
      return found.length === 1 && statusTexts(hookId).some((t) => t.startsWith('subscribed #'));
    });
    const feedId = String(example.find((n) => n.type === 'eformidling-status' && n.mode === 'feed')?.id);
    await waitFor('the feed to start', () => statusTexts(feedId).some((t) => t.startsWith('watching after #')));

    const sent = await sendArkivmelding(client);
    const expected = await waitFor('every status of the message', async () => {
      const statuses = await client.allStatusesOf(sent.messageId);
      return statuses.some((s) => s.status === 'MOTTATT') && statuses.some((s) => s.status === 'INNKOMMENDE_MOTTATT') ? statuses : undefined;
    });
    await waitFor('every status handled', () => handled.filter((m) => m.messageId === sent.messageId).length >= expected.length);
    await sleep(500); // both sources have delivered by now: the feed polls every 0.1 s
    const forMessage = handled.filter((m) => m.messageId === sent.messageId);
    assert.equal(forMessage.length, expected.length, 'each status once, though webhook and feed both deliver it');
    assert.ok(forMessage.some((m) => m.source === 'webhook'), 'the webhook was first for some');
  });
});
