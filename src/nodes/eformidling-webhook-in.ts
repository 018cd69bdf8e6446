// The eformidling-webhook-in node: an endpoint on Node-RED's HTTP server for the IP's webhook events, and the
// subscription on the IP that points at it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebhookEvent } from '../schemas/webhook';
import { isNotFound, shortReason } from './shared/errors';
import { findServer } from './shared/server';
import { clock } from './shared/status';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from './shared/types';
import { readWebhookEvent } from './webhook/event-body';
import { pushEndpointUrl } from './webhook/push-endpoint';
import { addPostRoute, type HttpApp, type RouteHandler } from './webhook/route';
import { readWebhookSettings, type WebhookSettings } from './webhook/settings';
import { deleteSubscriptionNamed, syncSubscription } from './webhook/subscription-sync';
import { generateToken, tokenMatches } from './webhook/token';

interface WebhookDef extends NodeDef {
  server?: string;
  path?: string;
  publicUrl?: string;
  subscriptionName?: string;
  resource?: string;
  event?: string;
  filter?: string;
  manage?: boolean | string;
  deleteOnRemove?: boolean | string;
}

/** The parts of RED beyond shared/types that this node needs. */
type WebhookRED = NodeAPI & {
  httpNode: HttpApp;
  nodes: NodeAPI['nodes'] & { addCredentials?(id: string, credentials: Record<string, string>): unknown };
};

const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 5 * 60_000;

function answer(res: ServerResponse, status: number, error?: string): void {
  if (res.headersSent) return;
  res.statusCode = status;
  if (status === 413) res.setHeader('Connection', 'close');
  if (error) {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify({ error }));
  } else res.end();
}

function queryToken(req: IncomingMessage): unknown {
  const query = (req as IncomingMessage & { query?: Record<string, unknown> }).query;
  if (query) return query.token;
  return new URL(req.url ?? '/', 'http://localhost').searchParams.getAll('token').at(-1);
}

function eventMsg(event: WebhookEvent): NodeMessage {
  const msg: NodeMessage = { payload: event, topic: event.event };
  if (event.event === 'status') {
    msg.messageId = event.messageId;
    msg.status = event.status;
    if (event.conversationId) msg.conversationId = event.conversationId;
    msg.direction = event.direction;
    if (event.serviceIdentifier) msg.serviceIdentifier = event.serviceIdentifier;
  }
  return msg;
}

/** Node-RED's httpNodeMiddleware setting (a function or an array of them), applied like core http-in does. */
function nodeMiddleware(RED: NodeAPI): RouteHandler[] {
  const setting = RED.settings.httpNodeMiddleware;
  if (typeof setting === 'function') return [setting as RouteHandler];
  if (Array.isArray(setting)) return setting.filter((m): m is RouteHandler => typeof m === 'function');
  return [];
}

export = function register(RED: WebhookRED): void {
  function EformidlingWebhookInNode(this: Node, def: WebhookDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    let settings: WebhookSettings;
    try {
      if (RED.settings.httpNodeRoot === false) throw new Error("Node-RED's HTTP node server is off (httpNodeRoot is false in settings.js)");
      settings = readWebhookSettings(def);
    } catch (err) {
      node.error(err);
      node.status({ fill: 'red', shape: 'ring', text: shortReason(err) });
      return;
    }

    let token = node.credentials?.token ?? '';
    if (!token) {
      // An imported flow has no credentials. A generated token keeps the endpoint closed to guesses; it is kept
      // in the runtime's credentials so the next deploy stores it.
      token = generateToken();
      try {
        RED.nodes.addCredentials?.(node.id, { token });
      } catch {
        // Not kept: a restart makes a new token, and the managed subscription is updated to it.
      }
      node.warn('No token was set: generated one. Open the node and deploy to keep the same token across restarts.');
    }

    let closed = false;
    let lastEventAt: Date | undefined;
    let subscription: NodeStatus | undefined;
    const show = () => {
      const last = lastEventAt ? ` · event ${clock(lastEventAt)}` : '';
      if (!settings.manage) node.status({ fill: 'green', shape: 'dot', text: `listening${last}` });
      else if (subscription) node.status({ ...subscription, text: `${subscription.text}${last}` });
    };

    const handler: RouteHandler = (req, res) => {
      if (!tokenMatches(queryToken(req), token)) {
        node.debug(`Refused a webhook request without the right token from ${req.socket.remoteAddress ?? 'unknown'}`);
        return answer(res, 401, 'Missing or wrong token');
      }
      readWebhookEvent(req).then(
        (result) => {
          if (!result.ok) {
            answer(res, result.status, result.reason);
            node.warn(`Refused a webhook request: ${result.reason}`);
            return;
          }
          // Answer first: the IP waits for the answer (10 s read timeout) and never retries.
          answer(res, 200);
          if (closed) return;
          lastEventAt = new Date();
          show();
          node.send(eventMsg(result.event));
        },
        (err: unknown) => {
          answer(res, 400, `Could not read the request: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
    };
    const removeRoute = addPostRoute(RED.httpNode, settings.path, nodeMiddleware(RED), handler);

    const server = settings.manage ? findServer(RED, def.server) : undefined;
    let subscriptionId: number | undefined;
    let syncing: Promise<void> | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    let retryMs = FIRST_RETRY_MS;

    if (!settings.manage) show();
    else if (!server) {
      subscription = { fill: 'red', shape: 'ring', text: 'no configuration' };
      show();
    } else {
      let pushEndpoint: string;
      try {
        pushEndpoint = pushEndpointUrl(settings.publicUrl, RED.settings.httpNodeRoot, settings.path, token);
      } catch (err) {
        node.error(err);
        subscription = { fill: 'red', shape: 'ring', text: shortReason(err) };
        show();
        return onClose();
      }
      const desired = {
        name: settings.subscriptionName,
        pushEndpoint,
        resource: settings.resource,
        event: settings.event,
        ...(settings.filter ? { filter: settings.filter } : {}),
      };
      const sync = () => {
        retryTimer = undefined;
        subscription = { fill: 'yellow', shape: 'ring', text: 'subscribing' };
        show();
        syncing = syncSubscription(server.client, desired)
          .then(
            (result) => {
              server.reportResult();
              subscriptionId = result.subscription.id;
              retryMs = FIRST_RETRY_MS;
              subscription = { fill: 'green', shape: 'dot', text: `subscribed #${subscriptionId}` };
              if (result.action !== 'unchanged') node.log(`Subscription "${desired.name}" ${result.action} (#${subscriptionId})`);
              if (result.removedDuplicates.length > 0) {
                node.warn(`Deleted duplicate subscriptions named "${desired.name}": #${result.removedDuplicates.join(', #')}`);
              }
            },
            (err: unknown) => {
              server.reportResult(err);
              subscription = { fill: 'red', shape: 'ring', text: `subscription failed: ${shortReason(err)}` };
              node.error(`Could not set up the subscription "${desired.name}" on the Integrasjonspunkt: ${(err as Error).message}`);
              if (!closed) retryTimer = setTimeout(sync, retryMs);
              retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
            },
          )
          .finally(() => {
            syncing = undefined;
            if (!closed) show();
          });
      };
      sync();
    }
    onClose();

    function onClose(): void {
      node.on('close', (removed: boolean, done: () => void) => {
        closed = true;
        clearTimeout(retryTimer);
        removeRoute();
        const finish = () => {
          node.status({});
          done();
        };
        if (!(removed && server && settings.deleteOnRemove)) {
          // Let a create in flight finish, so the next instance of this node finds it instead of making another.
          (syncing ?? Promise.resolve()).then(finish, finish);
          return;
        }
        // Start the delete before awaiting anything: a full deploy closes the config node's client right after us.
        const remove = () => deleteSubscriptionNamed(server.client, settings.subscriptionName, subscriptionId);
        const deleting = syncing ? syncing.then(remove) : remove();
        deleting.then(
          () => finish(),
          (err: unknown) => {
            if (!isNotFound(err)) {
              node.warn(`Could not delete the subscription "${settings.subscriptionName}": ${(err as Error).message}`);
            }
            finish();
          },
        );
      });
    }
  }

  RED.nodes.registerType('eformidling-webhook-in', EformidlingWebhookInNode, {
    credentials: { token: { type: 'password' } },
  });
};
