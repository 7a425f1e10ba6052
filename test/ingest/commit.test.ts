/**
 * commitSync's semantics, named one by one, through the path a real sync
 * takes: runConnector's output committed into the memory reference store.
 * The adapter-independent version of these rules is test/adapters/contract.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  CommitError,
  ConnectorError,
  MAX_ID_BYTES,
  commitSync,
  entity,
  entityId,
  relationship,
  relationshipId,
  runConnector,
  step,
  type Connector,
  type GraphStore,
  type RunOptions,
  type StepContext,
  type StepDefinition,
  type SyncInput,
  type SyncStats,
} from 'parallax-edge';
import { DEFAULT_STEP_ID, contentHash, emptyStats } from 'parallax-edge/adapter-kit';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { RowPreparer } from '../../src/ingest/prepare.js';

/** The store, with `before` run ahead of the commit of its first `sessions` sessions. */
function interleave(store: GraphStore, sessions: number, before: () => Promise<unknown>): GraphStore {
  let left = sessions;
  return new Proxy(store, {
    get(target, key) {
      if (key !== 'openSync') return Reflect.get(target, key, target);
      return async (...args: Parameters<GraphStore['openSync']>) => {
        const session = await target.openSync(...args);
        if (left-- <= 0) return session;
        return new Proxy(session, {
          get(s, k) {
            const value = Reflect.get(s, k, s) as unknown;
            if (typeof value !== 'function') return value;
            if (k !== 'commit') return value.bind(s);
            return async (...a: unknown[]) => {
              await before();
              return (value as (...x: unknown[]) => unknown).apply(s, a);
            };
          },
        });
      };
    },
  });
}

const stats = (partial: Partial<SyncStats> = {}): SyncStats => ({ ...emptyStats(), ...partial });

/** A connector named `name` whose steps are plain functions of the run number. */
function connector(
  name: string,
  steps: StepDefinition[],
  run: Record<string, (ctx: StepContext, runNumber: number) => void | Promise<void>>,
): Connector & { runNumber: number } {
  return {
    name,
    runNumber: 1,
    steps: () => steps,
    async executeStep(stepId, ctx) {
      const fn = run[stepId];
      if (!fn) throw ConnectorError.unknownStep(stepId);
      await fn(ctx, this.runNumber);
    },
  };
}

/**
 * users -> roles (roles depends on users), hosts independent. Run 2 can make
 * `users` fail and `hosts` emit fewer rows.
 */
function directory(options: { usersFailOn?: number; hostsOnRun2?: string[] } = {}) {
  return connector(
    'directory',
    [step('users', 'Users').build(), step('roles', 'Roles').dependsOn(['users']).build(), step('hosts', 'Hosts').build()],
    {
      users(ctx, n) {
        if (options.usersFailOn === n) throw ConnectorError.api(503, '/users', 'users endpoint failed');
        ctx.emitEntity(entity('user', 'u-1').class('User').displayName('Ada'));
        ctx.emitEntity(entity('user', 'u-2').class('User').displayName('Grace'));
      },
      roles(ctx) {
        ctx.emitEntity(entity('role', 'admin').class('Role'));
        // Relies on users it may not have seen in this run.
        ctx.emitRelationship(relationship('user', 'u-1', 'ASSIGNED', 'role', 'admin'));
      },
      hosts(ctx, n) {
        const keys = n === 1 ? ['h-1', 'h-2'] : (options.hostsOnRun2 ?? ['h-1', 'h-2']);
        for (const key of keys) {
          ctx.emitEntity(entity('host', key).class('Host').property('os', 'linux'));
          ctx.emitRelationship(relationship('host', key, 'HAS', 'user', 'u-2'));
        }
      },
    },
  );
}

for (const streamed of [false, true]) describe(`commitSync through runConnector and the memory store (${streamed ? 'streamed into the store' : 'in memory'})`, () => {
  /** A run, streamed into `store` or kept in memory, then committed there. */
  const sync = async (store: GraphStore, c: Connector, options: Omit<RunOptions, 'store'>) =>
    commitSync(store, streamed ? await runConnector(c, { ...options, store }) : await runConnector(c, options));

  it('INV-C03: the committed rows carry the ids entityId()/relationshipId() derive, and each step as its source', async () => {
    const store = createMemoryStore();
    await sync(store, directory(), { accountId: 'acme', syncId: 'run-1' });
    const admin = await store.getEntity(entityId('acme', 'role', 'admin'));
    expect(admin).toMatchObject({ entityType: 'role', entityKey: 'admin', connectorId: 'directory', syncId: 'run-1', stepId: 'roles' });
    const link = await store.getRelationship(relationshipId('acme', 'user', 'u-1', 'ASSIGNED', 'role', 'admin'));
    expect(link).toMatchObject({ fromId: entityId('acme', 'user', 'u-1'), toId: entityId('acme', 'role', 'admin'), stepId: 'roles' });
  });

  it('+P2: running the same connector again writes nothing and reports every row unchanged', async () => {
    const store = createMemoryStore();
    const c = directory();
    const first = await sync(store, c, { accountId: 'acme', syncId: 'run-1' });
    expect(first.stats).toEqual(stats({ entitiesCreated: 5, relationshipsCreated: 3 }));
    c.runNumber = 2;
    const second = await sync(store, c, { accountId: 'acme', syncId: 'run-2' });
    expect(second.stats).toEqual(stats({ entitiesUnchanged: 5, relationshipsUnchanged: 3 }));
    expect(second.rowsWritten).toBe(0);
    const { items } = await store.listEntities();
    expect(items.every((e) => e.syncId === 'run-1')).toBe(true);
  });

  it('+P1: a failed step keeps its rows and its dependents\' rows; an independent step is diffed as usual', async () => {
    const store = createMemoryStore();
    const c = directory({ usersFailOn: 2, hostsOnRun2: ['h-1'] });
    await sync(store, c, { accountId: 'acme', syncId: 'run-1' });
    c.runNumber = 2;
    const output = await runConnector(c, { accountId: 'acme', syncId: 'run-2', ...(streamed ? { store } : {}) });
    expect(output.failedSteps).toEqual(['users']);
    expect(output.keptSteps).toEqual(['users', 'roles']);
    const result = await commitSync(store, output);
    // users' two rows are kept, roles' rows (re-emitted, downstream of the
    // failure) are unchanged; hosts drops h-2 and its relationship.
    expect(result.stats).toEqual(
      stats({
        entitiesKept: 2,
        entitiesUnchanged: 2,
        entitiesDeleted: 1,
        relationshipsUnchanged: 2,
        relationshipsDeleted: 1,
      }),
    );
    expect(await store.findEntity('acme', 'user', 'u-1')).toMatchObject({ syncId: 'run-1', stepId: 'users' });
    expect(await store.findEntity('acme', 'host', 'h-2')).toBeUndefined();
    const [record] = await store.syncHistory();
    expect(record).toMatchObject({ syncId: 'run-2', failedSteps: ['users'], keptSteps: ['users', 'roles'] });
  });

  it('INV-C04 with +P1: a relationship to an entity that only a kept step stored is accepted', async () => {
    const store = createMemoryStore();
    const c = directory({ usersFailOn: 2 });
    await sync(store, c, { accountId: 'acme', syncId: 'run-1' });
    c.runNumber = 2;
    const output = await runConnector(c, { accountId: 'acme', syncId: 'run-2', ...(streamed ? { store } : {}) });
    // u-1 and u-2 are not in this run's output at all; they exist because users is kept.
    expect(output.steps.find((s) => s.stepId === 'users')).toMatchObject({ status: 'failed' });
    if (output.mode === 'memory') expect(output.entities.some((e) => e.entityType === 'user')).toBe(false);
    await expect(commitSync(store, output)).resolves.toBeDefined();
  });

  it('INV-C04: when the failed step never stored its entities, the relationship to them fails the commit whole, naming it', async () => {
    const store = createMemoryStore();
    const error = await sync(store, directory({ usersFailOn: 1 }), { accountId: 'acme', syncId: 'run-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommitError);
    expect(error).toMatchObject({ code: 'DanglingRelationship', relationship: 'user:u-1 ASSIGNED role:admin' });
    expect((error as CommitError).toJSON()).toMatchObject({ code: 'DanglingRelationship', relationship: 'user:u-1 ASSIGNED role:admin' });
    expect(await store.counts()).toEqual({ entities: 0, relationships: 0, entitiesByClass: {}, relationshipsByVerb: {} });
    expect(await store.syncHistory()).toEqual([]);
  });

  it('INV-03: a connector dropping an entity cascades to another connector\'s relationships, counted', async () => {
    const store = createMemoryStore();
    const c = directory({ hostsOnRun2: ['h-1'] });
    await sync(store, c, { accountId: 'acme', syncId: 'run-1' });
    const scanner = connector('scanner', [step('scan', 'Scan').build()], {
      scan(ctx) {
        ctx.emitEntity(entity('scanner', 'nessus').class('Scanner'));
        ctx.emitRelationship(relationship('scanner', 'nessus', 'SCANS', 'host', 'h-2'));
        ctx.emitRelationship(relationship('scanner', 'nessus', 'SCANS', 'host', 'h-1'));
      },
    });
    await sync(store, scanner, { accountId: 'acme', syncId: 'scan-1' });
    c.runNumber = 2;
    const result = await sync(store, c, { accountId: 'acme', syncId: 'run-2' });
    expect(result.stats).toMatchObject({ entitiesDeleted: 1, relationshipsDeleted: 2, relationshipsCascaded: 1 });
    const scans = await store.listRelationships({ connectorId: 'scanner' });
    expect(scans.items.map((r) => r.toKey)).toEqual(['h-1']);
  });

  it('INV-C02: another connector\'s sync of the same account never touches these rows', async () => {
    const store = createMemoryStore();
    await sync(store, directory(), { accountId: 'acme', syncId: 'run-1' });
    const before = await store.listEntities({ connectorId: 'directory' });
    const empty = connector('other', [step('nothing', 'Nothing').build()], { nothing() {} });
    const result = await sync(store, empty, { accountId: 'acme', syncId: 'other-1' });
    expect(result.stats).toEqual(stats());
    expect(await store.listEntities({ connectorId: 'directory' })).toEqual(before);
  });

  it('+P4: an aborted run never reaches the store', async () => {
    const store = createMemoryStore();
    const controller = new AbortController();
    const c = connector('slow', [step('a', 'A').build()], {
      async a(ctx) {
        ctx.emitEntity(entity('host', 'h-1').class('Host'));
        controller.abort(new Error('stop'));
        await new Promise((resolve) => setTimeout(resolve, 1));
      },
    });
    await expect(runConnector(c, { accountId: 'acme', syncId: 'run-1', signal: controller.signal, ...(streamed ? { store } : {}) })).rejects.toThrow('stop');
    expect((await store.counts()).entities).toBe(0);
    // The run's staging was dropped: a sync under the same id is a first one.
    const again = await sync(store, directory(), { accountId: 'acme', syncId: 'run-1' });
    expect(again.stats.entitiesCreated).toBe(5);
  });

  it('DuplicateSyncId: committing the same run output twice is refused and changes nothing', async () => {
    const store = createMemoryStore();
    await sync(store, directory(), { accountId: 'acme', syncId: 'run-1' });
    const before = await store.listEntities();
    await expect(sync(store, directory(), { accountId: 'acme', syncId: 'run-1' })).rejects.toMatchObject({ name: 'CommitError', code: 'DuplicateSyncId', field: 'syncId' });
    expect(await store.listEntities()).toEqual(before);
    expect(await store.syncHistory()).toHaveLength(1);
  });
});

describe('commitSync of an input held in memory (REST ingest, runConnector without a store)', () => {
  const input = (over: Partial<SyncInput> = {}): SyncInput => ({
    connectorId: 'c',
    accountId: 'acme',
    syncId: 's1',
    entities: [{ entityType: 'host', entityKey: 'h-1', entityClass: 'Host', displayName: 'H', properties: { b: 1, a: ['x'] }, stepId: 'hosts' }],
    relationships: [{ fromType: 'host', fromKey: 'h-1', verb: 'HAS', toType: 'host', toKey: 'h-1', properties: {} }],
    ...over,
  });

  it('INV-C03: stores the derived ids, endpoint ids and canonical properties; rows without a step get DEFAULT_STEP_ID', async () => {
    const store = createMemoryStore();
    const result = await commitSync(store, input());
    expect(result.record).toMatchObject({ keptSteps: [], failedSteps: [] });
    expect(Number.isNaN(Date.parse(result.record.startedAt))).toBe(false);
    expect(await store.getEntity(entityId('acme', 'host', 'h-1'))).toMatchObject({ properties: { a: ['x'], b: 1 }, stepId: 'hosts' });
    expect(await store.getRelationship(relationshipId('acme', 'host', 'h-1', 'HAS', 'host', 'h-1'))).toMatchObject({
      fromId: entityId('acme', 'host', 'h-1'),
      toId: entityId('acme', 'host', 'h-1'),
      stepId: DEFAULT_STEP_ID,
    });
  });

  it('+P2: the content hash ignores property order but covers content, connector and step', () => {
    const e = input().entities[0]!;
    const hashOf = (over: Partial<typeof e> = {}, connectorId = 'c', accountId = 'acme') =>
      new RowPreparer(accountId, connectorId, over.stepId ?? e.stepId!).entity({ ...e, ...over }, entityId('acme', 'host', 'h-1')).hash;
    const base = hashOf();
    expect(hashOf({ properties: { a: ['x'], b: 1 } })).toBe(base);
    expect(hashOf({ properties: { a: ['x'], b: 2 } })).not.toBe(base);
    expect(hashOf({ displayName: 'other' })).not.toBe(base);
    expect(hashOf({ entityClass: 'Device' })).not.toBe(base);
    expect(hashOf({ stepId: 'other' })).not.toBe(base);
    expect(hashOf({}, 'other')).not.toBe(base);
    expect(hashOf({}, 'c', 'other')).toBe(base);
    expect(base).toMatch(/^[0-9a-f]{32}$/);
    expect(contentHash('x')).toMatch(/^[0-9a-f]{32}$/);
  });

  it.each([
    ['accountId', { accountId: '' }],
    ['syncId', { syncId: '' }],
    ['connectorId', { connectorId: '' }],
    ['entities', { entities: 'nope' as unknown as SyncInput['entities'] }],
    ['entities[0].properties.bad', { entities: [{ ...input().entities[0]!, properties: { bad: { nested: 1 } as never } }] }],
    ['entities[0].entityKey', { entities: [{ ...input().entities[0]!, entityKey: '' }] }],
    ['entities[0].stepId', { entities: [{ ...input().entities[0]!, stepId: 7 as never }] }],
    ['entities[1]', { entities: [input().entities[0]!, { ...input().entities[0]!, displayName: 'again' }] }],
    ['relationships[0].fromKey', { relationships: [{ ...input().relationships[0]!, fromKey: '' }] }],
    ['relationships[1]', { relationships: [input().relationships[0]!, input().relationships[0]!] }],
    // Every string a store keeps is valid Unicode (SQLite and D1 would store U+FFFD where memory keeps the surrogate).
    ['accountId', { accountId: 'acme\ud800' }],
    ['connectorId', { connectorId: '\udc00' }],
    ['syncId', { syncId: 's\ud800' }],
    ['entities[0].entityClass', { entities: [{ ...input().entities[0]!, entityClass: 'Host\ud800' }] }],
    ['entities[0].properties["k\\ud800"]', { entities: [{ ...input().entities[0]!, properties: { 'k\ud800': 1 } }] }],
    ['entities[0].properties.a', { entities: [{ ...input().entities[0]!, properties: { a: ['x', '\udfff'] } }] }],
    ['entities[0].stepId', { entities: [{ ...input().entities[0]!, stepId: 'hosts\ud800' }] }],
    ['relationships[0].verb', { relationships: [{ ...input().relationships[0]!, verb: 'HAS\udc00' }] }],
    ['relationships[0].properties.since', { relationships: [{ ...input().relationships[0]!, properties: { since: '\ud800' } }] }],
    ['relationships[0].stepId', { relationships: [{ ...input().relationships[0]!, stepId: '' }] }],
    ['failedSteps[1]', { failedSteps: ['hosts', 'x\ud800'] }],
    ['keptSteps[0]', { keptSteps: [5 as never] }],
    ['keptSteps', { keptSteps: 'hosts' as never }],
    ['startedAt', { startedAt: '2026\ud800' }],
    // Ids are stored beside every row: at most MAX_ID_BYTES.
    ['syncId', { syncId: 'é'.repeat(MAX_ID_BYTES / 2 + 1) }],
    ['entities[0].stepId', { entities: [{ ...input().entities[0]!, stepId: 's'.repeat(MAX_ID_BYTES + 1) }] }],
  ])('refuses a malformed input with InvalidBatch naming %s, and nothing is stored', async (field, over) => {
    const store = createMemoryStore();
    await expect(commitSync(store, input(over as Partial<SyncInput>))).rejects.toMatchObject({ name: 'CommitError', code: 'InvalidBatch', field });
    expect(await store.syncHistory()).toEqual([]);
    expect((await store.counts()).entities).toBe(0);
    // Its staging was dropped: the same sync, fixed, commits.
    await expect(commitSync(store, input())).resolves.toBeDefined();
  });

  it('SyncConflict: an input held in memory whose scope another commit changes under it is staged and committed again, once, from the input; a second conflict is refused whole', async () => {
    const store = createMemoryStore();
    const keys = Array.from({ length: 200 }, (_, i) => `h-${i + 1}`);
    const hosts = (syncId: string, connectorId: string, only = keys): SyncInput =>
      input({ syncId, connectorId, entities: only.map((entityKey) => ({ ...input().entities[0]!, entityKey })), relationships: [] });
    await commitSync(store, hosts('s1', 'c'));
    // Before the commit, connector `other` takes a host of `c`: the units `c` matched no longer hold.
    let takeovers = 0;
    const takeover = interleave(store, 1, () => commitSync(store, hosts(`o${++takeovers}`, 'other', ['h-50'])));
    const result = await commitSync(takeover, hosts('s2', 'c'));
    expect(takeovers).toBe(1);
    expect(result.stats).toEqual(stats({ entitiesUpdated: 1, entitiesUnchanged: 199 }));
    expect(await store.findEntity('acme', 'host', 'h-50')).toMatchObject({ connectorId: 'c', syncId: 's2' });

    // Before every commit, another sync of `c` lands (a cron run racing an ingest): the retry conflicts too.
    let races = 0;
    const racing = interleave(store, Number.POSITIVE_INFINITY, () => commitSync(store, hosts(`r${++races}`, 'c')));
    await expect(commitSync(racing, hosts('s3', 'c'))).rejects.toMatchObject({ code: 'SyncConflict' });
    expect(races).toBe(2);
    expect((await store.syncHistory({ connectorId: 'c' })).map((r) => r.syncId)).toEqual(['r2', 'r1', 's2', 's1']);
  });

  it('ids of exactly MAX_ID_BYTES are accepted', async () => {
    const id = 'é'.repeat(MAX_ID_BYTES / 2);
    const e = input().entities[0]!;
    await expect(
      commitSync(createMemoryStore(), input({ syncId: id, accountId: id, connectorId: id, entities: [{ ...e, stepId: id }], relationships: [], failedSteps: [id], keptSteps: [id] })),
    ).resolves.toBeDefined();
  });

  it('RowTooLarge: a row over MAX_ROW_BYTES is refused before anything is committed, naming the entity, the field and the limit', async () => {
    const store = createMemoryStore();
    const e = input().entities[0]!;
    const big = { ...e, entityKey: 'h-2', properties: { os: 'debian', blob: 'x'.repeat(2_500_000) } };
    const error = (await commitSync(store, input({ entities: [e, e, e, big].map((x, i) => ({ ...x, entityKey: `h-${i}` })), relationships: [] })).catch((x: unknown) => x)) as CommitError;
    expect(error).toBeInstanceOf(CommitError);
    expect(error).toMatchObject({ code: 'RowTooLarge', field: 'entities[3].properties.blob' });
    expect(error.message).toBe(
      'entities[3].properties.blob of entity host:h-3 is 2,500,013 bytes and makes the row 2,500,061 bytes, over the limit of 1,000,000 bytes a row (MAX_ROW_BYTES, measured as JSON text)',
    );
    expect(error.toJSON()).toEqual({ code: 'RowTooLarge', message: error.message, field: 'entities[3].properties.blob' });
    const r = input().relationships[0]!;
    await expect(commitSync(store, input({ relationships: [{ ...r, properties: { note: '\u0001'.repeat(200_000) } }] }))).rejects.toMatchObject({
      code: 'RowTooLarge',
      field: 'relationships[0].properties.note',
      message: expect.stringContaining('of relationship host:h-1 HAS host:h-1 is 1,400,013 bytes'),
    });
    expect(await store.syncHistory()).toEqual([]);
  });

  it('an unknown class or verb is not an input error (it was a warning at emit time)', async () => {
    const e = input().entities[0]!;
    const r = input().relationships[0]!;
    await expect(commitSync(createMemoryStore(), input({ entities: [{ ...e, entityClass: 'Spaceship' }], relationships: [{ ...r, verb: 'ORBITS' }] }))).resolves.toBeDefined();
  });

  it('commitSync rejects (does not throw synchronously) on a malformed input, and the store is untouched', async () => {
    const store = createMemoryStore();
    const pending = commitSync(store, input({ syncId: '' }));
    await expect(pending).rejects.toMatchObject({ code: 'InvalidBatch', field: 'syncId' });
    expect(await store.syncHistory()).toEqual([]);
  });

  it('a streamed output commits only into the store it was staged in, and only once', async () => {
    const store = createMemoryStore();
    const other = createMemoryStore();
    const output = await runConnector(directory(), { accountId: 'acme', syncId: 'run-1', store });
    await expect(commitSync(other, output)).rejects.toMatchObject({ code: 'InvalidBatch', field: 'store' });
    expect(await other.syncHistory()).toEqual([]);
    const result = await commitSync(store, output);
    expect(result.stats.entitiesCreated).toBe(5);
    await expect(commitSync(store, output)).rejects.toMatchObject({ code: 'InvalidBatch', field: 'output' });
  });
});
