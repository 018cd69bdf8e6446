import type { Node, NodeAPI, NodeMessage } from './types';

/**
 * Evaluates a typedInput setting (`value` with its `type`: str, num, msg, flow, global, env, json, ...).
 * An empty setting gives undefined, so callers can fall back to a default. Uses the callback form of
 * evaluateNodeProperty because flow/global context and JSONata only resolve asynchronously through it.
 */
export function readTyped(RED: NodeAPI, node: Node, value: unknown, type: string | undefined, msg?: NodeMessage): Promise<unknown> {
  if (value === undefined || value === null || value === '') return Promise.resolve(undefined);
  const kind = type || 'str';
  if (kind === 'str') return Promise.resolve(String(value));
  return new Promise((resolve, reject) => {
    RED.util.evaluateNodeProperty(value, kind, node, msg, (err, result) => {
      if (err) reject(new Error(`Cannot read ${kind}.${String(value)}: ${err.message}`));
      else resolve(result === null ? undefined : result);
    });
  });
}

/**
 * A number from a property that arrives as "30" from the editor or 30 from a hand-written flow.
 * Empty or absent gives `fallback`; anything else that is not a number is an error naming `field`.
 */
export function toNumber(value: unknown, fallback: number, field = 'value'): number {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return fallback;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isFinite(n)) throw new Error(`${field}: expected a number, got "${String(value)}"`);
  return n;
}

/** A trimmed non-empty string, or undefined for empty/absent values. Numbers are accepted (e.g. an orgnr). */
export function toText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

/** A msg property, treating absent, null and '' as not set. */
export function msgValue(msg: NodeMessage, key: string): unknown {
  const value = msg[key];
  return value === undefined || value === null || value === '' ? undefined : value;
}

/** Where a value came from, for error messages: msg.receiver, flow.x, env.X, or the node setting's name. */
export interface SourcedValue {
  value: unknown;
  field: string;
}

/**
 * An input that comes from `msg[msgKey]` when that is set, otherwise from the node's typedInput setting
 * (`setting` of type `type`), as design.md's message conventions say.
 */
export async function readInput(
  RED: NodeAPI,
  node: Node,
  msg: NodeMessage,
  msgKey: string,
  settingName: string,
  setting: unknown,
  type?: string,
): Promise<SourcedValue> {
  const fromMsg = msgValue(msg, msgKey);
  if (fromMsg !== undefined) return { value: fromMsg, field: `msg.${msgKey}` };
  const kind = type || 'str';
  const value = await readTyped(RED, node, setting, kind, msg);
  const field = kind === 'str' || kind === 'num' ? settingName : `${kind}.${String(setting)}`;
  return { value, field };
}
