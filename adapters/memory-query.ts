/**
 * The memory store's PQL evaluator: the reference semantics every other
 * store's `GraphStore.query` is compared with (test/adapters/query-contract.ts).
 * It works on an index of the stored graph (entities by id, relationships by
 * endpoint) that the memory store rebuilds after a commit changes it.
 *
 * - FIND: steps are evaluated from the last one back, each giving the set
 *   of entities that can stand before it; a negated step removes entities
 *   with such a relationship and the chain goes on from the same entity.
 * - SHORTEST PATH: a breadth-first search from every target (either
 *   direction, any verb) up to the depth, then a walk from the nearest start
 *   that takes, hop by hop, the smallest relationship id that stays on a
 *   shortest path: the path whose ids (start, relationship, entity, ...)
 *   come first, the same on every store.
 * - BLAST RADIUS: a breadth-first search from every start entity, either
 *   direction, any verb; each entity in the layer of its smallest distance.
 */
import {
  checkDeadline,
  checkResults,
  checkScanned,
  compareGroups,
  emptyResult,
  encodeCursor,
  fieldValue,
  groupValues,
  matchesFilter,
  matchesNode,
  planNodes,
  type BlastPlan,
  type FindPlan,
  type GroupValue,
  type PathPlan,
  type PlanNode,
  type PlanStep,
  type QueryContext,
  type QueryPlan,
  type QueryResult,
  type StoredEntity,
  type StoredRelationship,
} from '../src/adapter-kit.js';

/** A relationship seen from one of its ends. */
interface Incident {
  readonly relationship: StoredRelationship;
  readonly other: string;
  /** The end is the relationship's `from`. */
  readonly out: boolean;
}

export interface QueryGraph {
  readonly entities: ReadonlyMap<string, StoredEntity>;
  readonly incidents: ReadonlyMap<string, readonly Incident[]>;
}

export function buildQueryGraph(entities: Iterable<StoredEntity>, relationships: Iterable<StoredRelationship>): QueryGraph {
  const byId = new Map<string, StoredEntity>();
  for (const e of entities) byId.set(e.id, e);
  const incidents = new Map<string, Incident[]>();
  const add = (id: string, incident: Incident): void => {
    const list = incidents.get(id);
    if (list) list.push(incident);
    else incidents.set(id, [incident]);
  };
  for (const r of relationships) {
    add(r.fromId, { relationship: r, other: r.toId, out: true });
    add(r.toId, { relationship: r, other: r.fromId, out: false });
  }
  return { entities: byId, incidents };
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const NO_INCIDENTS: readonly Incident[] = [];

/** Evaluates a plan on the graph; entities in the answer are copies. */
export function evaluateQuery(graph: QueryGraph, plan: QueryPlan, context: QueryContext): QueryResult {
  const inAccount = (e: StoredEntity): boolean => context.accountId === undefined || e.accountId === context.accountId;
  const all = [...graph.entities.values()].filter(inAccount);
  const candidates = (node: PlanNode): StoredEntity[] => all.filter((e) => matchesNode(e, node));
  const incidents = (id: string): readonly Incident[] => graph.incidents.get(id) ?? NO_INCIDENTS;
  let scanned = 0;
  for (const node of planNodes(plan)) scanned += all.filter((e) => matchesFilter(e, node.filter)).length;
  checkScanned(context, scanned);
  checkDeadline(context);

  /** Distances from `sources` (either direction, any verb), up to `depth`. */
  const distances = (sources: readonly StoredEntity[], depth: number): Map<string, number> => {
    const dist = new Map<string, number>();
    let frontier = sources.map((e) => e.id);
    for (const id of frontier) dist.set(id, 0);
    for (let d = 1; d <= depth && frontier.length > 0; d++) {
      checkDeadline(context);
      const next: string[] = [];
      for (const id of frontier) {
        for (const { other } of incidents(id)) {
          if (!dist.has(other)) {
            dist.set(other, d);
            next.push(other);
          }
        }
      }
      frontier = next;
    }
    return dist;
  };

  switch (plan.kind) {
    case 'find':
      return find(plan);
    case 'path':
      return path(plan);
    case 'blast':
      return blast(plan);
  }

  function find(plan: FindPlan): QueryResult {
    /** Entities that can stand before the steps evaluated so far: in `set`, or (negate) not in it. */
    let good: StepSet | undefined;
    for (const step of [...plan.steps].reverse()) {
      checkDeadline(context);
      const targets = candidates(step.target).filter((e) => step.negated || isGood(good, e.id));
      const before = new Set<string>();
      for (const target of targets) for (const id of stepSources(step, target.id)) before.add(id);
      good = afterStep(good, step.negated, before);
    }
    const matches = candidates(plan.start).filter((e) => isGood(good, e.id)).sort(byId);
    checkDeadline(context);
    return findAnswer(plan, matches, context);
  }

  /** Entities with a relationship of `step` to `targetId` (`out`: from them to the target). */
  function stepSources(step: PlanStep, targetId: string): string[] {
    const out: string[] = [];
    for (const inc of incidents(targetId)) {
      if (step.verb !== undefined && inc.relationship.verb !== step.verb) continue;
      // The target is the relationship's `to` end when the current entity points at it.
      if (step.direction === 'out' && inc.out) continue;
      if (step.direction === 'in' && !inc.out) continue;
      const source = graph.entities.get(inc.other);
      if (source && inAccount(source)) out.push(inc.other);
    }
    return out;
  }

  function path(plan: PathPlan): QueryResult {
    const starts = candidates(plan.from);
    const dist = distances(candidates(plan.to), plan.depth);
    let k = Infinity;
    let first: StoredEntity | undefined;
    for (const s of starts.sort(byId)) {
      const d = dist.get(s.id);
      if (d !== undefined && d < k) {
        k = d;
        first = s;
      }
    }
    if (!first) return emptyResult('path');
    const entities: StoredEntity[] = [first];
    const relationships: StoredRelationship[] = [];
    let current = first.id;
    for (let i = 0; i < k; i++) {
      let best: Incident | undefined;
      for (const inc of incidents(current)) {
        if (dist.get(inc.other) === k - i - 1 && (!best || inc.relationship.id < best.relationship.id)) best = inc;
      }
      relationships.push(best!.relationship);
      current = best!.other;
      entities.push(graph.entities.get(current)!);
    }
    return { ...emptyResult('path'), count: entities.length, path: structuredClone({ entities, relationships }) };
  }

  function blast(plan: BlastPlan): QueryResult {
    const dist = distances(candidates(plan.from), plan.depth);
    checkScanned(context, scanned + dist.size);
    checkResults(context, dist.size);
    const layers: { distance: number; entities: StoredEntity[] }[] = [];
    for (const [id, d] of dist) {
      while (layers.length <= d) layers.push({ distance: layers.length, entities: [] });
      layers[d]!.entities.push(structuredClone(graph.entities.get(id)!));
    }
    for (const layer of layers) layer.entities.sort(byId);
    return { ...emptyResult('blast'), count: dist.size, layers };
  }
}

/**
 * The entities that can stand before the steps evaluated so far: in `set`,
 * or (negate) not in it; undefined before the first step (any entity).
 */
export interface StepSet {
  readonly set: ReadonlySet<string>;
  readonly negate: boolean;
}

export const isGood = (good: StepSet | undefined, id: string): boolean => !good || good.set.has(id) !== good.negate;

/**
 * The set after one more step (evaluated from the last back): `before`
 * holds the entities with the step's relationship to a target. A negated
 * step removes them and the chain goes on from the same entity.
 */
export function afterStep(good: StepSet | undefined, negated: boolean, before: ReadonlySet<string>): StepSet {
  if (!negated) return { set: before, negate: false };
  if (!good) return { set: before, negate: true };
  if (good.negate) return { set: new Set([...good.set, ...before]), negate: true };
  return { set: new Set([...good.set].filter((id) => !before.has(id))), negate: false };
}

/**
 * A FIND's answer from its matches (in id order): groups, or LIMIT, then
 * the count, a page after the cursor, rows or copies of the entities.
 * Shared by every store that finds its matches in JavaScript.
 */
export function findAnswer(plan: FindPlan, matches: readonly StoredEntity[], context: QueryContext): QueryResult {
  if (plan.output.kind === 'groups') {
    const field = plan.output.field;
    const counts = new Map<string, { value: GroupValue; count: number }>();
    for (const e of matches) {
      for (const value of groupValues(e, field)) {
        const key = `${typeof value}\0${String(value)}`;
        const group = counts.get(key);
        if (group) group.count++;
        else counts.set(key, { value, count: 1 });
      }
    }
    const groups = [...counts.values()].sort(compareGroups).slice(0, plan.limit);
    checkResults(context, groups.length);
    return { ...emptyResult('find'), count: matches.length, groups };
  }
  const limited = plan.limit === undefined ? matches : matches.slice(0, plan.limit);
  if (plan.output.kind === 'count') return { ...emptyResult('find'), count: limited.length };
  const rest = context.after === undefined ? limited : limited.filter((e) => e.id > context.after!);
  const page = rest.slice(0, context.pageSize);
  const more = rest.length > page.length ? { nextCursor: encodeCursor(page.at(-1)!.id) } : {};
  if (plan.output.kind === 'rows') {
    const columns = plan.output.columns;
    const rows = page.map((e) => Object.fromEntries(columns.map((c) => [c.name, structuredClone(fieldValue(e, c.field) ?? null)])));
    return { ...emptyResult('find'), count: limited.length, rows, ...more };
  }
  return { ...emptyResult('find'), count: limited.length, entities: page.map((e) => structuredClone(e)), ...more };
}
