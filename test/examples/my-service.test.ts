import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitSync, runConnector, type GraphStore } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { exampleData, startExampleApi, type ExampleApi } from '../../examples/my-service/api.js';
import createConnector, { MyServiceConnector } from '../../examples/my-service/connector.js';

describe('the guide example against a real HTTP API on 127.0.0.1', () => {
  let api: ExampleApi;
  let store: GraphStore;
  let run = 0;
  const sync = async (connector = new MyServiceConnector(api.url, api.token)) => {
    const output = await runConnector(connector, { accountId: 'my-account-id', syncId: `sync-${++run}` });
    return { output, result: await commitSync(store, output) };
  };

  beforeEach(async () => {
    api = await startExampleApi();
    store = createMemoryStore();
  });
  afterEach(async () => {
    await api.close();
  });

  it('first sync creates everything; services come from hosts seen in ctx.prior', async () => {
    const { result } = await sync();
    expect(result.stats).toMatchObject({ entitiesCreated: 10, relationshipsCreated: 6, entitiesDeleted: 0 });
    const services = await store.listEntities({ type: 'service' });
    expect(services.items.map((s) => s.entityKey).sort()).toEqual(['svc-nginx', 'svc-postgres', 'svc-sshd-1']);
    const ada = await store.findEntity('my-account-id', 'user', 'u-1');
    expect(ada).toMatchObject({ entityClass: 'User', displayName: 'Ada Lovelace', properties: { email: 'ada@example.com', active: true, mfa_enabled: true }, stepId: 'users' });
  });

  it('+P2: a second sync of unchanged data reports everything unchanged and writes nothing', async () => {
    await sync();
    const { result } = await sync();
    expect(result.rowsWritten).toBe(0);
    expect(result.stats).toMatchObject({ entitiesUnchanged: 10, relationshipsUnchanged: 6, entitiesCreated: 0, entitiesUpdated: 0 });
  });

  it('a change upstream shows up as updated, created and deleted rows, cascading the removed host\'s edges (INV-03)', async () => {
    await sync();
    api.setData(exampleData(1));
    const { result } = await sync();
    // u-2 mfa changed; h-3 + svc-redis added; h-2 + svc-postgres removed.
    expect(result.stats).toMatchObject({
      entitiesUpdated: 1,
      entitiesCreated: 2,
      entitiesDeleted: 2,
      relationshipsCreated: 1,
      relationshipsDeleted: 1,
    });
    expect(await store.findEntity('my-account-id', 'host', 'h-2')).toBeUndefined();
  });

  it('+P1: when the hosts API fails, hosts and the services that depend on them are kept', async () => {
    await sync();
    api.setData(exampleData(1));
    api.failPath('/hosts', 503);
    const { output, result } = await sync();
    expect(output.failedSteps).toEqual(['hosts']);
    expect(output.steps.find((s) => s.stepId === 'hosts')?.error).toMatchObject({ kind: 'Api', status: 503 });
    expect(output.keptSteps).toEqual(['hosts', 'services', 'relationships']);
    expect(result.stats.entitiesDeleted).toBe(0);
    expect(await store.findEntity('my-account-id', 'host', 'h-2')).toBeDefined();
    expect(await store.findEntity('my-account-id', 'service', 'svc-postgres')).toBeDefined();
    expect(result.stats.entitiesUpdated).toBe(1); // the users step still ran (INV-C06)
  });

  it('a wrong token fails the fetching steps as AuthFailed, and +P1 keeps every stored row', async () => {
    await sync();
    const { output, result } = await sync(createConnector({ apiBaseUrl: api.url, apiToken: 'wrong' }));
    // services saw no hosts in ctx.prior, so it fetched nothing and completed; it is kept as a dependent.
    expect(output.failedSteps).toEqual(['users', 'hosts', 'relationships']);
    expect(output.keptSteps).toEqual(['users', 'hosts', 'services', 'relationships']);
    expect(output.steps.filter((s) => s.error).every((s) => s.error?.kind === 'AuthFailed')).toBe(true);
    expect(result.stats).toMatchObject({ entitiesDeleted: 0, entitiesKept: 10, relationshipsKept: 6 });
  });
});
