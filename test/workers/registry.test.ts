/**
 * The typed connector registry: zod-validated configuration per schedule,
 * secrets only from env, and the deployment's crons matching wrangler.toml.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { step, type Connector } from 'parallax-edge';
import { ConnectorSetupError, RegistryError, defineConnector, defineRegistry, ingestRefusal, instantiate } from '../../workers/registry.js';
import { registry as deployed } from '../../workers/connectors.js';

const make = (name: string): Connector => ({ name, steps: () => [step('a', 'A').build()], executeStep: async () => {} });

const api = defineConnector({
  name: 'api',
  config: z.strictObject({ baseUrl: z.url(), pageSize: z.int().min(1).default(100) }),
  secrets: z.object({ API_TOKEN: z.string().min(1) }),
  create: (config, secrets) => {
    expect(config.pageSize).toBeGreaterThan(0);
    expect(secrets.API_TOKEN).toBeTruthy();
    return make('api');
  },
});
const other = defineConnector({ name: 'other', config: z.strictObject({}), secrets: z.object({}), create: () => make('other') });

const schedule = (over: Record<string, unknown> = {}) => ({ cron: '*/15 * * * *', connector: 'api' as const, account: 'acme', config: { baseUrl: 'https://api.example.com' }, ...over });

describe('defineRegistry', () => {
  it('validates each schedule\'s config with its connector\'s schema and applies defaults', () => {
    const registry = defineRegistry({ connectors: [api, other], schedules: [schedule(), { cron: '0 3 * * *', connector: 'other', account: 'acme', config: {} }] });
    expect(registry.due('*/15 * * * *')).toEqual([
      { cron: '*/15 * * * *', connector: 'api', account: 'acme', config: { baseUrl: 'https://api.example.com', pageSize: 100 }, leaseSeconds: 960 },
    ]);
    expect(registry.crons()).toEqual(['*/15 * * * *', '0 3 * * *']);
    expect(registry.due('1 1 * * *')).toEqual([]);
  });

  it.each([
    ['an invalid config value', { config: { baseUrl: 'not a url' } }, 'schedules[0].config.baseUrl'],
    ['an unknown config key', { config: { baseUrl: 'https://x.test', pagesize: 5 } }, 'schedules[0].config'],
    ['a secret in the config', { config: { baseUrl: 'https://x.test', apiToken: 'abc' } }, 'schedules[0].config.apiToken'],
    ['a nested secret in the config', { config: { baseUrl: 'https://x.test', auth: { password: 'abc' } } }, 'schedules[0].config.auth.password'],
    ['an unknown connector', { connector: 'nope' }, 'schedules[0].connector'],
    ['a cron that is not 5 fields', { cron: '*/15 * * *' }, 'schedules[0].cron'],
    ['an empty account', { account: '' }, 'schedules[0].account'],
    ['a bad lease', { leaseSeconds: 0 }, 'schedules[0].leaseSeconds'],
  ])('refuses %s, naming the path', (_what, over, path) => {
    let thrown: unknown;
    try {
      defineRegistry({ connectors: [api], schedules: [schedule(over) as never] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RegistryError);
    expect((thrown as RegistryError).path).toBe(path);
    expect((thrown as RegistryError).message).toContain(path);
  });

  it('allowIngest is a boolean, off by default: only an explicit true frees a connector\'s name for REST ingest', () => {
    const open = defineConnector({ ...other, name: 'open', allowIngest: true });
    const closed = defineConnector({ ...other, name: 'closed', allowIngest: false });
    const registry = defineRegistry({ connectors: [api, open, closed], schedules: [] });
    expect(ingestRefusal(registry, 'open')).toBeUndefined();
    expect(ingestRefusal(registry, 'not-registered')).toBeUndefined();
    expect(ingestRefusal(registry, '__proto__')).toBeUndefined();
    for (const name of ['api', 'closed']) {
      expect(ingestRefusal(registry, name)).toMatch(new RegExp(`^"${name}" is a connector of this deployment's registry.*allowIngest: true`));
    }
    let thrown: unknown;
    try {
      defineRegistry({ connectors: [api, { ...other, allowIngest: 'yes' as unknown as boolean }], schedules: [] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RegistryError);
    expect((thrown as RegistryError).path).toBe('connectors[1].allowIngest');
  });

  it('refuses duplicate connectors and duplicate schedules', () => {
    expect(() => defineRegistry({ connectors: [api, api], schedules: [] })).toThrow(/duplicate connector "api"/);
    expect(() => defineRegistry({ connectors: [api], schedules: [schedule(), schedule()] })).toThrow(/scheduled twice/);
  });

  it('is typed: a schedule\'s connector and config are checked at compile time', () => {
    // Never called: tsc checks the directives (an unused @ts-expect-error is an error).
    const typeChecks = (): void => {
      defineRegistry({
        connectors: [api, other],
        schedules: [
          // @ts-expect-error: "nope" is not a registered connector
          { cron: '0 3 * * *', connector: 'nope', account: 'acme', config: {} },
        ],
      });
      defineRegistry({
        connectors: [api],
        // @ts-expect-error: baseUrl must be a string
        schedules: [{ cron: '0 3 * * *', connector: 'api', account: 'acme', config: { baseUrl: 42 } }],
      });
    };
    expect(typeChecks).toBeTypeOf('function');
  });
});

describe('instantiate', () => {
  const registry = defineRegistry({ connectors: [api], schedules: [schedule()] });
  it('reads the declared secrets from env and builds the connector', () => {
    expect(instantiate(registry, registry.schedules[0]!, { API_TOKEN: 'secret-value', OTHER: 'x' }).name).toBe('api');
  });
  it('names missing secrets without showing any value', () => {
    let thrown: unknown;
    try {
      instantiate(registry, registry.schedules[0]!, { API_TOKEN: '', UNRELATED: 'hunter2' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConnectorSetupError);
    expect((thrown as Error).message).toContain('API_TOKEN');
    expect((thrown as Error).message).not.toContain('hunter2');
  });
  it('refuses a factory that builds a connector with another name', () => {
    const liar = defineConnector({ name: 'liar', config: z.strictObject({}), secrets: z.object({}), create: () => make('truth') });
    const r = defineRegistry({ connectors: [liar], schedules: [{ cron: '0 3 * * *', connector: 'liar', account: 'a', config: {} }] });
    expect(() => instantiate(r, r.schedules[0]!, {})).toThrow(/built a connector named "truth"/);
  });
});

describe('the deployment (workers/connectors.ts, wrangler.toml)', () => {
  const toml = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
  const crons = [...(/^crons\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]);

  it('every cron the registry uses is a [triggers] cron in wrangler.toml, and every trigger runs something', () => {
    expect(crons.length).toBeGreaterThan(0);
    for (const cron of deployed.crons()) expect(crons).toContain(cron);
  });

  it('binds D1 as DB with migrations in workers/migrations, and the entry is workers/index.ts', () => {
    expect(toml).toMatch(/binding\s*=\s*"DB"/);
    expect(toml).toMatch(/migrations_dir\s*=\s*"workers\/migrations"/);
    expect(toml).toMatch(/^main\s*=\s*"workers\/index.ts"/m);
  });
});
