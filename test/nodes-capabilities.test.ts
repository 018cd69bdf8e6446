import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
import { startSimulator, type RunningSimulator } from '../src/simulator';
import type { RegistryFixture } from '../src/simulator/registry';

const configNode = require('../src/nodes/eformidling-config');
const capabilitiesNode = require('../src/nodes/eformidling-capabilities');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

helper.init(require.resolve('node-red'));

const ADMINISTRASJON = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';
const PLAN = 'urn:no:difi:profile:arkivmelding:planByggOgGeodata:ver1.0';
const VEDTAK = 'urn:no:difi:profile:digitalpost:vedtak:ver1.0';
const ARKIVMELDING = { type: 'arkivmelding', standard: 'urn:no:difi:arkivmelding:xsd::arkivmelding' };

/** A municipality reachable by DPO, DPF and DPV for administrasjon, and a person on DPI. */
const registry: RegistryFixture = {
  receivers: [
    {
      identifier: '930000007',
      name: 'Testkommune',
      capabilities: [
        { process: ADMINISTRASJON, serviceIdentifier: 'DPV', documentTypes: [ARKIVMELDING] },
        { process: ADMINISTRASJON, serviceIdentifier: 'DPF', documentTypes: [ARKIVMELDING] },
        { process: ADMINISTRASJON, serviceIdentifier: 'DPO', documentTypes: [ARKIVMELDING] },
        { process: PLAN, serviceIdentifier: 'DPF', documentTypes: [ARKIVMELDING] },
      ],
    },
    {
      identifier: '01017012345',
      capabilities: [
        {
          process: VEDTAK,
          serviceIdentifier: 'DPI',
          documentTypes: [
            { type: 'digital', standard: 'urn:no:difi:digitalpost:xsd:digital::digital' },
            { type: 'print', standard: 'urn:no:difi:digitalpost:xsd:fysisk::print' },
          ],
        },
      ],
    },
  ],
};

interface Msg {
  [key: string]: unknown;
}

/** The error text a Catch node got, without the "Error: " Node-RED puts in front. */
function errorText(caught: Msg | undefined): string {
  return ((caught?.error as { message?: string } | undefined)?.message ?? '').replace(/^\w*Error: /, '');
}

describe('eformidling-capabilities node', function () {
  let sim: RunningSimulator;
  let dataDir: string;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodes-capabilities-'));
    sim = await startSimulator({ port: 0, dataDir, registry, statusDelayMs: 50, lockSweepMs: 100 });
  });

  after(async () => {
    await sim.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  beforeEach(() => helper.startServer());

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  function flow(settings: Record<string, unknown> = {}) {
    return [
      { id: 'tab', type: 'tab' },
      { id: 'cfg', type: 'eformidling-config', url: sim.url, orgnr: '910000009', timeout: '10' },
      {
        id: 'caps',
        type: 'eformidling-capabilities',
        z: 'tab',
        server: 'cfg',
        receiver: '930000007',
        receiverType: 'str',
        process: '',
        documentType: '',
        securityLevel: '',
        prefer: 'DPO,DPF,DPV',
        ...settings,
        wires: [['out']],
      },
      { id: 'out', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
  }

  async function load(settings: Record<string, unknown> = {}) {
    await helper.load([configNode, capabilitiesNode, catchNode], flow(settings));
  }

  /** Sends msg into the node; resolves with what came out, or what a Catch node got. */
  function run(msg: Msg): Promise<{ out?: Msg; caught?: Msg }> {
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    return new Promise((resolve) => {
      const finish = (result: { out?: Msg; caught?: Msg }) => {
        out.removeAllListeners('input');
        caught.removeAllListeners('input');
        resolve(result);
      };
      out.on('input', (m: Msg) => finish({ out: m }));
      caught.on('input', (m: Msg) => finish({ caught: m }));
      helper.getNode('caps').receive(msg);
    });
  }

  it('outputs every capability and picks the first preferred service that fits', async () => {
    await load();
    const { out } = await run({ process: ADMINISTRASJON });
    assert.ok(out, 'expected an output message');
    const payload = out.payload as Array<{ serviceIdentifier: string; process: string }>;
    assert.equal(payload.length, 4);
    const capability = out.capability as { serviceIdentifier: string; process: string };
    assert.equal(capability.serviceIdentifier, 'DPO');
    assert.equal(capability.process, ADMINISTRASJON);
  });

  it('follows the prefer order, from the node or from msg.prefer', async () => {
    await load({ prefer: 'DPF, DPV' });
    let { out } = await run({ process: ADMINISTRASJON });
    assert.equal((out?.capability as { serviceIdentifier: string }).serviceIdentifier, 'DPF');
    ({ out } = await run({ process: ADMINISTRASJON, prefer: ['DPV', 'DPO'] }));
    assert.equal((out?.capability as { serviceIdentifier: string }).serviceIdentifier, 'DPV');
  });

  it('filters by process and document type from the node settings', async () => {
    await load({ process: PLAN, documentType: 'arkivmelding' });
    const { out } = await run({});
    const capability = out?.capability as { serviceIdentifier: string; process: string };
    assert.equal(capability.process, PLAN);
    assert.equal(capability.serviceIdentifier, 'DPF');
  });

  it('reads msg.receiver over the node setting and matches a document type URN', async () => {
    await load();
    const { out } = await run({ receiver: '01017012345', documentType: 'urn:no:difi:digitalpost:xsd:fysisk::print' });
    const capability = out?.capability as { serviceIdentifier: string; process: string };
    assert.equal(capability.serviceIdentifier, 'DPI');
    assert.equal(capability.process, VEDTAK);
  });

  it('reads the receiver from a typedInput pointing at msg', async () => {
    await load({ receiver: 'target.orgnr', receiverType: 'msg' });
    const { out } = await run({ target: { orgnr: '920000008' }, documentType: 'arkivmelding', process: ADMINISTRASJON });
    assert.equal((out?.capability as { serviceIdentifier: string }).serviceIdentifier, 'DPO');
  });

  it('reports a Catch-able error that says what the receiver supports when nothing fits', async () => {
    await load();
    const { caught } = await run({ process: VEDTAK });
    assert.ok(caught, 'expected the Catch node to get the msg');
    const message = errorText(caught);
    assert.match(message, /930000007 does not support process urn:no:difi:profile:digitalpost:vedtak:ver1\.0/);
    assert.match(message, /supports: .*administrasjon:ver1\.0 via DPV \(arkivmelding\)/);
    assert.match(message, /planByggOgGeodata:ver1\.0 via DPF/);
    assert.ok(Array.isArray(caught.payload), 'the capabilities are still on msg.payload');
  });

  it('reports an unknown receiver with the IP error on msg.ipError', async () => {
    await load();
    const { caught } = await run({ receiver: '999999999' });
    assert.ok(caught);
    assert.match(errorText(caught), /404 IdentifierNotFoundException/);
    const ipError = caught.ipError as { status: number; exception: string; path: string };
    assert.equal(ipError.status, 404);
    assert.match(ipError.exception, /IdentifierNotFoundException$/);
    assert.equal(ipError.path, '/api/capabilities/999999999');
  });

  it('names the field of a bad receiver or security level, before asking the IP', async () => {
    await load({ receiver: '' });
    let { caught } = await run({});
    assert.match(errorText(caught), /^receiver: expected the receiver's organisation number/);
    ({ caught } = await run({ receiver: '12345' }));
    assert.match(errorText(caught), /^msg\.receiver: expected an organisation number/);
    assert.equal(caught?.ipError, undefined);
    ({ caught } = await run({ receiver: '930000007', securityLevel: 5 }));
    assert.match(errorText(caught), /^msg\.securityLevel: expected security level 3 or 4/);
  });

  it('says which setting is missing when no configuration node is chosen', async () => {
    await load({ server: '' });
    const { caught } = await run({});
    assert.match(errorText(caught), /^server: no eFormidling configuration \(eformidling-config\) selected/);
  });

  it('shows the picked service in the status and red with a reason on errors', async () => {
    await load();
    const node = helper.getNode('caps');
    const statuses: Array<{ fill?: string; text?: string }> = [];
    node.on('call:status', (call: { args: Array<{ fill?: string; text?: string }> }) => statuses.push(call.args[0]));
    await run({ process: ADMINISTRASJON });
    await run({ process: VEDTAK });
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(statuses.some((s) => s.fill === 'green' && s.text === 'DPO for 930000007'), JSON.stringify(statuses));
    assert.equal(statuses[statuses.length - 1].fill, 'red');
  });

  it('answers the editor look-up with the receiver capabilities', async () => {
    await load();
    const res = await helper.request().get('/eformidling/capabilities/cfg').query({ receiver: '0192:930000007' }).expect(200);
    assert.equal(res.body.receiver, '930000007');
    assert.equal(res.body.capabilities.length, 4);
    const unknown = await helper.request().get('/eformidling/capabilities/cfg').query({ receiver: '999999999' });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, /IdentifierNotFoundException/);
    const bad = await helper.request().get('/eformidling/capabilities/cfg').query({ receiver: 'abc' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /receiver: expected an organisation number/);
    const undeployed = await helper.request().get('/eformidling/capabilities/nope').query({ receiver: '930000007' });
    assert.equal(undeployed.status, 404);
    assert.match(undeployed.body.message, /deploy/);
  });
});
