import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { ZipFile } from 'yazl';
import { IP_MIME_TYPES, fileExtension } from '../schemas/mime';
import { IDENTIFIER_AUTHORITY } from '../schemas/sbd';

export const ASIC_MIME_TYPE = 'application/vnd.etsi.asic-e+zip';

/** Documents at least this big are stored rather than deflated: building a multi-GB container should not cost minutes of CPU. */
const STORE_FROM_BYTES = 64 * 1024 * 1024;


/** MIME type from the file name's last extension, as the IP derives it for uploads without a usable Content-Type. */
export function mimeTypeFor(filename: string): string {
  return IP_MIME_TYPES[fileExtension(filename)] ?? 'application/pdf';
}

export interface AsicFile {
  /** Name inside the container. */
  filename: string;
  mimeType: string;
  /** The file on disk; streamed, never read whole. */
  path: string;
}

export interface BuildAsicOptions {
  /** Primary document first, then the others in upload order. */
  files: AsicFile[];
  sender: string;
  receiver: string;
  outPath: string;
}

function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** `910000009` → `0192:910000009`; `0192:…` and person ids as they are. */
function iso6523(identifier: string): string {
  return /^\d{9}$/.test(identifier) ? `0192:${identifier}` : identifier;
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';

/** The eFormidling manifest.xml an IP writes (§7.7). */
export function eformidlingManifest(sender: string, receiver: string, primary?: { filename: string; mimeType: string }): string {
  const organisasjon = (id: string) => `<organisasjon authority="${IDENTIFIER_AUTHORITY}">${escapeXml(iso6523(id))}</organisasjon>`;
  let xml = XML_DECLARATION + '<manifest>\n';
  xml += `    <mottaker>\n        ${organisasjon(receiver)}\n    </mottaker>\n`;
  xml += `    <avsender>\n        ${organisasjon(sender)}\n    </avsender>\n`;
  if (primary) {
    xml += `    <hoveddokument href="${escapeXml(primary.filename)}" mime="${escapeXml(primary.mimeType)}">\n`;
    xml += '        <tittel lang="no">Hoveddokument</tittel>\n    </hoveddokument>\n';
  }
  return xml + '</manifest>\n';
}

/** OASIS (ODF-style) META-INF/manifest.xml listing the container's entries with their media types. */
function oasisManifest(entries: Array<{ filename: string; mimeType: string }>): string {
  let xml = XML_DECLARATION + '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">\n';
  xml += `    <manifest:file-entry manifest:full-path="/" manifest:media-type="${ASIC_MIME_TYPE}"/>\n`;
  for (const e of entries) {
    xml += `    <manifest:file-entry manifest:full-path="${escapeXml(e.filename)}" manifest:media-type="${escapeXml(e.mimeType)}"/>\n`;
  }
  return xml + '</manifest:manifest>\n';
}

/** ETSI ASiC manifest (META-INF/asicmanifest.xml): each data object with its MIME type and SHA-256 digest. */
function asicManifest(entries: Array<{ filename: string; mimeType: string; sha256: string }>): string {
  let xml = XML_DECLARATION + '<ASiCManifest xmlns="http://uri.etsi.org/02918/v1.2.1#" xmlns:ns2="http://www.w3.org/2000/09/xmldsig#">\n';
  for (const e of entries) {
    xml += `    <DataObjectReference URI="${escapeXml(e.filename)}" MimeType="${escapeXml(e.mimeType)}">\n`;
    xml += '        <ns2:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>\n';
    xml += `        <ns2:DigestValue>${e.sha256}</ns2:DigestValue>\n`;
    xml += '    </DataObjectReference>\n';
  }
  return xml + '</ASiCManifest>\n';
}

/** A pass-through that hashes what flows through it; `digest` resolves (base64) when the stream has ended. */
function hashingStream(): { stream: Transform; digest: Promise<string> } {
  const hash = createHash('sha256');
  let resolveDigest!: (value: string) => void;
  const digest = new Promise<string>((resolve) => (resolveDigest = resolve));
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      resolveDigest(hash.digest('base64'));
      cb();
    },
  });
  return { stream, digest };
}

/**
 * Writes an ASiC-E container to `outPath` (via `outPath.tmp`, renamed when complete):
 * `mimetype` (stored, first), `manifest.xml`, the documents byte for byte, `META-INF/manifest.xml` and
 * `META-INF/asicmanifest.xml` with SHA-256 digests computed while the documents stream through. Unsigned: no CMS signature.
 * ZIP64 is used by yazl where an entry or the archive passes 4 GiB.
 */
export async function buildAsic(options: BuildAsicOptions): Promise<{ size: number }> {
  const { files, sender, receiver, outPath } = options;
  const names = new Set<string>();
  for (const f of files) {
    if (names.has(f.filename)) throw new Error(`Duplicate filename in ASiC: ${f.filename}`);
    names.add(f.filename);
  }
  const sizes = await Promise.all(files.map(async (f) => (await stat(f.path)).size));

  const tmpPath = `${outPath}.tmp`;
  const zip = new ZipFile();
  const out = createWriteStream(tmpPath, { flush: true });
  const mtime = new Date();

  const written = new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      (zip.outputStream as unknown as Transform).destroy();
      out.destroy();
      reject(err);
    };
    zip.on('error', fail);
    out.on('error', fail);
    out.on('close', () => {
      if (!failed) resolve();
    });
    zip.outputStream.on('error', fail);
    zip.outputStream.pipe(out);

    // mimetype: first, stored, no extra fields (ETSI ASiC requirement for detecting the container type).
    zip.addBuffer(Buffer.from(ASIC_MIME_TYPE, 'ascii'), 'mimetype', { compress: false, mtime, forceDosTimestamp: true });

    const manifestXml = Buffer.from(eformidlingManifest(sender, receiver, files[0]), 'utf8');
    zip.addBuffer(manifestXml, 'manifest.xml', { mtime });
    const digests: Array<Promise<string>> = [Promise.resolve(createHash('sha256').update(manifestXml).digest('base64'))];

    files.forEach((file, i) => {
      const hashing = hashingStream();
      digests.push(hashing.digest);
      zip.addReadStreamLazy(file.filename, { mtime, size: sizes[i], compress: sizes[i] < STORE_FROM_BYTES }, (cb) => {
        const source = createReadStream(file.path);
        source.on('error', fail);
        cb(null, source.pipe(hashing.stream));
      });
    });

    const documents = files.map((f) => ({ filename: f.filename, mimeType: f.mimeType }));
    zip.addBuffer(Buffer.from(oasisManifest([{ filename: 'manifest.xml', mimeType: 'application/xml' }, ...documents]), 'utf8'), 'META-INF/manifest.xml', {
      mtime,
    });

    // The ASiC manifest needs every digest, so it is added once the documents have streamed through.
    Promise.all(digests).then((values) => {
      if (failed) return;
      const objects = [{ filename: 'manifest.xml', mimeType: 'application/xml' }, ...documents].map((e, i) => ({ ...e, sha256: values[i] }));
      zip.addBuffer(Buffer.from(asicManifest(objects), 'utf8'), 'META-INF/asicmanifest.xml', { mtime });
      zip.end();
    }, fail);
  });

  try {
    await written;
    await rename(tmpPath, outPath);
  } catch (err) {
    await rm(tmpPath, { force: true });
    throw err;
  }
  return { size: (await stat(outPath)).size };
}
