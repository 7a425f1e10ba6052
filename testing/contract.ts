/**
 * The GraphStore contract suite: every adapter (memory, sqlite, d1 in workerd,
 * indexeddb in Chromium) calls `describeGraphStoreContract` with its factory,
 * the way unstorage's drivers share one driver test suite.
 *
 * Runtime-neutral on purpose: only `vitest` and `parallax-edge` imports, no
 * node:* modules, so the same file runs in Node, in workerd and in a browser.
 *
 * @example
 * describeGraphStoreContract('memory', () => createMemoryStore());
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CommitError,
  ConnectorError,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  MAX_ROW_BYTES,
  commitSync,
  entityId,
  relationshipId,
  runConnector,
  step,
  type CommitResult,
  type Connector,
  type EntityData,
  type GraphCounts,
  type GraphStore,
  type Page,
  type PageQuery,
  type Properties,
  type RelationshipData,
  type StoredEntity,
  type StoredRelationship,
  type SyncInput,
  type SyncRecord,
  type SyncStats,
} from 'parallax-edge';
import { DEFAULT_HISTORY_LIMIT, DEFAULT_STEP_ID, canonicalProperties, emptyStats, rowWrites, type SyncSession } from 'parallax-edge/adapter-kit';

export type OpenStore = () => Promise<GraphStore> | GraphStore;

/**
 * How the suites hand syncs to the store: `memory` commits an input held in
 * memory (`commitSync(store, input)`, as after `runConnector` without a
 * store or a REST ingest); `streaming` runs a connector that emits the
 * input into the store as it goes (`runConnector` with `store`, one unit a
 * chunk), then commits the staged run.
 */
export type SyncMode = 'memory' | 'streaming';

// ---------------------------------------------------------------------------
// Helpers, exported for the model-based suite and for adapter-specific tests.
// ---------------------------------------------------------------------------

export type EntityInput = EntityData & { readonly stepId?: string };
export type RelationshipInput = RelationshipData & { readonly stepId?: string };

/** An entity as a connector would emit it; class Generic, step `main` unless overridden. */
export function ent(type: string, key: string, over: Partial<EntityInput> = {}): EntityInput {
  return {
    entityType: type,
    entityKey: key,
    entityClass: 'Generic',
    displayName: `${type} ${key}`,
    properties: {},
    stepId: 'main',
    ...over,
  };
}

/** A relationship between two `type:key` endpoints; step `main` unless overridden. */
export function rel(from: string, verb: string, to: string, over: Partial<RelationshipInput> = {}): RelationshipInput {
  const [fromType, fromKey] = splitRef(from);
  const [toType, toKey] = splitRef(to);
  return { fromType, fromKey, verb, toType, toKey, properties: {}, stepId: 'main', ...over };
}

function splitRef(ref: string): [string, string] {
  const at = ref.indexOf(':');
  if (at <= 0) throw new Error(`test helper: "${ref}" is not type:key`);
  return [ref.slice(0, at), ref.slice(at + 1)];
}

/** `fromType:fromKey VERB toType:toKey`, the way CommitError names a relationship. */
export const relName = (r: RelationshipInput): string => `${r.fromType}:${r.fromKey} ${r.verb} ${r.toType}:${r.toKey}`;

export interface SyncParams {
  readonly syncId: string;
  readonly connectorId?: string;
  readonly accountId?: string;
  readonly entities?: readonly EntityInput[];
  readonly relationships?: readonly RelationshipInput[];
  readonly keptSteps?: readonly string[];
  readonly failedSteps?: readonly string[];
}

const STARTED_AT = '2026-01-01T00:00:00.000Z';
const FINISHED_AT = '2026-01-01T00:00:01.000Z';

/** A full SyncInput with fixed timestamps; connector `alpha`, account `acme` unless given. */
export function syncInput(p: SyncParams): SyncInput {
  return {
    connectorId: p.connectorId ?? 'alpha',
    accountId: p.accountId ?? 'acme',
    syncId: p.syncId,
    entities: p.entities ?? [],
    relationships: p.relationships ?? [],
    keptSteps: p.keptSteps ?? [],
    failedSteps: p.failedSteps ?? [],
    startedAt: STARTED_AT,
    finishedAt: FINISHED_AT,
  };
}

export function sync(store: GraphStore, p: SyncParams): Promise<CommitResult> {
  return commitSync(store, syncInput(p));
}

/**
 * A connector that emits `input` as a run would have: one step per step id
 * of its records, each emitting its own records in input order; a failed
 * step throws, and every other kept step runs after the first failed one, so
 * the run keeps exactly `keptSteps` (+P1). Throws for an input no run can
 * produce: records of a failed step, kept steps without a failed one, or a
 * failed step that is not kept.
 */
/**
 * The steps of {@link connectorOf} in definition order: kept steps first (a
 * run reports kept and failed steps in step order), then the others as
 * their records appear; an empty sync is one step that emits nothing.
 */
export function stepOrderOf(input: SyncInput): string[] {
  const stepOf = (r: { stepId?: string }): string => r.stepId ?? DEFAULT_STEP_ID;
  const used = [...new Set([...(input.keptSteps ?? []), ...input.entities.map(stepOf), ...input.relationships.map(stepOf), ...(input.failedSteps ?? [])])];
  return used.length > 0 ? used : [DEFAULT_STEP_ID];
}

export function connectorOf(input: SyncInput): Connector {
  const failed = [...(input.failedSteps ?? [])];
  const kept = new Set(input.keptSteps ?? []);
  const stepOf = (r: { stepId?: string }): string => r.stepId ?? DEFAULT_STEP_ID;
  const ids = stepOrderOf(input);
  const problem =
    failed.find((id) => !kept.has(id)) !== undefined
      ? 'a failed step that is not kept'
      : kept.size > 0 && failed.length === 0
        ? 'kept steps without a failed step'
        : [...input.entities, ...input.relationships].some((r) => failed.includes(stepOf(r)))
          ? 'records of a failed step'
          : undefined;
  if (problem) throw new Error(`connectorOf: no run emits ${problem}`);
  return {
    name: input.connectorId,
    steps: () => ids.map((id) => step(id, id).dependsOn(kept.has(id) && !failed.includes(id) ? [failed[0]!] : []).build()),
    async executeStep(stepId, ctx) {
      for (const e of input.entities) if (stepOf(e) === stepId) ctx.emitEntity(e).orThrow();
      for (const r of input.relationships) if (stepOf(r) === stepId) ctx.emitRelationship(r).orThrow();
      if (failed.includes(stepId)) throw ConnectorError.custom(`step "${stepId}" fails on purpose`);
    },
  };
}

/**
 * Streams `input` into `store` with {@link connectorOf} (`runConnector` with
 * `store`, then `commitSync`), at the input's timestamps; `verify` runs it
 * in verify mode.
 */
export async function streamSync(store: GraphStore, input: SyncInput, chunkRows = 1, options: { readonly verify?: boolean } = {}): Promise<CommitResult> {
  const times = [input.startedAt ?? STARTED_AT, input.finishedAt ?? FINISHED_AT];
  let calls = 0;
  const output = await runConnector(connectorOf(input), {
    accountId: input.accountId,
    syncId: input.syncId,
    store,
    chunkRows,
    ...(options.verify ? { verify: true } : {}),
    now: () => new Date(times[Math.min(calls++, 1)]!),
  });
  const broken = output.steps.find((s) => s.status === 'failed' && !(input.failedSteps ?? []).includes(s.stepId));
  if (broken) throw broken.error;
  return commitSync(store, output);
}

/** Full stats with the given counters set and every other one zero. */
export function stats(partial: Partial<SyncStats> = {}): SyncStats {
  return { ...emptyStats(), ...partial };
}

/** Every item of a paginated listing, walking `nextCursor` to the end. */
export async function listAll<T>(list: (query: PageQuery) => Promise<Page<T>>, limit: number = MAX_PAGE_SIZE): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100_000; pages++) {
    const page = await list(cursor === undefined ? { limit } : { limit, cursor });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    out.push(...page.items);
    if (page.nextCursor === undefined) return out;
    expect(page.items.length, 'a page with a nextCursor must not be empty').toBeGreaterThan(0);
    cursor = page.nextCursor;
  }
  throw new Error('listAll: pagination did not end');
}

export interface StoreDump {
  readonly entities: StoredEntity[];
  readonly relationships: StoredRelationship[];
  readonly counts: GraphCounts;
  readonly countsByAccount: Record<string, GraphCounts>;
  readonly history: SyncRecord[];
}

/** Everything a store shows through its read API: rows, counts, and history. */
export async function dumpStore(store: GraphStore, accounts: readonly string[] = ['acme', 'globex'], limit = MAX_PAGE_SIZE): Promise<StoreDump> {
  const countsByAccount: Record<string, GraphCounts> = {};
  for (const accountId of accounts) countsByAccount[accountId] = await store.counts({ accountId });
  return {
    entities: await listAll((q) => store.listEntities(q), limit),
    relationships: await listAll((q) => store.listRelationships(q), limit),
    counts: await store.counts(),
    countsByAccount,
    history: [...(await store.syncHistory({ limit: MAX_PAGE_SIZE }))],
  };
}

/** Runs `fn`, expecting a CommitError with this code; returns it. */
export async function expectCommitError(
  promise: Promise<unknown>,
  code: CommitError['code'],
  relationship?: string,
): Promise<CommitError> {
  let thrown: unknown;
  try {
    await promise;
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected a CommitError ${code}`).toBeInstanceOf(CommitError);
  const error = thrown as CommitError;
  expect(error.name).toBe('CommitError');
  expect(error.code).toBe(code);
  if (relationship !== undefined) expect(error.relationship).toBe(relationship);
  return error;
}

async function expectRangeError(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(RangeError);
}

const ids = (rows: readonly { id: string }[]): string[] => rows.map((r) => r.id);
const sorted = (values: readonly string[]): string[] => [...values].sort();
const eid = (accountId: string, ref: string): string => entityId(accountId, ...splitRef(ref));

// ---------------------------------------------------------------------------
// The contract.
// ---------------------------------------------------------------------------

export function describeGraphStoreContract(name: string, open: OpenStore, options: { readonly mode?: SyncMode } = {}): void {
  const mode = options.mode ?? 'memory';
  describe(`GraphStore contract: ${name} (${mode})`, () => {
    let store: GraphStore;
    const sync = (target: GraphStore, p: SyncParams): Promise<CommitResult> =>
      mode === 'memory' ? commitSync(target, syncInput(p)) : streamSync(target, syncInput(p));
    /** A test of what only an input in memory can express (failed steps that keep nothing, a reordered input). */
    const memoryOnly = mode === 'memory' ? it : undefined;

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      await store.close();
    });

    const dump = (): Promise<StoreDump> => dumpStore(store);
    const entityOf = (ref: string, accountId = 'acme') => store.getEntity(eid(accountId, ref));
    const relationshipOf = (r: RelationshipInput, accountId = 'acme') =>
      store.getRelationship(relationshipId(accountId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey));

    describe('INV-C03 ids and row sources', () => {
      it('INV-C03: stored entity ids equal entityId(accountId, type, key)', async () => {
        await sync(store, { syncId: 's1', entities: [ent('host', 'h-1'), ent('user', 'ü/🔑 1')] });
        const { entities } = await dump();
        expect(sorted(ids(entities))).toEqual(sorted([entityId('acme', 'host', 'h-1'), entityId('acme', 'user', 'ü/🔑 1')]));
        for (const e of entities) {
          expect(e.id).toBe(entityId(e.accountId, e.entityType, e.entityKey));
          expect(e.id).toMatch(/^[0-9a-f]{32}$/);
        }
      });

      it('INV-C03: stored relationship ids equal relationshipId(...), and fromId/toId are the endpoints\' entity ids', async () => {
        const r = rel('host:h-1', 'HAS', 'user:u-1');
        await sync(store, { syncId: 's1', entities: [ent('host', 'h-1'), ent('user', 'u-1')], relationships: [r] });
        const [stored, ...rest] = (await dump()).relationships;
        expect(rest).toEqual([]);
        expect(stored).toMatchObject({
          id: relationshipId('acme', 'host', 'h-1', 'HAS', 'user', 'u-1'),
          fromId: entityId('acme', 'host', 'h-1'),
          toId: entityId('acme', 'user', 'u-1'),
          fromType: 'host',
          fromKey: 'h-1',
          verb: 'HAS',
          toType: 'user',
          toKey: 'u-1',
        });
      });

      it('INV-C03: the same type and key in two accounts are two rows with different ids', async () => {
        await sync(store, { syncId: 's1', accountId: 'acme', entities: [ent('host', 'h-1')] });
        await sync(store, { syncId: 's1', accountId: 'globex', entities: [ent('host', 'h-1')] });
        const { entities } = await dump();
        expect(entities).toHaveLength(2);
        expect(sorted(ids(entities))).toEqual(sorted([entityId('acme', 'host', 'h-1'), entityId('globex', 'host', 'h-1')]));
      });

      it('every row records its account, connector, sync and step; a row without a step records DEFAULT_STEP_ID', async () => {
        await commitSync(store, {
          connectorId: 'alpha',
          accountId: 'acme',
          syncId: 's1',
          entities: [
            { entityType: 'host', entityKey: 'h-1', entityClass: 'Host', displayName: 'H1', properties: {}, stepId: 'hosts' },
            { entityType: 'user', entityKey: 'u-1', entityClass: 'User', displayName: 'U1', properties: {} },
          ],
          relationships: [{ fromType: 'host', fromKey: 'h-1', verb: 'HAS', toType: 'user', toKey: 'u-1', properties: {} }],
        });
        expect(await entityOf('host:h-1')).toEqual({
          id: eid('acme', 'host:h-1'),
          entityType: 'host',
          entityKey: 'h-1',
          entityClass: 'Host',
          displayName: 'H1',
          properties: {},
          accountId: 'acme',
          connectorId: 'alpha',
          syncId: 's1',
          stepId: 'hosts',
        });
        expect((await entityOf('user:u-1'))?.stepId).toBe(DEFAULT_STEP_ID);
        expect(await relationshipOf(rel('host:h-1', 'HAS', 'user:u-1'))).toEqual({
          id: relationshipId('acme', 'host', 'h-1', 'HAS', 'user', 'u-1'),
          fromId: eid('acme', 'host:h-1'),
          toId: eid('acme', 'user:u-1'),
          fromType: 'host',
          fromKey: 'h-1',
          verb: 'HAS',
          toType: 'user',
          toKey: 'u-1',
          properties: {},
          accountId: 'acme',
          connectorId: 'alpha',
          syncId: 's1',
          stepId: DEFAULT_STEP_ID,
        });
      });
    });

    describe('diff stats (create, update, unchanged, delete)', () => {
      const base = {
        entities: [ent('host', 'h-1', { properties: { os: 'linux' } }), ent('host', 'h-2'), ent('user', 'u-1')],
        relationships: [rel('host:h-1', 'HAS', 'user:u-1', { properties: { since: 2020 } }), rel('host:h-2', 'HAS', 'user:u-1')],
      };

      it('a first sync creates every row: exact stats, and rowsWritten counts each row once', async () => {
        const result = await sync(store, { syncId: 's1', ...base });
        expect(result.stats).toEqual(stats({ entitiesCreated: 3, relationshipsCreated: 2 }));
        expect(result.rowsWritten).toBe(5);
        expect(result.rowsWritten).toBe(rowWrites(result.stats));
        expect((await store.counts()).entities).toBe(3);
        expect((await store.counts()).relationships).toBe(2);
      });

      it('+P2: an unchanged re-sync writes nothing, counts every row unchanged, and each row keeps its old syncId', async () => {
        await sync(store, { syncId: 's1', ...base });
        const before = await dump();
        const result = await sync(store, { syncId: 's2', ...base });
        expect(result.stats).toEqual(stats({ entitiesUnchanged: 3, relationshipsUnchanged: 2 }));
        expect(result.rowsWritten).toBe(0);
        const after = await dump();
        expect(after.entities).toEqual(before.entities);
        expect(after.relationships).toEqual(before.relationships);
        for (const row of [...after.entities, ...after.relationships]) expect(row.syncId).toBe('s1');
        expect(after.history).toHaveLength(2);
      });

      it('+P2: property key order does not matter', async () => {
        const props = { a: 1, b: 'two', c: [ 'x' ], d: null };
        const reversed = Object.fromEntries(Object.entries(props).reverse()) as Properties;
        await sync(store, {
          syncId: 's1',
          entities: [ent('host', 'h-1', { properties: props }), ent('host', 'h-2')],
          relationships: [rel('host:h-1', 'HAS', 'host:h-2', { properties: props })],
        });
        const result = await sync(store, {
          syncId: 's2',
          entities: [ent('host', 'h-1', { properties: reversed }), ent('host', 'h-2')],
          relationships: [rel('host:h-1', 'HAS', 'host:h-2', { properties: reversed })],
        });
        expect(result.stats).toEqual(stats({ entitiesUnchanged: 2, relationshipsUnchanged: 1 }));
        expect(result.rowsWritten).toBe(0);
      });

      const entityChanges: [string, Partial<EntityInput>, Partial<EntityInput>][] = [
        ['a property value', { properties: { os: 'linux', n: 1 } }, { properties: { os: 'linux', n: 2 } }],
        ['a property value type (1 -> "1")', { properties: { n: 1 } }, { properties: { n: '1' } }],
        ['an added property', { properties: { os: 'linux' } }, { properties: { os: 'linux', extra: null } }],
        ['a removed property', { properties: { os: 'linux', extra: false } }, { properties: { os: 'linux' } }],
        ['the order of a string[]', { properties: { tags: ['a', 'b'] } }, { properties: { tags: ['b', 'a'] } }],
        ['the class', { entityClass: 'Host' }, { entityClass: 'Device' }],
        ['the display name', { displayName: 'old' }, { displayName: 'new' }],
        ['the step', { stepId: 'hosts' }, { stepId: 'inventory' }],
      ];
      it.each(entityChanges)('an entity counts as updated when only %s changes, and the row takes the new content and syncId', async (_what, before, after) => {
        await sync(store, { syncId: 's1', entities: [ent('host', 'h-1', before), ent('host', 'h-2')] });
        const result = await sync(store, { syncId: 's2', entities: [ent('host', 'h-1', after), ent('host', 'h-2')] });
        expect(result.stats).toEqual(stats({ entitiesUpdated: 1, entitiesUnchanged: 1 }));
        expect(result.rowsWritten).toBe(1);
        const expected = ent('host', 'h-1', after);
        expect(await entityOf('host:h-1')).toMatchObject({
          entityClass: expected.entityClass,
          displayName: expected.displayName,
          properties: expected.properties,
          stepId: expected.stepId,
          syncId: 's2',
        });
        expect((await entityOf('host:h-2'))?.syncId).toBe('s1');
      });

      const relationshipChanges: [string, Partial<RelationshipInput>, Partial<RelationshipInput>][] = [
        ['a property value', { properties: { since: 2020 } }, { properties: { since: 2021 } }],
        ['an added property', { properties: {} }, { properties: { via: 'sso' } }],
        ['the step', { stepId: 'links' }, { stepId: 'other-links' }],
      ];
      it.each(relationshipChanges)('a relationship counts as updated when only %s changes', async (_what, before, after) => {
        const entities = [ent('host', 'h-1'), ent('user', 'u-1')];
        await sync(store, { syncId: 's1', entities, relationships: [rel('host:h-1', 'HAS', 'user:u-1', before)] });
        const result = await sync(store, { syncId: 's2', entities, relationships: [rel('host:h-1', 'HAS', 'user:u-1', after)] });
        expect(result.stats).toEqual(stats({ entitiesUnchanged: 2, relationshipsUpdated: 1 }));
        expect(result.rowsWritten).toBe(1);
        const expected = rel('host:h-1', 'HAS', 'user:u-1', after);
        expect(await relationshipOf(expected)).toMatchObject({ properties: expected.properties, stepId: expected.stepId, syncId: 's2' });
      });

      it('rows the connector no longer emits are deleted and counted', async () => {
        await sync(store, { syncId: 's1', ...base });
        const result = await sync(store, {
          syncId: 's2',
          entities: [base.entities[0]!, base.entities[2]!],
          relationships: [base.relationships[0]!],
        });
        // h-2 is deleted; its relationship is in this connector's scope and not
        // re-emitted, so it is a diff delete, not a cascade.
        expect(result.stats).toEqual(stats({ entitiesUnchanged: 2, entitiesDeleted: 1, relationshipsUnchanged: 1, relationshipsDeleted: 1 }));
        expect(result.rowsWritten).toBe(2);
        expect(await entityOf('host:h-2')).toBeUndefined();
        expect(await relationshipOf(base.relationships[1]!)).toBeUndefined();
        expect((await store.counts()).entities).toBe(2);
      });

      it('one sync that creates, updates, leaves unchanged and deletes reports each exactly', async () => {
        await sync(store, {
          syncId: 's1',
          entities: [ent('host', 'same'), ent('host', 'changed'), ent('host', 'gone')],
          relationships: [rel('host:same', 'CONNECTS', 'host:changed'), rel('host:same', 'USES', 'host:changed'), rel('host:changed', 'USES', 'host:same')],
        });
        const result = await sync(store, {
          syncId: 's2',
          entities: [ent('host', 'same'), ent('host', 'changed', { displayName: 'renamed' }), ent('host', 'new-1'), ent('host', 'new-2')],
          relationships: [
            rel('host:same', 'CONNECTS', 'host:changed'),
            rel('host:same', 'USES', 'host:changed', { properties: { port: 443 } }),
            rel('host:new-1', 'CONNECTS', 'host:new-2'),
          ],
        });
        expect(result.stats).toEqual(
          stats({
            entitiesCreated: 2,
            entitiesUpdated: 1,
            entitiesUnchanged: 1,
            entitiesDeleted: 1,
            relationshipsCreated: 1,
            relationshipsUpdated: 1,
            relationshipsUnchanged: 1,
            relationshipsDeleted: 1,
          }),
        );
        expect(result.rowsWritten).toBe(2 + 1 + 1 + 1 + 1 + 1);
        const { entities, relationships } = await dump();
        expect(entities.map((e) => e.entityKey).sort()).toEqual(['changed', 'new-1', 'new-2', 'same']);
        expect(relationships).toHaveLength(3);
      });

      it('an empty sync of a connector with nothing stored writes nothing but is recorded', async () => {
        const result = await sync(store, { syncId: 's1' });
        expect(result.stats).toEqual(stats());
        expect(result.rowsWritten).toBe(0);
        expect(await store.syncHistory()).toHaveLength(1);
      });
    });

    describe('INV-C01 atomicity', () => {
      async function seed(): Promise<void> {
        await sync(store, {
          syncId: 's1',
          entities: [ent('host', 'h-1', { properties: { n: 1 } }), ent('host', 'h-2'), ent('user', 'u-1')],
          relationships: [rel('host:h-1', 'HAS', 'user:u-1'), rel('host:h-2', 'HAS', 'user:u-1')],
        });
        await sync(store, {
          syncId: 's2',
          connectorId: 'beta',
          entities: [ent('role', 'admin')],
          relationships: [rel('user:u-1', 'ASSIGNED', 'role:admin'), rel('host:h-2', 'USES', 'role:admin')],
        });
      }

      it('INV-C01: a commit rejected for a dangling relationship leaves the state byte-for-byte equal', async () => {
        await seed();
        const before = await dump();
        // This batch would create, update, delete (h-2) and cascade (beta's
        // h-2 USES role:admin) if it landed; its last relationship dangles.
        await expectCommitError(
          sync(store, {
            syncId: 's3',
            entities: [ent('host', 'h-1', { properties: { n: 2 } }), ent('user', 'u-1'), ent('host', 'h-3')],
            relationships: [rel('host:h-1', 'HAS', 'user:u-1'), rel('host:h-3', 'HAS', 'user:u-1'), rel('host:h-3', 'USES', 'host:missing')],
          }),
          'DanglingRelationship',
          'host:h-3 USES host:missing',
        );
        const after = await dump();
        expect(after).toStrictEqual(before);
        expect(JSON.stringify(after)).toBe(JSON.stringify(before));
        expect(after.counts).toEqual(before.counts);
        expect(after.history).toHaveLength(2);
      });

      it('INV-C01: a commit rejected for a duplicate sync id leaves the state byte-for-byte equal', async () => {
        await seed();
        const before = await dump();
        await expectCommitError(sync(store, { syncId: 's1', entities: [ent('host', 'h-9')] }), 'DuplicateSyncId');
        // The same sync id from another connector of the account is refused too.
        await expectCommitError(sync(store, { syncId: 's1', connectorId: 'beta' }), 'DuplicateSyncId');
        const after = await dump();
        expect(after).toStrictEqual(before);
        expect(JSON.stringify(after)).toBe(JSON.stringify(before));
        expect(after.history).toHaveLength(2);
      });

      it('INV-C01: a rejected commit does not use up its sync id: the fixed batch commits under the same id', async () => {
        await seed();
        await expectCommitError(
          sync(store, { syncId: 's3', entities: [ent('host', 'h-3')], relationships: [rel('host:h-3', 'HAS', 'user:nobody')] }),
          'DanglingRelationship',
        );
        const result = await sync(store, {
          syncId: 's3',
          entities: [ent('host', 'h-1', { properties: { n: 1 } }), ent('host', 'h-2'), ent('user', 'u-1'), ent('host', 'h-3')],
          relationships: [rel('host:h-1', 'HAS', 'user:u-1'), rel('host:h-2', 'HAS', 'user:u-1')],
        });
        expect(result.stats).toEqual(stats({ entitiesCreated: 1, entitiesUnchanged: 3, relationshipsUnchanged: 2 }));
        expect((await store.syncHistory()).map((r) => r.syncId)).toEqual(['s3', 's2', 's1']);
      });
    });

    describe('INV-C02 connector scope and last writer wins', () => {
      it('INV-C02: connector B\'s rows survive connector A\'s syncs, even one that emits nothing', async () => {
        await sync(store, { syncId: 'a1', connectorId: 'alpha', entities: [ent('host', 'a-1'), ent('host', 'a-2')], relationships: [rel('host:a-1', 'CONNECTS', 'host:a-2')] });
        await sync(store, { syncId: 'b1', connectorId: 'beta', entities: [ent('user', 'b-1'), ent('user', 'b-2')], relationships: [rel('user:b-1', 'TRUSTS', 'user:b-2')] });
        const betaBefore = await listAll((q) => store.listEntities({ ...q, connectorId: 'beta' }));
        const betaRelsBefore = await listAll((q) => store.listRelationships({ ...q, connectorId: 'beta' }));

        const changed = await sync(store, { syncId: 'a2', connectorId: 'alpha', entities: [ent('host', 'a-1', { displayName: 'renamed' })] });
        expect(changed.stats).toEqual(stats({ entitiesUpdated: 1, entitiesDeleted: 1, relationshipsDeleted: 1 }));
        const empty = await sync(store, { syncId: 'a3', connectorId: 'alpha' });
        expect(empty.stats).toEqual(stats({ entitiesDeleted: 1 }));

        expect(await listAll((q) => store.listEntities({ ...q, connectorId: 'beta' }))).toEqual(betaBefore);
        expect(await listAll((q) => store.listRelationships({ ...q, connectorId: 'beta' }))).toEqual(betaRelsBefore);
        expect(await listAll((q) => store.listEntities({ ...q, connectorId: 'alpha' }))).toEqual([]);
        expect(await store.counts()).toMatchObject({ entities: 2, relationships: 1 });
      });

      it('INV-C02: the scope is (account, connector): a sync in one account leaves the same connector\'s rows in another alone', async () => {
        await sync(store, { syncId: 's1', accountId: 'acme', entities: [ent('host', 'h-1')] });
        await sync(store, { syncId: 's1', accountId: 'globex', entities: [ent('host', 'h-1'), ent('host', 'h-2')] });
        const result = await sync(store, { syncId: 's2', accountId: 'acme' });
        expect(result.stats).toEqual(stats({ entitiesDeleted: 1 }));
        expect((await store.counts({ accountId: 'acme' })).entities).toBe(0);
        expect((await store.counts({ accountId: 'globex' })).entities).toBe(2);
      });

      it('INV-C02: last writer wins: a shared entity belongs to the connector that committed it last, and the first owner\'s later sync that omits it does not delete it', async () => {
        await sync(store, { syncId: 'a1', connectorId: 'alpha', entities: [ent('host', 'shared'), ent('host', 'a-only')] });
        const takeover = await sync(store, { syncId: 'b1', connectorId: 'beta', entities: [ent('host', 'shared')] });
        // Same content, new source: an update.
        expect(takeover.stats).toEqual(stats({ entitiesUpdated: 1 }));
        expect(await entityOf('host:shared')).toMatchObject({ connectorId: 'beta', syncId: 'b1' });

        const alphaOmits = await sync(store, { syncId: 'a2', connectorId: 'alpha', entities: [ent('host', 'a-only')] });
        expect(alphaOmits.stats).toEqual(stats({ entitiesUnchanged: 1 }));
        expect(await entityOf('host:shared')).toMatchObject({ connectorId: 'beta', syncId: 'b1' });

        const betaOmits = await sync(store, { syncId: 'b2', connectorId: 'beta' });
        expect(betaOmits.stats).toEqual(stats({ entitiesDeleted: 1 }));
        expect(await entityOf('host:shared')).toBeUndefined();
      });

      it('INV-C02: last writer wins for a shared relationship too', async () => {
        const link = rel('host:h-1', 'CONNECTS', 'host:h-2');
        await sync(store, { syncId: 'a1', connectorId: 'alpha', entities: [ent('host', 'h-1'), ent('host', 'h-2')], relationships: [link] });
        const takeover = await sync(store, { syncId: 'b1', connectorId: 'beta', relationships: [link] });
        expect(takeover.stats).toEqual(stats({ relationshipsUpdated: 1 }));
        expect(await relationshipOf(link)).toMatchObject({ connectorId: 'beta', syncId: 'b1' });
        const alphaOmits = await sync(store, { syncId: 'a2', connectorId: 'alpha', entities: [ent('host', 'h-1'), ent('host', 'h-2')] });
        expect(alphaOmits.stats).toEqual(stats({ entitiesUnchanged: 2 }));
        expect(await relationshipOf(link)).toMatchObject({ connectorId: 'beta' });
      });
    });

    describe('INV-C04 dangling relationships', () => {
      it('INV-C04: rejects a relationship whose target exists neither in the batch nor in the graph, and commits nothing', async () => {
        const error = await expectCommitError(
          sync(store, { syncId: 's1', entities: [ent('host', 'h-1')], relationships: [rel('host:h-1', 'HAS', 'user:ghost')] }),
          'DanglingRelationship',
          'host:h-1 HAS user:ghost',
        );
        expect(error.message).toContain('host:h-1 HAS user:ghost');
        expect(await dump()).toMatchObject({ entities: [], relationships: [], history: [] });
      });

      it('INV-C04: rejects a relationship whose source is missing entirely', async () => {
        await expectCommitError(
          sync(store, { syncId: 's1', entities: [ent('user', 'u-1')], relationships: [rel('host:ghost', 'HAS', 'user:u-1')] }),
          'DanglingRelationship',
          'host:ghost HAS user:u-1',
        );
        expect((await store.counts()).entities).toBe(0);
      });

      it('INV-C04: rejects a relationship to an entity that exists now but this very commit deletes', async () => {
        await sync(store, { syncId: 's1', entities: [ent('host', 'h-1'), ent('user', 'u-1')] });
        const before = await dump();
        await expectCommitError(
          sync(store, { syncId: 's2', entities: [ent('host', 'h-1')], relationships: [rel('host:h-1', 'HAS', 'user:u-1')] }),
          'DanglingRelationship',
          'host:h-1 HAS user:u-1',
        );
        expect(await dump()).toStrictEqual(before);
      });

      it('INV-C04: accepts a relationship to an entity another connector owns', async () => {
        await sync(store, { syncId: 'b1', connectorId: 'beta', entities: [ent('user', 'u-1')] });
        const result = await sync(store, {
          syncId: 'a1',
          connectorId: 'alpha',
          entities: [ent('host', 'h-1')],
          relationships: [rel('host:h-1', 'HAS', 'user:u-1')],
        });
        expect(result.stats).toEqual(stats({ entitiesCreated: 1, relationshipsCreated: 1 }));
        expect(await relationshipOf(rel('host:h-1', 'HAS', 'user:u-1'))).toMatchObject({ connectorId: 'alpha', toId: eid('acme', 'user:u-1') });
        expect(await entityOf('user:u-1')).toMatchObject({ connectorId: 'beta' });
      });

      it('INV-C04: accepts a relationship to a stored entity that +P1 keeps', async () => {
        await sync(store, { syncId: 's1', entities: [ent('user', 'u-1', { stepId: 'users' }), ent('host', 'h-1', { stepId: 'hosts' })] });
        const result = await sync(store, {
          syncId: 's2',
          entities: [ent('host', 'h-1', { stepId: 'hosts' })],
          relationships: [rel('host:h-1', 'HAS', 'user:u-1', { stepId: 'hosts' })],
          keptSteps: ['users'],
          failedSteps: ['users'],
        });
        expect(result.stats).toEqual(stats({ entitiesUnchanged: 1, entitiesKept: 1, relationshipsCreated: 1 }));
      });

      it('INV-C04: an entity of another account is not an endpoint', async () => {
        await sync(store, { syncId: 's1', accountId: 'globex', entities: [ent('user', 'u-1')] });
        await expectCommitError(
          sync(store, { syncId: 's1', accountId: 'acme', entities: [ent('host', 'h-1')], relationships: [rel('host:h-1', 'HAS', 'user:u-1')] }),
          'DanglingRelationship',
          'host:h-1 HAS user:u-1',
        );
      });

      it('INV-C04: the error names the first dangling relationship in batch order', async () => {
        await expectCommitError(
          sync(store, {
            syncId: 's1',
            entities: [ent('host', 'h-1'), ent('host', 'h-2')],
            relationships: [rel('host:h-1', 'CONNECTS', 'host:h-2'), rel('host:h-2', 'USES', 'host:zz'), rel('host:aa', 'USES', 'host:h-1')],
          }),
          'DanglingRelationship',
          'host:h-2 USES host:zz',
        );
      });
    });

    describe('INV-03 cascade', () => {
      it('INV-03: deleting an entity deletes every relationship touching it, from any connector, counted as cascaded', async () => {
        await sync(store, {
          syncId: 'a1',
          connectorId: 'alpha',
          entities: [ent('host', 'h-1'), ent('host', 'h-2')],
          relationships: [rel('host:h-1', 'CONNECTS', 'host:h-2')],
        });
        await sync(store, {
          syncId: 'b1',
          connectorId: 'beta',
          entities: [ent('user', 'u-1')],
          relationships: [
            rel('user:u-1', 'USES', 'host:h-1'), // incoming to h-1
            rel('host:h-1', 'HAS', 'user:u-1'), // outgoing from h-1
            rel('user:u-1', 'USES', 'host:h-2'), // untouched
          ],
        });
        const result = await sync(store, { syncId: 'a2', connectorId: 'alpha', entities: [ent('host', 'h-2')] });
        // alpha's own CONNECTS is a diff delete; beta's two rows touching h-1 are cascaded.
        expect(result.stats).toEqual(stats({ entitiesUnchanged: 1, entitiesDeleted: 1, relationshipsDeleted: 3, relationshipsCascaded: 2 }));
        expect(result.rowsWritten).toBe(4);
        const { entities, relationships } = await dump();
        expect(relationships.map(relName)).toEqual(['user:u-1 USES host:h-2']);
        const entityIds = new Set(ids(entities));
        for (const r of relationships) {
          expect(entityIds.has(r.fromId) && entityIds.has(r.toId), `${relName(r)} dangles`).toBe(true);
        }
        expect(await store.counts()).toEqual({ entities: 2, relationships: 1, entitiesByClass: { Generic: 2 }, relationshipsByVerb: { USES: 1 } });
      });

      it('INV-03: the cascade reaches relationships of other connectors in the same account only', async () => {
        await sync(store, { syncId: 's1', accountId: 'globex', entities: [ent('host', 'h-1'), ent('user', 'u-1')], relationships: [rel('user:u-1', 'USES', 'host:h-1')] });
        await sync(store, { syncId: 'a1', connectorId: 'alpha', entities: [ent('host', 'h-1')] });
        await sync(store, { syncId: 'b1', connectorId: 'beta', entities: [ent('user', 'u-1')], relationships: [rel('user:u-1', 'USES', 'host:h-1')] });
        const result = await sync(store, { syncId: 'a2', connectorId: 'alpha' });
        expect(result.stats).toEqual(stats({ entitiesDeleted: 1, relationshipsDeleted: 1, relationshipsCascaded: 1 }));
        expect((await store.counts({ accountId: 'globex' })).relationships).toBe(1);
        expect((await store.counts({ accountId: 'acme' })).relationships).toBe(0);
      });
    });

    // SQL stores record an unchanged re-sync from a digest of the scope without
    // staging (adapters/sql/scope.ts); these sequences would fool a digest that
    // missed other writers. Every store must give the reference's answers.
    describe('+P2 the same batch again after other writes', () => {
      it('+P2/INV-C02: the same batch again after another connector took an entity over takes it back as updated', async () => {
        const alpha = { connectorId: 'alpha', entities: [ent('host', 'shared'), ent('host', 'a-only')] };
        await sync(store, { syncId: 'a1', ...alpha });
        expect((await sync(store, { syncId: 'a2', ...alpha })).stats).toEqual(stats({ entitiesUnchanged: 2 }));
        await sync(store, { syncId: 'b1', connectorId: 'beta', entities: [ent('host', 'shared')] });
        const again = await sync(store, { syncId: 'a3', ...alpha });
        expect(again.stats).toEqual(stats({ entitiesUpdated: 1, entitiesUnchanged: 1 }));
        expect(again.rowsWritten).toBe(1);
        expect(await entityOf('host:shared')).toMatchObject({ connectorId: 'alpha', syncId: 'a3' });
        expect((await sync(store, { syncId: 'a4', ...alpha })).stats).toEqual(stats({ entitiesUnchanged: 2 }));
      });

      it('+P2/INV-C02: the same batch again after another connector took a relationship over takes it back as updated', async () => {
        const link = rel('host:h-1', 'CONNECTS', 'host:h-2');
        const alpha = { connectorId: 'alpha', entities: [ent('host', 'h-1'), ent('host', 'h-2')], relationships: [link] };
        await sync(store, { syncId: 'a1', ...alpha });
        await sync(store, { syncId: 'a2', ...alpha });
        await sync(store, { syncId: 'b1', connectorId: 'beta', relationships: [link] });
        const again = await sync(store, { syncId: 'a3', ...alpha });
        expect(again.stats).toEqual(stats({ entitiesUnchanged: 2, relationshipsUpdated: 1 }));
        expect(await relationshipOf(link)).toMatchObject({ connectorId: 'alpha', syncId: 'a3' });
      });

      it('+P2/INV-03: the same batch again after another connector\'s sync cascaded its relationship away is refused for the dangling relationship (INV-C04), and commits once the endpoint is back', async () => {
        const beta = { connectorId: 'beta', entities: [ent('user', 'u-1')] };
        const alpha = { connectorId: 'alpha', entities: [ent('host', 'h-1')], relationships: [rel('host:h-1', 'USES', 'user:u-1')] };
        await sync(store, { syncId: 'b1', ...beta });
        await sync(store, { syncId: 'a1', ...alpha });
        expect((await sync(store, { syncId: 'a2', ...alpha })).stats).toEqual(stats({ entitiesUnchanged: 1, relationshipsUnchanged: 1 }));
        const betaEmpty = await sync(store, { syncId: 'b2', connectorId: 'beta' });
        expect(betaEmpty.stats).toEqual(stats({ entitiesDeleted: 1, relationshipsDeleted: 1, relationshipsCascaded: 1 }));
        const before = await dump();
        await expectCommitError(sync(store, { syncId: 'a3', ...alpha }), 'DanglingRelationship', 'host:h-1 USES user:u-1');
        expect(await dump()).toEqual(before);
        await sync(store, { syncId: 'b3', ...beta });
        const back = await sync(store, { syncId: 'a3', ...alpha });
        expect(back.stats).toEqual(stats({ entitiesUnchanged: 1, relationshipsCreated: 1 }));
      });

      it('+P2/+P1: after a run that kept rows, a complete run that no longer emits them deletes them', async () => {
        const full = { entities: [ent('user', 'u-1', { stepId: 'users' }), ent('host', 'h-1', { stepId: 'hosts' })] };
        await sync(store, { syncId: 's1', ...full });
        await sync(store, { syncId: 's2', ...full });
        const partial = await sync(store, { syncId: 's3', entities: [ent('host', 'h-1', { stepId: 'hosts' })], keptSteps: ['users'], failedSteps: ['users'] });
        expect(partial.stats).toEqual(stats({ entitiesUnchanged: 1, entitiesKept: 1 }));
        // The scope now holds more than the last batch: the same rows without kept steps are a diff, not an unchanged re-sync.
        const complete = await sync(store, { syncId: 's4', entities: [ent('host', 'h-1', { stepId: 'hosts' })] });
        expect(complete.stats).toEqual(stats({ entitiesUnchanged: 1, entitiesDeleted: 1 }));
        expect(await entityOf('user:u-1')).toBeUndefined();
      });

      memoryOnly?.('+P2: a batch equal to the stored rows in another order, and a repeat with a new sync id, are unchanged; its record is the sync\'s own', async () => {
        const entities = [ent('host', 'h-1'), ent('host', 'h-2'), ent('user', 'u-1')];
        const relationships = [rel('host:h-1', 'CONNECTS', 'host:h-2'), rel('user:u-1', 'USES', 'host:h-1')];
        await sync(store, { syncId: 's1', entities, relationships });
        const again = await commitSync(store, {
          ...syncInput({ syncId: 's2', entities: [...entities].reverse(), relationships: [...relationships].reverse() }),
          startedAt: '2026-01-02T00:00:00.000Z',
          finishedAt: '2026-01-02T00:01:00.000Z',
        });
        expect(again.stats).toEqual(stats({ entitiesUnchanged: 3, relationshipsUnchanged: 2 }));
        expect(again.rowsWritten).toBe(0);
        expect(again.record).toMatchObject({ syncId: 's2', connectorId: 'alpha', accountId: 'acme', startedAt: '2026-01-02T00:00:00.000Z', finishedAt: '2026-01-02T00:01:00.000Z', failedSteps: [], keptSteps: [] });
        expect((await store.syncHistory({ limit: 1 }))[0]).toEqual(again.record);
        await expectCommitError(sync(store, { syncId: 's2', entities, relationships }), 'DuplicateSyncId');
      });

      it('+P2: the same output again under a sync id already committed is refused with DuplicateSyncId, and nothing changes', async () => {
        const output = { entities: [ent('host', 'h-1'), ent('host', 'h-2')], relationships: [rel('host:h-1', 'CONNECTS', 'host:h-2')] };
        await sync(store, { syncId: 's1', ...output });
        await sync(store, { syncId: 's2', ...output });
        const before = await dump();
        for (const syncId of ['s1', 's2']) await expectCommitError(sync(store, { syncId, ...output }), 'DuplicateSyncId');
        expect(await dump()).toStrictEqual(before);
      });

      it('+P2/+P1: after a run that kept rows, the same units are not trusted: the next identical complete output is a full commit', async () => {
        const complete = { entities: [ent('host', 'h-1', { stepId: 'hosts' }), ent('user', 'u-1', { stepId: 'users' })] };
        await sync(store, { syncId: 's1', ...complete });
        const partial = await sync(store, { syncId: 's2', entities: [ent('host', 'h-1', { stepId: 'hosts' }), ent('host', 'h-2', { stepId: 'hosts' })], keptSteps: ['users'], failedSteps: ['users'] });
        expect(partial.stats).toEqual(stats({ entitiesUnchanged: 1, entitiesCreated: 1, entitiesKept: 1 }));
        const again = await sync(store, { syncId: 's3', ...complete });
        expect(again.stats).toEqual(stats({ entitiesUnchanged: 2, entitiesDeleted: 1 }));
        expect(await entityOf('host:h-2')).toBeUndefined();
      });

      memoryOnly?.('+P2: an unchanged output that names failed steps without keeping any records them as given', async () => {
        const output = { entities: [ent('host', 'h-1')] };
        await sync(store, { syncId: 's1', ...output });
        const again = await sync(store, { syncId: 's2', ...output, failedSteps: ['users'] });
        expect(again.stats).toEqual(stats({ entitiesUnchanged: 1 }));
        expect(again.record).toMatchObject({ failedSteps: ['users'], keptSteps: [] });
        expect((await store.syncHistory({ limit: 1 }))[0]).toEqual(again.record);
      });
    });

    describe('+P1 partial data is kept', () => {
      it('+P1: rows of kept steps survive when not re-emitted, and are counted as kept', async () => {
        await sync(store, {
          syncId: 's1',
          entities: [ent('user', 'u-1', { stepId: 'users' }), ent('user', 'u-2', { stepId: 'users' }), ent('host', 'h-1', { stepId: 'hosts' }), ent('host', 'h-2', { stepId: 'hosts' })],
          relationships: [rel('user:u-1', 'USES', 'user:u-2', { stepId: 'users' }), rel('host:h-1', 'CONNECTS', 'host:h-2', { stepId: 'hosts' })],
        });
        const before = await dump();
        const result = await sync(store, {
          syncId: 's2',
          entities: [ent('host', 'h-1', { stepId: 'hosts' })],
          keptSteps: ['users'],
          failedSteps: ['users'],
        });
        expect(result.stats).toEqual(
          stats({ entitiesUnchanged: 1, entitiesKept: 2, entitiesDeleted: 1, relationshipsKept: 1, relationshipsDeleted: 1 }),
        );
        expect(result.rowsWritten).toBe(2);
        const after = await dump();
        // Kept rows are untouched: same content, same source, same syncId.
        const users = (d: StoreDump) => d.entities.filter((e) => e.stepId === 'users');
        expect(users(after)).toEqual(users(before));
        expect(after.relationships.map(relName)).toEqual(['user:u-1 USES user:u-2']);
        expect(after.relationships[0]?.syncId).toBe('s1');
      });

      it('+P1: a kept-step row that is re-emitted is diffed as usual, not counted as kept', async () => {
        await sync(store, { syncId: 's1', entities: [ent('user', 'u-1', { stepId: 'users' }), ent('user', 'u-2', { stepId: 'users' })] });
        const result = await sync(store, {
          syncId: 's2',
          entities: [ent('user', 'u-1', { stepId: 'users', displayName: 'changed' })],
          // users ran downstream of a failed step, so its stored rows are kept.
          keptSteps: ['accounts', 'users'],
          failedSteps: ['accounts'],
        });
        expect(result.stats).toEqual(stats({ entitiesUpdated: 1, entitiesKept: 1 }));
      });

      it('+P1: a kept relationship touching a deleted entity is cascaded', async () => {
        await sync(store, {
          syncId: 's1',
          entities: [ent('user', 'u-1', { stepId: 'users' }), ent('host', 'h-1', { stepId: 'hosts' })],
          relationships: [rel('user:u-1', 'USES', 'host:h-1', { stepId: 'users' })],
        });
        const result = await sync(store, { syncId: 's2', keptSteps: ['users'], failedSteps: ['users'] });
        expect(result.stats).toEqual(stats({ entitiesKept: 1, entitiesDeleted: 1, relationshipsDeleted: 1, relationshipsCascaded: 1 }));
        expect((await dump()).relationships).toEqual([]);
        expect(await entityOf('user:u-1')).toBeDefined();
      });

      it('+P1: keptSteps and failedSteps are recorded in history as given', async () => {
        const result = await sync(store, { syncId: 's1', keptSteps: ['users', 'roles'], failedSteps: ['users'] });
        expect(result.record).toMatchObject({ keptSteps: ['users', 'roles'], failedSteps: ['users'] });
        const [record] = await store.syncHistory();
        expect(record).toMatchObject({ keptSteps: ['users', 'roles'], failedSteps: ['users'] });
      });
    });

    describe('sync ids', () => {
      it('a reused syncId is refused with DuplicateSyncId and nothing changes', async () => {
        await sync(store, { syncId: 's1', entities: [ent('host', 'h-1')] });
        const before = await dump();
        const error = await expectCommitError(sync(store, { syncId: 's1', entities: [ent('host', 'h-2')] }), 'DuplicateSyncId');
        expect(error.field).toBe('syncId');
        expect(error.message).toContain('s1');
        expect(await dump()).toStrictEqual(before);
      });

      it('the same syncId in a different account is fine', async () => {
        await sync(store, { syncId: 's1', accountId: 'acme', entities: [ent('host', 'h-1')] });
        const result = await sync(store, { syncId: 's1', accountId: 'globex', entities: [ent('host', 'h-1')] });
        expect(result.stats).toEqual(stats({ entitiesCreated: 1 }));
        expect((await store.syncHistory()).map((r) => [r.accountId, r.syncId])).toEqual([
          ['globex', 's1'],
          ['acme', 's1'],
        ]);
      });
    });

    describe('reads', () => {
      async function seedGraph(): Promise<void> {
        await sync(store, {
          syncId: 'a1',
          connectorId: 'alpha',
          entities: [
            ent('host', 'h-1', { entityClass: 'Host' }),
            ent('host', 'h-2', { entityClass: 'Host' }),
            ent('host', 'h-3', { entityClass: 'Host' }),
            ent('user', 'u-1', { entityClass: 'User' }),
            ent('user', 'u-2', { entityClass: 'User' }),
          ],
          relationships: [
            rel('host:h-1', 'HAS', 'user:u-1'),
            rel('host:h-1', 'HAS', 'user:u-2'),
            rel('host:h-2', 'HAS', 'user:u-1'),
            rel('user:u-1', 'USES', 'host:h-1'),
            rel('host:h-1', 'CONNECTS', 'host:h-1'),
          ],
        });
        await sync(store, {
          syncId: 'b1',
          connectorId: 'beta',
          entities: [ent('role', 'admin', { entityClass: 'Role' }), ent('svc', 'api', { entityClass: 'Host' })],
          relationships: [rel('user:u-1', 'ASSIGNED', 'role:admin'), rel('svc:api', 'RUNS', 'host:h-1')],
        });
        await sync(store, { syncId: 'g1', accountId: 'globex', entities: [ent('host', 'h-1', { entityClass: 'Host' }), ent('user', 'u-9', { entityClass: 'User' })], relationships: [rel('host:h-1', 'HAS', 'user:u-9')] });
      }

      it('getEntity returns the stored row; an unknown id gives undefined', async () => {
        await seedGraph();
        expect(await entityOf('role:admin')).toMatchObject({ entityType: 'role', entityKey: 'admin', entityClass: 'Role', connectorId: 'beta', syncId: 'b1' });
        expect(await store.getEntity(entityId('acme', 'role', 'nobody'))).toBeUndefined();
        expect(await store.getEntity('not-an-id')).toBeUndefined();
      });

      it('findEntity finds by (account, type, key), and only in that account', async () => {
        await seedGraph();
        expect(await store.findEntity('acme', 'user', 'u-2')).toEqual(await entityOf('user:u-2'));
        expect(await store.findEntity('globex', 'user', 'u-9')).toMatchObject({ accountId: 'globex', id: entityId('globex', 'user', 'u-9') });
        expect(await store.findEntity('acme', 'user', 'u-9')).toBeUndefined();
        expect(await store.findEntity('acme', 'role', 'u-2')).toBeUndefined();
      });

      it('getRelationship returns the stored row; an unknown id gives undefined', async () => {
        await seedGraph();
        const r = rel('svc:api', 'RUNS', 'host:h-1');
        expect(await relationshipOf(r)).toMatchObject({ ...r, stepId: 'main', connectorId: 'beta', fromId: eid('acme', 'svc:api'), toId: eid('acme', 'host:h-1') });
        expect(await relationshipOf(rel('host:h-1', 'RUNS', 'svc:api'))).toBeUndefined();
      });

      it('listEntities filters by type, class, connectorId and accountId, alone and combined, ordered by id', async () => {
        await seedGraph();
        const all = await listAll((q) => store.listEntities(q));
        expect(all).toHaveLength(9);
        expect(ids(all)).toEqual(sorted(ids(all)));
        const check = async (query: { type?: string; class?: string; connectorId?: string; accountId?: string }, expected: StoredEntity[]) => {
          const got = await listAll((q) => store.listEntities({ ...query, ...q }));
          expect(got, JSON.stringify(query)).toEqual(expected);
        };
        await check({ type: 'host' }, all.filter((e) => e.entityType === 'host'));
        await check({ class: 'Host' }, all.filter((e) => e.entityClass === 'Host'));
        await check({ connectorId: 'beta' }, all.filter((e) => e.connectorId === 'beta'));
        await check({ accountId: 'globex' }, all.filter((e) => e.accountId === 'globex'));
        await check({ accountId: 'acme', class: 'Host', connectorId: 'alpha' }, all.filter((e) => e.accountId === 'acme' && e.entityClass === 'Host' && e.connectorId === 'alpha'));
        await check({ accountId: 'acme', type: 'host' }, all.filter((e) => e.accountId === 'acme' && e.entityType === 'host'));
        await check({ type: 'nothing' }, []);
        expect((await store.listEntities({ class: 'Host' })).items.length).toBe(5);
      });

      it('walking listEntities and listRelationships pages of 2 gives every row once, in id order, with no gaps', async () => {
        await seedGraph();
        const allEntities = (await store.listEntities({ limit: MAX_PAGE_SIZE })).items;
        const allRelationships = (await store.listRelationships({ limit: MAX_PAGE_SIZE })).items;
        const walk = async <T extends { id: string }>(list: (q: PageQuery) => Promise<Page<T>>, expected: readonly T[]) => {
          const seen: string[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await list(cursor === undefined ? { limit: 2 } : { limit: 2, cursor });
            pages++;
            expect(page.items.length).toBeLessThanOrEqual(2);
            if (page.nextCursor !== undefined) expect(page.items).toHaveLength(2);
            seen.push(...ids(page.items));
            cursor = page.nextCursor;
          } while (cursor !== undefined && pages < 100);
          expect(seen).toEqual(sorted(ids(expected)));
          expect(new Set(seen).size).toBe(seen.length);
          expect(pages).toBe(Math.max(1, Math.ceil(expected.length / 2)));
        };
        expect(allEntities).toHaveLength(9);
        expect(allRelationships).toHaveLength(8);
        await walk((q) => store.listEntities(q), allEntities);
        await walk((q) => store.listRelationships(q), allRelationships);
        await walk((q) => store.listEntities({ ...q, accountId: 'acme', type: 'host' }), allEntities.filter((e) => e.accountId === 'acme' && e.entityType === 'host'));
        await walk((q) => store.listRelationships({ ...q, entityId: eid('acme', 'host:h-1') }), allRelationships.filter((r) => r.fromId === eid('acme', 'host:h-1') || r.toId === eid('acme', 'host:h-1')));
      });

      it('a page is exactly full on the last page: no nextCursor when nothing follows', async () => {
        await sync(store, { syncId: 's1', entities: [ent('host', 'a'), ent('host', 'b')] });
        const page = await store.listEntities({ limit: 2 });
        expect(page.items).toHaveLength(2);
        expect(page.nextCursor).toBeUndefined();
        const empty = await store.listRelationships({ limit: 2 });
        expect(empty).toEqual({ items: [] });
      });

      it(`the page size defaults to DEFAULT_PAGE_SIZE (${DEFAULT_PAGE_SIZE}) and accepts MAX_PAGE_SIZE (${MAX_PAGE_SIZE})`, async () => {
        const entities = Array.from({ length: DEFAULT_PAGE_SIZE + 5 }, (_, i) => ent('host', `h-${i}`));
        await sync(store, { syncId: 's1', entities });
        const first = await store.listEntities();
        expect(first.items).toHaveLength(DEFAULT_PAGE_SIZE);
        expect(first.nextCursor).toBeDefined();
        const rest = await store.listEntities({ cursor: first.nextCursor! });
        expect(rest.items).toHaveLength(5);
        expect(rest.nextCursor).toBeUndefined();
        expect((await store.listEntities({ limit: MAX_PAGE_SIZE })).items).toHaveLength(DEFAULT_PAGE_SIZE + 5);
      });

      it('a cursor stays valid across a commit: pages are keyed by id', async () => {
        await sync(store, { syncId: 's1', entities: ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => ent('host', k)) });
        const first = await store.listEntities({ limit: 3 });
        await sync(store, { syncId: 's2', entities: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((k) => ent('host', k)) });
        const lastSeen = first.items.at(-1)!.id;
        const rest = await listAll((q) => store.listEntities({ ...q, cursor: first.nextCursor! }), MAX_PAGE_SIZE);
        const all = (await store.listEntities({ limit: MAX_PAGE_SIZE })).items;
        expect(ids(rest)).toEqual(ids(all).filter((id) => id > lastSeen));
      });

      it('an invalid cursor or limit throws RangeError', async () => {
        await sync(store, { syncId: 's1', entities: [ent('host', 'h-1')] });
        for (const limit of [0, -1, 1.5, MAX_PAGE_SIZE + 1, Number.NaN, Number.POSITIVE_INFINITY]) {
          await expectRangeError(store.listEntities({ limit }));
          await expectRangeError(store.listRelationships({ limit }));
        }
        for (const cursor of ['not a cursor', '!!!', 'aGVsbG8', '']) {
          await expectRangeError(store.listEntities({ cursor }));
          await expectRangeError(store.listRelationships({ cursor }));
        }
      });

      it('listRelationships by entityId follows the direction (out, in, both) and filters by verb, connectorId and accountId', async () => {
        await seedGraph();
        const h1 = eid('acme', 'host:h-1');
        const names = async (query: Parameters<GraphStore['listRelationships']>[0]) =>
          (await listAll((q) => store.listRelationships({ ...query, ...q }))).map(relName).sort();
        expect(await names({ entityId: h1, direction: 'out' })).toEqual(['host:h-1 CONNECTS host:h-1', 'host:h-1 HAS user:u-1', 'host:h-1 HAS user:u-2']);
        expect(await names({ entityId: h1, direction: 'in' })).toEqual(['host:h-1 CONNECTS host:h-1', 'svc:api RUNS host:h-1', 'user:u-1 USES host:h-1']);
        const both = ['host:h-1 CONNECTS host:h-1', 'host:h-1 HAS user:u-1', 'host:h-1 HAS user:u-2', 'svc:api RUNS host:h-1', 'user:u-1 USES host:h-1'];
        expect(await names({ entityId: h1, direction: 'both' })).toEqual(both);
        expect(await names({ entityId: h1 })).toEqual(both);
        expect(await names({ entityId: h1, verb: 'HAS' })).toEqual(['host:h-1 HAS user:u-1', 'host:h-1 HAS user:u-2']);
        expect(await names({ entityId: h1, direction: 'in', verb: 'HAS' })).toEqual([]);
        expect(await names({ entityId: h1, connectorId: 'beta' })).toEqual(['svc:api RUNS host:h-1']);
        expect(await names({ verb: 'HAS' })).toEqual(['host:h-1 HAS user:u-1', 'host:h-1 HAS user:u-2', 'host:h-1 HAS user:u-9', 'host:h-2 HAS user:u-1']);
        expect(await names({ verb: 'HAS', accountId: 'globex' })).toEqual(['host:h-1 HAS user:u-9']);
        expect(await names({ connectorId: 'beta' })).toEqual(['svc:api RUNS host:h-1', 'user:u-1 ASSIGNED role:admin']);
        expect(await names({ entityId: eid('acme', 'host:h-3') })).toEqual([]);
        // The self-loop is listed once for "both".
        const loop = (await listAll((q) => store.listRelationships({ ...q, entityId: h1 }))).filter((r) => r.verb === 'CONNECTS');
        expect(loop).toHaveLength(1);
      });

      it('counts: totals, by class, by verb, and per account', async () => {
        expect(await store.counts()).toEqual({ entities: 0, relationships: 0, entitiesByClass: {}, relationshipsByVerb: {} });
        await seedGraph();
        expect(await store.counts()).toEqual({
          entities: 9,
          relationships: 8,
          entitiesByClass: { Host: 5, User: 3, Role: 1 },
          relationshipsByVerb: { HAS: 4, USES: 1, CONNECTS: 1, ASSIGNED: 1, RUNS: 1 },
        });
        expect(await store.counts({ accountId: 'acme' })).toEqual({
          entities: 7,
          relationships: 7,
          entitiesByClass: { Host: 4, User: 2, Role: 1 },
          relationshipsByVerb: { HAS: 3, USES: 1, CONNECTS: 1, ASSIGNED: 1, RUNS: 1 },
        });
        expect(await store.counts({ accountId: 'globex' })).toEqual({ entities: 2, relationships: 1, entitiesByClass: { Host: 1, User: 1 }, relationshipsByVerb: { HAS: 1 } });
        expect(await store.counts({ accountId: 'nobody' })).toEqual({ entities: 0, relationships: 0, entitiesByClass: {}, relationshipsByVerb: {} });
      });

      it('counts keep a class and a verb named __proto__ and the totals add up', async () => {
        // Unknown classes and verbs only warn; names that an object inherits must still count as data.
        const classes = ['__proto__', 'constructor', 'toString', 'Host'];
        const verbs = ['__proto__', 'constructor', 'valueOf'];
        await sync(store, {
          syncId: 's1',
          entities: classes.map((entityClass, i) => ent('host', `h-${i}`, { entityClass })),
          relationships: verbs.map((verb, i) => rel('host:h-0', verb, `host:h-${i + 1}`)),
        });
        const entries = (record: Readonly<Record<string, number>>): [string, number][] =>
          Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        const total = (record: Readonly<Record<string, number>>): number => Object.values(record).reduce((a, b) => a + b, 0);
        for (const counts of [await store.counts(), await store.counts({ accountId: 'acme' })]) {
          expect(entries(counts.entitiesByClass)).toEqual([['Host', 1], ['__proto__', 1], ['constructor', 1], ['toString', 1]]);
          expect(entries(counts.relationshipsByVerb)).toEqual([['__proto__', 1], ['constructor', 1], ['valueOf', 1]]);
          expect([counts.entities, counts.relationships]).toEqual([4, 3]);
          expect(total(counts.entitiesByClass)).toBe(counts.entities);
          expect(total(counts.relationshipsByVerb)).toBe(counts.relationships);
          // What an API answers with: JSON keeps the key.
          expect(JSON.parse(JSON.stringify(counts.entitiesByClass))).toEqual(JSON.parse('{"__proto__":1,"constructor":1,"toString":1,"Host":1}'));
          expect(JSON.stringify(counts.relationshipsByVerb)).toContain('"__proto__":1');
        }
      });

      it('syncHistory is newest first, with limit and filters, and each record holds the stats the commit returned', async () => {
        const results: CommitResult[] = [];
        results.push(await sync(store, { syncId: 's1', connectorId: 'alpha', entities: [ent('host', 'h-1')] }));
        results.push(await sync(store, { syncId: 's2', connectorId: 'beta', entities: [ent('user', 'u-1')] }));
        results.push(await sync(store, { syncId: 's3', connectorId: 'alpha', accountId: 'globex', entities: [ent('host', 'h-1')] }));
        results.push(await sync(store, { syncId: 's4', connectorId: 'alpha', failedSteps: ['x'], keptSteps: ['x', 'y'] }));
        const history = await store.syncHistory();
        expect(history.map((r) => r.syncId)).toEqual(['s4', 's3', 's2', 's1']);
        for (const [i, record] of [...history].reverse().entries()) {
          const result = results[i]!;
          expect(record).toEqual(result.record);
          expect(record.stats).toEqual(result.stats);
          expect(record.startedAt).toBe(STARTED_AT);
          expect(record.finishedAt).toBe(FINISHED_AT);
          expect(Number.isNaN(Date.parse(record.committedAt))).toBe(false);
        }
        expect(history[0]).toMatchObject({
          accountId: 'acme',
          connectorId: 'alpha',
          syncId: 's4',
          failedSteps: ['x'],
          keptSteps: ['x', 'y'],
          stats: stats({ entitiesDeleted: 1 }),
        });
        expect((await store.syncHistory({ limit: 2 })).map((r) => r.syncId)).toEqual(['s4', 's3']);
        expect((await store.syncHistory({ accountId: 'acme' })).map((r) => r.syncId)).toEqual(['s4', 's2', 's1']);
        expect((await store.syncHistory({ connectorId: 'alpha' })).map((r) => r.syncId)).toEqual(['s4', 's3', 's1']);
        expect((await store.syncHistory({ accountId: 'acme', connectorId: 'alpha', limit: 1 })).map((r) => r.syncId)).toEqual(['s4']);
        expect(await store.syncHistory({ connectorId: 'nobody' })).toEqual([]);
      });

      it(`syncHistory returns at most DEFAULT_HISTORY_LIMIT (${DEFAULT_HISTORY_LIMIT}) records by default; an invalid limit throws RangeError`, async () => {
        for (let i = 0; i < DEFAULT_HISTORY_LIMIT + 2; i++) await sync(store, { syncId: `s${String(i).padStart(3, '0')}` });
        const history = await store.syncHistory();
        expect(history).toHaveLength(DEFAULT_HISTORY_LIMIT);
        expect(history[0]?.syncId).toBe(`s${String(DEFAULT_HISTORY_LIMIT + 1).padStart(3, '0')}`);
        expect(await store.syncHistory({ limit: MAX_PAGE_SIZE })).toHaveLength(DEFAULT_HISTORY_LIMIT + 2);
        for (const limit of [0, -1, 2.5, MAX_PAGE_SIZE + 1, Number.NaN]) await expectRangeError(store.syncHistory({ limit }));
      });

      it('returned rows and records are copies: mutating them does not change the store', async () => {
        const result = await sync(store, {
          syncId: 's1',
          entities: [ent('host', 'h-1', { properties: { tags: ['a'] } }), ent('host', 'h-2')],
          relationships: [rel('host:h-1', 'HAS', 'host:h-2', { properties: { tags: ['a'] } })],
          keptSteps: ['k'],
          failedSteps: ['k'],
        });
        const before = await dump();
        (result.record.stats as SyncStats).entitiesCreated = 99;
        (result.record.keptSteps as string[]).push('mutated');
        (result.stats as SyncStats).entitiesCreated = 98;
        const e = (await entityOf('host:h-1'))!;
        ((e.properties as Properties).tags as string[]).push('mutated');
        (e as { displayName: string }).displayName = 'mutated';
        const r = (await store.listRelationships()).items[0]!;
        ((r.properties as Properties).tags as string[]).push('mutated');
        const [record] = await store.syncHistory();
        (record!.stats as SyncStats).entitiesCreated = 97;
        (record!.failedSteps as string[]).push('mutated');
        expect(await dump()).toStrictEqual(before);
      });
    });

    describe('properties round-trip exactly', () => {
      const properties: Properties = {
        text: 'plain',
        empty: '',
        unicode: 'ünïcødé ✓ 日本語 🔑',
        multiline: 'line 1\nline 2\t"quoted" \\ backslash',
        zero: 0,
        int: 42,
        negative: -17,
        float: 3.141592653589793,
        negativeFloat: -0.000123,
        big: 1e21,
        tiny: 5e-324,
        maxSafe: Number.MAX_SAFE_INTEGER,
        minSafe: Number.MIN_SAFE_INTEGER,
        maxValue: Number.MAX_VALUE,
        yes: true,
        no: false,
        nothing: null,
        tags: ['a', 'b', 'ü', ''],
        noTags: [],
        'ключ 🔑': 'значение',
        'dotted.key': 1,
        'spaced key': 2,
        '"quoted"': 3,
      };

      it('entity and relationship properties come back equal to what was emitted', async () => {
        await sync(store, {
          syncId: 's1',
          entities: [ent('host', 'h-1', { properties }), ent('host', 'h-2', { displayName: '' })],
          relationships: [rel('host:h-1', 'CONNECTS', 'host:h-2', { properties })],
        });
        expect((await entityOf('host:h-1'))?.properties).toStrictEqual(properties);
        expect((await entityOf('host:h-2'))?.displayName).toBe('');
        expect((await relationshipOf(rel('host:h-1', 'CONNECTS', 'host:h-2')))?.properties).toStrictEqual(properties);
        expect((await store.listEntities({ type: 'host' })).items.find((e) => e.entityKey === 'h-1')?.properties).toStrictEqual(properties);
        expect((await store.listRelationships()).items[0]?.properties).toStrictEqual(properties);
        // And a re-sync of the same values is unchanged (+P2).
        const again = await sync(store, {
          syncId: 's2',
          entities: [ent('host', 'h-1', { properties }), ent('host', 'h-2', { displayName: '' })],
          relationships: [rel('host:h-1', 'CONNECTS', 'host:h-2', { properties })],
        });
        expect(again.rowsWritten).toBe(0);
      });

      it('a property named __proto__ is stored as a plain property', async () => {
        const tricky = JSON.parse('{"__proto__": "x", "constructor": "y", "toString": ["z"]}') as Properties;
        await sync(store, { syncId: 's1', entities: [ent('host', 'h-1', { properties: tricky })] });
        const stored = (await entityOf('host:h-1'))!.properties;
        expect(Object.keys(stored).sort()).toEqual(['__proto__', 'constructor', 'toString']);
        expect(Object.getOwnPropertyDescriptor(stored, '__proto__')?.value).toBe('x');
        expect(stored.constructor).toBe('y');
        expect(stored.toString).toEqual(['z']);
      });

      it('unicode types and keys round-trip, and find their rows', async () => {
        await sync(store, { syncId: 's1', entities: [ent('ホスト', 'キー/1 🔑', { displayName: 'Ünïcødé' })] });
        const found = await store.findEntity('acme', 'ホスト', 'キー/1 🔑');
        expect(found).toMatchObject({ id: entityId('acme', 'ホスト', 'キー/1 🔑'), entityType: 'ホスト', entityKey: 'キー/1 🔑', displayName: 'Ünïcødé' });
        expect((await store.listEntities({ type: 'ホスト' })).items).toHaveLength(1);
      });
    });

    describe('what every store can keep: valid Unicode, rows up to MAX_ROW_BYTES', () => {
      // Text that is valid Unicode yet easy to mangle: NUL and control characters, separators, a BOM, U+FFFD, astral characters, JSON's escapes.
      const odd = 'a\u0000b \u0001\u001f\u007f \u2028\u2029 \ufeff \ufffd 😀𝄞 "q" \\ \n\t';

      it('valid text of every kind reads back exactly as memory keeps it, in every column, and finds its rows', async () => {
        const a = ent(`t${odd}`, `k${odd}`, { entityClass: `C${odd}`, displayName: odd, properties: { [odd]: odd, list: [odd, ''] }, stepId: `s${odd}` });
        const b = ent('host', odd);
        const r = rel(`${a.entityType}:${a.entityKey}`, `V${odd}`, `host:${odd}`, { properties: { [odd]: [odd] }, stepId: `s${odd}` });
        await sync(store, { syncId: `sync${odd}`, connectorId: `c${odd}`, entities: [a, b], relationships: [r] });
        const stored = await store.findEntity('acme', a.entityType, a.entityKey);
        expect(stored).toStrictEqual({
          id: entityId('acme', a.entityType, a.entityKey),
          entityType: a.entityType,
          entityKey: a.entityKey,
          entityClass: a.entityClass,
          displayName: a.displayName,
          properties: a.properties,
          accountId: 'acme',
          connectorId: `c${odd}`,
          syncId: `sync${odd}`,
          stepId: `s${odd}`,
        });
        expect(await store.getEntity(stored!.id)).toStrictEqual(stored);
        expect((await store.listEntities({ type: a.entityType })).items).toStrictEqual([stored]);
        expect((await store.listEntities({ class: a.entityClass, connectorId: `c${odd}` })).items).toStrictEqual([stored]);
        const [edge] = (await store.listRelationships({ verb: r.verb })).items;
        expect(edge).toMatchObject({ fromType: r.fromType, fromKey: r.fromKey, verb: r.verb, toType: 'host', toKey: odd, stepId: `s${odd}` });
        expect(edge!.properties).toStrictEqual(r.properties);
        const counts = await store.counts();
        expect(Object.keys(counts.entitiesByClass).sort()).toEqual([a.entityClass, 'Generic'].sort());
        expect(Object.keys(counts.relationshipsByVerb)).toEqual([r.verb]);
        expect((await store.syncHistory())[0]).toMatchObject({ syncId: `sync${odd}`, connectorId: `c${odd}` });
        // And the same output again is unchanged (+P2).
        const again = await sync(store, { syncId: `sync2${odd}`, connectorId: `c${odd}`, entities: [a, b], relationships: [r] });
        expect(again.rowsWritten).toBe(0);
      });

      it.each<[string, Partial<SyncParams>, string]>([
        ['a class', { entities: [ent('host', 'h-1', { entityClass: 'Host\ud800' })] }, 'entities[0].entityClass'],
        ['a property name', { entities: [ent('host', 'h-1', { properties: { 'os\udc00': 'x' } })] }, 'entities[0].properties["os\\udc00"]'],
        ['a property value', { entities: [ent('host', 'h-1', { properties: { os: '\ud800' } })] }, 'entities[0].properties.os'],
        ['an array item', { entities: [ent('host', 'h-1', { properties: { tags: ['a', '\udfff'] } })] }, 'entities[0].properties.tags'],
        ['a key', { entities: [ent('host', 'h\ud800')] }, 'entities[0].entityKey'],
        ['a step id', { entities: [ent('host', 'h-1', { stepId: 'main\udc00' })] }, 'entities[0].stepId'],
        ['a verb', { entities: [ent('host', 'h-1')], relationships: [rel('host:h-1', 'HAS\ud800', 'host:h-1')] }, 'relationships[0].verb'],
        ['a relationship property', { entities: [ent('host', 'h-1')], relationships: [rel('host:h-1', 'HAS', 'host:h-1', { properties: { '\udc00': 1 } })] }, 'relationships[0].properties["\\udc00"]'],
        ['a connector id', { connectorId: 'alpha\ud800' }, 'connectorId'],
      ])('every stored string is valid Unicode: a lone surrogate in %s is refused with InvalidBatch naming the field, and nothing changes', async (_what, params, field) => {
        await sync(store, { syncId: 's1', entities: [ent('host', 'h-1', { properties: { os: 'debian' } })] });
        const before = await dump();
        // Refused as an input (a run refuses such a record when it is emitted: test/connect).
        const error = await expectCommitError(commitSync(store, syncInput({ syncId: 's2', entities: [ent('host', 'h-1')], ...params })), 'InvalidBatch');
        expect(error.field).toBe(field);
        expect(error.message).toContain('lone surrogate');
        expect(await dump()).toStrictEqual(before);
      });

      /** A row's measure, as MAX_ROW_BYTES defines it. */
      const measure = (parts: readonly string[], properties: Properties): number =>
        new TextEncoder().encode(JSON.stringify([...parts, canonicalProperties(properties)])).byteLength;
      /** `e` with a property `pad` of "x" that brings it to exactly `bytes`. */
      const entityAt = (e: EntityInput, bytes: number): EntityInput => {
        const parts = [e.entityType, e.entityKey, e.entityClass, e.displayName];
        const pad = bytes - measure(parts, { ...e.properties, pad: '' });
        return { ...e, properties: { ...e.properties, pad: 'x'.repeat(pad) } };
      };
      const relationshipAt = (r: RelationshipInput, bytes: number): RelationshipInput => {
        const parts = [r.fromType, r.fromKey, r.verb, r.toType, r.toKey];
        const pad = bytes - measure(parts, { ...r.properties, pad: '' });
        return { ...r, properties: { ...r.properties, pad: 'x'.repeat(pad) } };
      };
      // Rows at the limit with the escapes at their worst: control characters
      // (6 bytes each as JSON), quotes in properties (4), astral text (4 bytes
      // stored), backslashes in a relationship's properties.
      const atLimit = (bytes: number) => ({
        entities: [
          entityAt(ent('doc', 'control', { displayName: '\u0001'.repeat(150_000) }), bytes),
          entityAt(ent('doc', 'quotes', { properties: { q: '"'.repeat(200_000) } }), bytes),
          entityAt(ent('doc', '😀'.repeat(100_000), { displayName: 'é'.repeat(200_000) }), bytes),
          ent('doc', 'small'),
        ],
        relationships: [relationshipAt(rel('doc:small', 'HAS', 'doc:control', { properties: { b: '\\'.repeat(200_000) } }), bytes)],
      });

      it(`rows of exactly MAX_ROW_BYTES (${MAX_ROW_BYTES}), escapes at their worst, are stored and read back exactly`, async () => {
        const { entities, relationships } = atLimit(MAX_ROW_BYTES);
        for (const e of entities.slice(0, 3)) expect(measure([e.entityType, e.entityKey, e.entityClass, e.displayName], e.properties)).toBe(MAX_ROW_BYTES);
        const result = await sync(store, { syncId: 's1', entities, relationships });
        expect(result.stats).toEqual(stats({ entitiesCreated: 4, relationshipsCreated: 1 }));
        for (const e of entities) {
          const stored = await store.findEntity('acme', e.entityType, e.entityKey);
          expect(stored?.displayName).toBe(e.displayName);
          expect(stored?.properties).toStrictEqual(e.properties);
        }
        expect((await relationshipOf(relationships[0]!))?.properties).toStrictEqual(relationships[0]!.properties);
        expect((await sync(store, { syncId: 's2', entities, relationships })).rowsWritten).toBe(0);
      });

      it('RowTooLarge: a row one byte over MAX_ROW_BYTES is refused naming the entity and its largest field, and nothing changes', async () => {
        await sync(store, { syncId: 's1', entities: [ent('doc', 'small'), ent('doc', 'control')] });
        const before = await dump();
        const { entities, relationships } = atLimit(MAX_ROW_BYTES + 1);
        const error = await expectCommitError(commitSync(store, syncInput({ syncId: 's2', entities, relationships })), 'RowTooLarge');
        expect(error.field).toBe('entities[0].displayName');
        expect(error.message).toMatch(/^entities\[0\]\.displayName of entity doc:control is 900,002 bytes and makes the row 1,000,001 bytes, over the limit of 1,000,000 bytes a row/);
        const relationshipOnly = await expectCommitError(commitSync(store, syncInput({ syncId: 's3', entities: [ent('doc', 'small'), ent('doc', 'control')], relationships })), 'RowTooLarge');
        expect(relationshipOnly.field).toBe('relationships[0].properties.b');
        expect(relationshipOnly.message).toContain('of relationship doc:small HAS doc:control');
        expect(await dump()).toStrictEqual(before);
      });
    });

    describe('the write path', () => {
      it('a session refuses a chunk the core did not prepare (a forged id or JSON never reaches the graph), and nothing changes', async () => {
        await sync(store, { syncId: 's1', entities: [ent('host', 'h-1'), ent('user', 'u-1')] });
        const before = await dump();
        const victim = (await entityOf('host:h-1'))!;
        const session: SyncSession = await store.openSync({ accountId: 'acme', connectorId: 'alpha', syncId: 's2', startedAt: STARTED_AT });
        const forged = {
          stepId: 'main',
          entities: [{ id: victim.id, entityType: 'user', entityKey: 'u-9', entityClass: 'User', displayName: 'forged', propertiesJson: '{not json', hash: 'x', stepId: 'main' }],
          relationships: [],
          units: [],
          matched: [],
        };
        await expectCommitError(session.stage(forged as never), 'InvalidBatch');
        await session.abort();
        expect(await dump()).toStrictEqual(before);
      });

      memoryOnly?.('an invalid batch is refused with InvalidBatch before the store changes', async () => {
        await sync(store, { syncId: 's1', entities: [ent('host', 'h-1')] });
        const before = await dump();
        const error = await expectCommitError(
          sync(store, { syncId: 's2', entities: [ent('host', 'h-1', { properties: { bad: Number.NaN } })] }),
          'InvalidBatch',
        );
        expect(error.field).toBe('entities[0].properties.bad');
        expect(await dump()).toStrictEqual(before);
      });
    });
  });
}
