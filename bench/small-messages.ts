/**
 * 4. Small messages: 1000 small arkivmeldinger sent (eformidling-send, `--concurrency` at a time), received
 * (eformidling-inbox, output files, auto ack) and followed to LEVERT (eformidling-status, wait) through a real
 * Node-RED, against a plain undici script doing the same HTTP work (bench/small-plain.ts). Messages per second,
 * alternating runs, each on a fresh simulator; the simulator's CPU share shows whether it limits either side.
 *
 *   npx tsx bench/small-messages.ts [--count 1000] [--concurrency 10] [--runs 5]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildArkivmeldingXml } from '../src/sbd/arkivmelding';
import { smallMessagesFlow } from './lib/flows';
import { CpuShare, alternate, median } from './lib/measure';
import { Child, NodeRedProcess, SimulatorProcess, buildPackage, callJson, numberOption, runAsScript, tempDir } from './lib/processes';
import { atLeast, heading, printChecks, table, type BenchResult } from './lib/report';

/** Seconds between the inbox node's polls (its smallest setting), and between the status node's polls. */
const INBOX_INTERVAL = 1;
const STATUS_INTERVAL = 0.5;

interface Sample {
  rate: number;
  seconds: number;
  simulatorCpu: number;
  clientCpu: number;
}

export async function run(): Promise<BenchResult> {
  const count = numberOption('count', 1000);
  const concurrency = numberOption('concurrency', 10);
  const rounds = numberOption('runs', 5);
  heading(`4. small messages: ${count} arkivmeldinger sent, received and followed to LEVERT, Node-RED vs plain undici, ${rounds} alternating runs`);
  const pkg = buildPackage();
  const dir = tempDir('small');
  const pdf = randomBytes(2048);
  const pdfFile = path.join(dir, 'brev.pdf');
  const xmlFile = path.join(dir, 'arkivmelding.xml');
  writeFileSync(pdfFile, pdf);
  writeFileSync(xmlFile, buildArkivmeldingXml({ tittel: 'Benchmark' }, [{ filename: 'brev.pdf', mimeType: 'application/pdf' }]));
  const nodeRed = await NodeRedProcess.start(pkg);

  async function oursRun(n: number): Promise<Sample> {
    const sim = await SimulatorProcess.start(pkg, { statusDelayMs: 0 });
    await nodeRed.deploy(smallMessagesFlow(sim.url, { inboxInterval: INBOX_INTERVAL, statusInterval: STATUS_INTERVAL }), '/bench/ready');
    const cpu = new CpuShare([sim.pid, nodeRed.pid]);
    const started = process.hrtime.bigint();
    await nodeRed.call('/bench/small', { count: n, concurrency, pdf: pdf.toString('base64') });
    const deadline = Date.now() + 600_000;
    for (;;) {
      const state = (await callJson<{ sent: number; received: number; levert: number; errors: number; lastError: string }>('GET', `${nodeRed.url}/bench/state`)).json;
      if (state.errors > 0) throw new Error(`the Node-RED flow reported ${state.errors} errors, the last: ${state.lastError}`);
      if (state.received >= n && state.levert >= n) break;
      if (Date.now() > deadline) throw new Error(`gave up after 10 minutes: ${JSON.stringify(state)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const [simCpu, nodeRedCpu] = cpu.stop();
    await sim.child.stop();
    return { rate: n / seconds, seconds, simulatorCpu: simCpu.share, clientCpu: nodeRedCpu.share };
  }

  async function plainRun(n: number): Promise<Sample> {
    const sim = await SimulatorProcess.start(pkg, { statusDelayMs: 0 });
    const args = ['--import', 'tsx', path.join(__dirname, 'small-plain.ts'), sim.url, String(n), String(concurrency), pdfFile, xmlFile, String(INBOX_INTERVAL * 1000), String(STATUS_INTERVAL * 1000)];
    const child = new Child('small-plain', spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    // The simulator's CPU is counted from the script's "started" to its result line, as the script times itself.
    let cpu: CpuShare | undefined;
    let simulatorCpu = NaN;
    child.process.stdout!.on('data', (chunk: string) => {
      if (!cpu && chunk.includes('started')) cpu = new CpuShare([sim.pid]);
      else if (cpu && chunk.includes('{')) simulatorCpu = cpu.stop()[0].share;
    });
    const [code] = (await once(child.process, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`small-plain exited with ${code}:\n${child.recentOutput()}`);
    const result = JSON.parse(child.output.find((l) => l.startsWith('{'))!) as { seconds: number; cpuSeconds: number };
    await sim.child.stop();
    return { rate: n / result.seconds, seconds: result.seconds, simulatorCpu, clientCpu: result.cpuSeconds / result.seconds };
  }

  // Warm-up, not counted.
  await oursRun(Math.min(50, count));
  await plainRun(Math.min(50, count));

  const samples: Record<string, Sample[]> = { ours: [], plain: [] };
  await alternate(rounds, ['ours', 'plain'] as const, async (who, round) => {
    const sample = who === 'ours' ? await oursRun(count) : await plainRun(count);
    samples[who].push(sample);
    const label = who === 'ours' ? 'Node-RED flow' : 'plain undici ';
    console.log(
      `run ${round + 1} ${label} ${sample.rate.toFixed(0).padStart(5)} msg/s  ${sample.seconds.toFixed(2)} s  CPU: simulator ${sample.simulatorCpu.toFixed(2)}, ${who === 'ours' ? 'Node-RED' : 'script'} ${sample.clientCpu.toFixed(2)}`,
    );
  });

  const m = (who: string, key: keyof Sample) => median(samples[who].map((s) => s[key]));
  const ratio = m('ours', 'rate') / m('plain', 'rate');
  console.log();
  console.log(
    table(
      ['', 'median msg/s', 'median time', 'simulator CPU (cores)', 'client CPU (cores)'],
      [
        ['Node-RED: send → inbox (auto ack) → status LEVERT', m('ours', 'rate').toFixed(0), `${m('ours', 'seconds').toFixed(2)} s`, m('ours', 'simulatorCpu').toFixed(2), m('ours', 'clientCpu').toFixed(2)],
        ['plain undici script, same HTTP work', m('plain', 'rate').toFixed(0), `${m('plain', 'seconds').toFixed(2)} s`, m('plain', 'simulatorCpu').toFixed(2), m('plain', 'clientCpu').toFixed(2)],
      ],
    ),
  );
  console.log(`messages per second ratio Node-RED / plain: ${ratio.toFixed(2)}`);
  const simulatorShare = m('ours', 'simulatorCpu');
  const plainShare = m('plain', 'simulatorCpu');
  console.log(
    `simulator CPU: ${simulatorShare.toFixed(2)} of a core during the Node-RED runs, ${plainShare.toFixed(2)} during the plain runs, which got ` +
      `${(m('plain', 'rate') / m('ours', 'rate')).toFixed(1)}x the rate from the same simulator: the simulator has room left when Node-RED runs` +
      (plainShare >= 0.9 ? ' (the plain script, though, is limited by it: a faster simulator would lower the ratio)' : ''),
  );
  const checks = [
    atLeast('small messages: msg/s / plain undici', ratio, 0.5),
    { what: 'small messages: simulator CPU in the Node-RED runs', value: simulatorShare, target: '< 0.90 core', pass: simulatorShare < 0.9, shown: simulatorShare.toFixed(2) },
  ];
  printChecks(checks);
  return { name: 'small messages', checks, facts: [`Node-RED ${m('ours', 'rate').toFixed(0)} msg/s, plain ${m('plain', 'rate').toFixed(0)} msg/s`] };
}

if (require.main === module) runAsScript(run);
