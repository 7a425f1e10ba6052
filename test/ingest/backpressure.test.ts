/*
 * Issue 11: a streamed run holds at most about one chunk's rows in JS, even
 * when several steps emit at once into a store whose staging is slow (D1:
 * every chunk is a round trip). The writer's run-wide backpressure makes a
 * step wait at its yield points (a page's start, ctx.flush()) while another
 * step's chunk is being staged.
 */
import { describe, expect, it } from 'vitest';
import { commitSync, entity, relationship, runConnector, step, type Connector, type GraphStore, type StepContext } from 'parallax-edge';
import type { StagedChunk, SyncSession } from 'parallax-edge/adapter-kit';
import { createMemoryStore } from 'parallax-edge/adapters/memory';

/** The memory store with every chunk's staging taking a few timer turns, as a remote store's would. */
function slowStaging(store: GraphStore): { store: GraphStore; inFlight: () => number; mostInFlight: () => number } {
  let now = 0;
  let most = 0;
  const slow = (inner: SyncSession): SyncSession =>
    new Proxy(inner, {
      get(target, key) {
        if (key === 'stage') {
          return async (chunk: StagedChunk) => {
            now++;
            most = Math.max(most, now);
            try {
              await new Promise((resolve) => setTimeout(resolve, 2));
              return await target.stage(chunk);
            } finally {
              now--;
            }
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  const wrapped: GraphStore = new Proxy(store, {
    get(target, key) {
      if (key === 'openSync') return async (header: Parameters<GraphStore['openSync']>[0]) => slow(await target.openSync(header));
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: wrapped, inFlight: () => now, mostInFlight: () => most };
}

const STEPS = ['a', 'b', 'c', 'd', 'e'];
const PAGES = 4;
const PER_PAGE = 300;

/** Five independent paged steps, each emitting PER_PAGE records a page without awaiting (a CPU-bound generator). */
function busySteps(flushEvery?: number): Connector {
  return {
    name: 'busy',
    steps: () => STEPS.map((id) => step(id, id).paged().iteratesPrior().build()),
    async executeStep(stepId: string, ctx: StepContext) {
      const page = ctx.cursor === undefined ? 0 : Number(ctx.cursor);
      for (let i = 0; i < PER_PAGE; i++) {
        if (flushEvery !== undefined && i > 0 && i % flushEvery === 0) await ctx.flush();
        const key = (j: number): string => `${stepId}-${page}-${j}`;
        // Even: a host; odd: the host before it HAS the next one (the page's first, at the end).
        if (i % 2 === 0) ctx.emitEntity(entity('host', key(i)).class('Host').property('n', i)).orThrow();
        else ctx.emitRelationship(relationship('host', key(i - 1), 'HAS', 'host', key((i + 1) % PER_PAGE))).orThrow();
      }
      return page + 1 < PAGES ? { next: String(page + 1) } : {};
    },
  };
}

describe('issue 11: backpressure bounds the rows a streamed run holds to about one chunk', () => {
  it('steps that emit at once into a slow store take turns: the run never holds more than one chunk (5 steps of 300-record pages, chunks of 400)', async () => {
    const chunkRows = 400;
    const { store, mostInFlight } = slowStaging(createMemoryStore());
    const output = await runConnector(busySteps(), { accountId: 'acme', syncId: 's1', store, chunkRows });
    // Without backpressure every step runs a page while the first chunk is staged: 5 × 300 rows.
    expect(output.staging.peakRowsHeld).toBeLessThanOrEqual(chunkRows);
    expect(output.staging.peakRowsHeld).toBeGreaterThanOrEqual(PER_PAGE);
    expect(mostInFlight()).toBe(1);
    const result = await commitSync(store, output);
    expect(result.stats.entitiesCreated).toBe((STEPS.length * PAGES * PER_PAGE) / 2);
    expect(result.stats.relationshipsCreated).toBe((STEPS.length * PAGES * PER_PAGE) / 2);
  });

  it('ctx.flush() stages what the step prepared: a step of 3,000 records flushing every 100 holds 100 records and its open units, not a chunk', async () => {
    const chunkRows = 1000;
    const { store } = slowStaging(createMemoryStore());
    const connector: Connector = {
      name: 'one-big-step',
      steps: () => [step('all', 'All').build()],
      async executeStep(_stepId, ctx) {
        for (let i = 0; i < 3000; i++) {
          if (i > 0 && i % 100 === 0) await ctx.flush();
          ctx.emitEntity(entity('host', `h-${i}`).class('Host').property('n', i)).orThrow();
        }
      },
    };
    const output = await runConnector(connector, { accountId: 'acme', syncId: 's1', store, chunkRows });
    // 100 emitted since the last flush, plus one open unit (at most 256 records): without the flush staging them, a chunk's 1,000.
    expect(output.staging.peakRowsHeld).toBeLessThanOrEqual(100 + 256);
    // A chunk per flush, where a chunk of 1,000 rows would make 3.
    expect(output.staging.chunks).toBeGreaterThanOrEqual(20);
    const result = await commitSync(store, output);
    expect(result.stats.entitiesCreated).toBe(3000);
  });

  it('the rows stored do not depend on the backpressure: the same run in memory commits the same graph', async () => {
    const slow = slowStaging(createMemoryStore());
    const streamed = await commitSync(slow.store, await runConnector(busySteps(100), { accountId: 'acme', syncId: 's1', store: slow.store, chunkRows: 200 }));
    const memory = createMemoryStore();
    const inMemory = await commitSync(memory, await runConnector(busySteps(100), { accountId: 'acme', syncId: 's1' }));
    expect(streamed.stats).toEqual(inMemory.stats);
    const ids = async (s: GraphStore): Promise<string[]> => {
      const out: string[] = [];
      for (let cursor: string | undefined; ; ) {
        const page = await s.listEntities({ accountId: 'acme', limit: 1000, ...(cursor ? { cursor } : {}) });
        out.push(...page.items.map((e) => `${e.id} ${e.stepId} ${JSON.stringify(e.properties)}`));
        if (!page.nextCursor) return out.sort();
        cursor = page.nextCursor;
      }
    };
    expect((await ids(memory)).length).toBe((STEPS.length * PAGES * PER_PAGE) / 2);
    expect(await ids(slow.store)).toEqual(await ids(memory));
  });

  it('an abort while steps wait for room rejects the run and leaves nothing staged (+P4)', async () => {
    const { store } = slowStaging(createMemoryStore());
    const controller = new AbortController();
    let emitted = 0;
    const connector: Connector = {
      ...busySteps(50),
      async executeStep(stepId, ctx) {
        emitted++;
        if (emitted === 7) controller.abort(new Error('stop'));
        return busySteps(50).executeStep(stepId, ctx);
      },
    };
    await expect(runConnector(connector, { accountId: 'acme', syncId: 's1', store, chunkRows: 100, signal: controller.signal })).rejects.toThrow('stop');
    const after = await runConnector(busySteps(), { accountId: 'acme', syncId: 's2', store });
    const result = await commitSync(store, after);
    expect(result.rowsWritten).toBe(STEPS.length * PAGES * PER_PAGE);
  });
});
