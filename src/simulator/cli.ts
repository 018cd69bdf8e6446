#!/usr/bin/env node
import { resolve } from 'node:path';
import { startSimulator } from './index';
import type { SimulatorOptions } from './index';
import type { ServiceIdentifier } from '../schemas/common';

const USAGE = `Usage: eformidling-simulator [options]

An Integrasjonspunkt (eFormidling IP) simulator: the IP's REST API on a laptop, state kept on disk.

Options:
  --port N             port to listen on (default 9093; 0 = any free port)
  --host HOST          address to listen on (default 127.0.0.1)
  --data-dir DIR       where messages and statuses are kept (default ./.eformidling-simulator)
  --orgnr A,B          hosted organisation numbers; the first is the default sender (default 910000009,920000008)
  --lock-timeout S     peek lock duration in seconds (default 300)
  --status-delay MS    delay between status steps in ms (default 1000)
  --registry FILE      JSON file with extra receivers and their capabilities
  --upload-size-limit SERVICE=SIZE[,...]
                       per-message file size limit, e.g. DPO=4GB (as difi.move.dpo.upload-size-limit)
  --username U         HTTP Basic user for /api (with --password)
  --password P         HTTP Basic password for /api (with --username)
  --quiet              do not log requests and statuses
  --help               show this text`;

class UsageError extends Error {}

const SIZE_UNITS: Record<string, number> = { '': 1, B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
const SERVICES = ['DPO', 'DPV', 'DPI', 'DPF', 'DPE', 'DPH'] as const;

/** `DPO=4GB,DPE=2MB` → bytes per service (units as Spring's DataSize: KB, MB, GB are powers of 1024). */
function parseSizeLimits(name: string, text: string): Partial<Record<ServiceIdentifier, number>> {
  const limits: Partial<Record<ServiceIdentifier, number>> = {};
  for (const part of text.split(',')) {
    const m = /^(DP[OVIFEH])=(\d+)(B|KB|MB|GB)?$/i.exec(part.trim());
    const service = m?.[1].toUpperCase() as (typeof SERVICES)[number] | undefined;
    if (!m || !service) {
      throw new UsageError(`${name}: expected SERVICE=SIZE such as DPO=4GB (services ${SERVICES.join(', ')}), got "${part}"`);
    }
    limits[service] = Number(m[2]) * SIZE_UNITS[(m[3] ?? '').toUpperCase()];
  }
  return limits;
}

function parseArgs(argv: string[]): { options: SimulatorOptions; quiet: boolean; help: boolean } {
  const options: SimulatorOptions = { dataDir: resolve('.eformidling-simulator') };
  let quiet = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new UsageError(`${name} needs a value`);
      return v;
    };
    const integer = (min: number): number => {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`${name}: expected a whole number of at least ${min}, got "${v}"`);
      return Number(v);
    };
    switch (name) {
      case '--port':
        options.port = integer(0);
        if (options.port > 65535) throw new UsageError(`--port: expected 0-65535, got ${options.port}`);
        break;
      case '--host':
        options.host = value();
        break;
      case '--data-dir':
        options.dataDir = resolve(value());
        break;
      case '--orgnr':
        options.orgnr = value().split(',').map((o) => o.trim()).filter(Boolean);
        for (const o of options.orgnr) if (!/^\d{9}$/.test(o)) throw new UsageError(`--orgnr: expected 9-digit organisation numbers, got "${o}"`);
        break;
      case '--lock-timeout':
        options.lockTimeoutSeconds = integer(1);
        break;
      case '--status-delay':
        options.statusDelayMs = integer(0);
        break;
      case '--registry':
        options.registry = resolve(value());
        break;
      case '--upload-size-limit':
        options.uploadSizeLimits = { ...options.uploadSizeLimits, ...parseSizeLimits(name, value()) };
        break;
      case '--username':
        options.username = value();
        break;
      case '--password':
        options.password = value();
        break;
      case '--quiet':
        quiet = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  if ((options.username === undefined) !== (options.password === undefined)) throw new UsageError('--username and --password go together');
  return { options, quiet, help };
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`eformidling-simulator: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.help) {
    console.log(USAGE);
    return;
  }
  const log = parsed.quiet ? undefined : (line: string) => console.log(`${new Date().toISOString()} ${line}`);
  const sim = await startSimulator({ ...parsed.options, log });
  console.log(`listening on ${sim.url}`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await sim.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: Error) => {
  console.error(`eformidling-simulator: ${err.message}`);
  process.exit(1);
});
