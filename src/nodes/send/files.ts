import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { guessMimeType } from '../../schemas/mime';
import type { NodeMessage } from '../shared/types';

/** A file to send, checked: a safe unique name, a MIME type, and its size. Exactly one of content and path. */
export interface OutgoingFile {
  filename: string;
  mimeType: string;
  title?: string;
  size: number;
  content?: Buffer;
  /** Streamed from disk when sent; never read into memory. */
  path?: string;
}

/** What a file name inside the ASiC may not be: a path, a dot name, control characters. */
function unsafeNameReason(name: string): string | undefined {
  if (name.trim() === '') return 'it is empty';
  if (/[/\\]/.test(name)) return 'it contains a folder separator';
  if (name === '.' || name === '..') return 'it is a dot name';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'it contains control characters';
  if (Buffer.byteLength(name) > 255) return 'it is longer than 255 bytes';
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

async function statReadable(file: string, field: string): Promise<number> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${field}: file not found: ${file}`);
    throw new Error(`${field}: cannot read ${file} (${code ?? (err as Error).message})`);
  }
  if (!stat.isFile()) throw new Error(`${field}: ${file} is not a file`);
  try {
    await fs.access(file, fsConstants.R_OK);
  } catch (err) {
    throw new Error(`${field}: ${file} is not readable (${(err as NodeJS.ErrnoException).code ?? 'no permission'})`);
  }
  return stat.size;
}

function optionalText(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`${field}: expected text, got ${describe(value)}`);
  return value;
}

/** One entry of msg.files, checked; `where` is e.g. "msg.files[2]". */
async function fileFromItem(item: unknown, where: string): Promise<OutgoingFile> {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new Error(`${where}: expected { filename?, mimeType?, title?, content? | path? }, got ${describe(item)}`);
  }
  const entry = item as Record<string, unknown>;
  const hasContent = entry.content !== undefined && entry.content !== null;
  const hasPath = entry.path !== undefined && entry.path !== null && entry.path !== '';
  if (hasContent === hasPath) {
    throw new Error(`${where}: expected exactly one of content (a Buffer or string) and path (a file on disk), got ${hasContent ? 'both' : 'neither'}`);
  }
  const title = optionalText(entry.title, `${where}.title`);
  const mimeType = optionalText(entry.mimeType, `${where}.mimeType`);
  let filename = optionalText(entry.filename, `${where}.filename`);
  if (hasPath) {
    if (typeof entry.path !== 'string') throw new Error(`${where}.path: expected the path of a file, got ${describe(entry.path)}`);
    const size = await statReadable(entry.path, `${where}.path`);
    filename ??= path.basename(entry.path);
    return { filename, mimeType: mimeType ?? guessMimeType(filename), title, size, path: entry.path };
  }
  const content = entry.content;
  if (!Buffer.isBuffer(content) && typeof content !== 'string') {
    throw new Error(`${where}.content: expected a Buffer or a string, got ${describe(content)}`);
  }
  if (!filename) throw new Error(`${where}.filename: expected a file name for the content, got nothing`);
  const buffer = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  return { filename, mimeType: mimeType ?? guessMimeType(filename), title, size: buffer.length, content: buffer };
}

/**
 * The files of a msg: `msg.files` (a list), else `msg.payload` (Buffer or string) named by `msg.filename`
 * (its base name, so the msg of a core file-in node works), else none. Every file is checked before anything
 * is sent: paths exist and are readable, names are safe and unique.
 */
export async function collectFiles(msg: NodeMessage): Promise<OutgoingFile[]> {
  const files: Array<{ file: OutgoingFile; field: string }> = [];
  if (msg.files !== undefined && msg.files !== null) {
    if (!Array.isArray(msg.files)) throw new Error(`msg.files: expected a list of files, got ${describe(msg.files)}`);
    for (let i = 0; i < msg.files.length; i++) {
      files.push({ file: await fileFromItem(msg.files[i], `msg.files[${i}]`), field: `msg.files[${i}].filename` });
    }
  } else if (Buffer.isBuffer(msg.payload) || typeof msg.payload === 'string') {
    const filename = optionalText(msg.filename, 'msg.filename');
    if (!filename) throw new Error('msg.filename: expected a file name for the file in msg.payload, got nothing');
    const name = path.basename(filename);
    const content = Buffer.isBuffer(msg.payload) ? msg.payload : Buffer.from(msg.payload, 'utf8');
    const mimeType = optionalText(msg.mimeType, 'msg.mimeType') ?? guessMimeType(name);
    const title = optionalText(msg.title, 'msg.title');
    files.push({ file: { filename: name, mimeType, title, size: content.length, content }, field: 'msg.filename' });
  }

  const seen = new Map<string, string>();
  for (const { file, field } of files) {
    const reason = unsafeNameReason(file.filename);
    if (reason) throw new Error(`${field}: ${JSON.stringify(file.filename)} is not a usable file name: ${reason}`);
    const earlier = seen.get(file.filename);
    if (earlier) throw new Error(`${field}: duplicate file name ${JSON.stringify(file.filename)} (also ${earlier}); every file in a message needs its own name`);
    seen.set(file.filename, field);
  }
  return files.map((f) => f.file);
}
