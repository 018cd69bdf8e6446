import type { NodeContext } from '../shared/context';
import type { HandedOnRecord } from './receiver';

const KEY = 'handedOn';
/** Far longer than a message stays in the inbox (its TTL, 24 hours by default); older entries are dropped. */
const KEEP_MS = 14 * 24 * 60 * 60 * 1000;

/**
 * The messageIds an inbox node handed on and has not deleted yet, kept in the node's context as
 * `{ messageId: when }`. With a persistent context store (e.g. localfilesystem) it survives a restart, so a message
 * handed on before the restart and offered again is marked msg.redelivered; with the default memory store it lasts
 * until the next restart. `ready` resolves once the stored record is loaded.
 */
export class ContextHandedOn implements HandedOnRecord {
  readonly ready: Promise<void>;
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly context: NodeContext,
    private readonly onError: (err: Error) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.ready = new Promise((resolve) => {
      context.get(KEY, (err, value) => {
        if (err) onError(err);
        else if (value && typeof value === 'object') {
          for (const [id, at] of Object.entries(value as Record<string, unknown>)) if (typeof at === 'number') this.ids.set(id, at);
        }
        resolve();
      });
    });
  }

  has(messageId: string): boolean {
    return this.ids.has(messageId);
  }

  add(messageId: string): void {
    const now = this.now();
    for (const [id, at] of this.ids) if (now - at > KEEP_MS) this.ids.delete(id);
    this.ids.set(messageId, now);
    this.save();
  }

  delete(messageId: string): void {
    if (this.ids.delete(messageId)) this.save();
  }

  private save(): void {
    this.context.set(KEY, Object.fromEntries(this.ids), (err) => {
      if (err) this.onError(err);
    });
  }
}
