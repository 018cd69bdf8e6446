import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { IntegrasjonspunktClient } from '../src/client';
import { startSimulator, type RunningSimulator } from '../src/simulator';
import { readWebhookEvent, type EventBodyResult, type EventRequest } from '../src/nodes/webhook/event-body';
import { normalizePath, pushEndpointUrl } from '../src/nodes/webhook/push-endpoint';
import { readWebhookSettings } from '../src/nodes/webhook/settings';
import { deleteSubscriptionNamed, listAllSubscriptions, syncSubscription } from '../src/nodes/webhook/subscription-sync';
import { generateToken, tokenMatches } from '../src/nodes/webhook/token';
import { STATUS_EVENT } from './status-webhook-support';

describe('webhook token', () => {
  it('generates long, URL-safe, different tokens', () => {
    const a = generateToken();
    const b = generateToken();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
  });

  it('matches only the exact token', () => {
    const token = generateToken();
    assert.equal(tokenMatches(token, token), true);
    assert.equal(tokenMatches(`${token}x`, token), false);
    assert.equal(tokenMatches(token.slice(1), token), false);
    assert.equal(tokenMatches(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, token), false);
    assert.equal(tokenMatches(undefined, token), false);
    assert.equal(tokenMatches([token], token), false);
    assert.equal(tokenMatches('', ''), false, 'an empty token opens nothing');
  });
});

describe('webhook push endpoint and settings', () => {
  it('joins public URL, httpNodeRoot and path, with the token as query parameter', () => {
    assert.equal(pushEndpointUrl('https://nodered.example.no', '/', '/efm/events', 'abc'), 'https://nodered.example.no/efm/events?token=abc');
    assert.equal(pushEndpointUrl('https://nodered.example.no/', undefined, '/efm/events', 'abc'), 'https://nodered.example.no/efm/events?token=abc');
    assert.equal(pushEndpointUrl('https://x.no/proxy/', '/red-api/', '/efm', 'a b'), 'https://x.no/proxy/red-api/efm?token=a%20b');
    assert.equal(pushEndpointUrl('http://localhost:1880', '/', '/efm', 'T'), 'http://localhost:1880/efm?token=T');
  });

  it('rejects a public URL that is not http(s) and paths with parameters, naming the property', () => {
    assert.throws(() => pushEndpointUrl('nodered.example.no', '/', '/efm', 't'), /^Error: publicUrl: expected how the Integrasjonspunkt reaches/);
    assert.throws(() => pushEndpointUrl('ftp://x.no', '/', '/efm', 't'), /publicUrl: expected an http or https URL/);
    assert.throws(() => pushEndpointUrl('https://x.no?a=1', '/', '/efm', 't'), /publicUrl: expected no query/);
    assert.equal(normalizePath('efm/events'), '/efm/events');
    assert.throws(() => normalizePath('/efm/:id'), /path: route parameters/);
    assert.throws(() => normalizePath('/efm?x=1'), /path: expected a plain path/);
  });

  it('reads settings with defaults, and checks resource, event and filter', () => {
    const defaults = readWebhookSettings({});
    assert.deepEqual(defaults, {
      path: '/eformidling/events',
      publicUrl: 'http://localhost:1880',
      subscriptionName: 'node-red /eformidling/events',
      resource: 'all',
      event: 'all',
      filter: '',
      manage: true,
      deleteOnRemove: true,
    });
    const custom = readWebhookSettings({ path: 'in', manage: 'false', deleteOnRemove: false, filter: 'direction=INCOMING&status=INNKOMMENDE_MOTTATT' });
    assert.equal(custom.path, '/in');
    assert.equal(custom.manage, false);
    assert.equal(custom.deleteOnRemove, false);
    assert.throws(() => readWebhookSettings({ resource: 'conversations' }), /resource: expected "all" or "messages"/);
    assert.throws(() => readWebhookSettings({ event: 'ping' }), /event: expected "all" or "status"/);
    assert.throws(() => readWebhookSettings({ filter: 'status>LEVERT' }), /filter: expected key=value/);
  });
});

describe('readWebhookEvent', () => {
  let server: http.Server;
  let url: string;
  /** How the next request's body is handed over: streamed, or already parsed/read like a body parser does. */
  let prepare: (req: EventRequest) => Promise<void> = async () => undefined;
  let lastResult: EventBodyResult | undefined;

  before(async () => {
    server = http.createServer((req: EventRequest, res) => {
      prepare(req)
        .then(() => readWebhookEvent(req, 1024))
        .then((result) => {
          lastResult = result;
          res.statusCode = result.ok ? 200 : result.status;
          res.end();
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function post(body: string | Buffer): Promise<number> {
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    await res.arrayBuffer();
    return res.status;
  }

  async function readAll(req: EventRequest): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it('accepts a status event and a ping from the raw stream', async () => {
    prepare = async () => undefined;
    assert.equal(await post(JSON.stringify(STATUS_EVENT, null, 2)), 200);
    assert.ok(lastResult?.ok);
    assert.equal(lastResult.event.event, 'status');
    assert.equal(await post(JSON.stringify({ createdTs: '2025-06-03T10:00:00.031+02:00', event: 'ping' })), 200);
    assert.ok(lastResult?.ok && (lastResult.event.event as string) === 'ping');
  });

  it('accepts a body already parsed to an object, or read as a string or Buffer', async () => {
    prepare = async (req) => {
      req.body = JSON.parse((await readAll(req)).toString());
      req._body = true;
    };
    assert.equal(await post(JSON.stringify(STATUS_EVENT)), 200);
    prepare = async (req) => {
      req.body = (await readAll(req)).toString();
    };
    assert.equal(await post(JSON.stringify(STATUS_EVENT)), 200);
    prepare = async (req) => {
      req.body = await readAll(req);
    };
    assert.equal(await post(JSON.stringify(STATUS_EVENT)), 200);
    prepare = async () => undefined;
  });

  it('answers 400 with a reason for malformed or invalid events, 413 for big bodies', async () => {
    prepare = async () => undefined;
    assert.equal(await post('{"event": "status",'), 400);
    assert.ok(lastResult && !lastResult.ok);
    assert.match(lastResult.reason, /not JSON/);
    assert.equal(await post(''), 400);
    assert.equal(await post('[1,2]'), 400);
    assert.equal(await post(JSON.stringify({ ...STATUS_EVENT, status: 'DONE' })), 400);
    assert.ok(lastResult && !lastResult.ok);
    assert.match(lastResult.reason, /^Invalid webhook event: status: /);
    assert.equal(await post(JSON.stringify({ event: 'other', createdTs: STATUS_EVENT.createdTs })), 400);
    assert.equal(await post(JSON.stringify({ ...STATUS_EVENT, description: 'x'.repeat(2000) })), 413);
  });
});

describe('subscription sync against the simulator', function () {
  this.timeout(20_000);
  let sim: RunningSimulator;
  let client: IntegrasjonspunktClient;
  let receiver: http.Server;
  let endpoint: string;
  let pings = 0;
  let tmp: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-logic-'));
    sim = await startSimulator({ port: 0, dataDir: path.join(tmp, 'sim'), statusDelayMs: 20 });
    client = new IntegrasjonspunktClient({ url: sim.url });
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        pings++;
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/efm`;
  });

  after(async () => {
    await client?.close();
    await sim?.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const named = async (name: string) => (await listAllSubscriptions(client)).filter((s) => s.name === name);

  it('creates once, then finds the same subscription instead of duplicating it', async () => {
    const desired = { name: 'sync-a', pushEndpoint: `${endpoint}?token=1`, resource: 'all' as const, event: 'all' as const };
    const first = await syncSubscription(client, desired);
    assert.equal(first.action, 'created');
    assert.ok(pings >= 1, 'the IP pinged the endpoint');
    for (let i = 0; i < 3; i++) assert.equal((await syncSubscription(client, desired)).action, 'unchanged');
    assert.equal((await named('sync-a')).length, 1);
  });

  it('updates changed fields in place, and recreates when the filter must go', async () => {
    const base = { name: 'sync-b', pushEndpoint: `${endpoint}?token=1`, resource: 'all' as const, event: 'all' as const };
    const created = await syncSubscription(client, { ...base, filter: 'direction=INCOMING' });
    const updated = await syncSubscription(client, { ...base, pushEndpoint: `${endpoint}?token=2`, event: 'status', filter: 'status=LEVERT' });
    assert.equal(updated.action, 'updated');
    assert.equal(updated.subscription.id, created.subscription.id);
    const [stored] = await named('sync-b');
    assert.deepEqual([stored.pushEndpoint, stored.event, stored.filter], [`${endpoint}?token=2`, 'status', 'status=LEVERT']);

    const recreated = await syncSubscription(client, { ...base, pushEndpoint: `${endpoint}?token=2`, event: 'status', filter: '' });
    assert.equal(recreated.action, 'recreated');
    const after = await named('sync-b');
    assert.equal(after.length, 1);
    assert.equal(after[0].filter, undefined);
  });

  it('deletes duplicates with the same name, and deletes by name', async () => {
    await client.createSubscription({ name: 'sync-c', pushEndpoint: `${endpoint}?token=old`, resource: 'all', event: 'all' });
    await client.createSubscription({ name: 'sync-c', pushEndpoint: `${endpoint}?token=new`, resource: 'all', event: 'all' });
    const result = await syncSubscription(client, { name: 'sync-c', pushEndpoint: `${endpoint}?token=new`, resource: 'all', event: 'all' });
    assert.equal(result.action, 'unchanged');
    assert.equal(result.removedDuplicates.length, 1);
    assert.deepEqual((await named('sync-c')).map((s) => s.pushEndpoint), [`${endpoint}?token=new`]);
    assert.equal((await deleteSubscriptionNamed(client, 'sync-c')).length, 1);
    assert.deepEqual(await named('sync-c'), []);
  });

  it('lists every page', async () => {
    for (let i = 0; i < 105; i++) await client.createSubscription({ name: `many-${i}`, pushEndpoint: `${endpoint}?n=${i}`, resource: 'all', event: 'all' });
    const all = await listAllSubscriptions(client);
    assert.equal(all.filter((s) => s.name.startsWith('many-')).length, 105);
  });
});
