// Building blocks of the benchmark flows: the benchmark drives a flow through Node-RED's own HTTP nodes
// (http in → … → http response), so a run is timed from outside Node-RED, as a user would see it.
import type { FlowNode } from './processes';

export const TAB = 'bench-tab';
export const CONFIG = 'bench-config';
export const SENDER = '910000009';
export const RECEIVER = '920000008';
export const ARKIVMELDING_PROCESS = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';

export function tab(): FlowNode {
  return { id: TAB, type: 'tab', label: 'bench' };
}

/** The eformidling-config node: the simulator, sending as 910000009, a timeout long enough for 1 GiB. */
export function config(simulatorUrl: string, orgnr = SENDER): FlowNode {
  return { id: CONFIG, type: 'eformidling-config', name: 'simulator', url: simulatorUrl, orgnr, timeout: '600' };
}

export function httpIn(id: string, url: string, method: 'get' | 'post', wires: string[]): FlowNode {
  return { id, type: 'http in', z: TAB, name: url, url, method, upload: false, swaggerDoc: '', wires: [wires] };
}

export function httpResponse(id: string): FlowNode {
  return { id, type: 'http response', z: TAB, name: '', statusCode: '', headers: {}, wires: [] };
}

export function fn(id: string, name: string, func: string, wires: string[][]): FlowNode {
  return { id, type: 'function', z: TAB, name, func, outputs: wires.length, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires };
}

/** GET <route> answers 200: the flow is deployed and running. */
export function readyRoute(route = '/bench/ready'): FlowNode[] {
  return [httpIn('bench-ready-in', route, 'get', ['bench-ready-out']), httpResponse('bench-ready-out')];
}

/**
 * Errors of any node on the tab end the request with 500 and the error text (a msg that came from an http-in
 * node still carries its response object).
 */
export function errorsTo500(): FlowNode[] {
  return [
    { id: 'bench-catch', type: 'catch', z: TAB, name: '', scope: null, uncaught: false, wires: [['bench-catch-fn']] },
    fn(
      'bench-catch-fn',
      'error → 500',
      `if (!msg.res) { node.warn(msg.error && msg.error.message); return null; }
return { _msgid: msg._msgid, req: msg.req, res: msg.res, statusCode: 500, payload: { error: msg.error && msg.error.message } };`,
      [['bench-catch-out']],
    ),
    httpResponse('bench-catch-out'),
  ];
}

/** A msg with only the HTTP request/response of `msg` and a JSON payload: nothing else leaks into the answer. */
export const REPLY = `function reply(msg, payload) { return { _msgid: msg._msgid, req: msg.req, res: msg.res, statusCode: 200, payload }; }`;

/**
 * POST /bench/send { paths: [...] } → eformidling-send (arkivmelding to 920000008, the files by path, the
 * arkivmelding.xml generated) → { messageId }.
 */
export function sendFlow(simulatorUrl: string): FlowNode[] {
  return [
    tab(),
    config(simulatorUrl),
    ...readyRoute(),
    ...errorsTo500(),
    httpIn('send-in', '/bench/send', 'post', ['send-files']),
    fn(
      'send-files',
      'files by path',
      `msg.files = msg.payload.paths.map((path) => ({ path }));
msg.arkivmelding = { tittel: 'Benchmark' };
return msg;`,
      [['send']],
    ),
    { id: 'send', type: 'eformidling-send', z: TAB, name: '', server: CONFIG, receiver: RECEIVER, receiverType: 'str', process: '', documentType: 'arkivmelding', wires: [['send-reply']] },
    fn('send-reply', 'reply', `${REPLY}\nreturn reply(msg, { messageId: msg.messageId });`, [['send-out']]),
    httpResponse('send-out'),
  ];
}

/**
 * POST /bench/poll → an eformidling-inbox node (polls only on input, the given output mode, auto ack, only
 * `process`) → { messageId, payload } once it has emitted a message. The "gate" function keeps the HTTP request
 * of the poll and answers it with the message the inbox node emits.
 */
export function inboxFlow(simulatorUrl: string, settings: { output: 'path' | 'files'; directory?: string; process: string }): FlowNode[] {
  return [
    tab(),
    config(simulatorUrl, RECEIVER),
    ...readyRoute(),
    ...errorsTo500(),
    httpIn('poll-in', '/bench/poll', 'post', ['poll-gate']),
    fn(
      'poll-gate',
      'gate',
      `${REPLY}
if (msg.req) {
  context.set('pending', msg);
  return [{ _msgid: msg._msgid, req: msg.req, res: msg.res, payload: 'poll' }, null];
}
const pending = context.get('pending');
context.set('pending', undefined);
if (!pending) return null;
const payload = typeof msg.payload === 'string' ? msg.payload : Array.isArray(msg.payload) ? msg.payload.map((f) => f.filename) : null;
return [null, reply(pending, { messageId: msg.messageId, payload })];`,
      [['poll-inbox'], ['poll-out']],
    ),
    {
      id: 'poll-inbox',
      type: 'eformidling-inbox',
      z: TAB,
      name: '',
      server: CONFIG,
      interval: '0',
      output: settings.output,
      directory: settings.directory ?? '',
      ack: 'auto',
      process: settings.process,
      maxPerPoll: '1',
      wires: [['poll-gate']],
    },
    httpResponse('poll-out'),
  ];
}

/**
 * Benchmark 4 in Node-RED: POST /bench/small { count, concurrency, pdf (base64) } starts a "feeder" that keeps
 * `concurrency` arkivmeldinger going through eformidling-send (brev.pdf + generated arkivmelding.xml to 920000008);
 * each sent one is followed by eformidling-status (wait for LEVERT), while eformidling-inbox (polling every
 * `inboxInterval` s, output files, auto ack) receives them. GET /bench/state answers the counters.
 */
export function smallMessagesFlow(simulatorUrl: string, options: { inboxInterval: number; statusInterval: number }): FlowNode[] {
  return [
    tab(),
    config(simulatorUrl),
    ...readyRoute(),
    httpIn('small-in', '/bench/small', 'post', ['small-feeder']),
    fn(
      'small-feeder',
      'feeder',
      `${REPLY}
function next() {
  context.set('left', context.get('left') - 1);
  flow.get('state').sent++;
  return { files: [{ filename: 'brev.pdf', content: context.get('pdf') }], arkivmelding: { tittel: 'Benchmark' } };
}
if (msg.req) {
  flow.set('state', { sent: 0, received: 0, levert: 0, errors: 0, lastError: '' });
  context.set('left', msg.payload.count);
  context.set('pdf', Buffer.from(msg.payload.pdf, 'base64'));
  const first = [];
  for (let i = 0; i < msg.payload.concurrency && context.get('left') > 0; i++) first.push(next());
  return [first, reply(msg, { started: true })];
}
return context.get('left') > 0 ? [next(), null] : null;`,
      [['small-send'], ['small-started']],
    ),
    httpResponse('small-started'),
    { id: 'small-send', type: 'eformidling-send', z: TAB, name: '', server: CONFIG, receiver: RECEIVER, receiverType: 'str', process: '', documentType: 'arkivmelding', wires: [['small-sent']] },
    fn('small-sent', 'sent', `return { _msgid: msg._msgid, messageId: msg.messageId };`, [['small-feeder', 'small-status']]),
    { id: 'small-status', type: 'eformidling-status', z: TAB, name: '', server: CONFIG, mode: 'wait', finalStatuses: 'LEVERT', timeout: '600', interval: String(options.statusInterval), wires: [['small-levert']] },
    fn('small-levert', 'levert', `if (msg.status === 'LEVERT') flow.get('state').levert++;\nreturn null;`, [[]]),
    {
      id: 'small-inbox',
      type: 'eformidling-inbox',
      z: TAB,
      name: '',
      server: CONFIG,
      interval: String(options.inboxInterval),
      output: 'files',
      ack: 'auto',
      maxPerPoll: '100000',
      wires: [['small-received']],
    },
    fn('small-received', 'received', `flow.get('state').received++;\nreturn null;`, [[]]),
    { id: 'small-catch', type: 'catch', z: TAB, name: '', scope: null, uncaught: false, wires: [['small-error']] },
    fn(
      'small-error',
      'error',
      `const state = flow.get('state');
if (state) { state.errors++; state.lastError = msg.error && msg.error.message; }
// A failed send frees its place, so the feeder goes on.
return msg.error && msg.error.source && msg.error.source.id === 'small-send' ? { _msgid: msg._msgid } : null;`,
      [['small-feeder']],
    ),
    httpIn('state-in', '/bench/state', 'get', ['state-reply']),
    fn('state-reply', 'state', `${REPLY}\nreturn reply(msg, flow.get('state') || {});`, [['state-out']]),
    httpResponse('state-out'),
  ];
}

/**
 * What users do today without this package: POST /bench/core { path, url } → core `file in` (the whole file as one
 * Buffer) → core `http request` PUT to the url with the IP's headers → { statusCode }.
 */
export function coreNodesFlow(filename: string): FlowNode[] {
  return [
    tab(),
    ...readyRoute(),
    ...errorsTo500(),
    httpIn('core-in', '/bench/core', 'post', ['core-prepare']),
    fn(
      'core-prepare',
      'where',
      `msg.filename = msg.payload.path;
msg.url = msg.payload.url;
msg.headers = { 'content-type': 'application/pdf', 'content-disposition': 'attachment; filename="${filename}"' };
return msg;`,
      [['core-file-in']],
    ),
    { id: 'core-file-in', type: 'file in', z: TAB, name: '', filename: 'filename', filenameType: 'msg', format: '', chunk: false, sendError: false, encoding: 'none', allProps: false, wires: [['core-request']] },
    {
      id: 'core-request',
      type: 'http request',
      z: TAB,
      name: '',
      method: 'PUT',
      ret: 'txt',
      paytoqs: 'ignore',
      url: '',
      tls: '',
      persist: false,
      proxy: '',
      insecureHTTPParser: false,
      authType: '',
      senderr: true,
      headers: [],
      wires: [['core-reply']],
    },
    fn('core-reply', 'reply', `${REPLY}\nreturn reply(msg, { statusCode: msg.statusCode });`, [['core-out']]),
    httpResponse('core-out'),
  ];
}
