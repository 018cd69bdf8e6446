// Helpers the tests share: a simulator with a client, SBDs for it, waiting, and reading back what a pop saved.
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yauzl from 'yauzl';
import { IntegrasjonspunktClient, type ClientOptions } from '../../src/client';
import type { StandardBusinessDocument } from '../../src/schemas/sbd';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator';

export const SENDER = '910000009';
export const RECEIVER = '920000008';
export const AVTALT_PROCESS = 'urn:no:difi:profile:avtalt:avtalt:ver1.0';
export const RESPONSE_PROCESS = 'urn:no:difi:profile:arkivmelding:response:ver1.0';

/** An avtalt message from SENDER to RECEIVER (or the type, process and parties given). */
export function sbdOf(options: { type?: string; standard?: string; process?: string; sender?: string; receiver?: string; body?: Record<string, unknown> } = {}): StandardBusinessDocument {
  const type = options.type ?? 'avtalt';
  return {
    standardBusinessDocumentHeader: {
      headerVersion: '1.0',
      sender: [{ identifier: { value: `0192:${options.sender ?? SENDER}`, authority: 'iso6523-actorid-upis' } }],
      receiver: [{ identifier: { value: `0192:${options.receiver ?? RECEIVER}`, authority: 'iso6523-actorid-upis' } }],
      documentIdentification: {
        standard: options.standard ?? `urn:no:difi:avtalt:xsd::${type}`,
        typeVersion: '1.0',
        instanceIdentifier: randomUUID(),
        type,
      },
      businessScope: { scope: [{ type: 'ConversationId', instanceIdentifier: randomUUID(), identifier: options.process ?? AVTALT_PROCESS }] },
    },
    [type]: options.body ?? { identifier: 'client-test', content: { hello: 'world' } },
  };
}

/** An OK arkivmelding_kvittering from RECEIVER back to SENDER: a receipt, which pop answers with 204. */
export function receiptSbd(): StandardBusinessDocument {
  return sbdOf({
    type: 'arkivmelding_kvittering',
    standard: 'urn:no:difi:arkivmelding:xsd::arkivmelding_kvittering',
    process: RESPONSE_PROCESS,
    sender: RECEIVER,
    receiver: SENDER,
    body: { receiptType: 'OK', relatedToMessageId: randomUUID() },
  });
}

export function idOf(sbd: StandardBusinessDocument): string {
  return sbd.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
}

/** Calls `check` every `everyMs` until it gives something truthy. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The entries of a zip file: name → SHA-256 and size, reading each entry as a stream. */
export async function zipDigests(zipPath: string): Promise<Map<string, { sha256: string; size: number }>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(zipPath, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z))));
  const out = new Map<string, { sha256: string; size: number }>();
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (err, stream) => {
          if (err) return reject(err);
          const hash = createHash('sha256');
          let size = 0;
          stream.on('data', (c: Buffer) => {
            hash.update(c);
            size += c.length;
          });
          stream.on('error', reject);
          stream.on('end', () => {
            out.set(entry.fileName, { sha256: hash.digest('hex'), size });
            zip.readEntry();
          });
        });
      });
      zip.on('end', resolve);
      zip.on('error', reject);
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return out;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface TestSimulator {
  /** A temp folder of its own (the simulator's data is in `sim/` below it). */
  tmp: string;
  sim: RunningSimulator;
  client: IntegrasjonspunktClient;
}

/** A simulator on a free port with its data in a new temp folder (`prefix`…), and a client for it. */
export async function startTestSimulator(prefix: string, options: SimulatorOptions = {}, clientOptions: Partial<ClientOptions> = {}): Promise<TestSimulator> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const sim = await startSimulator({ port: 0, dataDir: path.join(tmp, 'sim'), ...options });
  return { tmp, sim, client: new IntegrasjonspunktClient({ url: sim.url, ...clientOptions }) };
}

/** Stops what startTestSimulator started (any part may be missing when it failed half-way) and removes the folder. */
export async function stopTestSimulator(started: Partial<TestSimulator>): Promise<void> {
  await started.client?.close();
  await started.sim?.close();
  if (started.tmp) fs.rmSync(started.tmp, { recursive: true, force: true });
}
