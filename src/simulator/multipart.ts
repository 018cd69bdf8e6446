import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { SimulatorError } from './errors';

/** Each file part of a multipart request may be at most 5 MiB (NextMoveMessageOutController.MAX_SIZE). */
export const MULTIPART_MAX_FILE_SIZE = 5 * 1024 * 1024;

export interface ReceivedPart {
  /** Part name: the attachment's title. */
  name: string;
  filename: string;
  /** The part's Content-Type ('' when it had none). */
  mimeType: string;
  /** Where the bytes were written (at most MULTIPART_MAX_FILE_SIZE + 1 of them). */
  path: string;
  size: number;
  tooLarge: boolean;
}

export interface ReceivedMultipart {
  /** The `sbd` part's text, if there was one. */
  sbd?: string;
  /** Grouped by part name, each name in the order of its first part. */
  files: ReceivedPart[];
}

/**
 * Streams a multipart/form-data body to files (one per file part, via `tempPath()`), stopping each at the 5 MiB
 * limit (plus one byte) and discarding the rest. A part with a filename is a file, even when it is named `sbd` (it is then also read
 * as the SBD, as Spring binds it).
 */
export async function receiveMultipart(req: IncomingMessage, tempPath: () => string): Promise<ReceivedMultipart> {
  const result: ReceivedMultipart = { files: [] };
  const writes: Array<Promise<void>> = [];
  const parser = busboy({
    headers: req.headers,
    defParamCharset: 'utf8',
    preservePath: true,
    // busboy reports the limit when a file reaches it, so one byte more tells "too large" from "exactly the limit".
    limits: { fileSize: MULTIPART_MAX_FILE_SIZE + 1, fieldSize: 64 * 1024 * 1024 },
  });

  parser.on('field', (name, value) => {
    if (name === 'sbd' && result.sbd === undefined) result.sbd = value;
  });
  parser.on('file', (name, stream, info) => {
    const part: ReceivedPart = { name, filename: info.filename ?? '', mimeType: info.mimeType ?? '', path: tempPath(), size: 0, tooLarge: false };
    result.files.push(part);
    stream.on('data', (chunk: Buffer) => (part.size += chunk.length));
    stream.on('limit', () => (part.tooLarge = true));
    // 1 MiB buffered: pieces gather while one write is under way and go to disk in one writev.
    writes.push(pipeline(stream, createWriteStream(part.path, { highWaterMark: 1024 * 1024 })));
  });

  try {
    await pipeline(req, parser);
    await Promise.all(writes);
  } catch (err) {
    await Promise.allSettled(writes);
    if (req.destroyed || (err as NodeJS.ErrnoException).code === 'ECONNRESET') throw err;
    throw new SimulatorError(500, 'org.springframework.web.multipart.MultipartException', `Failed to parse multipart servlet request: ${(err as Error).message}`);
  }

  // Spring hands the files over grouped by part name (in order of each name's first part).
  const names = [...new Set(result.files.map((f) => f.name))];
  result.files = names.flatMap((name) => result.files.filter((f) => f.name === name));

  if (result.sbd === undefined) {
    const sbdFile = result.files.find((f) => f.name === 'sbd');
    if (sbdFile && !sbdFile.tooLarge) result.sbd = await readFile(sbdFile.path, 'utf8');
  }
  return result;
}
