// Printing results: aligned tables, MiB/MB units, and the targets with PASS/MISS.

/** One target of issue 8, checked against a measured value. */
export interface Check {
  /** e.g. "large upload: throughput / curl -T" */
  what: string;
  value: number;
  /** Shown as e.g. ">= 0.90" or "< 64 MB". */
  target: string;
  pass: boolean;
  /** How the value reads, e.g. "0.93" or "23 MB". */
  shown: string;
}

export interface BenchResult {
  name: string;
  checks: Check[];
  /** Facts worth carrying into the summary (no target), e.g. the simulator's rate. */
  facts: string[];
}

export function atLeast(what: string, value: number, minimum: number, digits = 2): Check {
  const pass = value >= minimum;
  // One more digit where rounding would show a miss as the target itself (0.799 → "0.80").
  const shown = !pass && Number(value.toFixed(digits)) >= minimum ? value.toFixed(digits + 1) : value.toFixed(digits);
  return { what, value, target: `>= ${minimum.toFixed(digits)}`, pass, shown };
}

export function belowMb(what: string, bytes: number, limitMb: number): Check {
  return { what, value: bytes, target: `< ${limitMb} MB`, pass: bytes < limitMb * 1e6, shown: mb(bytes) };
}

/** Bytes as decimal megabytes, e.g. "23 MB" (the unit of the RSS target). */
export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 10e6 && bytes > -10e6 ? 1 : 0)} MB`;
}

export function mibPerSecond(bytes: number, seconds: number): string {
  return `${(bytes / 1024 / 1024 / seconds).toFixed(0)} MiB/s`;
}

export function secondsText(seconds: number): string {
  return seconds < 1 ? `${(seconds * 1000).toFixed(0)} ms` : `${seconds.toFixed(2)} s`;
}

/** A plain-text table; numbers right-aligned, text left-aligned. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.]+(%|\s|$)|^[<>=]/.test(String(r[c] ?? ''))));
  const line = (r: string[]) => r.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function printChecks(checks: Check[]): void {
  if (!checks.length) return;
  console.log(table(['target (issue 8)', 'measured', 'goal', ''], checks.map((c) => [c.what, c.shown, c.target, c.pass ? 'PASS' : 'MISS'])));
}

export function heading(text: string): void {
  console.log(`\n=== ${text} ${'='.repeat(Math.max(0, 72 - text.length))}`);
}
