// End-to-end harness: the package as a user gets it (npm pack → npm install into a fresh Node-RED user
// directory), the simulator's CLI and a real Node-RED process, driven through Node-RED's admin API and
// watched through its comms websocket (the editor's debug sidebar).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { WebSocket } from 'undici';

const run = promisify(execFile);

export const repoRoot = path.resolve(__dirname, '..', '..');
export const packageName = 'node-red-contrib-eformidling';

/** scripts/start.js, shared so the tests deploy exactly what `npm start` deploys. */
interface StartScript {
  buildIfStale(): boolean;
  exampleFiles(dir?: string): Array<{ name: string; file: string }>;
  exampleFlows(options: { simulatorUrl: string; nodeRedUrl: string; filesDir: string; dir?: string }): FlowNode[];
  nodeRedSettings(options: { port: number; host?: string; debugMaxLength?: number; offline?: boolean }): string;
  /** The simulator's registry fixture (extra receivers), relative to the package root. */
  registryPath: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const startScript: StartScript = require(path.join(repoRoot, 'scripts', 'start.js'));

export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  [key: string]: unknown;
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `eformidling-${prefix}-`));
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns something other than undefined/false; the error names `what`. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== undefined && result !== false) return result as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Timed out after ${timeoutMs / 1000} s waiting for ${what}${why}`);
    }
    await sleep(200);
  }
}

/**
 * The environment for child processes: without NODE_V8_COVERAGE (under `c8`, every Node-RED, npm and simulator
 * process would otherwise write V8 coverage of all its code), and with the folder of `nodeBin` first on PATH,
 * so npm and its scripts run on that Node.
 */
export function childEnv(nodeBin = process.execPath): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env.PATH ?? ''}` };
  delete env.NODE_V8_COVERAGE;
  return env;
}

async function npm(args: string[], cwd: string, nodeBin = process.execPath): Promise<void> {
  try {
    await run('npm', args, { cwd, env: childEnv(nodeBin), maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`npm ${args.join(' ')} (in ${cwd}) failed: ${e.stderr || e.message}`);
  }
}

let packed: Promise<{ tarball: string; dir: string }> | undefined;

/**
 * `npm pack` of this repository, once per test run (built first when dist/ is stale).
 * EFORMIDLING_E2E_TARBALL=<file.tgz> tests an already packed tarball instead.
 */
export function packPackage(): Promise<string> {
  const given = process.env.EFORMIDLING_E2E_TARBALL;
  if (given) return Promise.resolve(path.resolve(given));
  packed ??= (async () => {
    startScript.buildIfStale();
    const dir = makeTempDir('pack');
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: repoRoot, env: childEnv(), maxBuffer: 16 * 1024 * 1024 });
    const [info] = JSON.parse(stdout) as Array<{ filename: string }>;
    return { tarball: path.join(dir, info.filename), dir };
  })();
  return packed.then((p) => p.tarball);
}

/** Removes the packed tarball once every test file has run (a root hook when mocha loads this file). */
async function removePackedPackage(): Promise<void> {
  if (!packed) return;
  const { dir } = await packed.catch(() => ({ dir: '' }));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  packed = undefined;
}
if (typeof after === 'function') after(removePackedPackage);

/** A fresh Node-RED user directory with the packed package installed the way a user installs it. */
export async function userDirWithPackage(tarball: string, nodeBin = process.execPath): Promise<string> {
  const userDir = makeTempDir('userdir');
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true, version: '0.0.1' }));
  await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], userDir, nodeBin);
  return userDir;
}

/** Node-RED 5's red.js, installed once with `nodeBin` (Node 22) into the git-ignored .cache/node-red5/. */
export async function nodeRed5(nodeBin: string): Promise<string> {
  const dir = path.join(repoRoot, '.cache', 'node-red5');
  const installed = path.join(dir, 'node_modules', 'node-red', 'package.json');
  const isFive = () => fs.existsSync(installed) && /^5\./.test(JSON.parse(fs.readFileSync(installed, 'utf8')).version);
  if (!isFive()) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'node-red-5', private: true, version: '0.0.1' }));
    await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--omit=optional', 'node-red@5'], dir, nodeBin);
    if (!isFive()) throw new Error(`npm install node-red@5 in ${dir} did not install Node-RED 5`);
  }
  return path.join(dir, 'node_modules', 'node-red', 'red.js');
}

/** A child process whose recent output is kept for error messages. */
class Child {
  readonly output: string[] = [];
  constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    for (const stream of [process.stdout, process.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.output.push(...chunk.split('\n').filter(Boolean));
        if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
      });
    }
  }

  recentOutput(lines = 40): string {
    return this.output.slice(-lines).join('\n');
  }

  get exited(): boolean {
    return this.process.exitCode !== null || this.process.signalCode !== null;
  }

  /** SIGINT (as Ctrl-C), SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 10000): Promise<number | null> {
    if (this.exited) return this.process.exitCode;
    const exited = new Promise<number | null>((resolve) => this.process.once('exit', (code) => resolve(code)));
    this.process.kill('SIGINT');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The simulator's CLI from the installed package (its `eformidling-simulator` bin), on a free port. */
export class SimulatorProcess {
  private constructor(
    readonly child: Child,
    readonly url: string,
    readonly dataDir: string,
  ) {}

  static async start(options: { packageDir: string; nodeBin?: string; statusDelayMs?: number }): Promise<SimulatorProcess> {
    const dataDir = makeTempDir('simulator');
    const cli = path.join(options.packageDir, 'dist', 'simulator', 'cli.js');
    const args = [cli, '--port', '0', '--data-dir', dataDir, '--status-delay', String(options.statusDelayMs ?? 200), '--quiet'];
    const registry = path.join(options.packageDir, startScript.registryPath);
    if (!fs.existsSync(registry)) throw new Error(`The packed package has no ${startScript.registryPath}, the receivers the capabilities example needs`);
    args.push('--registry', registry);
    const nodeBin = options.nodeBin ?? process.execPath;
    const child = new Child('simulator', spawn(nodeBin, args, { env: childEnv(nodeBin), stdio: ['ignore', 'pipe', 'pipe'] }));
    const url = await eventually('the simulator to print "listening on"', 20000, () => {
      if (child.exited) throw new Error(`the simulator exited: ${child.recentOutput()}`);
      const line = child.output.find((l) => l.startsWith('listening on '));
      return line?.slice('listening on '.length).trim();
    });
    return new SimulatorProcess(child, url, dataDir);
  }

  async stop(): Promise<void> {
    await this.child.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A msg as the debug sidebar shows it (decoded from JSON; Buffers as { type: 'Buffer', data }). */
export type ShownMsg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A debug-sidebar message as Node-RED's comms sends it. `msg` is the msg, decoded. */
export interface DebugMessage {
  id: string;
  name?: string;
  /** 20 = error, 30 = warning, when a node logged it (node.error / node.warn). */
  level?: number;
  msg: unknown;
  format?: string;
}

/** Node-RED's comms websocket, subscribed to "debug": what the debug sidebar shows. */
export class DebugFeed {
  readonly messages: DebugMessage[] = [];
  private constructor(private readonly ws: WebSocket) {}

  static connect(nodeRedUrl: string): Promise<DebugFeed> {
    const ws = new WebSocket(`${nodeRedUrl.replace(/^http/, 'ws')}/comms`);
    const feed = new DebugFeed(ws);
    ws.addEventListener('message', (event) => {
      for (const item of JSON.parse(String(event.data)) as Array<{ topic: string; data: Record<string, unknown> }>) {
        if (item.topic !== 'debug') continue;
        const data = item.data;
        let msg: unknown = data.msg;
        if (typeof msg === 'string' && (data.format === 'Object' || /^(Object|array)/.test(String(data.format)))) {
          try {
            msg = JSON.parse(msg);
          } catch {
            // shown as text
          }
        }
        feed.messages.push({ id: String(data.id), name: data.name as string | undefined, level: data.level as number | undefined, msg, format: data.format as string | undefined });
      }
    });
    return new Promise((resolve, reject) => {
      ws.addEventListener('open', () => {
        ws.send(JSON.stringify({ subscribe: 'debug' }));
        resolve(feed);
      });
      ws.addEventListener('error', () => reject(new Error(`Cannot open Node-RED's comms websocket at ${nodeRedUrl}/comms`)));
    });
  }

  /** The msgs shown by the debug node `nodeId`. */
  from(nodeId: string): ShownMsg[] {
    return this.messages.filter((m) => m.id === nodeId && m.level === undefined).map((m) => m.msg as ShownMsg);
  }

  /** Waits until the debug node `nodeId` shows a msg for which `match` is true, and returns it. */
  waitFor(nodeId: string, what: string, timeoutMs: number, match: (msg: ShownMsg) => boolean = () => true): Promise<ShownMsg> {
    return eventually(what, timeoutMs, () => this.from(nodeId).find(match));
  }

  /** Errors the nodes logged (node.error), readable. */
  errors(): string[] {
    return this.messages.filter((m) => m.level === 20).map((m) => `${m.name ?? m.id}: ${typeof m.msg === 'string' ? m.msg : JSON.stringify(m.msg)}`);
  }

  close(): void {
    this.ws.close();
  }
}

/** A real Node-RED process (`node red.js -u <userDir> -p <port> -s <settings.js>`). */
export class NodeRedProcess {
  private constructor(
    readonly child: Child,
    readonly url: string,
    readonly userDir: string,
  ) {}

  static async start(options: { redJs: string; userDir: string; nodeBin?: string }): Promise<NodeRedProcess> {
    const port = await freePort();
    const settings = path.join(options.userDir, 'settings.js');
    fs.writeFileSync(settings, startScript.nodeRedSettings({ port, host: '127.0.0.1', debugMaxLength: 100000, offline: true }));
    const args = [options.redJs, '-u', options.userDir, '-p', String(port), '-s', settings];
    const nodeBin = options.nodeBin ?? process.execPath;
    const child = new Child('node-red', spawn(nodeBin, args, { cwd: options.userDir, env: childEnv(nodeBin), stdio: ['ignore', 'pipe', 'pipe'] }));
    const url = `http://127.0.0.1:${port}`;
    const nodeRed = new NodeRedProcess(child, url, options.userDir);
    await eventually('Node-RED to answer GET /settings', 60000, async () => {
      if (child.exited) throw new Error(`Node-RED exited: ${child.recentOutput()}`);
      const res = await fetch(`${url}/settings`);
      return res.ok;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${child.recentOutput()}`);
    });
    return nodeRed;
  }

  async admin(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.url}${route}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async json<T>(route: string): Promise<T> {
    const res = await this.admin('GET', route);
    if (!res.ok) throw new Error(`GET ${route} answered ${res.status}`);
    return (await res.json()) as T;
  }

  /** POST /flows (a full deploy), as the editor's Deploy button does. */
  async deploy(flows: FlowNode[]): Promise<void> {
    const res = await this.admin('POST', '/flows', flows, { 'Node-RED-Deployment-Type': 'full' });
    if (res.status !== 204 && res.status !== 200) {
      throw new Error(`POST /flows answered ${res.status}: ${await res.text()}\n${this.child.recentOutput()}`);
    }
  }

  /** Clicks an inject node's button (POST /inject/:id). */
  async inject(id: string): Promise<void> {
    const res = await this.admin('POST', `/inject/${id}`);
    if (!res.ok) throw new Error(`POST /inject/${id} answered ${res.status}: ${await res.text()}`);
  }

  async stop(): Promise<number | null> {
    return this.child.stop();
  }
}

/** The id of the node called `name` in the example file `example` (e.g. "send-arkivmelding-with-pdf"). */
export function exampleNodeId(example: string, name: string, type?: string): string {
  const file = path.join(repoRoot, 'examples', `${example}.json`);
  const nodes = JSON.parse(fs.readFileSync(file, 'utf8')) as FlowNode[];
  const found = nodes.filter((n) => n.name === name && (!type || n.type === type));
  if (found.length !== 1) throw new Error(`examples/${example}.json: expected one node named "${name}"${type ? ` of type ${type}` : ''}, found ${found.length}`);
  return found[0].id;
}
