// The eformidling-status node: the statuses of a message (lookup), waiting for a final one (wait), or a feed of
// every new status on the IP (feed).
import { PollLoop } from './shared/poll-loop';
import { failMsg, shortReason } from './shared/errors';
import { findServer, missingServerError, reported, useServer } from './shared/server';
import { clock, shortId } from './shared/status';
import { contextGet, contextSet, type ContextNode } from './shared/context';
import type { EformidlingServer, Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from './shared/types';
import { lookupStatuses, type StatusLookup } from './status/lookup';
import { cursorOf, directionOf, messageIdOf, readStatusSettings, type StatusSettings } from './status/settings';
import { StatusFeed, type CursorStore, type FeedItem } from './status/status-feed';
import { isFinalStatus } from './status/status-list';
import { WaitEndedError, WaitRegistry, WaitStoppedError, WaitTimeoutError } from './status/wait-registry';

interface StatusDef extends NodeDef {
  server?: string;
  mode?: string;
  finalStatuses?: string;
  timeout?: string | number;
  interval?: string | number;
  statusFilter?: string;
  directionFilter?: string;
  serviceFilter?: string;
}


/** Context key of the feed's cursor: the id of the last status handled. */
const CURSOR_KEY = 'cursor';
/** Context key of the ids above the cursor handled already, while an older status is still missing. */
const AHEAD_KEY = 'cursorAhead';

/**
 * node.status, skipping repeats: wait and feed report after every poll, which can be several times a second.
 * `forget()` after something else (failMsg) has set the status, so the next report shows again.
 */
function statusReporter(node: Node) {
  let last = '';
  return {
    show(status: NodeStatus): void {
      const key = JSON.stringify(status);
      if (key === last) return;
      last = key;
      node.status(status);
    },
    forget(): void {
      last = '';
    },
  };
}


/** Puts a lookup on msg: payload = statuses oldest first, status = the latest, final. */
function applyLookup(msg: NodeMessage, lookup: StatusLookup): void {
  msg.payload = lookup.statuses;
  msg.status = lookup.status;
  msg.final = lookup.final;
  msg.messageId = lookup.messageId;
  if (lookup.conversationId) msg.conversationId = lookup.conversationId;
}

function feedMsg(item: FeedItem): NodeMessage {
  const { status } = item;
  const msg: NodeMessage = {
    payload: status,
    topic: status.status,
    status: status.status,
    final: isFinalStatus(status.status),
    messageId: status.messageId,
    conversationId: status.conversationId,
  };
  if (item.direction) msg.direction = item.direction;
  if (item.serviceIdentifier) msg.serviceIdentifier = item.serviceIdentifier;
  return msg;
}

export = function register(RED: NodeAPI): void {
  function EformidlingStatusNode(this: ContextNode, def: StatusDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    let settings: StatusSettings;
    try {
      settings = readStatusSettings(def);
    } catch (err) {
      node.error(err);
      node.status({ fill: 'red', shape: 'ring', text: shortReason(err) });
      node.on('input', (msg, _send, done) => failMsg(node, msg, err, done));
      return;
    }
    if (settings.mode === 'lookup') return setUpLookup(node, def.server);
    // wait and feed show their own state (pending waits, cursor) instead of the connection state; they still
    // report each request's outcome to the config node so the nodes registered there stay current.
    const server = findServer(RED, def.server);
    if (!server) {
      node.status({ fill: 'red', shape: 'ring', text: 'no configuration' });
      node.on('input', (msg, _send, done) => failMsg(node, msg, missingServerError(), done));
      return;
    }
    if (settings.mode === 'wait') setUpWait(node, server, settings);
    else setUpFeed(node, server, settings);
  }

  function setUpLookup(node: ContextNode, serverId: unknown): void {
    const server = useServer(RED, node, serverId);
    node.on('input', (msg, send, done) => {
      if (!server) return failMsg(node, msg, missingServerError(), done);
      let messageId: string;
      let direction;
      try {
        messageId = messageIdOf(msg.messageId);
        direction = directionOf(msg.direction);
      } catch (err) {
        return failMsg(node, msg, err, done);
      }
      reported(server, lookupStatuses(server.client, messageId, direction)).then(
        (lookup) => {
          applyLookup(msg, lookup);
          node.status({ fill: lookup.final ? 'green' : 'blue', shape: 'dot', text: `${shortId(messageId)}: ${lookup.status ?? 'no status'}` });
          send(msg);
          done();
        },
        (err: unknown) => failMsg(node, msg, err, done),
      );
    });
  }

  function setUpWait(node: ContextNode, server: EformidlingServer, settings: StatusSettings): void {
    const reporter = statusReporter(node);
    const showPending = (pending: number) =>
      reporter.show(pending > 0 ? { fill: 'blue', shape: 'dot', text: `waiting for ${pending}` } : { fill: 'grey', shape: 'dot', text: 'idle' });
    const fail = (msg: NodeMessage, err: unknown, done: (err?: Error) => void) => {
      failMsg(node, msg, err, done);
      reporter.forget();
    };
    const registry = new WaitRegistry(server.client, {
      intervalMs: settings.intervalMs,
      onPoll: (err, pending) => {
        server.reportResult(err);
        if (err) reporter.show({ fill: 'red', shape: 'ring', text: `${shortReason(err)}, waiting for ${pending}` });
        else showPending(pending);
      },
    });
    (node as Node & { waitRegistry?: WaitRegistry }).waitRegistry = registry;
    showPending(0);

    node.on('input', (msg, send, done) => {
      let messageId: string;
      let direction;
      try {
        messageId = messageIdOf(msg.messageId);
        direction = directionOf(msg.direction);
      } catch (err) {
        return fail(msg, err, done);
      }
      const waiting = registry.wait({ messageId, direction, finalStatuses: settings.finalStatuses, timeoutMs: settings.timeoutMs });
      showPending(registry.pending);
      waiting.then(
        (lookup) => {
          applyLookup(msg, lookup);
          send(msg);
          done();
          showPending(registry.pending);
        },
        (err: unknown) => {
          if (err instanceof WaitStoppedError) return done();
          // What was seen goes on msg too, so a Catch node can tell "still MOTTATT" from "never seen".
          if (err instanceof WaitEndedError) applyLookup(msg, err.lookup);
          else if (err instanceof WaitTimeoutError && err.lookup) applyLookup(msg, err.lookup);
          fail(msg, err, done);
          if (registry.pending > 0) showPending(registry.pending);
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      const pending = registry.pending;
      if (pending > 0) node.warn(`Stopped waiting for ${pending} message(s): the node was stopped or redeployed`);
      registry.close().then(
        () => {
          node.status({});
          done();
        },
        () => done(),
      );
    });
  }

  function setUpFeed(node: ContextNode, server: EformidlingServer, settings: StatusSettings): void {
    const context = node.context();
    const cursor: CursorStore = {
      get: async () => {
        const value = await contextGet(context, CURSOR_KEY);
        return typeof value === 'number' ? value : undefined;
      },
      set: (id) => contextSet(context, CURSOR_KEY, id),
      getAhead: async () => {
        const value = await contextGet(context, AHEAD_KEY);
        return Array.isArray(value) ? value.filter((id): id is number => typeof id === 'number') : [];
      },
      setAhead: (ids) => contextSet(context, AHEAD_KEY, ids.length ? ids : undefined),
    };
    // Node-RED delivers a sent msg in a later setImmediate; waiting for that turn means the msg has reached the next
    // node (or the flows were stopped first, which the feed notices through the poll's abort signal).
    const feed = new StatusFeed(server.client, cursor, settings.filter, (item) => {
      node.send(feedMsg(item));
      return new Promise<void>((resolve) => setImmediate(resolve));
    });
    const reporter = statusReporter(node);
    let failing = false;
    /** A msg.cursor to continue from, applied at the start of the next poll (never during one). */
    let requestedCursor: number | undefined;
    const loop = new PollLoop({
      intervalMs: settings.intervalMs,
      poll: async (signal) => {
        if (requestedCursor !== undefined) {
          await cursor.setAhead([]);
          await cursor.set(requestedCursor);
          requestedCursor = undefined;
        }
        const result = await feed.poll(signal);
        if (result.started) reporter.show({ fill: 'green', shape: 'dot', text: `watching after #${result.cursor}` });
        else if (result.emitted > 0) reporter.show({ fill: 'green', shape: 'dot', text: `${result.emitted} new at ${clock()}, #${result.cursor}` });
        else if (failing) reporter.show({ fill: 'green', shape: 'dot', text: `watching after #${result.cursor}` });
        failing = false;
      },
      onSuccess: () => server.reportResult(),
      onError: (err, retryInMs) => {
        failing = true;
        server.reportResult(err);
        reporter.show({ fill: 'red', shape: 'ring', text: `${shortReason(err)}, retry in ${Math.ceil(retryInMs / 1000)} s` });
      },
      firstRetryMs: Math.max(1000, Math.min(settings.intervalMs || 1000, 10_000)),
      maxRetryMs: Math.max(60_000, settings.intervalMs),
    });
    reporter.show({ fill: 'grey', shape: 'dot', text: settings.intervalMs > 0 ? 'starting' : 'polls on input' });
    loop.start();

    node.on('input', (msg, _send, done) => {
      const fail = (err: unknown) => {
        failMsg(node, msg, err, done);
        reporter.forget();
      };
      if (msg.cursor !== undefined && msg.cursor !== null && msg.cursor !== '') {
        try {
          requestedCursor = cursorOf(msg.cursor);
        } catch (err) {
          return fail(err);
        }
      }
      loop.trigger().then(() => done(), fail);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      loop.close().then(
        () => {
          node.status({});
          done();
        },
        () => done(),
      );
    });
  }

  RED.nodes.registerType('eformidling-status', EformidlingStatusNode);
};
