import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the test server received. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** Handles one request; `hit` counts the requests to this path so far, from 1. */
export type Route = (req: IncomingMessage & { body: string }, res: ServerResponse, hit: number, url: URL) => void;

/**
 * A real HTTP server on 127.0.0.1 (port 0) whose routes tests set per path.
 * Unknown paths answer 404 with a JSON body.
 */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: SeenRequest[];
  route(path: string, handler: Route): void;
  /** Requests received for `path` (pathname only). */
  hits(path: string): number;
  /** Forgets routes and requests. */
  reset(): void;
  close(): Promise<void>;
}

export async function startServer(): Promise<TestServer> {
  const routes = new Map<string, Route>();
  const requests: SeenRequest[] = [];
  const counts = new Map<string, number>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? 'GET', path: url.pathname, url, headers: req.headers, body });
      const hit = (counts.get(url.pathname) ?? 0) + 1;
      counts.set(url.pathname, hit);
      const handler = routes.get(url.pathname);
      if (!handler) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `no route ${url.pathname}` }));
        return;
      }
      handler(Object.assign(req, { body }), res, hit, url);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    route: (path, handler) => routes.set(path, handler),
    hits: (path) => counts.get(path) ?? 0,
    reset: () => {
      routes.clear();
      counts.clear();
      requests.length = 0;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** Sends a JSON body. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** Answers after `ms`, unless the client went away first (no timer outlives the test). */
export function later(res: ServerResponse, ms: number, send: () => void): void {
  const timer = setTimeout(send, ms);
  res.on('close', () => clearTimeout(timer));
}
