import type { IntegrasjonspunktClient } from '../../client';
import { asIpError, exceptionNameOf } from '../shared/errors';

export interface TestConnectionResult {
  ok: boolean;
  /** One sentence for the editor: what works, or what is wrong and what to check. */
  message: string;
  /** How many capabilities the own organisation number has (when checked). */
  capabilities?: number;
}

const TLS_CODES = /CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_VERIFY/i;
const TIMEOUT_CODES = /TIMEOUT|ETIMEDOUT/i;

/** Why a request got no answer, in words a user can act on. */
function unreachable(url: string, code: string | undefined, detail: string): string {
  if (code === 'ECONNREFUSED') return `Cannot reach ${url}: connection refused. Is the Integrasjonspunkt running, and are the host and port right?`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `Cannot reach ${url}: the host name was not found (DNS). Check the URL.`;
  if (code && TIMEOUT_CODES.test(code)) return `Cannot reach ${url}: no answer in time (${code}). Check the URL, the firewall, or raise the timeout.`;
  if (code && TLS_CODES.test(code)) return `Cannot reach ${url}: TLS problem (${code}). Check http/https in the URL and the TLS configuration.`;
  if (code === 'ECONNRESET') return `Cannot reach ${url}: the connection was closed (ECONNRESET). Is it http where https is expected, or the other way round?`;
  return `Cannot reach ${url}: ${detail}`;
}

/**
 * Checks that `client` reaches an Integrasjonspunkt that accepts its credentials, and when `orgnr` is given
 * that the service registry knows it: GET /api/capabilities/<orgnr> (or GET /api/statuses without an orgnr).
 */
export async function testConnection(client: IntegrasjonspunktClient, orgnr: string | undefined): Promise<TestConnectionResult> {
  const url = client.url;
  try {
    if (!orgnr) {
      await client.listStatuses({ size: 1 });
      return { ok: true, message: `Connected to the Integrasjonspunkt at ${url}. Set the organisation number to check its capabilities too.` };
    }
    const answer = await client.capabilities(orgnr);
    const count = answer.capabilities.length;
    return {
      ok: true,
      capabilities: count,
      message: `Connected to the Integrasjonspunkt at ${url}: organisation ${orgnr} has ${count} ${count === 1 ? 'capability' : 'capabilities'}.`,
    };
  } catch (err) {
    const ip = asIpError(err);
    const detail = err instanceof Error ? err.message : String(err);
    if (!ip) return { ok: false, message: `${url} answered, but not like an Integrasjonspunkt: ${detail}` };
    if (ip.status === 0) return { ok: false, message: unreachable(url, ip.code, detail) };
    if (ip.status === 401) {
      return { ok: false, message: `The Integrasjonspunkt at ${url} refused the login (401): wrong or missing username/password.` };
    }
    if (ip.status === 403) return { ok: false, message: `The Integrasjonspunkt at ${url} denied access (403) for this user.` };
    const exception = exceptionNameOf(ip);
    if (ip.status === 404 && exception === 'IdentifierNotFoundException') {
      return { ok: false, message: `Connected to the Integrasjonspunkt at ${url}, but the service registry does not know organisation number ${orgnr} (404). Check the organisation number.` };
    }
    if (!ip.exception && (ip.status === 404 || ip.status === 405)) {
      return { ok: false, message: `${url} answers, but it is not an Integrasjonspunkt: ${ip.method} ${ip.path} gave ${ip.status} without an Integrasjonspunkt error body. Check the URL (host, port, path).` };
    }
    if (ip.status === 502 || ip.status === 503 || ip.status === 504) {
      return { ok: false, message: `A proxy in front of ${url} answered ${ip.status}: the Integrasjonspunkt behind it is not available.` };
    }
    return { ok: false, message: `The Integrasjonspunkt at ${url} answered with an error: ${detail}` };
  }
}
