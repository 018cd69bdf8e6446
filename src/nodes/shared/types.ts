// The small part of the Node-RED runtime API our nodes use. Node-RED ships no TypeScript types, and
// @types/node-red is not a dependency, so these are declared here, once, for every node.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IntegrasjonspunktClient } from '../../client';

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

/** A message flowing through a flow. */
export interface NodeMessage {
  _msgid?: string;
  payload?: unknown;
  topic?: string;
  [key: string]: unknown;
}

export type SendFunction = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type DoneFunction = (err?: Error) => void;
export type InputHandler = (msg: NodeMessage, send: SendFunction, done: DoneFunction) => void;
export type CloseHandler = (removed: boolean, done: () => void) => void;

/** A node instance as the runtime creates it (`this` in a node constructor). */
export interface Node {
  id: string;
  type: string;
  name?: string;
  z?: string;
  credentials: Record<string, string | undefined>;
  status(status: NodeStatus): void;
  send(msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>): void;
  error(err: unknown, msg?: NodeMessage): void;
  warn(message: unknown): void;
  log(message: unknown): void;
  debug(message: unknown): void;
  on(event: 'input', handler: InputHandler): void;
  on(event: 'close', handler: CloseHandler): void;
  on(event: string, handler: (...args: never[]) => void): void;
}

/** The properties every node definition has in the flow JSON. */
export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

type Middleware = (req: AdminRequest, res: AdminResponse, next: () => void) => void;
export interface AdminRequest extends IncomingMessage {
  body?: Record<string, unknown>;
  params: Record<string, string>;
  query: Record<string, string | string[] | undefined>;
}
export interface AdminResponse extends ServerResponse {
  json(body: unknown): void;
  status(code: number): AdminResponse;
}
type RouteHandler = (req: AdminRequest, res: AdminResponse) => void;
interface Router {
  get(path: string, ...handlers: Array<Middleware | RouteHandler>): void;
  post(path: string, ...handlers: Array<Middleware | RouteHandler>): void;
}

/** `RED` as given to a node module's exported function. */
export interface NodeAPI {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType(type: string, constructor: (this: never, def: never) => void, options?: { credentials?: Record<string, { type: 'text' | 'password' }> }): void;
    getNode(id: string): unknown;
    getCredentials(id: string): Record<string, string | undefined> | undefined;
  };
  util: {
    evaluateNodeProperty(value: unknown, type: string, node: Node, msg: NodeMessage | undefined, callback: (err: Error | null, result: unknown) => void): void;
    getMessageProperty(msg: NodeMessage, expression: string): unknown;
  };
  httpAdmin: Router;
  auth: { needsPermission(permission: string): Middleware };
  settings: Record<string, unknown>;
  _(key: string, substitutions?: Record<string, unknown>): string;
}

/** What `RED.nodes.getNode(config.server)` returns for an `eformidling-config` node. */
export interface EformidlingServer extends Node {
  client: IntegrasjonspunktClient;
  orgnr: string;
  url: string;
  /** Show the connection state on `node` from now on. */
  register(node: Node): void;
  deregister(node: Node): void;
  /** Call after every IP request: no error = reachable, an error = the reason the IP could not be used. */
  reportResult(err?: unknown): void;
}
