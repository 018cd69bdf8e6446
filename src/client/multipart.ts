import { createReadStream, promises as fsp } from 'node:fs';
import { basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ValidationError } from '../schemas/format';
import { fileChunks } from './file-chunks';
import { guessMimeType } from '../schemas/mime';
import type { UploadFile } from './types';

/** 1 MiB reads: 64 KiB reads measured 3x slower than curl on large uploads. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/** The IP's per-file limit on the multipart endpoint (§6.5). */
export const MULTIPART_MAX_FILE_BYTES = 5 * 1024 * 1024;

/** An UploadFile checked and with its name, type and (when knowable) size settled. */
export interface ResolvedFile {
  filename: string;
  mimeType: string;
  title?: string;
  /** Bytes, when known (path: from stat; content: its length; stream: the given size). */
  size?: number;
  /** True when the content can be read again (for a retry); a caller's stream can be read only once. */
  reopenable: boolean;
  /** The content as a Buffer, or a fresh stream of it. */
  open(): Buffer | Readable;
  /** For a file on disk: its chunks in reused buffers, only for an undici request body (see fileChunks). */
  chunks?(): AsyncIterable<Buffer>;
}

/** Checks an UploadFile (`field` names it in errors, e.g. `files[2]`) and stats a path to learn its size. */
export async function resolveUploadFile(file: UploadFile, field = 'file'): Promise<ResolvedFile> {
  if (typeof file !== 'object' || file === null) throw new ValidationError(`${field}: expected an object with content, path or stream`);
  const sources = (['content', 'path', 'stream'] as const).filter((k) => file[k] !== undefined && file[k] !== null);
  if (sources.length !== 1) {
    throw new ValidationError(`${field}: expected exactly one of content, path or stream, got ${sources.length ? sources.join(' and ') : 'none'}`);
  }
  const filename = file.filename ?? (file.path !== undefined ? basename(file.path) : undefined);
  if (typeof filename !== 'string' || filename.trim() === '') {
    throw new ValidationError(`${field}.filename: expected a file name (e.g. "vedtak.pdf") for ${sources[0]} content`);
  }
  if (file.title !== undefined && typeof file.title !== 'string') throw new ValidationError(`${field}.title: expected a string`);
  if (file.mimeType !== undefined && (typeof file.mimeType !== 'string' || !/^[\w.+-]+\/[\w.+-]+/.test(file.mimeType))) {
    throw new ValidationError(`${field}.mimeType: expected a MIME type such as application/pdf, got ${JSON.stringify(file.mimeType)}`);
  }
  const base = { filename, mimeType: file.mimeType || guessMimeType(filename), title: file.title || undefined };

  if (file.content !== undefined) {
    if (typeof file.content !== 'string' && !Buffer.isBuffer(file.content)) {
      throw new ValidationError(`${field}.content: expected a Buffer or a string`);
    }
    const content = typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : file.content;
    return { ...base, size: content.length, reopenable: true, open: () => content };
  }
  if (file.path !== undefined) {
    const path = file.path;
    if (typeof path !== 'string' || path === '') throw new ValidationError(`${field}.path: expected a file path`);
    let stat;
    try {
      stat = await fsp.stat(path);
    } catch (err) {
      throw new ValidationError(`${field}.path: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!stat.isFile()) throw new ValidationError(`${field}.path: ${path} is not a file`);
    return {
      ...base,
      size: stat.size,
      reopenable: true,
      open: () => createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }),
      chunks: () => fileChunks(path),
    };
  }
  const stream = file.stream as Readable;
  if (typeof (stream as Readable).pipe !== 'function') throw new ValidationError(`${field}.stream: expected a Readable stream`);
  if (file.size !== undefined && !(Number.isInteger(file.size) && file.size >= 0)) {
    throw new ValidationError(`${field}.size: expected the stream's length in bytes, got ${JSON.stringify(file.size)}`);
  }
  let opened = false;
  return {
    ...base,
    size: file.size,
    reopenable: false,
    open: () => {
      if (opened) throw new Error(`${field}.stream can only be read once`);
      opened = true;
      return stream;
    },
  };
}

// ------------------------------------------------------------------ Content-Disposition

const COMBINING_MARKS = /[\u0300-\u036f]/g;
const SPECIAL_LETTERS: Record<string, string> = { æ: 'ae', Æ: 'AE', ø: 'o', Ø: 'O', ß: 'ss', đ: 'd', Đ: 'D', ł: 'l', Ł: 'L', œ: 'oe', Œ: 'OE' };

/**
 * A printable ASCII stand-in for a header parameter: letters lose their accents (Søknad → Soknad), anything else
 * outside printable ASCII, and `"` and `\`, become `_`. `"`/`\` are replaced rather than escaped because the IP's
 * Content-Disposition parser neither unescapes them nor skips escaped quotes (it would split the header wrongly);
 * the exact value travels in the `*=UTF-8''` parameter beside it.
 */
export function asciiFallback(value: string): string {
  return value
    .normalize('NFKD')
    .replace(COMBINING_MARKS, '')
    .replace(/[^\x20-\x7e]/g, (c) => SPECIAL_LETTERS[c] ?? '_')
    .replace(/["\\]/g, '_');
}

/** RFC 5987 value-chars: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else percent-encoded UTF-8 (the IP rejects others). */
export function encodeRfc5987(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `; key="ascii"` plus `; key*=UTF-8''…` when the ASCII form is not exact. */
function dispositionParam(key: string, value: string): string {
  const ascii = asciiFallback(value);
  let out = `; ${key}="${ascii}"`;
  if (ascii !== value) out += `; ${key}*=UTF-8''${encodeRfc5987(value)}`;
  return out;
}

/**
 * A Content-Disposition value, e.g.
 * `attachment; name="Søknad"; filename="Soknad.pdf"; filename*=UTF-8''S%C3%B8knad.pdf` (name* likewise).
 */
export function contentDisposition(type: 'attachment' | 'form-data', params: { name?: string; filename?: string }): string {
  let out = type;
  if (params.name !== undefined) out += dispositionParam('name', params.name);
  if (params.filename !== undefined) out += dispositionParam('filename', params.filename);
  return out;
}

// ------------------------------------------------------------------ multipart/form-data

export interface MultipartBody {
  /** `multipart/form-data; boundary=…` */
  contentType: string;
  /** Total bytes when every file's size is known, so the request is not chunked. */
  contentLength?: number;
  /** True when the body can be produced again for a retry. */
  reopenable: boolean;
  /**
   * The whole body, afresh, chunk by chunk: only for a consumer that is done with a chunk when it asks for the
   * next (undici's request body), since files on disk are read into reused buffers (see fileChunks).
   */
  open(): AsyncIterable<Buffer>;
}

/** Rejects, before any request, a file the IP would refuse on the multipart endpoint. */
export function checkMultipartSizes(files: ResolvedFile[]): void {
  files.forEach((file, i) => {
    if (file.size !== undefined && file.size > MULTIPART_MAX_FILE_BYTES) {
      throw new ValidationError(
        `files[${i}] (${file.filename}): ${file.size} bytes is over the multipart limit of 5 MiB (${MULTIPART_MAX_FILE_BYTES} bytes); use the three-step send (createMessage, uploadFile, sendMessage) for large files`,
      );
    }
  });
}

/**
 * The multipart/form-data body of POST /api/messages/out/multipart (§6.5): part `sbd` (application/json, no
 * filename, so the IP does not take it for an attachment), then one part per file named by its title (or file
 * name), with its filename and Content-Type. File contents are streamed, never held in memory.
 */
export function buildMultipart(sbdJson: string, files: ResolvedFile[], boundary = `----eformidling-${randomBytes(12).toString('hex')}`): MultipartBody {
  const sbdHead = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="sbd"\r\nContent-Type: application/json\r\n\r\n`, 'utf8');
  const sbd = Buffer.from(sbdJson, 'utf8');
  const heads = files.map((f) =>
    Buffer.from(
      `\r\n--${boundary}\r\nContent-Disposition: ${contentDisposition('form-data', { name: f.title ?? f.filename, filename: f.filename })}\r\nContent-Type: ${f.mimeType}\r\n\r\n`,
      'utf8',
    ),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');

  const known = files.every((f) => f.size !== undefined);
  const contentLength = known
    ? sbdHead.length + sbd.length + heads.reduce((n, h) => n + h.length, 0) + files.reduce((n, f) => n + (f.size as number), 0) + tail.length
    : undefined;

  async function* parts(): AsyncGenerator<Buffer> {
    yield Buffer.concat([sbdHead, sbd]);
    for (let i = 0; i < files.length; i++) {
      yield heads[i];
      const content = files[i].chunks?.() ?? files[i].open();
      if (Buffer.isBuffer(content)) {
        yield content;
      } else {
        for await (const chunk of content) yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      }
    }
    yield tail;
  }

  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength,
    reopenable: files.every((f) => f.reopenable),
    open: parts,
  };
}
