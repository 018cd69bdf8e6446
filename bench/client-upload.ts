/**
 * Upload benchmark: a 1 GiB generated file through IntegrasjonspunktClient.uploadFile (three-step send) to a
 * simulator in a child process, against `curl -T` of the same file to the same PUT endpoint. Prints the median of
 * 3 alternating runs of each, and this process's peak RSS (must stay under 200 MB: the file is streamed).
 *
 *   npx tsx bench/client-upload.ts [sizeMiB]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrasjonspunktClient } from '../src/client';
import type { StandardBusinessDocument } from '../src/schemas/sbd';

const SIZE_MIB = Number(process.argv[2] ?? 1024);
const RUNS = 3;
const RSS_LIMIT_MB = 200;
const MiB = 1024 * 1024;
const SENDER = '910000009';
const RECEIVER = '920000008';
const FILENAME = 'stor-fil.pdf';

/**
 * Writes `mib` MiB by streaming 1 MiB chunks (a random block, varied per chunk so nothing repeats exactly). One
 * buffer is reused, each write awaited, so generating the file does not inflate this process's peak RSS.
 */
async function generateFile(path: string, mib: number): Promise<void> {
  const block = randomBytes(MiB);
  const out = createWriteStream(path);
  for (let i = 0; i < mib; i++) {
    block.writeUInt32BE(i, 0);
    await new Promise<void>((resolve, reject) => out.write(block, (err) => (err ? reject(err) : resolve())));
  }
  out.end();
  await once(out, 'finish');
}

async function startSimulator(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../src/simulator/cli.ts'), '--port', '0', '--data-dir', dataDir, '--status-delay', '60000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (https?:\/\/[^\s,]+)/.exec(output);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`the simulator exited with ${code} before listening: ${output}`)));
  });
  child.stdout!.resume();
  return { child, url };
}

function sbd(): StandardBusinessDocument {
  return {
    standardBusinessDocumentHeader: {
      headerVersion: '1.0',
      sender: [{ identifier: { value: `0192:${SENDER}`, authority: 'iso6523-actorid-upis' } }],
      receiver: [{ identifier: { value: `0192:${RECEIVER}`, authority: 'iso6523-actorid-upis' } }],
      documentIdentification: { standard: 'urn:no:difi:avtalt:xsd::avtalt', typeVersion: '1.0', instanceIdentifier: randomUUID(), type: 'avtalt' },
      businessScope: { scope: [{ type: 'ConversationId', instanceIdentifier: randomUUID(), identifier: 'urn:no:difi:profile:avtalt:avtalt:ver1.0' }] },
    },
    avtalt: { identifier: 'bench', content: {} },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const curlCheck = spawnSync('curl', ['--version']);
  if (curlCheck.error) throw new Error('curl is needed for the comparison');

  const dir = mkdtempSync(join(tmpdir(), 'bench-client-upload-'));
  const file = join(dir, FILENAME);
  let sim: { child: ChildProcess; url: string } | undefined;
  const client = { current: undefined as IntegrasjonspunktClient | undefined };
  try {
    console.log(`generating ${SIZE_MIB} MiB …`);
    await generateFile(file, SIZE_MIB);
    sim = await startSimulator(join(dir, 'sim'));
    client.current = new IntegrasjonspunktClient({ url: sim.url, timeoutMs: 120_000 });
    const ip = client.current;

    const clientSeconds: number[] = [];
    const curlSeconds: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      // Alternate which goes first, so disk cache and warm-up favour neither.
      const order = run % 2 === 0 ? ['client', 'curl'] : ['curl', 'client'];
      for (const who of order) {
        const created = await ip.createMessage(sbd());
        const messageId = created.standardBusinessDocumentHeader.documentIdentification.instanceIdentifier as string;
        const started = process.hrtime.bigint();
        if (who === 'client') {
          await ip.uploadFile(messageId, { path: file, mimeType: 'application/pdf' });
        } else {
          const curl = spawnSync(
            'curl',
            ['-sS', '-f', '-T', file, '-H', 'Content-Type: application/pdf', '-H', `Content-Disposition: attachment; filename="${FILENAME}"`, '-o', '/dev/null', `${sim.url}/api/messages/out/${messageId}`],
            { stdio: ['ignore', 'ignore', 'inherit'] },
          );
          if (curl.status !== 0) throw new Error(`curl failed with exit code ${curl.status}`);
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        (who === 'client' ? clientSeconds : curlSeconds).push(seconds);
        console.log(`run ${run + 1} ${who.padEnd(6)} ${(SIZE_MIB / seconds).toFixed(0).padStart(5)} MiB/s (${seconds.toFixed(2)} s)`);
        await ip.deleteOutgoing(messageId);
      }
    }

    const clientRate = SIZE_MIB / median(clientSeconds);
    const curlRate = SIZE_MIB / median(curlSeconds);
    const peakRssMb = (process.resourceUsage().maxRSS * 1024) / 1e6;
    console.log(`client (uploadFile) median: ${clientRate.toFixed(0)} MiB/s`);
    console.log(`curl -T           median: ${curlRate.toFixed(0)} MiB/s`);
    console.log(`client / curl throughput: ${(clientRate / curlRate).toFixed(2)}`);
    console.log(`client process peak RSS: ${peakRssMb.toFixed(0)} MB (limit ${RSS_LIMIT_MB} MB) ${peakRssMb < RSS_LIMIT_MB ? 'OK' : 'OVER'}`);
    if (peakRssMb >= RSS_LIMIT_MB) process.exitCode = 1;
  } finally {
    await client.current?.close();
    if (sim && sim.child.exitCode === null) {
      const exited = once(sim.child, 'exit');
      sim.child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
