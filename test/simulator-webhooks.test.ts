import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PingEvent, StatusEvent } from '../src/schemas/webhook';
import { SimulatorError, offsetDateTime } from '../src/simulator/errors';
import { Webhooks } from '../src/simulator/webhooks';

interface Received {
  path: string;
  contentType?: string;
  raw: string;
  body: Record<string, unknown>;
}

/** A local endpoint that records every POST and answers with `status`. */
class Receiver {
  readonly received: Received[] = [];
  status = 200;
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      this.received.push({ path: req.url ?? '', contentType: req.headers['content-type'], raw, body: JSON.parse(raw) as Record<string, unknown> });
      res.writeHead(this.status).end();
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Waits until `count` requests have arrived (pushes are fire-and-forget). */
  async waitFor(count: number, ms = 2000): Promise<Received[]> {
    const until = Date.now() + ms;
    while (this.received.length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    return this.received;
  }

  bodiesAt(p: string): Record<string, unknown>[] {
    return this.received.filter((r) => r.path === p).map((r) => r.body);
  }
}

function statusEvent(overrides: Partial<StatusEvent> = {}): StatusEvent {
  return {
    createdTs: offsetDateTime(),
    resource: 'messages',
    event: 'status',
    messageId: 'a41c7b0e-2f6d-4b83-9c15-e8d0a6f3b271',
    conversationId: '7d2e9f14-0b5a-4c6e-a8d3-1f9b7c4e2a60',
    direction: 'INCOMING',
    serviceIdentifier: 'DPO',
    status: 'INNKOMMENDE_MOTTATT',
    description: 'Mottatt',
    ...overrides,
  };
}

async function rejection(p: Promise<unknown>): Promise<SimulatorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SimulatorError, `expected a SimulatorError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

function syncError(fn: () => unknown): SimulatorError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SimulatorError);
    return err;
  }
  assert.fail('expected an error');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('simulator webhooks', () => {
  let dir: string;
  let receiver: Receiver;
  let hooks: Webhooks;
  const logs: string[] = [];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-webhooks-'));
    receiver = new Receiver();
    await receiver.start();
    logs.length = 0;
    hooks = new Webhooks({ file: path.join(dir, 'subscriptions.json'), timeoutMs: 1000, log: (l) => logs.push(l) });
    await hooks.load();
  });

  afterEach(async () => {
    await hooks.close();
    await receiver.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('pings the endpoint on create and returns the stored subscription with rising ids', async () => {
    const first = await hooks.create({ name: 'inbox', pushEndpoint: `${receiver.url}/a`, resource: 'messages', event: 'status', filter: 'direction=INCOMING' });
    assert.deepEqual(first, { id: 1, name: 'inbox', pushEndpoint: `${receiver.url}/a`, resource: 'messages', event: 'status', filter: 'direction=INCOMING' });
    // The ping was sent before create returned.
    assert.equal(receiver.received.length, 1);
    const ping = receiver.received[0];
    assert.equal(ping.path, '/a');
    assert.equal(ping.contentType, 'application/json');
    PingEvent.parse(ping.body);
    assert.deepEqual(Object.keys(ping.body), ['createdTs', 'event']);
    assert.equal(ping.body.event, 'ping');

    const second = await hooks.create({ name: 'all', pushEndpoint: `${receiver.url}/b`, resource: 'all', event: 'all' });
    assert.equal(second.id, 2);
    assert.equal('filter' in second, false);
    assert.deepEqual(hooks.get(2), second);
  });

  it('publishes a status event with every field, pretty-printed, once to every matching subscription', async () => {
    await hooks.create({ name: 'in', pushEndpoint: `${receiver.url}/in`, resource: 'messages', event: 'status', filter: 'direction=INCOMING' });
    await hooks.create({ name: 'all', pushEndpoint: `${receiver.url}/all`, resource: 'all', event: 'all' });
    await hooks.create({ name: 'feil', pushEndpoint: `${receiver.url}/feil`, resource: 'all', event: 'status', filter: 'status=FEIL,LEVETID_UTLOPT&serviceIdentifier=DPO,DPI' });
    receiver.received.length = 0;

    const event = statusEvent();
    hooks.publish(event);
    await receiver.waitFor(2);
    await sleep(50);
    assert.deepEqual(receiver.bodiesAt('/in'), [event]);
    assert.deepEqual(receiver.bodiesAt('/all'), [event]);
    assert.deepEqual(receiver.bodiesAt('/feil'), []);
    const raw = receiver.received[0].raw;
    assert.match(raw, /\n {2}"messageId": /, 'pretty-printed');
    StatusEvent.parse(receiver.received[0].body);

    receiver.received.length = 0;
    hooks.publish(statusEvent({ direction: 'OUTGOING', status: 'feil' as StatusEvent['status'], serviceIdentifier: 'DPI' }));
    await receiver.waitFor(2);
    await sleep(50);
    assert.equal(receiver.bodiesAt('/in').length, 0);
    assert.equal(receiver.bodiesAt('/all').length, 1);
    assert.equal(receiver.bodiesAt('/feil').length, 1, 'filter values compare case-insensitively');

    receiver.received.length = 0;
    hooks.publish(statusEvent({ direction: 'OUTGOING', status: 'FEIL', serviceIdentifier: 'DPV' }));
    await receiver.waitFor(1);
    await sleep(50);
    assert.equal(receiver.bodiesAt('/feil').length, 0, 'every filter part must match');
  });

  it('rejects invalid subscriptions with a constraint violation naming each field', async () => {
    const err = await rejection(hooks.create({ pushEndpoint: 'not a url', resource: 'files', event: 'status', filter: 'status>FEIL' }));
    assert.equal(err.status, 400);
    assert.equal(err.exception, 'jakarta.validation.ConstraintViolationException');
    const byField = Object.fromEntries((err.errors ?? []).map((e) => [e.field, e]));
    assert.deepEqual(Object.keys(byField).sort(), ['filter', 'name', 'pushEndpoint', 'resource']);
    assert.equal(byField.filter.defaultMessage, 'Must be a valid filter definition.');
    assert.equal(byField.filter.rejectedValue, 'status>FEIL');
    assert.equal(byField.name.code, 'NotNull');
    assert.equal(byField.pushEndpoint.objectName, 'subscription');
    assert.match(err.message, /filter: Must be a valid filter definition\./);

    for (const filter of ['', 'foo=bar', 'status', 'Status=FEIL', 'status=FEIL&&direction=INCOMING']) {
      const e = await rejection(hooks.create({ name: 'x', pushEndpoint: receiver.url, resource: 'all', event: 'all', filter }));
      assert.equal(e.errors?.[0].field, 'filter', `filter "${filter}"`);
    }
    const withId = await rejection(hooks.create({ id: 5, name: 'x', pushEndpoint: receiver.url, resource: 'all', event: 'all' }));
    assert.equal(withId.errors?.[0].field, 'id');
    assert.equal(receiver.received.length, 0, 'nothing is pinged for an invalid subscription');
    assert.equal(hooks.list().totalElements, 0);
  });

  it('refuses a second subscription with the same name and push endpoint', async () => {
    await hooks.create({ name: 'same', pushEndpoint: receiver.url, resource: 'all', event: 'all' });
    const err = await rejection(hooks.create({ name: 'same', pushEndpoint: receiver.url, resource: 'messages', event: 'status' }));
    assert.equal(err.status, 400);
    assert.equal(err.exception, 'no.difi.meldingsutveksling.exceptions.SubscriptionWithSameNameAndPushEndpointAlreadyExists');
    assert.equal(err.message, 'Subscription with same name and push endpoint already exists.');
    // Same name to another endpoint is fine.
    await hooks.create({ name: 'same', pushEndpoint: `${receiver.url}/other`, resource: 'all', event: 'all' });
    assert.equal(hooks.list().totalElements, 2);
  });

  it('answers 404 SubscriptionNotFoundException for unknown ids', async () => {
    for (const fn of [() => hooks.get(42), () => hooks.delete(42)]) {
      const err = syncError(fn);
      assert.equal(err.status, 404);
      assert.equal(err.exception, 'no.difi.meldingsutveksling.exceptions.SubscriptionNotFoundException');
      assert.equal(err.message, 'Subscription with id = 42 was not found');
    }
    assert.equal((await rejection(hooks.update(42, { name: 'x' }))).status, 404);
  });

  it('updates only the fields given and pings a changed endpoint', async () => {
    const s = await hooks.create({ name: 'n', pushEndpoint: `${receiver.url}/one`, resource: 'all', event: 'all', filter: 'status=FEIL' });
    receiver.received.length = 0;
    await hooks.update(s.id!, { name: 'renamed', filter: null });
    assert.deepEqual(hooks.get(s.id!), { ...s, name: 'renamed' });
    assert.equal(receiver.received.length, 0, 'unchanged endpoint is not pinged');

    await hooks.update(s.id!, { pushEndpoint: `${receiver.url}/two`, event: 'status' });
    assert.deepEqual(receiver.received.map((r) => [r.path, r.body.event]), [['/two', 'ping']]);
    assert.deepEqual(hooks.get(s.id!), { ...s, name: 'renamed', pushEndpoint: `${receiver.url}/two`, event: 'status' });

    const empty = await rejection(hooks.update(s.id!, { filter: '' }));
    assert.equal(empty.errors?.[0].defaultMessage, 'Must be a valid filter definition.');
    assert.equal(hooks.get(s.id!).filter, 'status=FEIL');

    const other = await hooks.create({ name: 'other', pushEndpoint: `${receiver.url}/two`, resource: 'all', event: 'all' });
    const clash = await rejection(hooks.update(other.id!, { name: 'renamed' }));
    assert.equal(clash.exception, 'no.difi.meldingsutveksling.exceptions.SubscriptionWithSameNameAndPushEndpointAlreadyExists');
  });

  it('keeps subscriptions across a restart and never reuses ids', async () => {
    await hooks.create({ name: 'a', pushEndpoint: receiver.url, resource: 'all', event: 'all' });
    const b = await hooks.create({ name: 'b', pushEndpoint: receiver.url, resource: 'messages', event: 'status', filter: 'direction=OUTGOING' });
    hooks.delete(1);

    const again = new Webhooks({ file: path.join(dir, 'subscriptions.json'), timeoutMs: 1000 });
    await again.load();
    assert.deepEqual(again.list().content, [b]);
    const c = await again.create({ name: 'c', pushEndpoint: receiver.url, resource: 'all', event: 'all' });
    assert.equal(c.id, 3);
    again.deleteAll();
    await again.close();

    const third = new Webhooks({ file: path.join(dir, 'subscriptions.json'), timeoutMs: 1000 });
    await third.load();
    assert.equal(third.list().totalElements, 0);
    await third.close();
  });

  it('lists in pages', async () => {
    for (const name of ['a', 'b', 'c']) await hooks.create({ name, pushEndpoint: receiver.url, resource: 'all', event: 'all' });
    const page = hooks.list({ page: 1, size: 2 });
    assert.deepEqual(page.content.map((s) => s.name), ['c']);
    assert.equal(page.totalPages, 2);
    assert.deepEqual(hooks.list({ sort: 'name,desc' }).content.map((s) => s.name), ['c', 'b', 'a']);
  });

  it('creates the subscription even when the ping fails, and does not retry failed pushes', async () => {
    receiver.status = 500;
    const s = await hooks.create({ name: 'fails', pushEndpoint: receiver.url, resource: 'all', event: 'all' });
    assert.equal(s.id, 1);
    assert.equal(receiver.received.length, 1);
    hooks.publish(statusEvent());
    await receiver.waitFor(2);
    await sleep(300);
    assert.equal(receiver.received.length, 2, 'one push, no retry');
    assert.ok(logs.some((l) => /answered 500/.test(l)), logs.join('\n'));

    // An endpoint nobody listens on: creation still succeeds, the failure is only logged.
    const closed = new Receiver();
    await closed.start();
    const deadUrl = closed.url;
    await closed.stop();
    const dead = await hooks.create({ name: 'dead', pushEndpoint: deadUrl, resource: 'all', event: 'all' });
    assert.equal(dead.id, 2);
    assert.ok(logs.some((l) => l.includes(deadUrl) && /failed/.test(l)));
  });

  it('gives up on an endpoint that does not answer within the timeout, and close() ends pushes under way', async () => {
    const hanging = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/slow`;
    try {
      const started = Date.now();
      await hooks.create({ name: 'slow', pushEndpoint: url, resource: 'all', event: 'all' });
      const took = Date.now() - started;
      assert.ok(took >= 900 && took < 3000, `create took ${took} ms with a 1000 ms timeout`);

      hooks.publish(statusEvent());
      await sleep(50);
      const closing = Date.now();
      await hooks.close();
      assert.ok(Date.now() - closing < 500, 'close aborts the hanging push');
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});
