import { createHash, type Hash } from 'node:crypto';
import { close, fdatasync, fsync, open, write } from 'node:fs';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { SaveFileError } from './download';
import type { BodySink } from './http-get';

/** The download went past its byte limit and was stopped. */
export class TooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`the message is larger than ${limit} bytes`);
    this.name = 'TooLargeError';
    this.limit = limit;
  }
}

/** Body bytes gather in buffers of this size, so the disk gets few, large requests. */
const BUFFER_BYTES = 1024 * 1024;
/**
 * ...but each write system call takes 256 KiB of a buffer. Linux gives a write page-cache folios as large as the
 * write, and on a machine whose memory the page cache had broken up, finding free 1 MiB folios (compacting
 * memory) cost 2-4 s of kernel CPU per GiB; 512 KiB writes 1.5-1.9 s, 256 KiB 0.5-0.6 s, 128 KiB 0.6-0.7 s
 * (bench/README.md).
 */
const WRITE_BYTES = 256 * 1024;
/** Buffers per download: the one being filled, and up to three on their way to disk. */
const BUFFERS = 4;
/**
 * A durable download asks the disk to catch up every 64 MiB while it runs, so the fsync at the end finds little
 * left to write (about 13% faster for 1 GiB).
 */
const FLUSH_EVERY_BYTES = 64 * 1024 * 1024;

/** Buffers of finished downloads, kept for the next one so a download allocates nothing once warm. */
const spareBuffers: Buffer[] = [];

const openFile = promisify(open);
const closeFile = promisify(close);
const syncFile = promisify(fsync);

export interface FileSinkOptions {
  /** Stop with TooLargeError past this many bytes. */
  maxBytes?: number;
  /** fsync before finish() returns (default true); false for temporary files. */
  durable?: boolean;
  /** Compute the SHA-256 (about 0.6 s of CPU per GiB); default false. */
  hash?: boolean;
  /** The path errors name (the file the user asked for, not the temp file); default the sink's path. */
  reportPath?: string;
}

/**
 * A file being downloaded into: body bytes are copied into 1 MiB buffers, and each full buffer is written at its
 * own offset while the download goes on. `write` asks to pause while three buffers are on their way to disk, and
 * `resume` is called when one is back. Bytes that still come after the pause go into a further buffer, never into
 * one being written. Nothing is allocated per write.
 */
export class FileSink implements BodySink {
  /** Called when a paused download may go on (set by whoever reads the body). */
  resume: () => void = () => undefined;
  size = 0;

  /** Buffers ready to be filled. */
  private readonly free: Buffer[] = [];
  private readonly hash?: Hash;
  private current?: Buffer;
  private fill = 0;
  private offset = 0;
  private writing = 0;
  private flushing = false;
  private unflushed = 0;
  private paused = false;
  private error?: SaveFileError;
  private idle?: () => void;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly options: FileSinkOptions,
  ) {
    if (options.hash) this.hash = createHash('sha256');
  }

  /** Creates (or empties) the file at `path`. */
  static async open(path: string, options: FileSinkOptions = {}): Promise<FileSink> {
    try {
      return new FileSink(path, await openFile(path, 'w'), options);
    } catch (err) {
      throw new SaveFileError(options.reportPath ?? path, err);
    }
  }

  write(buffer: Buffer, start: number, end: number): boolean {
    if (this.error) throw this.error;
    this.size += end - start;
    if (this.options.maxBytes !== undefined && this.size > this.options.maxBytes) throw new TooLargeError(this.options.maxBytes);
    this.hash?.update(buffer.subarray(start, end));
    while (start < end) {
      const target = (this.current ??= this.free.pop() ?? spareBuffers.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES));
      const n = Math.min(end - start, BUFFER_BYTES - this.fill);
      buffer.copy(target, this.fill, start, start + n);
      this.fill += n;
      start += n;
      if (this.fill === BUFFER_BYTES) this.submit();
    }
    this.paused = this.writing >= BUFFERS - 1;
    return !this.paused;
  }

  /** Writes what is left, waits for the disk (fsync when durable) and closes the file. */
  async finish(): Promise<{ size: number; sha256?: string }> {
    if (this.fill > 0) this.submit();
    await this.settled();
    try {
      if (this.error) throw this.error;
      if (this.options.durable !== false) await syncFile(this.fd).catch((err) => Promise.reject(this.saveError(err)));
    } finally {
      await this.close();
    }
    return { size: this.size, sha256: this.hash?.digest('hex') };
  }

  /** Stops: waits for writes under way, closes and removes the file. */
  async discard(): Promise<void> {
    await this.settled();
    await this.close();
    await rm(this.path, { force: true });
  }

  private submit(): void {
    const buffer = this.current as Buffer;
    const length = this.fill;
    const position = this.offset;
    this.offset += length;
    this.current = undefined;
    this.fill = 0;
    this.writing++;
    // The pieces of one buffer go one after the other (a few buffers at a time), not all at once into the thread pool.
    const writeFrom = (at: number) => {
      const n = Math.min(WRITE_BYTES, length - at);
      write(this.fd, buffer, at, n, position + at, (err) => {
        if (!err && at + n < length) writeFrom(at + n);
        else written(err);
      });
    };
    const written = (err: NodeJS.ErrnoException | null) => {
      this.free.push(buffer);
      this.writing--;
      if (err) this.error ??= this.saveError(err);
      this.unflushed += length;
      this.flushSometimes();
      if (this.paused && this.writing < BUFFERS - 1) {
        this.paused = false;
        this.resume();
      }
      this.checkIdle();
    };
    writeFrom(0);
  }

  /** Not awaited: the download goes on meanwhile. A failure shows up again in the final fsync. */
  private flushSometimes(): void {
    if (this.options.durable === false || this.flushing || this.closed || this.unflushed < FLUSH_EVERY_BYTES) return;
    this.unflushed = 0;
    this.flushing = true;
    fdatasync(this.fd, () => {
      this.flushing = false;
      this.checkIdle();
    });
  }

  private checkIdle(): void {
    if (this.writing === 0 && !this.flushing) this.idle?.();
  }

  private settled(): Promise<void> {
    if (this.writing === 0 && !this.flushing) return Promise.resolve();
    return new Promise((resolve) => (this.idle = resolve));
  }

  /** A failure of the file, naming the path the user asked for. */
  private saveError(err: unknown): SaveFileError {
    return new SaveFileError(this.options.reportPath ?? this.path, err);
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.current) this.free.push(this.current);
    this.current = undefined;
    for (const buffer of this.free.splice(0)) if (spareBuffers.length < BUFFERS) spareBuffers.push(buffer);
    await closeFile(this.fd).catch(() => undefined);
  }
}
