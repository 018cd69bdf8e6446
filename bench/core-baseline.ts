/**
 * 6. The baseline users have today: Node-RED's core `file in` (whole file as one Buffer) + `http request` (PUT)
 * of the same 1 GiB file to the simulator's PUT endpoint, beside `eformidling-send` (in its own Node-RED process)
 * and `curl -T`. Time and Node-RED's peak RSS over its RSS at start; alternating runs, medians.
 *
 *   npx tsx bench/core-baseline.ts [--size 1024] [--runs 5]
 */
import path from 'node:path';
import { coreNodesFlow, sendFlow } from './lib/flows';
import { arkivmeldingSbd, benchClient, messageIdOf } from './lib/ip';
import { MiB, PeakRss, alternate, flushDisk, median, rssOf, timed } from './lib/measure';
import { NodeRedProcess, SimulatorProcess, buildPackage, curl, numberOption, requireCurl, runAsScript, tempDir, writeRandomFile } from './lib/processes';
import { heading, mb, mibPerSecond, secondsText, table, type BenchResult } from './lib/report';

const FILENAME = 'stor-fil.pdf';

export async function run(): Promise<BenchResult> {
  const sizeMiB = numberOption('size', 1024);
  const rounds = numberOption('runs', 5);
  heading(`6. baseline: ${sizeMiB} MiB with core file-in + http-request vs eformidling-send vs curl -T, ${rounds} alternating runs`);
  requireCurl();
  const pkg = buildPackage();
  const sim = await SimulatorProcess.start(pkg, { statusDelayMs: 3_600_000 });
  // One Node-RED each, so one side's memory never shows up in the other's.
  const ours = await NodeRedProcess.start(pkg);
  await ours.deploy(sendFlow(sim.url), '/bench/ready');
  const core = await NodeRedProcess.start(pkg);
  await core.deploy(coreNodesFlow(FILENAME), '/bench/ready');
  const client = benchClient(sim.url);
  // Memory the core nodes take is not given back after the first run, so growth is counted from the RSS at start.
  const startRss = { ours: rssOf(ours.pid) ?? 0, core: rssOf(core.pid) ?? 0 };

  const dir = tempDir('core-baseline');
  const file = path.join(dir, FILENAME);
  await writeRandomFile(file, sizeMiB);
  const bytes = sizeMiB * MiB;

  async function created(): Promise<{ messageId: string; url: string }> {
    const messageId = messageIdOf(await client.createMessage(arkivmeldingSbd(FILENAME)));
    return { messageId, url: `${sim.url}/api/messages/out/${messageId}` };
  }

  const contenders = ['core', 'ours', 'curl'] as const;
  const labels = { core: 'core file in + http request', ours: 'eformidling-send', curl: 'curl -T' };
  const seconds: Record<string, number[]> = { core: [], ours: [], curl: [] };
  const growth: Record<string, number[]> = { core: [], ours: [], curl: [] };
  await alternate(rounds, contenders, async (who, round) => {
    let messageId: string;
    flushDisk();
    if (who === 'curl') {
      const target = await created();
      messageId = target.messageId;
      const result = await curl(['-f', '-T', file, '-H', 'Content-Type: application/pdf', '-H', `Content-Disposition: attachment; filename="${FILENAME}"`, '-o', '/dev/null', target.url]);
      seconds.curl.push(result.seconds);
      growth.curl.push(result.peakRss);
    } else {
      const nodeRed = who === 'ours' ? ours : core;
      const target = who === 'core' ? await created() : undefined;
      const rss = new PeakRss(nodeRed.pid);
      const { seconds: s, result } = await timed(() =>
        who === 'ours' ? nodeRed.call<{ messageId: string }>('/bench/send', { paths: [file] }) : nodeRed.call('/bench/core', { path: file, url: target!.url }),
      );
      const memory = rss.stop();
      messageId = target?.messageId ?? (result as { messageId: string }).messageId;
      seconds[who].push(s);
      growth[who].push(memory.peak - startRss[who]);
    }
    const s = seconds[who].at(-1)!;
    console.log(`run ${round + 1} ${labels[who].padEnd(28)} ${mibPerSecond(bytes, s).padStart(10)}  ${secondsText(s)}  ${who === 'curl' ? 'RSS' : 'RSS over start'} ${mb(growth[who].at(-1)!)}`);
    await client.deleteOutgoing(messageId);
  });

  const curlTime = median(seconds.curl);
  console.log();
  console.log(
    table(
      ['', 'median time', 'throughput', 'time / curl', 'memory (worst run)'],
      contenders.map((who) => [
        labels[who],
        secondsText(median(seconds[who])),
        mibPerSecond(bytes, median(seconds[who])),
        (median(seconds[who]) / curlTime).toFixed(2),
        who === 'curl' ? `curl RSS ${mb(Math.max(...growth.curl))}` : `Node-RED RSS +${mb(Math.max(...growth[who]))} over its RSS at start (${mb(startRss[who])})`,
      ]),
    ),
  );
  const speedup = median(seconds.core) / median(seconds.ours);
  console.log(`eformidling-send is ${speedup.toFixed(1)}x as fast as the core nodes, with ${mb(Math.max(...growth.ours))} instead of ${mb(Math.max(...growth.core))} of memory growth`);
  return {
    name: 'baseline (core nodes)',
    checks: [],
    facts: [
      `core nodes ${secondsText(median(seconds.core))} (+${mb(Math.max(...growth.core))}), eformidling-send ${secondsText(median(seconds.ours))} (+${mb(Math.max(...growth.ours))}), curl -T ${secondsText(curlTime)}`,
    ],
  };
}

if (require.main === module) runAsScript(run);
