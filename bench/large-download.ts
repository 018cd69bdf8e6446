/**
 * 2. Large download: an `eformidling-inbox` node in output "path" popping a 1 GiB message (the ASiC streamed to a
 * file, made durable with fsync before the message is acknowledged) in a real Node-RED process, against `curl -o`
 * of the same kind of pop from the same simulator. Also shown, not a target: `curl -o` followed by `sync` of the
 * file, which is what the inbox node guarantees before it deletes the message on the IP.
 *
 *   npx tsx bench/large-download.ts [--size 1024] [--runs 5]
 */
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { ARKIVMELDING_PROCESS, inboxFlow } from './lib/flows';
import { benchClient, putInInbox } from './lib/ip';
import { CpuShare, PeakRss, alternate, flushDisk, median, timed } from './lib/measure';
import { NodeRedProcess, SimulatorProcess, buildPackage, curl, numberOption, requireCurl, runAsScript, tempDir, writeRandomFile } from './lib/processes';
import { atLeast, belowMb, heading, mb, mibPerSecond, printChecks, secondsText, table, type BenchResult } from './lib/report';

/** curl's message takes another process, so the inbox node (which only takes ARKIVMELDING_PROCESS) never sees it. */
const CURL_PROCESS = 'urn:no:difi:profile:arkivmelding:planByggOgGeodata:ver1.0';

export async function run(): Promise<BenchResult> {
  const sizeMiB = numberOption('size', 1024);
  const rounds = numberOption('runs', 5);
  heading(`2. large download: ${sizeMiB} MiB, eformidling-inbox (path) in Node-RED vs curl -o, ${rounds} alternating runs`);
  requireCurl();
  const pkg = buildPackage();
  // A long lock: curl's message stays locked (and poppable) through every run.
  const sim = await SimulatorProcess.start(pkg, { statusDelayMs: 0, lockTimeoutSeconds: 3600 });
  const dir = tempDir('large-download');
  const downloads = path.join(dir, 'inbox');
  const nodeRed = await NodeRedProcess.start(pkg);
  await nodeRed.deploy(inboxFlow(sim.url, { output: 'path', directory: downloads, process: ARKIVMELDING_PROCESS }), '/bench/ready');
  const client = benchClient(sim.url);

  const document = { path: path.join(dir, 'stor-fil.pdf'), filename: 'stor-fil.pdf' };
  await writeRandomFile(document.path, sizeMiB);

  // Warm-up, not counted: a small message through the inbox node.
  const warmUp = { path: path.join(dir, 'varm.pdf'), filename: 'varm.pdf' };
  await writeRandomFile(warmUp.path, 8);
  await putInInbox(client, warmUp);
  const warm = await nodeRed.call<{ payload: string }>('/bench/poll', {});
  rmSync(warm.payload, { force: true });

  const curlMessage = await putInInbox(client, document, CURL_PROCESS);
  if (!(await client.peek({ messageId: curlMessage }))) throw new Error(`could not lock ${curlMessage} for curl`);
  const popUrl = `${sim.url}/api/messages/in/pop/${curlMessage}`;
  const curlFile = path.join(downloads, 'curl.asic.zip');

  const seconds: Record<string, number[]> = { ours: [], curl: [], curlSync: [] };
  const growth: number[] = [];
  const idle: number[] = [];
  const curlRss: number[] = [];
  let bytes = 0;
  await alternate(rounds, ['ours', 'curl', 'curlSync'] as const, async (who, round) => {
    if (who === 'ours') {
      await putInInbox(client, document);
      flushDisk();
      const rss = new PeakRss(nodeRed.pid);
      const cpu = new CpuShare([nodeRed.pid, sim.pid]);
      const { seconds: s, result } = await timed(() => nodeRed.call<{ payload: string }>('/bench/poll', {}));
      const [nodeRedCpu, simCpu] = cpu.stop();
      const memory = rss.stop();
      bytes = statSync(result.payload).size;
      seconds.ours.push(s);
      growth.push(memory.growth);
      idle.push(memory.idle);
      console.log(`run ${round + 1} eformidling-inbox  ${mibPerSecond(bytes, s).padStart(10)}  ${secondsText(s)}  RSS ${mb(memory.idle)} → ${mb(memory.peak)}  CPU Node-RED ${nodeRedCpu.share.toFixed(2)}, simulator ${simCpu.share.toFixed(2)}`);
      rmSync(result.payload, { force: true });
    } else {
      flushDisk();
      const cpu = new CpuShare([sim.pid]);
      const result = await curl(['-f', '-o', curlFile, popUrl]);
      const [simCpu] = cpu.stop();
      bytes = statSync(curlFile).size;
      let s = result.seconds;
      if (who === 'curlSync') {
        const { seconds: syncSeconds } = await timed(async () => spawnSync('sync', [curlFile]));
        s += syncSeconds;
        seconds.curlSync.push(s);
      } else {
        seconds.curl.push(s);
        curlRss.push(result.peakRss);
      }
      console.log(`run ${round + 1} ${who === 'curl' ? 'curl -o          ' : 'curl -o + sync   '} ${mibPerSecond(bytes, s).padStart(10)}  ${secondsText(s)}  RSS ${mb(result.peakRss)}  CPU simulator ${simCpu.share.toFixed(2)}`);
      rmSync(curlFile, { force: true });
    }
  });

  const ours = median(seconds.ours);
  const theirs = median(seconds.curl);
  const durable = median(seconds.curlSync);
  const ratio = theirs / ours;
  const row = (name: string, list: number[], memory: string) => [name, secondsText(median(list)), mibPerSecond(bytes, median(list)), secondsText(Math.min(...list)), secondsText(Math.max(...list)), memory];
  console.log();
  console.log(
    table(
      ['', 'median time', 'throughput', 'fastest', 'slowest', 'memory'],
      [
        row('eformidling-inbox (Node-RED, fsync)', seconds.ours, `RSS +${mb(Math.max(...growth))} over idle ${mb(median(idle))} (worst run)`),
        row('curl -o', seconds.curl, `curl RSS ${mb(median(curlRss))}`),
        row('curl -o, then sync the file', seconds.curlSync, ''),
      ],
    ),
  );
  console.log(`throughput ratio eformidling-inbox / curl -o: ${ratio.toFixed(2)}; / (curl -o + sync): ${(durable / ours).toFixed(2)}`);
  const checks = [atLeast('large download: throughput / curl -o', ratio, 0.9), belowMb('large download: Node-RED RSS growth', Math.max(...growth), 64)];
  printChecks(checks);
  await client.deleteIncoming(curlMessage);
  return {
    name: 'large download',
    checks,
    facts: [`eformidling-inbox ${mibPerSecond(bytes, ours)}, curl -o ${mibPerSecond(bytes, theirs)}, curl -o + sync ${mibPerSecond(bytes, durable)} (ratio to that ${(durable / ours).toFixed(2)})`],
  };
}

if (require.main === module) runAsScript(run);
