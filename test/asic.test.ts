import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import { AsicError, openAsic, readAsicDocuments, saveStreamToTempFile } from '../src/asic';
import { buildAsic } from '../src/simulator/asic';

interface ZipItem {
  name: string;
  content?: string | Buffer;
  stream?: () => Readable;
  compress?: boolean;
}

/** Builds a zip in memory and writes it to `path`; `rename` swaps entry names afterwards (yazl refuses unsafe ones). */
async function writeZip(path: string, items: ZipItem[], rename: Record<string, string> = {}): Promise<void> {
  const zip = new ZipFile();
  for (const item of items) {
    if (item.name.endsWith('/')) zip.addEmptyDirectory(item.name);
    else if (item.stream) zip.addReadStream(item.stream(), item.name, { compress: item.compress ?? true });
    else zip.addBuffer(Buffer.from(item.content ?? ''), item.name, { compress: item.compress ?? true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  let bytes = Buffer.concat(chunks);
  for (const [from, to] of Object.entries(rename)) {
    assert.equal(Buffer.byteLength(from), Buffer.byteLength(to), 'renames must keep the length');
    let at = bytes.indexOf(from);
    while (at >= 0) {
      bytes.write(to, at);
      at = bytes.indexOf(from, at + 1);
    }
  }
  writeFileSync(path, bytes);
}

const MANIFEST = `<?xml version="1.0" encoding="UTF-8"?>
<manifest>
   <mottaker><organisasjon authority="iso6523-actorid-upis">0192:920000008</organisasjon></mottaker>
   <avsender><organisasjon authority="iso6523-actorid-upis">0192:910000009</organisasjon></avsender>
   <hoveddokument href="vedtak.pdf" mime="application/pdf"><tittel lang="no">Hoveddokument</tittel></hoveddokument>
</manifest>`;

const ASIC_MANIFEST = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<ASiCManifest xmlns="http://uri.etsi.org/02918/v1.2.1#" xmlns:ns2="http://www.w3.org/2000/09/xmldsig#">
    <SigReference URI="META-INF/signature-1.p7s" MimeType="application/x-pkcs7-signature"/>
    <DataObjectReference URI="manifest.xml" MimeType="text/xml"><ns2:DigestValue>x</ns2:DigestValue></DataObjectReference>
    <DataObjectReference URI="vedtak.pdf" MimeType="application/octet-stream"><ns2:DigestValue>x</ns2:DigestValue></DataObjectReference>
    <DataObjectReference URI="journal.json" MimeType="text/xml"><ns2:DigestValue>x</ns2:DigestValue></DataObjectReference>
    <DataObjectReference URI="min%20fil.txt" MimeType="text/plain; charset=utf-8"><ns2:DigestValue>x</ns2:DigestValue></DataObjectReference>
    <DataObjectReference URI="100%" MimeType="text/plain"><ns2:DigestValue>x</ns2:DigestValue></DataObjectReference>
</ASiCManifest>`;

const ODF_MANIFEST = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<ns1:manifest xmlns:ns1="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">
    <ns1:file-entry ns1:full-path="/" ns1:media-type="application/vnd.etsi.asic-e+zip"/>
    <ns1:file-entry ns1:full-path="kart.bin" ns1:media-type="application/x-kart"/>
</ns1:manifest>`;

describe('ASiC-E reading', function () {
  let dir: string;
  let ipAsic: string;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'asic-test-'));
    ipAsic = join(dir, 'ip.asic');
    await writeZip(ipAsic, [
      { name: 'mimetype', content: 'application/vnd.etsi.asic-e+zip', compress: false },
      { name: 'manifest.xml', content: MANIFEST },
      { name: 'vedtak.pdf', content: '%PDF-1.7 vedtak' },
      { name: 'vedlegg.docx', content: 'docx bytes' },
      { name: 'journal.json', content: '{"a":1}' },
      { name: 'min fil.txt', content: 'hei' },
      { name: 'kart.bin', content: Buffer.from([1, 2, 3]) },
      { name: '100%', content: 'p' },
      { name: 'ukjent.xyz', content: 'x' },
      { name: 'undermappe/', content: '' },
      { name: 'undermappe/notat.txt', content: 'notat' },
      { name: 'META-INF/asicmanifest.xml', content: ASIC_MANIFEST },
      { name: 'META-INF/manifest.xml', content: ODF_MANIFEST },
      { name: 'META-INF/signature-1.p7s', content: 'cms' },
    ]);
  });

  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the documents without mimetype, manifest.xml and META-INF/, with sizes, and marks the primary', async function () {
    const asic = await openAsic(ipAsic);
    try {
      assert.deepEqual(
        asic.documents.map((d) => d.filename),
        ['vedtak.pdf', 'vedlegg.docx', 'journal.json', 'min fil.txt', 'kart.bin', '100%', 'ukjent.xyz', 'undermappe/notat.txt'],
      );
      assert.equal(asic.primary?.filename, 'vedtak.pdf');
      assert.equal(asic.primary?.primary, true);
      assert.equal(asic.documents.filter((d) => d.primary).length, 1);
      assert.equal(asic.documents.find((d) => d.filename === 'vedtak.pdf')?.size, Buffer.byteLength('%PDF-1.7 vedtak'));
    } finally {
      asic.close();
    }
  });

  it('takes MIME types from manifest.xml, then asicmanifest.xml, then META-INF/manifest.xml, then the extension', async function () {
    const asic = await openAsic(ipAsic);
    try {
      const mime = Object.fromEntries(asic.documents.map((d) => [d.filename, d.mimeType]));
      assert.deepEqual(mime, {
        'vedtak.pdf': 'application/pdf', // manifest.xml's hoveddokument wins over asicmanifest's octet-stream
        'vedlegg.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', // extension
        'journal.json': 'text/xml', // as the sender declared it in asicmanifest.xml
        'min fil.txt': 'text/plain; charset=utf-8', // percent-encoded URI in asicmanifest.xml
        'kart.bin': 'application/x-kart', // META-INF/manifest.xml
        '100%': 'text/plain', // not valid percent-encoding: taken as written
        'ukjent.xyz': 'application/octet-stream',
        'undermappe/notat.txt': 'text/plain',
      });
    } finally {
      asic.close();
    }
  });

  it('reads an entry into memory or as a stream, and names the documents when an entry is missing', async function () {
    const asic = await openAsic(ipAsic);
    try {
      assert.equal((await asic.readEntry('vedtak.pdf')).toString(), '%PDF-1.7 vedtak');
      assert.equal((await asic.readEntry('manifest.xml')).toString(), MANIFEST);
      const chunks: Buffer[] = [];
      for await (const chunk of await asic.openEntry('journal.json')) chunks.push(chunk as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), '{"a":1}');
      await assert.rejects(asic.readEntry('nope.pdf'), (err: AsicError) => {
        assert.equal(err.code, 'ASIC_NO_ENTRY');
        assert.match(err.message, /^No entry named "nope.pdf" in the ASiC-E \(documents: vedtak.pdf, vedlegg.docx, /);
        return true;
      });
    } finally {
      asic.close();
    }
    asic.close(); // twice is harmless
    await assert.rejects(asic.readEntry('vedtak.pdf'), { code: 'ASIC_CLOSED' });
  });

  it('readAsicDocuments returns every document with its MIME type and content', async function () {
    const documents = await readAsicDocuments(ipAsic);
    assert.equal(documents.length, 8);
    assert.deepEqual(documents[0], { filename: 'vedtak.pdf', mimeType: 'application/pdf', content: Buffer.from('%PDF-1.7 vedtak') });
    assert.deepEqual(documents[4].content, Buffer.from([1, 2, 3]));
    assert.equal(documents[5].content.toString(), 'p');
  });

  it('readAsicDocuments refuses documents larger than maxBytes in total', async function () {
    await assert.rejects(readAsicDocuments(ipAsic, { maxBytes: 20 }), (err: AsicError) => {
      assert.equal(err.code, 'ASIC_TOO_LARGE');
      const total = 15 + 10 + 7 + 3 + 3 + 1 + 1 + 5;
      assert.equal(
        err.message,
        `The ASiC-E's documents are ${total} bytes uncompressed, more than the limit of 20 bytes (maxBytes); read it as a file instead`,
      );
      return true;
    });
  });

  it('without manifests the MIME type comes from the extension and there is no primary', async function () {
    const path = join(dir, 'plain.zip');
    await writeZip(path, [
      { name: 'a.PDF', content: 'a' },
      { name: 'b.png', content: 'b' },
    ]);
    const asic = await openAsic(path);
    asic.close();
    assert.equal(asic.primary, undefined);
    assert.deepEqual(
      asic.documents.map((d) => [d.filename, d.mimeType, d.primary]),
      [
        ['a.PDF', 'application/pdf', false],
        ['b.png', 'image/png', false],
      ],
    );
  });

  it('ignores a manifest too large to be a real one instead of reading it into memory', async function () {
    const path = join(dir, 'huge-manifest.asic');
    await writeZip(path, [
      { name: 'manifest.xml', content: MANIFEST.replace('<manifest>', `<manifest><!--${'x'.repeat(1024 * 1024)}-->`) },
      { name: 'vedtak.pdf', content: 'x' },
    ]);
    const asic = await openAsic(path);
    asic.close();
    assert.equal(asic.primary, undefined);
    assert.equal(asic.documents[0].mimeType, 'application/pdf');
  });

  it('reads manifests written with namespace prefixes and single quotes', async function () {
    const path = join(dir, 'prefixed.asic');
    await writeZip(path, [
      { name: 'mimetype', content: 'application/vnd.etsi.asic-e+zip', compress: false },
      {
        name: 'manifest.xml',
        content: `<m:manifest xmlns:m="urn:x"><m:hoveddokument href='brev &amp; svar.html' mime='text/html'/></m:manifest>`,
      },
      { name: 'brev & svar.html', content: '<p>hei</p>' },
      { name: 'vedlegg.pdf', content: 'x' },
    ]);
    const asic = await openAsic(path);
    asic.close();
    assert.equal(asic.primary?.filename, 'brev & svar.html');
    assert.equal(asic.primary?.mimeType, 'text/html');
  });

  it('reads an ASiC-E built by the simulator', async function () {
    const files = [
      { filename: 'arkivmelding.xml', mimeType: 'text/xml', content: '<arkivmelding/>' },
      { filename: 'vedtak.pdf', mimeType: 'application/pdf', content: '%PDF' },
    ].map((f) => {
      const path = join(dir, `src-${f.filename}`);
      writeFileSync(path, f.content);
      return { filename: f.filename, mimeType: f.mimeType, path };
    });
    const outPath = join(dir, 'sim.asic');
    await buildAsic({ files, sender: '910000009', receiver: '920000008', outPath });
    const documents = await readAsicDocuments(outPath);
    assert.deepEqual(
      documents.map((d) => [d.filename, d.mimeType, d.content.toString()]),
      [
        ['arkivmelding.xml', 'text/xml', '<arkivmelding/>'],
        ['vedtak.pdf', 'application/pdf', '%PDF'],
      ],
    );
    const asic = await openAsic(outPath);
    asic.close();
    assert.equal(asic.primary?.filename, 'arkivmelding.xml');
  });

  describe('unsafe and broken archives', function () {
    for (const [label, safe, unsafe, reason] of [
      ['a ".." path', 'xx/evil.txt', '../evil.txt', 'a path with ".."'],
      ['an absolute path', 'Xetc/passwd', '/etc/passwd', 'an absolute path'],
      ['a Windows drive path', 'CCx/boot.ini', 'C:x/boot.ini', 'an absolute path'],
      ['a backslash ".." path', 'xx_x.txt', '..\\x.txt', 'a path with ".."'],
    ]) {
      it(`rejects an entry with ${label}, naming it`, async function () {
        const path = join(dir, `unsafe-${safe.replace(/\W/g, '_')}.zip`);
        await writeZip(path, [{ name: 'ok.pdf', content: 'ok' }, { name: safe, content: 'bad' }], { [safe]: unsafe });
        const shown = unsafe.replace(/\\/g, '/');
        for (const attempt of [() => openAsic(path), () => readAsicDocuments(path)]) {
          await assert.rejects(attempt(), (err: AsicError) => {
            assert.equal(err.code, 'ASIC_UNSAFE_NAME');
            assert.equal(err.message, `Unsafe entry name "${shown}" in the ASiC-E: ${reason} is not allowed`);
            return true;
          });
        }
      });
    }

    it('says so when the file is not a zip', async function () {
      const path = join(dir, 'not-a-zip.asic');
      writeFileSync(path, 'this is not a zip file at all, just text that goes on for a while........');
      await assert.rejects(openAsic(path), (err: AsicError) => {
        assert.equal(err.code, 'ASIC_UNREADABLE');
        assert.match(err.message, /^Cannot read the ASiC-E .*not-a-zip\.asic: /);
        return true;
      });
      await assert.rejects(openAsic(join(dir, 'missing.asic')), { code: 'ASIC_UNREADABLE' });
    });
  });

  describe('saveStreamToTempFile', function () {
    it('writes a stream to a new file in the given folder', async function () {
      const target = mkdtempSync(join(dir, 'save-'));
      const path = await saveStreamToTempFile(Readable.from([Buffer.from('abc'), Buffer.from('def')]), target);
      assert.ok(path.startsWith(target));
      assert.equal(readdirSync(target).length, 1);
      assert.equal(readFileSync(path, 'utf8'), 'abcdef');
    });

    it('writes to the OS temp folder by default, and an ASiC saved that way can be opened', async function () {
      const path = await saveStreamToTempFile(createReadStream(ipAsic));
      try {
        assert.ok(path.startsWith(tmpdir()));
        const asic = await openAsic(path);
        asic.close();
        assert.equal(asic.primary?.filename, 'vedtak.pdf');
      } finally {
        rmSync(path, { force: true });
      }
    });

    it('removes the partial file when the stream fails', async function () {
      const target = mkdtempSync(join(dir, 'fail-'));
      const source = new PassThrough();
      const saving = saveStreamToTempFile(source, target);
      source.write('partial');
      setImmediate(() => source.destroy(new Error('connection reset')));
      await assert.rejects(saving, /connection reset/);
      assert.deepEqual(readdirSync(target), []);
    });
  });

  describe('a 200 MB document', function () {
    this.timeout(120_000);
    const SIZE = 200 * 1024 * 1024;
    let bigAsic: string;
    let expectedSha: string;

    before(async function () {
      bigAsic = join(dir, 'big.asic');
      // Not all zeros, so inflating is real work; a 1 MiB block repeated.
      const block = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < block.length; i++) block[i] = (i * 31 + (i >> 10)) & 0xff;
      const hash = createHash('sha256');
      for (let i = 0; i < SIZE / block.length; i++) hash.update(block);
      expectedSha = hash.digest('hex');
      const zip = new ZipFile();
      zip.addBuffer(Buffer.from('application/vnd.etsi.asic-e+zip'), 'mimetype', { compress: false });
      zip.addBuffer(Buffer.from(MANIFEST.replace('vedtak.pdf', 'stor.pdf')), 'manifest.xml');
      zip.addReadStream(
        Readable.from(
          (function* () {
            for (let i = 0; i < SIZE / block.length; i++) yield block;
          })(),
        ),
        'stor.pdf',
      );
      zip.end();
      await pipeline(zip.outputStream, createWriteStream(bigAsic));
    });

    it('streams it without holding it in memory', async function () {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const asic = await openAsic(bigAsic);
      try {
        assert.equal(asic.primary?.filename, 'stor.pdf');
        assert.equal(asic.primary?.size, SIZE);
        const hash = createHash('sha256');
        let bytes = 0;
        for await (const chunk of await asic.openEntry('stor.pdf')) {
          hash.update(chunk as Buffer);
          bytes += (chunk as Buffer).length;
          peak = Math.max(peak, process.memoryUsage().rss);
        }
        assert.equal(bytes, SIZE);
        assert.equal(hash.digest('hex'), expectedSha);
      } finally {
        asic.close();
      }
      const grewMb = (peak - baseline) / 1024 / 1024;
      assert.ok(grewMb < 50, `RSS grew by ${grewMb.toFixed(1)} MB while streaming`);
    });

    it('readAsicDocuments refuses it under the default limit before reading anything', async function () {
      const baseline = process.memoryUsage().rss;
      const started = Date.now();
      await assert.rejects(readAsicDocuments(bigAsic), (err: AsicError) => {
        assert.equal(err.code, 'ASIC_TOO_LARGE');
        assert.match(err.message, new RegExp(`documents are ${SIZE} bytes uncompressed, more than the limit of ${100 * 1024 * 1024} bytes`));
        return true;
      });
      assert.ok(Date.now() - started < 2000, 'refused without inflating the document');
      assert.ok(process.memoryUsage().rss - baseline < 50 * 1024 * 1024);
    });
  });
});
