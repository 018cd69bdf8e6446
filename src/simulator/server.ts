import * as http from 'node:http';
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatorCore } from './core';
import { SimulatorError, sendError, sendJson } from './errors';
import { withFault, type FaultRule } from './faults';
import { SPRING, readJsonBody, sendEmpty } from './http';
import { ROUTES } from './routes';
import type { Route } from './routes';

export interface ServerOptions {
  username?: string;
  password?: string;
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
  log: (line: string) => void;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  variables: number;
}

function compile(route: Route): CompiledRoute {
  let variables = 0;
  const source = route.pattern
    .split('/')
    .map((segment) => {
      if (/^\{\w+\}$/.test(segment)) {
        variables++;
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { ...route, regex: new RegExp(`^${source}$`), variables };
}

/** Literal paths before ones with variables, as Spring ranks its patterns. */
const COMPILED: CompiledRoute[] = ROUTES.map(compile).sort((a, b) => a.variables - b.variables);

const SIMULATOR_PREFIX = '/__simulator';

/** Methods Spring lists in Allow: the mapped ones, HEAD with GET, and OPTIONS. */
function allowedMethods(routes: CompiledRoute[]): string {
  const methods = new Set(routes.map((r) => r.method));
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return [...methods].join(', ');
}

/** The IP's error body (§10), with `trace` when the request asks for it (?trace=true). */
function answerError(res: ServerResponse, path: string, query: URLSearchParams, err: SimulatorError, headers: Record<string, string> = {}): void {
  const trace = query.get('trace');
  sendError(res, path, err, headers, trace !== null && trace.toLowerCase() !== 'false');
}

function asSimulatorError(err: unknown): SimulatorError {
  if (err instanceof SimulatorError) return err;
  return new SimulatorError(500, 'java.lang.RuntimeException', (err as Error)?.message ?? String(err));
}

/**
 * Holds back the end of an answer (for a JSON answer: all of it) until the disk has every change made so far, as
 * the IP commits its database before answering: killed right after an answer (kill -9), the simulator comes back
 * with the state it answered from. Writes stay asynchronous, so other requests go on meanwhile.
 */
function answerAfterDisk(res: ServerResponse, core: SimulatorCore): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    void core.store.settled().then(() => end(...args));
    return res;
  }) as ServerResponse['end'];
}

/** The HTTP(S) server with the IP's REST contract; fault injection first, then Basic auth, then the routes. */
export function createSimulatorServer(core: SimulatorCore, options: ServerOptions): http.Server {
  const credentials = options.username !== undefined && options.password !== undefined ? `${options.username}:${options.password}` : undefined;
  /** HTTP Basic as Spring Security reads it: scheme case-insensitive, base64 of user:password. */
  const authorized = (req: IncomingMessage): boolean => {
    if (credentials === undefined) return true;
    const m = /^basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return m !== null && Buffer.from(m[1], 'base64').toString('utf8') === credentials;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const path = url.pathname;
    const query = url.searchParams;
    const method = (req.method ?? 'GET').toUpperCase();
    try {
      if (path === SIMULATOR_PREFIX || path.startsWith(`${SIMULATOR_PREFIX}/`)) {
        await simulatorRoute(method, path, req, res);
        return;
      }
      await withFault(core.faults.take(method, path), req, res, path, async () => {
        if (!authorized(req)) {
          throw new SimulatorError(401, undefined, 'Unauthorized');
        }
        await route(method, path, query, req, res);
      });
    } catch (err) {
      // The client went away (or a fault cut the connection): nobody to answer.
      if (res.destroyed || req.socket.destroyed) {
        res.destroy();
        return;
      }
      const error = asSimulatorError(err);
      if (!(err instanceof SimulatorError)) options.log(`${method} ${path} failed: ${(err as Error)?.stack ?? err}`);
      const headers: Record<string, string> = error.status === 401 ? { 'WWW-Authenticate': 'Basic realm="Realm"' } : {};
      answerError(res, path, query, error, headers);
    }
  }

  async function route(method: string, path: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const matching = COMPILED.filter((r) => r.regex.test(path));
    if (!matching.length) throw new SimulatorError(404, SPRING.noResource, `No static resource ${path.replace(/^\//, '')}.`);
    if (method === 'OPTIONS') {
      res.writeHead(200, { Allow: allowedMethods(matching), 'Content-Length': 0 });
      res.end();
      return;
    }
    const sameMethod = matching.filter((r) => r.method === (method === 'HEAD' ? 'GET' : method));
    if (!sameMethod.length) {
      const err = new SimulatorError(405, SPRING.methodNotSupported, `Request method '${method}' is not supported`);
      answerError(res, path, query, err, { Allow: allowedMethods(matching) });
      return;
    }
    const chosen = sameMethod.find((r) => !r.consumes || r.consumes(req));
    if (!chosen) {
      const shown = req.headers['content-type'] || 'application/octet-stream';
      throw new SimulatorError(415, SPRING.mediaTypeNotSupported, `Content-Type '${shown}' is not supported`);
    }
    let params: string[];
    try {
      params = chosen.regex.exec(path)!.slice(1).map(decodeURIComponent);
    } catch {
      throw new SimulatorError(400, undefined, `Malformed percent-encoding in ${path}`);
    }
    await chosen.handler({ req, res, path, query, params, core });
  }

  /** Fault injection over HTTP (outside /api, never authenticated). */
  async function simulatorRoute(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (path !== `${SIMULATOR_PREFIX}/faults`) throw new SimulatorError(404, undefined, `No simulator resource ${path}`);
    if (method === 'GET') return sendJson(res, 200, core.faults.list());
    if (method === 'DELETE') {
      core.faults.clear();
      return sendEmpty(res);
    }
    if (method === 'POST') {
      const body = await readJsonBody(req);
      try {
        core.faults.add(body as FaultRule); // add() checks the rule
      } catch (err) {
        throw new SimulatorError(400, undefined, `Invalid fault rule: ${(err as Error).message}`);
      }
      return sendJson(res, 200, core.faults.list());
    }
    res.setHeader('Allow', 'GET, POST, DELETE');
    throw new SimulatorError(405, undefined, `Request method '${method}' is not supported`);
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const started = Date.now();
    answerAfterDisk(res, core);
    res.on('close', () => options.log(`${req.method} ${req.url} ${res.headersSent ? res.statusCode : 'dropped'} ${Date.now() - started}ms`));
    req.on('error', () => {}); // an aborted upload is handled where its body is read
    void core.tasks.track(handle(req, res));
  };

  const server = options.tls
    ? https.createServer(
        // With requestCert, clients must present a certificate signed by `ca`.
        { key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: options.tls.requestCert, rejectUnauthorized: options.tls.requestCert === true },
        listener,
      )
    : http.createServer(listener);
  // Large uploads and downloads may take long; idle connections are still closed by keepAliveTimeout.
  server.requestTimeout = 0;
  return server;
}
