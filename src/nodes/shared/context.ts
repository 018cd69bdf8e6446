// Node context: the feed's cursor and the inbox's record of messages handed on keep their state there.
import type { Node } from './types';

/** The part of Node-RED's node context we use; the callback forms work with every context store. */
export interface NodeContext {
  get(key: string, callback: (err: Error | null | undefined, value: unknown) => void): void;
  set(key: string, value: unknown, callback: (err?: Error | null) => void): void;
}

/** A node with its context (Node-RED's node.context()). */
export type ContextNode = Node & { context(): NodeContext };

/** A context value, as a promise. */
export function contextGet(context: NodeContext, key: string): Promise<unknown> {
  return new Promise((resolve, reject) => context.get(key, (err, value) => (err ? reject(err) : resolve(value))));
}

/** Stores a context value (undefined removes it), as a promise. */
export function contextSet(context: NodeContext, key: string, value: unknown): Promise<void> {
  return new Promise((resolve, reject) => context.set(key, value, (err) => (err ? reject(err) : resolve())));
}
