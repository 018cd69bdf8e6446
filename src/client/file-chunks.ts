import { open } from 'node:fs/promises';

const CHUNK_BYTES = 1024 * 1024;
/** Buffers taking turns: the one being sent, the one read ahead, and one the socket may still be finishing. */
const BUFFERS = 3;

/**
 * A file's content as 1 MiB chunks for an undici request body, read into three buffers that take turns. A file
 * ReadStream allocates a new buffer per chunk, a gigabyte of allocations for a gigabyte upload, and in a process
 * with a heap the size of Node-RED's the garbage collection that sets off cost several times the CPU of the
 * upload itself (bench/large-upload.ts).
 *
 * Only for a consumer that asks for the next chunk after writing the previous one to the socket, and waits for
 * the socket's 'drain' when that write was not taken at once: undici does this with an async-iterable body. A
 * buffer is filled again three chunks after it was handed out; by then the socket has finished with it (a write
 * queued behind an unfinished one is never taken at once, so the consumer waited for 'drain' in between).
 */
export async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  let reading: Promise<{ bytesRead: number; buffer: Buffer }> | undefined;
  try {
    const buffers = Array.from({ length: BUFFERS }, () => Buffer.allocUnsafeSlow(CHUNK_BYTES));
    let turn = 0;
    reading = file.read(buffers[turn], 0, CHUNK_BYTES, null);
    for (;;) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) return;
      turn = (turn + 1) % BUFFERS;
      // Read the next chunk while this one is being sent.
      reading = file.read(buffers[turn], 0, CHUNK_BYTES, null);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    // A consumer that stops early (a failed request) may leave a read under way; close the file after it.
    await reading?.catch(() => undefined);
    await file.close();
  }
}
