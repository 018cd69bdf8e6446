import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import * as yauzl from 'yauzl';
import { startSimulator } from '../src/simulator';
import type { RunningSimulator, SimulatorOptions } from '../src/simulator';

const EXCEPTIONS = 'no.difi.meldingsutveksling.exceptions.';
const ADMIN = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';
const RESPONSE = 'urn:no:difi:profile:arkivmelding:response:ver1.0';
const ARKIVMELDING = 'urn:no:difi:arkivmelding:xsd::arkivmelding';
const KVITTERING = 'urn:no:difi:arkivmelding:xsd::arkivmelding_kvittering';
const A = '910000009';
const B = '920000008';
const DPV_ORG = '930000007';
const DPO_REMOTE = '940000006';
const DPE_ORG = '950000005';
const PERSON = '01017012345';
const VEDTAK = 'urn:no:difi:profile:digitalpost:vedtak:ver1.0';

const REGISTRY = {
  receivers: [
    { identifier: DPV_ORG, capabilities: [{ process: ADMIN, serviceIdentifier: 'DPV' as const, documentTypes: [{ type: 'arkivmelding', standard: ARKIVMELDING }] }] },
    { identifier: DPO_REMOTE, capabilities: [{ process: ADMIN, serviceIdentifier: 'DPO' as const, documentTypes: [{ type: 'arkivmelding', standard: ARKIVMELDING }] }] },
    {
      identifier: DPE_ORG,
      capabilities: [
        {
          process: 'urn:no:difi:profile:einnsyn:innsynskrav:ver1.0',
          serviceIdentifier: 'DPE' as const,
          documentTypes: [{ type: 'innsynskrav', standard: 'urn:no:difi:einnsyn:xsd::innsynskrav' }],
        },
      ],
    },
    {
      identifier: PERSON,
      capabilities: [
        {
          process: VEDTAK,
          serviceIdentifier: 'DPI' as const,
          documentTypes: [{ type: 'digital', standard: 'urn:no:difi:digitalpost:xsd:digital::digital' }],
        },
      ],
    },
  ],
};

// ------------------------------------------------------------------ helpers

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function call(
  sim: { url: string },
  method: string,
  path: string,
  options: { json?: unknown; body?: Buffer | string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await request(sim.url + path, { method: method as 'GET', headers, body });
  const buffer = Buffer.from(await res.body.arrayBuffer());
  let json;
  try {
    json = buffer.length ? JSON.parse(buffer.toString('utf8')) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, body: buffer, json };
}

function assertError(answer: Answer, status: number, exception: string | undefined, message?: string | RegExp, path?: string): void {
  assert.equal(answer.status, status, `expected ${status}, got ${answer.status}: ${answer.body.toString()}`);
  const body = answer.json;
  assert.ok(body, 'expected a JSON error body');
  assert.match(body.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/);
  assert.equal(body.status, status);
  assert.equal(typeof body.error, 'string');
  if (exception !== undefined) assert.equal(body.exception, exception.includes('.') ? exception : EXCEPTIONS + exception);
  if (typeof message === 'string') assert.equal(body.message, message);
  else if (message) assert.match(body.message, message);
  if (path !== undefined) assert.equal(body.path, path);
}

interface SbdOptions {
  sender?: string;
  receiver?: string;
  type?: string;
  standard?: string;
  process?: string;
  messageId?: string;
  conversationId?: string;
  ttl?: string;
  body?: Record<string, unknown>;
}

function sbd(o: SbdOptions = {}): Record<string, unknown> {
  const type = o.type ?? 'arkivmelding';
  const party = (id: string) => [{ identifier: { value: /^\d{9}$/.test(id) ? `0192:${id}` : id, authority: 'iso6523-actorid-upis' } }];
  return {
    standardBusinessDocumentHeader: {
      headerVersion: '1.0',
      ...(o.sender ? { sender: party(o.sender) } : {}),
      receiver: party(o.receiver ?? B),
      documentIdentification: {
        standard: o.standard ?? `urn:no:difi:arkivmelding:xsd::${type}`,
        typeVersion: '2.0',
        ...(o.messageId ? { instanceIdentifier: o.messageId } : {}),
        type,
      },
      businessScope: {
        scope: [
          {
            type: 'ConversationId',
            identifier: o.process ?? ADMIN,
            ...(o.conversationId ? { instanceIdentifier: o.conversationId } : {}),
            ...(o.ttl ? { scopeInformation: [{ expectedResponseDateTime: o.ttl }] } : {}),
          },
        ],
      },
    },
    [type]: o.body ?? { hoveddokument: 'vedtak.pdf' },
  };
}

function arkivmeldingXml(files: string[], title = 'Vedtak om tilskudd'): string {
  const docs = files
    .map((f, i) => `<dokumentbeskrivelse><dokumentnummer>${i + 1}</dokumentnummer><dokumentobjekt><referanseDokumentfil>${f}</referanseDokumentfil></dokumentobjekt></dokumentbeskrivelse>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?><arkivmelding xmlns="http://www.arkivverket.no/standarder/noark5/arkivmelding" ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><mappe xsi:type="saksmappe"><systemID>sak-42</systemID><tittel>Sak</tittel>' +
    `<basisregistrering xsi:type="journalpost"><systemID>jp-1</systemID>${docs}<tittel>${title}</tittel>` +
    `<offentligTittel>${title} &amp; mer</offentligTittel><journalpostnummer>4</journalpostnummer></basisregistrering></mappe></arkivmelding>`
  );
}

async function create(sim: { url: string }, o: SbdOptions = {}): Promise<{ messageId: string; conversationId: string; sbd: any }> {
  const answer = await call(sim, 'POST', '/api/messages/out', { json: sbd(o) });
  assert.equal(answer.status, 200, answer.body.toString());
  const header = answer.json.standardBusinessDocumentHeader;
  return { messageId: header.documentIdentification.instanceIdentifier, conversationId: header.businessScope.scope[0].instanceIdentifier, sbd: answer.json };
}

async function upload(sim: { url: string }, messageId: string, filename: string, content: Buffer | string, extra: Record<string, string> = {}): Promise<Answer> {
  return call(sim, 'PUT', `/api/messages/out/${messageId}`, {
    body: content,
    headers: { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="${filename}"`, ...extra },
  });
}

/** create → arkivmelding.xml + files → send, A → receiver */
async function sendArkivmelding(sim: { url: string }, o: SbdOptions = {}, files: Record<string, Buffer> = { 'vedtak.pdf': Buffer.from('%PDF vedtak') }) {
  const created = await create(sim, o);
  assert.equal((await upload(sim, created.messageId, 'arkivmelding.xml', arkivmeldingXml(Object.keys(files)))).status, 200);
  for (const [name, content] of Object.entries(files)) assert.equal((await upload(sim, created.messageId, name, content)).status, 200);
  const sent = await call(sim, 'POST', `/api/messages/out/${created.messageId}`);
  assert.equal(sent.status, 200, sent.body.toString());
  return created;
}

async function statusesOf(sim: { url: string }, messageId: string): Promise<Array<{ id: number; status: string; description?: string; convId: number }>> {
  return (await call(sim, 'GET', `/api/statuses/${messageId}?size=100`)).json.content;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 4000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function waitForStatus(sim: { url: string }, messageId: string, status: string, direction?: 'OUTGOING' | 'INCOMING') {
  return waitFor(`${status} on ${messageId}`, async () => {
    const convs = (await call(sim, 'GET', `/api/conversations?messageId=${messageId}${direction ? `&direction=${direction}` : ''}`)).json.content;
    return convs.some((c: any) => c.messageStatuses.some((s: any) => s.status === status)) ? convs : undefined;
  });
}

async function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, file) => {
      if (err) return reject(err);
      file.on('error', reject);
      file.on('end', resolve);
      file.on('entry', (entry: yauzl.Entry) => {
        file.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            file.readEntry();
          });
        });
      });
      file.readEntry();
    });
  });
  return entries;
}

function multipartBody(parts: Array<{ name: string; filename?: string; type?: string; content: Buffer | string }>): { body: Buffer; type: string } {
  const boundary = `----sim${randomUUID()}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}\r\n`;
    if (p.type) head += `Content-Type: ${p.type}\r\n`;
    chunks.push(Buffer.from(head + '\r\n'), Buffer.from(p.content), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

/** Deletes every message in the inbox that can be locked, so tests see few of each other's. */
async function drainInbox(sim: RunningSimulator): Promise<void> {
  const list = (await call(sim, 'GET', '/api/messages/in?size=2000')).json.content;
  for (const m of list) {
    const id = m.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier;
    if ((await call(sim, 'GET', `/api/messages/in/peek?messageId=${id}`)).status === 200) await call(sim, 'DELETE', `/api/messages/in/${id}`);
  }
}

/** Starts the CLI (via tsx) and resolves once it prints its URL. */
function startCli(args: string[]): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const cli = join(__dirname, '..', 'src', 'simulator', 'cli.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const m = /^listening on (http:\/\/\S+)$/m.exec(output);
      if (m) resolve({ child, url: m[1], exited });
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) => reject(new Error(`the CLI exited with ${code}: ${output}`)));
  });
}

// ------------------------------------------------------------------ tests

describe('simulator conformance (IP REST contract)', function () {
  this.timeout(15000);
  const dirs: string[] = [];
  let sim: RunningSimulator;
  const options: SimulatorOptions = { port: 0, lockTimeoutSeconds: 1, lockSweepMs: 100, statusDelayMs: 20, registry: REGISTRY };

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'sim-conformance-'));
    dirs.push(dir);
    return dir;
  }

  before(async () => {
    sim = await startSimulator({ ...options, dataDir: tempDir() });
  });
  after(async () => {
    await sim.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  afterEach(async () => {
    sim.faults.clear();
    await drainInbox(sim);
  });

  describe('routing and the error body', () => {
    it('answers an unknown path with 404 and the full IP error body', async () => {
      const answer = await call(sim, 'GET', '/api/nothing?x=1');
      assertError(answer, 404, 'org.springframework.web.servlet.resource.NoResourceFoundException', 'No static resource api/nothing.', '/api/nothing');
      assert.equal(answer.json.error, 'Not Found');
      assert.equal(answer.headers['content-type'], 'application/json');
    });

    it('answers a wrong method on a known path with 405, an Allow header and the error body', async () => {
      const answer = await call(sim, 'PATCH', '/api/messages/out');
      assertError(answer, 405, 'org.springframework.web.HttpRequestMethodNotSupportedException', "Request method 'PATCH' is not supported");
      assert.match(String(answer.headers.allow), /GET/);
      assert.match(String(answer.headers.allow), /POST/);
    });

    it('does not match trailing slashes', async () => {
      assertError(await call(sim, 'GET', '/api/messages/out/'), 404, 'org.springframework.web.servlet.resource.NoResourceFoundException');
      assertError(await call(sim, 'GET', '/api/statuses/'), 404, undefined);
    });

    it('answers 415 for a create that is not JSON', async () => {
      const answer = await call(sim, 'POST', '/api/messages/out', { body: 'x', headers: { 'content-type': 'text/plain' } });
      assertError(answer, 415, 'org.springframework.web.HttpMediaTypeNotSupportedException', "Content-Type 'text/plain' is not supported");
    });

    it('adds a trace on ?trace=true', async () => {
      const answer = await call(sim, 'GET', `/api/messages/out/${randomUUID()}?trace=true`);
      assert.equal(answer.status, 404);
      assert.ok(Array.isArray(answer.json.trace));
    });
  });

  describe('create (§5, §6.2)', () => {
    it('fills in the defaults: sender, messageId, creationDateAndTime, expectedResponseDateTime (+24 h), scope UUIDs', async () => {
      const input = sbd();
      (input.standardBusinessDocumentHeader as any).businessScope.scope.push({ type: 'SenderRef' });
      const answer = await call(sim, 'POST', '/api/messages/out', { json: input });
      assert.equal(answer.status, 200);
      const h = answer.json.standardBusinessDocumentHeader;
      assert.deepEqual(h.sender, [{ identifier: { value: `0192:${A}`, authority: 'iso6523-actorid-upis' } }]);
      assert.match(h.documentIdentification.instanceIdentifier, /^[0-9a-f-]{36}$/);
      assert.ok(Math.abs(Date.parse(h.documentIdentification.creationDateAndTime) - Date.now()) < 5000);
      const ttl = Date.parse(h.businessScope.scope[0].scopeInformation[0].expectedResponseDateTime);
      assert.ok(Math.abs(ttl - (Date.now() + 24 * 3600 * 1000)) < 5000);
      assert.match(h.businessScope.scope[0].instanceIdentifier, /^[0-9a-f-]{36}$/);
      assert.match(h.businessScope.scope[1].instanceIdentifier, /^[0-9a-f-]{36}$/);
      assert.deepEqual(answer.json.arkivmelding, { hoveddokument: 'vedtak.pdf' });
      assert.deepEqual(Object.keys(answer.json), ['standardBusinessDocumentHeader', 'arkivmelding']);
    });

    it('registers an outgoing conversation with OPPRETTET, messageReference = conversationId', async () => {
      const { messageId, conversationId } = await create(sim);
      const conv = (await call(sim, 'GET', `/api/conversations/messageId/${messageId}`)).json;
      assert.equal(conv.direction, 'OUTGOING');
      assert.equal(conv.serviceIdentifier, 'DPO');
      assert.equal(conv.sender, `0192:${A}`);
      assert.equal(conv.senderIdentifier, A);
      assert.equal(conv.receiverIdentifier, B);
      assert.equal(conv.messageReference, conversationId);
      assert.equal(conv.finished, false);
      assert.equal(conv.pollable, undefined);
      assert.deepEqual(conv.messageStatuses.map((s: any) => s.status), ['OPPRETTET']);
    });

    it('answers 500 for a broken envelope on POST /api/messages/out', async () => {
      const input = sbd();
      input.extra = {};
      assertError(await call(sim, 'POST', '/api/messages/out', { json: input }), 500, 'java.lang.IllegalArgumentException', /exactly two top-level members/);
    });

    it('answers malformed JSON with 400 HttpMessageNotReadableException', async () => {
      const answer = await call(sim, 'POST', '/api/messages/out', { body: '{"standard', headers: { 'content-type': 'application/json' } });
      assertError(answer, 400, 'org.springframework.http.converter.HttpMessageNotReadableException');
    });

    it('answers bean-validation failures with 400 MethodArgumentNotValidException and errors[] naming the field', async () => {
      const input = sbd({ messageId: 'not-a-uuid' });
      const answer = await call(sim, 'POST', '/api/messages/out', { json: input });
      assertError(answer, 400, 'org.springframework.web.bind.MethodArgumentNotValidException');
      assert.equal(answer.json.errors[0].field, 'standardBusinessDocumentHeader.documentIdentification.instanceIdentifier');
      assert.equal(answer.json.errors[0].rejectedValue, 'not-a-uuid');
      assert.equal(answer.json.errors[0].objectName, 'standardBusinessDocument');
    });

    it('rejects an expectedResponseDateTime in the past (@Future)', async () => {
      const answer = await call(sim, 'POST', '/api/messages/out', { json: sbd({ ttl: new Date(Date.now() - 1000).toISOString() }) });
      assertError(answer, 400, 'org.springframework.web.bind.MethodArgumentNotValidException');
      assert.equal(answer.json.errors[0].code, 'Future');
    });

    it('rejects a used messageId with 400 MessageAlreadyExistsException', async () => {
      const { messageId } = await create(sim);
      const answer = await call(sim, 'POST', '/api/messages/out', { json: sbd({ messageId }) });
      assertError(answer, 400, 'MessageAlreadyExistsException', `Message with messageId = ${messageId} already exists`);
    });

    it('rejects a standard that does not end with ::<type> (MessageTypeDoesNotFitDocumentTypeException)', async () => {
      const answer = await call(sim, 'POST', '/api/messages/out', { json: sbd({ standard: 'urn:no:difi:arkivmelding:xsd::vedtak' }) });
      assertError(answer, 400, 'MessageTypeDoesNotFitDocumentTypeException', 'Message type arkivmelding does not match the document type urn:no:difi:arkivmelding:xsd::vedtak');
    });

    it('rejects a process the receiver does not accept (ReceiverDoesNotAcceptProcessException with description)', async () => {
      const answer = await call(sim, 'POST', '/api/messages/out', { json: sbd({ process: 'urn:no:difi:profile:arkivmelding:ukjent:ver1.0' }) });
      assertError(answer, 400, 'ReceiverDoesNotAcceptProcessException', 'Receiver do not accept the document process urn:no:difi:profile:arkivmelding:ukjent:ver1.0');
      assert.equal(typeof answer.json.description, 'string');
    });

    it('answers 404 MessageNotFoundException for an unknown outgoing message; DELETE of one is 200', async () => {
      const id = randomUUID();
      assertError(await call(sim, 'GET', `/api/messages/out/${id}`), 404, 'MessageNotFoundException', `Message with messageId = ${id} was not found`, `/api/messages/out/${id}`);
      assertError(await call(sim, 'POST', `/api/messages/out/${id}`), 404, 'MessageNotFoundException');
      const deleted = await call(sim, 'DELETE', `/api/messages/out/${id}`);
      assert.equal(deleted.status, 200);
      assert.equal(deleted.body.length, 0);
    });

    it('lists outgoing messages as a Spring page (size 10 by default) filtered by processIdentifier', async () => {
      for (let i = 0; i < 11; i++) await create(sim, { process: 'urn:no:difi:profile:arkivmelding:planByggOgGeodata:ver1.0' });
      const page = (await call(sim, 'GET', '/api/messages/out?processIdentifier=urn:no:difi:profile:arkivmelding:planByggOgGeodata:ver1.0')).json;
      assert.equal(page.size, 10);
      assert.equal(page.content.length, 10);
      assert.equal(page.totalElements, 11);
      assert.equal(page.totalPages, 2);
      assert.equal(page.first, true);
      assert.equal(page.last, false);
      assert.equal(page.numberOfElements, 10);
      assert.equal(page.empty, false);
      assert.equal(page.number, 0);
      assert.ok(page.pageable && page.sort);
      assert.ok(page.content[0].standardBusinessDocumentHeader);
      const second = (await call(sim, 'GET', '/api/messages/out?processIdentifier=urn:no:difi:profile:arkivmelding:planByggOgGeodata:ver1.0&page=1')).json;
      assert.equal(second.content.length, 1);
      assert.equal(second.last, true);
    });
  });

  describe('upload (§6.3)', () => {
    it('needs Content-Type and Content-Disposition headers (400)', async () => {
      const { messageId } = await create(sim);
      const noDisposition = await call(sim, 'PUT', `/api/messages/out/${messageId}`, { body: 'x', headers: { 'content-type': 'application/pdf' } });
      assertError(noDisposition, 400, 'org.springframework.web.bind.MissingRequestHeaderException', /Content-Disposition/);
      const noType = await call(sim, 'PUT', `/api/messages/out/${messageId}`, { body: 'x', headers: { 'content-disposition': 'attachment; filename="a.pdf"' } });
      assertError(noType, 400, 'org.springframework.web.bind.MissingRequestHeaderException', /Content-Type/);
    });

    it('answers 404 for an upload to an unknown message', async () => {
      assertError(await upload(sim, randomUUID(), 'a.pdf', 'x'), 404, 'MessageNotFoundException');
    });

    it('rejects a second file with the same name (DuplicateFilenameException)', async () => {
      const { messageId } = await create(sim);
      assert.equal((await upload(sim, messageId, 'vedlegg.pdf', 'one')).status, 200);
      assertError(await upload(sim, messageId, 'vedlegg.pdf', 'two'), 400, 'DuplicateFilenameException', 'Filename already exists in message: vedlegg.pdf.');
    });

    it('reads filename*=UTF-8\'\' names and puts them into the ASiC unchanged', async () => {
      const created = await create(sim);
      await upload(sim, created.messageId, 'arkivmelding.xml', arkivmeldingXml(['vedtak.pdf', 'søknad æøå.pdf']));
      await upload(sim, created.messageId, 'vedtak.pdf', 'primary');
      const answer = await call(sim, 'PUT', `/api/messages/out/${created.messageId}?title=Søknad`, {
        body: 'søknad',
        headers: { 'content-type': 'application/pdf', 'content-disposition': `attachment; name="ignored"; filename*=UTF-8''${encodeURIComponent('søknad æøå.pdf')}` },
      });
      assert.equal(answer.status, 200);
      assert.equal((await call(sim, 'POST', `/api/messages/out/${created.messageId}`)).status, 200);
      await waitForStatus(sim, created.messageId, 'INNKOMMENDE_MOTTATT');
      await call(sim, 'GET', `/api/messages/in/peek?messageId=${created.messageId}`);
      const zip = await call(sim, 'GET', `/api/messages/in/pop/${created.messageId}`);
      const entries = await unzip(zip.body);
      assert.equal(entries.get('søknad æøå.pdf')?.toString(), 'søknad');
      await call(sim, 'DELETE', `/api/messages/in/${created.messageId}`);
    });

    it('rejects files whose combined size passes the service limit (DPE 2 MB: MaxFileSizeExceededException)', async () => {
      const { messageId } = await create(sim, {
        receiver: DPE_ORG,
        type: 'innsynskrav',
        standard: 'urn:no:difi:einnsyn:xsd::innsynskrav',
        process: 'urn:no:difi:profile:einnsyn:innsynskrav:ver1.0',
        body: { orgnr: DPE_ORG, epost: 'a@example.no' },
      });
      assert.equal((await upload(sim, messageId, 'a.pdf', randomBytes(1024 * 1024))).status, 200);
      const answer = await upload(sim, messageId, 'b.pdf', randomBytes(1024 * 1024 + 1));
      assertError(
        answer,
        400,
        'MaxFileSizeExceededException',
        'The combined file size for all attachments (2MB) exceeds the maximum allowed upload size for the target service (DPE, 2MB)',
      );
    });

    it('takes a per-service limit like difi.move.dpo.upload-size-limit (uploadSizeLimits)', async () => {
      const small = await startSimulator({ ...options, dataDir: tempDir(), uploadSizeLimits: { DPO: 1000 } });
      try {
        const { messageId } = await create(small);
        assert.equal((await upload(small, messageId, 'a.pdf', randomBytes(1000))).status, 200);
        assertError(await upload(small, messageId, 'b.pdf', randomBytes(1)), 400, 'MaxFileSizeExceededException', /\(DPO, 1000b\)/);
      } finally {
        await small.close();
      }
    });

    it('takes messageTitle and messageReference from an uploaded arkivmelding.xml', async () => {
      const { messageId } = await create(sim);
      await upload(sim, messageId, 'arkivmelding.xml', arkivmeldingXml(['vedtak.pdf']));
      const conv = (await call(sim, 'GET', `/api/conversations/messageId/${messageId}`)).json;
      assert.equal(conv.messageTitle, 'Vedtak om tilskudd & mer');
      assert.equal(conv.messageReference, 'sak-42-4');
    });
  });

  describe('send checks (§6.4)', () => {
    it('needs at least one file (MissingFileException)', async () => {
      const { messageId } = await create(sim);
      assertError(await call(sim, 'POST', `/api/messages/out/${messageId}`), 400, 'MissingFileException', 'There must always be at least one attachment');
    });

    it('needs arkivmelding.xml for arkivmelding (MissingArkivmeldingException)', async () => {
      const { messageId } = await create(sim);
      await upload(sim, messageId, 'vedtak.pdf', 'x');
      assertError(await call(sim, 'POST', `/api/messages/out/${messageId}`), 400, 'MissingArkivmeldingException', 'DPO message type requires arkivmelding.xml attachment');
    });

    it('needs every file arkivmelding.xml refers to (MissingArkivmeldingFileException)', async () => {
      const { messageId } = await create(sim);
      await upload(sim, messageId, 'arkivmelding.xml', arkivmeldingXml(['vedtak.pdf', 'vedlegg.pdf']));
      await upload(sim, messageId, 'vedtak.pdf', 'x');
      assertError(await call(sim, 'POST', `/api/messages/out/${messageId}`), 400, 'MissingArkivmeldingFileException', /vedlegg\.pdf/);
    });

    it('needs the primary document for DPI (MissingPrimaryDocumentException)', async () => {
      const { messageId } = await create(sim, {
        receiver: PERSON,
        type: 'digital',
        standard: 'urn:no:difi:digitalpost:xsd:digital::digital',
        process: VEDTAK,
        body: { hoveddokument: 'brev.pdf', sikkerhetsnivaa: 4, tittel: 'Svar', spraak: 'no', digitalPostInfo: { virkningsdato: '2030-01-01', aapningskvittering: false } },
      });
      assert.equal((await upload(sim, messageId, 'vedlegg.pdf', 'x', { 'content-disposition': 'attachment; name="Vedlegg"; filename="vedlegg.pdf"' })).status, 200);
      assertError(await call(sim, 'POST', `/api/messages/out/${messageId}`), 400, 'MissingPrimaryDocumentException');
    });

    it('answers TimeToLiveException and registers LEVETID_UTLOPT when the TTL has passed', async () => {
      const ttl = new Date(Date.now() + 400).toISOString();
      const { messageId } = await create(sim, { ttl });
      await upload(sim, messageId, 'arkivmelding.xml', arkivmeldingXml(['vedtak.pdf']));
      await upload(sim, messageId, 'vedtak.pdf', 'x');
      await new Promise((r) => setTimeout(r, 500));
      const answer = await call(sim, 'POST', `/api/messages/out/${messageId}`);
      assertError(answer, 400, 'TimeToLiveException', `ExpectedResponseDateTime ${ttl} has been exceeded. Please resend the message`);
      const statuses = (await statusesOf(sim, messageId)).map((s) => s.status);
      assert.deepEqual(statuses, ['OPPRETTET', 'LEVETID_UTLOPT']);
    });
  });

  describe('lifecycle between hosted organisations', () => {
    it('sends: SENDT, record deleted, ASiC in the receiver inbox (byte-identical files), MOTTATT; DELETE gives INNKOMMENDE_LEVERT and LEVERT', async () => {
      const files = { 'vedtak.pdf': randomBytes(300_000), 'vedlegg.txt': Buffer.from('vedlegg æøå') };
      const { messageId } = await sendArkivmelding(sim, {}, files);
      await waitForStatus(sim, messageId, 'MOTTATT', 'OUTGOING');
      assertError(await call(sim, 'GET', `/api/messages/out/${messageId}`), 404, 'MessageNotFoundException');

      const peek = await call(sim, 'GET', `/api/messages/in/peek?receiverIdentifier=${B}&messageId=${messageId}`);
      assert.equal(peek.status, 200);
      assert.equal(peek.json.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier, messageId);
      const pop = await call(sim, 'GET', `/api/messages/in/pop/${messageId}`);
      assert.equal(pop.status, 200);
      assert.equal(pop.headers['content-type'], 'application/vnd.etsi.asic-e+zip');
      assert.equal(pop.headers['content-disposition'], 'attachment; filename=asic.zip');
      const entries = await unzip(pop.body);
      assert.deepEqual(entries.get('vedtak.pdf'), files['vedtak.pdf']);
      assert.deepEqual(entries.get('vedlegg.txt'), files['vedlegg.txt']);
      assert.ok(entries.has('arkivmelding.xml'));

      const deleted = await call(sim, 'DELETE', `/api/messages/in/${messageId}`);
      assert.equal(deleted.status, 200);
      assert.equal(deleted.json.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier, messageId);
      assertError(await call(sim, 'DELETE', `/api/messages/in/${messageId}`), 404, 'MessageNotFoundException');

      const outgoing = (await call(sim, 'GET', `/api/conversations/messageId/${messageId}`)).json;
      assert.deepEqual(outgoing.messageStatuses.map((s: any) => s.status), ['OPPRETTET', 'SENDT', 'MOTTATT', 'LEVERT']);
      assert.equal(outgoing.finished, true);
      const incoming = (await call(sim, 'GET', `/api/conversations?messageId=${messageId}&direction=INCOMING`)).json.content[0];
      assert.deepEqual(incoming.messageStatuses.map((s: any) => s.status), ['OPPRETTET', 'INNKOMMENDE_MOTTATT', 'INNKOMMENDE_LEVERT']);
      assert.equal(incoming.receiver, `0192:${B}`);

      const all = await statusesOf(sim, messageId);
      const ids = all.map((s) => s.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      assert.equal(new Set(ids).size, ids.length);
    });

    it('registers LEST on the original message for an OK arkivmelding_kvittering, and the receipt pops as 204', async () => {
      const { messageId, conversationId } = await sendArkivmelding(sim);
      await waitForStatus(sim, messageId, 'INNKOMMENDE_MOTTATT');
      const receipt = await create(sim, {
        sender: B,
        receiver: A,
        type: 'arkivmelding_kvittering',
        process: RESPONSE,
        standard: KVITTERING,
        conversationId,
        body: { receiptType: 'OK', relatedToMessageId: messageId, messages: [] },
      });
      assert.equal((await call(sim, 'POST', `/api/messages/out/${receipt.messageId}`)).status, 200);
      const convs = await waitForStatus(sim, messageId, 'LEST', 'OUTGOING');
      const lest = convs[0].messageStatuses.find((s: any) => s.status === 'LEST');
      assert.equal(lest.description, 'ArkivmeldingKvittering: OK');
      const raw = (await statusesOf(sim, messageId)).find((s: any) => s.status === 'LEST') as any;
      assert.equal(JSON.parse(raw.rawReceipt).receiptType, 'OK');

      await waitForStatus(sim, receipt.messageId, 'INNKOMMENDE_MOTTATT');
      const peek = await call(sim, 'GET', `/api/messages/in/peek?receiverIdentifier=${A}`);
      assert.equal(peek.json.standardBusinessDocumentHeader.documentIdentification.type, 'arkivmelding_kvittering');
      const pop = await call(sim, 'GET', `/api/messages/in/pop/${receipt.messageId}`);
      assert.equal(pop.status, 204);
      assert.equal(pop.body.length, 0);
      assert.equal((await call(sim, 'DELETE', `/api/messages/in/${receipt.messageId}`)).status, 200, 'receipts are deleted like any message');
    });

    it('registers FEIL for an ERROR arkivmelding_kvittering', async () => {
      const { messageId } = await sendArkivmelding(sim);
      await waitForStatus(sim, messageId, 'INNKOMMENDE_MOTTATT');
      const form = multipartBody([
        {
          name: 'sbd',
          type: 'application/json',
          content: JSON.stringify(
            sbd({ sender: B, receiver: A, type: 'arkivmelding_kvittering', process: RESPONSE, standard: KVITTERING, body: { receiptType: 'ERROR', relatedToMessageId: messageId } }),
          ),
        },
      ]);
      const answer = await call(sim, 'POST', '/api/messages/out/multipart', { body: form.body, headers: { 'content-type': form.type } });
      assert.equal(answer.status, 200, answer.body.toString());
      const convs = await waitForStatus(sim, messageId, 'FEIL', 'OUTGOING');
      assert.equal(convs[0].finished, true);
    });

    it('consumes incoming status messages: they register on the original message and never reach the inbox', async () => {
      const { messageId } = await sendArkivmelding(sim);
      await waitForStatus(sim, messageId, 'INNKOMMENDE_MOTTATT');
      const status = await create(sim, {
        sender: B,
        receiver: A,
        type: 'status',
        process: RESPONSE,
        standard: 'urn:no:difi:arkivmelding:xsd::status',
        messageId,
        body: { status: 'ANNET' },
      });
      assert.equal(status.messageId, messageId);
      assert.equal((await call(sim, 'POST', `/api/messages/out/${messageId}`)).status, 200);
      await waitForStatus(sim, messageId, 'ANNET', 'OUTGOING');
      const inbox = (await call(sim, 'GET', `/api/messages/in?messageId=${messageId}`)).json.content;
      assert.deepEqual(inbox.map((m: any) => m.standardBusinessDocumentHeader.documentIdentification.type), ['arkivmelding']);
    });
  });

  describe('receivers outside the simulator', () => {
    it('advances DPO SENDT → MOTTATT → LEVERT on a timer', async () => {
      const { messageId } = await sendArkivmelding(sim, { receiver: DPO_REMOTE });
      await waitForStatus(sim, messageId, 'LEVERT');
      assert.deepEqual((await statusesOf(sim, messageId)).map((s) => s.status), ['OPPRETTET', 'SENDT', 'MOTTATT', 'LEVERT']);
    });

    it('advances DPV SENDT → LEVERT and lists it in /api/conversations/queue while pollable', async () => {
      const created = await create(sim, { receiver: DPV_ORG });
      await upload(sim, created.messageId, 'arkivmelding.xml', arkivmeldingXml(['vedtak.pdf']), { 'content-disposition': 'attachment; name="Arkivmelding"; filename="arkivmelding.xml"' });
      const noTitle = await upload(sim, created.messageId, 'vedtak.pdf', 'x');
      assertError(noTitle, 400, 'MissingFileTitleException', 'Title is required for the following capabilities: DPV');
      await upload(sim, created.messageId, 'vedtak.pdf', 'x', { 'content-disposition': 'attachment; name="Vedtak"; filename="vedtak.pdf"' });
      assert.equal((await call(sim, 'POST', `/api/messages/out/${created.messageId}`)).status, 200);
      await waitForStatus(sim, created.messageId, 'LEVERT');
      assert.deepEqual((await statusesOf(sim, created.messageId)).map((s) => s.status), ['OPPRETTET', 'SENDT', 'LEVERT']);
      const queue = (await call(sim, 'GET', '/api/conversations/queue?size=2000')).json;
      assert.ok(queue.content.some((c: any) => c.messageId === created.messageId), 'DPV keeps polling after LEVERT (for LEST)');
    });
  });

  describe('inbox (§7)', () => {
    async function deliverTo(receiver: string, process = ADMIN): Promise<string> {
      const { messageId } = await sendArkivmelding(sim, { receiver, sender: receiver === A ? B : A, process });
      await waitForStatus(sim, messageId, 'INNKOMMENDE_MOTTATT');
      return messageId;
    }

    it('never gives the same message to two of 20 concurrent peeks', async () => {
      const process = 'urn:no:difi:profile:arkivmelding:kulturIdrettOgFritid:ver1.0';
      const ids = await Promise.all([1, 2, 3, 4, 5].map(() => deliverTo(B, process)));
      const answers = await Promise.all(Array.from({ length: 20 }, () => call(sim, 'GET', `/api/messages/in/peek?process=${process}`)));
      const got = answers.filter((a) => a.status === 200).map((a) => a.json.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier);
      assert.equal(got.length, 5);
      assert.deepEqual([...got].sort(), [...ids].sort());
      for (const a of answers.filter((x) => x.status !== 200)) {
        assert.equal(a.status, 204);
        assert.equal(a.body.length, 0);
      }
    });

    it('peeks the oldest first and filters by serviceIdentifier, process, sender and receiver', async () => {
      const first = await deliverTo(B);
      const second = await deliverTo(A);
      assert.equal((await call(sim, 'GET', `/api/messages/in/peek?serviceIdentifier=DPE`)).status, 204);
      assert.equal((await call(sim, 'GET', `/api/messages/in/peek?process=${RESPONSE}`)).status, 204);
      const bySender = await call(sim, 'GET', `/api/messages/in/peek?senderIdentifier=${B}`);
      assert.equal(bySender.json.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier, second);
      const oldest = await call(sim, 'GET', `/api/messages/in/peek?serviceIdentifier=DPO&process=${ADMIN}`);
      assert.equal(oldest.json.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier, first);
    });

    it('answers an unknown serviceIdentifier filter with 500', async () => {
      assertError(await call(sim, 'GET', '/api/messages/in/peek?serviceIdentifier=XYZ'), 500, 'java.lang.IllegalArgumentException');
    });

    it('lists incoming messages without locking them', async () => {
      const id = await deliverTo(B);
      const list = (await call(sim, 'GET', `/api/messages/in?messageId=${id}`)).json;
      assert.equal(list.totalElements, 1);
      assertError(await call(sim, 'GET', `/api/messages/in/pop/${id}`), 400, 'MessageNotLockedException', `Message with messageId = ${id} was not locked`);
      assertError(await call(sim, 'DELETE', `/api/messages/in/${id}`), 400, 'MessageNotLockedException');
      assert.equal((await call(sim, 'GET', `/api/messages/in/peek?messageId=${id}`)).status, 200);
      await call(sim, 'DELETE', `/api/messages/in/${id}`);
    });

    it('answers 404 for pop of an unknown message', async () => {
      const id = randomUUID();
      assertError(await call(sim, 'GET', `/api/messages/in/pop/${id}`), 404, 'MessageNotFoundException', `Message with messageId = ${id} was not found`);
    });

    it('pops repeatedly while locked, and the lock expires (peekable again, pop 400)', async () => {
      const id = await deliverTo(B);
      assert.equal((await call(sim, 'GET', `/api/messages/in/peek?messageId=${id}`)).status, 200);
      assert.equal((await call(sim, 'GET', `/api/messages/in/peek?messageId=${id}`)).status, 204, 'a locked message is not peeked again');
      const one = await call(sim, 'GET', `/api/messages/in/pop/${id}`);
      const two = await call(sim, 'GET', `/api/messages/in/pop/${id}`);
      assert.deepEqual(one.body, two.body);
      await new Promise((r) => setTimeout(r, 1300));
      assertError(await call(sim, 'GET', `/api/messages/in/pop/${id}`), 400, 'MessageNotLockedException');
      assert.equal((await call(sim, 'GET', `/api/messages/in/peek?messageId=${id}`)).status, 200);
      await call(sim, 'DELETE', `/api/messages/in/${id}`);
    });

    it('removes an incoming message whose expectedResponseDateTime passes, with LEVETID_UTLOPT', async () => {
      const { messageId } = await sendArkivmelding(sim, { ttl: new Date(Date.now() + 800).toISOString() });
      await waitForStatus(sim, messageId, 'INNKOMMENDE_MOTTATT');
      const convs = await waitForStatus(sim, messageId, 'LEVETID_UTLOPT', 'INCOMING');
      assert.equal(convs[0].finished, true);
      assert.equal((await call(sim, 'GET', `/api/messages/in?messageId=${messageId}`)).json.totalElements, 0);
      assert.equal((await call(sim, 'GET', `/api/messages/in/peek?messageId=${messageId}`)).status, 204);
    });
  });

  describe('statuses and conversations (§8)', () => {
    it('answers an unknown messageId with an empty page, and filters GET /api/statuses', async () => {
      const empty = (await call(sim, 'GET', `/api/statuses/${randomUUID()}`)).json;
      assert.deepEqual(empty.content, []);
      assert.equal(empty.totalElements, 0);
      const { messageId, conversationId } = await create(sim);
      const byStatus = (await call(sim, 'GET', `/api/statuses?status=OPPRETTET&conversationId=${conversationId}`)).json;
      assert.equal(byStatus.totalElements, 1);
      assert.equal(byStatus.content[0].messageId, messageId);
      assert.equal(typeof byStatus.content[0].convId, 'number');
      const from = encodeURIComponent(new Date(Date.now() - 60_000).toISOString());
      const to = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
      assert.equal((await call(sim, 'GET', `/api/statuses?messageId=${messageId}&fromDateTime=${from}&toDateTime=${to}`)).json.totalElements, 1);
      const past = encodeURIComponent(new Date(Date.now() - 30_000).toISOString());
      assert.equal((await call(sim, 'GET', `/api/statuses?messageId=${messageId}&fromDateTime=${from}&toDateTime=${past}`)).json.totalElements, 0);
      assert.equal((await call(sim, 'GET', `/api/statuses?messageId=${messageId}&fromDateTime=${past}`)).json.totalElements, 1, 'one bound alone is ignored');
      const bad = await call(sim, 'GET', '/api/statuses?id=abc');
      assertError(bad, 400, 'org.springframework.web.bind.MethodArgumentNotValidException');
      assert.equal(bad.json.errors[0].field, 'id');
    });

    it('sorts statuses by id ascending by default', async () => {
      const page = (await call(sim, 'GET', '/api/statuses?size=50')).json;
      const ids = page.content.map((s: any) => s.id);
      assert.deepEqual(ids, [...ids].sort((a: number, b: number) => a - b));
      const desc = (await call(sim, 'GET', '/api/statuses?size=5&sort=id,desc')).json.content.map((s: any) => s.id);
      assert.deepEqual(desc, [...desc].sort((a: number, b: number) => b - a));
    });

    it('has an empty status queue unless configured: peek 204, DELETE 404', async () => {
      const peek = await call(sim, 'GET', '/api/statuses/peek');
      assert.equal(peek.status, 204);
      assert.equal(peek.body.length, 0);
      assert.equal((await call(sim, 'DELETE', '/api/statuses/1')).status, 404);
      assertError(await call(sim, 'DELETE', '/api/statuses/abc'), 400, 'org.springframework.web.method.annotation.MethodArgumentTypeMismatchException');
    });

    it('queues statuses of the services in statusQueueIncludes, oldest first, until deleted', async () => {
      const queued = await startSimulator({ ...options, dataDir: tempDir(), statusQueueIncludes: ['DPO'] });
      try {
        const { messageId } = await create(queued);
        const peek = await call(queued, 'GET', '/api/statuses/peek');
        assert.equal(peek.json.status, 'OPPRETTET');
        assert.equal(peek.json.messageId, messageId);
        assert.equal((await call(queued, 'GET', '/api/statuses/peek')).json.id, peek.json.id, 'peek does not remove');
        assert.equal((await call(queued, 'DELETE', `/api/statuses/${peek.json.id}`)).status, 200);
        assert.equal((await call(queued, 'GET', '/api/statuses/peek')).status, 204);
      } finally {
        await queued.close();
      }
    });

    it('gets conversations by id and messageId for outgoing ones only (404 otherwise)', async () => {
      const { messageId } = await sendArkivmelding(sim);
      await waitForStatus(sim, messageId, 'INNKOMMENDE_MOTTATT');
      const incoming = (await call(sim, 'GET', `/api/conversations?messageId=${messageId}&direction=INCOMING`)).json.content[0];
      assertError(await call(sim, 'GET', `/api/conversations/${incoming.id}`), 404, 'ConversationNotFoundException', `Conversation with id = ${incoming.id} was not found`);
      const outgoing = (await call(sim, 'GET', `/api/conversations/messageId/${messageId}`)).json;
      assert.equal((await call(sim, 'GET', `/api/conversations/${outgoing.id}`)).json.messageId, messageId);
      const unknown = randomUUID();
      assertError(await call(sim, 'GET', `/api/conversations/messageId/${unknown}`), 404, 'MessageNotFoundException', `Message with messageId = ${unknown} was not found`);
      assertError(await call(sim, 'GET', '/api/conversations/abc'), 400, 'org.springframework.web.method.annotation.MethodArgumentTypeMismatchException');
    });

    it('sorts conversations by lastUpdate descending by default and filters them', async () => {
      const older = await create(sim);
      await new Promise((r) => setTimeout(r, 5));
      const newer = await create(sim);
      const page = (await call(sim, 'GET', '/api/conversations?direction=OUTGOING&finished=false&size=2000')).json;
      const ids = page.content.map((c: any) => c.messageId);
      assert.ok(ids.indexOf(newer.messageId) < ids.indexOf(older.messageId));
      const today = new Date();
      const day = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
      const filtered = (await call(sim, 'GET', `/api/conversations?messageId=${older.messageId}&lastUpdateFrom=${day}&lastUpdateTo=${day}&receiverIdentifier=${B}`)).json;
      assert.equal(filtered.totalElements, 1);
      assertError(await call(sim, 'GET', '/api/conversations?pollable=maybe'), 400, 'org.springframework.web.bind.MethodArgumentNotValidException');
      assertError(await call(sim, 'GET', '/api/conversations?serviceIdentifier=XYZ'), 500, 'java.lang.IllegalArgumentException');
    });

    it('deletes conversations by id and by messageId (200 also when nothing matched)', async () => {
      const { messageId } = await create(sim);
      assert.equal((await call(sim, 'DELETE', `/api/conversations/messageId/${messageId}`)).status, 200);
      assertError(await call(sim, 'GET', `/api/conversations/messageId/${messageId}`), 404, 'MessageNotFoundException');
      assert.deepEqual((await call(sim, 'GET', `/api/statuses/${messageId}`)).json.content, []);
      assert.equal((await call(sim, 'DELETE', '/api/conversations/999999')).status, 200);
      assert.equal((await call(sim, 'DELETE', `/api/conversations/messageId/${randomUUID()}`)).status, 200);
    });
  });

  describe('multipart (§6.5)', () => {
    async function multipart(files: Array<{ name: string; filename: string; content: Buffer | string }>, withSbd = true) {
      const created = sbd();
      const form = multipartBody([...(withSbd ? [{ name: 'sbd', type: 'application/json', content: JSON.stringify(created) }] : []), ...files]);
      return call(sim, 'POST', '/api/messages/out/multipart', { body: form.body, headers: { 'content-type': form.type } });
    }

    it('creates and sends in one request, accepting a file of exactly 5242880 bytes', async () => {
      const big = randomBytes(5242880);
      const answer = await multipart([
        { name: 'Arkivmelding', filename: 'arkivmelding.xml', content: arkivmeldingXml(['vedtak.pdf']) },
        { name: 'Vedtak', filename: 'vedtak.pdf', content: big },
      ]);
      assert.equal(answer.status, 200, answer.body.toString());
      const messageId = answer.json.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier;
      await waitForStatus(sim, messageId, 'INNKOMMENDE_MOTTATT');
      await call(sim, 'GET', `/api/messages/in/peek?messageId=${messageId}`);
      const entries = await unzip((await call(sim, 'GET', `/api/messages/in/pop/${messageId}`)).body);
      assert.deepEqual(entries.get('vedtak.pdf'), big);
    });

    it('rejects a file part of 5242881 bytes (MultipartFileToLargeException) and creates nothing', async () => {
      const before = (await call(sim, 'GET', '/api/messages/out')).json.totalElements;
      const answer = await multipart([{ name: 'Vedtak', filename: 'vedtak.pdf', content: randomBytes(5242881) }]);
      assertError(
        answer,
        400,
        'MultipartFileToLargeException',
        "The attachment named 'vedtak.pdf' is too large. The maximum size for multipart requests is 5,242,880 bytes. Please use the non-multipart API to avoid such problems.",
      );
      assert.equal((await call(sim, 'GET', '/api/messages/out')).json.totalElements, before);
    });

    it('rejects duplicate filenames across parts and a missing sbd part', async () => {
      const dup = await multipart([
        { name: 'A', filename: 'a.pdf', content: 'a' },
        { name: 'B', filename: 'a.pdf', content: 'b' },
      ]);
      assertError(dup, 400, 'DuplicateFilenameException', 'Filename already exists in message: a.pdf, a.pdf.');
      assertError(await multipart([{ name: 'A', filename: 'a.pdf', content: 'a' }], false), 400, 'org.springframework.web.bind.MissingServletRequestParameterException');
    });

    it('answers 400 (not 500) for a broken envelope in the sbd part', async () => {
      const form = multipartBody([{ name: 'sbd', type: 'application/json', content: JSON.stringify({ ...sbd(), extra: 1 }) }]);
      const answer = await call(sim, 'POST', '/api/messages/out/multipart', { body: form.body, headers: { 'content-type': form.type } });
      assertError(answer, 400, 'org.springframework.web.method.annotation.MethodArgumentTypeMismatchException');
    });

    it('leaves the message created when only the send check fails', async () => {
      const answer = await multipart([{ name: 'Vedtak', filename: 'vedtak.pdf', content: 'x' }]);
      assertError(answer, 400, 'MissingArkivmeldingException');
    });
  });

  describe('persistence', () => {
    it('keeps messages, locks, statuses and conversations across close() and restart, and tolerates a torn status line', async () => {
      const dataDir = tempDir();
      let first: RunningSimulator | undefined = await startSimulator({ ...options, dataDir, lockTimeoutSeconds: 60 });
      let second: RunningSimulator | undefined;
      try {
        const draft = await create(first);
        await upload(first, draft.messageId, 'vedlegg.pdf', 'kladd');
        const delivered = await sendArkivmelding(first);
        await waitForStatus(first, delivered.messageId, 'MOTTATT', 'OUTGOING');
        assert.equal((await call(first, 'GET', `/api/messages/in/peek?messageId=${delivered.messageId}`)).status, 200);
        const statusesBefore = await statusesOf(first, delivered.messageId);
        await first.close();
        first = undefined;
        appendFileSync(join(dataDir, 'statuses.jsonl'), '{"id":99999,"convId":1,"sta');

        second = await startSimulator({ ...options, dataDir, lockTimeoutSeconds: 60 });
        assert.equal((await call(second, 'GET', `/api/messages/out/${draft.messageId}`)).status, 200);
        assert.deepEqual(await statusesOf(second, delivered.messageId), statusesBefore);
        assert.equal((await call(second, 'GET', `/api/messages/in/peek?messageId=${delivered.messageId}`)).status, 204, 'still locked');
        const pop = await call(second, 'GET', `/api/messages/in/pop/${delivered.messageId}`);
        assert.deepEqual((await unzip(pop.body)).get('vedtak.pdf')?.toString(), '%PDF vedtak');
        assert.equal((await call(second, 'DELETE', `/api/messages/in/${delivered.messageId}`)).status, 200);
        const after = await statusesOf(second, delivered.messageId);
        assert.ok(after[after.length - 1].id > Math.max(...statusesBefore.map((s) => s.id)), 'status ids keep rising after a restart');
        assert.ok(after.some((s) => s.status === 'LEVERT'));
      } finally {
        await first?.close();
        await second?.close();
      }
    });
  });

  describe('CLI', () => {
    it('prints "listening on", keeps its state through kill -9, and stops on SIGTERM with exit code 0', async () => {
      const dataDir = tempDir();
      const args = ['--port', '0', '--data-dir', dataDir, '--status-delay', '10', '--quiet'];
      const first = await startCli(args);
      let second: Awaited<ReturnType<typeof startCli>> | undefined;
      try {
        const draft = await create(first);
        await upload(first, draft.messageId, 'vedlegg.pdf', 'kladd');
        const sent = await sendArkivmelding(first);
        await waitForStatus(first, sent.messageId, 'MOTTATT', 'OUTGOING');
        const statusesBefore = await statusesOf(first, sent.messageId);
        first.child.kill('SIGKILL');
        await first.exited;

        second = await startCli(args);
        assert.equal((await call(second, 'GET', `/api/messages/out/${draft.messageId}`)).status, 200);
        assert.deepEqual(await statusesOf(second, sent.messageId), statusesBefore);
        assert.equal((await call(second, 'GET', `/api/messages/in/peek?messageId=${sent.messageId}`)).status, 200);
        second.child.kill('SIGTERM');
        assert.equal(await second.exited, 0);
      } finally {
        first.child.kill('SIGKILL');
        second?.child.kill('SIGKILL');
      }
    });

    it('refuses a malformed --upload-size-limit naming the option and the expected form', async () => {
      await assert.rejects(startCli(['--upload-size-limit', 'DPX=4GB']), /exited with 2: .*--upload-size-limit: expected SERVICE=SIZE such as DPO=4GB/s);
    });

    it('refuses unknown options with a usage text and exit code 2', async () => {
      await assert.rejects(startCli(['--nonsense']), /exited with 2: .*unknown option --nonsense/s);
    });
  });

  describe('HTTP Basic', () => {
    it('answers 401 with WWW-Authenticate and the error body without credentials, 200 with them; /__simulator is open', async () => {
      const secured = await startSimulator({ ...options, dataDir: tempDir(), username: 'ip', password: 'hemmelig' });
      try {
        const denied = await call(secured, 'GET', '/api/statuses');
        assertError(denied, 401, undefined, 'Unauthorized', '/api/statuses');
        assert.match(String(denied.headers['www-authenticate']), /^Basic realm="/);
        const wrong = await call(secured, 'GET', '/api/statuses', { headers: { authorization: 'Basic ' + Buffer.from('ip:feil').toString('base64') } });
        assert.equal(wrong.status, 401);
        const ok = await call(secured, 'GET', '/api/statuses', { headers: { authorization: 'Basic ' + Buffer.from('ip:hemmelig').toString('base64') } });
        assert.equal(ok.status, 200);
        assert.equal((await call(secured, 'GET', '/__simulator/faults')).status, 200);
      } finally {
        await secured.close();
      }
    });
  });

  describe('fault injection', () => {
    it('answers with the injected status and exception without doing the work', async () => {
      sim.faults.add({ method: 'POST', path: '^/api/messages/out$', status: 503, exception: 'java.io.IOException' });
      const input = sbd({ messageId: randomUUID() });
      const answer = await call(sim, 'POST', '/api/messages/out', { json: input });
      assertError(answer, 503, 'java.io.IOException');
      const id = (input.standardBusinessDocumentHeader as any).documentIdentification.instanceIdentifier;
      assert.equal((await call(sim, 'GET', `/api/messages/out/${id}`)).status, 404);
      assert.equal((await call(sim, 'POST', '/api/messages/out', { json: input })).status, 200, 'times defaults to 1');
    });

    it('drop "after" does the work but destroys the socket instead of answering', async () => {
      sim.faults.add({ path: '^/api/messages/out$', method: 'POST', drop: 'after' });
      const input = sbd({ messageId: randomUUID() });
      await assert.rejects(call(sim, 'POST', '/api/messages/out', { json: input }));
      const id = (input.standardBusinessDocumentHeader as any).documentIdentification.instanceIdentifier;
      assert.equal((await call(sim, 'GET', `/api/messages/out/${id}`)).status, 200, 'the message was created');
    });

    it('drop "before" does no work', async () => {
      sim.faults.add({ path: '^/api/messages/out$', method: 'POST', drop: 'before' });
      const input = sbd({ messageId: randomUUID() });
      await assert.rejects(call(sim, 'POST', '/api/messages/out', { json: input }));
      const id = (input.standardBusinessDocumentHeader as any).documentIdentification.instanceIdentifier;
      assert.equal((await call(sim, 'GET', `/api/messages/out/${id}`)).status, 404);
    });

    it('drop "midway" cuts a pop download and an upload in the middle', async () => {
      const { messageId } = await sendArkivmelding(sim, {}, { 'vedtak.pdf': randomBytes(200_000) });
      await waitForStatus(sim, messageId, 'INNKOMMENDE_MOTTATT');
      await call(sim, 'GET', `/api/messages/in/peek?messageId=${messageId}`);
      sim.faults.add({ path: '/pop/', drop: 'midway' });
      await assert.rejects(call(sim, 'GET', `/api/messages/in/pop/${messageId}`));
      assert.equal((await call(sim, 'GET', `/api/messages/in/pop/${messageId}`)).status, 200, 'the next pop works');
      await call(sim, 'DELETE', `/api/messages/in/${messageId}`);

      const draft = await create(sim);
      sim.faults.add({ path: `^/api/messages/out/${draft.messageId}$`, method: 'PUT', drop: 'midway' });
      await assert.rejects(upload(sim, draft.messageId, 'vedlegg.pdf', randomBytes(300_000)));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await upload(sim, draft.messageId, 'vedlegg.pdf', 'whole')).status, 200, 'the cut upload was not kept');
    });

    it('delays a request by delayMs, then handles it', async () => {
      sim.faults.add({ path: '^/api/statuses$', delayMs: 300 });
      const started = Date.now();
      assert.equal((await call(sim, 'GET', '/api/statuses')).status, 200);
      assert.ok(Date.now() - started >= 290);
    });

    it('is managed over HTTP at /__simulator/faults', async () => {
      const added = await call(sim, 'POST', '/__simulator/faults', { json: { path: '^/api/conversations$', status: 502, times: 2 } });
      assert.equal(added.status, 200);
      const listed = (await call(sim, 'GET', '/__simulator/faults')).json;
      assert.equal(listed.length, 1);
      assert.equal(new RegExp(listed[0].path).test('/api/conversations'), true);
      assert.equal(listed[0].status, 502);
      assert.equal(listed[0].times, 2);
      assertError(await call(sim, 'GET', '/api/conversations'), 502, undefined);
      assert.equal((await call(sim, 'GET', '/__simulator/faults')).json[0].times, 1);
      assert.equal((await call(sim, 'DELETE', '/__simulator/faults')).status, 200);
      assert.equal((await call(sim, 'GET', '/api/conversations')).status, 200);
      const invalid = await call(sim, 'POST', '/__simulator/faults', { json: { path: '(' } });
      assert.equal(invalid.status, 400);
      assert.match(invalid.json.message, /path/);
    });
  });
});
