/**
 * A sync run a page at a time (openDurableSync, runDurablePage,
 * commitDurableSync), as a durable engine such as a Cloudflare Workflow
 * runs it, gives what runConnector gives in process; a page run again after
 * a failure stages nothing twice; a step that fails for good keeps its rows
 * (+P1); an aborted sync leaves the graph as it was (+P4).
 */
import { describe, expect, it } from 'vitest';
import {
  ConnectorError,
  abortDurableSync,
  commitDurableSync,
  commitSync,
  entity,
  failDurableStep,
  openDurableSync,
  runConnector,
  runDurablePage,
  step,
  type Connector,
  type GraphStore,
} from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { createSyntheticConnector } from 'parallax-edge/connectors/synthetic';
import { dumpStore } from 'parallax-edge/testing';

/** The engine's loop, in process: steps in definition order (a valid order: each after its dependencies), page by page. */
async function runDurably(store: GraphStore, connector: Connector, syncId: string, fail: (stepId: string, page: number) => boolean = () => false) {
  const sync = await openDurableSync(store, connector, { accountId: 'acme', syncId });
  const completed: string[] = [];
  const failed: string[] = [];
  let entities = 0;
  let relationships = 0;
  for (const definition of connector.steps()) {
    let cursor: string | undefined;
    let stepEntities = 0;
    let stepRelationships = 0;
    try {
      for (let page = 0; ; page++) {
        if (fail(definition.id, page)) throw ConnectorError.api(503, '/x');
        const result = await runDurablePage(store, sync, connector, { stepId: definition.id, page, completedSteps: completed, ...(cursor === undefined ? {} : { cursor }) });
        stepEntities += result.entities;
        stepRelationships += result.relationships;
        if (result.next === undefined) break;
        cursor = result.next;
      }
      completed.push(definition.id);
      entities += stepEntities;
      relationships += stepRelationships;
    } catch {
      failed.push(definition.id);
      await failDurableStep(store, sync, definition.id);
    }
  }
  return commitDurableSync(store, sync, connector, { failedSteps: failed, entities, relationships });
}

const strip = (dump: Awaited<ReturnType<typeof dumpStore>>) => ({
  entities: dump.entities.map(({ syncId: _s, ...e }) => e),
  relationships: dump.relationships.map(({ syncId: _s, ...r }) => r),
});

describe('a sync run page by page by a durable engine', () => {
  it('gives the rows and stats runConnector gives in process, over three generations (synthetic connector, small pages)', async () => {
    const durable = createMemoryStore();
    const inProcess = createMemoryStore();
    for (const generation of [0, 1, 2]) {
      const connector = createSyntheticConnector({ n: 300, generation, pageSize: 7 });
      const a = await runDurably(durable, connector, `g${generation}`);
      const b = await commitSync(inProcess, await runConnector(connector, { accountId: 'acme', syncId: `g${generation}`, store: inProcess }));
      expect(a.stats).toEqual(b.stats);
      expect(strip(await dumpStore(durable, ['acme']))).toEqual(strip(await dumpStore(inProcess, ['acme'])));
    }
  });

  it('a page run again after a failed attempt stages nothing twice, and the commit is as if it ran once', async () => {
    const store = createMemoryStore();
    const connector = createSyntheticConnector({ n: 200, pageSize: 5 });
    const sync = await openDurableSync(store, connector, { accountId: 'acme', syncId: 's1' });
    const first = await runDurablePage(store, sync, connector, { stepId: 'accounts', page: 0, completedSteps: [] });
    const again = await runDurablePage(store, sync, connector, { stepId: 'accounts', page: 0, completedSteps: [] });
    expect(again).toEqual(first);
    const result = await commitDurableSync(store, sync, connector, { failedSteps: [], entities: first.entities, relationships: first.relationships });
    expect(result.stats.entitiesCreated).toBe(first.entities);
  });

  it('firstAttempt skips the drop of earlier attempts; a page run twice that way collides on its ids, and the retry drops it first', async () => {
    const store = createMemoryStore();
    const connector = createSyntheticConnector({ n: 200, pageSize: 5 });
    const sync = await openDurableSync(store, connector, { accountId: 'acme', syncId: 's1' });
    const first = await runDurablePage(store, sync, connector, { stepId: 'accounts', page: 0, completedSteps: [], firstAttempt: true });
    await expect(runDurablePage(store, sync, connector, { stepId: 'accounts', page: 0, completedSteps: [], firstAttempt: true })).rejects.toMatchObject({ code: 'InvalidBatch' });
    expect(await runDurablePage(store, sync, connector, { stepId: 'accounts', page: 0, completedSteps: [] })).toEqual(first);
    const result = await commitDurableSync(store, sync, connector, { failedSteps: [], entities: first.entities, relationships: first.relationships });
    expect(result.stats.entitiesCreated).toBe(first.entities);
  });

  it('+P1: a step that fails for good on its second page keeps the rows it stored before, and its dependents run without its data', async () => {
    const store = createMemoryStore();
    const connector = createSyntheticConnector({ n: 300, pageSize: 7 });
    await runDurably(store, connector, 's1');
    const before = await dumpStore(store, ['acme']);
    const result = await runDurably(store, createSyntheticConnector({ n: 300, generation: 1, pageSize: 7 }), 's2', (stepId, page) => stepId === 'hosts' && page === 1);
    expect(result.record.failedSteps).toEqual(['hosts']);
    expect(result.record.keptSteps).toEqual(['hosts', 'edr-agents', 'instance-profiles']);
    const after = await dumpStore(store, ['acme']);
    const hostsBefore = before.entities.filter((e) => e.stepId === 'hosts').map((e) => e.id);
    const hostsAfter = new Set(after.entities.filter((e) => e.stepId === 'hosts').map((e) => e.id));
    expect(hostsBefore.every((id) => hostsAfter.has(id))).toBe(true);
  });

  it('+P4: an aborted sync leaves the graph as it was, and its staging area cannot be resumed', async () => {
    const store = createMemoryStore();
    const connector = createSyntheticConnector({ n: 100 });
    await runDurably(store, connector, 's1');
    const before = await dumpStore(store, ['acme']);
    const sync = await openDurableSync(store, createSyntheticConnector({ n: 100, generation: 3 }), { accountId: 'acme', syncId: 's2' });
    await runDurablePage(store, sync, createSyntheticConnector({ n: 100, generation: 3 }), { stepId: 'accounts', page: 0, completedSteps: [] });
    await abortDurableSync(store, sync);
    expect(await dumpStore(store, ['acme'])).toEqual(before);
    await expect(runDurablePage(store, sync, connector, { stepId: 'accounts', page: 0, completedSteps: [] })).rejects.toThrow(/staging area of sync "s2" is gone/);
  });

  it('a record one page emits that another page already staged fails that page, naming the step', async () => {
    const store = createMemoryStore();
    const connector: Connector = {
      name: 'twice',
      steps: () => [step('a', 'A').paged().build()],
      async executeStep(_stepId, ctx) {
        ctx.emitEntity(entity('host', 'h-1').class('Host'));
        return ctx.cursor === undefined ? { next: '1' } : undefined;
      },
    };
    const sync = await openDurableSync(store, connector, { accountId: 'acme', syncId: 's1' });
    await runDurablePage(store, sync, connector, { stepId: 'a', page: 0, completedSteps: [] });
    await expect(runDurablePage(store, sync, connector, { stepId: 'a', page: 1, cursor: '1', completedSteps: [] })).rejects.toMatchObject({ code: 'InvalidBatch' });
  });
});
