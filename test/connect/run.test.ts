import { describe, expect, it } from 'vitest';
import {
  ConnectorError,
  MAX_ROW_BYTES,
  entity,
  relationship,
  runConnector,
  step,
  type Connector,
  type StepContext,
  type StepDefinition,
  type StepPage,
  type SyncEvent,
} from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { commitSync, entityId } from 'parallax-edge';
import { streamed } from '../../src/ingest/streamed.js';

/** A connector whose steps are plain functions, for driving the scheduler. */
function connector(steps: StepDefinition[], run: Record<string, (ctx: StepContext) => Promise<void | StepPage> | void | StepPage>): Connector {
  return {
    name: 'test',
    steps: () => steps,
    async executeStep(stepId, ctx) {
      const fn = run[stepId];
      if (!fn) throw ConnectorError.unknownStep(stepId);
      return await fn(ctx);
    },
  };
}

/** A promise the test resolves by hand, so ordering never depends on timers. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const user = (id: string) => entity('user', id).class('User').displayName(`User ${id}`);

describe('runConnector scheduling', () => {
  it('a step starts as soon as its own dependencies finish: a slow step does not hold back an unrelated chain', async () => {
    const slow = gate();
    const log: string[] = [];
    const run = runConnector(
      connector(
        [step('slow', 'Slow').build(), step('fast', 'Fast').build(), step('after-fast', 'After fast').dependsOn(['fast']).build()],
        {
          slow: async () => {
            await slow.promise;
            log.push('slow done');
          },
          fast: () => void log.push('fast done'),
          'after-fast': () => {
            log.push('after-fast ran');
            // Only now let the slow step finish: if the scheduler waited for a
            // whole "wave", this step would never have started and the run would hang.
            slow.open();
          },
        },
      ),
      { accountId: 'acme' },
    );
    await run;
    expect(log).toEqual(['fast done', 'after-fast ran', 'slow done']);
  });

  it('independent steps run concurrently, and a concurrency limit caps them', async () => {
    let running = 0;
    let peak = 0;
    const body = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
    };
    const steps = ['a', 'b', 'c', 'd'].map((id) => step(id, id).build());
    const fns = Object.fromEntries(steps.map((s) => [s.id, body]));
    await runConnector(connector(steps, fns), { accountId: 'acme' });
    expect(peak).toBe(4);
    peak = 0;
    await runConnector(connector(steps, fns), { accountId: 'acme', concurrency: 2 });
    expect(peak).toBe(2);
  });

  it('ctx.prior holds exactly what the transitive dependencies emitted, whatever finished first', async () => {
    const seen: Record<string, string[]> = {};
    const slowHosts = gate();
    const steps = [
      step('users', 'Users').build(),
      step('hosts', 'Hosts').build(),
      step('services', 'Services').dependsOn(['hosts']).build(),
      step('unrelated', 'Unrelated').build(),
      step('relationships', 'Relationships').dependsOn(['users', 'services']).build(),
    ];
    await runConnector(
      connector(steps, {
        users: (ctx) => void ctx.emitEntity(user('u1')),
        hosts: async (ctx) => {
          await slowHosts.promise;
          ctx.emitEntity(entity('host', 'h1').class('Host'));
        },
        unrelated: (ctx) => {
          ctx.emitEntity(entity('thing', 't1').class('Generic'));
          slowHosts.open();
        },
        services: (ctx) => {
          seen.services = ctx.prior.entities().map((e) => e.entityKey);
          for (const h of ctx.prior.entitiesByType('host')) ctx.emitEntity(entity('service', `svc-${h.entityKey}`).class('Service'));
        },
        relationships: (ctx) => {
          seen.relationships = ctx.prior.entities().map((e) => e.entityKey);
          expect(ctx.prior.get('host', 'h1')?.entityClass).toBe('Host');
          expect(ctx.prior.get('thing', 't1')).toBeUndefined();
        },
      }),
      { accountId: 'acme' },
    );
    expect(seen.services).toEqual(['h1']);
    // Definition order of the dependencies, not completion order; never the unrelated step.
    expect(seen.relationships).toEqual(['u1', 'h1', 'svc-h1']);
  });

  it('output lists records by step definition order, each tagged with its step', async () => {
    const output = await runConnector(
      connector([step('b', 'B').build(), step('a', 'A').build()], {
        a: (ctx) => void ctx.emitEntity(user('from-a')),
        b: async (ctx) => {
          await new Promise((r) => setTimeout(r, 5));
          ctx.emitEntity(user('from-b'));
        },
      }),
      { accountId: 'acme', syncId: 's1' },
    );
    expect(output.entities.map((e) => [e.stepId, e.entityKey])).toEqual([
      ['b', 'from-b'],
      ['a', 'from-a'],
    ]);
    expect(output).toMatchObject({ connectorId: 'test', accountId: 'acme', syncId: 's1' });
  });

  it('generates a unique sync id when none is given', async () => {
    const c = connector([step('a', 'A').build()], { a: () => {} });
    const [one, two] = await Promise.all([runConnector(c, { accountId: 'x' }), runConnector(c, { accountId: 'x' })]);
    expect(one.syncId).not.toBe(two.syncId);
  });
});

describe('INV-C06: a failed step does not stop independent steps', () => {
  it('INV-C06: reports stepFailed, runs independent steps, and dependents run without its data', async () => {
    const events: SyncEvent[] = [];
    let dependentSaw: number | undefined;
    const output = await runConnector(
      connector(
        [
          step('hosts', 'Hosts').build(),
          step('users', 'Users').build(),
          step('services', 'Services').dependsOn(['hosts']).build(),
          step('report', 'Report').dependsOn(['services']).build(),
        ],
        {
          hosts: (ctx) => {
            ctx.emitEntity(entity('host', 'h1').class('Host'));
            throw ConnectorError.api(503, '/hosts', 'hosts API unavailable');
          },
          users: (ctx) => void ctx.emitEntity(user('u1')),
          services: (ctx) => {
            dependentSaw = ctx.prior.entitiesByType('host').length;
          },
          report: () => {},
        },
      ),
      { accountId: 'acme', onEvent: (e) => events.push(e) },
    );
    const failed = events.find((e) => e.type === 'stepFailed');
    expect(failed).toMatchObject({ type: 'stepFailed', stepId: 'hosts' });
    expect(failed?.type === 'stepFailed' && failed.error.kind).toBe('Api');
    expect(failed?.type === 'stepFailed' && failed.error.status).toBe(503);
    expect(dependentSaw).toBe(0);
    expect(output.failedSteps).toEqual(['hosts']);
    expect(output.keptSteps).toEqual(['hosts', 'services', 'report']);
    expect(output.entities.map((e) => e.entityKey)).toEqual(['u1']);
    expect(output.steps.find((s) => s.stepId === 'report')?.upstreamFailed).toEqual(['hosts']);
    expect(events.filter((e) => e.type === 'stepCompleted').map((e) => e.type === 'stepCompleted' && e.stepId)).toEqual(
      expect.arrayContaining(['users', 'services', 'report']),
    );
  });

  it('INV-C06: a thrown non-ConnectorError becomes a Custom ConnectorError keeping the cause', async () => {
    const output = await runConnector(
      connector([step('a', 'A').build()], {
        a: () => {
          throw new TypeError('boom');
        },
      }),
      { accountId: 'acme' },
    );
    const error = output.steps[0]?.error;
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error?.kind).toBe('Custom');
    expect(error?.message).toBe('boom');
    expect(error?.cause).toBeInstanceOf(TypeError);
  });

  it('an unknown step id reaches executeStep and fails as UnknownStep', async () => {
    const output = await runConnector(connector([step('mystery', 'M').build()], {}), { accountId: 'acme' });
    expect(output.steps[0]?.error?.kind).toBe('UnknownStep');
  });
});

describe('emit errors are non-fatal by default, as in the guide', () => {
  it('a bad emit reports the error, warns with step and field, counts a rejection, and the step goes on', async () => {
    const events: SyncEvent[] = [];
    let result: ReturnType<StepContext['emitEntity']> | undefined;
    const output = await runConnector(
      connector([step('users', 'Users').build()], {
        users: (ctx) => {
          result = ctx.emitEntity(user('u1').property('score', Number.NaN));
          ctx.emitEntity(user('u2'));
        },
      }),
      { accountId: 'acme', onEvent: (e) => events.push(e) },
    );
    expect(result?.ok).toBe(false);
    expect(result?.error?.kind).toBe('Validation');
    expect(result?.error?.field).toBe('properties.score');
    expect(result?.error?.stepId).toBe('users');
    const warning = events.find((e) => e.type === 'warning');
    expect(warning).toMatchObject({ stepId: 'users', field: 'properties.score' });
    expect(output.steps[0]).toMatchObject({ status: 'completed', entities: 1, rejected: 1 });
    expect(output.entities.map((e) => e.entityKey)).toEqual(['u2']);
  });

  it.each([
    ['empty type', () => entity('', 'k').class('User'), 'entityType'],
    ['empty key', () => entity('user', '').class('User'), 'entityKey'],
    ['missing class', () => entity('user', 'k'), 'entityClass'],
    ['nested object', () => user('k').property('o', { a: 1 } as never), 'properties.o'],
    ['array of non-strings', () => user('k').property('a', [1, 2] as never), 'properties.a'],
    ['Infinity', () => user('k').property('n', Number.POSITIVE_INFINITY), 'properties.n'],
    ['undefined', () => user('k').property('u', undefined as never), 'properties.u'],
    ['a lone surrogate in its class', () => entity('user', 'k').class('User\ud800'), 'entityClass'],
    ['a lone surrogate in a property name', () => user('k').property('n\udc00', 1), 'properties["n\\udc00"]'],
    ['a lone surrogate in a property value', () => user('k').property('note', 'a\ud800b'), 'properties.note'],
    ['a lone surrogate in an array item', () => user('k').property('tags', ['ok', '\udfff']), 'properties.tags'],
    ['a row over MAX_ROW_BYTES', () => user('k').property('small', 'x').property('blob', 'x'.repeat(MAX_ROW_BYTES)), 'properties.blob'],
  ])('refuses an entity with %s, naming the field', async (_case, build, field) => {
    let error: ConnectorError | undefined;
    await runConnector(connector([step('s', 'S').build()], { s: (ctx) => void (error = ctx.emitEntity(build()).error) }), {
      accountId: 'acme',
    });
    expect(error?.field).toBe(field);
  });

  it('RowTooLarge at emit: a row over MAX_ROW_BYTES is a refused record (Validation, non-fatal) naming the field, the limit and its size; the step goes on', async () => {
    const events: SyncEvent[] = [];
    let big: ConnectorError | undefined;
    let escaped: ConnectorError | undefined;
    const output = await runConnector(
      connector([step('docs', 'Docs').build()], {
        docs: (ctx) => {
          big = ctx.emitEntity(entity('doc', 'd-1').class('File').property('blob', 'x'.repeat(2_500_000))).error;
          // 200,000 control characters are 200 KB of UTF-8 but 1.2 MB as JSON text.
          escaped = ctx.emitEntity(entity('doc', 'd-2').class('File').displayName('\u0001'.repeat(200_000))).error;
          ctx.emitRelationship(relationship('doc', 'd-3', 'HAS', 'doc', 'd-4').property('note', '"'.repeat(MAX_ROW_BYTES / 4)));
          ctx.emitEntity(entity('doc', 'd-5').class('File').property('body', 'fits'));
        },
      }),
      { accountId: 'acme', onEvent: (e) => events.push(e) },
    );
    expect(big).toMatchObject({ kind: 'Validation', field: 'properties.blob', stepId: 'docs' });
    expect(big?.message).toBe(
      'entity doc:d-1 refused: properties.blob is 2,500,013 bytes and makes the row 2,500,044 bytes, over the limit of 1,000,000 bytes a row (MAX_ROW_BYTES, measured as JSON text)',
    );
    expect(escaped?.field).toBe('displayName');
    expect(escaped?.message).toContain('displayName is 1,200,002 bytes');
    const warnings = events.filter((e) => e.type === 'warning');
    expect(warnings.map((w) => (w as { field?: string }).field)).toEqual(['properties.blob', 'displayName', 'properties.note']);
    expect(output.steps[0]).toMatchObject({ status: 'completed', entities: 1, relationships: 0, rejected: 3 });
    expect(output.entities.map((e) => e.entityKey)).toEqual(['d-5']);
  });

  it('an error message quotes at most a few hundred characters of a record\'s text, with lone surrogates escaped', async () => {
    let error: ConnectorError | undefined;
    await runConnector(
      connector([step('s', 'S').build()], { s: (ctx) => void (error = ctx.emitEntity(entity('user', `\ud800${'k'.repeat(500_000)}`).class('User')).error) }),
      { accountId: 'acme' },
    );
    expect(error?.field).toBe('entityKey');
    expect(error!.message.length).toBeLessThan(500);
    expect(error!.message).toMatch(/^entity user:\\ud800k{199}… \(499,801 more characters\) refused: entityKey contains a lone surrogate/);
  });

  it('refuses a relationship with an empty verb, naming the field', async () => {
    let error: ConnectorError | undefined;
    await runConnector(
      connector([step('s', 'S').build()], { s: (ctx) => void (error = ctx.emitRelationship(relationship('a', '1', '', 'b', '2')).error) }),
      { accountId: 'acme' },
    );
    expect(error?.field).toBe('verb');
  });

  it('a second emission of the same (type, key) in one run is refused, naming the step that emitted it first', async () => {
    let second: ConnectorError | undefined;
    const output = await runConnector(
      connector([step('a', 'A').build(), step('b', 'B').dependsOn(['a']).build()], {
        a: (ctx) => void ctx.emitEntity(user('u1')),
        b: (ctx) => void (second = ctx.emitEntity(user('u1').displayName('other')).error),
      }),
      { accountId: 'acme' },
    );
    expect(second?.message).toContain('already emitted in this run by step "a"');
    expect(output.entities).toHaveLength(1);
    expect(output.steps[1]?.rejected).toBe(1);
  });

  it.each([
    ['in memory', () => ({})],
    ['streamed into a store', () => ({ store: createMemoryStore() })],
  ] as const)('a duplicate across steps is still refused after the run\u2019s id set grew many times (%s)', async (_mode, extra) => {
    const refused: (string | undefined)[] = [];
    const output = await runConnector(
      connector([step('a', 'A').build(), step('b', 'B').dependsOn(['a']).build()], {
        a: (ctx) => {
          for (let i = 0; i < 30_000; i++) ctx.emitEntity(user(`u${i}`));
        },
        b: (ctx) => {
          for (const i of [0, 17, 29_999]) refused.push(ctx.emitEntity(user(`u${i}`).displayName('other')).error?.message);
          ctx.emitEntity(user('u30000'));
        },
      }),
      { accountId: 'acme', ...extra() },
    );
    expect(refused).toHaveLength(3);
    for (const message of refused) expect(message).toContain('already emitted in this run by step "a"');
    expect(output.steps.map((s) => [s.stepId, s.entities, s.rejected])).toEqual([
      ['a', 30_000, 0],
      ['b', 1, 3],
    ]);
  });

  it('the run\u2019s id set is released when the last step ends: a prior kept past the run throws instead of answering', async () => {
    let kept: StepContext | undefined;
    const output = await runConnector(
      connector([step('a', 'A').build(), step('b', 'B').dependsOn(['a']).iteratesPrior().build()], {
        a: (ctx) => void ctx.emitEntity(user('u1')),
        b: (ctx) => {
          expect(ctx.prior.has('user', 'u1')).toBe(true);
          kept = ctx;
        },
      }),
      { accountId: 'acme', store: createMemoryStore() },
    );
    expect(output.failedSteps).toEqual([]);
    expect(streamed.get(output)!.keys.released).toBe(true);
    expect(() => kept!.prior.has('user', 'u1')).toThrow(/released when the run ended/);
  });

  it('.orThrow() makes an emit fatal: the step fails with the emit error', async () => {
    const output = await runConnector(
      connector([step('s', 'S').build()], {
        s: (ctx) => {
          ctx.emitEntity(user('bad').property('x', Number.NaN)).orThrow();
          ctx.emitEntity(user('never'));
        },
      }),
      { accountId: 'acme' },
    );
    expect(output.steps[0]?.status).toBe('failed');
    expect(output.steps[0]?.error?.field).toBe('properties.x');
    expect(output.entities).toEqual([]);
  });

  it('an unknown class or verb warns by default and is accepted', async () => {
    const events: SyncEvent[] = [];
    const output = await runConnector(
      connector([step('s', 'S').build()], {
        s: (ctx) => {
          expect(ctx.emitEntity(entity('ship', 's1').class('Spaceship')).ok).toBe(true);
          ctx.emitEntity(user('u1'));
          expect(ctx.emitRelationship(relationship('user', 'u1', 'PILOTS', 'ship', 's1')).ok).toBe(true);
        },
      }),
      { accountId: 'acme', onEvent: (e) => events.push(e) },
    );
    expect(output.entities).toHaveLength(2);
    expect(output.relationships).toHaveLength(1);
    expect(events.filter((e) => e.type === 'warning').map((e) => e.type === 'warning' && e.field)).toEqual(['entityClass', 'verb']);
    expect(output.steps[0]).toMatchObject({ rejected: 0, warnings: 2 });
  });

  it('strict mode refuses an unknown class or verb', async () => {
    const output = await runConnector(
      connector([step('s', 'S').build()], {
        s: (ctx) => {
          expect(ctx.emitEntity(entity('ship', 's1').class('Spaceship')).error?.field).toBe('entityClass');
          expect(ctx.emitRelationship(relationship('user', 'u1', 'PILOTS', 'ship', 's1')).error?.field).toBe('verb');
        },
      }),
      { accountId: 'acme', strict: true },
    );
    expect(output.entities).toHaveLength(0);
    expect(output.steps[0]?.rejected).toBe(2);
  });

  it('ctx.metrics counts entities and relationships emitted per step', async () => {
    const metrics: Record<string, unknown> = {};
    await runConnector(
      connector([step('a', 'A').build(), step('b', 'B').build()], {
        a: (ctx) => {
          ctx.emitEntity(user('1'));
          ctx.emitEntity(user('2'));
          ctx.emitRelationship(relationship('user', '1', 'TRUSTS', 'user', '2'));
          metrics.a = { ...ctx.metrics };
        },
        b: (ctx) => void (metrics.b = { ...ctx.metrics }),
      }),
      { accountId: 'acme' },
    );
    expect(metrics.a).toMatchObject({ entitiesEmitted: 2, relationshipsEmitted: 1 });
    expect(metrics.b).toMatchObject({ entitiesEmitted: 0, relationshipsEmitted: 0 });
  });
});

describe('SyncEvents and abort', () => {
  it('emits started, stepStarted, stepCompleted with counts and duration, then completed', async () => {
    const events: SyncEvent[] = [];
    await runConnector(
      connector([step('users', 'Users').build()], {
        users: (ctx) => {
          ctx.emitEntity(user('1'));
          ctx.emitRelationship(relationship('user', '1', 'TRUSTS', 'user', '1'));
        },
      }),
      { accountId: 'acme', syncId: 's', onEvent: (e) => events.push(e) },
    );
    expect(events.map((e) => e.type)).toEqual(['started', 'stepStarted', 'stepCompleted', 'completed']);
    const done = events[2]!;
    expect(done).toMatchObject({ type: 'stepCompleted', stepId: 'users', entities: 1, relationships: 1, connectorId: 'test', syncId: 's' });
    expect(done.type === 'stepCompleted' && done.durationMs).toBeGreaterThanOrEqual(0);
    expect(events[3]).toMatchObject({ type: 'completed', entities: 1, relationships: 1, failedSteps: [] });
  });

  it('a throwing listener does not break the run', async () => {
    const output = await runConnector(connector([step('a', 'A').build()], { a: (ctx) => void ctx.emitEntity(user('1')) }), {
      accountId: 'acme',
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    expect(output.entities).toHaveLength(1);
  });

  it('+P4: an abort stops the run: no new step starts, ctx.signal aborts, and the run rejects with the reason', async () => {
    const controller = new AbortController();
    const ran: string[] = [];
    let stepSignal: AbortSignal | undefined;
    const run = runConnector(
      connector([step('first', 'First').build(), step('second', 'Second').dependsOn(['first']).build()], {
        first: async (ctx) => {
          ran.push('first');
          stepSignal = ctx.signal;
          controller.abort(new Error('operator stopped the sync'));
          await new Promise((r) => setTimeout(r, 5));
        },
        second: () => void ran.push('second'),
      }),
      { accountId: 'acme', signal: controller.signal },
    );
    await expect(run).rejects.toThrow('operator stopped the sync');
    expect(stepSignal?.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(ran).toEqual(['first']);
  });

  it('an already aborted signal rejects before any step runs', async () => {
    const ran: string[] = [];
    await expect(
      runConnector(connector([step('a', 'A').build()], { a: () => void ran.push('a') }), {
        accountId: 'acme',
        signal: AbortSignal.abort(new Error('too late')),
      }),
    ).rejects.toThrow('too late');
    expect(ran).toEqual([]);
  });
});

describe('paged steps (issue 12)', () => {
  /** Both ways to run: in memory, and streamed into a memory store. */
  const modes = [['in memory', () => ({})], ['streamed into a store', () => ({ store: createMemoryStore() })]] as const;

  it.each(modes)('a paged step gets ctx.cursor undefined on its first page, then each next it returned (%s)', async (_mode, extra) => {
    const seen: (string | undefined)[] = [];
    const output = await runConnector(
      connector([step('list', 'List').paged().build(), step('after', 'After').dependsOn(['list']).iteratesPrior().build()], {
        list: (ctx) => {
          seen.push(ctx.cursor);
          const page = ctx.cursor === undefined ? 0 : Number(ctx.cursor);
          ctx.emitEntity(user(`u${page}`));
          return page < 3 ? { next: String(page + 1) } : {};
        },
        after: (ctx) => {
          // Every page's records, and only them, are the dependent's prior data.
          for (const page of [0, 1, 2, 3]) expect(ctx.prior.has('user', `u${page}`)).toBe(true);
          expect(ctx.prior.has('user', 'u4')).toBe(false);
        },
      }),
      { accountId: 'acme', ...extra() },
    );
    expect(seen).toEqual([undefined, '1', '2', '3']);
    expect(output.failedSteps).toEqual([]);
    expect(output.steps.map((s) => [s.stepId, s.pages, s.entities])).toEqual([
      ['list', 4, 4],
      ['after', 1, 0],
    ]);
  });

  it.each(modes)('a paged step that returns the cursor it was given fails, naming the cursor, and nothing of it is kept (%s)', async (_mode, extra) => {
    let pages = 0;
    const output = await runConnector(
      connector([step('stuck', 'Stuck').paged().build(), step('other', 'Other').build()], {
        stuck: (ctx) => {
          pages++;
          ctx.emitEntity(user(`stuck-${pages}`));
          return { next: 'page-2' };
        },
        other: (ctx) => void ctx.emitEntity(user('other')),
      }),
      { accountId: 'acme', ...extra() },
    );
    expect(pages).toBe(2);
    const report = output.steps.find((s) => s.stepId === 'stuck')!;
    expect(report).toMatchObject({ status: 'failed', pages: 2, error: { kind: 'Validation', field: 'next', stepId: 'stuck' } });
    expect(report.error?.message).toMatch(/step "stuck" returned the cursor of the page it was given \("page-2"\)/);
    // INV-C06: the independent step ran; +P1: the failed step keeps its stored rows.
    expect(output.failedSteps).toEqual(['stuck']);
    expect(output.keptSteps).toEqual(['stuck']);
    if (output.mode === 'memory') expect(output.entities.map((e) => e.entityKey)).toEqual(['other']);
  });

  it.each(modes)(
    'ctx.hasEmitted is true for an entity the step itself emitted, on this page or an earlier one, and for nothing else (%s)',
    async (_mode, extra) => {
      const seen: Record<string, boolean>[] = [];
      await runConnector(
        connector(
          [step('dep', 'Dep').build(), step('list', 'List').dependsOn(['dep']).paged().iteratesPrior().build(), step('other', 'Other').build()],
          {
            dep: (ctx) => void ctx.emitEntity(user('dep')),
            other: (ctx) => void ctx.emitEntity(user('other')),
            list: (ctx) => {
              const page = ctx.cursor === undefined ? 0 : 1;
              if (page === 0) ctx.emitEntity(user('first-page'));
              else ctx.emitEntity(user('second-page'));
              seen.push(Object.fromEntries(['first-page', 'second-page', 'dep', 'other', 'never'].map((k) => [k, ctx.hasEmitted('user', k)])));
              return page === 0 ? { next: '1' } : {};
            },
          },
        ),
        { accountId: 'acme', concurrency: 1, ...extra() },
      );
      expect(seen).toEqual([
        { 'first-page': true, 'second-page': false, dep: false, other: false, never: false },
        { 'first-page': true, 'second-page': true, dep: false, other: false, never: false },
      ]);
    },
  );

  it('a paged step whose next is not a string fails naming next', async () => {
    const output = await runConnector(connector([step('odd', 'Odd').paged().build()], { odd: () => ({ next: 2 as unknown as string }) }), {
      accountId: 'acme',
    });
    expect(output.steps[0]).toMatchObject({ status: 'failed', error: { kind: 'Validation', field: 'next' } });
    expect(output.steps[0]!.error?.message).toMatch(/not a string/);
  });

  it('a step that is not paged and returns { next } fails, saying to declare .paged(), and is not run again', async () => {
    let runs = 0;
    const output = await runConnector(
      connector([step('plain', 'Plain').build()], {
        plain: (ctx) => {
          runs++;
          ctx.emitEntity(user('1'));
          return { next: '2' };
        },
      }),
      { accountId: 'acme' },
    );
    expect(runs).toBe(1);
    expect(output.steps[0]).toMatchObject({ status: 'failed', error: { kind: 'Validation', field: 'next', stepId: 'plain' } });
    expect(output.steps[0]!.error?.message).toMatch(/returned a next page but is not paged; declare it with \.paged\(\)/);
    expect(output.entities).toEqual([]);
  });

  it.each(modes)(
    'issue 10 defect 1: a CPU-bound paged step (never awaiting) lets a setTimeout(0) abort stop the run between pages (%s)',
    async (_mode, extra) => {
      const PAGES = 20_000;
      const controller = new AbortController();
      let pages = 0;
      const run = runConnector(
        connector([step('busy', 'Busy').paged().build(), step('after', 'After').dependsOn(['busy']).build()], {
          busy: (ctx) => {
            // No await anywhere: only the runner's yield between pages lets the timer fire.
            const page = pages++;
            for (let i = 0; i < 5; i++) ctx.emitEntity(user(`${page}-${i}`));
            return page + 1 < PAGES ? { next: String(page + 1) } : {};
          },
          after: () => {
            throw new Error('must not start after the abort');
          },
        }),
        { accountId: 'acme', signal: controller.signal, ...extra() },
      );
      setTimeout(() => controller.abort(new Error('operator stopped the sync')), 0);
      await expect(run).rejects.toThrow('operator stopped the sync');
      expect(pages).toBeGreaterThan(0);
      expect(pages).toBeLessThan(PAGES);
    },
  );
});

describe('hostile values where text belongs', () => {
  const values: [string, unknown][] = [
    ['an object', { a: 1 }],
    ['a null-prototype object', Object.create(null)],
    ['an array', ['a']],
    ['a symbol', Symbol('s')],
    ['a bigint', 12n],
    ['an object whose toString throws', { toString: () => { throw new Error('boom'); } }],
  ];
  it.each(values)('a key, type or verb that is %s is a Validation error naming the field (never a TypeError, never "[object Object]")', async (_name, value) => {
    const records: [string, Record<string, unknown>][] = [
      ['entityKey', { entityType: 'host', entityKey: value, entityClass: 'Host', displayName: 'h', properties: {} }],
      ['entityType', { entityType: value, entityKey: 'h', entityClass: 'Host', displayName: 'h', properties: {} }],
      ['fromKey', { fromType: 'host', fromKey: value, verb: 'HAS', toType: 'host', toKey: 'h' }],
      ['verb', { fromType: 'host', fromKey: 'h', verb: value, toType: 'host', toKey: 'h' }],
    ];
    for (const [field, record] of records) {
      const results: unknown[] = [];
      const output = await runConnector(
        connector([step('main', 'Main').build()], {
          main: (ctx) => {
            const emit = field.startsWith('entity') ? ctx.emitEntity(record as never) : ctx.emitRelationship(record as never);
            results.push(emit.error);
          },
        }),
        { accountId: 'acme' },
      );
      expect(output.steps[0]!.status, field).toBe('completed');
      const error = results[0] as ConnectorError;
      expect(error, field).toBeInstanceOf(ConnectorError);
      expect(error.kind, field).toBe('Validation');
      expect(error.field, field).toBe(field);
      expect(error.message, field).not.toMatch(/object Object|Symbol\(|boom/);
    }
  });
});

describe('an emit takes a snapshot: the connector cannot change what it emitted', () => {
  it.each(['memory', 'streamed'])('a plain record and its property array changed after the emit are stored as emitted (%s)', async (mode) => {
    const store = createMemoryStore();
    const options = { accountId: 'acme', ...(mode === 'streamed' ? { store } : {}) };
    const tags = ['a'];
    const record = { entityType: 'host', entityKey: 'h1', entityClass: 'Host', displayName: 'before', properties: { b: 1, a: 'x', tags } as Record<string, unknown> };
    const built = entity('host', 'h2').class('Host').property('tags', tags);
    const output = await runConnector(
      connector([step('main', 'Main').build()], {
        main: (ctx) => {
          expect(ctx.emitEntity(record as never).ok).toBe(true);
          expect(ctx.emitEntity(built).ok).toBe(true);
          record.displayName = 'after';
          (record as Record<string, unknown>).entityClass = 42;
          record.properties.a = Number.NaN;
          record.properties.added = 'late';
          tags.push('\ud800');
        },
      }),
      options,
    );
    await commitSync(store, output);
    const h1 = await store.findEntity('acme', 'host', 'h1');
    expect(h1).toMatchObject({ entityClass: 'Host', displayName: 'before', properties: { b: 1, a: 'x', tags: ['a'] } });
    expect(h1!.properties).not.toHaveProperty('added');
    expect((await store.findEntity('acme', 'host', 'h2'))!.properties).toEqual({ tags: ['a'] });
  });

  it('a getter, an array with its own toJSON, or an entityKey getter is read once: the value checked is the value stored', async () => {
    const store = createMemoryStore();
    let reads = 0;
    const flip = { get flip() { return reads++ === 0 ? 'ok' : { nested: 1 }; } };
    const arr = Object.assign(['a'], { toJSON: () => 'not an array' });
    let keyReads = 0;
    const keyed = Object.defineProperty({ entityType: 'host', entityClass: 'Host', displayName: 'k', properties: {} }, 'entityKey', {
      get: () => (keyReads++ === 0 ? 'k' : '\ud800'),
      enumerable: true,
    });
    const output = await runConnector(
      connector([step('main', 'Main').build()], {
        main: (ctx) => {
          ctx.emitEntity({ entityType: 'host', entityKey: 'g', entityClass: 'Host', displayName: 'g', properties: flip } as never).orThrow();
          ctx.emitEntity({ entityType: 'host', entityKey: 'arr', entityClass: 'Host', displayName: 'a', properties: { arr } } as never).orThrow();
          ctx.emitEntity(keyed as never).orThrow();
        },
      }),
      { accountId: 'acme', store },
    );
    await commitSync(store, output);
    expect((await store.findEntity('acme', 'host', 'g'))!.properties).toEqual({ flip: 'ok' });
    expect((await store.findEntity('acme', 'host', 'arr'))!.properties).toEqual({ arr: ['a'] });
    const k = await store.getEntity(entityId('acme', 'host', 'k'));
    expect(k?.entityKey).toBe('k');
  });

  it('a getter or Proxy trap that throws during an emit is a Validation error naming the field and step; the step goes on', async () => {
    const errors: (ConnectorError | undefined)[] = [];
    const throwing = Object.defineProperty({ entityType: 'host', entityKey: 'x', entityClass: 'Host', properties: {} }, 'displayName', {
      get: () => {
        throw new Error('boom');
      },
      enumerable: true,
    });
    const trap = new Proxy({}, { ownKeys: () => { throw new Error('trap'); } });
    const output = await runConnector(
      connector([step('main', 'Main').build()], {
        main: (ctx) => {
          errors.push(ctx.emitEntity(throwing as never).error);
          errors.push(ctx.emitEntity({ entityType: 'host', entityKey: 'p', entityClass: 'Host', displayName: 'p', properties: trap } as never).error);
          errors.push(ctx.emitRelationship({ fromType: 'host', fromKey: 'a', verb: 'HAS', toType: 'host', toKey: 'b', properties: trap } as never).error);
          ctx.emitEntity(user('after')).orThrow();
        },
      }),
      { accountId: 'acme' },
    );
    expect(output.steps[0]!.status).toBe('completed');
    expect(output.entities.map((e) => e.entityKey)).toEqual(['after']);
    expect(errors.map((e) => [e?.kind, e?.field, e?.stepId])).toEqual([
      ['Validation', 'displayName', 'main'],
      ['Validation', 'properties', 'main'],
      ['Validation', 'properties', 'main'],
    ]);
  });
});

describe('prior data is read-only', () => {
  it.each(['memory', 'streamed'])('a dependent that changes what ctx.prior returned changes neither what its dependency emitted nor what later steps see (%s)', async (mode) => {
    const store = createMemoryStore();
    const seen: unknown[] = [];
    const output = await runConnector(
      connector([step('hosts', 'Hosts').build(), step('a', 'A').dependsOn(['hosts']).build(), step('b', 'B').dependsOn(['a']).build()], {
        hosts: (ctx) => void ctx.emitEntity(entity('host', 'h1').class('Host').property('os', 'linux').property('tags', ['x'])),
        a: (ctx) => {
          const tamper = (f: () => void): void => {
            try {
              f();
            } catch {
              /* a frozen record refuses the change */
            }
          };
          const [host] = ctx.prior.entitiesByType('host') as unknown as Record<string, any>[];
          tamper(() => void (host!.properties.os = Number.NaN));
          tamper(() => void host!.properties.tags.push('y'));
          tamper(() => void (host!.displayName = 'changed'));
          tamper(() => void (ctx.prior.entitiesByType('host') as unknown as unknown[]).push({ entityType: 'host', entityKey: 'fake' }));
          tamper(() => void ((ctx.prior.get('host', 'h1') as any).properties.added = 1));
        },
        b: (ctx) => void seen.push(ctx.prior.entitiesByType('host').map((e) => [e.entityKey, e.displayName, { ...e.properties }])),
      }),
      { accountId: 'acme', ...(mode === 'streamed' ? { store } : {}) },
    );
    expect(seen).toEqual([[['h1', 'h1', { os: 'linux', tags: ['x'] }]]]);
    await commitSync(store, output);
    expect((await store.findEntity('acme', 'host', 'h1'))).toMatchObject({ displayName: 'h1', properties: { os: 'linux', tags: ['x'] } });
  });
});

describe('run ids are checked before anything runs', () => {
  const bad: [string, string, Record<string, unknown>][] = [
    ['accountId', 'a lone surrogate', { accountId: '\ud800' }],
    ['accountId', 'over MAX_ID_BYTES', { accountId: 'a'.repeat(2_000) }],
    ['syncId', 'empty', { accountId: 'acme', syncId: '' }],
    ['syncId', 'a number', { accountId: 'acme', syncId: 42 }],
    ['syncId', 'a lone surrogate', { accountId: 'acme', syncId: 'x\udfff' }],
  ];
  it.each(bad)('a %s that cannot be stored (%s) is a Validation error naming it, before any step runs, in memory and streamed runs; the store is untouched', async (field, _what, options) => {
    for (const streamed of [false, true]) {
      const store = createMemoryStore();
      let ran = false;
      const run = runConnector(connector([step('main', 'Main').build()], { main: () => void (ran = true) }), {
        ...(options as { accountId: string }),
        ...(streamed ? { store } : {}),
      });
      const error = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `streamed ${streamed}`).toBeInstanceOf(ConnectorError);
      expect((error as ConnectorError).kind).toBe('Validation');
      expect((error as ConnectorError).field).toBe(field);
      expect(ran).toBe(false);
      expect(await store.syncHistory()).toEqual([]);
    }
  });
});
