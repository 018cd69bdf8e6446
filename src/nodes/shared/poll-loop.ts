/**
 * A poller that never overlaps itself (the pattern of Node-RED's email-in node): the next poll is armed with
 * setTimeout only after the current one has finished; a trigger during a poll queues exactly one more poll;
 * failures back off exponentially and recover by themselves; close() aborts the running poll and resolves only
 * once it has stopped.
 */

export interface PollLoopOptions {
  /** Milliseconds between polls after a successful one; 0 = poll only when triggered. */
  intervalMs: number;
  /** One poll. It should stop soon after `signal` aborts. */
  poll: (signal: AbortSignal) => Promise<void>;
  /**
   * Called after each failed poll with the delay before the automatic retry; `triggered` is true when a
   * trigger() caller waited for this poll and got the error.
   */
  onError?: (error: unknown, retryInMs: number, failuresInARow: number, triggered: boolean) => void;
  /** Called after each successful poll. */
  onSuccess?: () => void;
  /** Delay after the first failure, doubled for each further one (default 1000). */
  firstRetryMs?: number;
  /** Longest delay between retries (default 60 000). */
  maxRetryMs?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class PollLoop {
  private readonly options: PollLoopOptions;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Callers of trigger() waiting for the next poll to start and finish. */
  private waiting: Waiter[] = [];
  private failures = 0;
  private closed = false;

  constructor(options: PollLoopOptions) {
    this.options = options;
  }

  /** Starts polling: at once when an interval is set, otherwise only on trigger(). */
  start(): void {
    if (this.options.intervalMs > 0) this.runNow();
  }

  /**
   * Asks for a poll. Runs it now when idle; during a poll, queues one more that starts when the current one ends
   * (several triggers during one poll share that one). Resolves when that poll has finished, rejects with its error.
   */
  trigger(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.running) this.runNow();
    });
  }

  /** Stops the timer, aborts the running poll and resolves once it has stopped. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.abort.abort();
    for (const waiter of this.waiting.splice(0)) waiter.resolve();
    await this.running;
  }

  private runNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const waiters = this.waiting.splice(0);
    this.running = this.runOnce(waiters);
  }

  private async runOnce(waiters: Waiter[]): Promise<void> {
    let error: unknown;
    let failed = false;
    try {
      await this.options.poll(this.abort.signal);
    } catch (err) {
      error = err;
      failed = true;
    }
    this.running = undefined;
    if (this.closed) {
      // A poll cut short by close is not a failure the caller needs to hear about.
      for (const waiter of waiters) waiter.resolve();
      return;
    }
    for (const waiter of waiters) (failed ? waiter.reject(error) : waiter.resolve());

    let delay = this.options.intervalMs;
    if (failed) {
      this.failures += 1;
      const first = this.options.firstRetryMs ?? 1000;
      const max = this.options.maxRetryMs ?? 60_000;
      delay = Math.min(max, first * 2 ** Math.min(this.failures - 1, 30));
      this.options.onError?.(error, delay, this.failures, waiters.length > 0);
    } else {
      this.failures = 0;
      this.options.onSuccess?.();
    }
    if (this.closed) return;
    if (this.waiting.length > 0) this.runNow();
    else if (delay > 0) this.timer = setTimeout(() => this.runNow(), delay);
  }
}
