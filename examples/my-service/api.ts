/**
 * A small JSON API for the example connector, served on 127.0.0.1 so the
 * example and its tests never need the internet. `generation` changes the
 * data the way a real service changes between syncs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MyServiceData {
  users: { id: string; name: string; email: string; active: boolean; mfa_enabled: boolean }[];
  hosts: { id: string; hostname: string; os: string; ip: string }[];
  services: Record<string, { id: string; name: string; port: number }[]>;
  roles: { id: string; name: string }[];
  roleAssignments: { userId: string; roleId: string; timestamp: string }[];
}

/** Generation 0 is the base data; generation 1 updates a user, adds a host and removes one. */
export function exampleData(generation = 0): MyServiceData {
  const data: MyServiceData = {
    users: [
      { id: 'u-1', name: 'Ada Lovelace', email: 'ada@example.com', active: true, mfa_enabled: true },
      { id: 'u-2', name: 'Grace Hopper', email: 'grace@example.com', active: true, mfa_enabled: false },
      { id: 'u-3', name: 'Alan Turing', email: 'alan@example.com', active: false, mfa_enabled: false },
    ],
    hosts: [
      { id: 'h-1', hostname: 'web-1', os: 'debian-12', ip: '10.0.0.11' },
      { id: 'h-2', hostname: 'db-1', os: 'debian-12', ip: '10.0.0.21' },
    ],
    services: {
      'h-1': [
        { id: 'svc-nginx', name: 'nginx', port: 443 },
        { id: 'svc-sshd-1', name: 'sshd', port: 22 },
      ],
      'h-2': [{ id: 'svc-postgres', name: 'postgres', port: 5432 }],
    },
    roles: [
      { id: 'admin', name: 'Administrator' },
      { id: 'reader', name: 'Read-only' },
    ],
    roleAssignments: [
      { userId: 'u-1', roleId: 'admin', timestamp: '2026-01-05T09:00:00Z' },
      { userId: 'u-2', roleId: 'reader', timestamp: '2026-02-11T14:30:00Z' },
      { userId: 'u-3', roleId: 'reader', timestamp: '2026-03-20T08:15:00Z' },
    ],
  };
  if (generation >= 1) {
    data.users[1] = { ...data.users[1]!, mfa_enabled: true };
    data.hosts = [data.hosts[0]!, { id: 'h-3', hostname: 'cache-1', os: 'debian-12', ip: '10.0.0.31' }];
    data.services = { 'h-1': data.services['h-1']!, 'h-3': [{ id: 'svc-redis', name: 'redis', port: 6379 }] };
  }
  return data;
}

export interface ExampleApi {
  readonly url: string;
  readonly token: string;
  /** Replaces the data served from now on. */
  setData(data: MyServiceData): void;
  /** Makes one path answer with this status until cleared (undefined). */
  failPath(path: string, status: number | undefined): void;
  close(): Promise<void>;
}

export async function startExampleApi(options: { data?: MyServiceData; token?: string; port?: number } = {}): Promise<ExampleApi> {
  let data = options.data ?? exampleData(0);
  const token = options.token ?? 'example-token';
  const failures = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'unauthorized' });
    const failure = failures.get(path);
    if (failure) return send(failure, { error: 'injected failure' });
    if (path === '/users') return send(200, data.users);
    if (path === '/hosts') return send(200, data.hosts);
    if (path === '/roles') return send(200, data.roles);
    if (path === '/role-assignments') return send(200, data.roleAssignments);
    const services = /^\/hosts\/([^/]+)\/services$/.exec(path);
    if (services) return send(200, data.services[decodeURIComponent(services[1]!)] ?? []);
    return send(404, { error: `no route ${path}` });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    setData: (next) => void (data = next),
    failPath: (path, status) => void (status === undefined ? failures.delete(path) : failures.set(path, status)),
    close: () => new Promise((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
