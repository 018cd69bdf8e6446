/** The route path on Node-RED's HTTP server: "/efm/events"; a missing leading slash is added. */
export function normalizePath(value: unknown): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '') throw new Error('path: expected a path such as /eformidling/events');
  const path = text.startsWith('/') ? text : `/${text}`;
  if (/[?#\s]/.test(path)) throw new Error(`path: expected a plain path without "?", "#" or spaces, got "${text}"`);
  if (/[:*()]/.test(path)) throw new Error(`path: route parameters and wildcards are not allowed, got "${text}"`);
  return path;
}

/**
 * The URL the IP pushes events to: `<publicUrl><httpNodeRoot><path>?token=<token>`. `publicUrl` is how the IP
 * reaches this Node-RED (scheme, host, port and any proxy prefix), without Node-RED's httpNodeRoot.
 */
export function pushEndpointUrl(publicUrl: unknown, httpNodeRoot: unknown, path: string, token: string): string {
  const base = typeof publicUrl === 'string' ? publicUrl.trim() : '';
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Error(`publicUrl: expected how the Integrasjonspunkt reaches this Node-RED, such as https://nodered.example.no, got "${base}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`publicUrl: expected an http or https URL, got "${base}"`);
  if (url.search || url.hash) throw new Error(`publicUrl: expected no query or fragment, got "${base}"`);
  const root = typeof httpNodeRoot === 'string' ? httpNodeRoot : '/';
  const joined = [url.pathname, root, path]
    .map((part) => part.replace(/^\/+|\/+$/g, ''))
    .filter((part) => part !== '')
    .join('/');
  return `${url.origin}/${joined}?token=${encodeURIComponent(token)}`;
}
