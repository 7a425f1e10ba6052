/**
 * PQL inside IndexedDB: the memory reference's algorithm
 * (`adapters/memory-query.ts`) on index key ranges, in one readonly
 * transaction (a consistent snapshot), with the shared value rules of
 * `matchesNode` / `groupValues` (adapter-kit). Only the entities a filter
 * names and the relationships of the entities a step or traversal visits
 * are read, never the whole graph (except for a `*` filter, which names it).
 *
 * - A filter reads `entities` by `account_type` (and `account_class` for a
 *   known class name), one `getAll` of a key range per account; `*` reads
 *   the account's `account_type` prefix, or the whole store. A node that
 *   pins `_id`, or `_key` with its type, reads those ids by primary key; a
 *   node without a condition whose rows are not needed (step targets, a
 *   COUNT's start) reads index keys only (`getAllKeys`: no row cloned or
 *   parsed).
 * - A step reads the relationships at each target by `toId` (the current
 *   entity points at the target), `fromId` (the other way), or both; for
 *   many targets, the verb's relationships by `account_verb` instead. A
 *   positive set of starts is read by id when that costs less than the
 *   start's whole range.
 * - SHORTEST PATH from one start searches forward from it, layer by layer
 *   over `fromId` and `toId`, up to the first layer with a target; from
 *   several, back from the targets up to the first layer with a start (the
 *   reference's search). BLAST RADIUS walks layer by layer from its starts,
 *   and reads the reached entities by id, or, when they are more than a
 *   32nd of the store (a request costs about 32 rows), by `getAll` batches
 *   in id order.
 *
 * Only IndexedDB requests are awaited while the transaction is open; the
 * checks (deadline, limits) are synchronous.
 */
import {
  entityId,
  checkDeadline,
  checkResults,
  checkScanned,
  compareGroups,
  emptyResult,
  encodeCursor,
  fieldValue,
  groupValues,
  matchesNode,
  planNodes,
  QueryLimitError,
  storedEntity,
  storedRelationship,
  type BlastPlan,
  type EntityRow,
  type FindPlan,
  type GroupValue,
  type PathPlan,
  type PlanCondition,
  type PlanFilter,
  type PlanNode,
  type PlanStep,
  type QueryContext,
  type QueryPlan,
  type QueryResult,
  type RelationshipRow,
  type StoredEntity,
  type StoredRelationship,
} from '../../src/adapter-kit.js';
import { afterStep, findAnswer, isGood, type StepSet } from '../memory-query.js';
import type { Connection } from './connection.js';
import { getEach, request, walk } from './requests.js';
import { prefixRange } from './schema.js';

/** Rows a cursor or getAll reads for the cost of one more request (Chromium, roughly). */
const ROWS_PER_REQUEST = 32;
/** Rows per getAll when a read scans a store in id order. */
const SCAN_BATCH = 5000;

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A relationship seen from one of its ends. */
interface Incident {
  readonly row: RelationshipRow;
  readonly other: string;
}

/** Evaluates a plan in one readonly transaction on `connection`. */
export async function evaluateIndexedDbQuery(connection: Connection, plan: QueryPlan, context: QueryContext): Promise<QueryResult> {
  connection.ensureOpen();
  const tx = connection.transaction(['entities', 'relationships'], 'readonly');
  try {
    return await evaluate(tx, plan, context);
  } catch (error) {
    // A hit limit is the query's answer, not a store failure.
    throw error instanceof QueryLimitError ? error : connection.failure(error, 'evaluating a query');
  }
}

async function evaluate(tx: IDBTransaction, plan: QueryPlan, context: QueryContext): Promise<QueryResult> {
  const entities = tx.objectStore('entities');
  const relationships = tx.objectStore('relationships');
  const byType = entities.index('account_type');
  const byClass = entities.index('account_class');
  const { accountId } = context;

  /** The accounts to read: the context's, or every account with an entity (keys only, one jump per account). */
  let accountList: string[] | undefined;
  async function accounts(): Promise<string[]> {
    if (accountId !== undefined) return [accountId];
    if (accountList) return accountList;
    const list: string[] = [];
    await walk(byType.openKeyCursor(null, 'nextunique'), (cursor) => {
      const account = (cursor.key as [string, string])[0];
      list.push(account);
      cursor.continue([account, []]);
      return 'moved';
    });
    return (accountList = list);
  }

  /** How many entities a filter matches (counts and keys only), for the scanned limit. */
  async function filterCount(filter: PlanFilter): Promise<number> {
    if (filter.kind === 'any') return request(accountId === undefined ? entities.count() : byType.count(prefixRange(accountId)));
    let n = 0;
    for (const account of await accounts()) {
      const key = IDBKeyRange.only([account, filter.name]);
      if (!filter.orClass) {
        n += await request(byType.count(key));
        continue;
      }
      const ids = new Set<string>();
      for (const index of [byType, byClass]) for (const id of await request(index.getAllKeys(key))) ids.add(id as string);
      n += ids.size;
    }
    return n;
  }

  /**
   * The ids a node can only be among when it pins `_id` or `_key` (with a
   * type) by `=` or `IN`, alone or in an AND: read by primary key (ids are
   * derived from account, type and key), not by scanning the type.
   */
  async function pinnedIds(node: PlanNode): Promise<string[] | undefined> {
    const pins = (c: PlanCondition | undefined): { field: 'id' | 'entityKey'; values: string[] } | undefined => {
      if (!c) return undefined;
      if (c.kind === 'and') {
        for (const inner of c.conditions) {
          const found = pins(inner);
          if (found) return found;
        }
        return undefined;
      }
      const values = c.kind === 'compare' && c.op === '=' ? [c.value] : c.kind === 'in' ? c.values : undefined;
      if (!values || c.kind === 'not' || c.kind === 'or' || c.kind === 'like' || c.kind === 'exists') return undefined;
      if (c.field.kind !== 'builtin' || (c.field.field !== 'id' && c.field.field !== 'entityKey')) return undefined;
      // Only strings equal an id or a key (a number never does).
      return { field: c.field.field, values: values.filter((v): v is string => typeof v === 'string') };
    };
    const pin = pins(node.where);
    if (!pin) return undefined;
    if (pin.field === 'id') return pin.values;
    // A key names an id only with its type: a class name (orClass) or `*` could be any type.
    if (node.filter.kind !== 'named' || node.filter.orClass) return undefined;
    const type = node.filter.name;
    return (await accounts()).flatMap((account) => pin.values.map((key) => entityId(account, type, key)));
  }

  /** The entities a node matches, in the account: by primary key when pinned, else one `getAll` per index range (a cursor costs a request per row). */
  async function candidates(node: PlanNode): Promise<StoredEntity[]> {
    const pinned = await pinnedIds(node);
    if (pinned) return (await entitiesOf(new Set(pinned), node)).sort(byId);
    const out = new Map<string, StoredEntity>();
    const take = (rows: EntityRow[]): void => {
      for (const row of rows) {
        if (out.has(row.id)) continue;
        const entity = storedEntity(row);
        if (matchesNode(entity, node)) out.set(entity.id, entity);
      }
    };
    const { filter } = node;
    if (filter.kind === 'any') {
      take(await request(accountId === undefined ? entities.getAll() : byType.getAll(prefixRange(accountId))));
    } else {
      for (const account of await accounts()) {
        const key = IDBKeyRange.only([account, filter.name]);
        take(await request(byType.getAll(key)));
        if (filter.orClass) take(await request(byClass.getAll(key)));
      }
    }
    return [...out.values()];
  }

  /** The ids a node matches: without a condition, index keys alone (no row is read or parsed). */
  async function candidateIds(node: PlanNode): Promise<string[]> {
    if (node.where !== undefined) return (await candidates(node)).map((e) => e.id);
    const { filter } = node;
    if (filter.kind === 'any') {
      return (await request(accountId === undefined ? entities.getAllKeys() : byType.getAllKeys(prefixRange(accountId)))) as string[];
    }
    const ids = new Set<string>();
    for (const account of await accounts()) {
      const key = IDBKeyRange.only([account, filter.name]);
      const reads = [request(byType.getAllKeys(key)), filter.orClass ? request(byClass.getAllKeys(key)) : Promise.resolve([])];
      for (const keys of await Promise.all(reads)) for (const id of keys) ids.add(id as string);
    }
    return [...ids];
  }

  /** The stored entities of these ids that a node matches, in the account (without a node: any of them, as a traversal reaches them). */
  async function entitiesOf(ids: Iterable<string>, node?: PlanNode): Promise<StoredEntity[]> {
    const out: StoredEntity[] = [];
    await getEach<EntityRow>(entities, ids, (_id, row) => {
      if (!row || (node && accountId !== undefined && row.accountId !== accountId)) return;
      const entity = storedEntity(row);
      if (!node || matchesNode(entity, node)) out.push(entity);
    });
    return out;
  }

  /**
   * The relationships at each id, all requests issued at once: `to` reads
   * those whose `toId` is the id, `from` those whose `fromId` is.
   */
  async function incidents(ids: readonly string[], ends: { from: boolean; to: boolean }): Promise<Map<string, Incident[]>> {
    const out = new Map<string, Incident[]>(ids.map((id) => [id, []]));
    const reads: Promise<void>[] = [];
    for (const id of ids) {
      const list = out.get(id)!;
      if (ends.from) reads.push(request(relationships.index('fromId').getAll(IDBKeyRange.only(id))).then((rows) => void list.push(...(rows as RelationshipRow[]).map((row) => ({ row, other: row.toId })))));
      if (ends.to) reads.push(request(relationships.index('toId').getAll(IDBKeyRange.only(id))).then((rows) => void list.push(...(rows as RelationshipRow[]).map((row) => ({ row, other: row.fromId })))));
    }
    await Promise.all(reads);
    return out;
  }
  const BOTH = { from: true, to: true };

  let scanned = 0;
  /** Each node's filter count: the scanned limit, and what reading by id is weighed against. */
  const filterCounts = new Map<PlanNode, number>();
  for (const node of planNodes(plan)) {
    const n = await filterCount(node.filter);
    filterCounts.set(node, n);
    scanned += n;
  }
  checkScanned(context, scanned);
  checkDeadline(context);

  /**
   * Distances from `sources` (either direction, any verb), up to `depth`;
   * `until`: stop after the first layer that reaches one of these ids (a
   * shortest path needs no farther layer).
   */
  async function distances(sources: readonly string[], depth: number, until?: ReadonlySet<string>): Promise<Map<string, number>> {
    const dist = new Map<string, number>();
    let frontier = [...sources];
    for (const id of frontier) dist.set(id, 0);
    const reached = (ids: readonly string[]): boolean => until !== undefined && ids.some((id) => until.has(id));
    for (let d = 1; d <= depth && frontier.length > 0 && !reached(frontier); d++) {
      checkDeadline(context);
      const next: string[] = [];
      const around = await incidents(frontier, BOTH);
      for (const id of frontier) {
        for (const { other } of around.get(id)!) {
          if (!dist.has(other)) {
            dist.set(other, d);
            next.push(other);
          }
        }
      }
      frontier = next;
    }
    return dist;
  }

  switch (plan.kind) {
    case 'find':
      return find(plan);
    case 'path':
      return path(plan);
    case 'blast':
      return blast(plan);
  }

  async function find(plan: FindPlan): Promise<QueryResult> {
    let good: StepSet | undefined;
    for (const step of [...plan.steps].reverse()) {
      checkDeadline(context);
      const targets = (await candidateIds(step.target)).filter((id) => step.negated || isGood(good, id));
      good = afterStep(good, step.negated, await stepSources(step, targets));
    }
    const { start } = plan;
    if (plan.output.kind === 'count' && start.where === undefined) {
      // A count needs no row: the start's ids from index keys, as findAnswer counts (after LIMIT).
      const matches = (await candidateIds(start)).filter((id) => isGood(good, id)).length;
      checkDeadline(context);
      return { ...emptyResult('find'), count: plan.limit === undefined ? matches : Math.min(plan.limit, matches) };
    }
    // A positive set names the only possible matches: read those by id when that costs less than the start's whole range.
    const byIds = good !== undefined && !good.negate && good.set.size * ROWS_PER_REQUEST < (filterCounts.get(start) ?? Infinity);
    const starts = byIds ? await entitiesOf(good!.set, start) : await candidates(start);
    const matches = starts.filter((e) => isGood(good, e.id)).sort(byId);
    checkDeadline(context);
    return findAnswer(plan, matches, context);
  }

  /**
   * Entities with a relationship of `step` to one of the targets. `out`: the
   * current entity points at the target, so the target is the `to` end.
   * A relationship's ends are in its account (INV-C03), so its own account
   * stands for the source's.
   */
  async function stepSources(step: PlanStep, targetIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (step.verb !== undefined && targetIds.length > 0 && (await bulkIsCheaper(step.verb, targetIds.length))) {
      // Many targets: the verb's relationships by `account_verb`, one range per account, beat a request per target.
      const targets = new Set(targetIds);
      for (const account of await accounts()) {
        const rows = (await request(relationships.index('account_verb').getAll(IDBKeyRange.only([account, step.verb])))) as RelationshipRow[];
        for (const row of rows) {
          if (step.direction !== 'in' && targets.has(row.toId)) out.add(row.fromId);
          if (step.direction !== 'out' && targets.has(row.fromId)) out.add(row.toId);
        }
      }
      return out;
    }
    const around = await incidents(targetIds, { from: step.direction !== 'out', to: step.direction !== 'in' });
    for (const list of around.values()) {
      for (const { row, other } of list) {
        if (step.verb !== undefined && row.verb !== step.verb) continue;
        if (accountId !== undefined && row.accountId !== accountId) continue;
        out.add(other);
      }
    }
    return out;
  }

  /**
   * Whether reading every relationship of the verb costs less than a request
   * per target: a request costs about as much as reading a few dozen rows.
   */
  async function bulkIsCheaper(verb: string, targets: number): Promise<boolean> {
    let rows = 0;
    for (const account of await accounts()) rows += await request(relationships.index('account_verb').count(IDBKeyRange.only([account, verb])));
    return rows <= targets * ROWS_PER_REQUEST;
  }

  async function path(plan: PathPlan): Promise<QueryResult> {
    const starts = (await candidates(plan.from)).sort(byId);
    const targets = await candidateIds(plan.to);
    const found = starts.length === 1 ? await pathFrom(starts[0]!, new Set(targets), plan.depth) : await pathTo(starts, targets, plan.depth);
    if (!found) return emptyResult('path');
    const { first, hops } = found;
    const rest = new Map((await entitiesOf(hops.map((h) => h.other))).map((e) => [e.id, e]));
    const list = [first, ...hops.map((h) => rest.get(h.other)!)];
    return { ...emptyResult('path'), count: list.length, path: { entities: list, relationships: hops.map((h) => storedRelationship(h.row)) } };
  }

  /**
   * The reference's search: distances from every target, the nearest start
   * (smallest id among the nearest), then hop by hop the smallest
   * relationship id that stays on a shortest path.
   */
  async function pathTo(starts: readonly StoredEntity[], targets: readonly string[], depth: number): Promise<{ first: StoredEntity; hops: Incident[] } | undefined> {
    const dist = await distances(targets, depth, new Set(starts.map((e) => e.id)));
    let k = Infinity;
    let first: StoredEntity | undefined;
    for (const s of starts) {
      const d = dist.get(s.id);
      if (d !== undefined && d < k) {
        k = d;
        first = s;
      }
    }
    if (!first) return undefined;
    const hops: Incident[] = [];
    let current = first.id;
    for (let i = 0; i < k; i++) {
      let best: Incident | undefined;
      for (const inc of (await incidents([current], BOTH)).get(current)!) {
        if (dist.get(inc.other) === k - i - 1 && (!best || inc.row.id < best.row.id)) best = inc;
      }
      hops.push(best!);
      current = best!.other;
    }
    return { first, hops };
  }

  /**
   * The same path from one start, searching forward (its neighbourhood, not
   * every target's): layers from the start up to the first that holds a
   * target (k hops). An entity in layer j is on a shortest path when a
   * neighbour in layer j + 1 is (a target in layer k is), so the walk takes,
   * hop by hop, the smallest relationship id to such a neighbour: the
   * reference's choice, as the reference's distance to the targets is k - j
   * exactly for those entities.
   */
  async function pathFrom(first: StoredEntity, targets: ReadonlySet<string>, depth: number): Promise<{ first: StoredEntity; hops: Incident[] } | undefined> {
    const layerOf = new Map<string, number>([[first.id, 0]]);
    const layers: string[][] = [[first.id]];
    const around = new Map<string, Incident[]>();
    let k = targets.has(first.id) ? 0 : -1;
    for (let d = 1; k < 0 && d <= depth && layers[d - 1]!.length > 0; d++) {
      checkDeadline(context);
      const frontier = layers[d - 1]!;
      const got = await incidents(frontier, BOTH);
      const next: string[] = [];
      for (const id of frontier) {
        const list = got.get(id)!;
        around.set(id, list);
        for (const { other } of list) {
          if (layerOf.has(other)) continue;
          layerOf.set(other, d);
          next.push(other);
          if (targets.has(other)) k = d;
        }
      }
      layers.push(next);
    }
    if (k < 0) return undefined;
    const onPath = new Set(layers[k]!.filter((id) => targets.has(id)));
    const toward = (id: string, j: number) => around.get(id)!.filter((inc) => layerOf.get(inc.other) === j + 1 && onPath.has(inc.other));
    for (let j = k - 1; j >= 0; j--) for (const id of layers[j]!) if (toward(id, j).length > 0) onPath.add(id);
    const hops: Incident[] = [];
    let current = first.id;
    for (let j = 0; j < k; j++) {
      const best = toward(current, j).reduce((a, b) => (b.row.id < a.row.id ? b : a));
      hops.push(best);
      current = best.other;
    }
    return { first, hops };
  }

  async function blast(plan: BlastPlan): Promise<QueryResult> {
    const dist = await distances((await candidates(plan.from)).map((e) => e.id), plan.depth);
    checkScanned(context, scanned + dist.size);
    checkResults(context, dist.size);
    const layers: { distance: number; entities: StoredEntity[] }[] = [];
    for (const d of dist.values()) while (layers.length <= d) layers.push({ distance: layers.length, entities: [] });
    const take = (row: EntityRow): void => void layers[dist.get(row.id)!]!.entities.push(storedEntity(row));
    const total = await request(accountId === undefined ? entities.count() : byType.count(prefixRange(accountId)));
    if (dist.size * ROWS_PER_REQUEST > total) {
      // Much of the store reached: its rows in id order, a getAll per batch, beat a get per entity.
      let after: string | undefined;
      for (;;) {
        const rows = (await request(entities.getAll(after === undefined ? null : IDBKeyRange.lowerBound(after, true), SCAN_BATCH))) as EntityRow[];
        for (const row of rows) if (dist.has(row.id)) take(row);
        if (rows.length < SCAN_BATCH) break;
        after = rows.at(-1)!.id;
      }
    } else {
      await getEach<EntityRow>(entities, dist.keys(), (_id, row) => row && take(row));
    }
    for (const layer of layers) layer.entities.sort(byId);
    return { ...emptyResult('blast'), count: dist.size, layers };
  }
}
