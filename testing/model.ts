/**
 * +P3, the randomized model-based suite: random sequences of syncs (creates,
 * updates, deletes, kept steps, dangling relationships, two connectors, two
 * accounts, reused sync ids) go both to a fresh memory store (the reference)
 * and to the adapter under test. After every commit the suite compares the
 * outcome (stats and rowsWritten, or the CommitError code and the named
 * relationship) and the whole visible state (rows, counts, history), and
 * checks both against a small executable model of the commit semantics, so
 * the reference itself is checked too.
 *
 * Runtime-neutral: only `vitest`, `fast-check` and `parallax-edge` imports.
 *
 * @example
 * describeModelBased('sqlite', () => createSqliteStore(':memory:'), { numRuns: 100 });
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CommitError,
  commitSync,
  entityId,
  relationshipId,
  type CommitResult,
  type GraphStore,
  type Properties,
  type PropertyValue,
  type StoredEntity,
  type StoredRelationship,
  type SyncInput,
  type SyncRecord,
  type SyncStats,
} from 'parallax-edge';
import { DEFAULT_STEP_ID, canonicalProperties, describeRelationship, emptyStats } from 'parallax-edge/adapter-kit';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { dumpStore, listAll, stepOrderOf, streamSync, syncInput, type EntityInput, type OpenStore, type RelationshipInput, type StoreDump, type SyncMode } from './contract.js';

export interface ModelBasedOptions {
  /** Random sequences to try; default 60. */
  readonly numRuns?: number;
  /** Replays a failure that fast-check reported. */
  readonly seed?: number;
  /** Per-test timeout in milliseconds; default 120 000. */
  readonly timeout?: number;
  /** How syncs reach the store under test (the reference always commits in memory); default `memory`. */
  readonly mode?: SyncMode;
}

// Small key spaces, so that updates, takeovers, deletes and dangling endpoints are frequent.
const ACCOUNTS = ['acme', 'globex'] as const;
const CONNECTORS = ['alpha', 'beta'] as const;
const SLOTS: readonly (readonly [type: string, key: string])[] = [
  ['host', '1'],
  ['host', '2'],
  ['host', '3'],
  ['user', '1'],
  ['user', '2'],
];
const STEPS = ['s1', 's2', 's3'] as const;
const VERBS = ['HAS', 'USES'] as const;
const CLASSES = ['Host', 'Generic'] as const;
const NAMES = ['x', 'y'] as const;

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

const valueArb = fc.constantFrom<PropertyValue>('x', 'y', '', 'ü🔑', 0, 1, -2.5, 1e21, true, false, null, [], ['a'], ['a', 'b'], ['b', 'a']);
const propertiesArb: fc.Arbitrary<Properties> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({}) },
  { weight: 2, arbitrary: fc.dictionary(fc.constantFrom('a', 'b', 'ключ'), valueArb, { maxKeys: 2, noNullPrototype: true }) },
);

interface EntitySpec {
  readonly slot: number;
  readonly cls: string;
  readonly name: string;
  readonly props: Properties;
  readonly step: string;
}

interface RelationshipSpec {
  /** Index into the pool of endpoints (emitted entities, or every slot when `anywhere`). */
  readonly from: number;
  readonly to: number;
  /** Pick endpoints among all slots: they may be stored by another connector, or nowhere (dangling). */
  readonly anywhere: boolean;
  readonly verb: string;
  readonly props: Properties;
  readonly step: string;
}

interface Command {
  readonly account: number;
  readonly connector: number;
  /** Reuse an earlier sync id (any account), or use a fresh one. */
  readonly reuse: number | null;
  /** `repeat` re-emits this pair's last committed sync, with drops and a tweak. */
  readonly mode: 'fresh' | 'repeat';
  readonly entities: readonly EntitySpec[];
  readonly relationships: readonly RelationshipSpec[];
  readonly drop: readonly number[];
  /** When dropping entities in `repeat`, also drop their relationships (else they dangle). */
  readonly dropTouching: boolean;
  readonly kept: readonly string[];
  readonly failed: readonly string[];
  /** After a successful commit, commit the same input again under a new sync id (+P2). */
  readonly echo: boolean;
}

const weighted = <T>(often: T, sometimes: fc.Arbitrary<T>, ratio = 3): fc.Arbitrary<T> =>
  fc.oneof({ weight: ratio, arbitrary: fc.constant(often) }, { weight: 1, arbitrary: sometimes });

const entitySpecArb: fc.Arbitrary<EntitySpec> = fc.record({
  slot: fc.nat({ max: SLOTS.length - 1 }),
  cls: fc.constantFrom(...CLASSES),
  name: fc.constantFrom(...NAMES),
  props: propertiesArb,
  step: fc.constantFrom(...STEPS),
});

const relationshipSpecArb: fc.Arbitrary<RelationshipSpec> = fc.record({
  from: fc.nat({ max: 20 }),
  to: fc.nat({ max: 20 }),
  anywhere: weighted(false, fc.constant(true), 4),
  verb: fc.constantFrom(...VERBS),
  props: propertiesArb,
  step: fc.constantFrom(...STEPS),
});

const commandArb: fc.Arbitrary<Command> = fc.record({
  account: fc.nat({ max: ACCOUNTS.length - 1 }),
  connector: fc.nat({ max: CONNECTORS.length - 1 }),
  reuse: weighted<number | null>(null, fc.nat({ max: 30 }), 6),
  mode: fc.constantFrom<'fresh' | 'repeat'>('fresh', 'repeat', 'repeat'),
  entities: fc.uniqueArray(entitySpecArb, { maxLength: SLOTS.length, selector: (e) => e.slot }),
  relationships: fc.array(relationshipSpecArb, { maxLength: 5 }),
  drop: fc.uniqueArray(fc.nat({ max: SLOTS.length - 1 }), { maxLength: 2 }),
  dropTouching: fc.boolean(),
  kept: weighted<readonly string[]>([], fc.subarray([...STEPS], { minLength: 1 })),
  failed: weighted<readonly string[]>([], fc.subarray([...STEPS], { minLength: 1 })),
  echo: weighted(false, fc.constant(true)),
});

// ---------------------------------------------------------------------------
// From a command to a sync input
// ---------------------------------------------------------------------------

const slotRef = ([type, key]: readonly [string, string]): string => `${type}:${key}`;
const entityRef = (e: EntityInput): string => `${e.entityType}:${e.entityKey}`;
const relationshipRef = (r: RelationshipInput): string => describeRelationship(r);

function entityFromSpec(spec: EntitySpec): EntityInput {
  const [entityType, entityKey] = SLOTS[spec.slot]!;
  return { entityType, entityKey, entityClass: spec.cls, displayName: spec.name, properties: spec.props, stepId: spec.step };
}

function relationshipFromSpec(spec: RelationshipSpec, entities: readonly EntityInput[]): RelationshipInput {
  const pool = spec.anywhere || entities.length === 0 ? SLOTS : entities.map((e) => [e.entityType, e.entityKey] as const);
  const [fromType, fromKey] = pool[spec.from % pool.length]!;
  const [toType, toKey] = pool[spec.to % pool.length]!;
  return { fromType, fromKey, verb: spec.verb, toType, toKey, properties: spec.props, stepId: spec.step };
}

interface Run {
  /** The last input committed by each (account, connector). */
  readonly last: Map<string, SyncInput>;
  /** Every sync id tried so far, committed or not. */
  readonly used: string[];
}

function buildInput(index: number, cmd: Command, run: Run): SyncInput {
  const accountId = ACCOUNTS[cmd.account]!;
  const connectorId = CONNECTORS[cmd.connector]!;
  const syncId = cmd.reuse !== null && run.used.length > 0 ? run.used[cmd.reuse % run.used.length]! : `sync-${index}`;
  const base = cmd.mode === 'repeat' ? run.last.get(`${accountId}/${connectorId}`) : undefined;

  let entities: EntityInput[];
  let relationships: RelationshipInput[];
  if (base) {
    // Like a re-run of the connector: same rows, minus dropped entities and
    // anything a kept (failed) step would not have emitted, plus one tweak.
    const dropped = new Set(cmd.drop.map((slot) => slotRef(SLOTS[slot]!)));
    const kept = new Set(cmd.kept);
    entities = base.entities.filter((e) => !dropped.has(entityRef(e)) && !kept.has(e.stepId ?? DEFAULT_STEP_ID));
    relationships = base.relationships.filter(
      (r) =>
        !kept.has(r.stepId ?? DEFAULT_STEP_ID) &&
        (!cmd.dropTouching || (!dropped.has(`${r.fromType}:${r.fromKey}`) && !dropped.has(`${r.toType}:${r.toKey}`))),
    );
    const tweak = cmd.entities[0];
    if (tweak) {
      const changed = entityFromSpec(tweak);
      const at = entities.findIndex((e) => entityRef(e) === entityRef(changed));
      if (at >= 0) entities[at] = changed;
      else entities.push(changed);
    }
    const extra = cmd.relationships[0];
    if (extra) relationships.push(relationshipFromSpec(extra, entities));
  } else {
    entities = cmd.entities.map(entityFromSpec);
    relationships = cmd.relationships.map((spec) => relationshipFromSpec(spec, entities));
  }
  // A batch may not repeat a relationship.
  const seen = new Set<string>();
  relationships = relationships.filter((r) => !seen.has(relationshipRef(r)) && seen.add(relationshipRef(r)));

  return syncInput({ syncId, accountId, connectorId, entities, relationships, keptSteps: cmd.kept, failedSteps: cmd.failed });
}

// ---------------------------------------------------------------------------
// The executable model of commitSync's semantics
// ---------------------------------------------------------------------------

type HistoryEntry = Omit<SyncRecord, 'committedAt'>;

type Outcome =
  | { readonly ok: true; readonly stats: SyncStats; readonly rowsWritten: number; readonly record: HistoryEntry }
  | { readonly ok: false; readonly code: string; readonly relationship?: string; readonly field?: string }
  | { readonly ok: false; readonly thrown: string };

interface Expected {
  readonly outcome: Outcome;
  readonly entities: readonly StoredEntity[];
  readonly relationships: readonly StoredRelationship[];
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const sameProperties = (a: Properties, b: Properties): boolean => canonicalProperties(a) === canonicalProperties(b);

/**
 * What the commit of `input` must do to the state `before`, computed from
 * the rules alone. `stepOrder` numbers the steps (for which dangling
 * relationship is named): by first appearance for an input committed from
 * memory, by definition for a run.
 */
function model(before: StoreDump, input: SyncInput, stepOrder: readonly string[]): Expected {
  const { accountId, connectorId, syncId } = input;
  const nothing = { entities: before.entities, relationships: before.relationships };
  if (before.history.some((r) => r.accountId === accountId && r.syncId === syncId)) {
    return { outcome: { ok: false, code: 'DuplicateSyncId', field: 'syncId' }, ...nothing };
  }
  const stats = emptyStats();
  const kept = new Set(input.keptSteps ?? []);
  const inScope = (row: { accountId: string; connectorId: string }): boolean => row.accountId === accountId && row.connectorId === connectorId;
  const source = { accountId, connectorId, syncId };

  const stored = new Map(before.entities.map((e) => [e.id, e]));
  const emitted = new Map<string, StoredEntity>();
  for (const e of input.entities) {
    const id = entityId(accountId, e.entityType, e.entityKey);
    const stepId = e.stepId ?? DEFAULT_STEP_ID;
    const row: StoredEntity = {
      id,
      entityType: e.entityType,
      entityKey: e.entityKey,
      entityClass: e.entityClass,
      displayName: e.displayName,
      properties: structuredClone(e.properties),
      ...source,
      stepId,
    };
    const old = stored.get(id);
    const same =
      old !== undefined &&
      old.entityClass === row.entityClass &&
      old.displayName === row.displayName &&
      sameProperties(old.properties, row.properties) &&
      old.connectorId === connectorId &&
      old.stepId === stepId;
    if (!old) stats.entitiesCreated++;
    else if (same) stats.entitiesUnchanged++;
    else stats.entitiesUpdated++;
    emitted.set(id, same ? old : row);
  }
  const deleted = new Set<string>();
  for (const row of before.entities) {
    if (!inScope(row) || emitted.has(row.id)) continue;
    if (kept.has(row.stepId)) stats.entitiesKept++;
    else deleted.add(row.id);
  }
  stats.entitiesDeleted = deleted.size;

  // INV-C04 against the graph as it will be after the commit. The offender
  // named is the first one emitted: steps in order of first appearance
  // (entities, then relationships), then input order within a step.
  const willExist = (id: string): boolean => emitted.has(id) || (stored.has(id) && !deleted.has(id));
  const emitOrder = stepOrder.flatMap((stepId) => input.relationships.filter((r) => (r.stepId ?? DEFAULT_STEP_ID) === stepId));
  for (const r of emitOrder) {
    if (!willExist(entityId(accountId, r.fromType, r.fromKey)) || !willExist(entityId(accountId, r.toType, r.toKey))) {
      return { outcome: { ok: false, code: 'DanglingRelationship', relationship: describeRelationship(r) }, ...nothing };
    }
  }

  const storedRelationships = new Map(before.relationships.map((r) => [r.id, r]));
  const emittedRelationships = new Map<string, StoredRelationship>();
  for (const r of input.relationships) {
    const id = relationshipId(accountId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey);
    const stepId = r.stepId ?? DEFAULT_STEP_ID;
    const row: StoredRelationship = {
      id,
      fromId: entityId(accountId, r.fromType, r.fromKey),
      toId: entityId(accountId, r.toType, r.toKey),
      fromType: r.fromType,
      fromKey: r.fromKey,
      verb: r.verb,
      toType: r.toType,
      toKey: r.toKey,
      properties: structuredClone(r.properties),
      ...source,
      stepId,
    };
    const old = storedRelationships.get(id);
    const same = old !== undefined && sameProperties(old.properties, row.properties) && old.connectorId === connectorId && old.stepId === stepId;
    if (!old) stats.relationshipsCreated++;
    else if (same) stats.relationshipsUnchanged++;
    else stats.relationshipsUpdated++;
    emittedRelationships.set(id, same ? old : row);
  }
  const deletedRelationships = new Set<string>();
  for (const row of before.relationships) {
    if (emittedRelationships.has(row.id)) continue;
    const touchesDeleted = deleted.has(row.fromId) || deleted.has(row.toId);
    if (inScope(row) && !kept.has(row.stepId)) {
      deletedRelationships.add(row.id);
    } else if (touchesDeleted) {
      // INV-03, also for another connector's rows and for kept rows (+P1).
      stats.relationshipsCascaded++;
      deletedRelationships.add(row.id);
    } else if (inScope(row)) {
      stats.relationshipsKept++;
    }
  }
  stats.relationshipsDeleted = deletedRelationships.size;

  const entities = [...before.entities.filter((e) => !deleted.has(e.id) && !emitted.has(e.id)), ...emitted.values()].sort(byId);
  const relationships = [
    ...before.relationships.filter((r) => !deletedRelationships.has(r.id) && !emittedRelationships.has(r.id)),
    ...emittedRelationships.values(),
  ].sort(byId);
  const rowsWritten =
    stats.entitiesCreated +
    stats.entitiesUpdated +
    stats.entitiesDeleted +
    stats.relationshipsCreated +
    stats.relationshipsUpdated +
    stats.relationshipsDeleted;
  const record: HistoryEntry = {
    accountId,
    connectorId,
    syncId,
    startedAt: input.startedAt!,
    finishedAt: input.finishedAt!,
    failedSteps: [...(input.failedSteps ?? [])],
    keptSteps: [...(input.keptSteps ?? [])],
    stats,
  };
  return { outcome: { ok: true, stats, rowsWritten, record }, entities, relationships };
}

// ---------------------------------------------------------------------------
// Running a sequence
// ---------------------------------------------------------------------------

const withoutCommitTime = ({ committedAt: _committedAt, ...rest }: SyncRecord): HistoryEntry => rest;

async function outcomeOf(commit: Promise<{ stats: SyncStats; rowsWritten: number; record: SyncRecord }>): Promise<Outcome> {
  try {
    const result = await commit;
    return { ok: true, stats: { ...result.stats }, rowsWritten: result.rowsWritten, record: withoutCommitTime(result.record) };
  } catch (error) {
    if (error instanceof CommitError) {
      return {
        ok: false,
        code: error.code,
        ...(error.relationship === undefined ? {} : { relationship: error.relationship }),
        ...(error.field === undefined ? {} : { field: error.field }),
      };
    }
    return { ok: false, thrown: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

const comparable = (dump: StoreDump) => ({ ...dump, history: dump.history.map(withoutCommitTime) });

function describeInput(input: SyncInput): string {
  const rows = [
    ...input.entities.map((e) => `${entityRef(e)}@${e.stepId}`),
    ...input.relationships.map((r) => `${relationshipRef(r)}@${r.stepId}`),
  ];
  return `${input.accountId}/${input.connectorId} ${input.syncId} kept=[${input.keptSteps}] failed=[${input.failedSteps}] {${rows.join(', ')}}`;
}

/** Filtered reads of the adapter must agree with its full dump. */
async function checkReads(store: GraphStore, state: StoreDump, index: number, label: string): Promise<void> {
  for (const accountId of ACCOUNTS) {
    for (const connectorId of CONNECTORS) {
      const got = await listAll((q) => store.listEntities({ ...q, accountId, connectorId }), 2);
      expect(got, `${label}: listEntities(${accountId}, ${connectorId})`).toEqual(
        state.entities.filter((e) => e.accountId === accountId && e.connectorId === connectorId),
      );
    }
  }
  expect(await listAll((q) => store.listEntities({ ...q, class: 'Host' }), 2), `${label}: listEntities(class)`).toEqual(
    state.entities.filter((e) => e.entityClass === 'Host'),
  );
  expect(await listAll((q) => store.listEntities({ ...q, type: 'user' }), 2), `${label}: listEntities(type)`).toEqual(
    state.entities.filter((e) => e.entityType === 'user'),
  );

  const accountId = ACCOUNTS[index % ACCOUNTS.length]!;
  const [type, key] = SLOTS[index % SLOTS.length]!;
  const id = entityId(accountId, type, key);
  for (const direction of ['out', 'in', 'both'] as const) {
    const got = await listAll((q) => store.listRelationships({ ...q, entityId: id, direction }), 2);
    expect(got, `${label}: listRelationships(${type}:${key}, ${direction})`).toEqual(
      state.relationships.filter((r) => (direction !== 'in' && r.fromId === id) || (direction !== 'out' && r.toId === id)),
    );
  }
  expect(await listAll((q) => store.listRelationships({ ...q, verb: 'HAS', accountId }), 2), `${label}: listRelationships(verb)`).toEqual(
    state.relationships.filter((r) => r.verb === 'HAS' && r.accountId === accountId),
  );

  for (const [slotType, slotKey] of SLOTS) {
    const row = state.entities.find((e) => e.id === entityId(accountId, slotType, slotKey));
    expect(await store.getEntity(entityId(accountId, slotType, slotKey)), `${label}: getEntity`).toEqual(row);
    expect(await store.findEntity(accountId, slotType, slotKey), `${label}: findEntity`).toEqual(row);
  }
  for (const r of state.relationships.slice(0, 3)) {
    expect(await store.getRelationship(r.id), `${label}: getRelationship`).toEqual(r);
  }
}

/** Steps by first appearance of their records, entities then relationships: how commitSync numbers them. */
const firstAppearance = (input: SyncInput): string[] =>
  [...new Set([...input.entities, ...input.relationships].map((r) => r.stepId ?? DEFAULT_STEP_ID))];

/**
 * What a run can produce (for `streaming`): failed steps are kept, kept
 * steps imply a failed one, and a failed step's records are not emitted.
 */
function runnable(input: SyncInput): SyncInput {
  const given = input.keptSteps ?? [];
  const failing = input.failedSteps?.length ? input.failedSteps : given.slice(0, 1);
  // In the order a run reports them: connectorOf defines kept steps first.
  const kept = [...new Set([...given, ...failing])];
  const failed = kept.filter((id) => failing.includes(id));
  const stepOf = (r: { stepId?: string }): string => r.stepId ?? DEFAULT_STEP_ID;
  return {
    ...input,
    failedSteps: failed,
    keptSteps: kept,
    entities: input.entities.filter((e) => !failed.includes(stepOf(e))),
    relationships: input.relationships.filter((r) => !failed.includes(stepOf(r))),
  };
}

async function runSequence(open: OpenStore, commands: readonly Command[], mode: SyncMode): Promise<void> {
  const reference = createMemoryStore();
  const store = await open();
  let streamed = 0;
  // One unit a chunk, then three: chunk edges fall everywhere.
  const commit = (input: SyncInput): Promise<CommitResult> =>
    mode === 'memory' ? commitSync(store, input) : streamSync(store, input, streamed++ % 2 === 0 ? 1 : 3);
  try {
    const run: Run = { last: new Map(), used: [] };
    const apply = async (input: SyncInput, label: string): Promise<Outcome> => {
      run.used.push(input.syncId);
      const before = await dumpStore(store, ACCOUNTS, 3);
      const expected = model(before, input, mode === 'memory' ? firstAppearance(input) : stepOrderOf(input));

      const referenceOutcome = await outcomeOf(mode === 'memory' ? commitSync(reference, input) : streamSync(reference, input));
      const outcome = await outcomeOf(commit(input));
      expect(outcome, `${label}: outcome vs the memory reference`).toEqual(referenceOutcome);
      expect(outcome, `${label}: outcome vs the model`).toEqual(expected.outcome);

      const after = await dumpStore(store, ACCOUNTS, 3);
      const referenceAfter = await dumpStore(reference, ACCOUNTS);
      expect(comparable(after), `${label}: state vs the memory reference`).toEqual(comparable(referenceAfter));
      expect(after.entities, `${label}: entities vs the model`).toEqual(expected.entities);
      expect(after.relationships, `${label}: relationships vs the model`).toEqual(expected.relationships);

      if (outcome.ok) {
        expect(after.history, `${label}: one history record per commit`).toHaveLength(before.history.length + 1);
        expect(withoutCommitTime(after.history[0]!), `${label}: newest history record`).toEqual(outcome.record);
        expect(after.history.slice(1), `${label}: older history untouched`).toEqual(before.history);
      } else {
        // INV-C01: a refused commit leaves everything as it was.
        expect(after, `${label}: INV-C01 state after a refused commit`).toStrictEqual(before);
      }

      // INV-03: nothing dangles, ever.
      const entityIds = new Set(after.entities.map((e) => e.id));
      for (const r of after.relationships) {
        expect(entityIds.has(r.fromId) && entityIds.has(r.toId), `${label}: INV-03 ${describeRelationship(r)} dangles`).toBe(true);
      }
      const countsOf = (accountId?: string) => {
        const entities = after.entities.filter((e) => accountId === undefined || e.accountId === accountId);
        const relationships = after.relationships.filter((r) => accountId === undefined || r.accountId === accountId);
        const tally = (values: string[]) => values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});
        return {
          entities: entities.length,
          relationships: relationships.length,
          entitiesByClass: tally(entities.map((e) => e.entityClass)),
          relationshipsByVerb: tally(relationships.map((r) => r.verb)),
        };
      };
      expect(after.counts, `${label}: counts`).toEqual(countsOf());
      for (const accountId of ACCOUNTS) expect(after.countsByAccount[accountId], `${label}: counts(${accountId})`).toEqual(countsOf(accountId));
      return outcome;
    };

    for (const [index, command] of commands.entries()) {
      const built = buildInput(index, command, run);
      const input = mode === 'memory' ? built : runnable(built);
      const label = `command #${index} ${describeInput(input)}`;
      const outcome = await apply(input, label);
      await checkReads(store, await dumpStore(store, ACCOUNTS), index, label);
      if (!outcome.ok) continue;
      run.last.set(`${input.accountId}/${input.connectorId}`, input);
      if (command.echo) {
        // +P2: the same output committed again right away writes nothing.
        // Its own sync id: a reused id (in another account) would otherwise repeat an earlier echo's.
        const echo = { ...input, syncId: `${input.syncId}+echo-${index}` };
        const again = await apply(echo, `${label} (echo)`);
        expect(again.ok && again.rowsWritten, `${label}: +P2 echo writes nothing`).toBe(0);
        if (again.ok) {
          expect(again.stats.entitiesUnchanged).toBe(input.entities.length);
          expect(again.stats.relationshipsUnchanged).toBe(input.relationships.length);
        }
      }
    }
  } finally {
    await store.close();
    await reference.close();
  }
}

export function describeModelBased(name: string, open: OpenStore, options: ModelBasedOptions = {}): void {
  const numRuns = options.numRuns ?? 60;
  const mode = options.mode ?? 'memory';
  describe(`GraphStore model-based (+P3): ${name} (${mode})`, () => {
    it(
      `+P3: ${numRuns} random sync sequences give the memory reference's results and state, and the model's`,
      async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 14 }), (commands) => runSequence(open, commands, mode)),
          { numRuns, ...(options.seed === undefined ? {} : { seed: options.seed }) },
        );
      },
      options.timeout ?? 120_000,
    );

    // About the generators, not the store: once is enough.
    if (mode === 'memory') it('+P3: the generators reach every path (creates, updates, unchanged, deletes, kept, cascades, both errors)', async () => {
      // Guards the suite itself: if the generators stopped producing a case,
      // the comparison above would silently stop covering it.
      const seen = new Map<string, number>(
        [...Object.keys(emptyStats()), 'DanglingRelationship', 'DuplicateSyncId', 'takeover', 'echo'].map((k) => [k, 0]),
      );
      const bump = (what: string, by = 1): void => void seen.set(what, (seen.get(what) ?? 0) + by);
      await fc.assert(
        fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 14 }), async (commands) => {
          const store = createMemoryStore();
          const run: Run = { last: new Map(), used: [] };
          for (const [index, command] of commands.entries()) {
            const input = buildInput(index, command, run);
            run.used.push(input.syncId);
            const before = await dumpStore(store, ACCOUNTS);
            const outcome = await outcomeOf(commitSync(store, input));
            if (!outcome.ok) {
              if ('code' in outcome) bump(outcome.code);
              continue;
            }
            run.last.set(`${input.accountId}/${input.connectorId}`, input);
            for (const [k, v] of Object.entries(outcome.stats)) bump(k, v);
            if (command.echo) bump('echo');
            const owners = new Map(before.entities.map((e) => [e.id, e.connectorId]));
            const takesOver = input.entities.some((e) => {
              const owner = owners.get(entityId(input.accountId, e.entityType, e.entityKey));
              return owner !== undefined && owner !== input.connectorId;
            });
            if (takesOver) bump('takeover');
          }
          await store.close();
        }),
        { numRuns: 100, seed: 42 },
      );
      for (const [what, count] of seen) expect(count, `${what} never happened`).toBeGreaterThan(0);
    });
  });
}

