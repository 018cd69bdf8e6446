/**
 * 1. Large upload: a 1 GiB file sent by `eformidling-send` (three-step: create → streamed PUT → send, the file given
 * as msg.files = [{ path }]) in a real Node-RED process, against `curl -T` of the same file to the same simulator's
 * PUT endpoint. Alternating runs, medians; Node-RED's peak RSS growth over its idle RSS before each run.
 *
 *   npx tsx bench/large-upload.ts [--size 1024] [--runs 5]
 */
import path from 'node:path';
import { sendFlow } from './lib/flows';
import { arkivmeldingSbd, benchClient, messageIdOf } from './lib/ip';
import { CpuShare, MiB, PeakRss, alternate, flushDisk, median, timed } from './lib/measure';
import { NodeRedProcess, SimulatorProcess, buildPackage, curl, numberOption, requireCurl, runAsScript, tempDir, writeRandomFile } from './lib/processes';
import { atLeast, belowMb, heading, mb, mibPerSecond, printChecks, secondsText, table, type BenchResult } from './lib/report';

const FILENAME = 'stor-fil.pdf';

export async function run(): Promise<BenchResult> {
  const sizeMiB = numberOption('size', 1024);
  const rounds = numberOption('runs', 5);
  heading(`1. large upload: ${sizeMiB} MiB, eformidling-send in Node-RED vs curl -T, ${rounds} alternating runs`);
  requireCurl();
  const pkg = buildPackage();
  // Sent messages wait an hour for transport, and are deleted after each run: no ASiC is built while we measure.
  const sim = await SimulatorProcess.start(pkg, { statusDelayMs: 3_600_000 });
  const nodeRed = await NodeRedProcess.start(pkg);
  await nodeRed.deploy(sendFlow(sim.url), '/bench/ready');
  const client = benchClient(sim.url);

  const dir = tempDir('large-upload');
  const file = path.join(dir, FILENAME);
  const warmUpFile = path.join(dir, 'varm.pdf');
  await writeRandomFile(file, sizeMiB);
  await writeRandomFile(warmUpFile, 8);
  const bytes = sizeMiB * MiB;

  // Warm-up, not counted: loads the code paths of both sides once.
  const warm = await nodeRed.call<{ messageId: string }>('/bench/send', { paths: [warmUpFile] });
  await client.deleteOutgoing(warm.messageId);

  const seconds: Record<string, number[]> = { ours: [], curl: [] };
  const growth: number[] = [];
  const idle: number[] = [];
  const curlRss: number[] = [];
  await alternate(rounds, ['ours', 'curl'] as const, async (who, round) => {
    if (who === 'ours') {
      flushDisk();
      const rss = new PeakRss(nodeRed.pid);
      const cpu = new CpuShare([nodeRed.pid, sim.pid]);
      const { seconds: s, result } = await timed(() => nodeRed.call<{ messageId: string }>('/bench/send', { paths: [file] }));
      const [nodeRedCpu, simCpu] = cpu.stop();
      const memory = rss.stop();
      seconds.ours.push(s);
      growth.push(memory.growth);
      idle.push(memory.idle);
      console.log(`run ${round + 1} eformidling-send ${mibPerSecond(bytes, s).padStart(10)}  ${secondsText(s)}  RSS ${mb(memory.idle)} → ${mb(memory.peak)}  CPU Node-RED ${nodeRedCpu.share.toFixed(2)}, simulator ${simCpu.share.toFixed(2)}`);
      await client.deleteOutgoing(result.messageId);
    } else {
      const created = await client.createMessage(arkivmeldingSbd(FILENAME));
      const url = `${sim.url}/api/messages/out/${messageIdOf(created)}`;
      flushDisk();
      const cpu = new CpuShare([sim.pid]);
      const result = await curl(['-f', '-T', file, '-H', 'Content-Type: application/pdf', '-H', `Content-Disposition: attachment; filename="${FILENAME}"`, '-o', '/dev/null', url]);
      const [simCpu] = cpu.stop();
      seconds.curl.push(result.seconds);
      curlRss.push(result.peakRss);
      console.log(`run ${round + 1} curl -T         ${mibPerSecond(bytes, result.seconds).padStart(10)}  ${secondsText(result.seconds)}  RSS ${mb(result.peakRss)}  CPU simulator ${simCpu.share.toFixed(2)}`);
      await client.deleteOutgoing(messageIdOf(created));
    }
  });

  const ours = median(seconds.ours);
  const theirs = median(seconds.curl);
  const ratio = theirs / ours;
  console.log();
  console.log(
    table(
      ['', 'median time', 'throughput', 'fastest', 'slowest', 'memory'],
      [
        ['eformidling-send (Node-RED)', secondsText(ours), mibPerSecond(bytes, ours), secondsText(Math.min(...seconds.ours)), secondsText(Math.max(...seconds.ours)), `RSS +${mb(Math.max(...growth))} over idle ${mb(median(idle))} (worst run)`],
        ['curl -T', secondsText(theirs), mibPerSecond(bytes, theirs), secondsText(Math.min(...seconds.curl)), secondsText(Math.max(...seconds.curl)), `curl RSS ${mb(median(curlRss))}`],
      ],
    ),
  );
  console.log(`throughput ratio eformidling-send / curl -T: ${ratio.toFixed(2)}`);
  const checks = [atLeast('large upload: throughput / curl -T', ratio, 0.9), belowMb('large upload: Node-RED RSS growth', Math.max(...growth), 64)];
  printChecks(checks);
  return { name: 'large upload', checks, facts: [`eformidling-send ${mibPerSecond(bytes, ours)}, curl -T ${mibPerSecond(bytes, theirs)}`] };
}

if (require.main === module) runAsScript(run);
