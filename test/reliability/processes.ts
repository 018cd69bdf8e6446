// Real Node-RED processes for the crash tests, on top of the end-to-end harness (test/e2e/harness.ts): the package
// packed and installed as a user installs it, Node-RED started on a user directory, flows deployed through the admin
// API. Added here: one install shared by every user directory, kill -9, and flows that keep a ledger file of what
// they received (core file node), so counts survive the process that wrote them.
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { NodeRedProcess, makeTempDir, packPackage, userDirWithPackage, type FlowNode } from '../e2e/harness';

export { NodeRedProcess, type FlowNode } from '../e2e/harness';

const redJs = require.resolve('node-red/red.js');
let installed: Promise<string> | undefined;
const made: string[] = [];

/** The package installed once per test run, shared by every user directory here; removed when the run ends. */
function install(): Promise<string> {
  installed ??= packPackage()
    .then((tarball) => userDirWithPackage(tarball))
    .then((dir) => {
      process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
      return dir;
    });
  return installed;
}

/** A fresh Node-RED user directory with the packed package; the install is done once and shared (symlinked). */
export async function newUserDir(): Promise<string> {
  const template = await install();
  const dir = makeTempDir('reliability-userdir');
  made.push(dir);
  fs.copyFileSync(path.join(template, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(template, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Removes the user directories made so far (the shared install stays until the run ends). */
export async function removeUserDirs(): Promise<void> {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Where the package is installed (its dist/simulator/cli.js is the simulator a user runs). */
export async function installedPackageDir(): Promise<string> {
  return path.join(await install(), 'node_modules', 'node-red-contrib-eformidling');
}

export function startNodeRed(userDir: string): Promise<NodeRedProcess> {
  return NodeRedProcess.start({ redJs, userDir });
}

/** kill -9: no close handlers, no flushing; whatever was in flight is cut off. */
export async function kill9(nodeRed: NodeRedProcess): Promise<void> {
  const child = nodeRed.child.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** The lines a ledger file holds, parsed as JSON (a last line cut off by a kill is skipped). */
export function readLedger<T = Record<string, unknown>>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  const rows: T[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch {
      // a half-written last line
    }
  }
  return rows;
}

/**
 * Nodes that append one JSON line per msg to `file` and pass the msg on (after the line is written): a function
 * node picks the fields, a core file node appends. `wires` is where the msg goes next.
 */
export function ledgerNodes(id: string, tab: string, file: string, fields: string[], wires: string[][] = [[]]): FlowNode[] {
  const pick = `msg._ledger = msg.payload; msg.payload = JSON.stringify({ ${fields.map((f) => `${JSON.stringify(f)}: msg[${JSON.stringify(f)}]`).join(', ')} }); return msg;`;
  const restore = 'msg.payload = msg._ledger; delete msg._ledger; return msg;';
  return [
    { id: `${id}-pick`, type: 'function', z: tab, name: `${id} fields`, func: pick, outputs: 1, wires: [[`${id}-file`]] },
    { id: `${id}-file`, type: 'file', z: tab, name: `${id} ledger`, filename: file, filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', wires: [[`${id}-restore`]] },
    { id: `${id}-restore`, type: 'function', z: tab, name: `${id} restore`, func: restore, outputs: 1, wires },
  ];
}
