import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { SERVICE_IDENTIFIERS } from '../schemas/common';
import { DIRECTIONS } from '../schemas/status';
import { ASIC_MIME_TYPE } from './asic';
import type { SimulatorCore } from './core';
import { SimulatorError, messageNotFound, sendJson } from './errors';
import { expectBodySize } from './faults';
import {
  QueryBinder,
  SPRING,
  mediaType,
  parseContentDisposition,
  parseLongParam,
  readJsonBody,
  requireHeader,
  requireJson,
  sendEmpty,
  serviceIdentifierFilter,
} from './http';
import type { InboxFilter } from './inbox';
import { renderConversation } from './statuses';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** URL path without query */
  path: string;
  query: URLSearchParams;
  /** Decoded path variables, in order. */
  params: string[];
  core: SimulatorCore;
}

export interface Route {
  method: string;
  /** Path with `{name}` variables; a literal segment wins over a variable one, as in Spring. */
  pattern: string;
  /** Spring's `consumes`: when it does not hold, the next matching route is tried (then 415). */
  consumes?: (req: IncomingMessage) => boolean;
  handler: (ctx: RequestContext) => Promise<void> | void;
}

const isMultipart = (req: IncomingMessage) => mediaType(req) === 'multipart/form-data';

function inboxFilter(query: URLSearchParams): InboxFilter {
  return {
    serviceIdentifier: serviceIdentifierFilter(query.get('serviceIdentifier'), SERVICE_IDENTIFIERS),
    process: query.get('process') ?? undefined,
    conversationId: query.get('conversationId') ?? undefined,
    messageId: query.get('messageId') ?? undefined,
    senderIdentifier: query.get('senderIdentifier') ?? undefined,
    receiverIdentifier: query.get('receiverIdentifier') ?? undefined,
  };
}

/** The PUT upload: headers first (as Spring binds them), then the message, then the file's checks. */
async function uploadFile({ req, res, params, query, core }: RequestContext): Promise<void> {
  const contentType = requireHeader(req, 'Content-Type');
  const dispositionHeader = requireHeader(req, 'Content-Disposition');
  core.outbox.get(params[0]);
  const disposition = parseContentDisposition(dispositionHeader);
  if (disposition.filename === undefined) {
    throw new SimulatorError(
      400,
      'MissingHttpHeaderException',
      'Expected a HTTP header named Content-Disposition with a filename parameter, e.g. attachment; filename="vedtak.pdf"',
    );
  }
  const length = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : -1;
  await core.outbox.upload(params[0], req, {
    filename: disposition.filename,
    contentType: contentType.trim(),
    title: query.get('title') ?? disposition.name,
    size: Number.isFinite(length) ? length : -1,
  });
  sendEmpty(res);
}

/** Reads of 1 MiB: a gigabyte download in 64 KiB pieces kept the simulator's CPU busy with system calls. */
const STREAM_CHUNK_BYTES = 1024 * 1024;

/** GET /api/messages/in/pop/{messageId}: streams the stored ASiC from disk; 204 for receipts. */
async function pop({ res, params, core }: RequestContext): Promise<void> {
  const path = core.inbox.pop(params[0]);
  const size = path === null ? undefined : await stat(path).then((s) => s.size, () => undefined);
  if (path === null || size === undefined) {
    sendEmpty(res, 204);
    return;
  }
  expectBodySize(res, size);
  res.writeHead(200, { 'Content-Type': ASIC_MIME_TYPE, 'Content-Disposition': 'attachment; filename=asic.zip' });
  try {
    await pipeline(createReadStream(path, { highWaterMark: STREAM_CHUNK_BYTES }), res);
  } catch (err) {
    if (!res.destroyed) throw err;
  }
}

/** Every endpoint of the IP's API (§1). */
export const ROUTES: Route[] = [
  {
    method: 'GET',
    pattern: '/api/capabilities/{receiverIdentifier}',
    handler: ({ res, params, query, core }) => {
      const binder = new QueryBinder(query, 'capabilities');
      const securityLevel = binder.long('securityLevel');
      if (binder.errors.length) {
        throw new SimulatorError(
          400,
          SPRING.typeMismatch,
          `Method parameter 'securityLevel': Failed to convert value of type 'java.lang.String' to required type 'java.lang.Integer'; For input string: "${query.get('securityLevel')}"`,
        );
      }
      sendJson(res, 200, core.registry.capabilities(params[0], { process: query.get('process') ?? undefined, securityLevel }));
    },
  },

  // ------------------------------------------------------------------ outgoing (§6)
  {
    method: 'POST',
    pattern: '/api/messages/out/multipart',
    consumes: isMultipart,
    handler: async ({ req, res, core }) => sendJson(res, 200, (await core.createAndSend(req)).sbd),
  },
  {
    method: 'POST',
    pattern: '/api/messages/out',
    consumes: (req) => mediaType(req) === 'application/json',
    handler: async ({ req, res, core }) => sendJson(res, 200, core.outbox.create(await readJsonBody(req), 'json').sbd),
  },
  {
    method: 'GET',
    pattern: '/api/messages/out',
    handler: ({ res, query, core }) => {
      const filter = {
        messageId: query.get('messageId') ?? undefined,
        conversationId: query.get('conversationId') ?? undefined,
        processIdentifier: query.get('processIdentifier') ?? undefined,
        receiverIdentifier: query.get('receiverIdentifier') ?? undefined,
        senderIdentifier: query.get('senderIdentifier') ?? undefined,
        serviceIdentifier: serviceIdentifierFilter(query.get('serviceIdentifier'), SERVICE_IDENTIFIERS),
      };
      sendJson(res, 200, core.outbox.list(filter, query));
    },
  },
  { method: 'GET', pattern: '/api/messages/out/{messageId}', handler: ({ res, params, core }) => sendJson(res, 200, core.outbox.get(params[0]).sbd) },
  {
    method: 'DELETE',
    pattern: '/api/messages/out/{messageId}',
    handler: ({ res, params, core }) => {
      core.outbox.delete(params[0]);
      sendEmpty(res);
    },
  },
  { method: 'PUT', pattern: '/api/messages/out/{messageId}', handler: uploadFile },
  {
    method: 'POST',
    pattern: '/api/messages/out/{messageId}',
    handler: async ({ res, params, core }) => {
      await core.send(params[0]);
      sendEmpty(res);
    },
  },

  // ------------------------------------------------------------------ incoming (§7)
  { method: 'GET', pattern: '/api/messages/in', handler: ({ res, query, core }) => sendJson(res, 200, core.inbox.list(inboxFilter(query), query)) },
  {
    method: 'GET',
    pattern: '/api/messages/in/peek',
    handler: ({ res, query, core }) => {
      const sbd = core.inbox.peek(inboxFilter(query));
      if (sbd) sendJson(res, 200, sbd);
      else sendEmpty(res, 204);
    },
  },
  { method: 'GET', pattern: '/api/messages/in/pop/{messageId}', handler: pop },
  { method: 'DELETE', pattern: '/api/messages/in/{messageId}', handler: ({ res, params, core }) => sendJson(res, 200, core.inbox.remove(params[0])) },

  // ------------------------------------------------------------------ statuses (§8.3–8.5)
  {
    method: 'GET',
    pattern: '/api/statuses',
    handler: ({ res, query, core }) => {
      const binder = new QueryBinder(query, 'messageStatusQueryInput');
      const filter = {
        id: binder.long('id'),
        messageId: binder.string('messageId'),
        conversationId: binder.string('conversationId'),
        status: binder.string('status'),
        from: binder.dateTime('fromDateTime'),
        to: binder.dateTime('toDateTime'),
      };
      binder.check();
      sendJson(res, 200, core.conversations.findStatuses(filter, query));
    },
  },
  {
    method: 'GET',
    pattern: '/api/statuses/peek',
    handler: ({ res, core }) => {
      const status = core.conversations.peekQueue();
      if (status) sendJson(res, 200, status);
      else sendEmpty(res, 204);
    },
  },
  {
    method: 'GET',
    pattern: '/api/statuses/{messageId}',
    handler: ({ res, params, query, core }) =>
      sendJson(res, 200, core.conversations.statusesOfMessage(params[0], query), 'application/json;charset=utf-8'),
  },
  {
    method: 'DELETE',
    pattern: '/api/statuses/{id}',
    handler: ({ res, params, core }) => sendEmpty(res, core.conversations.dequeue(parseLongParam('id', params[0])) ? 200 : 404),
  },

  // ------------------------------------------------------------------ conversations (§8.6)
  {
    method: 'GET',
    pattern: '/api/conversations',
    handler: ({ res, query, core }) => {
      const binder = new QueryBinder(query, 'conversationQueryInput');
      const filter = {
        conversationId: binder.string('conversationId'),
        messageId: binder.string('messageId'),
        sender: binder.string('sender'),
        senderIdentifier: binder.string('senderIdentifier'),
        receiver: binder.string('receiver'),
        receiverIdentifier: binder.string('receiverIdentifier'),
        serviceIdentifier: serviceIdentifierFilter(query.get('serviceIdentifier'), SERVICE_IDENTIFIERS),
        messageReference: binder.string('messageReference'),
        messageTitle: binder.string('messageTitle'),
        pollable: binder.boolean('pollable'),
        finished: binder.boolean('finished'),
        direction: binder.oneOf('direction', DIRECTIONS, 'no.difi.meldingsutveksling.nextmove.ConversationDirection'),
        lastUpdateFrom: binder.date('lastUpdateFrom', false),
        lastUpdateTo: binder.date('lastUpdateTo', true),
      };
      binder.check();
      sendJson(res, 200, core.conversations.findConversations(filter, query));
    },
  },
  {
    method: 'GET',
    pattern: '/api/conversations/queue',
    handler: ({ res, query, core }) => sendJson(res, 200, core.conversations.findConversations({ pollable: true }, query)),
  },
  {
    method: 'GET',
    pattern: '/api/conversations/messageId/{messageId}',
    handler: ({ res, params, core }) => {
      const conv = core.conversations.find(params[0], 'OUTGOING');
      if (!conv) throw messageNotFound(params[0]);
      sendJson(res, 200, renderConversation(conv));
    },
  },
  {
    method: 'DELETE',
    pattern: '/api/conversations/messageId/{messageId}',
    handler: ({ res, params, core }) => {
      core.conversations.deleteByMessageId(params[0]);
      sendEmpty(res);
    },
  },
  {
    method: 'GET',
    pattern: '/api/conversations/{id}',
    handler: ({ res, params, core }) => {
      const id = parseLongParam('id', params[0]);
      const conv = core.conversations.get(id);
      if (!conv || conv.direction !== 'OUTGOING') throw new SimulatorError(404, 'ConversationNotFoundException', `Conversation with id = ${id} was not found`);
      sendJson(res, 200, renderConversation(conv));
    },
  },
  {
    method: 'DELETE',
    pattern: '/api/conversations/{id}',
    handler: ({ res, params, core }) => {
      core.conversations.delete(parseLongParam('id', params[0]));
      sendEmpty(res);
    },
  },

  // ------------------------------------------------------------------ subscriptions (§9)
  {
    method: 'GET',
    pattern: '/api/subscriptions',
    handler: ({ res, query, core }) =>
      sendJson(res, 200, core.webhooks.list({ page: numberOrUndefined(query.get('page')), size: numberOrUndefined(query.get('size')), sort: query.getAll('sort') })),
  },
  {
    method: 'POST',
    pattern: '/api/subscriptions',
    handler: async ({ req, res, core }) => {
      requireJson(req);
      sendJson(res, 200, await core.webhooks.create(await readJsonBody(req)));
    },
  },
  {
    method: 'DELETE',
    pattern: '/api/subscriptions',
    handler: ({ res, core }) => {
      core.webhooks.deleteAll();
      sendEmpty(res);
    },
  },
  {
    method: 'GET',
    pattern: '/api/subscriptions/{id}',
    handler: ({ res, params, core }) => sendJson(res, 200, core.webhooks.get(parseLongParam('id', params[0]))),
  },
  {
    method: 'PUT',
    pattern: '/api/subscriptions/{id}',
    handler: async ({ req, res, params, core }) => {
      const id = parseLongParam('id', params[0]);
      requireJson(req);
      await core.webhooks.update(id, await readJsonBody(req));
      sendEmpty(res);
    },
  },
  {
    method: 'DELETE',
    pattern: '/api/subscriptions/{id}',
    handler: ({ res, params, core }) => {
      core.webhooks.delete(parseLongParam('id', params[0]));
      sendEmpty(res);
    },
  },
];

function numberOrUndefined(value: string | null): number | undefined {
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}
