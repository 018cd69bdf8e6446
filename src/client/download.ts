import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DownloadResult } from './types';

/** Writing the local file failed (as opposed to the stream being read). */
export class SaveFileError extends Error {
  constructor(destPath: string, cause: unknown) {
    super(`Cannot write ${destPath}: ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = 'SaveFileError';
  }
}

/**
 * Streams `body` to `destPath` atomically: it is written to `<dest>.part-<random>` in the same directory while its
 * SHA-256 is computed, fsynced, then renamed to `destPath`. A failure of the local file is a SaveFileError,
 * one of `body` is passed on as it is. On any failure the temp file is removed and nothing is
 * left at `destPath` (an existing file there is only replaced on success).
 */
export async function saveStreamToFile(body: Readable, destPath: string): Promise<DownloadResult> {
  const tempPath = join(dirname(destPath), `${basename(destPath)}.part-${randomBytes(6).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  // flush: fsync before close, so the rename never exposes a file whose data is not on disk.
  const out = createWriteStream(tempPath, { flags: 'wx', flush: true });
  // pipeline passes the first error on to every stream, so remember where it started.
  let failedFirst: 'body' | 'file' | undefined;
  body.once('error', () => (failedFirst ??= 'body'));
  out.once('error', () => (failedFirst ??= 'file'));
  try {
    await pipeline(body, tap, out);
  } catch (err) {
    body.destroy();
    await fsp.rm(tempPath, { force: true });
    throw failedFirst === 'file' ? new SaveFileError(destPath, err) : err;
  }
  try {
    await fsp.rename(tempPath, destPath);
  } catch (err) {
    await fsp.rm(tempPath, { force: true });
    throw new SaveFileError(destPath, err);
  }
  return { path: destPath, size, sha256: hash.digest('hex') };
}
