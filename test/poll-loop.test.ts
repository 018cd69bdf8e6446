import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PollLoop } from '../src/nodes/shared/poll-loop';

/** A poll whose runs can be finished from the test, recording how many ran at once. */
function controlledPoll() {
  const state = { started: 0, running: 0, maxRunning: 0, finish: [] as Array<(err?: Error) => void> };
  const poll = (signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      state.started++;
      state.running++;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      const end = (err?: Error) => {
        state.running--;
        if (err) reject(err);
        else resolve();
      };
      state.finish.push(end);
      signal.addEventListener('abort', () => end(new Error('aborted')), { once: true });
    });
  return { state, poll };
}

describe('inbox poll loop', () => {
  it('never overlaps: triggers during a poll queue exactly one more poll', async () => {
    const { state, poll } = controlledPoll();
    const loop = new PollLoop({ intervalMs: 0, poll });
    const first = loop.trigger();
    const second = loop.trigger();
    const third = loop.trigger();
    await sleep(10);
    assert.equal(state.started, 1);
    state.finish[0]();
    await first;
    await sleep(10);
    assert.equal(state.started, 2, 'one queued poll for two triggers');
    state.finish[1]();
    await Promise.all([second, third]);
    await sleep(10);
    assert.equal(state.started, 2);
    assert.equal(state.maxRunning, 1);
    await loop.close();
  });

  it('polls on the interval, re-armed only after each poll finished', async () => {
    let polls = 0;
    const loop = new PollLoop({
      intervalMs: 20,
      poll: async () => {
        polls++;
        await sleep(30);
      },
    });
    loop.start();
    await sleep(175);
    await loop.close();
    // each cycle takes 30 ms of polling + 20 ms of waiting
    assert.ok(polls >= 3 && polls <= 4, `polls: ${polls}`);
  });

  it('backs off exponentially up to a cap, then recovers by itself', async () => {
    const delays: number[] = [];
    let calls = 0;
    let recovered = false;
    const loop = new PollLoop({
      intervalMs: 0,
      firstRetryMs: 5,
      maxRetryMs: 20,
      poll: async () => {
        calls++;
        if (calls <= 4) throw new Error('IP down');
      },
      onError: (_err, retryInMs) => delays.push(retryInMs),
      onSuccess: () => {
        recovered = true;
      },
    });
    await assert.rejects(loop.trigger(), /IP down/);
    await sleep(150);
    assert.deepEqual(delays, [5, 10, 20, 20]);
    assert.ok(recovered);
    assert.equal(calls, 5, 'no more polls after recovery with interval 0');
    await loop.close();
  });

  it('tells onError whether a trigger() caller got the error', async () => {
    const seen: boolean[] = [];
    let calls = 0;
    const loop = new PollLoop({
      intervalMs: 0,
      firstRetryMs: 5,
      poll: async () => {
        calls++;
        if (calls <= 2) throw new Error('boom');
      },
      onError: (_e, _d, _n, triggered) => seen.push(triggered),
    });
    await assert.rejects(loop.trigger());
    await sleep(50);
    assert.deepEqual(seen, [true, false]);
    await loop.close();
  });

  it('close aborts the running poll and resolves only after it stopped; no poll afterwards', async () => {
    const { state, poll } = controlledPoll();
    const loop = new PollLoop({ intervalMs: 5, poll });
    loop.start();
    await sleep(5);
    assert.equal(state.running, 1);
    const waiting = loop.trigger();
    await loop.close();
    assert.equal(state.running, 0);
    await waiting; // a trigger pending at close resolves
    await sleep(30);
    assert.equal(state.started, 1);
    await loop.trigger(); // after close: nothing happens
    assert.equal(state.started, 1);
  });
});
