import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ConnectorError,
  commitSync,
  runConnector,
  validateConnector,
  type CommitResult,
  type GraphStore,
  type MemorySyncOutput,
  type StepContext,
  type StepPage,
  type SyncOutput,
  type SyncStats,
} from 'parallax-edge';
import type { StagedChunk, SyncSession } from 'parallax-edge/adapter-kit';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import createDefault, {
  DEFAULT_SYNTHETIC_PAGE_SIZE,
  SYNTHETIC_STEP_IDS,
  SyntheticConnector,
  createSyntheticConnector,
  syntheticCounts,
  type SyntheticOptions,
} from '../../connectors/synthetic/index.js';
import { listAll } from 'parallax-edge/testing';

const ACCOUNT = 'acme';
let syncs = 0;

async function run(options: SyntheticOptions): Promise<MemorySyncOutput> {
  return runConnector(createSyntheticConnector(options), { accountId: ACCOUNT, syncId: `sync-${++syncs}` });
}

async function sync(store: GraphStore, options: SyntheticOptions): Promise<{ output: MemorySyncOutput; stats: SyncStats }> {
  const output = await run(options);
  const { stats } = await commitSync(store, output);
  return { output, stats };
}

const entityDiffs = (s: SyncStats): number => s.entitiesCreated + s.entitiesUpdated + s.entitiesDeleted;
const entityKey = (e: { entityType: string; entityKey: string }): string => `${e.entityType}:${e.entityKey}`;

describe('synthetic connector: determinism', () => {
  it('emits the same records for the same options', async () => {
    const a = await run({ seed: 42, n: 2000 });
    const b = await run({ seed: 42, n: 2000 });
    expect(a.failedSteps).toEqual([]);
    expect(b.entities).toEqual(a.entities);
    expect(b.relationships).toEqual(a.relationships);
  });

  it('does not depend on the order the steps run in', async () => {
    const free = await run({ seed: 3, n: 800, generation: 2 });
    const serial = await runConnector(createSyntheticConnector({ seed: 3, n: 800, generation: 2 }), {
      accountId: ACCOUNT,
      syncId: 'serial',
      concurrency: 1,
    });
    expect(serial.entities).toEqual(free.entities);
    expect(serial.relationships).toEqual(free.relationships);
  });

  it('emits a different estate for another seed', async () => {
    const a = new Set((await run({ seed: 1, n: 500 })).entities.map(entityKey));
    const b = (await run({ seed: 2, n: 500 })).entities.map(entityKey);
    expect(b.filter((k) => a.has(k)).length).toBe(0);
  });

  it('keeps the base estate (generation 0) independent of the churn settings', async () => {
    const base = await run({ seed: 5, n: 600 });
    const other = await run({ seed: 5, n: 600, churn: { fraction: 0.5, seed: 99, generation: 0 } });
    expect(other.entities).toEqual(base.entities);
    expect(other.relationships).toEqual(base.relationships);
  });

  it('emits realistic, flat host properties', async () => {
    const { entities } = await run({ seed: 1, n: 300 });
    const host = entities.find((e) => e.entityType === 'aws_instance')!;
    expect(host.entityClass).toBe('Host');
    expect(host.entityKey).toMatch(/^i-0[0-9a-f]{16}$/);
    expect(host.properties).toMatchObject({
      instance_type: expect.any(String),
      state: expect.any(String),
      private_ip: expect.stringMatching(/^10\.\d+\.\d+\.\d+$/),
      launched_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(Array.isArray(host.properties.tags)).toBe(true);
  });
});

describe('synthetic connector: scale', () => {
  it.each([1_000, 10_000])('emits about n=%i entities and about two relationships per entity', async (n) => {
    const { entities, relationships } = await run({ seed: 9, n });
    expect(entities.length).toBeGreaterThan(n * 0.97);
    expect(entities.length).toBeLessThan(n * 1.03);
    const ratio = relationships.length / entities.length;
    expect(ratio).toBeGreaterThan(1.9);
    expect(ratio).toBeLessThan(2.2);
  });

  it('covers the documented types and verbs', async () => {
    const { entities, relationships } = await run({ seed: 9, n: 2000 });
    expect(new Set(entities.map((e) => e.entityType))).toEqual(
      new Set([
        'aws_account', 'aws_vpc', 'aws_subnet', 'aws_security_group', 'aws_instance', 'edr_agent',
        'aws_iam_user', 'aws_iam_role', 'aws_iam_policy', 'aws_s3_bucket',
      ]),
    );
    expect(new Set(relationships.map((r) => r.verb))).toEqual(new Set(['HAS', 'CONTAINS', 'USES', 'ASSIGNED', 'PROTECTS', 'ALLOWS']));
    const counts = syntheticCounts(2000);
    expect(entities.filter((e) => e.entityType === 'aws_instance').length).toBe(counts.hosts);
  });
});

describe('synthetic connector: churn', () => {
  // [fraction, scale]: enough entities that a generation's churn is a few hundred of them.
  it.each([
    [0.01, 6000],
    [0.1, 3000],
    [0.3, 3000],
  ])('changes about the requested fraction %f of entities per generation (n=%i)', async (fraction, n) => {
    const store = createMemoryStore();
    const base = await sync(store, { seed: 11, n });
    const total = base.output.entities.length;
    expect(base.stats.entitiesCreated).toBe(total);
    for (const generation of fraction < 0.05 ? [1] : [1, 2]) {
      const { stats } = await sync(store, { seed: 11, n, churn: { fraction, generation } });
      const changed = entityDiffs(stats) / total;
      // Binomial noise on a few hundred changed entities: allow 30% either way.
      expect(changed).toBeGreaterThan(fraction * 0.7);
      expect(changed).toBeLessThan(fraction * 1.3);
      // Removed, added and changed each take about a third.
      for (const part of [stats.entitiesCreated, stats.entitiesDeleted, stats.entitiesUpdated]) {
        expect(part / total).toBeGreaterThan(fraction / 3 / 2);
        expect(part / total).toBeLessThan((fraction / 3) * 2);
      }
      // Relationships of replaced entities churn with them.
      const relationshipDiffs = stats.relationshipsCreated + stats.relationshipsUpdated + stats.relationshipsDeleted;
      expect(relationshipDiffs / base.output.relationships.length).toBeGreaterThan(fraction * 0.5);
      expect(relationshipDiffs / base.output.relationships.length).toBeLessThan(fraction * 1.5);
    }
  });

  it('defaults to 1% per generation and picks other entities for another churn seed', async () => {
    const n = 6000;
    const base = await run({ seed: 11, n });
    const one = await run({ seed: 11, n, generation: 1 });
    const other = await run({ seed: 11, n, churn: { fraction: 0.01, seed: 2 } });
    const keys = (o: MemorySyncOutput): Set<string> => new Set(o.entities.map(entityKey));
    const baseKeys = keys(base);
    const added = (o: MemorySyncOutput): string[] => [...keys(o)].filter((k) => !baseKeys.has(k));
    expect(added(one).length).toBeGreaterThan(0);
    expect(added(one).length).toBeLessThan(base.entities.length * 0.01);
    expect(added(other)).not.toEqual(added(one));
  });

  it('writes nothing when the same generation is synced again (+P2)', async () => {
    const store = createMemoryStore();
    await sync(store, { seed: 4, n: 1500, generation: 3 });
    const again = await sync(store, { seed: 4, n: 1500, generation: 3 });
    expect(entityDiffs(again.stats)).toBe(0);
    expect(again.stats.relationshipsCreated + again.stats.relationshipsUpdated + again.stats.relationshipsDeleted).toBe(0);
  });
});

describe('synthetic connector: failing step (+P1)', () => {
  it('fails the chosen step halfway and keeps its stored data and its dependents', async () => {
    const store = createMemoryStore();
    const n = 3000;
    const base = await sync(store, { seed: 8, n });
    const before = await store.counts({ accountId: ACCOUNT });

    const failed = await sync(store, { seed: 8, n, generation: 1, churn: { fraction: 0.2 }, failStep: 'hosts' });
    expect(failed.output.failedSteps).toEqual(['hosts']);
    expect(failed.output.keptSteps).toEqual(['hosts', 'edr-agents', 'instance-profiles']);
    const hostsReport = failed.output.steps.find((s) => s.stepId === 'hosts')!;
    expect(hostsReport.status).toBe('failed');
    expect(hostsReport.error).toBeInstanceOf(ConnectorError);
    expect(hostsReport.error?.kind).toBe('Api');
    // Half of the records were emitted before the failure, then discarded by the runner.
    expect(hostsReport.entities).toBeGreaterThan(0);
    expect(failed.output.entities.some((e) => e.entityType === 'aws_instance' || e.entityType === 'edr_agent')).toBe(false);

    const baseHosts = base.output.entities.filter((e) => e.entityType === 'aws_instance').length;
    const baseAgents = base.output.entities.filter((e) => e.entityType === 'edr_agent').length;
    expect(failed.stats.entitiesKept).toBe(baseHosts + baseAgents);
    const after = await store.counts({ accountId: ACCOUNT });
    expect(after.entitiesByClass.Host).toBe(before.entitiesByClass.Host);
    expect(after.entitiesByClass.Agent).toBe(before.entitiesByClass.Agent);
    // Independent steps still churned (INV-C06).
    expect(failed.stats.entitiesDeleted).toBeGreaterThan(0);

    // The next good run catches up: the kept rows are replaced by generation 1.
    const healed = await sync(store, { seed: 8, n, generation: 1, churn: { fraction: 0.2 } });
    expect(healed.output.failedSteps).toEqual([]);
    expect(healed.stats.entitiesKept).toBe(0);
    expect(healed.stats.entitiesDeleted).toBeGreaterThan(0);
  });

  it('rejects a failStep that is not a step', () => {
    expect(() => createSyntheticConnector({ failStep: 'nope' })).toThrow(/failStep "nope" is not a step/);
  });
});

describe('synthetic connector: no dangling relationships (INV-C04)', () => {
  it('every relationship of a clean run points at an emitted entity', async () => {
    const { entities, relationships } = await run({ seed: 21, n: 3000, generation: 4, churn: { fraction: 0.3 } });
    const keys = new Set(entities.map(entityKey));
    const dangling = relationships.filter(
      (r) => !keys.has(`${r.fromType}:${r.fromKey}`) || !keys.has(`${r.toType}:${r.toKey}`),
    );
    expect(dangling).toEqual([]);
  });

  it.each(SYNTHETIC_STEP_IDS.map((id) => [id]))('commits a first sync whose step %s failed', async (failStep) => {
    const store = createMemoryStore();
    const { output, stats } = await sync(store, { seed: 13, n: 400, failStep });
    expect(output.failedSteps).toEqual([failStep]);
    expect(stats.entitiesCreated).toBe(output.entities.length);
    // And a churned sync on top of it, with the same step failing again.
    await expect(sync(store, { seed: 13, n: 400, generation: 5, churn: { fraction: 0.5 }, failStep })).resolves.toBeDefined();
  });

  it('commits across several seeds and generations', async () => {
    const store = createMemoryStore();
    for (let generation = 0; generation < 4; generation++) {
      await sync(store, { seed: 77, n: 700, churn: { fraction: 0.25, seed: 1, generation } });
    }
    const { stats } = await sync(store, { seed: 77, n: 700, churn: { fraction: 0.25, seed: 1, generation: 3 } });
    expect(entityDiffs(stats)).toBe(0);
  });
});

describe('synthetic connector: steps', () => {
  it('defines a valid DAG with real dependencies', () => {
    const connector = createSyntheticConnector();
    const graph = validateConnector(connector);
    expect(graph.order).toEqual(SYNTHETIC_STEP_IDS);
    const deps = (id: string): readonly string[] => graph.steps.get(id)!.dependsOn;
    expect(deps('accounts')).toEqual([]);
    expect(deps('vpcs')).toEqual(['accounts']);
    expect(deps('hosts')).toEqual(['subnets', 'security-groups']);
    expect(deps('edr-agents')).toEqual(['hosts']);
    expect(deps('iam-attachments')).toEqual(['iam-users', 'iam-roles', 'iam-policies']);
  });

  it('throws UnknownStep for an unknown step id', async () => {
    const connector = new SyntheticConnector();
    await expect(connector.executeStep('nope', {} as never)).rejects.toMatchObject({ kind: 'UnknownStep' });
  });

  it('checks its options', () => {
    expect(() => createSyntheticConnector({ n: 0 })).toThrow(ConnectorError);
    expect(() => createSyntheticConnector({ churn: { fraction: 1.5 } })).toThrow(/churn.fraction/);
    expect(() => createSyntheticConnector({ accountLabel: 'Bad Label' })).toThrow(/accountLabel/);
    expect(() => createSyntheticConnector({ generation: -1 })).toThrow(/generation/);
  });

  it('uses accountLabel and name', async () => {
    const connector = createSyntheticConnector({ n: 100, accountLabel: 'globex', name: 'synthetic-globex' });
    expect(connector.name).toBe('synthetic-globex');
    const output = await runConnector(connector, { accountId: ACCOUNT, syncId: 'label' });
    expect(output.connectorId).toBe('synthetic-globex');
    expect(output.entities.find((e) => e.entityType === 'aws_account')?.displayName).toMatch(/^globex-/);
    expect(output.entities.filter((e) => e.entityType === 'aws_s3_bucket').every((e) => e.entityKey.startsWith('globex-'))).toBe(true);
  });

  it('default-exports the factory for CLIs', () => {
    expect(createDefault).toBe(createSyntheticConnector);
    expect(createDefault({ n: 10 })).toBeInstanceOf(SyntheticConnector);
  });
});

/** SHA-256 over the records of a run in memory, one JSON line each, entities first. */
function digest(output: MemorySyncOutput): string {
  const hash = createHash('sha256');
  for (const e of output.entities) hash.update(`${JSON.stringify(e)}\n`);
  for (const r of output.relationships) hash.update(`${JSON.stringify(r)}\n`);
  return hash.digest('hex');
}

/** The step's slots (accounts, hosts, ...) at this scale; security groups have two (the group, then its ingress rule). */
function slotsOf(stepId: string, n: number): number {
  const c = syntheticCounts(n);
  const slots: Record<string, number> = {
    accounts: c.accounts,
    vpcs: c.vpcs,
    subnets: c.subnets,
    'security-groups': 2 * c.securityGroups,
    hosts: c.hosts,
    'edr-agents': c.hosts,
    'iam-policies': c.policies,
    'iam-users': c.users,
    'iam-roles': c.roles,
    's3-buckets': c.buckets,
    'iam-attachments': c.users + c.roles,
    'bucket-access': c.policies,
    'instance-profiles': c.hosts,
  };
  return slots[stepId]!;
}

/** Every entity and relationship a store holds, by id. */
async function rows(store: GraphStore): Promise<{ entities: unknown[]; relationships: unknown[] }> {
  return {
    entities: await listAll((q) => store.listEntities({ ...q, accountId: ACCOUNT })),
    relationships: await listAll((q) => store.listRelationships({ ...q, accountId: ACCOUNT })),
  };
}

/** The connector with each page's cursor, returned `next` and records (from the metrics before and after) recorded. */
function recordingPages(options: SyntheticOptions) {
  const inner = createSyntheticConnector(options);
  const pages: { stepId: string; cursor: string | undefined; next: string | undefined; records: number }[] = [];
  const connector = {
    name: inner.name,
    steps: () => inner.steps(),
    async executeStep(stepId: string, ctx: StepContext): Promise<StepPage> {
      const before = ctx.metrics.entitiesEmitted + ctx.metrics.relationshipsEmitted;
      const cursor = ctx.cursor;
      const page = await inner.executeStep(stepId, ctx);
      pages.push({ stepId, cursor, next: page.next, records: ctx.metrics.entitiesEmitted + ctx.metrics.relationshipsEmitted - before });
      return page;
    },
  };
  return { connector, pages };
}

describe('synthetic connector: pages (issue 12)', () => {
  // Digests of these runs taken at ecff1ac, before the steps were paged: the records and their order must not change.
  it.each([
    [{ seed: 42, n: 2000 }, 2021, 4167, '248feb79fb4f42bc186c840b0df8ad40c7b51350973e5c72e229a646aa1566b4'],
    [{ seed: 21, n: 3000, generation: 4, churn: { fraction: 0.3 } }, 2993, 6226, 'a998faa6689449b7ce0c52ff4f0f1d52124ccbe705a282f2dfb162a9190c32df'],
    [{ seed: 5, n: 41_000, generation: 1, churn: { fraction: 0.1 } }, 41011, 84820, '798945ac953f21dff4cba89b639c12a40d946a455215f0c00f4f3168c9564c54'],
    [{ seed: 13, n: 3000, generation: 2, failStep: 'security-groups' }, 2855, 4286, '1c96eee514251e051dd22d2817fe790d14dac545152c37333595259a93fa0483'],
    [{ seed: 13, n: 3000, generation: 2, failStep: 'iam-roles' }, 2855, 5325, 'b82444b2d7afe49ba5643b829cde0ac3b040f6162b362b8c98980c5dd80b5cac'],
  ] as const)('emits the same records in the same order as before paging: %j', async (options, entities, relationships, sha256) => {
    const output = await run(options);
    expect([output.entities.length, output.relationships.length]).toEqual([entities, relationships]);
    expect(digest(output)).toBe(sha256);
  });

  it('a step runs in several pages of pageSize slots, and their union is the output of one page per step', async () => {
    const options = { seed: 21, n: 3000, generation: 4, churn: { fraction: 0.3 } };
    const paged = await run({ ...options, pageSize: 7 });
    const whole = await run({ ...options, pageSize: 1e9 });
    for (const report of paged.steps) expect(report.pages, report.stepId).toBe(Math.max(1, Math.ceil(slotsOf(report.stepId, 3000) / 7)));
    expect(whole.steps.every((s) => s.pages === 1)).toBe(true);
    expect(paged.steps.filter((s) => s.pages > 1).length).toBe(SYNTHETIC_STEP_IDS.length - 1);
    expect(paged.entities).toEqual(whole.entities);
    expect(paged.relationships).toEqual(whole.relationships);
  });

  it('each page hands back the next slot index as its cursor, and the last page none', async () => {
    const { connector, pages } = recordingPages({ seed: 1, n: 2000, pageSize: 300 });
    await runConnector(connector, { accountId: ACCOUNT });
    const hosts = pages.filter((p) => p.stepId === 'hosts');
    expect(syntheticCounts(2000).hosts).toBe(700);
    expect(hosts.map((p) => [p.cursor, p.next])).toEqual([
      [undefined, '300'],
      ['300', '600'],
      ['600', undefined],
    ]);
    // A page of hosts gives each host, its subnet edge and one or two security-group edges.
    expect(hosts.every((p) => p.records <= 300 * 4)).toBe(true);
  });

  it.each([
    ['0', '0'],
    ['past the last slot', '700'],
    ['negative', '-1'],
    ['an exponent', '1e2'],
    ['padded', ' 300'],
    ['a fraction', '300.5'],
    ['__proto__', '__proto__'],
    ['400 digits', '9'.repeat(400)],
  ])('a cursor that is not a slot index of the step (%s) fails the page as Validation naming the cursor', async (_what, cursor) => {
    const connector = createSyntheticConnector({ seed: 1, n: 2000 });
    const ctx = { stepId: 'hosts', cursor } as StepContext;
    const refused = connector.executeStep('hosts', ctx);
    await expect(refused).rejects.toBeInstanceOf(ConnectorError);
    await expect(refused).rejects.toMatchObject({ kind: 'Validation', field: 'cursor', stepId: 'hosts' });
    await expect(refused).rejects.toThrow(/not a slot index from 1 to 699/);
    // A hostile cursor is quoted short.
    await expect(refused.catch((e: Error) => e.message.length)).resolves.toBeLessThan(120);
  });

  it('checks pageSize, and defaults to DEFAULT_SYNTHETIC_PAGE_SIZE', () => {
    expect(createSyntheticConnector().pageSize).toBe(DEFAULT_SYNTHETIC_PAGE_SIZE);
    expect(() => createSyntheticConnector({ pageSize: 0 })).toThrow(/pageSize must be an integer of at least 1/);
    expect(() => createSyntheticConnector({ pageSize: 2.5 })).toThrow(ConnectorError);
  });

  it('every step is paged and reads its dependencies only through the bounded prior API (iteratesPrior)', () => {
    const graph = validateConnector(createSyntheticConnector());
    for (const id of graph.order) {
      expect(graph.steps.get(id), id).toMatchObject({ paged: true, iteratesPrior: true });
    }
  });
});

describe('synthetic connector: streamed into the store and in memory (issue 11)', () => {
  const streamedSync = async (store: GraphStore, options: SyntheticOptions, syncId: string): Promise<CommitResult> =>
    commitSync(store, await runConnector(createSyntheticConnector(options), { accountId: ACCOUNT, syncId, store }));

  it('a streamed run commits exactly the rows of the same run in memory, generation after generation', async () => {
    const inMemory = createMemoryStore();
    const streamed = createMemoryStore();
    for (const generation of [0, 1, 2]) {
      const options = { seed: 31, n: 2500, pageSize: 97, churn: { fraction: 0.2, generation } };
      const syncId = `gen-${generation}`;
      const a = await commitSync(inMemory, await runConnector(createSyntheticConnector(options), { accountId: ACCOUNT, syncId }));
      const b = await streamedSync(streamed, options, syncId);
      expect(b.stats).toEqual(a.stats);
      if (generation > 0) expect(b.stats.entitiesCreated + b.stats.entitiesDeleted + b.stats.entitiesUpdated).toBeGreaterThan(0);
      expect(await rows(streamed)).toEqual(await rows(inMemory));
    }
  });

  it('+P2: an unchanged streamed re-sync of a paged run writes nothing', async () => {
    const store = createMemoryStore();
    await streamedSync(store, { seed: 4, n: 1500, generation: 3, pageSize: 50 }, 'first');
    const again = await streamedSync(store, { seed: 4, n: 1500, generation: 3, pageSize: 50 }, 'again');
    expect(again.rowsWritten).toBe(0);
    expect(entityDiffs(again.stats)).toBe(0);
  });

  it.each(['memory', 'streamed'] as const)(
    '+P1 across pages (%s): a step that fails after several pages stages nothing, and its stored rows and its dependents are kept',
    async (mode) => {
      const store = createMemoryStore();
      const n = 3000;
      const commit = async (options: SyntheticOptions, syncId: string) => {
        const connector = createSyntheticConnector({ ...options, pageSize: 100 });
        const output = mode === 'streamed'
          ? await runConnector(connector, { accountId: ACCOUNT, syncId, store })
          : await runConnector(connector, { accountId: ACCOUNT, syncId });
        return { output, result: await commitSync(store, output) };
      };
      await commit({ seed: 8, n }, 'base');
      const hostsBefore = await listAll((q) => store.listEntities({ ...q, accountId: ACCOUNT, class: 'Host' }));

      const { output, result } = await commit({ seed: 8, n, generation: 1, churn: { fraction: 0.2 }, failStep: 'hosts' }, 'failed');
      const hosts = output.steps.find((s) => s.stepId === 'hosts')!;
      expect(hosts).toMatchObject({ status: 'failed', error: { kind: 'Api' } });
      // 1,050 hosts at 100 a page: five full pages, then half of the sixth.
      expect(hosts.pages).toBe(6);
      expect(hosts.error?.message).toMatch(/halfway, at slot 525 of 1050/);
      expect(hosts.entities).toBe(525);
      expect(output.keptSteps).toEqual(['hosts', 'edr-agents', 'instance-profiles']);
      // Not one host of generation 1 reached the graph, though five pages of them were emitted (and staged, when streamed).
      expect(await listAll((q) => store.listEntities({ ...q, accountId: ACCOUNT, class: 'Host' }))).toEqual(hostsBefore);
      expect(result.stats.entitiesKept).toBe(syntheticCounts(n).hosts + (await store.counts({ accountId: ACCOUNT })).entitiesByClass.Agent!);
      expect(result.stats.entitiesDeleted).toBeGreaterThan(0);
    },
  );
});

/** Wraps a store's sessions to see every chunk staged and how many are in flight at once per step. */
function watchStaging(store: GraphStore) {
  const seen = { chunks: 0, rows: 0, largestChunk: 0, inFlight: new Map<string, number>(), mostInFlight: 0 };
  const watch = (session: SyncSession): SyncSession => ({
    ...session,
    async stage(chunk: StagedChunk) {
      const size = chunk.entities.length + chunk.relationships.length;
      seen.chunks++;
      seen.rows += size;
      seen.largestChunk = Math.max(seen.largestChunk, size);
      const inFlight = (seen.inFlight.get(chunk.stepId) ?? 0) + 1;
      seen.inFlight.set(chunk.stepId, inFlight);
      seen.mostInFlight = Math.max(seen.mostInFlight, inFlight);
      try {
        await session.stage(chunk);
      } finally {
        seen.inFlight.set(chunk.stepId, inFlight - 1);
      }
    },
  });
  const watched: GraphStore = { ...store, openSync: async (header) => watch(await store.openSync(header)) };
  return { store: watched, seen };
}

describe('synthetic connector at scale, streamed: the run holds pages and chunks, never a step (issue 11)', () => {
  it('n = 200k streamed into the memory store: every page and every staged chunk is bounded, and no step keeps records for its dependents', async () => {
    const n = 200_000;
    const chunkRows = 2000;
    const { store, seen } = watchStaging(createMemoryStore());
    const { connector, pages } = recordingPages({ seed: 3, n });
    const graph = validateConnector(connector);
    // The runner keeps a step's records in memory only for a dependent that does not declare iteratesPrior().
    const dependents = graph.order.filter((id) => graph.steps.get(id)!.dependsOn.length > 0);
    expect(dependents.every((id) => graph.steps.get(id)!.iteratesPrior)).toBe(true);

    const output = await runConnector(connector, { accountId: ACCOUNT, syncId: 'large', store, chunkRows });
    expect(output.mode).toBe('streamed');
    expect(output).not.toHaveProperty('entities');
    expect(output.failedSteps).toEqual([]);
    const emitted = output.steps.reduce((sum, s) => sum + s.entities + s.relationships, 0);
    expect(emitted).toBeGreaterThan(3 * n * 0.97);

    // The big steps ran in many pages, none more than a page of slots' records (at most four a slot).
    expect(output.steps.find((s) => s.stepId === 'hosts')!.pages).toBe(Math.ceil(syntheticCounts(n).hosts / DEFAULT_SYNTHETIC_PAGE_SIZE));
    expect(pages.length).toBeGreaterThan(300);
    expect(Math.max(...pages.map((p) => p.records))).toBeLessThanOrEqual(4 * DEFAULT_SYNTHETIC_PAGE_SIZE);
    // Every row went through the store in chunks of about chunkRows (whole units of at most 256), one at a time per step.
    expect(seen.rows).toBe(emitted);
    expect(seen.chunks).toBeGreaterThanOrEqual(emitted / (chunkRows + 255));
    expect(seen.largestChunk).toBeLessThan(chunkRows + 256);
    expect(seen.mostInFlight).toBe(1);

    const { stats } = await commitSync(store, output);
    expect(stats.entitiesCreated + stats.relationshipsCreated).toBe(emitted);
  }, 300_000);
});
