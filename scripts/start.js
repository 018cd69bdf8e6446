#!/usr/bin/env node
// `npm start`: builds when the sources are newer than dist/, then runs the Integrasjonspunkt simulator and a
// Node-RED with this package and every example flow deployed, until Ctrl-C stops both.
//
//   node scripts/start.js [--port 1880] [--simulator-port 9093] [--data-dir .node-red-data] [--reset]
//
// State lives in the git-ignored data folder: the simulator's messages in <data-dir>/simulator, Node-RED's user
// directory in <data-dir>/node-red, the example flows' files in <data-dir>/files. The examples are deployed when
// Node-RED has no flow file yet; --reset deploys them again, replacing the flows.
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const examplesDir = path.join(root, 'examples');
/** Receivers outside the simulator (DPF, DPV, DPI) that the capabilities example looks up; relative to the package root. */
const registryPath = path.join('fixtures', 'registry.json');
const registryFile = path.join(root, registryPath);
/** The folder the example flows write to; rewritten to a folder of ours when they are deployed. */
const exampleFilesDir = '/tmp/eformidling-examples';
/** Tab order in the editor: the whole story first. Examples not listed follow in name order. */
const exampleOrder = [
  'send-arkivmelding-with-pdf',
  'send-large-file-from-disk',
  'inbox-to-folder-manual-ack',
  'reply-with-kvittering',
  'capabilities-choose-channel',
  'status-webhook-and-feed',
];

/** The newest modification time of the files under `paths`. */
function newestMtime(paths) {
  let newest = 0;
  for (const p of paths) {
    if (!fs.existsSync(p)) continue;
    const stat = fs.statSync(p);
    if (stat.isDirectory()) newest = Math.max(newest, newestMtime(fs.readdirSync(p).map((name) => path.join(p, name))));
    else newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

/** The oldest modification time of `files`; 0 when one is missing. */
function oldestMtime(files) {
  let oldest = Infinity;
  for (const f of files) {
    if (!fs.existsSync(f)) return 0;
    oldest = Math.min(oldest, fs.statSync(f).mtimeMs);
  }
  return oldest;
}

/** Runs `npm run build` (scripts/build.js) when dist/ is missing or older than what it is built from. */
function buildIfStale() {
  const nodesJson = require(path.join(root, 'package.json'))['node-red'].nodes;
  const outputs = [path.join(root, 'dist', 'simulator', 'cli.js'), ...Object.values(nodesJson).map((f) => path.join(root, f))];
  outputs.push(...outputs.filter((f) => f.includes(`${path.sep}nodes${path.sep}`)).map((f) => f.replace(/\.js$/, '.html')));
  const sources = ['src', 'nodes', 'tsup.config.ts', path.join('scripts', 'build.js'), 'package.json'].map((p) => path.join(root, p));
  if (oldestMtime(outputs) >= newestMtime(sources)) return false;
  console.log('Building (dist/ is missing or older than the sources) ...');
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.js')], { cwd: root, stdio: 'inherit' });
  return true;
}

/** The example flow files: every *.json in `dir` that holds a flow (a list of nodes, `nodes`), in tab order. */
function exampleFiles(dir = examplesDir) {
  const rank = (name) => (exampleOrder.includes(name) ? exampleOrder.indexOf(name) : exampleOrder.length);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ name: f.slice(0, -'.json'.length), file: path.join(dir, f), nodes: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) }))
    .filter(({ nodes }) => Array.isArray(nodes))
    .sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

/** Replaces `from` by `to` at the start of every string inside `value`. */
function replacePrefix(value, from, to) {
  if (typeof value === 'string') return value.startsWith(from) ? to + value.slice(from.length) : value;
  if (Array.isArray(value)) return value.map((v) => replacePrefix(v, from, to));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replacePrefix(v, from, to)]));
  }
  return value;
}

/**
 * Every example flow in one flow file, one tab each, as Node-RED would hold them after importing them all:
 * one config node per organisation (the examples each carry their own), the config nodes pointing at
 * `simulatorUrl`, webhook nodes announcing `nodeRedUrl`, files going to `filesDir`. `dir` is where the
 * examples are read from (default: this repository's examples/).
 */
function exampleFlows({ simulatorUrl, nodeRedUrl, filesDir, dir = examplesDir }) {
  const flows = [];
  const seenIds = new Map();
  const configByOrg = new Map(); // orgnr -> id of the config node kept
  const configIdMap = new Map(); // id in an example -> id kept
  for (const { name, nodes } of exampleFiles(dir)) {
    for (const node of nodes) {
      if (node.type === 'eformidling-config') {
        const kept = configByOrg.get(node.orgnr);
        if (kept) {
          configIdMap.set(node.id, kept);
          continue;
        }
        configByOrg.set(node.orgnr, node.id);
        configIdMap.set(node.id, node.id);
        node.url = simulatorUrl;
      }
      if (seenIds.has(node.id) && node.type !== 'eformidling-config') {
        throw new Error(`examples: node id ${node.id} is in both ${seenIds.get(node.id)}.json and ${name}.json; every node needs its own id`);
      }
      seenIds.set(node.id, name);
      if (node.type === 'eformidling-webhook-in' && node.publicUrl) node.publicUrl = nodeRedUrl;
      flows.push(replacePrefix(node, exampleFilesDir, filesDir));
    }
  }
  for (const node of flows) {
    if (typeof node.server === 'string' && configIdMap.has(node.server)) node.server = configIdMap.get(node.server);
  }
  return flows;
}

/**
 * Node-RED's settings: telemetry and tours off, file-backed context (the status feed's cursor survives restarts).
 * `offline` also keeps the editor from fetching the Flow Library's node catalogue (for tests without network).
 */
function nodeRedSettings({ port, host = '127.0.0.1', debugMaxLength = 1000, offline = false }) {
  const editorTheme = offline ? '{ tours: false, palette: { catalogues: [] } }' : '{ tours: false }';
  return `// Written by scripts/start.js and the end-to-end tests.
module.exports = {
  uiPort: ${port},
  uiHost: ${JSON.stringify(host)},
  flowFile: 'flows.json',
  telemetry: { enabled: false },
  editorTheme: ${editorTheme},
  contextStorage: { default: { module: 'localfilesystem' } },
  debugMaxLength: ${debugMaxLength},
  logging: { console: { level: 'info', metrics: false, audit: false } },
};
`;
}

/** Makes this repository the package `node-red-contrib-eformidling` in the user directory's node_modules. */
function linkPackage(userDir) {
  const modules = path.join(userDir, 'node_modules');
  const link = path.join(modules, 'node-red-contrib-eformidling');
  fs.mkdirSync(modules, { recursive: true });
  try {
    if (fs.realpathSync(link) === fs.realpathSync(root)) return;
    fs.rmSync(link, { recursive: true, force: true });
  } catch {
    // not there yet
  }
  fs.symlinkSync(root, link, 'junction');
}

/** Resolves when `url` answers 200, rejects after `timeoutMs` or when `child` exits first. */
async function waitForHttp(url, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`it exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no answer from ${url} within ${timeoutMs / 1000} s`);
}

/** Passes a child's output through, each line prefixed, e.g. "[node-red] ". */
function prefixOutput(stream, prefix, target) {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const line of lines) target.write(`${prefix}${line}\n`);
  });
  stream.on('end', () => rest && target.write(`${prefix}${rest}\n`));
}

function parseArgs(argv) {
  const options = { port: 1880, simulatorPort: 9093, dataDir: path.join(root, '.node-red-data'), reset: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const port = () => {
      const value = argv[++i];
      if (!/^\d+$/.test(value || '') || Number(value) < 1 || Number(value) > 65535) throw new Error(`${arg}: expected a port number (1-65535), got ${value ?? 'nothing'}`);
      return Number(value);
    };
    if (arg === '--port') options.port = port();
    else if (arg === '--simulator-port') options.simulatorPort = port();
    else if (arg === '--data-dir') {
      if (!argv[i + 1]) throw new Error('--data-dir: expected a folder');
      options.dataDir = path.resolve(argv[++i]);
    } else if (arg === '--reset') options.reset = true;
    else throw new Error(`unknown option ${arg}; usage: npm start -- [--port 1880] [--simulator-port 9093] [--data-dir DIR] [--reset]`);
  }
  return options;
}

/** The simulator and Node-RED processes, stopped together. */
const children = [];
let stopping = false;

/** Stops both processes (SIGINT, as Ctrl-C would), then exits with `code`. */
function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGINT');
  const exited = children.map((child) => (child.exitCode !== null ? null : new Promise((resolve) => child.once('exit', resolve))));
  Promise.all(exited).then(() => process.exit(code));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  let redJs;
  try {
    redJs = require.resolve('node-red/red.js', { paths: [root] });
  } catch {
    throw new Error('Node-RED is not installed: run `npm install` first');
  }
  buildIfStale();

  const simulatorDir = path.join(options.dataDir, 'simulator');
  const userDir = path.join(options.dataDir, 'node-red');
  const filesDir = path.join(options.dataDir, 'files');
  for (const dir of [simulatorDir, userDir, filesDir]) fs.mkdirSync(dir, { recursive: true });
  const simulatorUrl = `http://localhost:${options.simulatorPort}`;
  const editorUrl = `http://localhost:${options.port}/`;

  const flowFile = path.join(userDir, 'flows.json');
  const deploy = options.reset || !fs.existsSync(flowFile);
  if (deploy) {
    const flows = exampleFlows({ simulatorUrl, nodeRedUrl: `http://localhost:${options.port}`, filesDir });
    fs.writeFileSync(flowFile, JSON.stringify(flows, null, 2));
  }
  fs.writeFileSync(path.join(userDir, 'settings.js'), nodeRedSettings({ port: options.port }));
  linkPackage(userDir);

  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));

  const simulatorArgs = [path.join(root, 'dist', 'simulator', 'cli.js'), '--port', String(options.simulatorPort), '--data-dir', simulatorDir, '--quiet'];
  if (fs.existsSync(registryFile)) simulatorArgs.push('--registry', registryFile);
  const simulator = spawn(process.execPath, simulatorArgs, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(simulator);
  prefixOutput(simulator.stderr, '[simulator] ', process.stderr);
  const listening = new Promise((resolve, reject) => {
    let seen = '';
    simulator.stdout.setEncoding('utf8');
    simulator.stdout.on('data', (chunk) => {
      seen += chunk;
      if (/listening on /.test(seen)) resolve();
    });
    simulator.once('exit', (code) => reject(new Error(`the simulator exited with code ${code}`)));
  });
  simulator.once('exit', (code) => {
    if (!stopping) console.error(`The simulator stopped (exit code ${code}); stopping Node-RED.`);
    stop(stopping ? 0 : 1);
  });
  await listening;

  const nodeRed = spawn(process.execPath, [redJs, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js'), '--port', String(options.port)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(nodeRed);
  prefixOutput(nodeRed.stdout, '[node-red] ', process.stdout);
  prefixOutput(nodeRed.stderr, '[node-red] ', process.stderr);
  nodeRed.once('exit', (code) => {
    if (!stopping) console.error(`Node-RED stopped (exit code ${code}); stopping the simulator.`);
    stop(stopping ? 0 : 1);
  });
  try {
    await waitForHttp(`http://127.0.0.1:${options.port}/settings`, 60000, nodeRed);
  } catch (err) {
    throw new Error(`Node-RED did not start: ${err.message}`);
  }

  console.log('');
  console.log(`Node-RED editor: ${editorUrl}`);
  console.log(`Simulator: http://127.0.0.1:${options.simulatorPort}`);
  console.log(deploy ? 'The example flows are deployed, one tab each.' : 'Your flows are kept; `npm start -- --reset` deploys the example flows again.');
  console.log('Ctrl-C stops both.');
}

module.exports = { buildIfStale, exampleFiles, exampleFlows, nodeRedSettings, registryPath };

if (require.main === module) {
  main().catch((err) => {
    console.error(`npm start: ${err.message}`);
    stop(1);
  });
}
