import { toText } from './typed';
import type { EformidlingServer, Node, NodeAPI } from './types';

/** The deployed eformidling-config node with this id, if there is one. */
export function findServer(RED: NodeAPI, serverId: unknown): EformidlingServer | undefined {
  const id = toText(serverId);
  const server = id ? (RED.nodes.getNode(id) as EformidlingServer | null) : null;
  return server && server.client && typeof server.register === 'function' ? server : undefined;
}

/**
 * The eformidling-config node a node is set up with, registered so it shows the connection state.
 * Without one the node shows a red ring and `undefined` is returned; the caller reports the error per message.
 */
export function useServer(RED: NodeAPI, node: Node, serverId: unknown): EformidlingServer | undefined {
  const server = findServer(RED, serverId);
  if (!server) {
    node.status({ fill: 'red', shape: 'ring', text: 'no configuration' });
    return undefined;
  }
  server.register(node);
  node.on('close', (_removed: boolean, done: () => void) => {
    server.deregister(node);
    node.status({});
    done();
  });
  return server;
}

/** Waits for an IP request and tells the config node how it went (the connection state every node shows). */
export async function reported<T>(server: EformidlingServer, request: Promise<T>): Promise<T> {
  try {
    const result = await request;
    server.reportResult();
    return result;
  } catch (err) {
    server.reportResult(err);
    throw err;
  }
}

export function missingServerError(): Error {
  return new Error('server: no eFormidling configuration (eformidling-config) selected for this node; open the node and pick or add one');
}
