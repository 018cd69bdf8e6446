import type { IncomingMessage, ServerResponse } from 'node:http';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** The part of an Express app (RED.httpNode) we use. Express 4 keeps its router in `_router`, Express 5 in `router`. */
export interface HttpApp {
  post(path: string, ...handlers: RouteHandler[]): unknown;
  _router?: { stack: RouterLayer[] };
  router?: { stack: RouterLayer[] };
}

interface RouterLayer {
  route?: { path?: string; stack: Array<{ handle: unknown }> };
}

/**
 * Adds a POST route and returns the function that removes it again. Express has no API to remove a route, so, like
 * Node-RED's own http-in node, we take our layer out of the router's stack; we find it by our handler, so another
 * node's route on the same path is left alone.
 */
export function addPostRoute(app: HttpApp, path: string, middlewares: RouteHandler[], handler: RouteHandler): () => void {
  app.post(path, ...middlewares, handler);
  return () => {
    const stack = (app._router ?? app.router)?.stack;
    if (!stack) return;
    const index = stack.findIndex((layer) => layer.route?.stack.some((entry) => entry.handle === handler));
    if (index >= 0) stack.splice(index, 1);
  };
}
