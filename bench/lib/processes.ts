// The processes a benchmark runs: this package built into a temp folder, the simulator's CLI, a real Node-RED with
// the package installed in a temp user directory, and curl. Everything listens on and talks to 127.0.0.1 only.
// Every child process and temp folder is registered for clean-up, which also runs on Ctrl-C.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { appendFileSync, cpSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { MiB, rssOf } from './measure';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { copyEditorFiles } = require('../../scripts/build.js') as { copyEditorFiles(distDir: string): void };

export const repoRoot = path.resolve(__dirname, '..', '..');

// ------------------------------------------------------------------ clean-up

const cleanups: Array<() => Promise<void> | void> = [];
const children = new Set<ChildProcess>();

/** Registers a clean-up step; they run last-registered first. */
export function onCleanup(step: () => Promise<void> | void): void {
  cleanups.unshift(step);
}

export async function cleanUp(): Promise<void> {
  while (cleanups.length) {
    const step = cleanups.shift()!;
    try {
      await step();
    } catch (err) {
      console.error(`clean-up: ${(err as Error).message}`);
    }
  }
}

// Last resort when the process exits without the clean-up having run: no child outlives the benchmark.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

let signalled = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (signalled) process.exit(130);
    signalled = true;
    console.error(`\n${signal}: stopping and cleaning up …`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/**
 * Runs a benchmark's main function as a script: clean-up afterwards, exit code 1 on a failure. With
 * BENCH_RESULT_FILE set (by run-all), the result is also written there as JSON.
 */
export function runAsScript(main: () => Promise<unknown>): void {
  main()
    .then((result) => {
      if (process.env.BENCH_RESULT_FILE) writeFileSync(process.env.BENCH_RESULT_FILE, JSON.stringify(result));
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exitCode = 1;
    })
    .finally(async () => {
      await cleanUp();
      await http.close();
    });
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `eformidling-bench-${prefix}-`));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ------------------------------------------------------------------ options

/** `--name value` or `--name=value` from the command line (the last one given), if any. */
export function optionText(name: string): string | undefined {
  const args = process.argv.slice(2);
  let text: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) text = args[i + 1];
    else if (args[i].startsWith(`--${name}=`)) text = args[i].slice(name.length + 3);
  }
  return text;
}

/** optionText, else the environment's BENCH_<NAME>, else the default. */
export function numberOption(name: string, fallback: number): number {
  const text = optionText(name) ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name}: expected a positive number, got ${JSON.stringify(text)}`);
  return value;
}

// ------------------------------------------------------------------ the package

export interface BuiltPackage {
  /** A folder laid out like the installed package: package.json, dist/ (with dist/nodes/*.html and locales). */
  dir: string;
  simulatorCli: string;
}

/**
 * Builds the current sources into a temp folder (tsup, same config as `npm run build`, without type declarations),
 * so the benchmark measures what is in src/ without touching dist/. BENCH_PACKAGE_DIR reuses one built earlier
 * (run-all builds once for all benchmarks).
 */
export function buildPackage(): BuiltPackage {
  const given = process.env.BENCH_PACKAGE_DIR;
  if (given) return { dir: given, simulatorCli: path.join(given, 'dist', 'simulator', 'cli.js') };
  const dir = tempDir('package');
  const dist = path.join(dir, 'dist');
  execFileSync(process.execPath, [require.resolve('tsup/dist/cli-default.js', { paths: [repoRoot] }), '--silent', '--no-dts', '--out-dir', dist], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // As `npm run build`: each node's .html, the icons and locales beside the built node .js files.
  copyEditorFiles(dist);
  cpSync(path.join(repoRoot, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'junction');
  return { dir, simulatorCli: path.join(dist, 'simulator', 'cli.js') };
}

// ------------------------------------------------------------------ HTTP

/** One dispatcher for the benchmark's own requests: long transfers must not time out. Closed by runAsScript. */
export const http = new Agent({ headersTimeout: 30 * 60_000, bodyTimeout: 30 * 60_000 });

/** A request with a JSON answer; anything but 2xx is an error with the body's text. */
export async function callJson<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await request(url, {
    method,
    dispatcher: http,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${url} answered ${res.statusCode}: ${text.slice(0, 500)}`);
  return { status: res.statusCode, json: (text ? JSON.parse(text) : undefined) as T };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * BENCH_PROFILE_DIR=<dir>: Node-RED and the simulator run with --cpu-prof and write their CPU profiles there when
 * they stop (open them in Chrome DevTools, or sum the self time per function).
 */
function profileArgs(): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`] : [];
}

// ------------------------------------------------------------------ child processes

/** A child process with its recent output kept for error messages; stopped (SIGTERM, then SIGKILL) at clean-up. */
export class Child {
  readonly output: string[] = [];

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    children.add(process);
    process.once('exit', () => children.delete(process));
    // BENCH_LOG_DIR: every line a child prints also goes to <dir>/<name>-<pid>.log (e.g. with --trace-gc).
    const logFile = globalThis.process.env.BENCH_LOG_DIR ? path.join(globalThis.process.env.BENCH_LOG_DIR, `${name}-${process.pid}.log`) : undefined;
    for (const stream of [process.stdout, process.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        if (logFile) appendFileSync(logFile, chunk);
        this.output.push(...chunk.split('\n').filter(Boolean));
        if (this.output.length > 100) this.output.splice(0, this.output.length - 100);
      });
    }
    onCleanup(() => this.stop());
  }

  get pid(): number {
    return this.process.pid!;
  }

  get exited(): boolean {
    return this.process.exitCode !== null || this.process.signalCode !== null;
  }

  recentOutput(lines = 30): string {
    return this.output.slice(-lines).join('\n');
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = once(this.process, 'exit');
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

async function waitFor<T>(what: string, timeoutMs: number, child: Child, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exited) throw new Error(`${child.name} exited while waiting for ${what}:\n${child.recentOutput()}`);
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}:\n${child.recentOutput()}`);
    await sleep(50);
  }
}

export interface SimulatorStart {
  statusDelayMs?: number;
  lockTimeoutSeconds?: number;
}

/** The simulator's CLI (`eformidling-simulator`) from the built package, in its own process, on a free port. */
export class SimulatorProcess {
  private constructor(
    readonly child: Child,
    readonly url: string,
    readonly dataDir: string,
  ) {}

  static async start(pkg: BuiltPackage, options: SimulatorStart = {}): Promise<SimulatorProcess> {
    const dataDir = tempDir('simulator');
    const args = [pkg.simulatorCli, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--quiet', '--upload-size-limit', 'DPO=4GB'];
    args.push('--status-delay', String(options.statusDelayMs ?? 0));
    if (options.lockTimeoutSeconds) args.push('--lock-timeout', String(options.lockTimeoutSeconds));
    const child = new Child('simulator', spawn(process.execPath, [...profileArgs(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const url = await waitFor('the simulator to print "listening on"', 20_000, child, () =>
      child.output.find((l) => l.startsWith('listening on '))?.slice('listening on '.length).trim(),
    );
    return new SimulatorProcess(child, url, dataDir);
  }

  get pid(): number {
    return this.child.pid;
  }
}

/** A flow node as POST /flows takes it. */
export type FlowNode = { id: string; type: string; [key: string]: unknown };

/** A real Node-RED (`node red.js -u <userDir>`) with the built package in its user directory's node_modules. */
export class NodeRedProcess {
  private constructor(
    readonly child: Child,
    readonly url: string,
    readonly userDir: string,
  ) {}

  static async start(pkg: BuiltPackage): Promise<NodeRedProcess> {
    const userDir = tempDir('node-red');
    mkdirSync(path.join(userDir, 'node_modules'));
    symlinkSync(pkg.dir, path.join(userDir, 'node_modules', 'node-red-contrib-eformidling'), 'junction');
    writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'bench-node-red', private: true, version: '0.0.1' }));
    const port = await freePort();
    const settings = path.join(userDir, 'settings.js');
    writeFileSync(
      settings,
      `module.exports = ${JSON.stringify({
        uiPort: port,
        uiHost: '127.0.0.1',
        flowFile: 'flows.json',
        credentialSecret: false,
        telemetry: { enabled: false },
        editorTheme: { tours: false, palette: { catalogues: [] } },
        logging: { console: { level: 'warn', metrics: false, audit: false } },
      })};\n`,
    );
    const redJs = require.resolve('node-red/red.js', { paths: [repoRoot] });
    // BENCH_NODE_RED_ARGS: extra node arguments for Node-RED, e.g. --trace-gc.
    const extra = (process.env.BENCH_NODE_RED_ARGS ?? '').split(' ').filter(Boolean);
    const child = new Child('node-red', spawn(process.execPath, [...profileArgs(), ...extra, redJs, '-u', userDir, '-s', settings], { cwd: userDir, stdio: ['ignore', 'pipe', 'pipe'] }));
    const url = `http://127.0.0.1:${port}`;
    await waitFor('Node-RED to answer GET /settings', 60_000, child, async () => ((await callJson('GET', `${url}/settings`)).status === 200 ? true : undefined));
    return new NodeRedProcess(child, url, userDir);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** A full deploy, as the editor's Deploy button; resolves once `readyPath` (an http-in route of the flow) answers. */
  async deploy(flows: FlowNode[], readyPath: string): Promise<void> {
    const res = await request(`${this.url}/flows`, {
      method: 'POST',
      dispatcher: http,
      headers: { 'content-type': 'application/json', 'node-red-deployment-type': 'full' },
      body: JSON.stringify(flows),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`POST /flows answered ${res.statusCode}: ${text}\n${this.child.recentOutput()}`);
    await waitFor(`the deployed flow to answer ${readyPath}`, 30_000, this.child, async () => {
      const answer = await request(`${this.url}${readyPath}`, { dispatcher: http });
      await answer.body.dump();
      return answer.statusCode === 200 ? true : undefined;
    });
  }

  /** POSTs JSON to an http-in route of the flow and returns its JSON answer; a 500 from the flow's catch is an error. */
  async call<T = Record<string, unknown>>(route: string, body: unknown): Promise<T> {
    return (await callJson<T>('POST', `${this.url}${route}`, body)).json;
  }
}

// ------------------------------------------------------------------ files and curl

/**
 * Writes `mib` MiB of random bytes (incompressible, as a scanned archive would be) in 1 MiB writes, each awaited,
 * so making the file does not inflate the benchmark's own memory.
 */
export async function writeRandomFile(file: string, mib: number): Promise<void> {
  const block = randomBytes(MiB);
  const out = createWriteStream(file);
  for (let i = 0; i < mib; i++) {
    block.writeUInt32BE(i, 0); // no two MiB alike
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

export interface CurlResult {
  /** curl's own time_total: from the start of the transfer to its end, without curl's process start. */
  seconds: number;
  /** Peak resident memory of the curl process (sampled). */
  peakRss: number;
  httpCode: number;
}

/** Runs curl with `args` (+ -sS and a -w that reports the time and status) and samples its memory while it runs. */
export async function curl(args: string[]): Promise<CurlResult> {
  const child = spawn('curl', ['-sS', '-w', '%{time_total} %{http_code}', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  let peakRss = 0;
  const timer = setInterval(() => (peakRss = Math.max(peakRss, rssOf(child.pid!) ?? 0)), 5);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearInterval(timer);
  children.delete(child);
  const [seconds, httpCode] = stdout.trim().split(/\s+/).slice(-2).map(Number);
  if (code !== 0 || httpCode >= 300) throw new Error(`curl ${args.join(' ')} failed (exit ${code}, HTTP ${httpCode}): ${stderr}${stdout}`);
  return { seconds, peakRss, httpCode };
}

export function requireCurl(): void {
  if (spawnSync('curl', ['--version']).error) throw new Error('curl is needed: the benchmarks compare against it');
}
