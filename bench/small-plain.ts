/**
 * The plain script of benchmark 4 (run by bench/small-messages.ts in its own process): the same work as the
 * Node-RED flow, written directly against the IP's HTTP API with undici, and nothing else.
 * - send: `concurrency` workers POST /api/messages/out/multipart (sbd, brev.pdf, arkivmelding.xml) until `count` are sent;
 * - receive: GET peek → GET pop (whole body) → DELETE, until the inbox answers 204, then wait `inboxIntervalMs`;
 * - follow: every `statusIntervalMs`, GET /api/statuses?sort=id,desc pages down to the last status seen, noting LEVERT.
 * Prints `started` when it starts, then one JSON line: { seconds, cpuSeconds, sent, received, levert, requests }.
 *
 *   npx tsx bench/small-plain.ts <url> <count> <concurrency> <pdf> <arkivmelding.xml> <inboxIntervalMs> <statusIntervalMs>
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PlainIp, multipartArkivmelding } from './lib/plain';

const [url, countText, concurrencyText, pdfPath, xmlPath, inboxIntervalText, statusIntervalText] = process.argv.slice(2);
const count = Number(countText);
const concurrency = Number(concurrencyText);
const inboxIntervalMs = Number(inboxIntervalText);
const statusIntervalMs = Number(statusIntervalText);
const pdf = readFileSync(pdfPath);
const xml = readFileSync(xmlPath);

const ip = new PlainIp(url);
const call = ip.call.bind(ip);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const ours = new Set<string>();
const levert = new Set<string>();
let sent = 0;
let received = 0;
let done = false;
let finished = 0n;

async function sender(): Promise<void> {
  while (sent < count) {
    sent++;
    const messageId = randomUUID();
    ours.add(messageId);
    const { body, contentType } = multipartArkivmelding(messageId, pdf, xml);
    await call('POST', '/api/messages/out/multipart', body, contentType);
  }
}

async function receiver(): Promise<void> {
  while (!done) {
    const peek = await call('GET', '/api/messages/in/peek');
    if (peek.status === 204) {
      await sleep(inboxIntervalMs);
      continue;
    }
    const messageId = JSON.parse(peek.body.toString()).standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
    await call('GET', `/api/messages/in/pop/${messageId}`);
    await call('DELETE', `/api/messages/in/${messageId}`);
    received++;
  }
}

async function follower(): Promise<void> {
  let cursor = 0;
  while (!done) {
    let newest = cursor;
    for (let page = 0; ; page++) {
      const answer = JSON.parse((await call('GET', `/api/statuses?sort=id,desc&size=500&page=${page}`)).body.toString());
      const content = answer.content as Array<{ id: number; status: string; messageId?: string }>;
      let reachedOld = false;
      for (const status of content) {
        if (status.id <= cursor) {
          reachedOld = true;
          break;
        }
        newest = Math.max(newest, status.id);
        if (status.status === 'LEVERT' && status.messageId && ours.has(status.messageId)) levert.add(status.messageId);
      }
      if (reachedOld || answer.last || content.length === 0) break;
    }
    cursor = newest;
    if (levert.size >= count && received >= count) {
      finished = process.hrtime.bigint();
      done = true;
      return;
    }
    await sleep(statusIntervalMs);
  }
}

async function main(): Promise<void> {
  console.log('started');
  const cpuAtStart = process.cpuUsage();
  const started = process.hrtime.bigint();
  const senders = Array.from({ length: concurrency }, () => sender());
  await Promise.all([...senders, receiver(), follower()]);
  const seconds = Number(finished - started) / 1e9;
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(JSON.stringify({ seconds, cpuSeconds, sent, received, levert: levert.size, requests: ip.requests }));
  await ip.close();
}

// A safety net: the benchmark never runs forever.
setTimeout(() => {
  console.error(`small-plain: gave up after 10 minutes (sent ${sent}, received ${received}, levert ${levert.size})`);
  process.exit(1);
}, 600_000).unref();

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
