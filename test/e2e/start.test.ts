// `npm start` (scripts/start.js) as a new user runs it: the simulator and Node-RED come up with the examples
// deployed, messages go round within 20 seconds, and Ctrl-C stops both.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { IntegrasjonspunktClient } from '../../src/client';
import { childEnv, eventually, freePort, makeTempDir, repoRoot, startScript, type FlowNode } from './harness';

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('e2e: npm start (scripts/start.js)', function () {
  this.timeout(120000);
  let child: ChildProcess | undefined;
  let dataDir: string | undefined;
  let client: IntegrasjonspunktClient | undefined;

  after(async () => {
    await client?.close();
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('brings up the simulator and Node-RED with every example deployed; a message reaches LEVERT within 20 s; Ctrl-C stops both', async () => {
    startScript.buildIfStale(); // npm test builds first (pretest); the 20 s are about starting, not building
    dataDir = makeTempDir('start');
    const port = await freePort();
    const simulatorPort = await freePort();
    const started = Date.now();
    child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'start.js'), '--port', String(port), '--simulator-port', String(simulatorPort), '--data-dir', dataDir], {
      cwd: repoRoot,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

    await eventually('the editor and simulator addresses to be printed', 20000, () => {
      if (child!.exitCode !== null) throw new Error(`npm start exited with ${child!.exitCode}:\n${output}`);
      return output.includes(`Node-RED editor: http://localhost:${port}/`) && output.includes(`Simulator: http://127.0.0.1:${simulatorPort}`);
    });

    // Every example is deployed, one tab each, sharing one config node per organisation.
    const flows = (await (await fetch(`http://127.0.0.1:${port}/flows`)).json()) as FlowNode[];
    const tabs = flows.filter((n) => n.type === 'tab').length;
    assert.equal(tabs, startScript.exampleFiles().length);
    const configs = flows.filter((n) => n.type === 'eformidling-config').map((n) => n.orgnr);
    assert.deepEqual([...configs].sort(), ['910000009', '920000008']);

    // Messages go round: the PDF example's first message is sent, received, acknowledged and LEVERT.
    client = new IntegrasjonspunktClient({ url: `http://127.0.0.1:${simulatorPort}` });
    await eventually('a message to reach LEVERT', Math.max(1000, 20000 - (Date.now() - started)), async () => {
      const levert = await client!.listStatuses({ status: 'LEVERT' });
      return levert.content.length > 0;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    });

    // Ctrl-C: both stop, nothing keeps the ports.
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0, output);
    assert.ok(await portIsClosed(port), 'Node-RED has stopped');
    assert.ok(await portIsClosed(simulatorPort), 'the simulator has stopped');
  });
});
