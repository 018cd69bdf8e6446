import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createCipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import * as yauzl from 'yauzl';

const GiB = 1024 * 1024 * 1024;
const DOCUMENT_SIZE = 2 * GiB;
const RSS_LIMIT_BYTES = 150 * 1024 * 1024;
const SENDER = '910000009';
const RECEIVER = '920000008';
const ROOT = path.join(__dirname, '..');
/**
 * The IP's default DPO limit on a message's files is 1 GiB (difi.move.dpo.upload-size-limit), so a 2 GiB message needs
 * the limit raised, as it would on a real IP.
 */
const UPLOAD_LIMIT_ARGS = ['--upload-size-limit', 'DPO=4GB'];

/** Writes `size` pseudo-random bytes (AES-CTR keystream) chunk by chunk; returns the SHA-256 (hex). */
async function writeRandomFile(file: string, size: number): Promise<string> {
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  const hash = createHash('sha256');
  async function* chunks() {
    for (let left = size; left > 0; left -= zeros.length) {
      const chunk = cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(chunks(), fs.createWriteStream(file));
  return hash.digest('hex');
}

/** VmRSS and VmHWM (peak) of a process, in bytes. */
function memoryOf(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Starts the CLI on a free port and resolves with its base URL once it prints "listening on …". */
function startCli(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['-r', 'tsx/cjs', path.join(ROOT, 'src', 'simulator', 'cli.ts'), '--port', '0', '--data-dir', dataDir, '--status-delay', '10', '--quiet', ...UPLOAD_LIMIT_ARGS],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (https?:\/\/\S+)\r?\n/.exec(output);
      if (m) resolve({ child, url: m[1].replace(/\/$/, '') });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (code) => reject(new Error(`simulator exited with ${code} before listening:\n${output}`)));
    setTimeout(() => reject(new Error(`simulator did not start within 30 s:\n${output}`)), 30_000).unref();
  });
}

function sbd(messageId: string, conversationId: string) {
  return {
    standardBusinessDocumentHeader: {
      headerVersion: '1.0',
      sender: [{ identifier: { value: `0192:${SENDER}`, authority: 'iso6523-actorid-upis' } }],
      receiver: [{ identifier: { value: `0192:${RECEIVER}`, authority: 'iso6523-actorid-upis' } }],
      documentIdentification: {
        standard: 'urn:no:difi:arkivmelding:xsd::arkivmelding',
        typeVersion: '2.0',
        instanceIdentifier: messageId,
        type: 'arkivmelding',
      },
      businessScope: {
        scope: [{ type: 'ConversationId', instanceIdentifier: conversationId, identifier: 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0' }],
      },
    },
    arkivmelding: { hoveddokument: 'stor.bin' },
  };
}

const ARKIVMELDING_XML = `<?xml version="1.0" encoding="utf-8"?>
<arkivmelding xmlns="http://www.arkivverket.no/standarder/noark5/arkivmelding">
  <system>simulator-large-test</system>
  <meldingId>large</meldingId>
  <tidspunkt>2025-06-03T10:00:00+02:00</tidspunkt>
  <antallFiler>1</antallFiler>
  <mappe xsi:type="saksmappe" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <systemID>1</systemID>
    <tittel>Stor fil</tittel>
    <basisregistrering xsi:type="journalpost">
      <systemID>2</systemID>
      <tittel>Stor fil</tittel>
      <offentligTittel>Stor fil</offentligTittel>
      <journalpostnummer>1</journalpostnummer>
      <dokumentbeskrivelse>
        <dokumenttype>Brev</dokumenttype>
        <tittel>Stor fil</tittel>
        <tilknyttetRegistreringSom>Hoveddokument</tilknyttetRegistreringSom>
        <dokumentnummer>1</dokumentnummer>
        <dokumentobjekt>
          <referanseDokumentfil>stor.bin</referanseDokumentfil>
        </dokumentobjekt>
      </dokumentbeskrivelse>
    </basisregistrering>
  </mappe>
</arkivmelding>
`;

/** SHA-256 (hex) of one zip entry, streamed through yauzl. */
async function hashZipEntry(zipPath: string, name: string): Promise<{ sha256: string; size: number }> {
  const zip = await yauzl.openPromise(zipPath, { autoClose: false });
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName !== name) continue;
      const hash = createHash('sha256');
      let size = 0;
      const stream = await zip.openReadStreamPromise(entry);
      for await (const chunk of stream) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      return { sha256: hash.digest('hex'), size };
    }
  } finally {
    zip.close();
  }
  throw new Error(`${name} not found in ${zipPath}`);
}

async function expectStatus(res: { statusCode: number; body: { text(): Promise<string> } }, expected: number, what: string) {
  const text = await res.body.text();
  assert.equal(res.statusCode, expected, `${what}: ${res.statusCode} ${text}`);
  return text;
}

describe('simulator with a 2 GiB message (streaming end to end)', function () {
  this.timeout(10 * 60_000);

  let dir: string;
  let child: ChildProcess | undefined;
  let peak = 0;
  let sampler: NodeJS.Timeout | undefined;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-large-'));
  });

  after(async () => {
    if (sampler) clearInterval(sampler);
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates, uploads, sends, peeks and pops it with the document intact and the simulator under 150 MB RSS', async () => {
    const original = path.join(dir, 'stor.bin');
    const [originalSha, started] = await Promise.all([writeRandomFile(original, DOCUMENT_SIZE), startCli(path.join(dir, 'data'))]);
    child = started.child;
    const base = started.url;
    const pid = child.pid!;
    sampler = setInterval(() => {
      const m = memoryOf(pid);
      if (m) peak = Math.max(peak, m.rss, m.peak);
    }, 100);

    const messageId = randomUUID();
    const conversationId = randomUUID();
    const created = await request(`${base}/api/messages/out`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sbd(messageId, conversationId)),
    });
    await expectStatus(created, 200, 'create');

    const xml = Buffer.from(ARKIVMELDING_XML);
    const putXml = await request(`${base}/api/messages/out/${messageId}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/xml', 'content-disposition': 'attachment; name="arkivmelding"; filename="arkivmelding.xml"', 'content-length': String(xml.length) },
      body: xml,
    });
    await expectStatus(putXml, 200, 'upload arkivmelding.xml');

    const putBig = await request(`${base}/api/messages/out/${messageId}`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/octet-stream',
        'content-disposition': 'attachment; name="Stor fil"; filename="stor.bin"',
        'content-length': String(DOCUMENT_SIZE),
      },
      body: fs.createReadStream(original),
      headersTimeout: 5 * 60_000,
      bodyTimeout: 5 * 60_000,
    });
    await expectStatus(putBig, 200, 'upload stor.bin');

    const sent = await request(`${base}/api/messages/out/${messageId}`, { method: 'POST' });
    await expectStatus(sent, 200, 'send');

    // The receiving side gets the message once the ASiC is built; poll peek as the receiver.
    let peeked: Record<string, any> | undefined;
    const until = Date.now() + 5 * 60_000;
    while (!peeked && Date.now() < until) {
      const res = await request(`${base}/api/messages/in/peek?receiverIdentifier=${RECEIVER}&messageId=${messageId}`);
      if (res.statusCode === 200) peeked = JSON.parse(await res.body.text()) as Record<string, any>;
      else {
        await expectStatus(res, 204, 'peek');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    assert.ok(peeked, 'the message never reached the receiver inbox');
    assert.equal(peeked.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier, messageId);

    const popped = path.join(dir, 'popped.asic');
    const pop = await request(`${base}/api/messages/in/pop/${messageId}`, { headersTimeout: 5 * 60_000, bodyTimeout: 5 * 60_000 });
    assert.equal(pop.statusCode, 200);
    assert.equal(pop.headers['content-type'], 'application/vnd.etsi.asic-e+zip');
    await pipeline(pop.body, fs.createWriteStream(popped));

    const inside = await hashZipEntry(popped, 'stor.bin');
    assert.equal(inside.size, DOCUMENT_SIZE);
    assert.equal(inside.sha256, originalSha, 'the document inside the ASiC differs from the original');

    const deleted = await request(`${base}/api/messages/in/${messageId}`, { method: 'DELETE' });
    await expectStatus(deleted, 200, 'delete');

    clearInterval(sampler);
    const last = memoryOf(pid);
    if (last) peak = Math.max(peak, last.rss, last.peak);
    assert.ok(peak > 0, 'could not read the simulator RSS from /proc');
    assert.ok(peak < RSS_LIMIT_BYTES, `simulator peak RSS ${Math.round(peak / 1024 / 1024)} MB exceeds 150 MB`);
  });
});
