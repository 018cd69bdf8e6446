import type { DoneFunction, Node, NodeMessage } from './types';

/**
 * The fields of an IntegrasjonspunktError we read. Checked by shape, not `instanceof`: every node file is
 * bundled on its own, so an error thrown by the config node's client is an instance of another copy of the class.
 */
export interface IpErrorLike extends Error {
  status: number;
  exception?: string;
  exceptionName?: string;
  ipMessage?: string;
  description?: string;
  method: string;
  path: string;
  code?: string;
  answerLost?: boolean;
  requestSent?: boolean;
}

export function asIpError(err: unknown): IpErrorLike | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as Partial<IpErrorLike>;
  return typeof e.status === 'number' && typeof e.method === 'string' && typeof e.path === 'string' ? (err as IpErrorLike) : undefined;
}

/** The IP answered 404 (the message, conversation or subscription is not there). */
export function isNotFound(err: unknown): boolean {
  return asIpError(err)?.status === 404;
}

/** The simple exception name of an IP error (`ReceiverDoesNotAcceptProcessException`), if any. */
export function exceptionNameOf(err: unknown): string | undefined {
  const ip = asIpError(err);
  if (!ip) return undefined;
  return ip.exceptionName ?? ip.exception?.split('.').pop();
}

/** What goes on `msg.ipError`: the IP error body's status, exception, message and path. */
export interface IpErrorInfo {
  status: number;
  exception?: string;
  message: string;
  path: string;
  method: string;
  description?: string;
  code?: string;
}

export function ipErrorInfo(err: unknown): IpErrorInfo | undefined {
  const ip = asIpError(err);
  if (!ip) return undefined;
  const info: IpErrorInfo = { status: ip.status, message: ip.ipMessage ?? ip.message, path: ip.path, method: ip.method };
  if (ip.exception) info.exception = ip.exception;
  if (ip.description) info.description = ip.description;
  if (ip.code) info.code = ip.code;
  return info;
}

/** A status text under ~30 characters saying why something failed, e.g. "401 unauthorized" or "unreachable". */
export function shortReason(err: unknown): string {
  const ip = asIpError(err);
  if (ip) {
    if (ip.status === 0) return ip.code && /TIMEOUT/i.test(ip.code) ? 'timeout' : 'unreachable';
    if (ip.status === 401) return '401 unauthorized';
    const name = exceptionNameOf(err)?.replace(/Exception$/, '');
    return name ? `${ip.status} ${name}` : `error ${ip.status}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  const field = /^([\w.[\]]+):/.exec(message)?.[1];
  if (field) return `invalid ${field}`.slice(0, 40);
  return message.length > 30 ? `${message.slice(0, 29)}…` : message;
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Reports a failure for `msg` so a Catch node gets it: puts the IP's answer on `msg.ipError` (a Catch node
 * replaces `msg.error`), shows a red ring with a short reason, then calls done(err) (or node.error(err, msg)
 * when there is no done). Non-IP errors get no `msg.ipError` (a stale one from an earlier node is removed).
 */
export function failMsg(node: Node, msg: NodeMessage, err: unknown, done?: DoneFunction): void {
  const error = toError(err);
  const info = ipErrorInfo(error);
  if (info) msg.ipError = info;
  else delete msg.ipError;
  node.status({ fill: 'red', shape: 'ring', text: shortReason(error) });
  if (done) done(error);
  else node.error(error, msg);
}
