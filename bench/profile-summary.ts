/**
 * Sums a CPU profile (written with BENCH_PROFILE_DIR, i.e. node --cpu-prof) the way the README's findings were
 * read: busy time, self time per function, and self time per package (native calls counted to the package that
 * made them).
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';
import { table } from './lib/report';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topText] = process.argv.slice(2);
if (!file) {
  console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topText ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);

/** A package name, "ours: <file>" for this package's build, "node" for Node's own code, or "" for native code. */
function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '';
  const inModules = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1];
  if (url.includes('/dist/')) return `ours: ${url.split('/').pop()}`;
  if (url.startsWith('node:')) return 'node';
  return url.split('/').slice(-2).join('/');
}

const selfTime = new Map<string, number>();
const packageTime = new Map<string, number>();
let total = 0;
let idle = 0;
profile.samples.forEach((id, i) => {
  const ms = (profile.timeDeltas[i] ?? 0) / 1000;
  total += ms;
  const node = byId.get(id)!;
  const frame = node.callFrame;
  if (frame.functionName === '(idle)') {
    idle += ms;
    return;
  }
  const name = `${frame.functionName || '(anonymous)'} ${frame.url ? `${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber}` : ''}`.trim();
  selfTime.set(name, (selfTime.get(name) ?? 0) + ms);
  let owner = packageOf(frame.url, frame.functionName);
  for (let up = parentOf.get(id); !owner && up !== undefined; up = parentOf.get(up)) {
    const f = byId.get(up)!.callFrame;
    const found = packageOf(f.url, f.functionName);
    if (found) owner = `${found} (native)`;
  }
  packageTime.set(owner || '(native)', (packageTime.get(owner || '(native)') ?? 0) + ms);
});

const rows = (map: Map<string, number>) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => [name, ms.toFixed(0), `${((100 * ms) / (total - idle)).toFixed(1)}%`]);
console.log(`${file}: ${total.toFixed(0)} ms sampled, ${(total - idle).toFixed(0)} ms busy on the main thread`);
console.log(table(['function (self time)', 'ms', 'of busy'], rows(selfTime)));
console.log();
console.log(table(['package (self time)', 'ms', 'of busy'], rows(packageTime)));
