import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startSimulator, type RunningSimulator } from '../src/simulator';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
const configNode = require('../src/nodes/eformidling-config');
const capabilitiesNode = require('../src/nodes/eformidling-capabilities');
const tlsNode = require('@node-red/nodes/core/network/05-tls.js');

helper.init(require.resolve('node-red'));

/** A self-signed certificate for 127.0.0.1/localhost, valid 2020–2120, for the TLS test. */
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDZLxAWCTCJ5jUS/T
aqw+MTuxKlAJiL57E3rPbaj2Z5ahRANCAAT6Pv2yfl/SRxWsBAhSu3KPL4AtmEQB
Y96ekCkm937Xc2yl53CSdOOvTlkqpr9nzHHPebVpaWr4puIAPetwY0AV
-----END PRIVATE KEY-----`;
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBaDCCAQ2gAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMjAwMTAxMDAwMDAwWhgPMjEyMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABPo+/bJ+X9JHFawE
CFK7co8vgC2YRAFj3p6QKSb3ftdzbKXncJJ0469OWSqmv2fMcc95tWlpavim4gA9
63BjQBWjTjBMMBoGA1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAPBgNVHRMBAf8E
BTADAQH/MB0GA1UdDgQWBBQ8nxQBvQ9TC1guEk/SUP7AzfdMBzAKBggqhkjOPQQD
AgNJADBGAiEAwqA23xxkys86yl7uNk7iiMNAl2zAWe14zNEvFTeajIUCIQCy9nRz
TQ6E4SsXgvF4o1dDATyGk3PzusDlTIbUpQDzRg==
-----END CERTIFICATE-----`;

const USERNAME = 'efm-user';
const PASSWORD = 'S3cret-pa55word';

interface Status {
  fill?: string;
  shape?: string;
  text?: string;
}

/** A free port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor<T>(what: string, check: () => T | undefined, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('eformidling-config node', function () {
  let sim: RunningSimulator;
  let dataDir: string;
  /** A web server that is not an Integrasjonspunkt: 404 with an HTML page for everything. */
  let notAnIp: http.Server;
  let notAnIpUrl: string;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodes-config-'));
    sim = await startSimulator({ port: 0, dataDir, username: USERNAME, password: PASSWORD, statusDelayMs: 50, lockSweepMs: 100 });
    notAnIp = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><body>Not found</body></html>');
    });
    await new Promise<void>((resolve) => notAnIp.listen(0, '127.0.0.1', resolve));
    notAnIpUrl = `http://127.0.0.1:${(notAnIp.address() as AddressInfo).port}`;
  });

  after(async () => {
    await sim.close();
    await new Promise((resolve) => notAnIp.close(resolve));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  beforeEach(() => helper.startServer());

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  function flow(url: string) {
    return [
      { id: 'tab', type: 'tab' },
      { id: 'cfg', type: 'eformidling-config', name: 'test IP', url, orgnr: '910000009', timeout: '5', tls: '' },
      { id: 'caps', type: 'eformidling-capabilities', z: 'tab', server: 'cfg', receiver: '920000008', receiverType: 'str', wires: [] },
    ];
  }

  /** Every status the node has shown so far (the test helper spies on Node.prototype.status). */
  function statusesOf(id: string): Status[] {
    const calls: Array<{ thisValue: { id: string }; args: Status[] }> = helper.getNode(id).status.getCalls();
    return calls.filter((c) => c.thisValue.id === id).map((c) => c.args[0]);
  }

  it('gives every user node one shared client and shows "connected" after deploy', async () => {
    await helper.load([configNode, capabilitiesNode], flow(sim.url), { cfg: { username: USERNAME, password: PASSWORD } });
    const cfg = helper.getNode('cfg');
    assert.equal(cfg.url, sim.url);
    assert.equal(cfg.orgnr, '910000009');
    assert.equal(typeof cfg.client.capabilities, 'function');
    const green = await waitFor('connected', () => statusesOf('caps').find((s) => s.fill === 'green'));
    assert.equal(green.text, 'node-red:common.status.connected');
  });

  it('shows the reason on every user node when the IP refuses the login', async () => {
    await helper.load([configNode, capabilitiesNode], flow(sim.url), { cfg: { username: USERNAME, password: 'wrong' } });
    const red = await waitFor('red status', () => statusesOf('caps').find((s) => s.fill === 'red'));
    assert.equal(red.text, '401 unauthorized');
  });

  it('shows "unreachable" when nothing listens at the URL', async () => {
    await helper.load([configNode, capabilitiesNode], flow(`http://127.0.0.1:${await closedPort()}`));
    const red = await waitFor('red status', () => statusesOf('caps').find((s) => s.fill === 'red'));
    assert.equal(red.text, 'unreachable');
  });

  it('shows "invalid configuration" and names the field for a malformed URL', async () => {
    await helper.load([configNode, capabilitiesNode], flow('localhost:9093 oops'));
    const red = await waitFor('red status', () => statusesOf('caps').find((s) => s.fill === 'red'));
    assert.equal(red.text, 'invalid configuration');
    await assert.rejects(helper.getNode('cfg').client.capabilities('920000008'), /^Error: url: expected/);
  });

  it('closes its client on redeploy', async () => {
    await helper.load([configNode, capabilitiesNode], flow(sim.url), { cfg: { username: USERNAME, password: PASSWORD } });
    const client = helper.getNode('cfg').client;
    await helper.setFlows(flow(sim.url), 'full', { cfg: { username: USERNAME, password: PASSWORD } });
    await assert.rejects(client.capabilities('920000008'), /closed|destroyed/i);
    const fresh = helper.getNode('cfg').client;
    assert.notEqual(fresh, client);
    assert.ok((await fresh.capabilities('920000008')).capabilities.length > 0);
  });

  describe('TLS from a tls-config node', () => {
    let tlsSim: RunningSimulator;
    let tlsDir: string;
    let caFile: string;

    before(async () => {
      tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodes-config-tls-'));
      caFile = path.join(tlsDir, 'ca.pem');
      fs.writeFileSync(caFile, TLS_CERT);
      tlsSim = await startSimulator({ port: 0, dataDir: path.join(tlsDir, 'data'), tls: { key: TLS_KEY, cert: TLS_CERT } });
    });

    after(async () => {
      await tlsSim.close();
      fs.rmSync(tlsDir, { recursive: true, force: true });
    });

    function tlsFlow(verify: boolean) {
      return [
        { id: 'tlscfg', type: 'tls-config', cert: '', key: '', ca: caFile, certname: '', keyname: '', caname: '', servername: '', verifyservercert: verify },
        ...flow(tlsSim.url).map((n) => (n.id === 'cfg' ? { ...n, tls: 'tlscfg' } : n)),
      ];
    }

    it('trusts the CA of the tls-config node', async () => {
      assert.match(tlsSim.url, /^https:/);
      await helper.load([tlsNode, configNode, capabilitiesNode], tlsFlow(true));
      await waitFor('connected over TLS', () => statusesOf('caps').find((s) => s.fill === 'green'));
      const res = await helper.request().post('/eformidling/test-connection').send({ url: tlsSim.url, orgnr: '910000009', tls: 'tlscfg' }).expect(200);
      assert.equal(res.body.ok, true, res.body.message);
    });

    it('says it is a TLS problem when the certificate is not trusted', async () => {
      await helper.load([tlsNode, configNode, capabilitiesNode], tlsFlow(true));
      const res = await helper.request().post('/eformidling/test-connection').send({ url: tlsSim.url, orgnr: '910000009' }).expect(200);
      assert.equal(res.body.ok, false);
      assert.match(res.body.message, /TLS problem/);
    });
  });

  describe('Test connection (admin endpoint)', () => {
    beforeEach(async () => {
      await helper.load([configNode, capabilitiesNode], flow(sim.url), { cfg: { username: USERNAME, password: PASSWORD } });
    });

    const post = (body: Record<string, unknown>) => helper.request().post('/eformidling/test-connection').send(body).expect(200);

    it('says OK with the number of capabilities of the organisation', async () => {
      const res = await post({ url: sim.url, orgnr: '910000009', timeout: '5', username: USERNAME, password: PASSWORD });
      assert.equal(res.body.ok, true, res.body.message);
      assert.ok(res.body.capabilities > 0);
      assert.match(res.body.message, new RegExp(`organisation 910000009 has ${res.body.capabilities} capabilities`));
    });

    it('uses the stored password when the dialog shows the placeholder', async () => {
      const res = await post({ id: 'cfg', url: sim.url, orgnr: '910000009', username: USERNAME, password: '__PWRD__' });
      assert.equal(res.body.ok, true, res.body.message);
    });

    it('never sends the stored password to another address than the deployed one', async () => {
      const res = await post({ id: 'cfg', url: notAnIpUrl, orgnr: '910000009', username: USERNAME, password: '__PWRD__' });
      assert.equal(res.body.ok, false);
      assert.match(res.body.message, /stored password belongs to http:\/\/127\.0\.0\.1:\d+; type the password again/);
    });

    it('says the username or password is wrong on 401', async () => {
      const res = await post({ url: sim.url, orgnr: '910000009', username: USERNAME, password: 'wrong' });
      assert.equal(res.body.ok, false);
      assert.match(res.body.message, /refused the login \(401\): wrong or missing username\/password/);
      assert.ok(!res.body.message.includes('wrong-password-text'));
    });

    it('says the IP cannot be reached when the connection is refused', async () => {
      const res = await post({ url: `http://127.0.0.1:${await closedPort()}`, orgnr: '910000009' });
      assert.equal(res.body.ok, false);
      assert.match(res.body.message, /Cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused/);
    });

    it('says the host name was not found', async () => {
      const res = await post({ url: 'http://no-such-host.invalid:9093', orgnr: '910000009' });
      assert.equal(res.body.ok, false);
      assert.match(res.body.message, /host name was not found|Cannot reach/);
    });

    it('says when the IP does not answer in time', async () => {
      const sockets: net.Socket[] = [];
      const silent = net.createServer((socket) => sockets.push(socket)); // accepts connections, never answers
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const res = await post({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, orgnr: '910000009', timeout: '1' });
        assert.equal(res.body.ok, false);
        assert.match(res.body.message, /Cannot reach http:\/\/127\.0\.0\.1:\d+: no answer in time/);
      } finally {
        sockets.forEach((socket) => socket.destroy());
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('says when the server at the URL is not an Integrasjonspunkt', async () => {
      const res = await post({ url: notAnIpUrl, orgnr: '910000009' });
      assert.equal(res.body.ok, false);
      assert.match(res.body.message, /not an Integrasjonspunkt/);
      assert.match(res.body.message, /404/);
    });

    it('says when the organisation number is unknown to the service registry', async () => {
      const res = await post({ url: sim.url, orgnr: '999999999', username: USERNAME, password: PASSWORD });
      assert.equal(res.body.ok, false);
      assert.match(res.body.message, /does not know organisation number 999999999/);
    });

    it('names a malformed URL', async () => {
      const res = await post({ url: 'localhost 9093' });
      assert.equal(res.body.ok, false);
      assert.match(res.body.message, /^url: /);
    });
  });

  describe('credentials', () => {
    it('are declared as credentials, the password as type password, in the runtime and the editor', () => {
      const html = fs.readFileSync(path.join(__dirname, '..', 'nodes', 'eformidling-config.html'), 'utf8');
      assert.match(html, /credentials:\s*\{\s*username:\s*\{\s*type:\s*'text'\s*\},\s*password:\s*\{\s*type:\s*'password'\s*\}/);
      const defaults = html.slice(html.indexOf('defaults:'), html.indexOf('credentials:'));
      assert.ok(defaults.length > 0 && !/username|password/.test(defaults), 'no credential in the exported defaults');
    });

    it('reach the node but never the flow configuration the editor exports', async () => {
      await helper.load([configNode, capabilitiesNode], flow(sim.url), { cfg: { username: USERNAME, password: PASSWORD } });
      const definition = helper._redNodes.getCredentialDefinition('eformidling-config');
      assert.deepEqual(definition, { username: { type: 'text' }, password: { type: 'password' } });
      assert.deepEqual(helper.getNode('cfg').credentials, { username: USERNAME, password: PASSWORD });
      const exported = JSON.stringify(helper._redNodes.getFlows().flows);
      assert.ok(!exported.includes(PASSWORD), 'the password is in the flow JSON');
      assert.ok(!exported.includes(USERNAME), 'the username is in the flow JSON');
      const cfg = helper._redNodes.getFlows().flows.find((n: { id: string }) => n.id === 'cfg');
      assert.equal(cfg.username, undefined);
      assert.equal(cfg.password, undefined);
      assert.equal(cfg.credentials, undefined);
    });

    it('are taken out of the flow when the editor deploys them inside the node', async () => {
      await helper.load([configNode, capabilitiesNode], flow(sim.url));
      // The editor sends changed credentials inside the node; the runtime must move them to the credential store.
      const deployed = flow(sim.url).map((n) => (n.id === 'cfg' ? { ...n, credentials: { username: USERNAME, password: PASSWORD } } : n));
      await helper.setFlows(deployed, 'full');
      assert.deepEqual(helper.getNode('cfg').credentials, { username: USERNAME, password: PASSWORD });
      const exported = JSON.stringify(helper._redNodes.getFlows().flows);
      assert.ok(!exported.includes(PASSWORD) && !exported.includes(USERNAME), exported);
      // and the client logs in with them
      assert.ok((await helper.getNode('cfg').client.capabilities('920000008')).capabilities.length > 0);
    });
  });
});

// ---------------------------------------------------------------- editor files of the three send-side nodes

/** What the Flow Library scorecard (node-red-dev) and the editor need from each node's html and locales. */
describe('editor files: eformidling-config, -capabilities, -send', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const acorn = require('acorn');
  const root = path.join(__dirname, '..', 'nodes');
  const nodes: Record<string, { category: string; defaults: string[]; credentials?: string[]; msgFields: string[] }> = {
    'eformidling-config': { category: 'config', defaults: ['name', 'url', 'orgnr', 'timeout', 'tls'], credentials: ['username', 'password'], msgFields: [] },
    'eformidling-capabilities': {
      category: 'eFormidling',
      defaults: ['name', 'server', 'receiver', 'receiverType', 'process', 'documentType', 'securityLevel', 'prefer'],
      msgFields: ['receiver', 'process', 'documentType', 'securityLevel', 'prefer', 'payload', 'capability'],
    },
    'eformidling-send': {
      category: 'eFormidling',
      defaults: ['name', 'server', 'receiver', 'receiverType', 'process', 'documentType'],
      msgFields: ['receiver', 'process', 'documentType', 'capability', 'businessMessage', 'messageId', 'conversationId', 'ttlHours', 'sbd', 'payload', 'filename', 'files', 'arkivmelding'],
    },
  };

  interface Property {
    key: { name?: string; value?: string };
    value: { type: string; value?: unknown; properties?: Property[] };
  }

  function definitionOf(html: string, type: string): Map<string, Property['value']> {
    const scripts = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    assert.equal(scripts.length, 1, 'one editor script');
    const ast = acorn.parse(scripts[0], { ecmaVersion: 2020 });
    let found: Property[] | undefined;
    (function walk(node: Record<string, unknown>): void {
      if (!node || typeof node !== 'object') return;
      const callee = node.callee as { property?: { name: string } } | undefined;
      const args = node.arguments as Array<{ type: string; value?: unknown; properties?: Property[] }> | undefined;
      if (node.type === 'CallExpression' && callee?.property?.name === 'registerType' && args?.[0]?.value === type && args[1]?.type === 'ObjectExpression') {
        found = args[1].properties;
      }
      for (const value of Object.values(node)) {
        if (Array.isArray(value)) value.forEach((v) => walk(v));
        else if (value && typeof value === 'object') walk(value as Record<string, unknown>);
      }
    })(ast);
    assert.ok(found, `RED.nodes.registerType('${type}', { … }) with a literal type and object`);
    return new Map(found.map((p) => [p.key.name ?? String(p.key.value), p.value]));
  }

  function lookup(catalog: Record<string, unknown>, key: string): unknown {
    return key.split('.').reduce<unknown>((at, part) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined), catalog);
  }

  for (const [type, expected] of Object.entries(nodes)) {
    it(`${type}: literal definition with inline defaults, category, colour and icon`, () => {
      const html = fs.readFileSync(path.join(root, `${type}.html`), 'utf8');
      const definition = definitionOf(html, type);
      assert.equal(definition.get('category')?.value, expected.category);
      assert.equal(definition.get('color')?.value, '#8ec5e8');
      assert.equal(definition.get('icon')?.value, 'eformidling.svg');
      const defaults = definition.get('defaults');
      assert.equal(defaults?.type, 'ObjectExpression', 'defaults inline');
      assert.deepEqual(defaults?.properties?.map((p) => p.key.name), expected.defaults);
      if (expected.credentials) {
        assert.deepEqual(definition.get('credentials')?.properties?.map((p) => p.key.name), expected.credentials);
      } else {
        assert.equal(definition.get('inputs')?.value, 1);
        assert.equal(definition.get('outputs')?.value, 1);
      }
      assert.ok(fs.existsSync(path.join(root, 'icons', 'eformidling.svg')));
    });

    for (const lang of ['en-US', 'nb-NO']) {
      it(`${type}: ${lang} labels for every i18n key and help for every property and msg field`, () => {
        const html = fs.readFileSync(path.join(root, `${type}.html`), 'utf8');
        const catalog = JSON.parse(fs.readFileSync(path.join(root, 'locales', lang, `${type}.json`), 'utf8'));
        const keys = [
          ...[...html.matchAll(/data-i18n="(?:\[\w+\])?([^"]+)"/g)].map((m) => m[1]),
          ...[...html.matchAll(/_\('([^']+)'/g)].map((m) => m[1]),
        ];
        assert.ok(keys.length > 0);
        for (const key of keys) assert.equal(typeof lookup(catalog, key), 'string', `${lang}/${type}.json has ${key}`);

        const help = fs.readFileSync(path.join(root, 'locales', lang, `${type}.html`), 'utf8');
        assert.match(help, new RegExp(`<script type="text/html" data-help-name="${type}">`));
        for (const field of expected.msgFields) assert.match(help, new RegExp(`<dt[^>]*>${field} <span class="property-type">`), `help on msg.${field}`);
        const labels = Object.keys((catalog[type] as { label: Record<string, string> }).label);
        for (const property of expected.defaults.filter((d) => d !== 'name' && !d.endsWith('Type'))) {
          const label = (catalog[type] as { label: Record<string, string> }).label[property];
          assert.ok(label, `${lang} label for ${property} (labels: ${labels.join(', ')})`);
          assert.ok(help.includes(`<dt class="optional">${label} `) || help.includes(`<dt>${label} `), `${lang} help on the ${property} property ("${label}")`);
        }
      });
    }
  }

  it('nb-NO is a translation, not a copy', () => {
    for (const type of Object.keys(nodes)) {
      const en = fs.readFileSync(path.join(root, 'locales', 'en-US', `${type}.html`), 'utf8');
      const nb = fs.readFileSync(path.join(root, 'locales', 'nb-NO', `${type}.html`), 'utf8');
      assert.notEqual(en, nb);
      assert.match(nb, /<h3>Egenskaper<\/h3>/);
    }
  });
});
