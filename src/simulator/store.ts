import * as fs from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

/**
 * The simulator's disk state. Every record is its own small JSON file, written to a temp file and renamed, so a
 * crash (even kill -9) leaves either the old or the new version, never half a file. Statuses go to an append-only
 * JSONL log. Layout under dataDir:
 *
 *   out/<messageId>.json          outgoing messages not yet handed to transport
 *   out-files/<messageId>/<id>    their uploaded files
 *   in/<messageId>.json           incoming messages (with their lock expiry)
 *   in-files/<messageId>.asic     their ASiC-E
 *   conversations/<id>.json       conversations (their statuses are in statuses.jsonl)
 *   statuses.jsonl                every registered status, and status-queue removals
 *   subscriptions.json            webhook subscriptions
 *   tmp/                          uploads under way; emptied on start
 */
export class DiskStore {
  readonly dir: string;
  private tempCounter = 0;
  /** The last queued operation per path, so a write and a later removal of one file never swap places. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(dir: string, private readonly onError: (file: string, err: Error) => void) {
    this.dir = dir;
    for (const sub of ['out', 'out-files', 'in', 'in-files', 'conversations']) {
      fs.mkdirSync(path.join(dir, sub), { recursive: true });
    }
    // Leftovers of uploads that were cut off by a crash.
    fs.rmSync(path.join(dir, 'tmp'), { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** A fresh path under tmp/ for a file being received. */
  tempPath(prefix = 'upload'): string {
    return path.join(this.dir, 'tmp', `${prefix}-${process.pid}-${Date.now()}-${++this.tempCounter}`);
  }

  private enqueue(file: string, operation: () => Promise<void>): void {
    const next = (this.pending.get(file) ?? Promise.resolve()).then(operation).catch((err: Error) => this.onError(file, err));
    this.pending.set(file, next);
    void next.then(() => {
      if (this.pending.get(file) === next) this.pending.delete(file);
    });
  }

  /** Atomically replaces `file` with the JSON of `value` as it is now. */
  writeJson(file: string, value: unknown): void {
    const text = JSON.stringify(value);
    this.enqueue(file, async () => {
      const temp = `${file}.${process.pid}.${++this.tempCounter}.tmp`;
      await writeFile(temp, text);
      await rename(temp, file);
    });
  }

  /** Every `*.json` record in a folder; temp files and unreadable files (reported via `onError`) are skipped. */
  readJsonFiles<T>(folder: string, onError: (file: string, err: Error) => void): T[] {
    const dir = path.join(this.dir, folder);
    const records: T[] = [];
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      if (name.endsWith('.tmp')) {
        fs.rmSync(file, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        records.push(JSON.parse(fs.readFileSync(file, 'utf8')) as T);
      } catch (err) {
        onError(file, err as Error);
      }
    }
    return records;
  }

  /** Removes a file or folder (after any queued write of it). */
  remove(file: string): void {
    this.enqueue(file, () => rm(file, { recursive: true, force: true }));
  }

  /**
   * Resolves when every write and removal queued so far is done (later ones are not waited for). The server holds
   * each answer back until then, so an answer is never ahead of the disk.
   */
  async settled(): Promise<void> {
    await Promise.all([...this.pending.values()]);
  }

  /** Waits until every queued write and removal is done. */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending.values()]);
  }
}

/**
 * An append-only JSONL file. Opening it reads every complete line and cuts off a last line that a crash left
 * unfinished, so later appends start on a clean line.
 */
export class JsonLog<T> {
  private fd: number | undefined;

  constructor(private readonly file: string) {}

  /** Reads all records; a truncated or corrupt last line is dropped (and removed from the file). */
  open(onError: (line: number, err: Error) => void): T[] {
    const records: T[] = [];
    if (fs.existsSync(this.file)) {
      const text = fs.readFileSync(this.file, 'utf8');
      const end = text.lastIndexOf('\n') + 1;
      if (end < text.length) fs.truncateSync(this.file, Buffer.byteLength(text.slice(0, end)));
      const lines = text.slice(0, end).split('\n');
      lines.forEach((line, i) => {
        if (!line.trim()) return;
        try {
          records.push(JSON.parse(line) as T);
        } catch (err) {
          onError(i + 1, err as Error);
        }
      });
    }
    this.fd = fs.openSync(this.file, 'a');
    return records;
  }

  /** Appends one record as one line, in a single write. */
  append(record: T): void {
    if (this.fd === undefined) throw new Error(`${this.file} is not open`);
    fs.writeSync(this.fd, JSON.stringify(record) + '\n');
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
