/**
 * Runs every benchmark, each in its own process against one build of the current sources, then prints a summary
 * of the targets of issue 8. Options are passed on to every benchmark (--runs, --size, …);
 * --only large-upload,multipart runs a subset.
 *
 *   npm run bench [-- --runs 5] [-- --only small-messages]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildPackage, cleanUp, optionText, tempDir } from './lib/processes';
import { heading, printChecks, type BenchResult } from './lib/report';

const BENCHMARKS = ['large-upload', 'large-download', 'multipart', 'small-messages', 'simulator', 'core-baseline', 'client-upload'];

async function main(): Promise<number> {
  const only = optionText('only')?.split(',').map((s) => s.trim());
  for (const name of only ?? []) if (!BENCHMARKS.includes(name)) throw new Error(`--only: unknown benchmark "${name}", expected some of ${BENCHMARKS.join(', ')}`);
  const chosen = BENCHMARKS.filter((b) => !only || only.includes(b));
  const passOn = process.argv.slice(2).filter((a, i, all) => a !== '--only' && !a.startsWith('--only=') && all[i - 1] !== '--only');

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`node ${process.version}, ${os.cpus().length} CPUs (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('building the current sources …');
  const pkg = buildPackage();
  const results = tempDir('results');
  const summary: BenchResult[] = [];
  let failed = 0;
  for (const name of chosen) {
    const resultFile = path.join(results, `${name}.json`);
    // client-upload.ts predates the others: its size is its first argument.
    const size = optionText('size');
    const args = name === 'client-upload' ? (size ? [size] : []) : passOn;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, `${name}.ts`), ...args], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_PACKAGE_DIR: pkg.dir, BENCH_RESULT_FILE: resultFile },
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (name === 'client-upload') heading('client-upload (bench/client-upload.ts) done');
    if (code !== 0) {
      failed++;
      console.error(`${name} failed (exit code ${code})`);
    }
    if (existsSync(resultFile)) summary.push(JSON.parse(readFileSync(resultFile, 'utf8')) as BenchResult);
  }

  heading('summary');
  printChecks(summary.flatMap((r) => r.checks));
  for (const r of summary) for (const fact of r.facts) console.log(`${r.name}: ${fact}`);
  if (failed) console.log(`${failed} benchmark(s) failed to run`);
  return failed ? 1 : 0;
}

main()
  .then((code) => (process.exitCode = code))
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanUp());
