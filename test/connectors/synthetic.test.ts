import { describe, expect, it } from 'vitest';
import {
  ConnectorError,
  commitSync,
  runConnector,
  validateConnector,
  type GraphStore,
  type SyncOutput,
  type SyncStats,
} from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import createDefault, {
  SYNTHETIC_STEP_IDS,
  SyntheticConnector,
  createSyntheticConnector,
  syntheticCounts,
  type SyntheticOptions,
} from '../../connectors/synthetic/index.js';

const ACCOUNT = 'acme';
let syncs = 0;

async function run(options: SyntheticOptions): Promise<SyncOutput> {
  return runConnector(createSyntheticConnector(options), { accountId: ACCOUNT, syncId: `sync-${++syncs}` });
}

async function sync(store: GraphStore, options: SyntheticOptions): Promise<{ output: SyncOutput; stats: SyncStats }> {
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
    const keys = (o: SyncOutput): Set<string> => new Set(o.entities.map(entityKey));
    const baseKeys = keys(base);
    const added = (o: SyncOutput): string[] => [...keys(o)].filter((k) => !baseKeys.has(k));
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
