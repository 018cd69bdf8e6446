// Shared pieces of the reliability, bad-input and security suites that drive the nodes in-process with
// node-red-node-test-helper (where a real Node-RED process adds nothing), against the simulator.
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { IntegrasjonspunktClient } from '../../src/client';
import { buildArkivmeldingXml, buildSbd } from '../../src/sbd';

export const SENDER = '910000009';
export const RECEIVER = '920000008';
export const ARKIV_PROCESS = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';
export const MiB = 1024 * 1024;

/** A msg as the test helper hands it over. */
export interface Msg {
  [key: string]: unknown;
}

/** The part of a helper node (or any node) the tests use; `status` is a sinon spy. */
export interface TestNode {
  id: string;
  receive(msg: Msg): void;
  on(event: string, listener: (...args: never[]) => void): void;
  removeAllListeners(event: string): void;
  status: { getCalls(): Array<{ thisValue: { id: string }; args: Array<{ fill?: string; text?: string }> }> };
}

/** The part of node-red-node-test-helper used here (it ships no types). */
export interface TestHelper {
  init(runtimePath: string, userSettings?: Record<string, unknown>): void;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  load(nodes: unknown[], flow: object[], credentials?: object): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  /** The spy every log call goes through, at every level. */
  log(): { args: unknown[][] };
  /** The address of the helper's HTTP server. */
  url(): string;
  /** The express app behind url(); RED.httpNode is mounted on it by the tests that need it. */
  _app: { use(handler: (req: IncomingMessage, res: ServerResponse, next: () => void) => void): void };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper: TestHelper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value other than undefined/null/false. */
export async function waitFor<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `eformidling-${prefix}-`));
}

/** Writes `size` bytes of a repeated pattern chunk by chunk (never more than 1 MiB in memory); returns its SHA-256. */
export async function writeFileOfSize(file: string, size: number, seed = 'eformidling'): Promise<string> {
  const chunk = Buffer.alloc(MiB);
  const pattern = Buffer.from(createHash('sha256').update(seed).digest('hex'));
  for (let i = 0; i < chunk.length; i += pattern.length) pattern.copy(chunk, i);
  const hash = createHash('sha256');
  const out = fs.createWriteStream(file);
  for (let written = 0; written < size; written += chunk.length) {
    const part = size - written >= chunk.length ? chunk : chunk.subarray(0, size - written);
    hash.update(part);
    if (!out.write(part)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

/** Sends one small arkivmelding from SENDER to RECEIVER straight through the client (for seeding an inbox). */
export async function seedMessage(client: IntegrasjonspunktClient, text: string, messageId = randomUUID()): Promise<string> {
  const filename = 'brev.txt';
  const xml = buildArkivmeldingXml({ tittel: text }, [{ filename, mimeType: 'text/plain' }]);
  const sbd = buildSbd({ sender: SENDER, receiver: RECEIVER, process: ARKIV_PROCESS, type: 'arkivmelding', messageId, businessMessage: { hoveddokument: filename } });
  await client.sendMultipart(sbd, [
    { filename, mimeType: 'text/plain', content: text },
    { filename: 'arkivmelding.xml', mimeType: 'text/xml', content: xml },
  ]);
  return messageId;
}

/** Seeds `count` messages with `parallel` requests at a time; returns their messageIds. */
export async function seedMessages(client: IntegrasjonspunktClient, count: number, parallel = 16, text = (i: number) => `message ${i}`): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const i = next++;
      ids[i] = await seedMessage(client, text(i));
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return ids;
}

/** How many incoming messages the IP holds (optionally for one messageId). */
export async function inboxCount(client: IntegrasjonspunktClient, messageId?: string): Promise<number> {
  return (await client.listIncoming({ receiverIdentifier: RECEIVER, ...(messageId ? { messageId } : {}) })).totalElements;
}

/** The message of an error a Catch node got, without the "Error: " prefix. */
export function caughtText(msg: Msg | undefined): string {
  const error = msg?.error as { message?: unknown } | undefined;
  return String(error?.message ?? '').replace(/^\w*Error: /, '');
}

/** Every file under `dir` (relative paths), for checking that nothing was written elsewhere. */
export function listTree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) found.push(path.relative(dir, path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name)));
  }
  return found.sort();
}

/** One line of counts, printed by every suite: what a reader of the CI log looks for. */
export function printCounts(suite: string, counts: Record<string, number>): void {
  const text = Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(`      [${suite}] ${text}`);
}
