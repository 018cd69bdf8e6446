import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import * as yauzl from 'yauzl';
import { buildAsic, mimeTypeFor } from '../src/simulator/asic';

interface ZipEntryInfo {
  name: string;
  compressionMethod: number;
  extraFieldLength: number;
  content: Buffer;
}

/** Every entry of a (small) zip, in central-directory order, with its content. */
async function readZip(file: string): Promise<ZipEntryInfo[]> {
  const zip = await yauzl.openPromise(file, { autoClose: false });
  const out: ZipEntryInfo[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      const stream: Readable = await zip.openReadStreamPromise(entry);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      out.push({ name: entry.fileName, compressionMethod: entry.compressionMethod, extraFieldLength: entry.extraFieldLength, content: Buffer.concat(chunks) });
    }
  } finally {
    zip.close();
  }
  return out;
}

/** Local header of the first entry: method, name and extra field length straight from the bytes. */
function firstLocalHeader(file: string): { method: number; name: string; extraLength: number; data: string } {
  const head = Buffer.alloc(200);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  assert.equal(head.readUInt32LE(0), 0x04034b50);
  const nameLength = head.readUInt16LE(26);
  const extraLength = head.readUInt16LE(28);
  const name = head.subarray(30, 30 + nameLength).toString();
  const dataStart = 30 + nameLength + extraLength;
  return { method: head.readUInt16LE(8), name, extraLength, data: head.subarray(dataStart, dataStart + 31).toString() };
}

describe('simulator ASiC-E builder', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-asic-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('maps extensions like the IP and falls back to application/pdf', () => {
    assert.equal(mimeTypeFor('vedtak.PDF'), 'application/pdf');
    assert.equal(mimeTypeFor('arkivmelding.xml'), 'text/xml');
    assert.equal(mimeTypeFor('notat.docx'), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    assert.equal(mimeTypeFor('bilde.png'), 'image/png');
    assert.equal(mimeTypeFor('bilde.jpeg'), 'image/jpeg');
    assert.equal(mimeTypeFor('bilde.jpg'), 'application/pdf');
    assert.equal(mimeTypeFor('pakke.zip'), 'application/octet-stream');
    assert.equal(mimeTypeFor('uten-endelse'), 'application/pdf');
  });

  it('writes mimetype first and stored, then manifest.xml, the documents in order, and the META-INF manifests', async () => {
    const files = [
      { filename: 'vedtak.pdf', mimeType: 'application/pdf', content: randomBytes(300_000) },
      { filename: 'arkivmelding.xml', mimeType: 'text/xml', content: Buffer.from('<arkivmelding>æøå & co</arkivmelding>') },
      { filename: 'vedlegg 1.txt', mimeType: 'text/plain', content: Buffer.alloc(0) },
    ];
    const onDisk = files.map((f) => {
      const p = path.join(dir, `src-${f.filename}`);
      fs.writeFileSync(p, f.content);
      return { filename: f.filename, mimeType: f.mimeType, path: p };
    });
    const outPath = path.join(dir, 'asic.zip');
    const result = await buildAsic({ files: onDisk, sender: '910000009', receiver: '0192:920000008', outPath });

    assert.equal(result.size, fs.statSync(outPath).size);
    assert.equal(fs.existsSync(`${outPath}.tmp`), false);

    const local = firstLocalHeader(outPath);
    assert.equal(local.name, 'mimetype');
    assert.equal(local.method, 0, 'mimetype must be stored');
    assert.equal(local.extraLength, 0, 'mimetype must have no extra field');
    assert.equal(local.data, 'application/vnd.etsi.asic-e+zip');

    const entries = await readZip(outPath);
    assert.deepEqual(
      entries.map((e) => e.name),
      ['mimetype', 'manifest.xml', 'vedtak.pdf', 'arkivmelding.xml', 'vedlegg 1.txt', 'META-INF/manifest.xml', 'META-INF/asicmanifest.xml'],
    );
    assert.equal(entries[0].compressionMethod, 0);
    for (const f of files) {
      assert.ok(entries.find((e) => e.name === f.filename)!.content.equals(f.content), `${f.filename} differs`);
    }

    const manifest = entries[1].content.toString('utf8');
    assert.match(manifest, /<mottaker>\s*<organisasjon authority="iso6523-actorid-upis">0192:920000008<\/organisasjon>\s*<\/mottaker>/);
    assert.match(manifest, /<avsender>\s*<organisasjon authority="iso6523-actorid-upis">0192:910000009<\/organisasjon>\s*<\/avsender>/);
    assert.match(manifest, /<hoveddokument href="vedtak\.pdf" mime="application\/pdf">\s*<tittel lang="no">Hoveddokument<\/tittel>/);

    const oasis = entries[5].content.toString('utf8');
    assert.match(oasis, /manifest:full-path="\/" manifest:media-type="application\/vnd\.etsi\.asic-e\+zip"/);
    assert.match(oasis, /manifest:full-path="vedtak\.pdf" manifest:media-type="application\/pdf"/);
    assert.match(oasis, /manifest:full-path="arkivmelding\.xml" manifest:media-type="text\/xml"/);

    const asicManifest = entries[6].content.toString('utf8');
    const refs = [...asicManifest.matchAll(/<DataObjectReference URI="([^"]+)" MimeType="([^"]+)">[\s\S]*?<ns2:DigestValue>([^<]+)<\/ns2:DigestValue>/g)];
    assert.deepEqual(
      refs.map((r) => [r[1], r[2]]),
      [
        ['manifest.xml', 'application/xml'],
        ['vedtak.pdf', 'application/pdf'],
        ['arkivmelding.xml', 'text/xml'],
        ['vedlegg 1.txt', 'text/plain'],
      ],
    );
    for (const [, uri, , digest] of refs) {
      const content = entries.find((e) => e.name === uri)!.content;
      assert.equal(digest, createHash('sha256').update(content).digest('base64'), `digest of ${uri}`);
    }
  });

  it('leaves no file behind when a document cannot be read', async () => {
    const outPath = path.join(dir, 'broken.zip');
    await assert.rejects(
      buildAsic({ files: [{ filename: 'x.pdf', mimeType: 'application/pdf', path: path.join(dir, 'missing.pdf') }], sender: '910000009', receiver: '920000008', outPath }),
      /ENOENT/,
    );
    assert.equal(fs.existsSync(outPath), false);
    assert.equal(fs.existsSync(`${outPath}.tmp`), false);
  });

  it('escapes XML in file names and builds a manifest without hoveddokument when there are no files', async () => {
    const p = path.join(dir, 'amp.txt');
    fs.writeFileSync(p, 'x');
    const outPath = path.join(dir, 'escaped.zip');
    await buildAsic({ files: [{ filename: 'a&b "c".txt', mimeType: 'text/plain', path: p }], sender: '910000009', receiver: '01017012345', outPath });
    const entries = await readZip(outPath);
    const manifest = entries.find((e) => e.name === 'manifest.xml')!.content.toString();
    assert.match(manifest, /href="a&amp;b &quot;c&quot;\.txt"/);
    assert.match(manifest, />01017012345</);

    const emptyPath = path.join(dir, 'empty.zip');
    await buildAsic({ files: [], sender: '910000009', receiver: '920000008', outPath: emptyPath });
    const emptyEntries = await readZip(emptyPath);
    assert.deepEqual(emptyEntries.map((e) => e.name), ['mimetype', 'manifest.xml', 'META-INF/manifest.xml', 'META-INF/asicmanifest.xml']);
    assert.doesNotMatch(emptyEntries[1].content.toString(), /hoveddokument/);
  });
});
