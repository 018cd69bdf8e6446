import assert from 'node:assert/strict';
import type { IntegrasjonspunktClient } from '../src/client';
import type { MessageStatus } from '../src/schemas/status';
import type { RunningSimulator } from '../src/simulator';
import { lookupStatuses } from '../src/nodes/status/lookup';
import { newestStatusId, statusesAfter } from '../src/nodes/status/newer-statuses';
import { cursorOf, directionOf, messageIdOf, readStatusSettings } from '../src/nodes/status/settings';
import { GAP_WAIT_MS, StatusFeed, type CursorStore, type FeedItem } from '../src/nodes/status/status-feed';
import { WaitRegistry, WaitStoppedError, WaitTimeoutError, type WaitClient } from '../src/nodes/status/wait-registry';
import { receiveAndDelete, sendArkivmelding, sendOkReceipt, waitFor, type SentMessage } from './status-webhook-support';
import { startTestSimulator, stopTestSimulator } from './support/ip';

describe('status node settings', () => {
  it('reads numbers given as strings or numbers, with defaults for empty ones', () => {
    const a = readStatusSettings({ mode: 'wait', timeout: '30', interval: 2 });
    assert.equal(a.timeoutMs, 30_000);
    assert.equal(a.intervalMs, 2_000);
    const b = readStatusSettings({ mode: 'wait', timeout: 30, interval: '' });
    assert.equal(b.timeoutMs, 30_000);
    assert.equal(b.intervalMs, 10_000);
    assert.deepEqual(b.finalStatuses, ['LEVERT', 'LEST', 'FEIL', 'LEVETID_UTLOPT', 'INNKOMMENDE_LEVERT']);
    assert.equal(readStatusSettings({}).mode, 'lookup');
  });

  it('takes a comma-separated list of final statuses in any case', () => {
    assert.deepEqual(readStatusSettings({ mode: 'wait', finalStatuses: ' lest , FEIL' }).finalStatuses, ['LEST', 'FEIL']);
  });

  it('keeps interval 0 only for feed (poll on input); a wait must poll', () => {
    assert.equal(readStatusSettings({ mode: 'feed', interval: '0' }).intervalMs, 0);
    assert.equal(readStatusSettings({ mode: 'wait', interval: '0' }).intervalMs, 10_000);
  });

  it('rejects bad settings with the property named', () => {
    assert.throws(() => readStatusSettings({ mode: 'poll' }), /^Error: mode: expected lookup, wait or feed/);
    assert.throws(() => readStatusSettings({ mode: 'wait', finalStatuses: 'LEVERT,DONE' }), /finalStatuses: "DONE" is not a status/);
    assert.throws(() => readStatusSettings({ mode: 'wait', timeout: 'soon' }), /timeout: expected a number/);
    assert.throws(() => readStatusSettings({ mode: 'wait', timeout: '0' }), /timeout: expected a number of seconds above 0/);
    assert.throws(() => readStatusSettings({ mode: 'feed', interval: '-1' }), /interval: expected a number of seconds, 0 or more/);
    assert.throws(() => readStatusSettings({ mode: 'feed', directionFilter: 'UP' }), /directionFilter: "UP" is not a direction/);
    assert.throws(() => readStatusSettings({ mode: 'feed', statusFilter: 'SENT' }), /statusFilter: "SENT" is not a status/);
  });

  it('names the msg property when messageId, direction or cursor are wrong', () => {
    assert.throws(() => messageIdOf(undefined), /msg.messageId: expected the messageId of a message .*got nothing/);
    assert.throws(() => messageIdOf(42), /msg.messageId: .*got 42/);
    assert.equal(directionOf(undefined), 'OUTGOING');
    assert.equal(directionOf('incoming'), 'INCOMING');
    assert.throws(() => directionOf('sideways'), /msg.direction: expected INCOMING or OUTGOING/);
    assert.equal(cursorOf('12'), 12);
    assert.throws(() => cursorOf(-1), /msg.cursor: expected a status id/);
  });
});

describe('status logic against the simulator', function () {
  this.timeout(30_000);
  let sim: RunningSimulator;
  let client: IntegrasjonspunktClient;
  let tmp: string;

  before(async () => ({ tmp, sim, client } = await startTestSimulator('status-logic-', { statusDelayMs: 20, lockSweepMs: 100 })));
  after(() => stopTestSimulator({ tmp, sim, client }));

  describe('statusesAfter', () => {
    it('finds exactly the statuses after an id, oldest first, over several pages', async () => {
      const before = await newestStatusId(client);
      const sent: SentMessage[] = [];
      for (let i = 0; i < 3; i++) sent.push(await sendArkivmelding(client));
      await waitFor('MOTTATT for every message', async () => {
        const statuses = await statusesAfter(client, before);
        return sent.every((m) => statuses.some((s) => s.messageId === m.messageId && s.status === 'MOTTATT'));
      });
      const all = await statusesAfter(client, before, 2);
      assert.ok(all.length >= 9, `${all.length} statuses, read 2 per page`);
      const ids = all.map((s) => s.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'oldest first');
      assert.ok(ids.every((id) => id > before));
      assert.equal(new Set(ids).size, ids.length, 'no duplicates');
      // Continuing from the middle gives the rest, and nothing before it.
      const middle = ids[Math.floor(ids.length / 2)];
      assert.deepEqual(
        (await statusesAfter(client, middle, 3)).map((s) => s.id),
        ids.filter((id) => id > middle),
      );
      assert.deepEqual(await statusesAfter(client, await newestStatusId(client)), []);
    });
  });

  describe('lookupStatuses', () => {
    it('keeps the outgoing conversation when the IP holds both sides of a message', async () => {
      const sent = await sendArkivmelding(client);
      await receiveAndDelete(client, sent.messageId);
      await waitFor('LEVERT', async () => (await client.allStatusesOf(sent.messageId)).some((s) => s.status === 'LEVERT'));

      const mixed = await client.allStatusesOf(sent.messageId);
      assert.ok(new Set(mixed.map((s) => s.convId)).size === 2, 'the simulator returns both conversations, like a real IP sending to itself');

      const outgoing = await lookupStatuses(client, sent.messageId);
      assert.deepEqual(outgoing.statuses.map((s) => s.status), ['OPPRETTET', 'SENDT', 'MOTTATT', 'LEVERT']);
      assert.equal(outgoing.status, 'LEVERT');
      assert.equal(outgoing.final, true);
      assert.equal(outgoing.conversationId, sent.conversationId);

      const incoming = await lookupStatuses(client, sent.messageId, 'INCOMING');
      assert.deepEqual(incoming.statuses.map((s) => s.status), ['OPPRETTET', 'INNKOMMENDE_MOTTATT', 'INNKOMMENDE_LEVERT']);
      assert.equal(incoming.status, 'INNKOMMENDE_LEVERT');
    });

    it('gives an empty history for an unknown messageId', async () => {
      const none = await lookupStatuses(client, '00000000-0000-4000-8000-000000000000');
      assert.deepEqual(none.statuses, []);
      assert.equal(none.status, null);
      assert.equal(none.final, false);
    });
  });

  describe('WaitRegistry', () => {
    function countingClient() {
      const calls = { listStatuses: 0, allStatusesOf: 0 };
      const wrapped: WaitClient = {
        listStatuses: (filter) => {
          calls.listStatuses++;
          return client.listStatuses(filter);
        },
        allStatusesOf: (messageId) => {
          calls.allStatusesOf++;
          return client.allStatusesOf(messageId);
        },
        listConversations: (filter) => client.listConversations(filter),
      };
      return { calls, wrapped };
    }

    it('serves many waits with one request per poll and stops its timer when done', async () => {
      const { calls, wrapped } = countingClient();
      const registry = new WaitRegistry(wrapped, { intervalMs: 50 });
      const sent = await Promise.all(Array.from({ length: 12 }, () => sendArkivmelding(client)));
      const started = Date.now();
      const waits = sent.map((m) => registry.wait({ messageId: m.messageId, finalStatuses: ['LEVERT'], timeoutMs: 20_000 }));
      assert.equal(registry.pending, 12);
      assert.equal(registry.active, true);

      for (const m of sent) await receiveAndDelete(client, m.messageId);
      const results = await Promise.all(waits);
      const elapsed = Date.now() - started;

      for (const [i, result] of results.entries()) {
        assert.equal(result.messageId, sent[i].messageId);
        assert.equal(result.status, 'LEVERT');
        assert.deepEqual(result.statuses.map((s) => s.status), ['OPPRETTET', 'SENDT', 'MOTTATT', 'LEVERT']);
      }
      // One list request per poll for all twelve (plus paging), never one per wait per poll.
      const polls = elapsed / 50 + 3;
      assert.ok(calls.listStatuses <= polls * 1.5, `${calls.listStatuses} list requests in ${elapsed} ms`);
      // A message's history is asked for again only when a conversation shows up that the last lookup did not see
      // (here: the receiving side's); statuses of known conversations come from the list request.
      assert.ok(calls.allStatusesOf <= 12 * 3, `${calls.allStatusesOf} history requests for 12 messages`);
      assert.equal(registry.pending, 0);
      await waitFor('the timer to stop', () => !registry.active, 2_000);
      await registry.close();
    });

    it('resolves at LEST after an OK arkivmelding_kvittering', async () => {
      const registry = new WaitRegistry(client, { intervalMs: 50 });
      const sent = await sendArkivmelding(client);
      const waiting = registry.wait({ messageId: sent.messageId, finalStatuses: ['LEST'], timeoutMs: 20_000 });
      await receiveAndDelete(client, sent.messageId);
      await sendOkReceipt(client, sent);
      const result = await waiting;
      assert.equal(result.status, 'LEST');
      assert.deepEqual(result.statuses.map((s) => s.status), ['OPPRETTET', 'SENDT', 'MOTTATT', 'LEVERT', 'LEST']);
      await registry.close();
    });

    it('times out with the messageId, the last status seen and the time waited', async () => {
      const registry = new WaitRegistry(client, { intervalMs: 50 });
      const sent = await sendArkivmelding(client);
      await waitFor('MOTTATT', async () => (await client.allStatusesOf(sent.messageId)).some((s) => s.status === 'MOTTATT'));
      const started = Date.now();
      const error = await registry.wait({ messageId: sent.messageId, finalStatuses: ['LEVERT'], timeoutMs: 300 }).then(
        () => assert.fail('should time out'),
        (err: unknown) => err,
      );
      const waited = Date.now() - started;
      assert.ok(error instanceof WaitTimeoutError);
      assert.equal(error.lastStatus, 'MOTTATT');
      assert.match(error.message, new RegExp(`^Timed out after 0\\.\\d s waiting for message ${sent.messageId} to reach LEVERT; last status seen: MOTTATT$`));
      assert.ok(waited >= 300 && waited < 1_000, `timed out after ${waited} ms`);
      await waitFor('the timer to stop', () => !registry.active, 2_000);
      await registry.close();
    });

    it('close() rejects pending waits and leaves no timer', async () => {
      const registry = new WaitRegistry(client, { intervalMs: 50 });
      const waiting = registry.wait({ messageId: '00000000-0000-4000-8000-000000000001', finalStatuses: ['LEVERT'], timeoutMs: 60_000 });
      const outcome = waiting.then(
        () => assert.fail('should be stopped'),
        (err: unknown) => err,
      );
      await waitFor('a poll', () => registry.active);
      await registry.close();
      assert.ok((await outcome) instanceof WaitStoppedError);
      assert.equal(registry.active, false);
      assert.equal(registry.pending, 0);
    });
  });

  describe('StatusFeed', () => {
    function memoryCursor(): CursorStore & { value?: number; ahead: number[]; writes: number } {
      const store = {
        value: undefined as number | undefined,
        ahead: [] as number[],
        writes: 0,
        get: async () => store.value,
        set: async (id: number) => {
          store.value = id;
          store.writes++;
        },
        getAhead: async () => store.ahead,
        setAhead: async (ids: number[]) => {
          store.ahead = ids;
        },
      };
      return store;
    }

    it('starts after the newest status, then emits each new status once, in order, across a new instance', async () => {
      const cursor = memoryCursor();
      const items: FeedItem[] = [];
      const first = new StatusFeed(client, cursor, {}, (item) => void items.push(item));
      const start = await first.poll();
      assert.equal(start.started, true);
      assert.equal(start.emitted, 0);
      assert.equal(cursor.value, await newestStatusId(client));

      const a = await sendArkivmelding(client);
      await receiveAndDelete(client, a.messageId);
      await waitFor('LEVERT', async () => (await lookupStatuses(client, a.messageId)).status === 'LEVERT');
      await first.poll();
      // A new feed with the same cursor (a restart) continues; a poll with nothing new emits nothing.
      const second = new StatusFeed(client, cursor, {}, (item) => void items.push(item));
      assert.equal((await second.poll()).emitted, 0);
      const b = await sendArkivmelding(client);
      await waitFor('MOTTATT', async () => (await lookupStatuses(client, b.messageId)).status === 'MOTTATT');
      await second.poll();

      const expected: MessageStatus[] = (await statusesAfter(client, start.cursor)).filter((s) => [a.messageId, b.messageId].includes(s.messageId ?? ''));
      assert.deepEqual(
        items.map((i) => i.status.id),
        expected.map((s) => s.id),
      );
      const forA = items.filter((i) => i.status.messageId === a.messageId);
      assert.deepEqual(
        forA.filter((i) => i.direction === 'OUTGOING').map((i) => i.status.status),
        ['OPPRETTET', 'SENDT', 'MOTTATT', 'LEVERT'],
      );
      assert.deepEqual(
        forA.filter((i) => i.direction === 'INCOMING').map((i) => i.status.status),
        ['OPPRETTET', 'INNKOMMENDE_MOTTATT', 'INNKOMMENDE_LEVERT'],
      );
      assert.ok(items.every((i) => i.serviceIdentifier === 'DPO'));
    });

    it('filters by status and direction, and still moves the cursor past what it leaves out', async () => {
      const cursor = memoryCursor();
      const items: FeedItem[] = [];
      const feed = new StatusFeed(client, cursor, { statuses: ['MOTTATT', 'INNKOMMENDE_MOTTATT'], directions: ['INCOMING'], serviceIdentifiers: ['DPO'] }, (item) =>
        void items.push(item),
      );
      await feed.poll();
      const sent = await sendArkivmelding(client);
      await waitFor('MOTTATT', async () => (await lookupStatuses(client, sent.messageId)).status === 'MOTTATT');
      const result = await feed.poll();
      assert.deepEqual(
        items.map((i) => [i.status.messageId, i.status.status, i.direction]),
        [[sent.messageId, 'INNKOMMENDE_MOTTATT', 'INCOMING']],
      );
      assert.equal(result.cursor, await newestStatusId(client));
      assert.equal(cursor.value, result.cursor);
    });

    it('moves past a missing status id (deleted, rolled back) once it has waited GAP_WAIT_MS, and not before', async () => {
      const cursor = memoryCursor();
      let now = 1_000_000;
      const items: FeedItem[] = [];
      const feed = new StatusFeed(client, cursor, {}, (item) => void items.push(item), () => now);
      await feed.poll();
      const start = cursor.value as number;
      const gone = await sendArkivmelding(client);
      const kept = await sendArkivmelding(client);
      await waitFor('MOTTATT', async () => (await lookupStatuses(client, kept.messageId)).status === 'MOTTATT');
      await waitFor('MOTTATT', async () => (await lookupStatuses(client, gone.messageId)).status === 'MOTTATT');
      // Deleting a conversation deletes its statuses: their ids never show, as with a rolled-back transaction.
      const goneIds = new Set((await client.allStatusesOf(gone.messageId)).map((s) => s.id));
      await client.deleteConversationByMessageId(gone.messageId);
      const keptIds = (await client.allStatusesOf(kept.messageId)).filter((s) => s.id > start).map((s) => s.id);
      assert.ok(Math.min(...goneIds) < Math.min(...keptIds), 'the deleted statuses come first');

      const held = await feed.poll();
      assert.deepEqual(items.map((i) => i.status.id).filter((id) => keptIds.includes(id)), keptIds, 'the later statuses are handed out at once');
      assert.ok(held.cursor < Math.min(...goneIds), `the cursor waits below the missing ids (at ${held.cursor})`);
      assert.ok(cursor.ahead.length >= keptIds.length, 'the handed-out ids above it are saved');

      now += GAP_WAIT_MS - 1_000;
      assert.ok((await feed.poll()).cursor < Math.min(...goneIds), 'still waiting');
      now += 2_000;
      const moved = await feed.poll();
      assert.ok(moved.cursor >= Math.max(...keptIds), `past the gap after ${GAP_WAIT_MS} ms (at ${moved.cursor})`);
      assert.deepEqual(cursor.ahead, []);
      assert.equal(new Set(items.map((i) => i.status.id)).size, items.length, 'nothing handed out twice');
    });

    it('hands out statuses that show up out of id order (concurrent commits on the IP) each exactly once', async function () {
      this.timeout(60_000);
      const jittery = await startTestSimulator('status-jitter-', { statusDelayMs: 20, lockSweepMs: 100, statusCommitJitterMs: 400 });
      const jitteryClient = jittery.client;
      try {
        const cursor = memoryCursor();
        const order: number[] = [];
        const feed = new StatusFeed(jitteryClient, cursor, {}, (item) => void order.push(item.status.id));
        await feed.poll();
        const sent = await Promise.all(Array.from({ length: 8 }, () => sendArkivmelding(jitteryClient)));
        await Promise.all(sent.map((m) => receiveAndDelete(jitteryClient, m.messageId)));
        // Every status of these messages, as the IP records them (its per-message view is not delayed).
        const all = await waitFor('LEVERT for every message', async () => {
          const lists = await Promise.all(sent.map((m) => jitteryClient.allStatusesOf(m.messageId)));
          return lists.every((l) => l.some((s) => s.status === 'LEVERT')) && lists.flat().map((s) => s.id);
        });
        await waitFor('every status handed out', async () => {
          await feed.poll();
          return all.every((id) => order.includes(id));
        });
        assert.equal(new Set(order).size, order.length, 'no status twice');
        assert.ok(
          order.some((id, i) => i > 0 && id < order[i - 1]),
          'some statuses showed up after ones with a higher id, and were still handed out',
        );
      } finally {
        await stopTestSimulator(jittery);
      }
    });
  });
});
