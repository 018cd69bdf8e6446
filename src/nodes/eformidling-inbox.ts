// The eformidling-inbox node: polls the Integrasjonspunkt's inbox (peek → pop → send on → delete).
// The work is done by PollLoop (when to poll) and InboxReceiver (what one poll does); this file wires them to Node-RED.
import { ContextHandedOn } from './inbox/handed-on';
import { DownloadFailedError, InboxReceiver, type RefusedMessageError } from './inbox/receiver';
import { PollLoop } from './shared/poll-loop';
import { readInboxSettings, type InboxConfig, type InboxSettings } from './inbox/settings';
import type { IncomingFields } from './inbox/message';
import { asIpError, ipErrorInfo, shortReason, toError } from './shared/errors';
import { missingServerError, useServer } from './shared/server';
import { shortId } from './shared/status';
import { toText } from './shared/typed';
import type { ContextNode } from './shared/context';
import type { DoneFunction, Node, NodeAPI, NodeDef, NodeMessage } from './shared/types';

interface InboxDef extends NodeDef, InboxConfig {
  server?: string;
}

/** A msg asking to delete (acknowledge) a message this node sent on in ack mode manual. */
function isAck(msg: NodeMessage): boolean {
  return msg.ack === true || msg.action === 'delete';
}

export = function register(RED: NodeAPI): void {
  /** A status text from the catalog; the English text when no catalog is loaded (e.g. in tests). */
  function statusText(key: string, vars: Record<string, unknown>, english: string): string {
    const id = `eformidling-inbox.status.${key}`;
    const text = RED._(id, vars);
    return text && text !== id ? text : english;
  }

  function EformidlingInboxNode(this: Node, def: InboxDef) {
    RED.nodes.createNode(this, def);
    const node = this;

    /** Reports a failure for `msg` so a Catch node gets it, with the IP's answer on msg.ipError. */
    function fail(msg: NodeMessage, err: unknown, done: DoneFunction): void {
      const info = ipErrorInfo(err);
      if (info) msg.ipError = info;
      done(toError(err));
    }

    let settings: InboxSettings;
    try {
      settings = readInboxSettings(def);
    } catch (err) {
      const error = toError(err);
      node.error(error);
      node.status({ fill: 'red', shape: 'ring', text: shortReason(error) });
      node.on('input', (msg, _send, done) => fail(msg, error, done));
      return;
    }
    const server = useServer(RED, node, def.server);
    if (!server) {
      node.on('input', (msg, _send, done) => fail(msg, missingServerError(), done));
      return;
    }

    let failure: string | undefined;
    function showStatus(): void {
      if (receiver.current) {
        const id = shortId(receiver.current);
        node.status({ fill: 'blue', shape: 'dot', text: statusText('receiving', { id }, `receiving ${id}`) });
        return;
      }
      if (failure) {
        node.status({ fill: 'red', shape: 'ring', text: failure });
        return;
      }
      const counts = { received: receiver.received, acked: receiver.acked, waiting: receiver.waiting };
      const text =
        settings.ack === 'manual'
          ? statusText('countsManual', counts, `${counts.received} received, ${counts.acked} acked, ${counts.waiting} waiting`)
          : statusText('counts', counts, `${counts.received} received, ${counts.acked} acked`);
      node.status({ fill: 'green', shape: 'dot', text });
    }

    // Messages handed on and not deleted yet, kept in node context: one offered again is marked msg.redelivered.
    const context = (node as ContextNode).context();
    const handedOn = new ContextHandedOn(context, (err) => node.warn(`The node context could not be read or written, so msg.redelivered may miss a redelivery: ${err.message}`));

    const receiver = new InboxReceiver({
      client: server.client,
      settings,
      handedOn,
      emit: (msg) => node.send(msg),
      refuse: (err: RefusedMessageError, fields: IncomingFields) => node.error(err, { ...fields, payload: undefined }),
      warn: (text) => node.warn(text),
      onChange: showStatus,
    });

    const loop = new PollLoop({
      intervalMs: settings.intervalMs,
      poll: async (signal) => {
        await handedOn.ready;
        try {
          await receiver.drain(signal);
          server.reportResult();
        } catch (err) {
          if (!signal.aborted) server.reportResult(err);
          throw err;
        }
      },
      onSuccess: () => {
        failure = undefined;
        showStatus();
      },
      onError: (err, retryInMs, failuresInARow, triggered) => {
        const short = shortReason(err);
        const seconds = Math.round(retryInMs / 1000);
        let what = short;
        if (err instanceof DownloadFailedError) what = statusText('reason.downloadFailed', {}, 'download failed');
        else if (short === 'unreachable') what = statusText('reason.unreachable', {}, 'IP unreachable');
        else if (short === 'timeout') what = statusText('reason.timeout', {}, 'IP timeout');
        failure = statusText('retry', { reason: what, seconds }, `${what}, retry in ${seconds}s`);
        showStatus();
        // Once per run of failures (a msg that triggered the poll gets the error through its done()).
        if (failuresInARow === 1 && !triggered) {
          const msg: NodeMessage = { payload: undefined };
          const info = ipErrorInfo(err);
          if (info) msg.ipError = info;
          node.error(toError(err), msg);
        }
      },
    });

    let autoAckWarned = false;
    node.on('input', (msg, _send, done) => {
      if (!isAck(msg)) {
        // Any other msg asks for a poll; during a poll it queues one more, never a parallel one.
        loop.trigger().then(() => done(), (err: unknown) => fail(msg, err, done));
        return;
      }
      const messageId = toText(msg.messageId);
      if (!messageId) {
        fail(msg, new Error('msg.messageId: expected the messageId of the message to acknowledge (with msg.ack = true or msg.action = "delete")'), done);
        return;
      }
      if (settings.ack === 'auto') {
        if (!autoAckWarned) node.warn(`ack mode is "auto": messages are deleted as soon as they are sent on, so the ack for ${messageId} is not needed`);
        autoAckWarned = true;
        done();
        return;
      }
      receiver.ack(messageId).then(
        () => {
          server.reportResult();
          showStatus();
          done();
        },
        (err: unknown) => {
          if (asIpError(err)) server.reportResult(err);
          fail(msg, err, done);
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      loop.close().then(() => done(), () => done());
    });

    loop.start();
  }

  RED.nodes.registerType('eformidling-inbox', EformidlingInboxNode);
};
