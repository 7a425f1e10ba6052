/**
 * For the Worker tests: an upstream "inventory" API served by the test itself
 * (the global `fetch` is routed to it, so nothing leaves workerd), a
 * connector that collects it in three steps, and registries that schedule it.
 */
import { vi } from 'vitest';
import { z } from 'zod';
import { ConnectorError, entity, relationship, step, type Connector, type StepContext } from 'parallax-edge';
import { defineConnector, defineRegistry } from '../../../workers/registry.js';

export const UPSTREAM = 'https://inventory.upstream.test';

export interface InventoryData {
  hosts: { id: string; name: string; os: string }[];
  users: { id: string; email: string }[];
  /** user id → host ids they use */
  access: Record<string, string[]>;
}

/** Generation 0: 3 hosts, 2 users, 3 edges. Generation 1: h-2 changes OS, h-3 is gone (its edge cascades). */
export function inventoryData(generation = 0): InventoryData {
  const data: InventoryData = {
    hosts: [
      { id: 'h-1', name: 'web-1', os: 'debian-12' },
      { id: 'h-2', name: 'db-1', os: 'debian-12' },
      { id: 'h-3', name: 'cache-1', os: 'debian-12' },
    ],
    users: [
      { id: 'u-1', email: 'ada@example.com' },
      { id: 'u-2', email: 'grace@example.com' },
    ],
    access: { 'u-1': ['h-1', 'h-2'], 'u-2': ['h-3'] },
  };
  if (generation >= 1) {
    data.hosts = [data.hosts[0]!, { ...data.hosts[1]!, os: 'debian-13' }];
    data.access = { 'u-1': ['h-1', 'h-2'], 'u-2': [] };
  }
  return data;
}

export interface Upstream {
  data: InventoryData;
  readonly token: string;
  /** Paths answering with this status until cleared. */
  readonly failing: Map<string, number>;
  /** Requests seen, as `GET /path`. */
  readonly requests: string[];
  /** Holds every request to `path` until the returned function is called. */
  hold(path: string): { release: () => void; reached: Promise<void> };
  restore(): void;
}

/** Routes `fetch` calls for {@link UPSTREAM} to an in-test API; other URLs fail loudly (no internet in tests). */
export function serveUpstream(token = 'inventory-secret'): Upstream {
  const holds = new Map<string, { gate: Promise<void>; reached: () => void }>();
  const upstream: Upstream = {
    data: inventoryData(0),
    token,
    failing: new Map(),
    requests: [],
    hold(path) {
      let release!: () => void;
      let reached!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
      holds.set(path, { gate, reached });
      return {
        release: () => {
          holds.delete(path);
          release();
        },
        reached: reachedPromise,
      };
    },
    restore: () => spy.mockRestore(),
  };
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== UPSTREAM) throw new Error(`test: unexpected fetch to ${request.url} (tests never use the internet)`);
    upstream.requests.push(`${request.method} ${url.pathname}`);
    const held = holds.get(url.pathname);
    if (held) {
      held.reached();
      await held.gate;
    }
    if (request.headers.get('authorization') !== `Bearer ${upstream.token}`) return json(401, { error: 'unauthorized' });
    const failure = upstream.failing.get(url.pathname);
    if (failure) return json(failure, { error: 'injected failure' });
    switch (url.pathname) {
      case '/hosts':
        return json(200, upstream.data.hosts);
      case '/users':
        return json(200, upstream.data.users);
      case '/access':
        return json(200, upstream.data.access);
      default:
        return json(404, { error: 'no route' });
    }
  });
  return upstream;
}

/** The connector: hosts and users independently, then access (USES edges) after both. */
export class InventoryConnector implements Connector {
  readonly name: string;
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    name = 'inventory',
  ) {
    this.name = name;
  }

  steps() {
    return [step('hosts', 'Collect hosts').build(), step('users', 'Collect users').build(), step('access', 'Collect access').dependsOn(['hosts', 'users']).build()];
  }

  async executeStep(stepId: string, ctx: StepContext): Promise<void> {
    switch (stepId) {
      case 'hosts':
        for (const h of await this.get<InventoryData['hosts']>('/hosts', ctx.signal)) {
          ctx.emitEntity(entity('host', h.id).class('Host').displayName(h.name).property('os', h.os));
        }
        return;
      case 'users':
        for (const u of await this.get<InventoryData['users']>('/users', ctx.signal)) {
          ctx.emitEntity(entity('user', u.id).class('User').displayName(u.email).property('email', u.email));
        }
        return;
      case 'access':
        for (const [userId, hostIds] of Object.entries(await this.get<InventoryData['access']>('/access', ctx.signal))) {
          for (const hostId of hostIds) ctx.emitRelationship(relationship('user', userId, 'USES', 'host', hostId));
        }
        return;
      default:
        throw ConnectorError.unknownStep(stepId);
    }
  }

  private async get<T>(path: string, signal: AbortSignal): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    const response = await fetch(url, { headers: { authorization: `Bearer ${this.token}` }, signal });
    if (response.status === 401) throw ConnectorError.authFailed('the inventory API refused the token', url);
    if (!response.ok) throw ConnectorError.api(response.status, url);
    return (await response.json()) as T;
  }
}

export const inventoryDefinition = defineConnector({
  name: 'inventory',
  description: 'The test inventory API',
  config: z.strictObject({ baseUrl: z.url() }),
  secrets: z.object({ INVENTORY_TOKEN: z.string().min(1) }),
  create: (config, secrets) => new InventoryConnector(config.baseUrl, secrets.INVENTORY_TOKEN),
});

export const CRON = '*/5 * * * *';
export const NIGHTLY = '0 3 * * *';

export function testRegistry() {
  return defineRegistry({
    connectors: [inventoryDefinition],
    schedules: [
      { cron: CRON, connector: 'inventory', account: 'acme', config: { baseUrl: UPSTREAM } },
      { cron: NIGHTLY, connector: 'inventory', account: 'globex', config: { baseUrl: UPSTREAM }, leaseSeconds: 300 },
    ],
  });
}
