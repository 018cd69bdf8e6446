// Security: credentials live only in Node-RED's credential store; no secret (the IP password, the webhook token)
// shows up in logs, node statuses, the debug sidebar or error messages while requests fail with a wrong password;
// the webhook endpoint compares its token in constant time and limits the body size; TLS to the IP works with a
// custom CA and a client certificate (a simulator serving HTTPS, certificates made with openssl at test time,
// through a tls-config node); `npm audit --omit=dev` finds nothing in the runtime dependencies.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { WebSocket } from 'undici';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { MAX_EVENT_BYTES } from '../../src/nodes/webhook/event-body';
import { kill9, newUserDir, removeUserDirs, startNodeRed, type FlowNode, type NodeRedProcess } from '../reliability/processes';
import { ARKIV_PROCESS, MiB, RECEIVER, SENDER, caughtText, helper, sleep, tempDir, waitFor, type Msg } from '../reliability/support';

const configNode = require('../../src/nodes/eformidling-config');
const sendNode = require('../../src/nodes/eformidling-send');
const capabilitiesNode = require('../../src/nodes/eformidling-capabilities');
const statusNode = require('../../src/nodes/eformidling-status');
const inboxNode = require('../../src/nodes/eformidling-inbox');
const webhookNode = require('../../src/nodes/eformidling-webhook-in');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');
const tlsNode = require('@node-red/nodes/core/network/05-tls.js');

const repoRoot = path.resolve(__dirname, '..', '..');
const USERNAME = 'efm-user';
const RIGHT_PASSWORD = 'Right-Passw0rd-for-the-IP';
const WRONG_PASSWORD = 'Wr0ng-S3cret-Passw0rd-7431';
const TOKEN = 'Hook-T0ken-9f1c2e7b4a5d6e8f0a1b2c3d4e5f6a7b';

/** Every form in which a secret could leak: as typed, in a Basic header, URL-encoded. */
const SECRETS = [
  WRONG_PASSWORD,
  RIGHT_PASSWORD,
  TOKEN,
  Buffer.from(`${USERNAME}:${WRONG_PASSWORD}`).toString('base64'),
  Buffer.from(`${USERNAME}:${RIGHT_PASSWORD}`).toString('base64'),
  encodeURIComponent(WRONG_PASSWORD),
];

function leaks(text: string): string[] {
  return SECRETS.filter((secret) => text.includes(secret));
}

/** Node-RED's comms websocket: what the editor sees (debug sidebar, node statuses), as raw text. */
async function watchComms(nodeRedUrl: string): Promise<{ messages: string[]; close(): void }> {
  const ws = new WebSocket(`${nodeRedUrl.replace(/^http/, 'ws')}/comms`);
  const messages: string[] = [];
  ws.addEventListener('message', (event) => messages.push(String(event.data)));
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error('cannot open /comms')));
  });
  ws.send(JSON.stringify({ subscribe: 'status/#' }));
  ws.send(JSON.stringify({ subscribe: 'debug' }));
  return { messages, close: () => ws.close() };
}

describe('security', function () {
  this.timeout(120_000);

  describe('in a real Node-RED: credentials stay in the credential store, no secret in logs, statuses or errors', () => {
    let workDir: string;
    let sim: RunningSimulator;
    let nodeRed: NodeRedProcess | undefined;

    before(async () => {
      workDir = tempDir('security');
      sim = await startSimulator({ port: 0, dataDir: path.join(workDir, 'sim'), username: USERNAME, password: RIGHT_PASSWORD, statusDelayMs: 20 });
    });

    after(async () => {
      if (nodeRed) await kill9(nodeRed);
      await sim?.close();
      await removeUserDirs();
      fs.rmSync(workDir, { recursive: true, force: true });
    });

    it('keeps password and token out of the flow file and the admin API, and out of everything shown while requests fail', async () => {
      const userDir = await newUserDir();
      nodeRed = await startNodeRed(userDir);
      const output: string[] = [];
      for (const stream of [nodeRed.child.process.stdout, nodeRed.child.process.stderr]) stream?.on('data', (chunk: Buffer | string) => output.push(String(chunk)));
      const comms = await watchComms(nodeRed.url);

      const inject = (id: string, target: string, props: Array<{ p: string; v: string; vt: string }>) => ({ id, type: 'inject', z: 'sec-tab', props, repeat: '', crontab: '', once: false, topic: '', wires: [[target]] });
      const flow: FlowNode[] = [
        { id: 'sec-tab', type: 'tab', label: 'security' },
        { id: 'sec-cfg', type: 'eformidling-config', name: 'IP with a wrong password', url: sim.url, orgnr: SENDER, timeout: '10', credentials: { username: USERNAME, password: WRONG_PASSWORD } },
        inject('sec-go-caps', 'sec-caps', [{ p: 'receiver', v: RECEIVER, vt: 'str' }]),
        { id: 'sec-caps', type: 'eformidling-capabilities', z: 'sec-tab', server: 'sec-cfg', receiverType: 'str', wires: [['sec-debug']] },
        inject('sec-go-send', 'sec-send', [
          { p: 'payload', v: 'brev', vt: 'str' },
          { p: 'filename', v: 'brev.txt', vt: 'str' },
          { p: 'arkivmelding', v: '{"tittel":"Brev"}', vt: 'json' },
        ]),
        { id: 'sec-send', type: 'eformidling-send', z: 'sec-tab', server: 'sec-cfg', receiver: RECEIVER, receiverType: 'str', process: ARKIV_PROCESS, documentType: 'arkivmelding', wires: [['sec-debug']] },
        inject('sec-go-status', 'sec-status', [{ p: 'messageId', v: crypto.randomUUID(), vt: 'str' }]),
        { id: 'sec-status', type: 'eformidling-status', z: 'sec-tab', server: 'sec-cfg', mode: 'lookup', wires: [['sec-debug']] },
        { id: 'sec-inbox', type: 'eformidling-inbox', z: 'sec-tab', server: 'sec-cfg', interval: 1, output: 'files', ack: 'auto', wires: [['sec-debug']] },
        { id: 'sec-hook', type: 'eformidling-webhook-in', z: 'sec-tab', server: 'sec-cfg', path: '/sec/hook', publicUrl: nodeRed.url, manage: true, deleteOnRemove: true, credentials: { token: TOKEN }, wires: [['sec-debug']] },
        { id: 'sec-catch', type: 'catch', z: 'sec-tab', scope: null, uncaught: false, wires: [['sec-debug']] },
        { id: 'sec-debug', type: 'debug', z: 'sec-tab', active: true, tosidebar: true, console: true, tostatus: true, complete: 'true', targetType: 'full' },
      ];
      await nodeRed.deploy(flow);
      for (const id of ['sec-go-caps', 'sec-go-send', 'sec-go-status']) await waitFor(`inject ${id}`, () => nodeRed!.inject(id).then(() => true, () => false), 10_000);

      // "Test connection" in the config dialog: with the password typed, and with the stored one.
      const answers: string[] = [];
      for (const body of [
        { url: sim.url, orgnr: SENDER, username: USERNAME, password: WRONG_PASSWORD },
        { id: 'sec-cfg', url: sim.url, orgnr: SENDER, username: USERNAME, password: '__PWRD__' },
      ]) {
        const res = await nodeRed.admin('POST', '/eformidling/test-connection', body);
        answers.push(await res.text());
      }
      // A webhook call with a wrong token, and one with a body over the limit.
      const hookUrl = `${nodeRed.url}/sec/hook`;
      answers.push(`${(await fetch(`${hookUrl}?token=wrong`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status}`);
      const big = await fetch(`${hookUrl}?token=${TOKEN}`, { method: 'POST', body: JSON.stringify({ event: 'ping', pad: 'x'.repeat(MAX_EVENT_BYTES + 1024) }), headers: { 'content-type': 'application/json' } });
      assert.equal(big.status, 413, 'a body over the limit is refused in a real Node-RED too');
      const chunks = Buffer.from(JSON.stringify({ event: 'ping', pad: 'x'.repeat(MAX_EVENT_BYTES + 1024) }));
      const chunked = new ReadableStream({
        start(controller) {
          for (let i = 0; i < chunks.length; i += 64 * 1024) controller.enqueue(chunks.subarray(i, i + 64 * 1024));
          controller.close();
        },
      });
      const bigChunked = await fetch(`${hookUrl}?token=${TOKEN}`, { method: 'POST', body: chunked, duplex: 'half', headers: { 'content-type': 'application/json' } } as RequestInit);
      assert.equal(bigChunked.status, 413, 'also without Content-Length');

      await waitFor('the failures to show', () => comms.messages.filter((m) => /401/.test(m)).length >= 4, 20_000);
      await sleep(2000); // the inbox's retries and the webhook's subscription attempt
      comms.close();

      const shown = { 'Node-RED log': output.join(''), 'editor (debug sidebar and statuses)': comms.messages.join('\n'), 'admin answers': answers.join('\n') };
      assert.match(shown['editor (debug sidebar and statuses)'], /401/, 'the failures were seen');
      assert.match(answers[0], /refused the login \(401\)/);
      for (const [where, text] of Object.entries(shown)) assert.deepEqual(leaks(text), [], `a secret in the ${where}`);

      // Only the credential store has them: not the flow file, not GET /flows (what Export gives), not GET /credentials.
      const flowFile = fs.readFileSync(path.join(userDir, 'flows.json'), 'utf8');
      const exported = await (await nodeRed.admin('GET', '/flows')).text();
      const credentialsShown = await (await nodeRed.admin('GET', '/credentials/eformidling-config/sec-cfg')).json() as Record<string, unknown>;
      const store = fs.readFileSync(path.join(userDir, 'flows_cred.json'), 'utf8');
      for (const [where, text] of Object.entries({ 'flows.json': flowFile, 'GET /flows': exported, 'GET /credentials': JSON.stringify(credentialsShown), 'flows_cred.json (encrypted)': store })) {
        assert.deepEqual(leaks(text), [], `a secret in ${where}`);
        assert.ok(!text.includes(USERNAME) || where === 'GET /credentials', `the username in ${where}`);
      }
      assert.deepEqual(credentialsShown, { username: USERNAME, has_password: true });
      assert.match(store, /^\{"\$":"/, 'flows_cred.json is encrypted');
    });
  });

  describe('in-process, every log level: no secret in any log line, status or caught error', () => {
    let workDir: string;
    let sim: RunningSimulator;
    type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
    let httpNode: Handler | undefined;
    const captureHttpNode = (RED: { httpNode: Handler }) => {
      httpNode = RED.httpNode;
    };

    before(async () => {
      workDir = tempDir('security-inproc');
      sim = await startSimulator({ port: 0, dataDir: path.join(workDir, 'sim'), username: USERNAME, password: RIGHT_PASSWORD, statusDelayMs: 20 });
      await helper.startServer();
      helper._app.use((req, res, next) => (httpNode ? httpNode(req, res, next) : next()));
    });

    after(async () => {
      await helper.unload();
      await helper.stopServer();
      await sim?.close();
      fs.rmSync(workDir, { recursive: true, force: true });
    });

    it('logs, statuses and errors of failing requests hold no password or token; the token check is constant time', async () => {
      const url = helper.url();
      const flow = [
        { id: 'tab', type: 'tab' },
        { id: 'cfg', type: 'eformidling-config', url: sim.url, orgnr: SENDER, timeout: '10' },
        { id: 'caps', type: 'eformidling-capabilities', z: 'tab', server: 'cfg', receiverType: 'str', wires: [['out']] },
        { id: 'send', type: 'eformidling-send', z: 'tab', server: 'cfg', receiver: RECEIVER, receiverType: 'str', process: ARKIV_PROCESS, wires: [['out']] },
        { id: 'status', type: 'eformidling-status', z: 'tab', server: 'cfg', mode: 'lookup', wires: [['out']] },
        { id: 'inbox', type: 'eformidling-inbox', z: 'tab', server: 'cfg', interval: 0, wires: [['out']] },
        { id: 'hook', type: 'eformidling-webhook-in', z: 'tab', server: 'cfg', path: '/sec/hook', publicUrl: url, manage: true, wires: [['out']] },
        { id: 'out', type: 'helper', z: 'tab' },
        { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper', z: 'tab' },
      ];
      // Count constant-time comparisons: the node module calls crypto.timingSafeEqual through the module object.
      const realTimingSafeEqual = crypto.timingSafeEqual;
      let comparisons = 0;
      crypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
        comparisons++;
        return realTimingSafeEqual(a, b);
      }) as typeof crypto.timingSafeEqual;
      try {
        await helper.load([configNode, capabilitiesNode, sendNode, statusNode, inboxNode, webhookNode, catchNode, captureHttpNode], flow, {
          cfg: { username: USERNAME, password: WRONG_PASSWORD },
          hook: { token: TOKEN },
        });
        const caught: Msg[] = [];
        helper.getNode('caught').on('input', (m: Msg) => caught.push(m));
        helper.getNode('caps').receive({ receiver: RECEIVER });
        helper.getNode('send').receive({ payload: 'brev', filename: 'brev.txt', arkivmelding: { tittel: 'Brev' } });
        helper.getNode('status').receive({ messageId: crypto.randomUUID() });
        helper.getNode('inbox').receive({ payload: 'poll' });
        await waitFor('four caught errors', () => caught.length >= 4);
        assert.ok(caught.every((m) => /401/.test(caughtText(m))), caught.map(caughtText).join('\n'));

        // Wrong tokens of the same and of another length both go through the constant-time comparison.
        const before = comparisons;
        for (const token of ['x'.repeat(TOKEN.length), 'short', `${TOKEN}x`]) {
          const res = await fetch(`${url}/sec/hook?token=${encodeURIComponent(token)}`, { method: 'POST', body: '{"event":"ping"}' });
          assert.equal(res.status, 401);
        }
        assert.equal(comparisons - before, 3, 'each token check used crypto.timingSafeEqual');
        await sleep(500);

        const logged = helper.log().args.map((args) => JSON.stringify(args));
        const statuses = ['cfg', 'caps', 'send', 'status', 'inbox', 'hook'].flatMap((id) => helper.getNode(id).status.getCalls().map((c) => JSON.stringify(c.args)));
        const errors = caught.map((m) => JSON.stringify({ error: m.error, ipError: m.ipError, stack: (m.error as { stack?: string }).stack }));
        assert.ok(logged.some((line) => /401/.test(line)), 'the failures were logged');
        for (const [where, lines] of Object.entries({ 'log (every level)': logged, statuses, 'caught errors': errors })) {
          assert.deepEqual(leaks(lines.join('\n')), [], `a secret in the ${where}`);
        }
      } finally {
        crypto.timingSafeEqual = realTimingSafeEqual;
      }

      // The code path itself: the token module compares with timingSafeEqual, and the route checks before reading the body.
      const tokenSource = fs.readFileSync(path.join(repoRoot, 'src', 'nodes', 'webhook', 'token.ts'), 'utf8');
      assert.match(tokenSource, /import \{[^}]*timingSafeEqual[^}]*\} from 'node:crypto'/);
      assert.match(tokenSource, /return timingSafeEqual\(/);
      const nodeSource = fs.readFileSync(path.join(repoRoot, 'src', 'nodes', 'eformidling-webhook-in.ts'), 'utf8');
      assert.ok(nodeSource.indexOf('tokenMatches(queryToken(req), token)') < nodeSource.indexOf('readWebhookEvent(req)'), 'the token is checked before the body is read');
      assert.equal(MAX_EVENT_BYTES, MiB, 'event bodies are limited to 1 MiB');
    });
  });

  describe('TLS to the IP: custom CA and client certificate, through a tls-config node', () => {
    let workDir: string;
    let certs: Record<string, string>;
    let sim: RunningSimulator;

    /** A CA, a server certificate for 127.0.0.1/localhost and a client certificate from it, and a client from another CA. */
    function makeCertificates(dir: string): Record<string, string> {
      const file = (name: string) => path.join(dir, name);
      const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
      for (const ca of ['ca', 'rogue-ca']) {
        openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${ca} test`, '-keyout', file(`${ca}.key`), '-out', file(`${ca}.crt`));
      }
      const sign = (name: string, ca: string, subject: string, extensions: string) => {
        fs.writeFileSync(file(`${name}.ext`), extensions);
        openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
        openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${ca}.crt`), '-CAkey', file(`${ca}.key`), '-CAcreateserial', '-days', '2', '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`));
      };
      sign('server', 'ca', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
      sign('client', 'ca', '/CN=node-red client', 'extendedKeyUsage=clientAuth\n');
      sign('rogue-client', 'rogue-ca', '/CN=rogue client', 'extendedKeyUsage=clientAuth\n');
      return Object.fromEntries(['ca.crt', 'server.key', 'server.crt', 'client.key', 'client.crt', 'rogue-client.key', 'rogue-client.crt'].map((n) => [n, file(n)]));
    }

    before(async function () {
      try {
        execFileSync('openssl', ['version'], { stdio: 'pipe' });
      } catch {
        console.log('      openssl is not installed: the TLS tests are skipped');
        this.skip();
      }
      workDir = tempDir('security-tls');
      certs = makeCertificates(workDir);
      sim = await startSimulator({
        port: 0,
        dataDir: path.join(workDir, 'sim'),
        tls: { key: fs.readFileSync(certs['server.key']), cert: fs.readFileSync(certs['server.crt']), ca: fs.readFileSync(certs['ca.crt']), requestCert: true },
      });
      assert.match(sim.url, /^https:/);
      await helper.startServer();
    });

    after(async () => {
      await helper.unload();
      await helper.stopServer();
      await sim?.close();
      if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    /** Looks up capabilities through a config node using a tls-config node with these files; returns the outcome. */
    async function lookUp(tls: { ca?: string; cert?: string; key?: string; verifyservercert: boolean }): Promise<{ out?: Msg; error?: string }> {
      await helper.unload();
      const flow = [
        { id: 'tab', type: 'tab' },
        // The config node comes before the tls-config node it uses: Node-RED must still create that one first.
        { id: 'cfg', type: 'eformidling-config', url: sim.url, orgnr: SENDER, timeout: '10', tls: 'tls' },
        { id: 'tls', type: 'tls-config', cert: tls.cert ?? '', key: tls.key ?? '', ca: tls.ca ?? '', verifyservercert: tls.verifyservercert, servername: '', alpnprotocol: '' },
        { id: 'caps', type: 'eformidling-capabilities', z: 'tab', server: 'cfg', receiverType: 'str', wires: [['out']] },
        { id: 'out', type: 'helper', z: 'tab' },
        { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper', z: 'tab' },
      ];
      await helper.load([configNode, capabilitiesNode, catchNode, tlsNode], flow);
      const result = new Promise<{ out?: Msg; error?: string }>((resolve) => {
        helper.getNode('out').on('input', (m: Msg) => resolve({ out: m }));
        helper.getNode('caught').on('input', (m: Msg) => resolve({ error: caughtText(m) }));
      });
      helper.getNode('caps').receive({ receiver: RECEIVER });
      return result;
    }

    it('connects with the custom CA and the client certificate', async () => {
      const { out, error } = await lookUp({ ca: certs['ca.crt'], cert: certs['client.crt'], key: certs['client.key'], verifyservercert: true });
      assert.ok(out, `expected the lookup to work over TLS: ${error}`);
      assert.ok(Array.isArray(out.payload) && out.payload.length > 0);
    });

    it('refuses a server certificate from an unknown CA, saying it is a TLS problem', async () => {
      const { out, error } = await lookUp({ cert: certs['client.crt'], key: certs['client.key'], verifyservercert: true });
      assert.equal(out, undefined);
      assert.match(error ?? '', /certificate|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/i);
    });

    it('is refused by the IP without a client certificate, or with one from another CA', async () => {
      for (const client of [{}, { cert: certs['rogue-client.crt'], key: certs['rogue-client.key'] }]) {
        const { out, error } = await lookUp({ ca: certs['ca.crt'], ...client, verifyservercert: true });
        assert.equal(out, undefined, 'no answer without a trusted client certificate');
        assert.match(error ?? '', /Integrasjonspunkt|certificate|TLS|ECONNRESET|socket/i);
      }
    });
  });

  describe('npm audit of the runtime dependencies', () => {
    it('finds no known vulnerability (skipped when the registry has no audit endpoint)', async function () {
      this.timeout(90_000);
      let text: string;
      try {
        ({ stdout: text } = await promisify(execFile)('npm', ['audit', '--omit=dev', '--json'], { cwd: repoRoot, timeout: 60_000, maxBuffer: 16 * MiB }));
      } catch (err) {
        // npm audit exits non-zero both when it finds something and when it cannot ask the registry.
        text = (err as { stdout?: string }).stdout ?? '';
      }
      let report: { metadata?: { vulnerabilities?: Record<string, number> }; error?: unknown; message?: string };
      try {
        report = JSON.parse(text);
      } catch {
        report = { message: text.slice(0, 200) || 'no answer' };
      }
      const counts = report.metadata?.vulnerabilities;
      if (!counts) {
        const why = report.message ?? JSON.stringify(report.error ?? report).slice(0, 200);
        console.log(`      npm audit skipped: the registry's audit endpoint did not answer (${why})`);
        this.skip();
      }
      console.log(`      npm audit --omit=dev: ${JSON.stringify(counts)}`);
      assert.equal(counts.total, 0, `npm audit --omit=dev found vulnerabilities: ${JSON.stringify(counts)}`);
    });
  });
});
