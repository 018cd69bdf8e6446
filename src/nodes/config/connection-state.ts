import { asIpError, shortReason } from '../shared/errors';
import { STATUS_CONNECTED } from '../shared/status';
import type { Node, NodeStatus } from '../shared/types';

const UNKNOWN: NodeStatus = { fill: 'grey', shape: 'ring', text: 'unknown' };

/**
 * The connection state of one IP as the nodes using it see it (as core MQTT does for its broker): green
 * "connected" after a request got an answer, red with the reason when the IP could not be used (unreachable,
 * timeout, wrong credentials, a proxy saying the IP is down), grey before anything is known. Every change is
 * shown on every registered node.
 */
export class ConnectionState {
  private readonly users = new Map<string, Node>();
  private status: NodeStatus = UNKNOWN;
  private key = 'unknown';

  register(node: Node): void {
    this.users.set(node.id, node);
    node.status(this.status);
  }

  deregister(node: Node): void {
    this.users.delete(node.id);
  }

  get userCount(): number {
    return this.users.size;
  }

  /** No error: the IP answered. An error: changes the state only when it says something about the connection. */
  report(err?: unknown): void {
    if (err === undefined || err === null) return this.set('connected', STATUS_CONNECTED);
    const ip = asIpError(err);
    if (!ip) return; // a validation error before any request says nothing about the connection
    const down = ip.status === 0 || ip.status === 401 || ip.status === 403 || ip.status === 502 || ip.status === 503 || ip.status === 504;
    if (!down) return this.set('connected', STATUS_CONNECTED);
    const reason = shortReason(ip);
    this.set(`down:${reason}`, { fill: 'red', shape: 'ring', text: reason });
  }

  /** The configuration itself is unusable (e.g. a malformed URL): no request can succeed. */
  misconfigured(): void {
    this.set('misconfigured', { fill: 'red', shape: 'ring', text: 'invalid configuration' });
  }

  private set(key: string, status: NodeStatus): void {
    if (key === this.key) return;
    this.key = key;
    this.status = status;
    for (const node of this.users.values()) node.status(status);
  }
}
