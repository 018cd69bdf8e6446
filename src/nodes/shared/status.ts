import type { Node } from './types';

export const STATUS_CONNECTED = { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' } as const;

/** The time of day as 14:03:27, for status texts. */
export function clock(date = new Date()): string {
  return date.toTimeString().slice(0, 8);
}

/** "a41c7b0e" from "a41c7b0e-2f6d-…": enough of a messageId to recognise it in a status. */
export function shortId(id: string | undefined): string {
  return id ? id.slice(0, 8) : '';
}

/**
 * Shows upload progress on a node as "<label> 42%" (or bytes when the total is unknown), at most once per
 * `intervalMs`, so a gigabyte upload does not flood the editor with status events.
 */
export class ProgressStatus {
  private lastShown = 0;
  private lastText = '';

  constructor(
    private readonly node: Node,
    private readonly label: string,
    private readonly intervalMs = 1000,
  ) {}

  update(done: number, total: number | undefined): void {
    const now = Date.now();
    if (now - this.lastShown < this.intervalMs) return;
    const text = total && total > 0 ? `${this.label} ${Math.floor((done / total) * 100)}%` : `${this.label} ${formatBytes(done)}`;
    if (text === this.lastText) return;
    this.lastShown = now;
    this.lastText = text;
    this.node.status({ fill: 'blue', shape: 'dot', text });
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
