/**
 * The randomized query model (issue 13): random small graphs (types,
 * classes, properties with arrays, nulls and missing values, every verb,
 * both directions) and random queries drawn from the grammar run on the
 * store under test and on the memory reference, whose answers must be
 * equal, and equal to the tiny naive evaluator below, which reads the
 * syntax tree straight off the graph (no plan, no index). Runtime-neutral.
 *
 * @example
 * describeQueryModel('sqlite (file)', () => createSqliteStore(path), { numRuns: 40 });
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KNOWN_CLASSES,
  KNOWN_VERBS,
  entityId,
  parsePql,
  query,
  relationshipId,
  type GraphStore,
  type PqlCondition,
  type PqlNode,
  type PqlQuery,
  type PqlValue,
  type QueryResult,
} from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { ent, rel, sync, type EntityInput, type OpenStore, type RelationshipInput } from './contract.js';

export interface QueryModelOptions {
  readonly numRuns?: number;
  readonly seed?: number;
  readonly timeout?: number;
}

const TYPES = ['host', 'user', 'role'] as const;
const CLASSES = ['Host', 'User', 'Generic'] as const;
const FILTERS = ['host', 'user', 'role', 'Host', 'User', 'Generic', '*', 'nothing'] as const;
const VERBS = ['USES', 'HAS', 'PROTECTS', ...KNOWN_VERBS] as const;
const STRINGS = ['a', 'b', 'ab', 'A%b', 'a_c', ''] as const;
const PROPS = ['s', 'n', 'f', 'tags', 'gone'] as const;
const ACCOUNT = 'acme';

// ---------------------------------------------------------------------------
// Random graphs.

const propertyArb = fc.record(
  {
    s: fc.oneof(fc.constantFrom(...STRINGS), fc.constant(null)),
    n: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.constant(1.5), fc.constant(null)),
    f: fc.boolean(),
    tags: fc.array(fc.constantFrom('a', 'b', 'ab'), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

const entityArb = fc.record({ type: fc.constantFrom(...TYPES), key: fc.constantFrom('1', '2', '3'), cls: fc.constantFrom(...CLASSES), props: propertyArb });

const graphArb = fc
  .uniqueArray(entityArb, { minLength: 1, maxLength: 7, selector: (e) => `${e.type}:${e.key}` })
  .chain((entities) =>
    fc.record({
      entities: fc.constant(entities),
      relationships: fc.uniqueArray(
        fc.record({ from: fc.nat(entities.length - 1), to: fc.nat(entities.length - 1), verb: fc.constantFrom(...VERBS) }),
        { maxLength: 12, selector: (r) => `${r.from} ${r.verb} ${r.to}` },
      ),
    }),
  )
  .map(({ entities, relationships }) => ({
    entities: entities.map((e) => ent(e.type, e.key, { entityClass: e.cls, properties: e.props as never, displayName: `${e.type}-${e.key}` })),
    relationships: relationships.map((r) => {
      const a = entities[r.from]!;
      const b = entities[r.to]!;
      return rel(`${a.type}:${a.key}`, r.verb, `${b.type}:${b.key}`);
    }),
  }));

// ---------------------------------------------------------------------------
// Random queries, as text.

const valueArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...STRINGS).map((s) => `'${s}'`),
  fc.constantFrom('0', '1', '-1', '1.5', '3', 'true', 'false', 'null'),
);
const propArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PROPS) }, { weight: 1, arbitrary: fc.constantFrom('_type', '_class', '_key', '_display_name') });

const condArb: fc.Arbitrary<string> = fc.letrec<{ cond: string }>((tie) => ({
  cond: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(propArb, fc.constantFrom('=', '!=', '<', '<=', '>', '>='), valueArb).map(([p, op, v]) => `${p} ${op} ${v}`),
    fc.tuple(propArb, fc.array(valueArb, { minLength: 1, maxLength: 3 })).map(([p, vs]) => `${p} IN (${vs.join(', ')})`),
    fc.tuple(propArb, fc.constantFrom('%', 'a%', '_', '%b', 'A\\%%', '%a_', 'a', '')).map(([p, pat]) => `${p} LIKE '${pat}'`),
    propArb.map((p) => `${p} EXISTS`),
    tie('cond').map((c) => `NOT ${c}`),
    fc.tuple(tie('cond'), fc.constantFrom('AND', 'OR'), tie('cond')).map(([a, op, b]) => `(${a} ${op} ${b})`),
  ),
})).cond;

const nodeArb = fc.tuple(fc.constantFrom(...FILTERS), fc.option(condArb, { nil: undefined })).map(([f, c]) => (c ? `${f} WITH ${c}` : f));
const stepArb = fc
  .tuple(fc.boolean(), fc.constantFrom(...VERBS, 'RELATES TO'), fc.constantFrom('', ' ->', ' <-'), nodeArb)
  .map(([neg, verb, dir, node]) => `THAT ${neg ? '!' : ''}${verb}${dir} ${node}`);

const queryArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc
    .tuple(
      nodeArb,
      fc.array(stepArb, { maxLength: 3 }),
      fc.constantFrom('', ' GROUP BY s', ' GROUP BY tags', ' GROUP BY n', ' GROUP BY f', ' GROUP BY _class', ' RETURN COUNT', ' RETURN s, _key, tags'),
      fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    )
    .map(([start, steps, out, limit]) => `FIND ${start}${steps.map((s) => ` ${s}`).join('')}${out}${limit ? ` LIMIT ${limit}` : ''}`) },
  { weight: 1, arbitrary: fc.tuple(nodeArb, nodeArb, fc.integer({ min: 0, max: 3 })).map(([a, b, d]) => `FIND SHORTEST PATH FROM ${a} TO ${b} DEPTH ${d}`) },
  { weight: 1, arbitrary: fc.tuple(nodeArb, fc.integer({ min: 0, max: 3 })).map(([a, d]) => `FIND BLAST RADIUS FROM ${a} DEPTH ${d}`) },
);

// ---------------------------------------------------------------------------
// The naive evaluator: the issue's semantics, read off the tree.

interface NaiveEntity {
  readonly id: string;
  readonly fields: Record<string, unknown>;
  readonly props: Record<string, unknown>;
  readonly type: string;
  readonly cls: string;
}
interface NaiveEdge {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly verb: string;
}

function naiveGraph(entities: readonly EntityInput[], relationships: readonly RelationshipInput[]) {
  const es: NaiveEntity[] = entities.map((e) => ({
    id: entityId(ACCOUNT, e.entityType, e.entityKey),
    type: e.entityType,
    cls: e.entityClass,
    props: e.properties as Record<string, unknown>,
    fields: { _type: e.entityType, _class: e.entityClass, _key: e.entityKey, _display_name: e.displayName, _account: ACCOUNT, _connector: 'alpha', _id: entityId(ACCOUNT, e.entityType, e.entityKey) },
  }));
  const edges: NaiveEdge[] = relationships.map((r) => ({
    id: relationshipId(ACCOUNT, r.fromType, r.fromKey, r.verb, r.toType, r.toKey),
    from: entityId(ACCOUNT, r.fromType, r.fromKey),
    to: entityId(ACCOUNT, r.toType, r.toKey),
    verb: r.verb,
  }));
  return { es: es.sort((a, b) => (a.id < b.id ? -1 : 1)), edges };
}

const get = (e: NaiveEntity, p: string): unknown => (p in e.fields ? e.fields[p] : Object.hasOwn(e.props, p) ? e.props[p] : undefined);
const cp = (a: string, b: string): number => {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};
function naiveEq(v: unknown, lit: PqlValue): boolean {
  if (v === undefined || v === null || lit === null) return false;
  if (Array.isArray(v)) return v.includes(lit);
  return v === lit;
}
function naiveLike(s: string, pattern: string, escape: string): boolean {
  // Match by recursion over code points.
  const p = [...pattern];
  const t = [...s];
  const go = (i: number, j: number): boolean => {
    if (i === p.length) return j === t.length;
    if (p[i] === escape && i + 1 < p.length) return j < t.length && t[j] === p[i + 1] && go(i + 2, j + 1);
    if (p[i] === '%') return go(i + 1, j) || (j < t.length && go(i, j + 1));
    if (p[i] === '_') return j < t.length && go(i + 1, j + 1);
    return j < t.length && t[j] === p[i] && go(i + 1, j + 1);
  };
  return go(0, 0);
}
function naiveCond(e: NaiveEntity, c: PqlCondition): boolean {
  switch (c.kind) {
    case 'compare': {
      const v = get(e, c.property);
      if (c.op === '=') return naiveEq(v, c.value);
      if (c.op === '!=') return !naiveEq(v, c.value);
      let d: number;
      if (typeof v === 'number' && typeof c.value === 'number') d = v - c.value;
      else if (typeof v === 'string' && typeof c.value === 'string') d = cp(v, c.value);
      else return false;
      return c.op === '<' ? d < 0 : c.op === '<=' ? d <= 0 : c.op === '>' ? d > 0 : d >= 0;
    }
    case 'in':
      return c.values.some((x) => naiveEq(get(e, c.property), x));
    case 'like': {
      const v = get(e, c.property);
      const items = typeof v === 'string' ? [v] : Array.isArray(v) ? (v as string[]) : [];
      return items.some((s) => naiveLike(s, c.pattern, c.escape));
    }
    case 'exists':
      return get(e, c.property) !== undefined && get(e, c.property) !== null;
    case 'not':
      return !naiveCond(e, c.condition);
    case 'and':
      return c.conditions.every((x) => naiveCond(e, x));
    case 'or':
      return c.conditions.some((x) => naiveCond(e, x));
  }
}
const naiveNode = (e: NaiveEntity, n: PqlNode): boolean =>
  (n.filter === '*' || e.type === n.filter || ((KNOWN_CLASSES as readonly string[]).includes(n.filter) && e.cls === n.filter)) && (!n.where || naiveCond(e, n.where));

/** The answer, by ids: what the naive evaluator can say about a QueryResult. */
function naive(graph: ReturnType<typeof naiveGraph>, q: PqlQuery): unknown {
  const { es, edges } = graph;
  const byId = new Map(es.map((e) => [e.id, e]));
  const around = (id: string) => [
    ...edges.filter((r) => r.from === id).map((r) => ({ r, other: r.to, out: true })),
    ...edges.filter((r) => r.to === id).map((r) => ({ r, other: r.from, out: false })),
  ];
  if (q.kind === 'find') {
    const sat = (x: NaiveEntity, i: number): boolean => {
      const step = q.steps[i];
      if (!step) return true;
      const ys = around(x.id)
        .filter(({ r, out }) => (step.verb === undefined || r.verb === step.verb) && (step.direction === 'both' || (step.direction === 'out') === out))
        .map(({ other }) => byId.get(other)!)
        .filter((y) => naiveNode(y, step.target));
      return step.negated ? ys.length === 0 && sat(x, i + 1) : ys.some((y) => sat(y, i + 1));
    };
    const all = es.filter((e) => naiveNode(e, q.start) && sat(e, 0));
    if (q.groupBy !== undefined) {
      const groups: { value: unknown; count: number }[] = [];
      for (const e of all) {
        const v = get(e, q.groupBy!);
        const values = v === undefined || v === null || (Array.isArray(v) && v.length === 0) ? [null] : Array.isArray(v) ? [...new Set(v)] : [v];
        for (const value of values) {
          const g = groups.find((x) => x.value === value);
          if (g) g.count++;
          else groups.push({ value, count: 1 });
        }
      }
      const rank = (v: unknown) => ['boolean', 'number', 'string'].indexOf(typeof v) + (v === null ? 4 : 0);
      groups.sort((a, b) => b.count - a.count || rank(a.value) - rank(b.value) || (typeof a.value === 'string' ? cp(a.value, b.value as string) : Number(a.value) - Number(b.value)));
      return { count: all.length, groups: groups.slice(0, q.limit) };
    }
    const matches = all.slice(0, q.limit);
    if (q.return?.kind === 'count') return { count: matches.length };
    const ret = q.return;
    if (ret?.kind === 'properties') return { count: matches.length, rows: matches.map((e) => Object.fromEntries(ret.properties.map((p) => [p, get(e, p) ?? null]))) };
    return { count: matches.length, ids: matches.map((e) => e.id) };
  }
  if (q.kind === 'path') {
    const depth = q.depth ?? 6;
    const starts = es.filter((e) => naiveNode(e, q.from));
    const isTarget = (id: string) => naiveNode(byId.get(id)!, q.to);
    for (let len = 0; len <= depth; len++) {
      const found: string[][] = [];
      const walk = (seq: string[], at: string, left: number): void => {
        if (left === 0) {
          if (isTarget(at)) found.push(seq);
          return;
        }
        for (const { r, other } of around(at)) walk([...seq, r.id, other], other, left - 1);
      };
      for (const s of starts) walk([s.id], s.id, len);
      if (found.length > 0) return found.map((f) => f.join(' ')).sort()[0]!.split(' ');
    }
    return null;
  }
  const dist = new Map(es.filter((e) => naiveNode(e, q.from)).map((e) => [e.id, 0]));
  for (let d = 1; d <= (q.depth ?? 4); d++) {
    for (const [id, k] of [...dist]) if (k === d - 1) for (const { other } of around(id)) if (!dist.has(other)) dist.set(other, d);
  }
  const layers: string[][] = [];
  for (const [id, d] of dist) (layers[d] ??= []).push(id);
  return layers.map((l) => l.sort());
}

/** What the naive evaluator says, taken from a real answer. */
function byIds(q: PqlQuery, r: QueryResult): unknown {
  if (q.kind === 'path') return r.path ? r.path.entities.flatMap((e, i) => (i === 0 ? [e.id] : [r.path!.relationships[i - 1]!.id, e.id])) : null;
  if (q.kind === 'blast') return r.layers.map((l) => l.entities.map((e) => e.id));
  if (q.groupBy !== undefined) return { count: r.count, groups: r.groups };
  if (q.return?.kind === 'count') return { count: r.count };
  if (q.return?.kind === 'properties') return { count: r.count, rows: r.rows };
  return { count: r.count, ids: r.entities.map((e) => e.id) };
}

export function describeQueryModel(name: string, open: OpenStore, options: QueryModelOptions = {}): void {
  describe(`${name}: randomized PQL model (issue 13)`, () => {
    it(
      'random graphs and random queries: the store answers as the memory reference, and both as the naive evaluator',
      async () => {
        let queries = 0;
        await fc.assert(
          fc.asyncProperty(graphArb, fc.array(queryArb, { minLength: 1, maxLength: 6 }), async (graph, texts) => {
            const store: GraphStore = await open();
            const reference = createMemoryStore();
            try {
              for (const s of [store, reference]) await sync(s, { syncId: 'q1', accountId: ACCOUNT, ...graph });
              const g = naiveGraph(graph.entities, graph.relationships);
              for (const text of texts) {
                const tree = parsePql(text);
                for (const opts of [{}, { accountId: ACCOUNT }]) {
                  const want = await query(reference, text, opts);
                  const got = await query(store, text, opts);
                  expect(got, text).toEqual(want);
                  expect(byIds(tree, want), text).toEqual(naive(g, tree));
                  queries++;
                }
              }
            } finally {
              await store.close();
            }
          }),
          { numRuns: options.numRuns ?? 60, ...(options.seed === undefined ? {} : { seed: options.seed }) },
        );
        expect(queries).toBeGreaterThan(0);
      },
      options.timeout ?? 120_000,
    );
  });
}
