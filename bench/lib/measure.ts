// Measuring side by side: alternating runs, medians, memory and CPU of a process read from /proc.
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export const MiB = 1024 * 1024;

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs every contender once per round, `rounds` times, rotating who goes first each round (A B, B A, …), so that
 * warm caches, disk writeback and other load on the machine favour none of them.
 */
export async function alternate<K extends string>(rounds: number, contenders: readonly K[], runOne: (who: K, round: number) => Promise<void>): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const shift = round % contenders.length;
    const order = [...contenders.slice(shift), ...contenders.slice(0, shift)];
    for (const who of order) await runOne(who, round);
  }
}

/** Seconds of a promise-returning step, measured with the monotonic clock. */
export async function timed<T>(step: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  const started = process.hrtime.bigint();
  const result = await step();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, result };
}

/** Writes dirty pages to disk, so one run's writeback does not slow the next run down. */
export function flushDisk(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

function statusField(pid: number, field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined; // the process has exited
  }
}

/** Resident memory of a process now, in bytes (VmRSS). */
export function rssOf(pid: number): number | undefined {
  return statusField(pid, 'VmRSS');
}

/**
 * The peak resident memory of a process over a stretch of time. The kernel's own peak (VmHWM) is reset at the
 * start (writing 5 to /proc/<pid>/clear_refs), so no short spike is missed; sampling every 10 ms backs it up where
 * that reset is not allowed.
 */
export class PeakRss {
  readonly idle: number;
  private sampled: number;
  private readonly hwmReset: boolean;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    let reset = false;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      reset = true;
    } catch {
      // not our process or not permitted: sampling only
    }
    this.hwmReset = reset;
    this.idle = rssOf(pid) ?? 0;
    this.sampled = this.idle;
    this.timer = setInterval(() => this.sample(), 10);
  }

  private sample(): void {
    const now = rssOf(this.pid);
    if (now !== undefined && now > this.sampled) this.sampled = now;
  }

  /** Stops watching; the peak seen since the start, in bytes. */
  stop(): { idle: number; peak: number; growth: number } {
    clearInterval(this.timer);
    this.sample();
    const hwm = this.hwmReset ? (statusField(this.pid, 'VmHWM') ?? 0) : 0;
    const peak = Math.max(this.sampled, hwm);
    return { idle: this.idle, peak, growth: peak - this.idle };
  }
}

const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system) a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which is in parentheses and may hold spaces): utime is the 14th field, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** CPU used by a set of processes over a stretch of time, as a share of one core. */
export class CpuShare {
  private readonly started = process.hrtime.bigint();
  private readonly before: number[];

  constructor(private readonly pids: number[]) {
    this.before = pids.map(cpuSecondsOf);
  }

  /** Per pid: CPU seconds used and the share of one core (1 = one core busy all the time). */
  stop(): Array<{ pid: number; cpuSeconds: number; share: number }> {
    const wall = Number(process.hrtime.bigint() - this.started) / 1e9;
    return this.pids.map((pid, i) => {
      const cpuSeconds = cpuSecondsOf(pid) - this.before[i];
      return { pid, cpuSeconds, share: cpuSeconds / wall };
    });
  }
}
