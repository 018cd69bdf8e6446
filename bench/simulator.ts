/**
 * 5. The simulator itself, in its own process, driven by a plain undici client:
 * - the latency of one small multipart send at a time (the per-message cost everything else pays);
 * - peek → pop → delete of 1000 small messages one after another: messages per second and per-step latency;
 * - memory: peak RSS while it takes in and holds 10,000 messages, and the peek → pop → delete latency then.
 *
 *   npx tsx bench/simulator.ts [--count 1000] [--hold 10000] [--runs 5]
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { buildArkivmeldingXml } from '../src/sbd/arkivmelding';
import { PlainIp } from './lib/plain';
import { CpuShare, PeakRss, median, rssOf } from './lib/measure';
import { SimulatorProcess, buildPackage, numberOption, runAsScript } from './lib/processes';
import { heading, mb, table, type BenchResult } from './lib/report';

const SEND_CONCURRENCY = 8;

/** Milliseconds of each step. */
function ms(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function run(): Promise<BenchResult> {
  const count = numberOption('count', 1000);
  const hold = numberOption('hold', 10_000);
  const rounds = numberOption('runs', 5);
  heading(`5. the simulator: small sends, peek → pop → delete of ${count} messages (median of ${rounds}), RSS holding ${hold}`);
  const pkg = buildPackage();
  const pdf = randomBytes(2048);
  const xml = Buffer.from(buildArkivmeldingXml({ tittel: 'Benchmark' }, [{ filename: 'brev.pdf', mimeType: 'application/pdf' }]));

  async function sendMany(ip: PlainIp, n: number): Promise<number> {
    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: SEND_CONCURRENCY }, async () => {
        while (next < n) {
          next++;
          await ip.sendSmall(pdf, xml);
        }
      }),
    );
    return n / (ms(started) / 1000);
  }

  async function waitForInbox(ip: PlainIp, n: number): Promise<void> {
    for (let i = 0; i < 6000; i++) {
      const page = JSON.parse((await ip.call('GET', '/api/messages/in?size=1')).body.toString()) as { totalElements: number };
      if (page.totalElements >= n) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`fewer than ${n} messages reached the inbox within 10 minutes`);
  }

  /** peek → pop → delete until `n` are taken; per-step latencies in ms. */
  async function drain(ip: PlainIp, n: number): Promise<{ rate: number; peek: number[]; pop: number[]; remove: number[] }> {
    const steps = { peek: [] as number[], pop: [] as number[], remove: [] as number[] };
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      let t = process.hrtime.bigint();
      const peeked = await ip.call('GET', '/api/messages/in/peek');
      steps.peek.push(ms(t));
      if (peeked.status === 204) throw new Error(`the inbox was empty after ${i} messages`);
      const messageId = JSON.parse(peeked.body.toString()).standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
      t = process.hrtime.bigint();
      await ip.call('GET', `/api/messages/in/pop/${messageId}`);
      steps.pop.push(ms(t));
      t = process.hrtime.bigint();
      await ip.call('DELETE', `/api/messages/in/${messageId}`);
      steps.remove.push(ms(t));
    }
    return { rate: n / (ms(started) / 1000), ...steps };
  }

  // One small send at a time: the latency a test or a flow sees per message.
  const single: number[] = [];
  {
    const sim = await SimulatorProcess.start(pkg, { statusDelayMs: 0 });
    const ip = new PlainIp(sim.url);
    for (let i = 0; i < 60; i++) {
      const t = process.hrtime.bigint();
      await ip.sendSmall(pdf, xml);
      if (i >= 10) single.push(ms(t)); // the first ones warm up
    }
    await ip.close();
    await sim.child.stop();
  }

  const sendRates: number[] = [];
  const drainRates: number[] = [];
  const drainCpu: number[] = [];
  const latencies = { peek: [] as number[], pop: [] as number[], remove: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const sim = await SimulatorProcess.start(pkg, { statusDelayMs: 0 });
    const ip = new PlainIp(sim.url);
    sendRates.push(await sendMany(ip, count));
    await waitForInbox(ip, count);
    const cpu = new CpuShare([sim.pid]);
    const result = await drain(ip, count);
    drainCpu.push(cpu.stop()[0].share);
    drainRates.push(result.rate);
    latencies.peek.push(median(result.peek));
    latencies.pop.push(median(result.pop));
    latencies.remove.push(median(result.remove));
    console.log(`run ${round + 1}: sent ${sendRates.at(-1)!.toFixed(0)} msg/s (${SEND_CONCURRENCY} at a time), peek → pop → delete ${result.rate.toFixed(0)} msg/s`);
    await ip.close();
    await sim.child.stop();
  }

  // Holding many: RSS while taking them in, then at rest, and what a peek costs then.
  const sim = await SimulatorProcess.start(pkg, { statusDelayMs: 0 });
  const ip = new PlainIp(sim.url);
  const idleRss = rssOf(sim.pid) ?? 0;
  const rss = new PeakRss(sim.pid);
  const holdSendRate = await sendMany(ip, hold);
  await waitForInbox(ip, hold);
  const peak = rss.stop().peak;
  const restingRss = rssOf(sim.pid) ?? 0;
  const held = await drain(ip, 20);
  await ip.close();
  await sim.child.stop();
  console.log(`holding ${hold}: sent at ${holdSendRate.toFixed(0)} msg/s, RSS idle ${mb(idleRss)}, peak ${mb(peak)}, at rest ${mb(restingRss)}`);

  console.log();
  console.log(
    table(
      ['simulator', 'median'],
      [
        ['one small multipart send at a time (latency)', `${median(single).toFixed(1)} ms`],
        [`small multipart sends, ${SEND_CONCURRENCY} at a time`, `${median(sendRates).toFixed(0)} msg/s`],
        [`peek → pop → delete, ${count} messages one by one`, `${median(drainRates).toFixed(0)} msg/s (simulator CPU ${median(drainCpu).toFixed(2)})`],
        ['  peek / pop / delete latency', `${median(latencies.peek).toFixed(1)} / ${median(latencies.pop).toFixed(1)} / ${median(latencies.remove).toFixed(1)} ms`],
        [`RSS: idle → peak taking in ${hold} messages → at rest holding them`, `${mb(idleRss)} → ${mb(peak)} → ${mb(restingRss)}`],
        [`  peek / pop / delete latency holding ${hold}`, `${median(held.peek).toFixed(1)} / ${median(held.pop).toFixed(1)} / ${median(held.remove).toFixed(1)} ms`],
      ],
    ),
  );
  return {
    name: 'simulator',
    checks: [],
    facts: [
      `send latency ${median(single).toFixed(1)} ms; peek → pop → delete ${median(drainRates).toFixed(0)} msg/s; peak RSS ${mb(peak)} holding ${hold} (idle ${mb(idleRss)})`,
    ],
  };
}

if (require.main === module) runAsScript(run);
