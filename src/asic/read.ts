import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { guessMimeType } from '../schemas/mime';

/** A document inside an ASiC-E. `size` is the uncompressed size in bytes. */
export interface AsicEntry {
  filename: string;
  mimeType: string;
  size: number;
  primary: boolean;
}

/** An opened ASiC-E; entries are read on demand. Call close() when done. */
export interface AsicArchive {
  /** The documents, in zip order: no `mimetype`, `manifest.xml` or `META-INF/` entries. */
  documents: AsicEntry[];
  /** The document manifest.xml names as hoveddokument. */
  primary?: AsicEntry;
  /** The whole entry in memory: only for entries known to be small. */
  readEntry(filename: string): Promise<Buffer>;
  /** The entry as a stream (inflated on the fly). */
  openEntry(filename: string): Promise<Readable>;
  close(): void;
}

export interface AsicDocument {
  filename: string;
  mimeType: string;
  content: Buffer;
}

export type AsicErrorCode = 'ASIC_UNREADABLE' | 'ASIC_UNSAFE_NAME' | 'ASIC_TOO_LARGE' | 'ASIC_NO_ENTRY' | 'ASIC_CLOSED';

export class AsicError extends Error {
  readonly code: AsicErrorCode;
  constructor(code: AsicErrorCode, message: string) {
    super(message);
    this.name = 'AsicError';
    this.code = code;
  }
}

/** Used by readAsicDocuments when no maxBytes is given. */
export const DEFAULT_MAX_DOCUMENT_BYTES = 100 * 1024 * 1024;
/** Manifests larger than this are ignored rather than read into memory. */
const MAX_MANIFEST_BYTES = 1024 * 1024;



/** True for entries that are packaging, not documents. */
function isPackaging(name: string): boolean {
  return name === 'mimetype' || name === 'manifest.xml' || name.startsWith('META-INF/') || name.endsWith('/');
}

function unsafeNameReason(name: string): string | undefined {
  if (name.startsWith('/') || name.includes('\\') || /^[A-Za-z]:/.test(name)) return 'an absolute path';
  if (name.split('/').includes('..')) return 'a path with ".."';
  return undefined;
}

// yauzl checks names itself and fails with e.g. "invalid relative path: ../x"; say it our way.
const YAUZL_NAME_ERROR = /^(invalid characters in fileName|absolute path|invalid relative path): (.*)$/s;

function asAsicError(err: unknown, path: string): AsicError {
  if (err instanceof AsicError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const name = YAUZL_NAME_ERROR.exec(message);
  if (name) return unsafeEntryError(name[2]);
  return new AsicError('ASIC_UNREADABLE', `Cannot read the ASiC-E ${path}: ${message}`);
}

function unsafeEntryError(name: string): AsicError {
  return new AsicError(
    'ASIC_UNSAFE_NAME',
    `Unsafe entry name "${name}" in the ASiC-E: ${unsafeNameReason(name) ?? 'not a plain relative path'} is not allowed`,
  );
}

/**
 * Archives up to this size are read whole and unzipped in memory: one read instead of a file read per zip record,
 * which made opening a small message's ASiC-E take about ten times as long (bench/small-messages.ts).
 */
const READ_WHOLE_BYTES = 1024 * 1024;

async function openZip(path: string): Promise<ZipFile> {
  let whole: Buffer | undefined;
  try {
    if ((await stat(path)).size <= READ_WHOLE_BYTES) whole = await readFile(path);
  } catch (err) {
    throw asAsicError(err, path);
  }
  return new Promise((resolve, reject) => {
    const opened = (err: Error | null, zip: ZipFile) => (err ? reject(asAsicError(err, path)) : resolve(zip));
    if (whole) yauzl.fromBuffer(whole, { lazyEntries: true }, opened);
    else yauzl.open(path, { lazyEntries: true, autoClose: false }, opened);
  });
}

function readAllEntries(zip: ZipFile, path: string): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    // yauzl itself refuses absolute paths and ".." (turned into ASIC_UNSAFE_NAME by asAsicError).
    zip.on('entry', (entry: Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', (err) => reject(asAsicError(err, path)));
    zip.readEntry();
  });
}

function openStream(zip: ZipFile, entry: Entry, path: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => (err ? reject(asAsicError(err, path)) : resolve(stream)));
  });
}

async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function decodeXmlText(value: string): string {
  return value.replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e] ?? _);
}

/** The attributes of every `<[prefix:]tag ...>` in the XML, by local attribute name. */
function tagsNamed(xml: string, tag: string): Array<Record<string, string>> {
  const found: Array<Record<string, string>> = [];
  const tags = new RegExp(`<(?:[\\w.-]+:)?${tag}\\b([^>]*)>`, 'g');
  for (const [, attributeText] of xml.matchAll(tags)) {
    const attributes: Record<string, string> = {};
    for (const [, name, double, single] of attributeText.matchAll(/([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      attributes[name.slice(name.indexOf(':') + 1)] = decodeXmlText(double ?? single);
    }
    found.push(attributes);
  }
  return found;
}

/** ASiC URIs may be percent-encoded (spaces, non-ASCII); map both forms. */
function uriVariants(uri: string): string[] {
  try {
    const decoded = decodeURIComponent(uri);
    return decoded === uri ? [uri] : [uri, decoded];
  } catch {
    return [uri];
  }
}

/**
 * Opens an ASiC-E (zip) and lists its documents with MIME types (manifest.xml's hoveddokument, then
 * META-INF/asicmanifest.xml, then META-INF/manifest.xml, then the extension) and the primary document.
 * Only the central directory and the small manifests are read; documents stay on disk until asked for.
 */
export async function openAsic(path: string): Promise<AsicArchive> {
  const zip = await openZip(path);
  try {
    const entries = await readAllEntries(zip, path);
    // Later read errors reach the caller through the entry streams; keep a stray 'error' event from crashing the process.
    zip.on('error', () => undefined);
    const byName = new Map(entries.map((e) => [e.fileName, e]));

    const readManifest = async (name: string): Promise<string | undefined> => {
      const entry = byName.get(name);
      if (!entry || entry.uncompressedSize > MAX_MANIFEST_BYTES) return undefined;
      return (await streamToBuffer(await openStream(zip, entry, path))).toString('utf8');
    };

    const mimeTypes = new Map<string, string>();
    const remember = (uri: string | undefined, mime: string | undefined) => {
      if (!uri || !mime) return;
      for (const name of uriVariants(uri.replace(/^\.?\//, ''))) if (!mimeTypes.has(name)) mimeTypes.set(name, mime);
    };
    let primaryName: string | undefined;
    const manifest = await readManifest('manifest.xml');
    if (manifest) {
      const main = tagsNamed(manifest, 'hoveddokument')[0];
      if (main?.href) {
        primaryName = main.href;
        remember(main.href, main.mime);
      }
    }
    const asicManifest = await readManifest('META-INF/asicmanifest.xml');
    for (const ref of asicManifest ? tagsNamed(asicManifest, 'DataObjectReference') : []) remember(ref.URI, ref.MimeType);
    const odfManifest = await readManifest('META-INF/manifest.xml');
    for (const file of odfManifest ? tagsNamed(odfManifest, 'file-entry') : []) remember(file['full-path'], file['media-type']);

    const documents: AsicEntry[] = entries
      .filter((e) => !isPackaging(e.fileName))
      .map((e) => ({
        filename: e.fileName,
        mimeType: mimeTypes.get(e.fileName) ?? guessMimeType(e.fileName),
        size: e.uncompressedSize,
        primary: false,
      }));
    const primary = primaryName === undefined ? undefined : documents.find((d) => uriVariants(primaryName!).includes(d.filename));
    if (primary) primary.primary = true;

    let closed = false;
    const entryNamed = (filename: string): Entry => {
      if (closed) throw new AsicError('ASIC_CLOSED', `The ASiC-E ${path} is already closed`);
      const entry = byName.get(filename);
      if (!entry || entry.fileName.endsWith('/')) {
        const names = documents.map((d) => d.filename).join(', ') || 'none';
        throw new AsicError('ASIC_NO_ENTRY', `No entry named "${filename}" in the ASiC-E (documents: ${names})`);
      }
      return entry;
    };
    return {
      documents,
      primary,
      openEntry: async (filename) => openStream(zip, entryNamed(filename), path),
      readEntry: async (filename) => streamToBuffer(await openStream(zip, entryNamed(filename), path)),
      close: () => {
        if (closed) return;
        closed = true;
        zip.close();
      },
    };
  } catch (err) {
    zip.close();
    throw asAsicError(err, path);
  }
}

/**
 * Every document of an ASiC-E in memory, for small messages. Refuses, before reading any document, when their
 * total uncompressed size is above `maxBytes` (default 100 MiB).
 */
export async function readAsicDocuments(path: string, options: { maxBytes?: number } = {}): Promise<AsicDocument[]> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  const asic = await openAsic(path);
  try {
    const total = asic.documents.reduce((sum, d) => sum + d.size, 0);
    if (total > maxBytes) {
      throw new AsicError(
        'ASIC_TOO_LARGE',
        `The ASiC-E's documents are ${total} bytes uncompressed, more than the limit of ${maxBytes} bytes (maxBytes); read it as a file instead`,
      );
    }
    const documents: AsicDocument[] = [];
    for (const d of asic.documents) {
      documents.push({ filename: d.filename, mimeType: d.mimeType, content: await asic.readEntry(d.filename) });
    }
    return documents;
  } finally {
    asic.close();
  }
}

/** Writes a stream (e.g. a downloaded ASiC-E) to a new file in `dir` (default: the OS temp dir) and returns its path. */
export async function saveStreamToTempFile(stream: Readable, dir: string = tmpdir()): Promise<string> {
  const path = join(dir, `eformidling-${randomUUID()}.asic`);
  try {
    await pipeline(stream, createWriteStream(path, { flags: 'wx' }));
  } catch (err) {
    await unlink(path).catch(() => undefined);
    throw err;
  }
  return path;
}
