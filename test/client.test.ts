import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { IntegrasjonspunktClient, IntegrasjonspunktError, SaveFileError, USER_AGENT } from '../src/client';
import { ValidationError } from '../src/schemas/format';
import { startSimulator } from '../src/simulator';
import { AVTALT_PROCESS, RECEIVER, SENDER, idOf, receiptSbd, sbdOf, sha256, waitFor, zipDigests } from './support/ip';

type RunningSimulator = Awaited<ReturnType<typeof startSimulator>>;


async function rejectsWith(promise: Promise<unknown>, expected: Partial<Record<keyof IntegrasjonspunktError, unknown>> & { messageMatch?: RegExp }): Promise<IntegrasjonspunktError> {
  const { messageMatch, ...fields } = expected;
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof IntegrasjonspunktError, `expected an IntegrasjonspunktError, got ${caught}`);
  for (const [key, value] of Object.entries(fields)) assert.deepEqual((caught as unknown as Record<string, unknown>)[key], value, `${key} of "${caught.message}"`);
  if (messageMatch) assert.match(caught.message, messageMatch);
  return caught;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('IntegrasjonspunktClient against the simulator', function () {
  this.timeout(30_000);
  let dir: string;
  let sim: RunningSimulator;
  let client: IntegrasjonspunktClient;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-test-'));
    sim = await startSimulator({ port: 0, dataDir: path.join(dir, 'sim'), lockSweepMs: 100, statusDelayMs: 50, statusQueueIncludes: ['DPO'] });
    client = new IntegrasjonspunktClient({ url: sim.url, retryDelayMs: 20 });
  });
  after(async () => {
    await client?.close();
    await sim?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => sim.faults.clear());

  /** Receives one message as RECEIVER: peek (locks) → popToFile → deleteIncoming. */
  async function receive(messageId: string, as = client) {
    const peeked = await waitFor('the message in the inbox', () => as.peek({ messageId }));
    assert.equal(idOf(peeked), messageId);
    const dest = path.join(dir, `${messageId}.asic.zip`);
    const download = await as.popToFile(messageId, dest);
    const deleted = await as.deleteIncoming(messageId);
    assert.equal(idOf(deleted), messageId);
    return { peeked, download, dest };
  }

  describe('capabilities', () => {
    it('lists what a receiver supports, optionally for one process', async () => {
      const all = await client.capabilities(RECEIVER);
      assert.ok(all.capabilities.some((c) => c.process === AVTALT_PROCESS && c.serviceIdentifier === 'DPO'));
      const one = await client.capabilities(RECEIVER, { process: AVTALT_PROCESS, securityLevel: 3 });
      assert.deepEqual(
        one.capabilities.map((c) => c.process),
        [AVTALT_PROCESS],
      );
    });
    it('turns an unknown receiver into a 404 IdentifierNotFoundException', async () => {
      await rejectsWith(client.capabilities('123456785'), {
        status: 404,
        exceptionName: 'IdentifierNotFoundException',
        exception: 'no.difi.meldingsutveksling.exceptions.IdentifierNotFoundException',
        method: 'GET',
        path: '/api/capabilities/123456785',
        messageMatch: /^GET \/api\/capabilities\/123456785 failed: 404 IdentifierNotFoundException: /,
      });
    });
    it('rejects a missing receiver before any request', async () => {
      await assert.rejects(client.capabilities(''), (e: Error) => e instanceof ValidationError && /receiverIdentifier: expected a non-empty string/.test(e.message));
    });
  });

  describe('multipart send', () => {
    it('creates, attaches and sends in one request; the receiver gets the files', async () => {
      const pdf = path.join(dir, 'vedtak.pdf');
      fs.writeFileSync(pdf, Buffer.alloc(200_000, 7));
      const note = 'Notat med æøå';
      const progress: number[] = [];
      const sent = await client.sendMultipart(
        sbdOf(),
        [
          { path: pdf, title: 'Vedtak' },
          { filename: 'Søknad om byggetillatelse.txt', content: note },
          { filename: 'strøm.bin', stream: Readable.from([Buffer.from('abc'), Buffer.from('def')]) },
        ],
        (sentBytes) => progress.push(sentBytes),
      );
      const messageId = idOf(sent);
      assert.ok(progress.length > 0 && progress.every((n, i) => i === 0 || n >= progress[i - 1]));

      const { download, dest } = await receive(messageId);
      assert.ok(download);
      assert.equal(download.path, dest);
      assert.equal(download.size, fs.statSync(dest).size);
      assert.equal(download.sha256, sha256(fs.readFileSync(dest)));
      const entries = await zipDigests(dest);
      assert.equal(entries.get('vedtak.pdf')?.sha256, sha256(fs.readFileSync(pdf)));
      assert.equal(entries.get('Søknad om byggetillatelse.txt')?.sha256, sha256(note));
      assert.equal(entries.get('strøm.bin')?.sha256, sha256('abcdef'));
    });
    it('refuses a file over 5 MiB before sending anything', async () => {
      const sbd = sbdOf();
      await assert.rejects(
        client.sendMultipart(sbd, [{ filename: 'stor.pdf', content: Buffer.alloc(5 * 1024 * 1024 + 1) }]),
        (e: Error) => e instanceof ValidationError && /files\[0\] \(stor\.pdf\).*use the three-step send/.test(e.message),
      );
      await rejectsWith(client.getConversationByMessageId(idOf(sbd)), { status: 404 });
    });
    it('reports the IP refusing a streamed file over 5 MiB as MultipartFileToLargeException', async () => {
      const big = Readable.from((function* () {
        for (let i = 0; i < 6; i++) yield Buffer.alloc(1024 * 1024, i);
      })());
      await rejectsWith(client.sendMultipart(sbdOf(), [{ filename: 'stor.pdf', stream: big }]), {
        status: 400,
        exceptionName: 'MultipartFileToLargeException',
        method: 'POST',
        path: '/api/messages/out/multipart',
      });
    });
    it('rejects an invalid SBD before any request', async () => {
      const sbd = sbdOf();
      sbd.standardBusinessDocumentHeader.documentIdentification.standard = 'urn:no:difi:avtalt:xsd::feil';
      await assert.rejects(client.sendMultipart(sbd, []), (e: Error) => e instanceof ValidationError && /documentIdentification\.standard/.test(e.message));
      await assert.rejects(client.sendMultipart(sbdOf(), 'x' as unknown as []), /files: expected an array/);
    });
  });

  describe('three-step send', () => {
    it('create → PUT each file → send; the message leaves the outbox and reaches the inbox', async () => {
      const created = await client.createMessage(sbdOf());
      const messageId = idOf(created);
      assert.ok(created.standardBusinessDocumentHeader.documentIdentification.creationDateAndTime, 'the IP fills in defaults');

      const fetched = await client.getOutgoing(messageId);
      assert.equal(idOf(fetched), messageId);
      const listed = await client.listOutgoing({ messageId, page: 0, size: 5 });
      assert.deepEqual(listed.content.map(idOf), [messageId]);
      assert.equal(listed.totalElements, 1);

      const pdf = path.join(dir, 'three-step.pdf');
      fs.writeFileSync(pdf, Buffer.alloc(3 * 1024 * 1024 + 11, 3));
      const progress: Array<[number, number | undefined]> = [];
      await client.uploadFile(messageId, { path: pdf, title: 'Vedtak i saken' }, (sentBytes, total) => progress.push([sentBytes, total]));
      assert.deepEqual(progress[progress.length - 1], [fs.statSync(pdf).size, fs.statSync(pdf).size]);
      await client.uploadFile(messageId, { filename: 'Søknad "om" byggetillatelse.pdf', title: 'Søknad', content: Buffer.from('%PDF-1.7 søknad') });
      await client.uploadFile(messageId, { filename: 'vedlegg.txt', stream: Readable.from([Buffer.from('strøm')]), size: Buffer.byteLength('strøm') });
      await client.uploadFile(messageId, { filename: 'chunked.txt', stream: Readable.from([Buffer.from('uten lengde')]) });
      await client.sendMessage(messageId);

      await waitFor('the message to leave the outbox', async () => {
        try {
          await client.getOutgoing(messageId);
          return false;
        } catch (err) {
          return err instanceof IntegrasjonspunktError && err.status === 404;
        }
      });

      const incoming = await waitFor('the message in listIncoming', async () => (await client.listIncoming({ messageId, size: 10 })).content[0]);
      assert.equal(idOf(incoming), messageId);

      const peeked = await client.peek({ messageId });
      assert.ok(peeked);
      const popped = await client.pop(messageId);
      assert.ok(popped);
      assert.match(popped.contentType ?? '', /application\/vnd\.etsi\.asic-e\+zip/);
      const zipPath = path.join(dir, 'streamed.zip');
      await new Promise<void>((resolve, reject) => popped.body.pipe(fs.createWriteStream(zipPath)).on('finish', resolve).on('error', reject));
      const entries = await zipDigests(zipPath);
      assert.equal(entries.get('three-step.pdf')?.sha256, sha256(fs.readFileSync(pdf)));
      assert.equal(entries.get('Søknad "om" byggetillatelse.pdf')?.sha256, sha256('%PDF-1.7 søknad'));
      assert.equal(entries.get('vedlegg.txt')?.sha256, sha256('strøm'));
      assert.equal(entries.get('chunked.txt')?.sha256, sha256('uten lengde'));
      await client.deleteIncoming(messageId);
      await rejectsWith(client.deleteIncoming(messageId), { status: 404, exceptionName: 'MessageNotFoundException', method: 'DELETE', path: `/api/messages/in/${messageId}` });

      const statuses = await waitFor('LEVERT', async () => {
        const all = await client.allStatusesOf(messageId);
        return all.some((s) => s.status === 'LEVERT') && all;
      });
      const ids = statuses.map((s) => s.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'oldest first');
      assert.ok(statuses.some((s) => s.status === 'OPPRETTET'));
    });
    it('deletes an outgoing message', async () => {
      const messageId = idOf(await client.createMessage(sbdOf()));
      await client.deleteOutgoing(messageId);
      await rejectsWith(client.getOutgoing(messageId), {
        status: 404,
        exception: 'no.difi.meldingsutveksling.exceptions.MessageNotFoundException',
        exceptionName: 'MessageNotFoundException',
        ipMessage: `Message with messageId = ${messageId} was not found`,
        method: 'GET',
        path: `/api/messages/out/${messageId}`,
      });
    });
    it('turns IP refusals into IntegrasjonspunktErrors', async () => {
      const sbd = sbdOf();
      const messageId = idOf(await client.createMessage(sbd));
      await rejectsWith(client.createMessage(sbd), {
        status: 400,
        exceptionName: 'MessageAlreadyExistsException',
        ipMessage: `Message with messageId = ${messageId} already exists`,
        method: 'POST',
        path: '/api/messages/out',
        answerLost: false,
        messageMatch: new RegExp(`^POST /api/messages/out failed: 400 MessageAlreadyExistsException: Message with messageId = ${messageId} already exists$`),
      });
      await client.uploadFile(messageId, { filename: 'a.txt', content: 'a' });
      await rejectsWith(client.uploadFile(messageId, { filename: 'a.txt', content: 'b' }), { status: 400, exceptionName: 'DuplicateFilenameException', method: 'PUT' });
      const unknown = randomUUID();
      await rejectsWith(client.uploadFile(unknown, { filename: 'a.txt', content: 'a' }), { status: 404, exceptionName: 'MessageNotFoundException', path: `/api/messages/out/${unknown}` });
      await rejectsWith(client.sendMessage(unknown), { status: 404, method: 'POST' });

      const refused = await rejectsWith(client.createMessage(sbdOf({ process: 'urn:no:difi:profile:arkivmelding:ukjent:ver1.0' })), {
        status: 400,
        exceptionName: 'ReceiverDoesNotAcceptProcessException',
        ipMessage: 'Receiver do not accept the document process urn:no:difi:profile:arkivmelding:ukjent:ver1.0',
      });
      assert.ok(refused.description, 'the description is kept');
      assert.ok(refused.message.includes(refused.description as string));
      assert.equal(refused.body?.status, 400);
    });
  });

  describe('incoming', () => {
    it('answers null from peek when nothing matches, and null from pop for a receipt', async () => {
      assert.equal(await client.peek({ conversationId: randomUUID(), serviceIdentifier: 'DPO' }), null);
      const receipt = receiptSbd();
      const messageId = idOf(await client.sendMultipart(receipt, []));
      await waitFor('the receipt', () => client.peek({ messageId, receiverIdentifier: SENDER }));
      assert.equal(await client.pop(messageId), null);
      assert.equal(await client.popToFile(messageId, path.join(dir, 'receipt.zip')), null);
      assert.equal(fs.existsSync(path.join(dir, 'receipt.zip')), false);
      await client.deleteIncoming(messageId);
    });
    it('needs a lock for pop', async () => {
      const messageId = idOf(await client.sendMultipart(sbdOf(), [{ filename: 'a.txt', content: 'a' }]));
      await waitFor('the message in the inbox', async () => (await client.listIncoming({ messageId })).content.length > 0);
      await rejectsWith(client.pop(messageId), {
        status: 400,
        exceptionName: 'MessageNotLockedException',
        ipMessage: `Message with messageId = ${messageId} was not locked`,
        method: 'GET',
        path: `/api/messages/in/pop/${messageId}`,
      });
      await receive(messageId);
    });
    it('retries a download cut off midway, and leaves nothing behind when it keeps failing', async () => {
      const content = Buffer.alloc(2 * 1024 * 1024, 9);
      const messageId = idOf(await client.sendMultipart(sbdOf(), [{ filename: 'midway.bin', content }]));
      await waitFor('the message', () => client.peek({ messageId }));

      sim.faults.add({ method: 'GET', path: '^/api/messages/in/pop/', drop: 'midway', times: 1 });
      const dest = path.join(dir, 'midway.zip');
      const result = await client.popToFile(messageId, dest);
      assert.ok(result);
      assert.equal((await zipDigests(dest)).get('midway.bin')?.sha256, sha256(content));

      sim.faults.add({ method: 'GET', path: '^/api/messages/in/pop/', drop: 'midway', times: 10 });
      const failed = path.join(dir, 'failed.zip');
      await rejectsWith(client.popToFile(messageId, failed), { status: 0, method: 'GET' });
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('failed.zip')), []);
      sim.faults.clear();
      const nowhere = path.join(dir, 'no-such-dir', 'x.zip');
      await assert.rejects(client.popToFile(messageId, nowhere), (e: Error) => e instanceof SaveFileError && e.message.startsWith(`Cannot write ${nowhere}: ENOENT`));
      await client.deleteIncoming(messageId);
    });
  });

  describe('statuses and conversations', () => {
    let messageId: string;
    before(async () => {
      messageId = idOf(await client.sendMultipart(sbdOf(), [{ filename: 'a.txt', content: 'a' }]));
      await waitFor('SENDT', async () => (await client.allStatusesOf(messageId)).some((s) => s.status === 'SENDT'));
    });

    it('lists and filters statuses', async () => {
      const page = await client.listStatuses({ messageId, sort: 'id,desc', size: 2 });
      assert.ok(page.content.length > 0 && page.content.length <= 2);
      assert.ok(page.content.every((s) => s.messageId === messageId));
      const ids = page.content.map((s) => s.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
      // Both the outgoing and the incoming conversation (the receiver is hosted too) start with OPPRETTET.
      const created = await client.listStatuses({ messageId, status: 'OPPRETTET' });
      assert.ok(created.content.length >= 1);
      assert.ok(created.content.every((s) => s.status === 'OPPRETTET'));
      const one = await client.statusesOf(messageId, { page: 0, size: 1 });
      assert.equal(one.content.length, 1);
      assert.equal((await client.statusesOf(randomUUID())).totalElements, 0);
      await assert.rejects(client.listStatuses({ size: 0 }), /size: expected a page size from 1 to 2000/);
      await assert.rejects(client.listStatuses({ page: -1 }), /page: expected a page number from 0/);
    });
    it('peeks the status queue and deletes from it', async () => {
      const head = await client.peekStatus();
      assert.ok(head, 'the simulator queues DPO statuses');
      assert.equal(await client.deleteStatus(head.id), true);
      assert.equal(await client.deleteStatus(head.id), false);
      const next = await client.peekStatus();
      assert.ok(next && next.id > head.id);
      await assert.rejects(client.deleteStatus(1.5), /id: expected a whole number/);
    });
    it('finds, lists and deletes conversations', async () => {
      const conversation = await client.getConversationByMessageId(messageId);
      assert.equal(conversation.messageId, messageId);
      assert.equal(conversation.direction, 'OUTGOING');
      assert.equal((await client.getConversation(conversation.id)).messageId, messageId);
      const listed = await client.listConversations({ messageId, direction: 'OUTGOING', finished: false, size: 5 });
      assert.deepEqual(
        listed.content.map((c) => c.id),
        [conversation.id],
      );
      const queue = await client.conversationQueue({ size: 2000 });
      assert.ok(Array.isArray(queue.content));

      await client.deleteConversation(conversation.id);
      await rejectsWith(client.getConversation(conversation.id), { status: 404, exceptionName: 'ConversationNotFoundException' });
      await client.deleteConversationByMessageId(messageId);
      assert.equal((await client.listConversations({ messageId })).totalElements, 0);
    });
  });

  describe('subscriptions', () => {
    it('creates, reads, updates and deletes', async () => {
      const pushEndpoint = `${sim.url}/webhook-sink`;
      const created = await client.createSubscription({ name: 'client-test', pushEndpoint, resource: 'messages', event: 'status' });
      assert.equal(typeof created.id, 'number');
      const id = created.id as number;
      assert.equal((await client.getSubscription(id)).name, 'client-test');
      await client.updateSubscription(id, { filter: 'status=LEVERT,FEIL&direction=OUTGOING' });
      assert.equal((await client.getSubscription(id)).filter, 'status=LEVERT,FEIL&direction=OUTGOING');
      const page = await client.listSubscriptions({ page: 0, size: 10 });
      assert.deepEqual(
        page.content.map((s) => s.id),
        [id],
      );
      await rejectsWith(client.createSubscription({ name: 'client-test', pushEndpoint, resource: 'messages', event: 'status' }), {
        status: 400,
        exceptionName: 'SubscriptionWithSameNameAndPushEndpointAlreadyExists',
      });
      await client.deleteSubscription(id);
      await rejectsWith(client.getSubscription(id), { status: 404, exceptionName: 'SubscriptionNotFoundException' });
      await client.createSubscription({ name: 'a', pushEndpoint, resource: 'all', event: 'all' });
      await client.createSubscription({ name: 'b', pushEndpoint, resource: 'all', event: 'all' });
      await client.deleteAllSubscriptions();
      assert.equal((await client.listSubscriptions()).totalElements, 0);
    });
    it('rejects invalid subscriptions before any request', async () => {
      await assert.rejects(
        client.createSubscription({ id: 3, name: 'x', pushEndpoint: 'http://x', resource: 'all', event: 'all' } as never),
        (e: Error) => e instanceof ValidationError && /id: must be absent/.test(e.message),
      );
      await assert.rejects(client.createSubscription({ name: 'x', pushEndpoint: 'not a url', resource: 'all', event: 'all' }), /pushEndpoint: expected a well-formed URL/);
      await assert.rejects(client.updateSubscription(1, { filter: 'colour=red' }), /filter: Must be a valid filter definition/);
    });
  });

  describe('network failures', () => {
    it('says which URL it cannot reach when the connection is refused', async () => {
      const port = await closedPort();
      const offline = new IntegrasjonspunktClient({ url: `http://127.0.0.1:${port}`, retries: 1, retryDelayMs: 10 });
      try {
        await rejectsWith(offline.createMessage(sbdOf()), {
          status: 0,
          code: 'ECONNREFUSED',
          answerLost: false,
          method: 'POST',
          message: `Cannot reach the Integrasjonspunkt at http://127.0.0.1:${port}: connection refused (ECONNREFUSED)`,
        });
        await rejectsWith(offline.peek(), { status: 0, code: 'ECONNREFUSED' });
      } finally {
        await offline.close();
      }
    });
    it('repeats any request that never reached the IP, e.g. a POST while the IP is starting', async () => {
      const port = await closedPort();
      const starting = new IntegrasjonspunktClient({ url: `http://127.0.0.1:${port}`, retries: 4, retryDelayMs: 100 });
      let late: RunningSimulator | undefined;
      try {
        const pending = starting.createMessage(sbdOf());
        await new Promise((r) => setTimeout(r, 150));
        late = await startSimulator({ port, dataDir: path.join(dir, 'late') });
        const created = await pending;
        assert.equal(idOf(await starting.getOutgoing(idOf(created))), idOf(created));
      } finally {
        await starting.close();
        await late?.close();
      }
    });
    it('times out when the IP does not answer in time', async () => {
      const slow = new IntegrasjonspunktClient({ url: sim.url, timeoutMs: 300, retries: 0 });
      try {
        sim.faults.add({ path: '^/api/capabilities/', delayMs: 1500 });
        await rejectsWith(slow.capabilities(RECEIVER), {
          status: 0,
          code: 'UND_ERR_HEADERS_TIMEOUT',
          messageMatch: /GET \/api\/capabilities\/920000008 failed: no answer from the Integrasjonspunkt at http:\/\/127\.0\.0\.1:\d+: no answer within 300 ms/,
        });
      } finally {
        await slow.close();
      }
    });
    it('repeats a GET after a timeout, a 503 or a dropped connection', async () => {
      const slow = new IntegrasjonspunktClient({ url: sim.url, timeoutMs: 300, retries: 1, retryDelayMs: 10 });
      try {
        sim.faults.add({ path: '^/api/capabilities/', delayMs: 1500, times: 1 });
        assert.ok((await slow.capabilities(RECEIVER)).capabilities.length > 0);
      } finally {
        await slow.close();
      }
      sim.faults.add({ method: 'GET', path: '^/api/capabilities/', status: 503, times: 1 });
      assert.ok((await client.capabilities(RECEIVER)).capabilities.length > 0);
      sim.faults.add({ method: 'GET', path: '^/api/capabilities/', drop: 'before', times: 2 });
      assert.ok((await client.capabilities(RECEIVER)).capabilities.length > 0);
      sim.faults.add({ method: 'GET', path: '^/api/capabilities/', status: 503, times: 5 });
      await rejectsWith(client.capabilities(RECEIVER), { status: 503, answerLost: true });
    });
    it('never repeats a POST whose answer was lost, and says so', async () => {
      const sbd = sbdOf();
      sim.faults.add({ method: 'POST', path: '^/api/messages/out$', drop: 'after', times: 1 });
      const lost = await rejectsWith(client.createMessage(sbd), {
        status: 0,
        answerLost: true,
        method: 'POST',
        path: '/api/messages/out',
        messageMatch: /^POST \/api\/messages\/out failed: the answer from the Integrasjonspunkt at .* was lost: .*it may have done the work/,
      });
      assert.ok(lost.code);
      // The IP did it exactly once: the message exists, and a repeat would be a duplicate.
      assert.equal(idOf(await client.getOutgoing(idOf(sbd))), idOf(sbd));
      await rejectsWith(client.createMessage(sbd), { status: 400, exceptionName: 'MessageAlreadyExistsException' });

      const notDone = sbdOf();
      sim.faults.add({ method: 'POST', path: '^/api/messages/out$', drop: 'before', times: 1 });
      await rejectsWith(client.createMessage(notDone), { status: 0, answerLost: true });
      await rejectsWith(client.getOutgoing(idOf(notDone)), { status: 404 });

      const messageId = idOf(await client.createMessage(sbdOf()));
      sim.faults.add({ method: 'PUT', path: '^/api/messages/out/', status: 503, times: 1 });
      await rejectsWith(client.uploadFile(messageId, { filename: 'a.txt', content: 'a' }), { status: 503, answerLost: true, method: 'PUT' });
    });
    it('explains answers that are not the IP\'s, e.g. from a proxy, and sends its User-Agent and credentials', async () => {
      const seen: http.IncomingHttpHeaders[] = [];
      const answers: Record<string, [number, string, string]> = {
        '/api/messages/in/peek': [502, 'text/html', '<html><body>Bad Gateway</body></html>'],
        '/api/capabilities/920000008': [200, 'text/html', '<html>Log in</html>'],
        '/api/conversations/1': [200, 'application/json', '{"foo":1}'],
        '/api/statuses': [404, 'text/plain', ''],
        '/api/subscriptions': [400, 'application/json', '{"message":"no"}'],
      };
      const proxy = http.createServer((req, res) => {
        seen.push(req.headers);
        const [status, type, body] = answers[new URL(req.url ?? '/', 'http://x').pathname] ?? [500, 'text/plain', 'unexpected'];
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const open = new IntegrasjonspunktClient({ url, retries: 0 });
      const withCredentials = new IntegrasjonspunktClient({ url, retries: 0, username: 'efm', password: 'pw' });
      try {
        await rejectsWith(open.peek(), {
          status: 502,
          message: `GET /api/messages/in/peek failed: the server at ${url} answered 502 Bad Gateway with a non-JSON body (text/html); is the URL the Integrasjonspunkt?`,
        });
        await rejectsWith(withCredentials.peek(), { status: 502 });
        assert.equal(seen[0]['user-agent'], USER_AGENT);
        assert.match(USER_AGENT, /^node-red-contrib-eformidling\/\d+\.\d+\.\d+ \(node v\d+/);
        assert.equal(seen[0].authorization, undefined);
        assert.equal(seen[1].authorization, `Basic ${Buffer.from('efm:pw').toString('base64')}`);

        await rejectsWith(open.capabilities(RECEIVER), {
          status: 200,
          code: 'EFM_INVALID_RESPONSE',
          message: `GET /api/capabilities/920000008 failed: the server at ${url} answered 200 with a non-JSON body; is the URL the Integrasjonspunkt?`,
        });
        await rejectsWith(open.getConversation(1), { status: 200, code: 'EFM_INVALID_RESPONSE', messageMatch: /answered 200 with a body that is not what the Integrasjonspunkt sends: Invalid conversation: id: / });
        await rejectsWith(open.listStatuses(), { status: 404, messageMatch: /answered 404 Not Found with an empty body; is the URL the Integrasjonspunkt\?$/ });
        await rejectsWith(open.listSubscriptions(), { status: 400, messageMatch: /answered 400 Bad Request with a JSON body that is not an Integrasjonspunkt error/ });
      } finally {
        await open.close();
        await withCredentials.close();
        await new Promise((r) => proxy.close(r));
      }
    });
    it('lists the field errors of a validation failure', async () => {
      await rejectsWith(client.listConversations({ lastUpdateFrom: 'igår' }), {
        status: 400,
        method: 'GET',
        path: '/api/conversations',
        messageMatch: /^GET \/api\/conversations failed: 400 \w+.*\[lastUpdateFrom: /,
      });
    });
    it('fails requests after close', async () => {
      const closing = new IntegrasjonspunktClient({ url: sim.url });
      await closing.close();
      await closing.close();
      await rejectsWith(closing.capabilities(RECEIVER), { status: 0 });
    });
  });

  describe('TLS', () => {
    let tlsDir: string;
    let pem: (name: string) => string;
    let https: RunningSimulator;
    let mutual: RunningSimulator;
    before(async function () {
      this.timeout(60_000);
      tlsDir = path.join(dir, 'tls');
      fs.mkdirSync(tlsDir);
      const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: tlsDir, stdio: 'pipe' });
      fs.writeFileSync(path.join(tlsDir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Test CA');
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
      openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
      openssl('req', '-newkey', 'rsa:2048', '-passout', 'pass:nøkkel', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=node-red');
      openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2');
      pem = (name) => fs.readFileSync(path.join(tlsDir, name), 'utf8');
      const tls = { key: pem('server.key'), cert: pem('server.crt'), ca: pem('ca.crt') };
      https = await startSimulator({ port: 0, dataDir: path.join(dir, 'https'), tls });
      mutual = await startSimulator({ port: 0, dataDir: path.join(dir, 'mutual'), tls: { ...tls, requestCert: true } });
    });
    after(async () => {
      await https?.close();
      await mutual?.close();
    });

    it('trusts the IP through the given CA', async () => {
      assert.match(https.url, /^https:/);
      const trusting = new IntegrasjonspunktClient({ url: https.url, tls: { ca: pem('ca.crt') } });
      try {
        assert.ok((await trusting.capabilities(RECEIVER)).capabilities.length > 0);
      } finally {
        await trusting.close();
      }
    });
    it('refuses an unknown certificate unless told not to check', async () => {
      const strict = new IntegrasjonspunktClient({ url: https.url, retryDelayMs: 10 });
      const lax = new IntegrasjonspunktClient({ url: https.url, tls: { rejectUnauthorized: false } });
      try {
        const err = await rejectsWith(strict.capabilities(RECEIVER), { status: 0, messageMatch: /^Cannot reach the Integrasjonspunkt at https:\/\/127\.0\.0\.1:\d+: TLS failed: / });
        assert.ok(err.code && /CERT/.test(err.code), err.code);
        assert.ok((await lax.capabilities(RECEIVER)).capabilities.length > 0);
      } finally {
        await strict.close();
        await lax.close();
      }
    });
    it('presents a client certificate with an encrypted key', async () => {
      const withCert = new IntegrasjonspunktClient({ url: mutual.url, tls: { ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key'), passphrase: 'nøkkel' } });
      const without = new IntegrasjonspunktClient({ url: mutual.url, tls: { ca: pem('ca.crt') }, retries: 0 });
      try {
        assert.ok((await withCert.capabilities(RECEIVER)).capabilities.length > 0);
        await rejectsWith(without.capabilities(RECEIVER), { status: 0 });
      } finally {
        await withCert.close();
        await without.close();
      }
    });
  });

  describe('HTTP Basic', () => {
    let secured: RunningSimulator;
    before(async () => {
      secured = await startSimulator({ port: 0, dataDir: path.join(dir, 'secured'), username: 'efm', password: 's3cret!', lockSweepMs: 100, statusDelayMs: 50 });
    });
    after(() => secured?.close());

    it('works with the right credentials, also from the URL', async () => {
      const ok = new IntegrasjonspunktClient({ url: secured.url, username: 'efm', password: 's3cret!' });
      const fromUrl = new IntegrasjonspunktClient({ url: secured.url.replace('http://', 'http://efm:s3cret%21@') });
      try {
        assert.ok((await ok.capabilities(RECEIVER)).capabilities.length > 0);
        assert.ok((await fromUrl.capabilities(RECEIVER)).capabilities.length > 0);
        assert.equal(fromUrl.url, secured.url);
      } finally {
        await ok.close();
        await fromUrl.close();
      }
    });
    it('gives 401 for wrong or missing credentials, without the password in the message', async () => {
      const wrong = new IntegrasjonspunktClient({ url: secured.url, username: 'efm', password: 'wrong-password' });
      const none = new IntegrasjonspunktClient({ url: secured.url });
      try {
        const err = await rejectsWith(wrong.capabilities(RECEIVER), { status: 401, method: 'GET', messageMatch: /401.*check the username and password/ });
        assert.ok(!err.message.includes('wrong-password'));
        assert.ok(!JSON.stringify(err).includes('wrong-password'));
        await rejectsWith(none.peek(), { status: 401 });
        const ok = new IntegrasjonspunktClient({ url: secured.url, username: 'efm', password: 's3cret!' });
        assert.equal(await ok.peekStatus(), null, 'no status queue configured: 204');
        await ok.close();
      } finally {
        await wrong.close();
        await none.close();
      }
    });
  });
});
