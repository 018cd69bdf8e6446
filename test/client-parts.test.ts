import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import busboy from 'busboy';
import {
  IntegrasjonspunktClient,
  IntegrasjonspunktError,
  MULTIPART_MAX_FILE_BYTES,
  asciiFallback,
  buildMultipart,
  checkMultipartSizes,
  contentDisposition,
  encodeRfc5987,
  queryString,
  resolveUploadFile,
  saveStreamToFile,
  SaveFileError,
} from '../src/client';
import { ValidationError } from '../src/schemas/format';
import { guessMimeType } from '../src/schemas/mime';

interface ParsedPart {
  name: string;
  filename?: string;
  mimeType: string;
  content: Buffer;
}

/** Parses a multipart body the way the simulator does (busboy), to check what a server sees. */
async function parseMultipart(contentType: string, body: AsyncIterable<Buffer>): Promise<ParsedPart[]> {
  // Copied chunk by chunk as they come: the body reuses its buffers once the next chunk is asked for.
  const whole = await collect(body);
  return new Promise((resolve, reject) => {
    const parts: ParsedPart[] = [];
    const bb = busboy({ headers: { 'content-type': contentType }, defParamCharset: 'utf8' });
    bb.on('field', (name, value, info) => parts.push({ name, mimeType: info.mimeType, content: Buffer.from(value) }));
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => parts.push({ name, filename: info.filename, mimeType: info.mimeType, content: Buffer.concat(chunks) }));
    });
    bb.on('close', () => resolve(parts));
    bb.on('error', reject);
    bb.end(whole);
  });
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const copies: Buffer[] = [];
  for await (const chunk of body) copies.push(Buffer.from(chunk));
  return Buffer.concat(copies);
}

async function lengthOf(body: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += chunk.length;
  return n;
}

describe('client parts (no server)', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-parts-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('guessMimeType', () => {
    it('uses the IP table by extension, case-insensitively', () => {
      assert.equal(guessMimeType('vedtak.PDF'), 'application/pdf');
      assert.equal(guessMimeType('arkivmelding.xml'), 'text/xml');
      assert.equal(guessMimeType('brev.docx'), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
      assert.equal(guessMimeType('kart.jpg'), 'image/jpeg');
      assert.equal(guessMimeType('kart.jpeg'), 'image/jpeg');
      assert.equal(guessMimeType('bilag.odt'), 'application/vnd.oasis.opendocument.text');
      assert.equal(guessMimeType('pakke.zip'), 'application/zip');
    });
    it('falls back to application/octet-stream', () => {
      assert.equal(guessMimeType('data.bin'), 'application/octet-stream');
      assert.equal(guessMimeType('README'), 'application/octet-stream');
    });
  });

  describe('Content-Disposition', () => {
    it('keeps plain ASCII names as they are', () => {
      assert.equal(contentDisposition('attachment', { name: 'Vedtak i saken', filename: 'vedtak.pdf' }), 'attachment; name="Vedtak i saken"; filename="vedtak.pdf"');
      assert.equal(contentDisposition('attachment', { filename: 'vedtak.pdf' }), 'attachment; filename="vedtak.pdf"');
    });
    it('gives non-ASCII names an ASCII fallback and filename*/name* in UTF-8', () => {
      assert.equal(
        contentDisposition('attachment', { name: 'Søknad', filename: 'Søknad om byggetillatelse.pdf' }),
        `attachment; name="Soknad"; name*=UTF-8''S%C3%B8knad; filename="Soknad om byggetillatelse.pdf"; filename*=UTF-8''S%C3%B8knad%20om%20byggetillatelse.pdf`,
      );
    });
    it('never puts a quote or backslash inside the quoted value, and keeps them exact in filename*', () => {
      const value = contentDisposition('attachment', { filename: 'a "b" \\c.pdf' });
      assert.equal(value, `attachment; filename="a _b_ _c.pdf"; filename*=UTF-8''a%20%22b%22%20%5Cc.pdf`);
    });
    it('percent-encodes characters the IP rejects in RFC 5987 values', () => {
      assert.equal(encodeRfc5987("it's (1)*.pdf"), 'it%27s%20%281%29%2A.pdf');
      assert.equal(encodeRfc5987('Æ-ø_å.txt'), '%C3%86-%C3%B8_%C3%A5.txt');
    });
    it('transliterates Norwegian and accented letters in the fallback', () => {
      assert.equal(asciiFallback('Æble, øl, å, é, ß'), 'AEble, ol, a, e, ss');
      assert.equal(asciiFallback('line\nbreak'), 'line_break');
    });
  });

  describe('queryString', () => {
    it('keeps only defined values, writes booleans, repeats sort', () => {
      assert.equal(queryString({ a: undefined, b: null, c: '', d: 'x y', e: true, f: false, n: 0, sort: ['id,asc', 'lastUpdate,desc'] }), '?d=x+y&e=true&f=false&n=0&sort=id%2Casc&sort=lastUpdate%2Cdesc');
      assert.equal(queryString({}), '');
      assert.equal(queryString({ fromDateTime: '2025-06-03T10:00:00+02:00' }), '?fromDateTime=2025-06-03T10%3A00%3A00%2B02%3A00');
    });
  });

  describe('resolveUploadFile', () => {
    it('takes the name from the path and the size from stat', async () => {
      const p = path.join(dir, 'vedtak.pdf');
      fs.writeFileSync(p, 'x'.repeat(1234));
      const f = await resolveUploadFile({ path: p });
      assert.equal(f.filename, 'vedtak.pdf');
      assert.equal(f.mimeType, 'application/pdf');
      assert.equal(f.size, 1234);
      assert.equal(f.reopenable, true);
      assert.equal(await lengthOf(f.open() as Readable), 1234);
    });
    it('uses the given MIME type and title, and strings as UTF-8', async () => {
      const f = await resolveUploadFile({ filename: 'notat.txt', content: 'blåbær', mimeType: 'text/plain; charset=utf-8', title: 'Notat' });
      assert.equal(f.size, Buffer.byteLength('blåbær'));
      assert.equal(f.mimeType, 'text/plain; charset=utf-8');
      assert.equal(f.title, 'Notat');
    });
    it('opens a stream only once', async () => {
      const f = await resolveUploadFile({ filename: 'a.txt', stream: Readable.from([Buffer.from('abc')]), size: 3 });
      assert.equal(f.reopenable, false);
      f.open();
      assert.throws(() => f.open(), /only be read once/);
    });
    it('rejects bad input with the field named', async () => {
      await assert.rejects(resolveUploadFile({ filename: 'a.pdf' }, 'files[0]'), (e: Error) => e instanceof ValidationError && /files\[0\]: expected exactly one of content, path or stream, got none/.test(e.message));
      await assert.rejects(resolveUploadFile({ content: 'x', path: '/tmp/x' }), /got content and path/);
      await assert.rejects(resolveUploadFile({ content: 'x' }, 'files[1]'), /files\[1\]\.filename: expected a file name/);
      await assert.rejects(resolveUploadFile({ path: path.join(dir, 'missing.pdf') }), /file\.path: cannot read .*missing\.pdf: ENOENT/);
      await assert.rejects(resolveUploadFile({ path: dir }), /is not a file/);
      await assert.rejects(resolveUploadFile({ filename: 'a', content: 42 as unknown as string }), /content: expected a Buffer or a string/);
      await assert.rejects(resolveUploadFile({ filename: 'a', content: 'x', mimeType: 'pdf' }), /mimeType: expected a MIME type/);
      await assert.rejects(resolveUploadFile({ filename: 'a', stream: {} as Readable }), /stream: expected a Readable/);
      await assert.rejects(resolveUploadFile({ filename: 'a', stream: Readable.from([]), size: -1 }), /size: expected the stream's length/);
      await assert.rejects(resolveUploadFile(null as unknown as { path: string }), /expected an object/);
    });
  });

  describe('buildMultipart', () => {
    it('writes an sbd part without filename and one part per file, with an exact Content-Length', async () => {
      const p = path.join(dir, 'Søknad om byggetillatelse.pdf');
      const pdf = randomBytes(3 * 1024 * 1024 + 7);
      fs.writeFileSync(p, pdf);
      const files = [
        await resolveUploadFile({ path: p, title: 'Søknad' }),
        await resolveUploadFile({ filename: 'arkivmelding.xml', content: '<arkivmelding/>' }),
      ];
      const body = buildMultipart('{"a":1}', files);
      assert.match(body.contentType, /^multipart\/form-data; boundary=----eformidling-[0-9a-f]+$/);
      assert.equal(body.reopenable, true);
      assert.equal(await lengthOf(body.open()), body.contentLength);

      const parts = await parseMultipart(body.contentType, body.open());
      assert.deepEqual(
        parts.map((x) => [x.name, x.filename, x.mimeType, x.content.length]),
        [
          ['sbd', undefined, 'application/json', 7],
          // busboy (like Tomcat) reads filename* but not name*, so a multipart title keeps only its ASCII form
          ['Soknad', 'Søknad om byggetillatelse.pdf', 'application/pdf', 3 * 1024 * 1024 + 7],
          ['arkivmelding.xml', 'arkivmelding.xml', 'text/xml', 15],
        ],
      );
      assert.ok(parts[1].content.equals(pdf), 'the file arrives byte for byte');
    });
    it('leaves out Content-Length when a stream has no known size', async () => {
      const files = [await resolveUploadFile({ filename: 'a.txt', stream: Readable.from([Buffer.from('abc')]) })];
      const body = buildMultipart('{}', files);
      assert.equal(body.contentLength, undefined);
      assert.equal(body.reopenable, false);
      const parts = await parseMultipart(body.contentType, body.open());
      assert.equal(parts[1].content.toString(), 'abc');
    });
    it('refuses a file over 5 MiB, pointing at the three-step send', async () => {
      const big = await resolveUploadFile({ filename: 'big.pdf', content: Buffer.alloc(MULTIPART_MAX_FILE_BYTES + 1) });
      const ok = await resolveUploadFile({ filename: 'ok.pdf', content: Buffer.alloc(MULTIPART_MAX_FILE_BYTES) });
      assert.doesNotThrow(() => checkMultipartSizes([ok]));
      assert.throws(() => checkMultipartSizes([ok, big]), /files\[1\] \(big\.pdf\): 5242881 bytes is over the multipart limit of 5 MiB \(5242880 bytes\); use the three-step send/);
    });
  });

  describe('saveStreamToFile', () => {
    it('writes atomically and returns size and SHA-256', async () => {
      const dest = path.join(dir, 'out.zip');
      const data = Buffer.from('hello asic');
      const result = await saveStreamToFile(Readable.from([data]), dest);
      assert.deepEqual(result, { path: dest, size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('out.zip')), ['out.zip']);
    });
    it('leaves nothing behind when the stream fails', async () => {
      const dest = path.join(dir, 'broken.zip');
      const failing = new Readable({
        read() {
          this.push(Buffer.alloc(1000));
          this.destroy(new Error('cut off'));
        },
      });
      await assert.rejects(saveStreamToFile(failing, dest), /cut off/);
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('broken.zip')), []);
    });
    it('says which file it cannot write, and cleans up', async () => {
      const taken = path.join(dir, 'taken');
      fs.mkdirSync(path.join(taken, 'inside'), { recursive: true });
      await assert.rejects(saveStreamToFile(Readable.from([Buffer.from('x')]), taken), (e: Error) => e instanceof SaveFileError && e.message.startsWith(`Cannot write ${taken}: `));
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('taken.part-')), []);
    });
  });

  describe('IntegrasjonspunktClient options', () => {
    it('rejects a bad URL and bad numbers with the field named', () => {
      assert.throws(() => new IntegrasjonspunktClient({ url: 'localhost:9093' }), /url: expected an http:\/\/ or https:\/\/ URL/);
      assert.throws(() => new IntegrasjonspunktClient({ url: 'not a url' }), /url: expected the Integrasjonspunkt's base URL/);
      assert.throws(() => new IntegrasjonspunktClient({ url: 'http://x', timeoutMs: -1 }), /timeoutMs: expected a number of milliseconds \(0 or more\), got -1/);
      assert.throws(() => new IntegrasjonspunktClient({ url: 'http://x', retries: Number.NaN }), /retries: expected a number of retries/);
      assert.throws(() => new IntegrasjonspunktClient(undefined as unknown as { url: string }), /options: expected an object/);
    });
    it('keeps credentials out of url', async () => {
      const client = new IntegrasjonspunktClient({ url: 'http://user:secret@localhost:9093/ip/' });
      assert.equal(client.url, 'http://localhost:9093/ip');
      await client.close();
    });
  });

  describe('IntegrasjonspunktError', () => {
    it('says whether the answer may be lost', () => {
      const base = { method: 'POST', path: '/api/messages/out' };
      assert.equal(new IntegrasjonspunktError('x', { ...base, status: 0, requestSent: true }).answerLost, true);
      assert.equal(new IntegrasjonspunktError('x', { ...base, status: 0, requestSent: false }).answerLost, false);
      assert.equal(new IntegrasjonspunktError('x', { ...base, status: 503 }).answerLost, true);
      assert.equal(new IntegrasjonspunktError('x', { ...base, status: 400 }).answerLost, false);
    });
  });
});
