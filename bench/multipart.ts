/**
 * 3. Multipart: an arkivmelding with 10 files of 4 MiB sent by `eformidling-send` (every file ≤ 5 MiB, so one
 * multipart request: sbd, the files, the generated arkivmelding.xml) in a real Node-RED process, against `curl -F`
 * posting the same parts to the same endpoint. Each sample is `--batch` sends one after another.
 *
 *   npx tsx bench/multipart.ts [--files 10] [--file-size 4] [--runs 5] [--batch 3]
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildArkivmeldingXml } from '../src/sbd/arkivmelding';
import { sendFlow } from './lib/flows';
import { arkivmeldingSbd, benchClient, messageIdOf } from './lib/ip';
import { CpuShare, MiB, PeakRss, alternate, median, timed } from './lib/measure';
import { NodeRedProcess, SimulatorProcess, buildPackage, curl, numberOption, requireCurl, runAsScript, tempDir, writeRandomFile } from './lib/processes';
import { atLeast, belowMb, heading, mb, mibPerSecond, printChecks, secondsText, table, type BenchResult } from './lib/report';

export async function run(): Promise<BenchResult> {
  const fileCount = numberOption('files', 10);
  const fileMiB = numberOption('file-size', 4);
  const rounds = numberOption('runs', 5);
  const batch = numberOption('batch', 3);
  heading(`3. multipart: ${fileCount} files of ${fileMiB} MiB, eformidling-send in Node-RED vs curl -F, ${rounds} alternating runs of ${batch} sends`);
  requireCurl();
  const pkg = buildPackage();
  // Sent messages wait an hour for transport and are deleted after each run: nothing else loads the simulator.
  const sim = await SimulatorProcess.start(pkg, { statusDelayMs: 3_600_000 });
  const nodeRed = await NodeRedProcess.start(pkg);
  await nodeRed.deploy(sendFlow(sim.url), '/bench/ready');
  const client = benchClient(sim.url);

  const dir = tempDir('multipart');
  const files: string[] = [];
  for (let i = 1; i <= fileCount; i++) {
    const file = path.join(dir, `vedlegg-${String(i).padStart(2, '0')}.pdf`);
    await writeRandomFile(file, fileMiB);
    files.push(file);
  }
  const names = files.map((f) => path.basename(f));
  const arkivmeldingFile = path.join(dir, 'arkivmelding.xml');
  writeFileSync(arkivmeldingFile, buildArkivmeldingXml({ tittel: 'Benchmark' }, names.map((filename) => ({ filename, mimeType: 'application/pdf' }))));
  const sbdFile = path.join(dir, 'sbd.json');
  const bytes = fileCount * fileMiB * MiB * batch;

  /** curl -F with the parts our multipart writer sends: sbd (a field, JSON), each file, arkivmelding.xml. */
  async function curlSend(): Promise<number> {
    const sbd = arkivmeldingSbd(names[0]);
    writeFileSync(sbdFile, JSON.stringify(sbd));
    const parts = [`sbd=<${sbdFile};type=application/json`, ...files.map((f) => `${path.basename(f)}=@${f};type=application/pdf`), `arkivmelding.xml=@${arkivmeldingFile};type=application/xml`];
    const result = await curl(['-f', ...parts.flatMap((p) => ['-F', p]), '-o', '/dev/null', `${sim.url}/api/messages/out/multipart`]);
    await client.deleteOutgoing(messageIdOf(sbd));
    return result.seconds;
  }

  async function oursSend(): Promise<number> {
    const { seconds, result } = await timed(() => nodeRed.call<{ messageId: string }>('/bench/send', { paths: files }));
    await client.deleteOutgoing(result.messageId);
    return seconds;
  }

  await oursSend(); // warm-up, not counted
  await curlSend();

  const seconds: Record<string, number[]> = { ours: [], curl: [] };
  const growth: number[] = [];
  const simulatorCpu: Record<string, number[]> = { ours: [], curl: [] };
  await alternate(rounds, ['ours', 'curl'] as const, async (who, round) => {
    const rss = who === 'ours' ? new PeakRss(nodeRed.pid) : undefined;
    const cpu = new CpuShare([sim.pid]);
    let total = 0;
    for (let i = 0; i < batch; i++) total += who === 'ours' ? await oursSend() : await curlSend();
    simulatorCpu[who].push(cpu.stop()[0].share);
    seconds[who].push(total);
    const memory = rss?.stop();
    if (memory) growth.push(memory.growth);
    const label = who === 'ours' ? 'eformidling-send' : 'curl -F         ';
    console.log(`run ${round + 1} ${label} ${mibPerSecond(bytes, total).padStart(10)}  ${secondsText(total)}${memory ? `  RSS ${mb(memory.idle)} → ${mb(memory.peak)}` : ''}`);
  });

  const ours = median(seconds.ours);
  const theirs = median(seconds.curl);
  const ratio = theirs / ours;
  console.log();
  console.log(
    table(
      ['', `median time of ${batch} sends`, 'throughput', 'fastest', 'slowest', 'simulator CPU'],
      [
        ['eformidling-send (Node-RED)', secondsText(ours), mibPerSecond(bytes, ours), secondsText(Math.min(...seconds.ours)), secondsText(Math.max(...seconds.ours)), median(simulatorCpu.ours).toFixed(2)],
        ['curl -F', secondsText(theirs), mibPerSecond(bytes, theirs), secondsText(Math.min(...seconds.curl)), secondsText(Math.max(...seconds.curl)), median(simulatorCpu.curl).toFixed(2)],
      ],
    ),
  );
  console.log(`throughput ratio eformidling-send / curl -F: ${ratio.toFixed(2)}; Node-RED RSS growth (worst run) ${mb(Math.max(...growth))}`);
  const checks = [atLeast('multipart: throughput / curl -F', ratio, 0.8)];
  printChecks(checks);
  return { name: 'multipart', checks, facts: [`eformidling-send ${mibPerSecond(bytes, ours)}, curl -F ${mibPerSecond(bytes, theirs)}; RSS growth ${mb(Math.max(...growth))}`] };
}

if (require.main === module) runAsScript(run);
