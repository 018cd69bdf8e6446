// The bad-input table: malformed inputs to every node (wrong types, missing fields, invalid orgnr and UUIDs,
// path-traversal and odd filenames, 0-byte and too large files, malformed SBDs, malformed, oversized and
// unauthenticated webhook bodies, bad node settings). Each must give an error a user can act on (its text names the
// field), never crash Node-RED, never leave a partial message on the IP (GET /api/messages/out stays empty), and
// never write a file outside the configured folder. Inputs that are not errors by design (a non-ASCII file name,
// msg.filename as a full path) must be handled safely. In-process (node-red-node-test-helper) against the simulator.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { openAsic } from '../../src/asic';
import { IntegrasjonspunktClient } from '../../src/client';
import { buildArkivmeldingXml, buildSbd } from '../../src/sbd';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { ARKIV_PROCESS, MiB, RECEIVER, SENDER, caughtText, helper, listTree, printCounts, sleep, tempDir, waitFor, writeFileOfSize, type Msg } from '../reliability/support';
import { STATUS_EVENT } from '../status-webhook-support';

const configNode = require('../../src/nodes/eformidling-config');
const sendNode = require('../../src/nodes/eformidling-send');
const capabilitiesNode = require('../../src/nodes/eformidling-capabilities');
const statusNode = require('../../src/nodes/eformidling-status');
const inboxNode = require('../../src/nodes/eformidling-inbox');
const webhookNode = require('../../src/nodes/eformidling-webhook-in');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
let httpNode: Handler | undefined;
const captureHttpNode = (RED: { httpNode: Handler }) => {
  httpNode = RED.httpNode;
};

const HOOK_PATH = '/bad-input/events';
const TOKEN = 'dG9rZW4tZm9yLXRoZS1iYWQtaW5wdXQtdGFibGUtMDEyMzQ1';
/** The simulator's DPO limit here, so a "huge" file needs only a little more than this. */
const DPO_LIMIT = 12 * MiB;
/** conversationId filters, so each inbox node only takes the message its row put there. */
const CONV_SMALL = randomUUID();
const CONV_UNSAFE = randomUUID();
const CONV_PATH = randomUUID();
/** What one input did: the error text a Catch node got, what was sent on, or an HTTP answer. */
interface Outcome {
  error?: string;
  out?: Msg;
  status?: number;
  body?: string;
}

interface Row {
  what: string;
  run: () => Promise<Outcome>;
  /** The error text must match (it names the field); or `ok` checks a handled, non-error outcome. */
  expect?: RegExp;
  httpStatus?: number;
  ok?: (outcome: Outcome) => Promise<void> | void;
}

describe('bad input: every node, malformed inputs', function () {
  this.timeout(120_000);
  let sim: RunningSimulator;
  let ip: IntegrasjonspunktClient;
  let sandbox: string;
  let folder: string;
  let workDir: string;
  const outs: Msg[] = [];
  const caught: Msg[] = [];
  const hookMsgs: Msg[] = [];

  before(async () => {
    workDir = tempDir('bad-input');
    sandbox = path.join(workDir, 'sandbox');
    folder = path.join(sandbox, 'inbox-folder');
    fs.mkdirSync(folder, { recursive: true });
    sim = await startSimulator({ port: 0, dataDir: path.join(workDir, 'sim'), statusDelayMs: 20, lockSweepMs: 100, uploadSizeLimits: { DPO: DPO_LIMIT } });
    ip = new IntegrasjonspunktClient({ url: sim.url, timeoutMs: 30_000 });
    await helper.startServer();
    helper._app.use((req, res, next) => (httpNode ? httpNode(req, res, next) : next()));
    const inbox = (id: string, extra: Record<string, unknown>) => ({ id, type: 'eformidling-inbox', z: 'tab', server: 'cfg-in', interval: 0, output: 'files', ack: 'auto', wires: [['out']], ...extra });
    const flow = [
      { id: 'tab', type: 'tab' },
      { id: 'cfg', type: 'eformidling-config', url: sim.url, orgnr: SENDER, timeout: '30' },
      { id: 'cfg-in', type: 'eformidling-config', url: sim.url, orgnr: RECEIVER, timeout: '30' },
      { id: 'cfg-bad-url', type: 'eformidling-config', url: 'ftp://ip.example.no', orgnr: SENDER },
      { id: 'cfg-bad-timeout', type: 'eformidling-config', url: sim.url, orgnr: SENDER, timeout: 'soon' },
      { id: 'cfg-bad-orgnr', type: 'eformidling-config', url: sim.url, orgnr: '12345' },
      { id: 'send', type: 'eformidling-send', z: 'tab', server: 'cfg', receiver: RECEIVER, receiverType: 'str', process: ARKIV_PROCESS, documentType: 'arkivmelding', wires: [['out']] },
      { id: 'send-no-server', type: 'eformidling-send', z: 'tab', receiver: RECEIVER, receiverType: 'str', wires: [['out']] },
      { id: 'caps', type: 'eformidling-capabilities', z: 'tab', server: 'cfg', receiverType: 'str', wires: [['out']] },
      { id: 'caps-bad-url', type: 'eformidling-capabilities', z: 'tab', server: 'cfg-bad-url', receiver: RECEIVER, receiverType: 'str', wires: [['out']] },
      { id: 'caps-bad-timeout', type: 'eformidling-capabilities', z: 'tab', server: 'cfg-bad-timeout', receiver: RECEIVER, receiverType: 'str', wires: [['out']] },
      { id: 'status', type: 'eformidling-status', z: 'tab', server: 'cfg', mode: 'lookup', wires: [['out']] },
      { id: 'status-bad-mode', type: 'eformidling-status', z: 'tab', server: 'cfg', mode: 'sometimes', wires: [['out']] },
      inbox('inbox-manual', { ack: 'manual', conversationId: randomUUID() }),
      inbox('inbox-small', { maxBytes: 1000, conversationId: CONV_SMALL }),
      inbox('inbox-unsafe', { conversationId: CONV_UNSAFE }),
      inbox('inbox-path', { output: 'path', directory: folder, conversationId: CONV_PATH }),
      inbox('inbox-bad-interval', { interval: '-1' }),
      inbox('inbox-bad-output', { output: 'zip' }),
      inbox('inbox-no-folder', { output: 'path', directory: '' }),
      inbox('inbox-bad-sender', { senderIdentifier: '12' }),
      inbox('inbox-bad-max', { maxBytes: 'lots' }),
      { id: 'hook', type: 'eformidling-webhook-in', z: 'tab', server: 'cfg', path: HOOK_PATH, manage: false, wires: [['hook-out']] },
      { id: 'out', type: 'helper', z: 'tab' },
      { id: 'hook-out', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
    await helper.load([configNode, sendNode, capabilitiesNode, statusNode, inboxNode, webhookNode, catchNode, captureHttpNode], flow, { hook: { token: TOKEN } });
    helper.getNode('out').on('input', (m: Msg) => outs.push(m));
    helper.getNode('caught').on('input', (m: Msg) => caught.push(m));
    helper.getNode('hook-out').on('input', (m: Msg) => hookMsgs.push(m));
  });

  after(async () => {
    await helper.unload();
    await helper.stopServer();
    await ip?.close();
    await sim?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  /** Sends `msg` into node `id`; resolves with what came out of it or what the Catch node got for it. */
  async function input(id: string, msg: Msg, timeoutMs = 15_000): Promise<Outcome> {
    const row = randomUUID();
    helper.getNode(id).receive({ ...msg, _row: row });
    return waitFor(
      `an answer from ${id}`,
      () => {
        const out = outs.find((m) => m._row === row);
        if (out) return { out };
        const err = caught.find((m) => m._row === row);
        return err ? { error: caughtText(err) } : undefined;
      },
      timeoutMs,
    );
  }

  function send(msg: Msg): Promise<Outcome> {
    return input('send', { arkivmelding: { tittel: 'Vedtak' }, ...msg });
  }

  /** A small valid file list, for rows that break something else. */
  const files = [{ filename: 'vedtak.pdf', content: Buffer.from('%PDF-1.4 vedtak') }];

  async function postHook(body: string | Buffer | ReadableStream, query: string, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Outcome> {
    const before = hookMsgs.length;
    const init = { method: 'POST', body, headers, duplex: 'half' } as RequestInit;
    const res = await fetch(`${helper.url()}${HOOK_PATH}${query}`, init).catch((err: Error & { cause?: { code?: string } }) => {
      // A server may close the connection while a too-large body is still being sent: that is a refusal too.
      if (!/ECONNRESET|EPIPE|UND_ERR_SOCKET/.test(err.cause?.code ?? '')) throw err;
      return { status: 413, text: async () => `connection closed: ${err.cause?.code}` } as unknown as Response;
    });
    const text = await res.text();
    await sleep(50);
    return { status: res.status, body: text, out: hookMsgs.length > before ? hookMsgs[before] : undefined };
  }

  /**
   * A message straight into the receiver's inbox (as another organisation's system would send it). `hostileName`
   * renames the first document inside the stored ASiC-E afterwards (same length; neither the client, the simulator
   * nor the zip writer lets such a name through), as an IP delivering a hostile container would.
   */
  async function deliver(conversationId: string, documents: Array<{ filename: string; content: string }>, hostileName?: string): Promise<string> {
    const sbd = buildSbd({ sender: SENDER, receiver: RECEIVER, process: ARKIV_PROCESS, type: 'arkivmelding', conversationId, businessMessage: { hoveddokument: documents[0].filename } });
    const messageId = sbd.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
    const xml = buildArkivmeldingXml({ tittel: 'Innkommende' }, documents.map((d) => ({ filename: d.filename })));
    await ip.sendMultipart(sbd, [...documents.map((d) => ({ ...d, mimeType: 'application/pdf' })), { filename: 'arkivmelding.xml', mimeType: 'text/xml', content: xml }]);
    await waitFor('the message in the inbox', async () => (await ip.listIncoming({ messageId })).totalElements === 1);
    if (hostileName) {
      const asic = path.join(sim.dataDir, 'in-files', `${messageId}.asic`);
      const bytes = fs.readFileSync(asic);
      const from = Buffer.from(documents[0].filename);
      assert.equal(from.length, Buffer.byteLength(hostileName));
      for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, at + 1)) bytes.write(hostileName, at);
      fs.writeFileSync(asic, bytes);
    }
    return messageId;
  }

  /** The documents of a message as the receiver gets them (peek, pop, delete). */
  async function receivedNames(messageId: string): Promise<string[]> {
    await waitFor('the message in the inbox', async () => (await ip.listIncoming({ messageId })).totalElements === 1);
    await ip.peek({ messageId });
    const zip = path.join(workDir, `${messageId}.zip`);
    await ip.popToFile(messageId, zip);
    await ip.deleteIncoming(messageId);
    const archive = await openAsic(zip);
    try {
      return archive.documents.map((d) => d.filename);
    } finally {
      archive.close();
      fs.rmSync(zip);
    }
  }

  it('answers each malformed input with an error naming the field; no crash, no partial send, no file outside the folder', async () => {
    const aFolder = path.join(workDir, 'a-folder');
    fs.mkdirSync(aFolder);
    const emptyFile = path.join(workDir, 'empty.pdf');
    fs.writeFileSync(emptyFile, '');
    const hugeFile = path.join(workDir, 'huge.pdf');
    await writeFileOfSize(hugeFile, DPO_LIMIT + MiB, 'huge');
    const sandboxBefore = listTree(sandbox);
    const tmpBefore = new Set(fs.readdirSync(path.dirname(workDir)));

    const rows: Row[] = [
      // ---- send: receiver, ids, types
      { what: 'send: msg.receiver too short', run: () => send({ receiver: '12345', files }), expect: /msg\.receiver/ },
      { what: 'send: msg.receiver letters', run: () => send({ receiver: 'abcdefghi', files }), expect: /msg\.receiver/ },
      { what: 'send: msg.receiver an object', run: () => send({ receiver: { orgnr: RECEIVER }, files }), expect: /msg\.receiver/ },
      { what: 'send: msg.receiver 0192: prefix with 8 digits', run: () => send({ receiver: '0192:12345678', files }), expect: /msg\.receiver/ },
      { what: 'send: msg.receiver unknown to the registry', run: () => send({ receiver: '999999999', files }), expect: /999999999/ },
      { what: 'send: msg.messageId not a UUID', run: () => send({ messageId: 'not-a-uuid', files }), expect: /msg\.messageId/ },
      { what: 'send: msg.messageId a number', run: () => send({ messageId: 12345, files }), expect: /msg\.messageId/ },
      { what: 'send: msg.messageId path traversal', run: () => send({ messageId: '../../etc/passwd', files }), expect: /msg\.messageId/ },
      { what: 'send: msg.conversationId not a UUID', run: () => send({ conversationId: '123', files }), expect: /msg\.conversationId/ },
      { what: 'send: msg.ttlHours text', run: () => send({ ttlHours: 'soon', files }), expect: /msg\.ttlHours/ },
      { what: 'send: msg.ttlHours negative', run: () => send({ ttlHours: -5, files }), expect: /msg\.ttlHours/ },
      { what: 'send: msg.documentType unknown', run: () => send({ documentType: 'brev', files }), expect: /msg\.documentType/ },
      { what: 'send: msg.process the receiver does not accept', run: () => send({ process: 'urn:no:difi:profile:ukjent:ver1.0', files }), expect: /process/i },
      { what: 'send: msg.businessMessage an array', run: () => send({ businessMessage: [], files }), expect: /msg\.businessMessage/ },
      { what: 'send: msg.businessMessage text', run: () => send({ businessMessage: 'hei', files }), expect: /msg\.businessMessage/ },
      { what: 'send: hoveddokument not among the files', run: () => send({ businessMessage: { hoveddokument: 'mangler.pdf' }, files }), expect: /hoveddokument/ },
      { what: 'send: no config node', run: () => input('send-no-server', { files }), expect: /^server:/ },
      // ---- send: files
      { what: 'send: msg.files text', run: () => send({ files: 'vedtak.pdf' }), expect: /msg\.files/ },
      { what: 'send: msg.files [42]', run: () => send({ files: [42] }), expect: /msg\.files\[0\]/ },
      { what: 'send: a file without content or path', run: () => send({ files: [{ filename: 'a.pdf' }] }), expect: /msg\.files\[0\]/ },
      { what: 'send: file content a number', run: () => send({ files: [{ filename: 'a.pdf', content: 42 }] }), expect: /msg\.files\[0\]\.content/ },
      { what: 'send: file path that does not exist', run: () => send({ files: [{ path: path.join(workDir, 'finnes-ikke.pdf') }] }), expect: /msg\.files\[0\]\.path: file not found/ },
      { what: 'send: file path a folder', run: () => send({ files: [{ path: aFolder }] }), expect: /msg\.files\[0\]\.path: .* is not a file/ },
      { what: 'send: filename ../../etc/passwd', run: () => send({ files: [{ filename: '../../etc/passwd', content: 'x' }] }), expect: /msg\.files\[0\]\.filename: .*folder separator/ },
      { what: 'send: filename ..\\..\\evil.pdf', run: () => send({ files: [{ filename: '..\\..\\evil.pdf', content: 'x' }] }), expect: /msg\.files\[0\]\.filename: .*folder separator/ },
      { what: 'send: filename ..', run: () => send({ files: [{ filename: '..', content: 'x' }] }), expect: /msg\.files\[0\]\.filename: .*dot name/ },
      { what: 'send: filename with a NUL byte', run: () => send({ files: [{ filename: 'a\u0000b.pdf', content: 'x' }] }), expect: /msg\.files\[0\]\.filename: .*control characters/ },
      { what: 'send: filename 300 bytes', run: () => send({ files: [{ filename: `${'å'.repeat(150)}.pdf`, content: 'x' }] }), expect: /msg\.files\[0\]\.filename: .*255 bytes/ },
      { what: 'send: two files with one name', run: () => send({ files: [...files, ...files] }), expect: /msg\.files\[1\]\.filename: duplicate/ },
      { what: 'send: mimeType a number', run: () => send({ files: [{ filename: 'a.pdf', content: 'x', mimeType: 5 }] }), expect: /msg\.files\[0\]\.mimeType/ },
      { what: 'send: msg.payload Buffer without msg.filename', run: () => send({ payload: Buffer.from('x') }), expect: /msg\.filename/ },
      { what: 'send: msg.payload an object, no files', run: () => send({ payload: { a: 1 } }), expect: /msg\.files: an arkivmelding message needs at least one file/ },
      { what: 'send: msg.arkivmelding missing', run: () => input('send', { files }), expect: /msg\.arkivmelding/ },
      { what: 'send: msg.arkivmelding text', run: () => send({ arkivmelding: 'Vedtak', files }), expect: /msg\.arkivmelding/ },
      { what: 'send: msg.arkivmelding without tittel', run: () => send({ arkivmelding: {}, files }), expect: /msg\.arkivmelding.*tittel/ },
      {
        what: 'send: file over the service size limit (huge)',
        run: () => send({ files: [{ path: hugeFile }] }),
        expect: /MaxFileSizeExceededException.*exceeds the maximum allowed upload size/,
      },
      {
        what: 'send: a 0-byte file',
        run: () => send({ files: [{ path: emptyFile }, { filename: 'brev.txt', content: 'brev' }] }),
        ok: async ({ out }) => {
          assert.ok(out, 'sent');
          assert.ok((await receivedNames(String(out.messageId))).includes('empty.pdf'), 'the empty file arrives as sent');
        },
      },
      {
        what: 'send: a non-ASCII file name',
        run: () => send({ files: [{ filename: 'Vedtak æøå – «endelig» €.pdf', content: 'vedtak' }] }),
        ok: async ({ out }) => {
          assert.ok(out, 'sent');
          assert.ok((await receivedNames(String(out.messageId))).includes('Vedtak æøå – «endelig» €.pdf'), 'arrives under the same name');
        },
      },
      {
        what: 'send: msg.filename ../../etc/passwd (a full path, as from a file-in node)',
        run: () => send({ payload: Buffer.from('innhold'), filename: '../../etc/passwd' }),
        ok: async ({ out }) => {
          assert.ok(out, 'sent');
          assert.deepEqual((await receivedNames(String(out.messageId))).sort(), ['arkivmelding.xml', 'passwd'], 'only the base name travels');
        },
      },
      // ---- send: whole SBDs
      { what: 'send: msg.sbd {}', run: () => send({ sbd: {}, files }), expect: /msg\.sbd/ },
      { what: 'send: msg.sbd text', run: () => send({ sbd: '<sbd/>', files }), expect: /msg\.sbd/ },
      {
        what: 'send: msg.sbd with an invalid receiver',
        run: () => {
          const sbd = buildSbd({ sender: SENDER, receiver: RECEIVER, process: ARKIV_PROCESS, type: 'arkivmelding', businessMessage: {} });
          sbd.standardBusinessDocumentHeader.receiver![0].identifier.value = '0192:1';
          return send({ sbd, files });
        },
        expect: /msg\.sbd/,
      },
      {
        what: 'send: msg.sbd with a path-traversal messageId',
        run: () => {
          const sbd = buildSbd({ sender: SENDER, receiver: RECEIVER, process: ARKIV_PROCESS, type: 'arkivmelding', businessMessage: {} });
          sbd.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier = '../../evil';
          return send({ sbd, files });
        },
        expect: /msg\.sbd.*instanceIdentifier/,
      },
      // ---- capabilities
      { what: 'capabilities: msg.receiver letters', run: () => input('caps', { receiver: 'kommunen' }), expect: /msg\.receiver/ },
      { what: 'capabilities: msg.receiver missing', run: () => input('caps', {}), expect: /receiver/ },
      { what: 'capabilities: msg.securityLevel text', run: () => input('caps', { receiver: RECEIVER, securityLevel: 'high' }), expect: /msg\.securityLevel/ },
      { what: 'capabilities: unknown receiver', run: () => input('caps', { receiver: '999999999' }), expect: /999999999/ },
      { what: 'config: url ftp://', run: () => input('caps-bad-url', {}), expect: /url: expected an http/ },
      { what: 'config: timeout text', run: () => input('caps-bad-timeout', {}), expect: /timeout/ },
      // ---- status
      { what: 'status: msg.messageId missing', run: () => input('status', {}), expect: /messageId/ },
      { what: 'status: msg.messageId not a UUID', run: () => input('status', { messageId: 'abc' }), expect: /msg\.messageId/ },
      { what: 'status: mode unknown', run: () => input('status-bad-mode', { messageId: randomUUID() }), expect: /mode/ },
      // ---- inbox
      { what: 'inbox: ack without msg.messageId', run: () => input('inbox-manual', { ack: true }), expect: /msg\.messageId/ },
      { what: 'inbox: ack of an unknown message', run: () => input('inbox-manual', { ack: true, messageId: randomUUID() }), expect: /msg\.messageId: message .* is not waiting for an ack/ },
      { what: 'inbox: ack with msg.messageId ../../etc/passwd', run: () => input('inbox-manual', { action: 'delete', messageId: '../../etc/passwd' }), expect: /msg\.messageId/ },
      { what: 'inbox: interval -1', run: () => input('inbox-bad-interval', {}), expect: /^interval:/ },
      { what: 'inbox: output zip', run: () => input('inbox-bad-output', {}), expect: /^output: expected one of files, asic, path/ },
      { what: 'inbox: output path without a folder', run: () => input('inbox-no-folder', {}), expect: /^directory:/ },
      { what: 'inbox: senderIdentifier 12', run: () => input('inbox-bad-sender', {}), expect: /^senderIdentifier:/ },
      { what: 'inbox: maxBytes text', run: () => input('inbox-bad-max', {}), expect: /^maxBytes:/ },
      {
        what: 'inbox: a message larger than maxBytes',
        run: async () => {
          const messageId = await deliver(CONV_SMALL, [{ filename: 'stor.pdf', content: 'x'.repeat(5000) }]);
          helper.getNode('inbox-small').receive({ payload: 'poll' });
          const refused = await waitFor('the refusal', () => caught.find((m) => m.messageId === messageId));
          return { error: caughtText(refused) };
        },
        expect: /larger than maxBytes/,
      },
      {
        what: 'inbox: an incoming file named ../../evil.txt',
        run: async () => {
          const messageId = await deliver(CONV_UNSAFE, [{ filename: 'xxxxxxevil.txt', content: 'evil' }], '../../evil.txt');
          helper.getNode('inbox-unsafe').receive({ payload: 'poll' });
          const refused = await waitFor('the refusal', () => caught.find((m) => m.messageId === messageId) ?? outs.find((m) => m.messageId === messageId));
          return refused.error ? { error: caughtText(refused) } : { out: refused };
        },
        expect: /Unsafe entry name "\.\.\/\.\.\/evil\.txt"/,
      },
      {
        what: 'inbox (path): an incoming file named ../../evil.txt',
        run: async () => {
          const messageId = await deliver(CONV_PATH, [{ filename: 'xxxxxxevil.txt', content: 'evil' }], '../../evil.txt');
          helper.getNode('inbox-path').receive({ payload: 'poll' });
          return { out: await waitFor('the message', () => outs.find((m) => m.messageId === messageId)) };
        },
        ok: ({ out }) => {
          // Path mode does not unpack: the zip is written whole into the folder, under the messageId's name.
          assert.equal(path.dirname(String(out?.payload)), folder);
        },
      },
      // ---- webhook-in
      { what: 'webhook: no token', run: () => postHook(JSON.stringify(STATUS_EVENT), ''), httpStatus: 401, expect: /token/ },
      { what: 'webhook: wrong token, same length', run: () => postHook(JSON.stringify(STATUS_EVENT), `?token=${'x'.repeat(TOKEN.length)}`), httpStatus: 401, expect: /token/ },
      { what: 'webhook: wrong token, other length', run: () => postHook(JSON.stringify(STATUS_EVENT), '?token=guess'), httpStatus: 401, expect: /token/ },
      { what: 'webhook: token in a header instead', run: () => postHook(JSON.stringify(STATUS_EVENT), '', { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }), httpStatus: 401, expect: /token/ },
      { what: 'webhook: body not JSON', run: () => postHook('{"event": "status",', `?token=${TOKEN}`), httpStatus: 400, expect: /not JSON/ },
      { what: 'webhook: body a JSON array', run: () => postHook('[1,2]', `?token=${TOKEN}`), httpStatus: 400, expect: /JSON object/ },
      { what: 'webhook: empty body', run: () => postHook('', `?token=${TOKEN}`), httpStatus: 400, expect: /empty/ },
      { what: 'webhook: status event without messageId', run: () => postHook(JSON.stringify({ ...STATUS_EVENT, messageId: undefined }), `?token=${TOKEN}`), httpStatus: 400, expect: /messageId/ },
      { what: 'webhook: unknown status value', run: () => postHook(JSON.stringify({ ...STATUS_EVENT, status: 'KANSKJE' }), `?token=${TOKEN}`), httpStatus: 400, expect: /status/ },
      { what: 'webhook: unknown event', run: () => postHook(JSON.stringify({ createdTs: STATUS_EVENT.createdTs, event: 'delete-everything' }), `?token=${TOKEN}`), httpStatus: 400, expect: /event/ },
      { what: 'webhook: 2 MiB body', run: () => postHook(JSON.stringify({ ...STATUS_EVENT, description: 'x'.repeat(2 * MiB) }), `?token=${TOKEN}`), httpStatus: 413, expect: /too large|closed/ },
      {
        what: 'webhook: 2 MiB body without Content-Length (chunked)',
        run: () => {
          const big = Buffer.from(JSON.stringify({ ...STATUS_EVENT, description: 'x'.repeat(2 * MiB) }));
          const stream = new ReadableStream({
            start(controller) {
              for (let i = 0; i < big.length; i += 64 * 1024) controller.enqueue(big.subarray(i, i + 64 * 1024));
              controller.close();
            },
          });
          return postHook(stream, `?token=${TOKEN}`);
        },
        httpStatus: 413,
        expect: /too large|closed/,
      },
    ];

    let handled = 0;
    const problems: string[] = [];
    for (const row of rows) {
      let outcome: Outcome;
      try {
        outcome = await row.run();
      } catch (err) {
        problems.push(`${row.what}: ${(err as Error).message}`);
        continue;
      }
      const before = problems.length;
      if (row.httpStatus !== undefined) {
        if (outcome.status !== row.httpStatus) problems.push(`${row.what}: answered ${outcome.status}, expected ${row.httpStatus}: ${outcome.body}`);
        if (row.expect && !row.expect.test(outcome.body ?? '')) problems.push(`${row.what}: the answer ${JSON.stringify(outcome.body)} does not match ${row.expect}`);
        if (outcome.out) problems.push(`${row.what}: a msg was sent on`);
      } else if (row.ok) {
        try {
          await row.ok(outcome);
        } catch (err) {
          problems.push(`${row.what}: ${(err as Error).message} (${outcome.error ?? 'no error'})`);
        }
      } else if (outcome.error === undefined) {
        problems.push(`${row.what}: no error, the msg was sent on`);
      } else if (!row.expect?.test(outcome.error)) {
        problems.push(`${row.what}: error ${JSON.stringify(outcome.error)} does not match ${row.expect}`);
      }
      await sleep(30); // transport of a sent message (statusDelayMs) before looking for leftovers
      const outgoing = (await ip.listOutgoing()).totalElements;
      if (outgoing !== 0) {
        await waitFor('the outgoing list to empty', async () => (await ip.listOutgoing()).totalElements === 0, 2000).catch(() => problems.push(`${row.what}: ${outgoing} half-made message(s) left on the IP`));
      }
      if (problems.length === before) handled++;
    }

    // The config node with orgnr 12345 said so when it was deployed.
    const orgnrErrors = (helper.getNode('cfg-bad-orgnr') as unknown as { error: { getCalls(): Array<{ args: unknown[] }> } }).error.getCalls().map((c) => String(c.args[0]));
    const orgnrRow = orgnrErrors.some((text) => /orgnr: expected a 9-digit organisation number/.test(text));
    if (!orgnrRow) problems.push(`config: orgnr 12345 gave no error naming orgnr: ${JSON.stringify(orgnrErrors)}`);
    else handled++;
    const tried = rows.length + 1;

    // Nothing written outside the folder: the sandbox only gained files inside it, the temp folder nothing named evil/passwd.
    const added = listTree(sandbox).filter((f) => !sandboxBefore.includes(f));
    const outside = added.filter((f) => !path.join(sandbox, f).startsWith(folder + path.sep));
    if (outside.length) problems.push(`files written outside the folder: ${outside.join(', ')}`);
    const strays = fs.readdirSync(path.dirname(workDir)).filter((f) => !tmpBefore.has(f) && /evil|passwd/.test(f));
    if (strays.length) problems.push(`files written in ${path.dirname(workDir)}: ${strays.join(', ')}`);
    assert.ok(!fs.existsSync(path.join(sandbox, '..', 'evil.txt')) && !fs.existsSync(path.join(workDir, '..', 'evil.txt')));

    // Still alive and working: a valid message goes through after all of that.
    const good = await send({ files });
    if (!good.out) problems.push(`a valid message after the table failed: ${good.error}`);

    printCounts('bad input', { 'inputs tried': tried, handled });
    assert.deepEqual(problems, []);
    assert.ok(tried >= 40);
    assert.equal(handled, tried);
  });
});
