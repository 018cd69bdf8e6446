import type { ClientOptions, TlsOptions } from '../../client/types';
import { toNumber, toText } from '../shared/typed';
import type { NodeAPI } from '../shared/types';

export const DEFAULT_URL = 'http://localhost:9093';
export const DEFAULT_TIMEOUT_SECONDS = 30;

/** The settings of an eformidling-config node (from the flow, or from the editor dialog for "Test connection"). */
export interface ConfigSettings {
  url?: unknown;
  timeout?: unknown;
  tls?: unknown;
  username?: string;
  password?: string;
}

/** What `addTLSOptions` of Node-RED's tls-config node fills in. */
interface TlsConfigNode {
  addTLSOptions(opts: Record<string, unknown>): Record<string, unknown>;
}

/** Checks the URL the user typed: absolute http(s), no query. Returns it without trailing slashes. */
export function checkUrl(value: unknown): string {
  const text = toText(value) ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`url: expected the Integrasjonspunkt's address such as ${DEFAULT_URL}, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`url: expected an http:// or https:// address, got "${text}"`);
  }
  return text.replace(/\/+$/, '');
}

/** TLS settings from a Node-RED tls-config node, when one is chosen and deployed. */
export function tlsFromConfigNode(RED: NodeAPI, tlsId: unknown): TlsOptions | undefined {
  const id = toText(tlsId);
  if (!id) return undefined;
  const tlsNode = RED.nodes.getNode(id) as TlsConfigNode | null;
  if (!tlsNode || typeof tlsNode.addTLSOptions !== 'function') return undefined;
  const opts = tlsNode.addTLSOptions({});
  const tls: TlsOptions = {};
  if (opts.ca) tls.ca = opts.ca as TlsOptions['ca'];
  if (opts.cert) tls.cert = opts.cert as Buffer;
  if (opts.key) tls.key = opts.key as Buffer;
  if (opts.passphrase) tls.passphrase = String(opts.passphrase);
  if (opts.rejectUnauthorized !== undefined) tls.rejectUnauthorized = opts.rejectUnauthorized !== false;
  return tls;
}

export function clientOptions(RED: NodeAPI, settings: ConfigSettings): ClientOptions {
  const seconds = toNumber(settings.timeout, DEFAULT_TIMEOUT_SECONDS, 'timeout');
  if (seconds < 0) throw new Error(`timeout: expected seconds (0 or more), got ${seconds}`);
  const options: ClientOptions = { url: checkUrl(settings.url), timeoutMs: (seconds || DEFAULT_TIMEOUT_SECONDS) * 1000 };
  if (settings.username) options.username = settings.username;
  if (settings.password) options.password = settings.password;
  const tls = tlsFromConfigNode(RED, settings.tls);
  if (tls) options.tls = tls;
  return options;
}
