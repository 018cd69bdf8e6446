import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The download went past the byte limit and was stopped. */
export class TooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`the message is larger than ${limit} bytes`);
    this.name = 'TooLargeError';
    this.limit = limit;
  }
}

export interface SavedFile {
  path: string;
  size: number;
  sha256: string;
}

/** `<dir>/.<name>.part`: hidden, and never the name a reader looks for. */
export function partialPathOf(destPath: string): string {
  return path.join(path.dirname(destPath), `.${path.basename(destPath)}.part`);
}

/**
 * Streams `body` to `destPath` atomically: into a hidden `.part` file beside it, flushed to disk (unless
 * `durable` is false, for temporary files), then renamed.
 * On any failure (the connection dropping, `signal` aborting, more than `maxBytes`) the partial file is removed
 * and `destPath` is left as it was.
 */
export async function saveStream(
  body: Readable,
  destPath: string,
  options: { signal?: AbortSignal; maxBytes?: number; /** flush to disk before the rename (default true) */ durable?: boolean } = {},
): Promise<SavedFile> {
  const partPath = partialPathOf(destPath);
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        callback(new TooLargeError(options.maxBytes));
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const out = createWriteStream(partPath);
  try {
    await pipeline(body, count, out, { signal: options.signal });
    if (options.durable !== false) {
      const handle = await open(partPath, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    await rename(partPath, destPath);
  } catch (err) {
    body.destroy();
    out.destroy();
    // The stream may still be opening the file; remove it only once it is closed, or it could reappear.
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
    await rm(partPath, { force: true });
    throw err;
  }
  return { path: destPath, size, sha256: hash.digest('hex') };
}

/** A file name made only of safe characters, so an odd messageId cannot reach outside the folder. */
export function safeFileName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return cleaned || '_';
}
