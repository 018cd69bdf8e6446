import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatorCore } from './core';
import type { Faults } from './faults';
import type { RegistryFixture } from './registry';
import { createSimulatorServer } from './server';
import { UPLOAD_SIZE_LIMITS } from './outgoing';
import type { ServiceIdentifier } from '../schemas/common';

export type { FaultRule } from './faults';
export { Faults } from './faults';
export type { RegistryFixture } from './registry';
export { ServiceRegistry } from './registry';
export { SimulatorError } from './errors';

export interface SimulatorOptions {
  /** default 9093; 0 = a free port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** default: a new temp dir (removed on close only if it was created by us) */
  dataDir?: string;
  /** hosted organisations, default ['910000009', '920000008']; the first is the default sender */
  orgnr?: string[];
  /** peek lock duration, default 300 */
  lockTimeoutSeconds?: number;
  /** how often expired locks/TTLs are cleared, default 5000 */
  lockSweepMs?: number;
  /** delay between status steps for non-hosted receivers (and SENDT/MOTTATT), default 1000 */
  statusDelayMs?: number;
  /** file path or object: extra receivers and their capabilities (checked when the simulator starts) */
  registry?: string | RegistryFixture | { receivers: unknown[] };
  /** HTTP Basic on /api when both are set */
  username?: string;
  password?: string;
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
  /** default 10000 */
  webhookTimeoutMs?: number;
  /**
   * Per-service limit in bytes on the total size of a message's files, as the IP's difi.move.<service>.upload-size-limit;
   * the given services override the IP's defaults (DPO 1 GiB, DPV 250 MiB, DPI 50 MiB, DPF 1 GiB, DPE 2 MiB, DPH 18 MiB).
   */
  uploadSizeLimits?: Partial<Record<ServiceIdentifier, number>>;
  /** services whose statuses feed GET /api/statuses/peek (difi.move.feature.statusQueueIncludes), default [] */
  statusQueueIncludes?: string[];
  /**
   * Up to this many ms (at random) before a new status shows in GET /api/statuses, default 0. A real IP writes
   * statuses in concurrent database transactions that can commit out of id order: a status with a lower id can
   * appear after one with a higher id. For testing consumers of the status list.
   */
  statusCommitJitterMs?: number;
  /** default: nothing */
  log?: (line: string) => void;
}

export interface RunningSimulator {
  url: string;
  port: number;
  dataDir: string;
  faults: Faults;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts the embedded Integrasjonspunkt simulator (the IP's REST API on one port, state under dataDir). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const orgnr = options.orgnr?.length ? options.orgnr : ['910000009', '920000008'];
  for (const o of orgnr) {
    if (!/^\d{9}$/.test(o)) throw new Error(`orgnr: expected 9-digit organisation numbers, got "${o}"`);
  }
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'eformidling-simulator-'));
  const log = options.log ?? (() => {});

  const removeOwnDataDir = () => {
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const host = options.host ?? '127.0.0.1';
  let core: SimulatorCore | undefined;
  let server: Server;
  try {
    core = new SimulatorCore({
      dataDir,
      orgnr,
      lockTimeoutSeconds: options.lockTimeoutSeconds ?? 300,
      lockSweepMs: options.lockSweepMs ?? 5000,
      statusDelayMs: options.statusDelayMs ?? 1000,
      registry: options.registry as string | RegistryFixture | undefined,
      statusQueueIncludes: options.statusQueueIncludes ?? [],
      statusCommitJitterMs: options.statusCommitJitterMs ?? 0,
      webhookTimeoutMs: options.webhookTimeoutMs ?? 10000,
      uploadSizeLimits: { ...UPLOAD_SIZE_LIMITS, ...options.uploadSizeLimits },
      log,
    });
    await core.start();
    server = createSimulatorServer(core, { username: options.username, password: options.password, tls: options.tls, log });
    await listen(server, options.port ?? 9093, host);
  } catch (err) {
    await core?.close();
    removeOwnDataDir();
    throw err;
  }
  const running = core;
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const url = `${options.tls ? 'https' : 'http'}://${urlHost}:${port}`;
  log(`simulator listening on ${url}, data in ${dataDir}`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
      await running.close();
      removeOwnDataDir();
    })());

  return { url, port, dataDir, faults: running.faults, close };
}
